"""The eligibility form validator and actions on trackers, without servers
(rasa-sdk Tracker + CollectingDispatcher; the database is a temp SQLite with demo data)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.eligibility import (
    ANSWER_BUTTONS,
    ASK_ACTIONS,
    DONT_KNOW_ANSWER,
    ActionEligibilityStart,
    ActionEligibilitySummary,
    ActionExplainEligibility,
    ValidateEligibilityForm,
    answer_buttons,
)
from bot.text.facts import DISTRICT_STREETS, DONT_KNOW

DOMAIN = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text())


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setenv("CLOCK_NOW", "2026-11-23")


def tracker(
    slots: dict | None = None, text: str = "", requested: str | None = None, metadata: dict | None = None
) -> Tracker:
    values = {name: None for name in DOMAIN["slots"]}
    values.update({"elig_who": "您", "elig_subject": "本人", "elig_failures": {}})
    values.update(slots or {})
    values["requested_slot"] = requested
    events = [{"event": "user", "text": text, "parse_data": {}, "metadata": metadata or {}}]
    if requested:  # what the form's from_text mapping set from the answer
        values[requested] = text
        events.append({"event": "slot", "name": requested, "value": text})
    latest = {"text": text, "intent": {"name": "inform"}, "metadata": metadata or {}}
    return Tracker(
        "test",
        values,
        latest,
        events,
        False,
        None,
        {"name": "eligibility_form"} if requested else {},
        "action_listen",
    )


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
    slots, said, dispatcher = validate(
        tracker({"elig_failures": slots["elig_failures"]}, text="随便吧", requested="elig_age")
    )
    assert slots["elig_age"] is None and "转人工" in said[0]
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_human"


def test_yes_after_the_offer_hands_over(db_url):
    slots, said, dispatcher = validate(
        tracker({"elig_failures": {"elig_age": 2}}, text="好的", requested="elig_age")
    )
    assert slots["elig_handoff"] is True and slots["requested_slot"] is None
    assert dispatcher.messages[0]["custom"]["action"] == "handoff"


def test_dont_know_is_skipped_and_not_asked_again():
    facts = {
        "elig_age": 70,
        "elig_street": "红花",
        "elig_economic_status": "特困",
        "elig_care_level": "能力完好",
    }
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
    slots, said, _ = validate(
        tracker({**facts, "elig_care_level": "重度失能"}, text="不是", requested="elig_poverty_registered")
    )
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
    s2, said, _ = validate(tracker({**stored, "elig_failures": {}}, text="好", requested="elig_use_stored"))
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


def test_a_benefit_outside_the_pack_is_told_where_to_ask_before_the_check():
    dispatcher = CollectingDispatcher()
    t = tracker(text="我妈今年八十六，能领高龄补贴吗")
    events = asyncio.run(ActionEligibilityStart().run(dispatcher, t, DOMAIN))
    first, intro = (m["text"] for m in dispatcher.messages)
    assert "高龄津贴" in first and "民政" in first  # policies/demo_district/coverage.yml
    assert intro.startswith("另外") and "您母亲86岁" in intro
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot" and e["value"] is not None}
    assert slots["elig_age"] == 86  # the check keeps what was said


def test_a_check_without_such_a_benefit_starts_plainly():
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEligibilityStart().run(dispatcher, tracker(text="我能享受什么服务"), DOMAIN))
    [intro] = (m["text"] for m in dispatcher.messages)
    assert intro.startswith("好的，我帮您查查")


# every question of the check answered: an 88-year-old on 五老村 living alone, slightly disabled
ALL_ANSWERED = {
    "elig_age": 88,
    "elig_street": "五老村",
    "elig_economic_status": "普通",
    "elig_care_level": "轻度失能",
    "elig_living_situation": "独居",
    "elig_dementia": False,
    "elig_special_family": False,
}


def test_summary_names_eligible_programs_first_with_the_number():
    dispatcher = CollectingDispatcher()
    phone = tracker(ALL_ANSWERED, metadata={"channel": "voice"})
    events = asyncio.run(ActionEligibilitySummary().run(dispatcher, phone, DOMAIN))
    summary = dispatcher.messages[0]["text"]
    assert summary.startswith("根据您说的情况，您可以享受：一，每月3小时免费照料")
    assert dispatcher.messages[0]["buttons"] == []
    assert dispatcher.messages[1]["response"] == "utter_eligibility_offer"
    sms = next(e["value"] for e in events if e["name"] == "elig_summary")
    assert "每月3小时免费照料" in sms and len(sms) <= 300


def test_on_a_screen_the_result_is_a_plain_list_with_why_on_demand():
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEligibilitySummary().run(dispatcher, tracker(ALL_ANSWERED), DOMAIN))
    lines = dispatcher.messages[0]["text"].split("\n")
    count = int(re.match(r"根据您说的情况，您可以享受这(\d+)项：", lines[0]).group(1))
    assert [line.split(". ")[0] for line in lines[1 : count + 1]] == [str(n) for n in range(1, count + 1)]
    assert lines[1].startswith("1. 每月3小时免费照料") and "等" not in lines[1 + count - 1]
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == ["为什么能享受第1项", "为什么能享受第2项", "为什么能享受第3项"]
    first = json.loads(buttons[0]["payload"].removeprefix("/explain_eligibility"))

    # 为什么: the conditions that held, from the same facts, and the document
    asked = tracker(ALL_ANSWERED)
    asked.latest_message["entities"] = [{"entity": "program", "value": first["program"]}]
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionExplainEligibility().run(dispatcher, asked, DOMAIN))
    why = dispatcher.messages[0]["text"]
    assert why.startswith("每月3小时免费照料") and "88周岁" in why and "五老村" in why
    assert "依据是《" in why

    # a program she does not get (or a forged payload) is not explained
    asked.latest_message["entities"] = [{"entity": "program", "value": "no_such_program"}]
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionExplainEligibility().run(dispatcher, asked, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_explain_not_found"


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
    assert slots["requested_slot"] == "elig_street"  # not asked again
    slots, said, _ = validate(tracker(answered, text="蓝色的", requested="elig_birth_date"))
    assert slots["elig_birth_date"] is None and "1945年3月" in said[0]


def ask(slot: str, channel: str = "web") -> dict:
    action = next(a() for a in ASK_ACTIONS if a().name() == f"action_ask_{slot}")
    dispatcher = CollectingDispatcher()
    t = tracker(metadata={"channel": channel})
    assert asyncio.run(action.run(dispatcher, t, DOMAIN)) == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


def test_every_question_of_the_forms_has_an_ask_action_in_the_domain():
    asked = {
        f"action_ask_{slot}"
        for form in ("eligibility_form", "eligibility_sms_form")
        for slot in DOMAIN["forms"][form]["required_slots"]
        if slot != "elig_subject"
    }
    assert asked == {a().name() for a in ASK_ACTIONS}
    assert asked <= set(DOMAIN["actions"])


def test_on_the_web_a_question_offers_its_answers_and_the_way_out():
    message = ask("elig_economic_status")
    assert message["response"] == "utter_ask_elig_economic_status"
    assert [b["title"] for b in message["buttons"]] == [
        "普通家庭",
        "低保",
        "低保边缘",
        "特困",
        "不清楚",
        "先不办了",
    ]
    assert message["buttons"][-1]["payload"] == "/stop"
    street = ask("elig_street")
    assert [b["payload"] for b in street["buttons"][:-1]] == list(DISTRICT_STREETS)
    assert [b["title"] for b in ask("elig_age")["buttons"]] == ["先不办了"]
    assert [b["title"] for b in ask("elig_veteran")["buttons"]] == ["是", "不是", "不清楚", "先不办了"]
    assert [b["title"] for b in ask("elig_dementia")["buttons"]] == ["是", "不是", "不清楚", "先不办了"]


def test_on_the_phone_a_question_has_no_buttons():
    for slot in ("elig_street", "elig_care_level", "elig_hukou_local", "elig_sms_phone"):
        message = ask(slot, channel="voice")
        assert message["response"] == f"utter_ask_{slot}" and not message["buttons"]


EXPECTED = {
    "普通家庭": "普通",
    "低保": "低保",
    "低保边缘": "低保边缘",
    "特困": "特困",
    "能自己走动": "能力完好",
    "要人扶": "中度失能",
    "卧床": "重度失能",
    "一个人住": "独居",
    "老两口住": "空巢",
    "跟子女住": "与家人同住",
    "是": True,
    "不是": False,
    DONT_KNOW_ANSWER: DONT_KNOW,
}


@pytest.mark.parametrize("slot", sorted({*ANSWER_BUTTONS, "elig_street"}))
def test_every_answer_button_is_read_by_the_validator(slot):
    facts = {"elig_age": 85}
    for title in answer_buttons(slot):
        slots, said, _ = validate(tracker(facts, text=title, requested=slot))
        assert slots[slot] == EXPECTED.get(title, title), (slot, title, said)
        assert not any("没听清" in (s or "") for s in said)


def test_a_side_question_is_answered_and_the_same_question_comes_back():
    """Asked for the street, the caller asks about meals instead: the answer, then the street
    question again; the age already given is kept and no miss is counted."""
    asked = tracker({"elig_age": 83}, text="老年人助餐点是什么", requested="elig_street")
    asked.latest_message["intent_ranking"] = [
        {"name": "ask_policy", "confidence": 0.7},
        {"name": "inform", "confidence": 0.2},
    ]
    slots, said, _ = validate(asked)
    assert "助餐" in said[0] and said[1] == "utter_back_to_form"
    assert slots["elig_street"] is None and slots.get("elig_failures") == {}
    assert "elig_age" not in slots or slots["elig_age"] == 83
    # an answer the classifier does not read as a question is a miss, as before
    plain = tracker({"elig_age": 83}, text="蓝色的", requested="elig_street")
    slots, said, _ = validate(plain)
    assert slots["elig_failures"] == {"elig_street": 1} and "没听清" in said[0]
