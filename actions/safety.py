"""Crisis, emergency, scam, a question when unsure, and a correction: the actions of the
safety layer (bot/safety reads the message; these answer it, record it and queue a person).

The advice always goes out, even when recording fails. Every high-stakes reply carries
the reply-contract flags (`handoff`, `urgent`, `kind`) so the voice line transfers or
keeps the caller without reading the wording; the sentence that promises a person
(replies.yml `handoff`) is a message of its own flagged `transfer_promise`, which a
channel that cannot transfer (the phone off duty, SMS) leaves out.
"""

from __future__ import annotations

import abc
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    COMMON_WORDING,
    caller_phone,
    channel,
    confident_policy_answer,
    is_voice,
    last_bot_action,
    latest_text,
    log,
    say_referral,
)
from actions.eligibility import start_interrupted
from bot.contact import handoff
from bot.text.facts import names_a_topic, names_something_else, parse_yes_no
from bot.safety import replies

# How long (in turns of this conversation) an emergency or crisis stays open for follow-ups.
OPEN_FOR_TURNS = 6
TRANSFER_PROMISE = {"transfer_promise": True}


def _assessment(tracker: Tracker) -> dict:
    found = (tracker.latest_message or {}).get("safety")
    return found if isinstance(found, dict) else {}


def _record(tracker: Tracker, kind: str, detail: str | None = None) -> int | None:
    try:
        return handoff.record_safety_event(
            kind,
            sender_id=tracker.sender_id,
            channel=channel(tracker),
            phone=caller_phone(tracker),
            text=latest_text(tracker),
            detail=detail,
        )
    except Exception:
        log.exception("could not record %s (%s) for sender %s", kind, detail, tracker.sender_id)
        return None


def _already(tracker: Tracker, action_name: str) -> bool:
    """Did this action already answer in the last OPEN_FOR_TURNS user turns? (The running
    action is not in the events yet, so every action found answered an earlier message.)"""
    turns = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            turns += 1
            if turns > OPEN_FOR_TURNS:
                return False
        elif event.get("event") == "action" and event.get("name") == action_name and turns >= 1:
            return True
    return False


def _intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def _stop_forms() -> List[EventType]:
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


class _SafetyAction(Action, abc.ABC):
    """One high-stakes kind: its first answer, and its follow-ups while it is open."""

    kind = ""  # crisis | emergency | scam
    intent = ""  # the intent the safety layer sets for it
    repeat_is_followup = True  # a second message of the same kind is a follow-up too

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        return self.answer(dispatcher, tracker, confirmed=False)

    @abc.abstractmethod
    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, confirmed: bool, first: bool = False
    ) -> List[EventType]:
        """The answer; `confirmed` when the caller said yes to the safety question, `first`
        when this is a first report whatever the intent says."""

    def follow_up(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        confirmed: bool,
        text: str,
        urgent: bool,
        first: bool = False,
    ) -> List[EventType] | None:
        """Answers a follow-up ("救护车怎么还没来", "他又在催") and keeps the kind open while
        it is recent; None when this message is a new first report."""
        intent = _intent(tracker)
        before = _already(tracker, self.name())
        if first or confirmed or (intent == self.intent and not (self.repeat_is_followup and before)):
            return None
        custom = {"kind": self.kind, "followup": True, **({"urgent": True} if urgent else {})}
        dispatcher.utter_message(text=text, json_message=custom)
        still_open = before or intent == self.intent
        return [SlotSet("safety_open", self.kind if still_open else None)]


