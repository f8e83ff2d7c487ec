"""Policy questions: reads the `program` entity or the caller's words, asks bot.policy.kb,
says the answer. When the KB is not sure it offers a human advisor instead of guessing.

On the web an answer ends with what the caller can do next (issue 20, "answer, then offer to
act"): 帮我预约 when the program is about the home visits the booking form books, 我能享受吗
when the eligibility rules cover it, and 转人工. A question about what a home service costs
is answered from the pack's price list, then offers the booking (never starts it)."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    COMMON_WORDING,
    HUMAN_BUTTON,
    entity_values,
    guarded,
    is_voice,
    last_bot_action,
    latest_text,
    say_referral,
)
from actions import eligibility as eligibility_actions
from actions import safety as safety_actions
from bot.text.facts import parse_yes_no
from bot.booking import ledger as booking
from bot.eligibility import rules as eligibility
from bot.policy import kb as policy_kb
from bot.policy import search as policy_search
from bot.booking import text as bt
from bot.db import session_scope

log = logging.getLogger(__name__)

BOOK_TITLE = COMMON_WORDING.text("buttons.book")
ELIGIBILITY_BUTTON = {"title": COMMON_WORDING.text("buttons.eligibility"), "payload": "/check_eligibility"}


def warm_up() -> threading.Thread:
    """Loads the packs in a background thread so the first caller does not wait for them.
    Started by the action server (actions/server.py main), never at import."""

    def load() -> None:
        try:
            policy_kb.get_kb().answer("时间银行")
        except Exception:  # a broken pack is reported when a caller asks, with a clear log
            log.exception("policy knowledge base failed to load at start-up")

    thread = threading.Thread(target=load, name="policy-kb-warm-up", daemon=True)
    thread.start()
    return thread


def _program_button(program_id: str, title: str) -> dict:
    return {
        "title": title,
        "payload": "/ask_policy" + json.dumps({"program": program_id}, ensure_ascii=False),
    }


def _catalogue() -> list[str]:
    """The names of the services the booking form books (the district's catalogue); empty
    when the database cannot be read (the answer then offers no booking, and says so in
    the log)."""
    try:
        with session_scope() as s:
            return booking.service_names(s)
    except Exception:  # the answer itself does not need the database
        log.exception("policy answer: service catalogue not readable, no booking offered")
        return []


def price_list_program(kb: policy_kb.KnowledgeBase) -> str | None:
    """The program the pack answers "what does a home service cost" with (its price list)."""
    answer = kb.answer(question=f"{policy_search.HOME_SERVICE}多少钱")
    return answer.program_id if answer.kind == "answer" else None


def is_service_price_question(text: str, service_entities: list[str] | None = None) -> bool:
    """上门洗澡要自己出钱吗, 助浴多少钱: what a service the booking form books costs."""
    return (
        bool(text)
        and not text.startswith("/")
        and policy_search.is_price_question(text)
        and bt.service_from_text(text, service_entities) is not None
    )


def booking_offer(
    kb: policy_kb.KnowledgeBase, program_id: str, question: str, service_entities: list[str] | None = None
) -> dict | None:
    """The 帮我预约 button when the program is about home visits the booking form books: the
    program whose free hours pay for visits (the booking ledger's), a program named after
    home services (policy_search.HOME_SERVICE: the price list, government-purchased
    services) or after a service of the catalogue (助餐). The service asked about, or the
    one the program names, is filled in."""
    catalogue = _catalogue()
    if not catalogue:
        return None
    program = kb.program(program_id)
    names = (program.name, program.short_name, *program.aliases)
    named = next((svc for svc in catalogue if any(svc in n for n in names)), None)
    if (
        program_id != booking.FREE_CARE_PROGRAM_ID
        and named is None
        and not any(policy_search.HOME_SERVICE in n for n in names)
    ):
        return None
    said = bt.service_from_text(question, service_entities) if question else None
    service = said if said in catalogue else named
    payload = "/book_service"
    if service:
        payload += json.dumps({"service_type": service}, ensure_ascii=False)
    return {"title": BOOK_TITLE, "payload": payload}


def next_steps(
    kb: policy_kb.KnowledgeBase, program_id: str, question: str, service_entities: list[str] | None = None
) -> list[dict]:
    """The buttons after an answer about `program_id` (web only; the caller decides)."""
    buttons: list[dict] = []
    offer = booking_offer(kb, program_id, question, service_entities)
    if offer:
        buttons.append(offer)
    try:
        checked = {pid for pid, _name in eligibility.programs()}
    except Exception:  # a broken rule pack: the check itself reports it when started
        log.exception("policy answer: eligibility rules not readable")
        checked = set()
    if program_id in checked:
        buttons.append(ELIGIBILITY_BUTTON)
    buttons.append(HUMAN_BUTTON)
    return buttons


def say_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, answer: policy_kb.Answer, question: str
) -> None:
    """Says a confident answer, with the next steps on the web."""
    buttons: list[dict] = []
    if not is_voice(tracker) and answer.program_id:
        services = [str(v) for v in entity_values(tracker, "service_type") if v]
        try:
            buttons = next_steps(policy_kb.get_kb(), answer.program_id, question, services)
        except Exception:  # the answer stands without its offers
            log.exception("policy answer: next steps for %s failed", answer.program_id)
            buttons = [HUMAN_BUTTON]
    dispatcher.utter_message(text=answer.text, buttons=buttons)


def answer_price_question(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> bool:
    """Answers what a home service costs from the price list (the booking form's first step
    when the classifier read the question as a booking). False when the pack has no price
    list or it does not answer."""

    def ask() -> policy_kb.Answer | None:
        kb = policy_kb.get_kb()
        program = price_list_program(kb)
        return kb.answer(question=text, program=program) if program else None

    answer = guarded(dispatcher, "price answer", ask)
    if answer is None or answer.kind != "answer":
        return False
    log.info("price question answered from %s instead of booking", answer.program_id)
    say_answer(dispatcher, tracker, answer, text)
    return True


class ActionAnswerPolicy(Action):
    def name(self) -> Text:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = latest_text(tracker)
        if text.startswith("/"):
            text = ""  # a button payload: the entity says which program
        if (
            text
            and tracker.get_slot("safety_suspected")
            and last_bot_action(tracker) == "action_safety_check"
            and parse_yes_no(text) is False
        ):
            # "没有没有，我就是问问政策" to "是不是有人向您要钱？": the no to the safety
            # question, however the classifier read the rest
            return await safety_actions.ActionSafetyConfirmed().run(dispatcher, tracker, domain)
        if text and not tracker.active_loop_name and eligibility_actions.wants_check(text):
            # "她七十七了，住朝天宫，家庭养老床位她能申请吗": whether she can is a check (the
            # cited answer first, then the questions that decide it)
            log.info("policy question read as an eligibility check")
            return eligibility_actions.start_check(dispatcher, tracker, text)
        mentioned = [str(v) for v in entity_values(tracker, "program") if v]
        services = [str(v) for v in entity_values(tracker, "service_type") if v]
        answer = guarded(
            dispatcher,
            "policy answer",
            lambda: self._answer(text, mentioned, tracker.get_slot("policy_program"), services),
        )
        if answer is None:
            return []
        if answer.kind == "answer":
            say_answer(dispatcher, tracker, answer, text)
            return [SlotSet("policy_program", answer.program_id), SlotSet("policy_human_offered", False)]
        if text and say_referral(dispatcher, tracker, text):
            # not one of our programs but another office's business (养老金 -> 12333)
            return [SlotSet("policy_human_offered", False)]
        buttons: list[dict] = []
        if not is_voice(tracker):  # on the phone the text itself asks the question
            buttons = [_program_button(pid, name) for pid, name in answer.suggestions]
            buttons.append(HUMAN_BUTTON)
        dispatcher.utter_message(text=answer.text, buttons=buttons)
        log.info("policy question not answered (%s, confidence %.2f)", answer.kind, answer.confidence)
        return [SlotSet("policy_human_offered", answer.kind == "not_sure")]

    @staticmethod
    def _answer(
        text: str, mentioned: list[str], previous: str | None, services: list[str] | None = None
    ) -> policy_kb.Answer:
        kb = policy_kb.get_kb()
        ids = {pid for pid in (kb.resolve_program(m) for m in mentioned) if pid}
        # one program named: answer about it; none or several: let retrieval weigh the words
        program = next(iter(ids)) if len(ids) == 1 else None
        answer = kb.answer(question=text, program=program, context_program=previous)
        if answer.kind != "answer" and program is None and is_service_price_question(text, services):
            # 上门洗澡要自己出钱吗: what a home service costs is the price list's question
            price_list = price_list_program(kb)
            if price_list:
                priced = kb.answer(question=text, program=price_list)
                if priced.kind == "answer":
                    return priced
        return answer
