"""Dialogue fixes found with benchmarks/data/dev_scripts2.yaml (issue 15): a question about
the question ("问我年纪干什么？") is answered with the reason and the form goes on; a caller
who does not know the elder's name or ID is told why it is needed and offered a person,
never asked the same thing again; a repeat says a question once. Validators and actions on
rasa-sdk trackers (no servers)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import (
    ValidateBookServiceForm,
    ValidateCancelBookingForm,
    ValidateQueryBookingForm,
    ValidateRescheduleBookingForm,
)
from actions.core import ActionRepeat
from bot.booking import text as bt
from bot.text.facts import is_why_question
from tests.test_booking_actions import run, tracker, zhang_known
from tests.test_eligibility_actions import DOMAIN, validate
from tests.test_eligibility_actions import tracker as elig_tracker


@pytest.mark.parametrize(
    "text, why",
    [
        ("问我年纪干什么？", True),
        ("为什么要问这个", True),
        ("你问这些有什么用", True),
        ("为什么要身份证", True),
        ("要验证码干嘛", True),
        ("我想问问能领什么", False),
        ("为什么我没有高龄补贴", False),
        ("八十二了", False),
        ("问你个事", False),
    ],
)
def test_why_question(text, why):
    assert is_why_question(text) is why


def test_eligibility_why_asked_gets_the_reason_and_the_question_again():
    slots, said, _ = validate(elig_tracker(text="问我年纪干什么？", requested="elig_age"))
    assert said == ["utter_why_eligibility_questions"]
    assert slots["elig_age"] is None and slots["requested_slot"] == "elig_age"
    assert slots["elig_failures"] == {}  # no miss counted: the next answer is read as usual
    slots, said, _ = validate(elig_tracker(text="那好，我81", requested="elig_age"))
    assert slots["elig_age"] == 81


def test_booking_why_the_id_is_asked():
    known = {"booking_person_name": "张桂兰", "booking_failures": 0}
    messages, slots = run(
        ValidateCancelBookingForm(),
        tracker("为什么要身份证？", known, form="cancel_booking_form", requested="booking_id_last4"),
    )
    assert [m.get("response") for m in messages] == ["utter_why_identity_check"]
    assert slots["requested_slot"] == "booking_id_last4" and slots["booking_failures"] == 0
    assert "booking_person_name" not in slots  # the name said before is kept


def test_not_knowing_the_id_digits_is_offered_her_phone_or_a_person(db_url):
    messages, slots = run(
        ValidateQueryBookingForm(),
        tracker(
            "她身份证我不清楚",
            {"booking_person_name": "王秀英"},
            form="query_booking_form",
            requested="booking_id_last4",
        ),
    )
    [offer] = messages
    assert "手机" in offer["text"] and any(b["payload"] == "/request_human" for b in offer["buttons"])
    assert slots["requested_slot"] == "booking_id_last4" and slots.get("booking_aborted") is None
    assert slots.get("booking_elder_id") is None


def test_not_knowing_the_name_is_told_why_and_offered_a_person(db_url):
    messages, slots = run(
        ValidateQueryBookingForm(),
        tracker("我不知道名字", {}, form="query_booking_form", requested="booking_person_name"),
    )
    assert [m.get("response") for m in messages] == ["utter_identity_unknown"]
    assert any(b["payload"] == "/request_human" for b in messages[0]["buttons"])
    assert slots["booking_aborted"] == "identity" and slots["requested_slot"] is None
    assert slots.get("booking_elder_id") is None


def test_a_name_with_the_digits_is_still_checked_whatever_else_is_said(db_url):
    messages, slots = run(
        ValidateQueryBookingForm(),
        tracker("张桂兰，0027，别的我不清楚", {}, form="query_booking_form", requested="booking_person_name"),
    )
    assert slots["booking_person_name"] == "张桂兰" and slots.get("booking_aborted") is None
    assert slots["booking_candidate"] == "1"  # the code is sent to her mobile


def _repeat(text: str, bot_texts: list[str], loop: str | None = None, requested=None):
    events = [{"event": "user", "text": "开始"}]
    events += [{"event": "bot", "text": t, "data": {}} for t in bot_texts]
    events += [{"event": "user", "text": text}]
    t = Tracker(
        "s",
        {"requested_slot": requested},
        {"text": text, "intent": {"name": "repeat"}},
        events,
        False,
        None,
        {"name": loop} if loop else {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionRepeat().run(dispatcher, t, DOMAIN))
    return dispatcher.messages


def test_repeat_says_a_question_once():
    said = _repeat("再说一遍", ["好的，我帮您查查。", "请问您今年多大岁数了？", "请问您今年多大岁数了？"])
    assert [m["text"] for m in said] == ["好的，我帮您查查。", "请问您今年多大岁数了？"]


def test_repeat_intent_that_asks_why_gets_the_reason_in_a_form():
    said = _repeat(
        "问我年纪干什么？", ["请问您今年多大岁数了？"], loop="eligibility_form", requested="elig_age"
    )
    assert [m.get("response") for m in said] == ["utter_why_eligibility_questions"]
    # a booking form explains only its questions about who is calling
    said = _repeat("问这个干什么", ["您想约哪一天？"], loop="book_service_form", requested="booking_time")
    assert [m["text"] for m in said] == ["您想约哪一天？"]


@pytest.mark.parametrize(
    "text, referral",
    [
        ("我想挂鼓楼医院的专家号，能帮我挂吗", "hospital_registration"),
        ("帮我约一下补办社保卡", "pension"),
    ],
)
def test_a_booking_request_for_another_office_gets_the_referral(db_url, text, referral):
    messages, slots = run(ValidateBookServiceForm(), tracker(text, {}))
    assert [m["custom"].get("referral") for m in messages] == [referral]
    assert slots["booking_aborted"] == "question" and slots["requested_slot"] is None


@pytest.mark.parametrize(
    "text", ["帮我约个陪诊，去医院挂号", "约个人陪我去医院挂个专家号", "找个人带我去医院挂号"]
)
def test_our_escort_asked_for_is_booked(db_url, text):
    messages, slots = run(ValidateBookServiceForm(), tracker(text, {}))
    assert slots.get("booking_aborted") is None
    assert slots["booking_service"] == "助医陪诊" and slots["requested_slot"] is not None


def test_a_day_said_with_a_time_outside_the_hours_is_kept(db_url):
    # 大后天中午 on Monday the 23rd: no visits at noon; the 26th is kept for the half day
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker(
            "我想订个送饭上门，大后天中午能送吗", {}, metadata={"phone": "13800000001", "channel": "voice"}
        ),
    )
    from bot.text.timeparse import SERVICE_HOURS_TEXT

    assert messages[-1]["text"] == f"中午没有上门服务。{SERVICE_HOURS_TEXT}。"
    assert not slots.get("booking_question_asked")  # the form's own question follows
    assert slots["booking_day_said"] == "2026-11-26" and slots["requested_slot"] == "booking_time"
    known = zhang_known(service="助餐", booking_day_said="2026-11-26")
    _, slots = run(ValidateBookServiceForm(), tracker("上午", known, requested="booking_time"))
    assert slots["booking_time"].startswith("2026-11-26T08") and slots["booking_day_said"] is None


def test_day_named():
    from bot.text.timeparse import day_named

    monday = dt.date(2026, 11, 23)
    assert day_named("大后天中午", monday) == dt.date(2026, 11, 26)
    assert day_named("礼拜三晚上，不对，礼拜四晚上", monday) == dt.date(2026, 11, 26)
    assert day_named("中午", monday) is None


@pytest.mark.parametrize(
    "text, wait",
    [
        ("等一下，有人敲门", True),
        ("你等等，我去抽屉里拿", True),
        ("稍等", True),
        ("等一下，0015", False),
        ("等等，后天上午", False),
        ("我回来了，改到下周一", False),
        ("下午", False),
        ("等一下午", False),
        ("稍等，下午吧", False),
        ("等一下，洗澡", False),
        ("等会儿下午来", False),
    ],
)
def test_asks_to_wait(text, wait):
    assert bt.asks_to_wait(text) is wait


def test_a_wait_inside_the_booking_form_keeps_the_question_without_a_miss():
    known = {"booking_person_name": "李建国", "booking_failures": 1}
    messages, slots = run(
        ValidateRescheduleBookingForm(),
        tracker(
            "身份证啊，你等等，我去抽屉里拿",
            known,
            form="reschedule_booking_form",
            requested="booking_id_last4",
        ),
    )
    assert [m.get("response") for m in messages] == ["utter_take_your_time"]
    assert slots["requested_slot"] == "booking_id_last4" and slots["booking_failures"] == 1
    assert slots["booking_question_asked"] is True  # not asked again right after "慢慢来"


def test_a_wait_inside_the_eligibility_form_is_no_miss():
    slots, said, _ = validate(elig_tracker(text="等一下，我找找户口本", requested="elig_street"))
    assert said == ["utter_take_your_time"]
    assert slots["elig_street"] is None and slots["elig_failures"] == {}


@pytest.mark.parametrize(
    "text, special",
    [
        ("独生子前几年没了", True),
        ("独生女去世了", True),
        ("唯一的儿子病故了", True),
        ("独生子在上海工作", None),
        ("独生子女都挺好", None),
        ("不是失独", False),
    ],
)
def test_lost_only_child_said_in_own_words(text, special):
    from bot.text.facts import parse_special_family

    assert parse_special_family(text) is special


def test_lost_only_child_in_the_opening_is_kept():
    from actions.eligibility import facts_said

    found = facts_said("我是44年生的，独生子前几年没了，国家对我们这种有没有什么照顾")
    assert found["special_family"] is True


def test_a_long_answer_with_not_knowing_in_it_is_asked_again_not_ended(db_url):
    # "名字怎么写我不清楚，叫张什么兰来着": the old path (asked again) rather than ending
    messages, slots = run(
        ValidateQueryBookingForm(),
        tracker(
            "名字怎么写我不清楚，叫张什么兰来着的",
            {},
            form="query_booking_form",
            requested="booking_person_name",
        ),
    )
    assert slots.get("booking_aborted") is None and slots["requested_slot"] == "booking_person_name"
