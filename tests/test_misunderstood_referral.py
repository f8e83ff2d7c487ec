"""A message the classifier could not place but that is another office's business gets the
referral (policies/national/referrals.yml) instead of "please say it again" (issue 15)."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.core import ActionMisunderstood


def _run(text: str, count: int = 0):
    latest = {
        "text": text,
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "entities": [],
        "metadata": {},
    }
    tracker = Tracker(
        "unit-misunderstood",
        {"misunderstood_count": count},
        latest,
        [{"event": "user", "text": text, "parse_data": latest}],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionMisunderstood().run(dispatcher, tracker, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_an_unplaced_message_about_medical_insurance_gets_the_referral():
    messages, slots = _run("我的医保卡丢了，到哪去补", count=1)
    said = "\n".join(m.get("text") or "" for m in messages)
    assert "12393" in said
    assert slots["misunderstood_count"] == 0  # an answer, not a second miss


def test_an_unplaced_message_without_a_referral_is_asked_again():
    messages, slots = _run("嗯那个啥")
    assert [m.get("response") for m in messages] == ["utter_ask_rephrase"]
    assert slots["misunderstood_count"] == 1
