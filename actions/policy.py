"""Policy questions: reads the `program` entity or the caller's words, asks bot.policy_kb,
says the answer. When the KB is not sure it offers a human advisor instead of guessing."""
from __future__ import annotations

import json
import logging
import threading
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import entity_values, guarded, is_voice, latest_text, say_referral
from bot import policy_kb

log = logging.getLogger(__name__)

HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}


def _warm_up() -> None:
    """Loads the packs in the background so the first caller does not wait for it."""
    try:
        policy_kb.get_kb().answer("时间银行")
    except Exception:  # a broken pack is reported when a caller asks, with a clear log
        log.exception("policy knowledge base failed to load at start-up")


threading.Thread(target=_warm_up, name="policy-kb-warm-up", daemon=True).start()


def _program_button(program_id: str, title: str) -> dict:
    return {"title": title,
            "payload": "/ask_policy" + json.dumps({"program": program_id}, ensure_ascii=False)}


class ActionAnswerPolicy(Action):
    def name(self) -> Text:
        return "action_answer_policy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        if text.startswith("/"):
            text = ""   # a button payload: the entity says which program
        mentioned = [str(v) for v in entity_values(tracker, "program") if v]
        answer = guarded(dispatcher, "policy answer",
                         lambda: self._answer(text, mentioned, tracker.get_slot("policy_program")))
        if answer is None:
            return []
        if answer.kind == "answer":
            dispatcher.utter_message(text=answer.text)
            return [SlotSet("policy_program", answer.program_id),
                    SlotSet("policy_human_offered", False)]
        if text and say_referral(dispatcher, tracker, text):
            # not one of our programs but another office's business (养老金 -> 12333)
            return [SlotSet("policy_human_offered", False)]
        buttons: list[dict] = []
        if not is_voice(tracker):   # on the phone the text itself asks the question
            buttons = [_program_button(pid, name) for pid, name in answer.suggestions]
            buttons.append(HUMAN_BUTTON)
        dispatcher.utter_message(text=answer.text, buttons=buttons)
        log.info("policy question not answered (%s, confidence %.2f)", answer.kind,
                 answer.confidence)
        return [SlotSet("policy_human_offered", answer.kind == "not_sure")]

    @staticmethod
    def _answer(text: str, mentioned: list[str], previous: str | None) -> policy_kb.Answer:
        kb = policy_kb.get_kb()
        ids = {pid for pid in (kb.resolve_program(m) for m in mentioned) if pid}
        # one program named: answer about it; none or several: let retrieval weigh the words
        program = next(iter(ids)) if len(ids) == 1 else None
        return kb.answer(question=text, program=program, context_program=previous)