class ActionCrisis(_SafetyAction):
    kind = intent = "crisis"

    def name(self) -> Text:
        return "action_crisis"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, confirmed: bool, first: bool = False
    ) -> List[EventType]:
        text = replies()["crisis"]
        followed = self.follow_up(dispatcher, tracker, confirmed, text["followup"], urgent=True, first=first)
        if followed is not None:
            return followed
        handoff_id = _record(tracker, "crisis", _assessment(tracker).get("category"))
        dispatcher.utter_message(
            text=text["first"] + text["steps"],
            json_message={"action": "handoff", "urgent": True, "kind": "crisis", "handoff_id": handoff_id},
        )
        dispatcher.utter_message(text=text["handoff"], json_message=dict(TRANSFER_PROMISE))
        dispatcher.utter_message(text=text["question"])
        return _stop_forms() + [SlotSet("safety_open", "crisis")]


class ActionEmergency(_SafetyAction):
    kind = intent = "emergency"

    def name(self) -> Text:
        return "action_emergency"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, confirmed: bool, first: bool = False
    ) -> List[EventType]:
        text = replies()["emergency"]
        # "the ambulance hasn't come": guidance, and it stays an emergency
        followed = self.follow_up(dispatcher, tracker, confirmed, text["followup"], urgent=True, first=first)
        if followed is not None:
            return followed
        category = _assessment(tracker).get("category") or "call_for_help"
        handoff_id = _record(tracker, "emergency", category)
        said = latest_text(tracker)
        gas_said = "气" in said or "臭鸡蛋" in said  # 臭鸡蛋味 is how gas smells to many
        if category == "fire_gas" and gas_said and "火" not in said and "烟" not in said:
            category = "gas"  # a gas smell: no flame, no switch, windows open
        opening = {
            "fire_gas": text["call_fire"],
            "gas": text["call_gas"],
            "missing_person": text["call_missing"],
        }.get(category, text["call"])
        steps = text["steps"].get(category) or ""
        dispatcher.utter_message(
            text=opening + steps,
            json_message={"action": "handoff", "urgent": True, "kind": "emergency", "handoff_id": handoff_id},
        )
        dispatcher.utter_message(text=text["handoff"], json_message=dict(TRANSFER_PROMISE))
        return _stop_forms() + [SlotSet("safety_open", "emergency")]


class ActionScamReport(_SafetyAction):
    kind, intent = "scam", "scam_report"
    repeat_is_followup = False  # a new scam message may bring a new stage

    def name(self) -> Text:
        return "action_scam_report"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, confirmed: bool, first: bool = False
    ) -> List[EventType]:
        text = replies()["scam"]
        # "他又在催了": the scam is still going on; stay with it, do not start over
        followed = self.follow_up(
            dispatcher,
            tracker,
            confirmed,
            text["followup_voice" if is_voice(tracker) else "followup_web"],
            urgent=False,
            first=first,
        )
        if followed is not None:
            return followed
        # a yes to "有人向您要钱吗" means someone is asking now
        stage = "in_progress" if confirmed else _assessment(tracker).get("stage") or "asking"
        if stage == "in_progress":
            advice = text["in_progress_voice"] if is_voice(tracker) else text["in_progress_web"]
        else:
            advice = text[stage] if stage in text else text["asking"]
        handoff_id = _record(tracker, "scam", stage)
        custom = {"kind": "scam", "stage": stage, "handoff_id": handoff_id}
        if stage == "paid":
            custom["action"] = "handoff"
        dispatcher.utter_message(text=advice, json_message=custom)
        if stage != "paid":
            dispatcher.utter_message(response="utter_anything_else")
        # while money is going or gone, what follows is about it
        return _stop_forms() + [SlotSet("safety_open", "scam" if stage in ("paid", "in_progress") else None)]


def _asked_about(tracker: Tracker) -> str:
    """The text of the message the safety question was asked about (the user message
    before the latest one)."""
    users = [e for e in reversed(tracker.events) if e.get("event") == "user"]
    return (users[1].get("text") or "") if len(users) > 1 else ""


_RUNNERS = {"crisis": ActionCrisis, "emergency": ActionEmergency, "scam": ActionScamReport}


