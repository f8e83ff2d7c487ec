"""Session start, repeat, handoff, misunderstanding and complaints."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    COMMON_WORDING,
    channel,
    confident_policy_answer,
    guarded,
    latest_text,
    log,
    queue_handoff,
    say_referral,
)
from actions import booking, eligibility  # noqa: F401 - their forms' data (forms.why_response)
from actions.forms import MissPolicy, Reply, count_miss, why_response
from bot.contact import advisor_calendar
from bot.text import facts
from bot.contact import live_chat

QUEUE_DOWN_TEXT = COMMON_WORDING.text("queue_down")

# Slots that never outlive a session: who the caller proved to be, and what the channel
# said about this session (channel and caller ID are set again from its metadata).
SESSION_ONLY_SLOTS = {
    "session_started_metadata",
    "requested_slot",
    "booking_elder_id",
    "booking_person_name",
    "booking_id_last4",
    "booking_candidate",
    "booking_code",
    "booking_pointed",
    "caller_phone",
    "channel",
    "elig_stored_facts",
}


class ActionSessionStart(Action):
    """Starts a session and remembers the channel and caller number from the metadata."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        meta = tracker.get_slot("session_started_metadata") or {}
        events: List[EventType] = [SessionStarted()]
        # carry over what we already know (carry_over_slots_to_new_session), except proof of
        # identity: it expires with the session (the next person at a shared computer)
        for key, value in tracker.current_slot_values().items():
            if key not in SESSION_ONLY_SLOTS and value is not None:
                events.append(SlotSet(key, value))
        if meta.get("channel"):
            events.append(SlotSet("channel", meta["channel"]))
        if meta.get("phone"):
            events.append(SlotSet("caller_phone", meta["phone"]))
        events.append(ActionExecuted("action_listen"))
        return events


# "没有了，谢谢", "没事了，谢谢你啊", "就这些，谢谢": thanks that also say there is nothing more
_NOTHING_MORE = re.compile(
    r"没了|没有了|没事了|没啥了|没别的|没有别的|没其他|没有其他|就这些|就这样|不用了|好了好了"
)


class ActionThank(Action):
    """Thanks: "不客气" and whether there is anything else, or goodbye when the thanks say
    there is nothing more (asking again would loop)."""

    def name(self) -> Text:
        return "action_thank"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if _NOTHING_MORE.search(latest_text(tracker)):
            dispatcher.utter_message(response="utter_goodbye")
        else:
            dispatcher.utter_message(response="utter_thank")
        return []


class ActionRepeat(Action):
    """Says the last bot answer again (再说一遍 / * on the keypad)."""

    def name(self) -> Text:
        return "action_repeat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        last_turn: list[dict] = []
        collecting = False
        for event in reversed(tracker.events):
            if event.get("event") == "bot":
                collecting = True
                last_turn.append(event)
            elif event.get("event") == "user" and collecting:
                break
        loop = (tracker.active_loop or {}).get("name")
        if loop and facts.is_why_question(latest_text(tracker)):
            # "问我年纪干什么？" reads like 再问一遍: the reason is what was asked for; the
            # form then asks its question again
            why = why_response(loop, tracker.get_slot("requested_slot"))  # the form's own reason
            if why:
                dispatcher.utter_message(response=why)
                return []
        if not last_turn:
            dispatcher.utter_message(response="utter_nothing_to_repeat")
            return []
        said: set[str] = set()
        for event in reversed(last_turn):
            if event.get("text") in said:
                continue  # a question the form asked again after a repeat is said once
            said.add(event.get("text") or "")
            data = event.get("data") or {}
            dispatcher.utter_message(
                text=event.get("text"), buttons=data.get("buttons") or [], json_message=data.get("custom")
            )
        return []


