"""Readings that dev_scripts6 (callers nobody tuned on) showed missing (issue 15): a status
named only as the program asked about, 八十好几 as an approximate age, 能照顾自己 as a
mobility answer, 太奶奶 as whom the check is for, and a result with nothing to get that says
why. New phrasings, not the scripts' sentences."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.eligibility import facts_said
from bot.eligibility import rules
from bot.eligibility.summary import main_obstacle, screen_summary, spoken_summary
from bot.text import facts
from tests.test_eligibility_actions import pinned_today, tracker, validate  # noqa: F401

DAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    "text",
    [
        "我爸七十九，住光华路，特困供养他可以申请吗",
        "五保供养我妈能不能办",
        "低保救助怎么申请，我奶奶八十二了",
        "特困认定我家老人行不行",
    ],
)
def test_a_status_named_only_as_the_program_asked_about_is_not_a_fact(text, pinned_today):  # noqa: F811
    assert "economic_status" not in facts_said(text)


@pytest.mark.parametrize(
    "text, status",
    [
        ("我爸是低保户，特困供养能不能办", "低保"),
        ("老人家是特困户，能享受什么", "特困"),
        ("她是特困供养人员，想问问有什么服务", "特困"),
        ("她吃低保的，能不能享受免费照料", "低保"),
    ],
)
def test_a_status_said_next_to_such_a_question_is_still_read(text, status, pinned_today):  # noqa: F811
    assert facts_said(text)["economic_status"] == status


@pytest.mark.parametrize("text, age", [("七十好几了", 70), ("她九十几岁", 90), ("八十好几", 80)])
def test_haoji_is_an_approximate_age(text, age):
    reading = facts.read_age(text, DAY)
    assert reading is not None and reading.age == age and reading.approximate


@pytest.mark.parametrize(
    "text", ["他能照顾好自己", "吃饭穿衣都能照顾自己", "不要人扶", "用不着别人照顾", "不需要人照顾"]
)
def test_looking_after_oneself_is_fully_able(text):
    assert facts.parse_care_level(text) == "能力完好"


@pytest.mark.parametrize("text", ["需要人照顾", "要人扶着", "得要人照顾"])
def test_needing_help_is_still_moderate(text):
    assert facts.parse_care_level(text) == "中度失能"


def test_an_answer_about_looking_after_oneself_is_taken(pinned_today):  # noqa: F811
    slots, _, _ = validate(tracker(text="她自己照顾得了自己", requested="elig_care_level"))
    assert slots["elig_care_level"] == "能力完好"


@pytest.mark.parametrize(
    "text, relation", [("我太姥姥九十八了", "太奶奶"), ("帮我太爷爷问问", "太爷爷"), ("我外婆住双塘", "奶奶")]
)
def test_great_grandparents_are_not_grandparents(text, relation):
    assert facts.parse_relation(text) == relation


def test_nothing_to_get_says_the_condition_that_keeps_most_out():
    results = rules.evaluate(
        {"age": 55, "street": "光华路", "economic_status": "普通", "care_level": "能力完好"}, on=DAY
    )
    assert not any(r.status == "eligible" for r in results)
    because = main_obstacle(results)
    assert because and "不满60周岁" in because
    spoken = spoken_summary(results, "您")
    assert "还没有能享受的项目" in spoken and because in spoken
    assert because in screen_summary(results, "您")[0]


def test_without_a_failed_condition_the_plain_sentence_stays():
    assert main_obstacle([]) is None
    assert "还没有能享受的项目" in spoken_summary([], "您")
