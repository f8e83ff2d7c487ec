"""The eligibility form validator and actions on trackers, without servers
(rasa-sdk Tracker + CollectingDispatcher; the database is a temp SQLite with demo data)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.eligibility import (ActionEligibilityStart, ActionEligibilitySummary,
                                 ValidateEligibilityForm)
from bot.facts import DONT_KNOW

DOMAIN = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text())


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setenv("CLOCK_NOW", "2026-11-23")


def tracker(slots: dict | None = None, text: str = "", requested: str | None = None,
            metadata: dict | None = None) -> Tracker:
    values = {name: None for name in DOMAIN["slots"]}
    values.update({"elig_who": "您", "elig_subject": "本人", "elig_failures": {}})
    values.update(slots or {})
    values["requested_slot"] = requested
    events = [{"event": "user", "text": text, "parse_data": {}, "metadata": metadata or {}}]
    if requested:  # what the form's from_text mapping set from the answer
        values[requested] = text
        events.append({"event": "slot", "name": requested, "value": text})
    latest = {"text": text, "intent": {"name": "inform"}, "metadata": metadata or {}}
    return Tracker("test", values, latest, events, False, None,
                   {"name": "eligibility_form"} if requested else {}, "action_listen")


def validate(t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateEligibilityForm().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return slots, [m.get("text") or m.get("response") for m in dispatcher.messages], dispatcher


def test_chinese_numeral_age_is_read_and_read_back():
    slots, said, _ = validate(tracker(text="八十五", requested="elig_age"))
    assert slots["elig_age"] == 85
    assert said == ["好的，您85岁。"]
    assert slots["requested_slot"] == "elig_street"


def test_approximate_age_and_a_street_in_the_same_answer():
    slots, said, _ = validate(tracker(text="快九十了，住五老村", requested="elig_age"))
    assert slots["elig_age"] == 89 and slots["elig_age_approximate"] is True
    assert slots["elig_street"] == "五老村"
    assert "89岁左右" in said[0] and "五老村" in said[0]
    # 89 "or so" is a year from the 90 of the caregiver training: the birth month decides
    assert slots["requested_slot"] == "elig_birth_date"


def test_unusable_answer_is_asked_again_then_a_human_is_offered():
    slots, said, _ = validate(tracker(text="蓝色的", requested="elig_age"))
    assert slots["elig_age"] is None and slots["requested_slot"] == "elig_age"
    assert "没听清楚" in said[0]
    slots, said, dispatcher = validate(tracker({"elig_failures": slots["elig_failures"]},
                                               text="随便吧", requested="elig_age"))
    assert slots["elig_age"] is None and "转人工" in said[0]
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_human"


def test_yes_after_the_offer_hands_over(db_url):
    slots, said, dispatcher = validate(tracker({"elig_failures": {"elig_age": 2}}, text="好的",
                                               requested="elig_age"))
    assert slots["elig_handoff"] is True and slots["requested_slot"] is None
    assert dispatcher.messages[0]["custom"]["action"] == "handoff"


def test_dont_know_is_skipped_and_not_asked_again():
    facts = {"elig_age": 70, "elig_street": "红花", "elig_economic_status": "特困",
             "elig_care_level": "能力完好"}
    slots, said, _ = validate(tracker(facts, text="不清楚", requested="elig_disability_certificate"))
    assert slots["elig_disability_certificate"] == DONT_KNOW
    assert "跳过" in said[0]
    assert slots["requested_slot"] != "elig_disability_certificate"


def test_only_facts_that_still_matter_are_asked():
    facts = {"elig_age": 76, "elig_street": "夫子庙", "elig_economic_status": "低保"}
    slots, said, _ = validate(tracker(facts, text="瘫在床上", requested="elig_care_level"))
    assert slots["elig_care_level"] == "重度失能"
    # 低保 + 失能: only 建档立卡 (适老化改造, 四(五)3) can still change a result
    assert slots["requested_slot"] == "elig_poverty_registered"
    slots, said, _ = validate(tracker({**facts, "elig_care_level": "重度失能"}, text="不是",
                                      requested="elig_poverty_registered"))
    assert slots["elig_poverty_registered"] is False
    assert slots["requested_slot"] is None  # nothing else can change a result: the form ends


def test_outside_the_district_ends_the_questions():
    slots, _, _ = validate(tracker({"elig_age": 80}, text="我住鼓楼区", requested="elig_street"))
    assert slots["elig_street"] == "区外" and slots["requested_slot"] is None


def test_known_caller_is_offered_the_stored_facts(db_url):
    dispatcher = CollectingDispatcher()
    t = tracker(text="我能享受什么补贴", metadata={"phone": "13800000001", "channel": "voice"})
    events = asyncio.run(ActionEligibilityStart().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["elig_stored_name"] == "张桂兰"
    assert slots["elig_stored_facts"]["street"] == "五老村"
    assert "张桂兰老人（88岁，住五老村）" == slots["elig_stored_desc"]
    stored = {k: v for k, v in slots.items() if v is not None}
    # the offer comes first, and "好" fills every fact so nothing is asked
    s2, said, _ = validate(tracker({**stored, "elig_failures": {}}, text="好",
                                   requested="elig_use_stored"))
    assert s2["elig_use_stored"] == "yes" and s2["elig_care_level"] == "轻度失能"
    assert s2["requested_slot"] is None


def test_relative_and_facts_from_the_first_sentence():
    dispatcher = CollectingDispatcher()
    t = tracker(text="我妈今年八十三，一个人住，能享受什么")
    events = asyncio.run(ActionEligibilityStart().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot" and e["value"] is not None}
    assert slots["elig_subject"] == "母亲" and slots["elig_who"] == "您母亲"
    assert slots["elig_age"] == 83 and slots["elig_living_situation"] == "独居"
    assert "您母亲83岁" in dispatcher.messages[0]["text"]


def test_summary_names_eligible_programs_first_with_the_number():
    facts = {"elig_age": 88, "elig_street": "五老村", "elig_economic_status": "普通",
             "elig_care_level": "轻度失能", "elig_living_situation": "独居",
             "elig_dementia": False, "elig_special_family": False}
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionEligibilitySummary().run(dispatcher, tracker(facts), DOMAIN))
    summary = dispatcher.messages[0]["text"]
    assert summary.startswith("根据您说的情况，您可以享受：一，每月3小时免费照料")
    assert dispatcher.messages[1]["response"] == "utter_eligibility_offer"
    sms = next(e["value"] for e in events if e["name"] == "elig_summary")
    assert "每月3小时免费照料" in sms and len(sms) <= 300


def test_an_approximate_age_at_a_threshold_asks_the_birth_month():
    """虚岁八十一 is 80 or 79: the year and month of birth decide the 80+ programs."""
    slots, said, _ = validate(tracker(text="虚岁八十一", requested="elig_age"))
    assert slots["elig_age"] == 80 and slots["elig_age_approximate"] is True
    assert slots["requested_slot"] == "elig_birth_date"
    answered = {"elig_age": 80, "elig_age_approximate": True}
    slots, said, _ = validate(tracker(answered, text="一九四六年三月", requested="elig_birth_date"))
    assert slots["elig_age"] == 80 and slots["elig_age_approximate"] is None
    assert "80周岁" in said[0] and slots["requested_slot"] == "elig_street"
    slots, said, _ = validate(tracker(answered, text="就记得是四六年生的", requested="elig_birth_date"))
    assert slots["elig_birth_date"] == "unknown" and "社区" in said[0]
    assert slots["requested_slot"] == "elig_street"      # not asked again
    slots, said, _ = validate(tracker(answered, text="蓝色的", requested="elig_birth_date"))
    assert slots["elig_birth_date"] is None and "1945年3月" in said[0]
