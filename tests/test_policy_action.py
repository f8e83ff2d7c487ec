"""action_answer_policy with real trackers and the real knowledge base (no servers)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import HUMAN_BUTTON
from actions.policy import ELIGIBILITY_BUTTON, ActionAnswerPolicy
from bot.booking import ledger as booking

ROOT = Path(__file__).resolve().parent.parent


def _run(text: str, entities: list[dict] | None = None, slots: dict | None = None, channel: str = "web"):
    tracker = Tracker(
        sender_id="policy-action-test",
        slots={"channel": channel, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": "ask_policy", "confidence": 0.9},
            "entities": entities or [],
            "metadata": {"channel": channel},
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerPolicy().run(dispatcher, tracker, {}))
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0], events


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setenv("CLOCK_NOW", "2026-11-23")


def test_answers_from_the_words_when_no_entity(db_url):
    message, events = _run("时间迎行是什么")
    assert "志愿者" in message["text"] and re.search(r"依据：《[^》]+》第.+部分.*。$", message["text"])
    assert SlotSet("policy_program", "time_bank") in events
    assert SlotSet("policy_human_offered", False) in events
    # not a home visit the booking form books: no 帮我预约; the rules cover it: 我能享受吗
    assert message["buttons"] == [ELIGIBILITY_BUTTON, HUMAN_BUTTON]


def test_the_entity_decides_the_program_and_the_words_the_aspect():
    message, events = _run("这个怎么申请", entities=[{"entity": "program", "value": "长护险"}])
    assert "区政务中心" in message["text"]
    assert SlotSet("policy_program", "ltc_insurance") in events


def test_a_button_payload_answers_the_program_it_names():
    message, _ = _run(
        '/ask_policy{"program":"family_care_beds"}',
        entities=[{"entity": "program", "value": "family_care_beds"}],
    )
    assert message["text"].startswith("家庭养老床位")


def test_a_follow_up_uses_the_program_of_the_previous_answer():
    message, _ = _run("那要带什么材料", slots={"policy_program": "ltc_insurance"})
    assert "失能照护保险" in message["text"] and "材料" in message["text"]


def test_not_sure_offers_a_human_with_a_button_on_the_web():
    message, events = _run("殡葬补贴能领多少钱")
    assert "不太确定" in message["text"]
    assert {"title": "转人工", "payload": "/request_human"} in message["buttons"]
    assert SlotSet("policy_human_offered", True) in events


def test_not_sure_on_the_phone_has_no_buttons():
    message, events = _run("殡葬补贴能领多少钱", channel="voice")
    assert "人工" in message["text"] and not message["buttons"]
    assert SlotSet("policy_human_offered", True) in events


def test_a_vague_question_offers_programs_as_buttons():
    message, events = _run("我想问问养老政策")
    payloads = [b["payload"] for b in message["buttons"]]
    assert '/ask_policy{"program": "free_home_care_80plus"}' in payloads
    assert "/request_human" in payloads
    assert SlotSet("policy_human_offered", False) in events


def _titles(message) -> list[str]:
    return [b["title"] for b in message["buttons"]]


def test_a_price_question_about_a_service_is_answered_from_the_price_list(db_url):
    """上门洗澡要自己出钱吗: the pack's price list answers; the booking is offered with the
    service filled in, not started; prices are no entitlement, so no 我能享受吗."""
    message, events = _run("上门洗澡要自己出钱吗")
    assert "收费" in message["text"] and "依据" in message["text"]
    assert SlotSet("policy_program", "service_prices") in events
    assert message["buttons"][0] == {"title": "帮我预约", "payload": '/book_service{"service_type": "助浴"}'}
    assert _titles(message) == ["帮我预约", "转人工"]


def test_a_program_named_after_a_catalogue_service_offers_that_booking(db_url):
    message, events = _run("老年人助餐点是什么")
    assert SlotSet("policy_program", "meal_aid") in events
    assert message["buttons"][0]["payload"] == '/book_service{"service_type": "助餐"}'
    assert _titles(message) == ["帮我预约", "我能享受吗", "转人工"]


def test_the_free_hours_program_offers_a_booking_without_a_service(db_url):
    message, events = _run("高龄免费照料是什么")
    assert SlotSet("policy_program", booking.FREE_CARE_PROGRAM_ID) in events
    assert message["buttons"][0] == {"title": "帮我预约", "payload": "/book_service"}


def test_a_program_that_is_not_a_home_visit_offers_no_booking(db_url):
    message, _ = _run("这个怎么申请", entities=[{"entity": "program", "value": "长护险"}])
    assert _titles(message) == ["我能享受吗", "转人工"]


def test_on_the_phone_an_answer_has_no_buttons(db_url):
    message, _ = _run("上门洗澡要自己出钱吗", channel="voice")
    assert "收费" in message["text"] and not message["buttons"]


def test_without_the_catalogue_the_answer_stands_without_the_booking(db_url, monkeypatch):
    def broken(session):
        raise RuntimeError("database down")

    monkeypatch.setattr(booking, "service_names", broken)
    message, events = _run("老年人助餐点是什么")
    assert SlotSet("policy_program", "meal_aid") in events and "助餐" in message["text"]
    assert _titles(message) == ["我能享受吗", "转人工"]


def test_importing_the_actions_starts_no_thread():
    """The policy packs' warm-up is the action server's start (actions/server.py main), not a
    side effect of importing the actions (tests, tools and Rasa's own loading import them)."""
    code = (
        "import threading, actions.policy, actions.server;"
        "print(sorted(t.name for t in threading.enumerate()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "policy-kb-warm-up" not in out and "MainThread" in out
