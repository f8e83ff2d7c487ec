"""Shared helpers for actions: who is calling, on which channel, and a safe DB call."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.text.wording import Catalogue

log = logging.getLogger(__name__)
T = TypeVar("T")

# The shared sentences and button titles of the actions (actions/wording.yml)
COMMON_WORDING = Catalogue(Path(__file__).with_name("wording.yml"))

DB_DOWN_TEXT = COMMON_WORDING.text("db_down")

# Reply-contract flags (server/rasa_client.py Reply) of questions whose answer is a number
# the caller may key in; domain.yml's utter_ask_* responses for the same questions carry the
# same values (tests/test_voice_flow.py checks they agree).
ID_LAST4_FLAGS = {"expects_digits": 4, "digits_allow_x": True}  # an ID number may end in X
MOBILE_NUMBER_FLAGS = {"expects_digits": 11}  # a mainland mobile (bot/facts.parse_phone)
REFERENCE_FLAGS = {"expects_digits": "any"}  # a booking reference, or a day said instead

HUMAN_BUTTON = {"title": COMMON_WORDING.text("buttons.human"), "payload": "/request_human"}
# The way out of every form question on the web: the `stop` intent (rules.yml leaves the
# eligibility forms with utter_stopped; the booking forms read it themselves).
STOP_BUTTON = {"title": COMMON_WORDING.text("buttons.stop"), "payload": "/stop"}


def with_anything_else(text: str) -> str:
    """A result followed by the one question after a task (actions/wording.yml anything_else)."""
    return text + COMMON_WORDING.text("anything_else")


def metadata(tracker: Tracker) -> dict:
    meta = (tracker.latest_message or {}).get("metadata") or {}
    if not meta:
        meta = tracker.get_slot("session_started_metadata") or {}
    return meta if isinstance(meta, dict) else {}


def channel(tracker: Tracker) -> str:
    return metadata(tracker).get("channel") or tracker.get_slot("channel") or "web"


# Channels whose caller number comes from the carrier (signature-checked by the web server),
# never from a client: only there is the number a proof (bot/identity.py).
TRUSTED_NUMBER_CHANNELS = ("voice", "sms")


def caller_phone(tracker: Tracker) -> str | None:
    """The carrier's caller number on the phone and SMS lines; None on the web."""
    if channel(tracker) not in TRUSTED_NUMBER_CHANNELS:
        return None
    return metadata(tracker).get("phone") or tracker.get_slot("caller_phone")


def is_voice(tracker: Tracker) -> bool:
    return channel(tracker) == "voice"


def form_buttons(tracker: Tracker, answers: tuple[str, ...] | list[str] = ()) -> list[dict]:
    """The buttons of a form question on the web: its usual answers (each sent as the words
    themselves, so the form reads a tap as it reads typing), then the way out of the form.
    None on the phone, whose questions say their choices."""
    if is_voice(tracker):
        return []
    return [{"title": a, "payload": a} for a in answers] + [STOP_BUTTON]


def guarded(dispatcher: CollectingDispatcher, what: str, fn: Callable[[], T]) -> T | None:
    """Runs a bot/ call; on a database or other backend error tells the person politely,
    logs precisely for the operator and returns None (nothing half-written: bot/ uses
    one transaction per unit of work)."""
    try:
        return fn()
    except Exception:  # the conversation must go on whatever failed behind it
        log.exception("action backend call failed: %s", what)
        dispatcher.utter_message(text=DB_DOWN_TEXT)
        return None


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def last_bot_action(tracker: Tracker) -> str | None:
    """The assistant's last action before the latest message (not action_listen), e.g.
    action_safety_check when this message answers the safety question; None if none."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users > 1:
                return None
        elif (
            users == 1 and event.get("event") == "action" and event.get("name") not in ("action_listen", None)
        ):
            return str(event.get("name"))
    return None


def queue_handoff(tracker: Tracker, reason: str, summary_prefix: str = "") -> int:
    """Puts this conversation in the advisors' queue (bot/contact/handoff.py) with its
    channel, the carrier's number and the caller's latest words; returns the handoff's id."""
    from bot.contact import handoff

    return handoff.create_handoff(
        reason,
        sender_id=tracker.sender_id,
        channel=channel(tracker),
        phone=caller_phone(tracker),
        summary=summary_prefix + latest_text(tracker),
    )


def entity_values(tracker: Tracker, entity: str) -> list[Any]:
    return list(tracker.get_latest_entity_values(entity))


def say_referral(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> bool:
    """Says where to go when the message is about something another office handles
    (policies/national/referrals.yml); False when no referral fits."""
    from bot import referrals
    from bot.policy import kb as policy_kb

    referral = referrals.find(text)
    if referral is None:
        return False
    log.info("referral given sender=%s referral=%s", tracker.sender_id[:24], referral.id)
    if referral.program:  # the facts are the policy pack's: say its answer
        answer = guarded(
            dispatcher,
            "referral policy answer",
            lambda: policy_kb.get_kb().answer(question=text, program=referral.program),
        )
        if answer is not None:  # else guarded has already told the person, politely
            dispatcher.utter_message(text=answer.text)
        return True
    buttons = []
    payload = referrals.offer_payload(referral)
    if payload and not is_voice(tracker):
        buttons = [{"title": referral.offer["title"], "payload": payload}]
    dispatcher.utter_message(text=referral.say, buttons=buttons, json_message={"referral": referral.id})
    return True


def _lookup(text: str, what: str) -> Any:
    """The policy knowledge base's answer to a message that was not read as a policy
    question; None for a button payload or when the base fails (the caller gets the usual
    reply; the policy path reports a broken pack)."""
    if not text or text.startswith("/"):
        return None
    from bot.policy import kb as policy_kb

    try:
        return policy_kb.get_kb().answer(question=text)
    except Exception:
        log.exception("policy knowledge base failed on a %s lookup", what)
        return None


def uncovered_benefit_answer(text: str) -> str | None:
    """Where to ask, when a message names a benefit the policy pack does not cover (高龄津贴,
    养老金: policies/<region>/coverage.yml), else None."""
    answer = _lookup(text, "coverage")
    return answer.text if answer is not None and answer.kind == "not_covered" else None


def confident_policy_answer(text: str, min_confidence: float = 0.0) -> tuple[str, str] | None:
    """(answer text, program id) when the policy knowledge base is sure what a message is
    about, else None. For messages the classifier did not read as policy questions (out of
    scope, not understood, a "no" to the safety question): the base's own threshold keeps
    its precision (benchmarks/RESULTS.md, policy retrieval); `min_confidence` asks for more."""
    answer = _lookup(text, "fallback")
    if (
        answer is None
        or answer.kind != "answer"
        or not answer.program_id
        or answer.confidence < min_confidence
    ):
        return None
    return answer.text, answer.program_id