def _something_else(answer: str, suspected: str | None) -> bool:
    """An answer to the `suspected` question that says the matter is another: it names a
    topic ("是房子的事") or another office's matter (a lost bank card, a pension paid
    short), or, to the emergency and scam questions, says what it is ("就是钥匙丢了进不了
    门"; to the crisis question "就是心里难受" stays a yes: that answer stays with the person)."""
    from bot import referrals

    if names_a_topic(answer) or referrals.find(answer) is not None:
        return True
    return suspected in ("emergency", "scam") and names_something_else(answer)


def _answer_instead(
    dispatcher: CollectingDispatcher, tracker: Tracker, texts: List[str], ask_base: str
) -> List[EventType] | None:
    """What the messages asked, answered: another office's matter (in `texts`, the newest
    first) gets its referral, a policy question (`ask_base`, the message itself, not a
    short answer such as "是房子的事") the base is sure of its answer; None when neither."""
    for text in texts:
        if text and say_referral(dispatcher, tracker, text):
            return []
    if ask_base:
        policy = confident_policy_answer(ask_base)
        if policy:
            dispatcher.utter_message(text=policy[0])
            return [SlotSet("policy_program", policy[1])]
    return None


def _go_on(
    dispatcher: CollectingDispatcher, tracker: Tracker, texts: List[str], events: List[EventType]
) -> List[EventType]:
    """Not a danger after all: the answer to what was asked, or the question what the
    caller wants."""
    answered = _answer_instead(dispatcher, tracker, texts, texts[-1])
    if answered is not None:
        return events + answered
    dispatcher.utter_message(text=replies()["unsure"]["not_meant"])
    return events


class ActionSafetyCheck(Action):
    """Near a high-stakes reading without a concrete cue: one short yes/no question."""

    def name(self) -> Text:
        return "action_safety_check"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        suspected = _assessment(tracker).get("suspected") or "emergency"
        if (
            tracker.get_slot("safety_suspected") == suspected
            and last_bot_action(tracker) == "action_safety_check"
        ):
            said = latest_text(tracker)
            if suspected in ("emergency", "scam") and _something_else(said, suspected):
                # the answer names the matter ("就是钥匙丢了进不了门"): a no, not the
                # same suspicion again (the classifier's score on it proves nothing)
                return _go_on(
                    dispatcher, tracker, [said, _asked_about(tracker)], [SlotSet("safety_suspected", None)]
                )
            # the question was asked and the answer is more of the same ("他们说是政府支持
            # 的"): never the same question twice. A "what if" about an emergency that the
            # policy base can answer (an alarm device) gets that answer; otherwise the
            # kind's own answer (a crisis or scam answer does no harm if it was not one)
            if suspected == "emergency":
                policy = confident_policy_answer(latest_text(tracker))
                if policy:
                    dispatcher.utter_message(text=policy[0])
                    return [SlotSet("safety_suspected", None), SlotSet("policy_program", policy[1])]
            return [SlotSet("safety_suspected", None)] + _RUNNERS[suspected]().answer(
                dispatcher, tracker, confirmed=False, first=True
            )
        if tracker.get_slot("safety_open") == suspected:
            # already in this scam/crisis/emergency ("那边一直催我"): stay with it, do not
            # ask again whether it is one
            return _RUNNERS[suspected]().answer(dispatcher, tracker, confirmed=False)
        log.info("safety check asked sender=%s suspected=%s", tracker.sender_id, suspected)
        dispatcher.utter_message(
            text=replies()["unsure"][suspected],
            buttons=[
                {"title": COMMON_WORDING.text("buttons.yes"), "payload": "/affirm"},
                {"title": COMMON_WORDING.text("buttons.no"), "payload": "/deny"},
            ],
            json_message={"yes_no": True, "kind": "safety_check", "suspected": suspected},
        )
        return [SlotSet("safety_suspected", suspected)]


