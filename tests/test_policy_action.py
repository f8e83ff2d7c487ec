"""action_answer_policy with real trackers and the real knowledge base (no servers)."""
from __future__ import annotations

import asyncio
import re

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.policy import ActionAnswerPolicy


def _run(text: str, entities: list[dict] | None = None, slots: dict | None = None,
         channel: str = "web"):
    tracker = Tracker(
        sender_id="policy-action-test", slots={"channel": channel, **(slots or {})},
        latest_message={"text": text, "intent": {"name": "ask_policy", "confidence": 0.9},
                        "entities": entities or [], "metadata": {"channel": channel}},
        events=[], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerPolicy().run(dispatcher, tracker, {}))
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0], events


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setenv("CLOCK_NOW", "2026-11-23")


def test_answers_from_the_words_when_no_entity():
    message, events = _run("时间迎行是什么")
    assert "志愿者" in message["text"] and re.search(r"依据：《[^》]+》第.+部分.*。$", message["text"])
    assert SlotSet("policy_program", "time_bank") in events
    assert SlotSet("policy_human_offered", False) in events
    assert not message["buttons"]


def test_the_entity_decides_the_program_and_the_words_the_aspect():
    message, events = _run("这个怎么申请", entities=[{"entity": "program", "value": "长护险"}])
    assert "区政务中心" in message["text"]
    assert SlotSet("policy_program", "ltc_insurance") in events


def test_a_button_payload_answers_the_program_it_names():
    message, _ = _run('/ask_policy{"program":"family_care_beds"}',
                      entities=[{"entity": "program", "value": "family_care_beds"}])
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
