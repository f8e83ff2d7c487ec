"""Review fixes to the dev_scripts10 readings: a question about opening hours, the office's
services or a visit is no check; a negated stop keeps the status; a reason's lower and
upper bounds both stay; the next person keeps the last street only when she lives with that
person; an opening not understood is answered as action_misunderstood answers."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.eligibility import (
    ActionEligibilityFromFacts,
    ActionEligibilityStart,
    read_choice,
    same_home,
    wants_check,
    without_stopped_status,
)
from bot.eligibility.focus import _one_per_fact
from bot.text import facts
from tests.test_eligibility_actions import DOMAIN, pinned_today, tracker  # noqa: F401


# --- 1. what is a check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "我爸八十五住红花，助餐点有没有开门",
        "我妈想知道你们都有哪些服务",
        "我爸在家，他有什么服务可以预约",
        "我妈八十了住双塘，能不能有人帮忙预约一下助餐",
        "我公公八十八住红花，老年食堂有没有人排队",  # 有没有 with no benefit
        "我姑妈想问你们有什么服务",  # the office's services
        "我奶奶九十住五老村，能不能派个人来看看",  # a visit
    ],
)
def test_hours_services_and_visits_are_no_check(text, pinned_today):  # noqa: F811
    assert not wants_check(text)


@pytest.mark.parametrize(
    "text",
    [
        "我爷爷九十住双塘，有没有高龄补贴可以领",
        "我外婆八十九，住朝天宫，免费照料是不是有她的份",
    ],
)
def test_whether_a_person_has_a_benefit_is_still_a_check(text, pinned_today):  # noqa: F811
    assert wants_check(text)


# --- 2. a status not stopped ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "低保没有取消，还在吃",
        "原来吃低保，现在还没有了解清楚",
        "特困供养没停，一直在领",
        "五保户还未撤，他八十了",
    ],
)
def test_a_negated_stop_keeps_the_status(text):
    assert without_stopped_status(text) == text


def test_a_stop_is_still_read():
    assert without_stopped_status("低保去年就停了，现在就是普通家庭") == "，现在就是普通家庭"
    assert without_stopped_status("原来吃低保，现在没有了") == "原来吃"
    assert without_stopped_status("低保被取消了") == ""


def test_the_form_answer_keeps_a_status_not_stopped():
    assert read_choice(facts.parse_economic_status, "低保没有取消，还在吃") == "低保"


# --- 4. lower and upper bounds of one fact ---------------------------------------------------


def test_a_lower_and_an_upper_bound_both_stay():
    texts = ["年龄62周岁，满60周岁", "年龄62周岁，不满65周岁"]
    assert _one_per_fact(texts) == texts


def test_of_two_upper_bounds_the_lower_stays():
    assert _one_per_fact(["年龄62周岁，不满70周岁", "年龄62周岁，不满65周岁"]) == ["年龄62周岁，不满65周岁"]
    assert _one_per_fact(["年龄58周岁，不满60周岁", "年龄58周岁，不满80周岁"]) == ["年龄58周岁，不满60周岁"]


def test_of_two_lower_bounds_the_higher_stays():
    assert _one_per_fact(["年龄82周岁，满80周岁", "年龄82周岁，满60周岁"]) == ["年龄82周岁，满80周岁"]


# --- 3. the next person of the same household -------------------------------------------------


@pytest.mark.parametrize(
    "text, previous",
    [
        ("那我爸呢，他也住院了", "母亲"),  # 也住院 is no home
        ("她跟我们住一起", "母亲"),  # with the caller, not with the mother
        ("那我姑姑呢，跟我住一起", "父亲"),
        ("那我妈呢，跟我爸住一起", "本人"),
    ],
)
def test_living_elsewhere_or_with_someone_else_is_not_the_same_home(text, previous):
    assert not same_home(text, previous)


@pytest.mark.parametrize(
    "text, previous",
    [
        ("那我妈呢，也住那儿", "父亲"),
        ("那我老伴呢，七十九了，跟我住一起", "本人"),
        ("那我妈呢，跟我爸住一起", "父亲"),
        ("那我爸呢，和她一起住", "母亲"),
        ("我婶婶也是同一个小区的", "叔叔"),
    ],
)
def test_living_with_the_last_person_is_the_same_home(text, previous):
    assert same_home(text, previous)


def test_the_next_person_in_hospital_is_asked_the_street(pinned_today):  # noqa: F811
    dispatcher = CollectingDispatcher()
    t = tracker({"elig_street": "洪武路", "elig_subject": "母亲"}, text="那我爸呢，他也住院了，八十二")
    events = asyncio.run(ActionEligibilityStart().run(dispatcher, t, DOMAIN))
    assert not any(e["event"] == "slot" and e["name"] == "elig_street" and e["value"] for e in events)


# --- 5. an opening not understood --------------------------------------------------------------


def test_an_opening_not_understood_gets_the_referral_or_the_sure_answer(pinned_today):  # noqa: F811
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEligibilityFromFacts().run(dispatcher, tracker(text="医保卡丢了"), DOMAIN))
    assert "12393" in dispatcher.messages[0]["text"]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionEligibilityFromFacts().run(dispatcher, tracker(text="九十岁"), DOMAIN))
    assert {"event": "slot", "timestamp": None, "name": "misunderstood_count", "value": 0} in events
    assert dispatcher.messages[0]["response"] != "utter_default"