class ActionHandoff(Action):
    """Puts the conversation in the advisors' queue and tells the channel to transfer."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        try:
            handoff_id = queue_handoff(tracker, "request_human")
        except Exception:  # the queue is down: a person is still reachable
            log.exception("could not queue a handoff for sender %s", tracker.sender_id)
            handoff_id = None
            if channel(tracker) != "voice":
                dispatcher.utter_message(text=QUEUE_DOWN_TEXT, json_message={"action": "handoff_unavailable"})
                return [SlotSet("misunderstood_count", 0)]
        if channel(tracker) == "web" and handoff_id is not None:
            say_web_handoff(dispatcher, tracker.sender_id, handoff_id)
            return [SlotSet("misunderstood_count", 0)]
        # on the phone the line transfers whether or not the queue took it; the line drops
        # a message flagged `transfer_promise` when nobody can take the call
        dispatcher.utter_message(
            response="utter_handoff",
            json_message={"action": "handoff", "handoff_id": handoff_id, "transfer_promise": True},
        )
        return [SlotSet("misunderstood_count", 0)]


def say_web_handoff(dispatcher: CollectingDispatcher, sender_id: str, handoff_id: int) -> None:
    """The web chat: an advisor will answer in this chat (advisor hours), or the person is
    asked for a callback number (bot/contact/live_chat.py runs the rest)."""
    thread = live_chat.thread_id(sender_id) or handoff_id
    if advisor_calendar.on_duty():
        dispatcher.utter_message(
            response="utter_handoff_live",
            json_message={"action": "handoff", "handoff_id": thread, "live": True},
        )
        return
    live_chat.ask_callback(thread)
    dispatcher.utter_message(
        response="utter_handoff_ask_callback",
        json_message={"action": "handoff", "handoff_id": thread, "live": False, "callback": True},
    )


# A message read as out of scope gets a policy answer only when the knowledge base is at
# least this sure (its usual threshold is policy_kb.ANSWER_THRESHOLD).
OUT_OF_SCOPE_POLICY_CONFIDENCE = 0.85


class ActionOutOfScope(Action):
    """Not this line's business: the office that handles it (a referral with its source),
    else an honest "I don't know" and the offer of a person."""

    def name(self) -> Text:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = latest_text(tracker)
        if not text.startswith("/") and say_referral(dispatcher, tracker, text):
            return []
        # the classifier was sure this is not our business: the knowledge base must be surer
        # than usual to say otherwise ("我手机坏了" shares only 手机 with the platform's app)
        policy = confident_policy_answer(text, OUT_OF_SCOPE_POLICY_CONFIDENCE)
        if policy:  # "给我爸配个轮椅去哪里弄": the words name one of our programs
            dispatcher.utter_message(text=policy[0])
            return [SlotSet("policy_program", policy[1])]
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


# Outside the forms: a miss asks to rephrase, the second in a row offers a person (and
# puts the conversation in the advisors' queue).
MISUNDERSTOOD = MissPolicy(
    again=Reply(response="utter_ask_rephrase"), offer=Reply(response="utter_offer_human")
)


class ActionMisunderstood(Action):
    """First miss: ask to rephrase. Second miss in a row: offer a human."""

    def name(self) -> Text:
        return "action_misunderstood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = latest_text(tracker)
        if text and not text.startswith("/") and say_referral(dispatcher, tracker, text):
            # not classified, but another office's business for sure (医保卡丢了 -> 12393)
            return [SlotSet("misunderstood_count", 0)]
        policy = confident_policy_answer(text)
        if policy:  # not classified, but the words name one of our programs for sure
            dispatcher.utter_message(text=policy[0])
            return [SlotSet("misunderstood_count", 0), SlotSet("policy_program", policy[1])]
        count, offered = count_miss(
            dispatcher, tracker, int(tracker.get_slot("misunderstood_count") or 0), MISUNDERSTOOD
        )
        if offered:
            guarded(dispatcher, "queue fallback handoff", lambda: queue_handoff(tracker, "fallback"))
            return [SlotSet("misunderstood_count", 0)]
        return [SlotSet("misunderstood_count", count)]


class ActionRecordComplaint(Action):
    def name(self) -> Text:
        return "action_record_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        done = guarded(dispatcher, "record complaint", lambda: queue_handoff(tracker, "complaint"))
        if done is not None:
            dispatcher.utter_message(response="utter_complaint")
        return []
