"""Readings that dev_scripts10 (callers nobody tuned on, a third time) showed missing: an
age with 以上 is the program's threshold, not the person's age; a spoken age split by the
phone line's recognition ("80 3岁") is one age; a self-correction of a money fact counts
the corrected words; a status said to have stopped is not the status; a question whether a
person "has" a program, or what a person can get at all, is a check; "怎么照顾老人" is not
a how-to-apply question; an opening read as information that tells a person's situation and
asks about it starts a check; a reason said for two thresholds of one fact is said once. New
phrasings, not the scripts' sentences."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.eligibility import (
    ActionEligibilityFromFacts,
    ActionEligibilityStart,
    facts_said,
    opens_a_check,
    read_choice,
    wants_check,
)
from bot.eligibility.focus import _one_per_fact
from bot.text import facts
from tests.test_eligibility_actions import DOMAIN, pinned_today, tracker, validate  # noqa: F401


# --- an age with 以上 is a threshold --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "九十岁以上的老人是不是有护理培训，我公公住瑞金路",
        "听说60岁以上都能去助餐点，我婆婆住红花",
        "80周岁及以上那个免费照料，我家老太太住五老村能不能有",
    ],
)
def test_a_threshold_is_not_the_persons_age(text, pinned_today):  # noqa: F811
    found = facts_said(text)
    assert "age" not in found
    assert "street" in found


def test_the_persons_age_is_still_read_beside_a_threshold(pinned_today):  # noqa: F811
    assert facts_said("80岁以上有免费照料吧，我妈今年86了")["age"] == 86


# --- a split spoken age --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, age",
    [("我父亲今年90 2岁 住双塘", 92), ("老伴 70 6岁了 住在朝天宫", 76), ("她七十 九岁 住红花", 79)],
)
def test_a_spoken_age_split_by_recognition_is_one_age(text, age, pinned_today):  # noqa: F811
    assert facts_said(text)["age"] == age


# --- self-corrections and stopped statuses -------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("我婆婆住大光路，特困，不对不对，是低保边缘", "低保边缘"),
        ("他九十了，住洪武路，以前是特困，说错了，是低保", "低保"),
    ],
)
def test_a_corrected_money_fact_counts(text, value, pinned_today):  # noqa: F811
    assert facts_said(text)["economic_status"] == value


@pytest.mark.parametrize(
    "text",
    ["我爸八十了，住秦虹，低保前两年取消了，现在有退休金", "家里低保早就不领了，现在靠退休金过日子"],
)
def test_a_stopped_status_is_not_the_status(text, pinned_today):  # noqa: F811
    assert facts_said(text).get("economic_status") == "普通"


@pytest.mark.parametrize(
    "answer, value",
    [
        ("原来吃低保，后来撤了，现在就是一般家庭", "普通"),
        ("低保边缘，哦不对，就是普通的", "普通"),
    ],
)
def test_the_money_question_reads_a_correction_and_a_stopped_status(answer, value, pinned_today):  # noqa: F811
    slots, _, _ = validate(tracker(text=answer, requested="elig_economic_status"))
    assert slots["elig_economic_status"] == value


def test_read_choice_without_a_correction_reads_the_whole_answer():
    assert read_choice(facts.parse_economic_status, "吃低保好多年了") == "低保"


def test_the_street_question_reads_a_correction(pinned_today):  # noqa: F811
    slots, _, _ = validate(tracker(text="住月牙湖，哦不，搬到光华路了", requested="elig_street"))
    assert slots["elig_street"] == "光华路"


# --- whether a person has a program, or what a person can get, is a check ------------------


@pytest.mark.parametrize(
    "text",
    [
        "我外公九十三了，住红花，家里人的护理培训是不是有免费的",
        "我婆婆八十四，住中华门，每个月那几个小时的免费照料她能不能有",
        "我舅舅中风以后一直躺着，他这种情况政府有没有什么帮扶",
        "我爸八十七了，一个人住，能享受点啥政策",
        "老伴腿脚不好，在家都要扶着走，想问问能得到哪些照顾",
    ],
)
def test_a_person_and_what_they_can_get_is_a_check(text, pinned_today):  # noqa: F811
    assert wants_check(text)


@pytest.mark.parametrize(
    "text",
    [
        "免费照料怎么申请，我妈八十五了住双塘",
        "老年食堂在哪里，我爸七十住五老村",
        "八十岁以上的老人有什么政策",  # nobody said: a policy question
        "家庭养老床位是什么意思",
    ],
)
def test_how_where_and_general_questions_stay_policy_questions(text, pinned_today):  # noqa: F811
    assert not wants_check(text)


@pytest.mark.parametrize(
    "text",
    [
        "我婆婆八十六了，住朝天宫，免费照料她能享受吗，要去哪里办",
        "我爸九十了住红花，我们家里人能不能参加护理培训，怎么报名",
    ],
)
def test_whether_and_how_together_is_a_check(text, pinned_today):  # noqa: F811
    assert wants_check(text)


def test_learning_how_to_care_is_not_a_how_to_apply_question(pinned_today):  # noqa: F811
    assert wants_check("我奶奶九十五了，住夫子庙，我们想学怎么照顾她，有没有免费的护理培训")


# --- the reason for one fact said once ------------------------------------------------------


def test_two_thresholds_of_one_fact_are_said_once():
    assert _one_per_fact(["年龄90周岁，满60周岁", "年龄90周岁，满80周岁", "身体状况：重度失能"]) == [
        "年龄90周岁，满80周岁",
        "身体状况：重度失能",
    ]


# --- an opening that tells a person's facts and asks about them --------------------------


@pytest.mark.parametrize(
    "text",
    [
        "替我婆婆咨询一下，她七十九，住大光路，老伴前年走了",
        "我来打听打听我姥爷的情况，九十四了，住洪武路",
        "我八十一了 住在瑞金路 一个人 想了解一下",
    ],
)
def test_an_opening_with_a_persons_facts_and_a_question_opens_a_check(text, pinned_today):  # noqa: F811
    assert opens_a_check(text)


@pytest.mark.parametrize(
    "text",
    [
        "我婆婆八十了，住秦虹，想约个上门助浴",  # a visit: the booking form's
        "我叫王秀英，住中华门",  # no age and nothing asked
        "九十岁",  # an age alone
        "住双塘，八十二岁，一个人住",  # nothing asked: not understood, as before
    ],
)
def test_other_openings_do_not(text, pinned_today):  # noqa: F811
    assert not opens_a_check(text)


def test_the_opening_action_starts_the_form_with_the_facts(pinned_today):  # noqa: F811
    dispatcher = CollectingDispatcher()
    t = tracker(text="帮我外公问一下，他八十八了，住红花，原来是低保，前年取消了，现在就是普通家庭")
    events = asyncio.run(ActionEligibilityFromFacts().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot" and e["value"] is not None}
    assert slots["elig_age"] == 88 and slots["elig_street"] == "红花"
    assert slots["elig_economic_status"] == "普通"
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "eligibility_form"}


def test_the_opening_action_says_not_understood_otherwise(pinned_today):  # noqa: F811
    # what action_misunderstood does: the first miss asks to rephrase and is counted
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionEligibilityFromFacts().run(dispatcher, tracker(text="八十二"), DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"
    assert {"event": "slot", "timestamp": None, "name": "misunderstood_count", "value": 1} in events


# --- the next person of the same household ---------------------------------------------------


def test_the_next_person_who_lives_there_too_keeps_the_street(pinned_today):  # noqa: F811
    dispatcher = CollectingDispatcher()
    t = tracker({"elig_street": "洪武路", "elig_age": 84}, text="那我老伴呢，七十九了，跟我住一起")
    events = asyncio.run(ActionEligibilityStart().run(dispatcher, t, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot" and e["value"] is not None}
    assert slots["elig_street"] == "洪武路" and slots["elig_age"] == 79


def test_the_next_person_elsewhere_is_asked_the_street(pinned_today):  # noqa: F811
    dispatcher = CollectingDispatcher()
    t = tracker({"elig_street": "洪武路"}, text="那我姑妈呢，她八十了")
    events = asyncio.run(ActionEligibilityStart().run(dispatcher, t, DOMAIN))
    assert not any(e["event"] == "slot" and e["name"] == "elig_street" and e["value"] for e in events)