class ActionSafetyConfirmed(Action):
    """The answer to the safety question: yes runs that kind's answer, no goes on."""

    def name(self) -> Text:
        return "action_safety_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        suspected = tracker.get_slot("safety_suspected")
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        events: List[EventType] = [SlotSet("safety_suspected", None)]
        open_kind = tracker.get_slot("safety_open")
        if suspected is None and open_kind in _RUNNERS:
            # no question was asked: the check answered as a follow-up of the open kind
            return _RUNNERS[open_kind]().answer(dispatcher, tracker, confirmed=False)
        answer = latest_text(tracker)
        if intent not in ("affirm", "deny"):
            # neither yes nor no was understood ("还没吃，药就在手边", "就是退休金少了，找谁问"):
            # the words may still say one; else an answer that names another matter is a
            # no, and to the crisis and emergency questions anything else stays with the
            # person (their answer does no harm if it was not one; a miss can cost a life)
            said = parse_yes_no(answer)
            if said is not None:
                intent = "affirm" if said else "deny"
            elif _something_else(answer, suspected) or suspected == "scam":
                intent = "deny"
            else:
                intent = "affirm"
        if intent == "affirm" and _something_else(answer, suspected):
            # "就是漏水" to "is someone in danger?", "是房子的事" to any of the questions: it
            # is something else, not a yes. (To the crisis question "就是心里难受" stays a
            # yes: the crisis answer stays with the person and does no harm.)
            log.info(
                "safety question answered with something else sender=%s suspected=%s",
                tracker.sender_id,
                suspected,
            )
            intent = None
        if intent != "affirm" or suspected not in ("crisis", "emergency", "scam"):
            # "不是": go on with what the message asked: another office's matter gets its
            # referral ("燃气费欠了怎么交" -> the utilities, 12345), a policy question the
            # base is sure of its answer ("家里突然出事了，有临时救助吗" -> the 临时救助 answer)
            asked = _asked_about(tracker)
            texts = [answer, asked]
            if any(text and say_referral(dispatcher, tracker, text) for text in texts):
                return events
            # "我八十八了，住中华门，能有啥照顾" read as near a scam: the check it asked for
            started = start_interrupted(dispatcher, tracker, asked)
            if started is not None:
                return events + started
            return _go_on(dispatcher, tracker, texts, events)
        return events + _RUNNERS[suspected]().answer(dispatcher, tracker, confirmed=True)


class ActionSafetyDenial(Action):
    """ "不是诈骗", "你搞错了": the assistant apologises and goes on."""

    def name(self) -> Text:
        return "action_safety_denial"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        log.info("safety reading corrected by the caller sender=%s", tracker.sender_id)
        events: List[EventType] = [SlotSet("safety_open", None), SlotSet("safety_suspected", None)]
        rest = _after_denial(latest_text(tracker))
        if rest:
            # "你搞错了，不是诈骗……我想问问高龄津贴": the apology, then what was asked
            # (another office's matter or a policy question the base is sure of)
            probe = CollectingDispatcher()  # the apology must come before the answer
            answered = _answer_instead(probe, tracker, [rest], rest)
            if answered is not None:
                dispatcher.utter_message(text=replies()["denial_then"])
                dispatcher.messages.extend(probe.messages)
                return events + answered
        dispatcher.utter_message(text=replies()["denial"])
        return events


def _after_denial(text: str) -> str:
    """What a correction says after the denial itself ("不是诈骗，我核实过了。我想问问X"
    -> "我想问问X"): the last sentence, when there are several; "" otherwise."""
    import re

    parts = [p for p in re.split(r"[。！？!?；;]", text or "") if p.strip()]
    return parts[-1].strip() if len(parts) > 1 else ""


class ActionPrivacyRefusal(Action):
    """Another person's address, phone, ID number or bookings are never read out on request,
    whoever the caller says they are."""

    def name(self) -> Text:
        return "action_privacy_refusal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        log.warning("privacy request refused sender=%s", tracker.sender_id[:24])
        dispatcher.utter_message(text=replies()["privacy"])
        return _stop_forms()
