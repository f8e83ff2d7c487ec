"""The program a caller asked about comes first in the result (bot/eligibility/focus.py,
bot/eligibility/summary.py, actions/eligibility.py), and the form's ways out of a dead end.
Phrasings written for this file."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.eligibility import (
    SKIPPED_TEXT,
    ActionEligibilityStart,
    ActionEligibilitySummary,
    ValidateEligibilityForm,
    facts_said,
    opening_text,
)
from bot.eligibility import rules as eligibility
from bot.eligibility.focus import asked_programs, focus_sentence
from bot.eligibility.summary import screen_summary, spoken_summary
from bot.text.facts import DONT_KNOW

DOMAIN = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text())
DAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setenv("CLOCK_NOW", "2026-11-23")


# -- which program was asked about ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, program",
    [
        ("我外婆九十了，住朝天宫，每个月免费照料的那几个小时她有没有", "free_home_care_80plus"),
        ("长护险我老伴能不能用上，他瘫痪好几年了", "ltc_insurance"),
        ("我婆婆坐轮椅，家里吃低保，想问适老化改造能补吗", "age_friendly_modification"),
        ("我九十四了，住月牙湖，家庭养老床位我申请得了吗", "family_care_beds"),
        ("我七十一，住大光路，街道的助餐我能吃吗", "meal_aid"),
    ],
)
def test_the_program_in_the_question_is_the_one_asked_about(text, program):
    assert asked_programs(text)[0] == program


@pytest.mark.parametrize(
    "text",
    [
        "我爸八十二，住秦虹，他能享受哪些照顾",  # an age reads as 80岁 to the search: still no program
        "帮我舅舅查查有什么补助",
        "我一个人住，家里吃低保的，政府能给点啥",  # 一个人住 / 吃低保 are facts, not the question
        "",
        "/check_eligibility",
    ],
)
def test_a_general_check_asks_about_no_program(text):
    assert asked_programs(text) == []


def test_a_second_program_only_when_named_by_its_own_name():
    # "我能报名吗" after the carers' course is not a question about the elder university
    asked = asked_programs("我爷爷九十二了，我想免费学护理照顾他，能报名吗")
    assert asked == ["caregiver_training"]


# -- what is said about it -------------------------------------------------------------------


def results(**facts):
    return eligibility.evaluate(facts, on=DAY)


def test_eligible_says_yes_with_the_benefit_and_why():
    text = focus_sentence("free_home_care_80plus", results(age=90, street="朝天宫"), "您外婆")
    assert text.startswith("您问的高龄免费照料，您外婆可以享受")
    assert "3小时" in text and "90周岁" in text


def test_not_eligible_says_why_once_and_the_hint():
    facts = {"age": 79, "street": "中华门", "economic_status": "普通", "care_level": "能力完好"}
    text = focus_sentence("free_home_care_80plus", results(**facts), "您父亲")
    assert "您父亲现在还不能享受" in text and "不满80周岁" in text
    assert "年满80周岁后" in text  # the rule's hint
    # two parts of one rule are one reason: 普通 is none of the statuses, said once
    text = focus_sentence("age_friendly_modification", results(**{**facts, "age": 86}), "您父亲")
    assert text.count("经济状况") == 1 and "特困" in text and "低保" in text


def test_unknown_asks_the_community_to_decide():
    facts = {"age": 72, "street": "夫子庙", "economic_status": "低保", "care_level": "中度失能"}
    text = focus_sentence("age_friendly_modification", results(**facts, poverty_registered=DONT_KNOW))
    assert "建档立卡" in text and "请社区" in text


def test_a_program_without_rules_gets_the_cited_answer():
    text = focus_sentence("family_planning_special_families", results(age=83, street="秦虹"))
    assert text.startswith("您问的计划生育特殊家庭") and "依据" in text


def test_the_asked_program_leads_and_is_not_listed_again():
    facts = {"age": 73, "street": "双塘", "economic_status": "普通", "care_level": "能力完好"}
    res = results(**facts)
    text, listed = screen_summary(res, "您", ["meal_aid"])
    first, second = text.split("\n")[:2]
    assert first.startswith("您问的老年人助餐，您可以享受")
    assert second.startswith("另外，您还可以享受")
    assert "meal_aid" not in [r.program_id for r in listed]
    spoken = spoken_summary(res, "您", ["meal_aid"])
    assert spoken.startswith("您问的老年人助餐") and "另外，您还可以享受：一，" in spoken
    # without a program asked, the list is as before
    assert spoken_summary(res, "您").startswith("根据您说的情况")


def test_outside_the_district_answers_the_program_then_where_to_ask():
    text = spoken_summary(results(age=84, street="区外"), "您母亲", ["free_home_care_80plus"])
    assert text.startswith("您问的高龄免费照料") and "当地的12349" in text


# -- the actions --------------------------------------------------------------------------------


def form_tracker(slots: dict, events: list[dict], text: str = "", requested: str | None = None) -> Tracker:
    values = {name: None for name in DOMAIN["slots"]}
    values.update({"elig_who": "您", "elig_subject": "本人", "elig_failures": {}})
    values.update(slots)
    values["requested_slot"] = requested
    events = list(events)
    if requested:  # what the form's from_text mapping set from the answer
        values[requested] = text
        events.append({"event": "slot", "name": requested, "value": text})
    latest = {"text": text, "intent": {"name": "inform"}, "intent_ranking": []}
    loop = {"name": "eligibility_form"} if requested else {}
    return Tracker("t", values, latest, events, False, None, loop, "action_listen")


def test_the_summary_answers_the_program_of_the_first_sentence():
    opening = "想打听一下，我八十一了，住五老村，照护保险我用得上不，我瘫在床上"
    events = [
        {"event": "user", "text": opening},
        {"event": "action", "name": "action_eligibility_start"},
        {"event": "user", "text": "普通家庭"},
    ]
    facts = {
        "elig_age": 81,
        "elig_street": "五老村",
        "elig_care_level": "重度失能",
        "elig_economic_status": "普通",
        "elig_dementia": False,
        "elig_living_situation": "空巢",
        "elig_special_family": False,
    }
    t = form_tracker(facts, events)
    assert opening_text(t) == opening
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEligibilitySummary().run(dispatcher, t, DOMAIN))
    assert dispatcher.messages[0]["text"].startswith("您问的失能照护保险，您可以享受")


def test_a_status_asked_about_is_not_taken_as_said():
    assert "economic_status" not in facts_said("隔壁大爷七十九了，他这种情况能不能评上五保")
    assert facts_said("我爸吃低保，能不能算特困")["economic_status"] == "低保"
    assert facts_said("家里是特困户，能享受什么")["economic_status"] == "特困"


def validate(t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateEligibilityForm().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return slots, [m.get("text") or m.get("response") for m in dispatcher.messages]


def test_a_question_back_is_not_read_as_an_answer():
    """Asked about money, the caller asks where lunch is served, which has 一般 in it: the
    question is answered, no 普通 is recorded, and the money question comes back."""
    t = form_tracker(
        {"elig_age": 84, "elig_street": "洪武路"},
        [],
        text="等等，老人吃饭的助餐点一般设在哪儿？",
        requested="elig_economic_status",
    )
    t.latest_message["intent_ranking"] = [{"name": "ask_policy", "confidence": 0.9}]
    slots, said = validate(t)
    assert slots["elig_economic_status"] is None
    assert "助餐" in said[0] and said[1] == "utter_back_to_form"


def test_a_third_unusable_answer_skips_the_question():
    t = form_tracker(
        {
            "elig_age": 77,
            "elig_street": "双塘",
            "elig_economic_status": "普通",
            "elig_failures": {"elig_care_level": 2},
        },
        [],
        text="这个嘛，怎么说呢",
        requested="elig_care_level",
    )
    slots, said = validate(t)
    assert slots["elig_care_level"] == DONT_KNOW and said[0] == SKIPPED_TEXT
    assert slots["requested_slot"] != "elig_care_level"


def test_another_offices_matter_is_referred_not_checked():
    t = form_tracker({}, [], text="我表弟欠了我两万块钱一直不还，我能不能去告他")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionEligibilityStart().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["elig_handoff"] is True  # the form ends without a question
    assert "12348" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    "text, slot",
    [
        ("说不好，从没听他讲过吃低保的事", "elig_economic_status"),
        ("不知道她是不是那种计划生育的家庭", "elig_special_family"),
    ],
)
def test_a_value_named_only_as_unheard_of_is_unknown(text, slot):
    t = form_tracker({"elig_age": 80, "elig_street": "红花"}, [], text=text, requested=slot)
    slots, said = validate(t)
    assert slots[slot] == DONT_KNOW and "跳过" in said[0]


def test_the_category_says_why_the_tier():
    facts = {"age": 83, "street": "秦虹", "economic_status": "普通", "care_level": "能力完好"}
    spoken = spoken_summary(results(**facts, special_family=True, dementia=False), "您")
    assert "您属于基本养老服务的特惠对象（是计划生育特殊家庭）" in spoken
    asked = focus_sentence("basic_service_objects", results(age=101, street="红花"), "您姥姥")
    assert asked == "您问的基本养老服务对象：您姥姥属于基本养老服务的特惠对象（年龄101周岁，满100周岁）。"


def test_a_check_about_one_program_asks_only_what_decides_it():
    """Free care needs the age and the street: with both said up front nothing is asked,
    where a general check would still ask about money, health and more."""
    opening = "我姨妈八十九了，住瑞金路，每个月的免费照料她有份吗"
    events = [{"event": "user", "text": opening}, {"event": "action", "name": "action_eligibility_start"}]
    t = form_tracker({"elig_age": 89, "elig_street": "瑞金路"}, events)
    dispatcher = CollectingDispatcher()
    asked = asyncio.run(ValidateEligibilityForm().required_slots([], dispatcher, t, DOMAIN))
    assert asked == ["elig_subject"]
    general = form_tracker({"elig_age": 89, "elig_street": "瑞金路"}, [])
    more = asyncio.run(ValidateEligibilityForm().required_slots([], dispatcher, general, DOMAIN))
    assert "elig_economic_status" in more
    # the care insurance turns on the body only
    opening = "我爸七十七，住双塘，长护险他够不够格"
    events[0]["text"] = opening
    t = form_tracker({"elig_age": 77, "elig_street": "双塘"}, events)
    assert asyncio.run(ValidateEligibilityForm().required_slots([], dispatcher, t, DOMAIN)) == [
        "elig_subject",
        "elig_care_level",
    ]


def test_an_unknown_street_decides_nothing_rather_than_nothing_to_get():
    spoken = spoken_summary(results(age=84, street=DONT_KNOW, economic_status="普通"), "您")
    assert "还定不下来您能享受哪些项目" in spoken and "还没有能享受" not in spoken
    assert "要等情况确认" in spoken
