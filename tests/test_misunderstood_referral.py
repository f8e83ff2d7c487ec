"""A message the classifier could not place, or read as out of scope, but that is another
office's business gets the referral (policies/national/referrals.yml) instead of "please say
it again" or a bare "I can't help" (issue 15)."""

from __future__ import annotations

import asyncio

import pytest

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.core import ActionMisunderstood, ActionOutOfScope


def _run(text: str, count: int = 0, action=ActionMisunderstood, intent: str = "nlu_fallback"):
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.3},
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
    events = asyncio.run(action().run(dispatcher, tracker, {}))
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


@pytest.mark.parametrize(
    "text, number, referral",
    [
        # phrasings of issue 15's dev_scripts7 kind, none of them a script's sentence
        ("后天出门要不要带伞", "12121", "weather"),
        ("给我订两张去上海的高铁票", "12306", "travel_tickets"),
        ("俺的养老钱这个月咋还没到", "12333", "pension"),
        ("阳台的水管冻裂了，水滴个不停", "12345", "city_services"),
    ],
)
def test_out_of_scope_names_the_office_and_its_number(text, number, referral):
    messages, _ = _run(text, action=ActionOutOfScope, intent="out_of_scope")
    assert number in "\n".join(m.get("text") or "" for m in messages)
    assert [(m.get("custom") or {}).get("referral") for m in messages] == [referral]


def test_out_of_scope_without_an_office_says_so_and_offers_a_person():
    messages, _ = _run("给我讲个笑话吧", action=ActionOutOfScope, intent="out_of_scope")
    assert [m.get("response") for m in messages] == ["utter_out_of_scope"]


def test_out_of_scope_change_of_the_register_offers_an_advisor():
    messages, _ = _run("老人登记的电话号码要换成我的", action=ActionOutOfScope, intent="out_of_scope")
    assert [m.get("buttons") for m in messages] == [[{"title": "转人工", "payload": "/request_human"}]]
    assert "改不了" in messages[0]["text"]
