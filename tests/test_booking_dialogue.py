"""Booking dialogue that follows how people talk (issue 15): self-corrections, details given
up front, "不对" at a read-back. Parsing as pure functions; the form validators with rasa-sdk
trackers and CollectingDispatcher (no servers), as in tests/test_booking_actions.py."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import (
    Turn,
    ValidateBookServiceForm,
    ValidateCancelBookingForm,
    ValidateRescheduleBookingForm,
)
from bot import clock
from bot.booking import ledger as booking
from bot.booking import text as bt
from bot.text.timeparse import after_correction, parse_time
from tests.test_booking_actions import run, texts, tracker, zhang_known

MONDAY = dt.date(2026, 11, 23)


# ----- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, day, part",
    [
        ("周三，哦不对，周四下午", dt.date(2026, 11, 26), "下午"),
        ("礼拜二上午，不对不对，礼拜三上午", dt.date(2026, 11, 25), "上午"),
        # the correction names only the half day: the day said before it stays
        ("下周五上午九点，哦，说错了，下午三点", dt.date(2026, 12, 4), "下午"),
        ("改到周五，哦不，下周一上午", dt.date(2026, 11, 30), "上午"),
        ("十二月一号，错了，十二月二号", dt.date(2026, 12, 2), None),
        # a correction without a time in it leaves the time said before
        ("后天上午，不对，是洗澡", dt.date(2026, 11, 25), "上午"),
    ],
)
def test_a_self_correction_wins(text, day, part):
    got = parse_time(text, today=MONDAY)
    assert (got.day, got.part) == (day, part)


def test_a_half_day_alone_keeps_the_day_it_corrects():
    got = parse_time("不对，要下午", today=MONDAY, day_if_missing=dt.date(2026, 11, 27))
    assert (got.day, got.part) == (dt.date(2026, 11, 27), "下午")
    # without a day to keep, a half day alone is today's (as before)
    assert parse_time("下午", today=MONDAY).day == MONDAY


@pytest.mark.parametrize(
    "text, tail",
    [
        ("约个理发，不对不对，是洗澡", "是洗澡"),
        ("没有改口", "没有改口"),
        ("周三不对", "周三不对"),  # nothing after the correction: the whole text
    ],
)
def test_after_correction(text, tail):
    assert after_correction(text) == tail


@pytest.mark.parametrize(
    "text, service",
    [
        ("给我家老李约个理发，不对不对，是洗澡，下周三上午", "助浴"),
        ("约个洗澡，哦不，打扫卫生", "助洁"),
        ("约个理发，不对，下午", "上门理发"),  # the correction is about the time
        ("想叫人来帮我收拾收拾屋子", "助洁"),
        # a service said to be kept is not the one asked about
        ("打扫的那个不要了，洗澡的留着啊", "助洁"),
        ("不对，取消打扫的，洗澡的留着", "助洁"),
        ("洗澡那个改到下周四，打扫的不动", "助浴"),
        ("洗澡的留着", "助浴"),  # nothing else named: still the service said
    ],
)
def test_service_self_correction(text, service):
    assert bt.service_from_text(text) == service


@pytest.mark.parametrize(
    "text, name",
    [
        ("你好，我是张桂兰的女儿，想给我妈约个上门洗澡", "张桂兰"),
        ("我叫陈志明，想订明天的送餐上门", "陈志明"),
        ("帮我奶奶王秀英约个上门理发", "王秀英"),
        ("我爸陈志明想预约个上门服务", "陈志明"),
        ("我是她女儿，想约个洗澡", None),
        ("我想约个陪诊", None),
        ("我是老人的儿子", None),
    ],
)
def test_a_name_said_up_front(text, name):
    assert bt.name_said_upfront(text) == name


@pytest.mark.parametrize(
    "text, last4",
    [
        ("她身份证后四位是0027", "0027"),
        ("身份证最后四位零零一五，查一下", "0015"),
        ("明天上午2027号楼", None),  # digits without a cue are not an ID
    ],
)
def test_id_last4_said_up_front(text, last4):
    assert bt.id_last4_said_upfront(text) == last4


# ----- the forms --------------------------------------------------------------------------


def _at(days: int, hour: int) -> str:
    return dt.datetime.combine(clock.today() + dt.timedelta(days=days), dt.time(hour)).isoformat()


def test_name_and_id_digits_said_up_front_go_straight_to_the_code(db_url):
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker("我是张桂兰的女儿，想给我妈约个上门洗澡，后天上午，她身份证后四位是0027", {}),
    )
    assert slots["booking_service"] == "助浴" and slots["booking_person_name"] == "张桂兰"
    assert slots["booking_candidate"] == "1" and slots["requested_slot"] == "booking_code"
    assert "验证码" in texts(messages)
    assert slots["booking_request"].startswith("我是张桂兰的女儿")


def test_wrong_id_digits_up_front_are_not_trusted(db_url):
    messages, slots = run(
        ValidateBookServiceForm(), tracker("我是张桂兰的女儿，想约个洗澡，身份证后四位是1234", {})
    )
    assert slots.get("booking_candidate") is None and slots.get("booking_elder_id") is None
    assert "对不上" in texts(messages) and "文昌巷" not in texts(messages)


def test_the_time_said_with_the_request_is_used_once_she_is_known(db_url):
    known = zhang_known(booking_request="后天上午，哦不对，大后天下午给我妈约个洗澡")
    form = ValidateBookServiceForm()
    turn = Turn(
        CollectingDispatcher(), tracker("123456", known, requested="booking_code"), "book_service_form", known
    )
    assert form.next_slot(turn) == "booking_address_ok"
    assert turn.updates["booking_time"] == _at(3, 13)
    assert turn.updates["booking_request"] is None  # read once


def test_no_time_in_the_request_asks_for_it(db_url):
    known = zhang_known(booking_request="约个洗澡")
    turn = Turn(
        CollectingDispatcher(), tracker("123456", known, requested="booking_code"), "book_service_form", known
    )
    assert ValidateBookServiceForm().next_slot(turn) == "booking_time"
    assert "booking_time" not in turn.updates


def _read_back(**extra) -> dict:
    return zhang_known(booking_address_ok=True, booking_time=_at(3, 8), **extra)


def test_no_with_a_correction_at_the_read_back_changes_that_part(db_url):
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker("不对，要下午", _read_back(), requested="booking_confirm", intent="deny"),
    )
    assert slots["booking_time"] == _at(3, 13)  # the same day, the afternoon
    assert slots["booking_confirm"] is None and slots["requested_slot"] == "booking_confirm"
    assert "下午1点到5点" in slots["booking_summary"]


def test_a_bare_no_at_the_read_back_asks_which_part(db_url):
    messages, slots = run(
        ValidateBookServiceForm(), tracker("不对", _read_back(), requested="booking_confirm", intent="deny")
    )
    assert "哪里不对" in texts(messages)
    assert slots["booking_confirm"] is None and slots["requested_slot"] == "booking_confirm"
    assert "booking_time" not in slots and "booking_service" not in slots  # nothing thrown away
    # the answer to "哪里不对" is the correction
    messages, slots = run(
        ValidateBookServiceForm(),
        tracker("地址不对", _read_back(), requested="booking_confirm", intent="inform"),
    )
    assert slots["booking_address"] is None and slots["requested_slot"] == "booking_address"


def test_another_service_at_the_read_back_keeps_the_time(db_url):
    _, slots = run(
        ValidateBookServiceForm(),
        tracker("不对，是打扫卫生", _read_back(), requested="booking_confirm", intent="deny"),
    )
    assert slots["booking_service"] == "助洁" and slots["booking_time"] == _at(3, 8)
    assert "助洁" in slots["booking_summary"]


def test_not_wanted_at_the_read_back_still_ends_without_writing(db_url):
    _, slots = run(
        ValidateBookServiceForm(), tracker("不要了", _read_back(), requested="booking_confirm", intent="deny")
    )
    assert slots["booking_confirm"] is False


def _two_bookings() -> tuple[booking.BookingResult, booking.BookingResult]:
    bath = booking.book(1, "bath", dt.datetime.fromisoformat(_at(2, 8)), "web", "unit:two:1")
    clean = booking.book(1, "cleaning", dt.datetime.fromisoformat(_at(4, 13)), "web", "unit:two:2")
    return bath, clean


def _on_her_phone(form, form_name: str, text: str) -> dict:
    """The slots `form` sets when `text` starts it on the phone from 张桂兰's number."""
    _, slots = run(
        form, tracker(text, {}, form=form_name, metadata={"phone": "13800000001", "channel": "voice"})
    )
    return slots


def test_cancel_no_names_the_other_booking(db_url):
    bath, clean = _two_bookings()
    known = {"booking_elder_id": "1", "booking_person_name": "张桂兰", "booking_reference": bath.reference}
    _, slots = run(
        ValidateCancelBookingForm(),
        tracker(
            "不对，是打扫那个", known, form="cancel_booking_form", requested="booking_confirm", intent="deny"
        ),
    )
    assert slots["booking_reference"] == clean.reference
    assert slots["requested_slot"] == "booking_confirm" and "助洁" in slots["booking_summary"]


def test_cancel_request_keeping_the_other_booking_names_the_one_to_cancel(db_url):
    _bath, clean = _two_bookings()
    known = {"booking_elder_id": "1", "booking_person_name": "张桂兰"}
    _, slots = run(
        ValidateCancelBookingForm(),
        tracker("打扫的那个不要了，洗澡的留着啊", known, form="cancel_booking_form"),
    )
    assert slots["booking_reference"] == clean.reference
    assert slots["requested_slot"] == "booking_confirm" and "助洁" in slots["booking_summary"]


def test_reschedule_request_names_the_booking_and_the_new_time(db_url):
    bath, _clean = _two_bookings()
    slots = _on_her_phone(
        ValidateRescheduleBookingForm(), "reschedule_booking_form", "后天那个洗澡能不能改到大后天下午"
    )
    assert slots["booking_reference"] == bath.reference
    assert slots["booking_time"] == _at(3, 13)
    assert slots["requested_slot"] == "booking_confirm"


@pytest.mark.parametrize("text", ["洗澡那个日子不变，上午改成下午", "洗澡的那个改到下午吧"])
def test_reschedule_to_a_half_day_alone_keeps_the_bookings_day(db_url, text):
    bath, _clean = _two_bookings()
    slots = _on_her_phone(ValidateRescheduleBookingForm(), "reschedule_booking_form", text)
    assert slots["booking_reference"] == bath.reference
    assert slots["booking_time"] == _at(2, 13)  # that day's afternoon, not today's
    assert slots["requested_slot"] == "booking_confirm"


def test_reschedule_day_before_the_change_is_not_the_new_time(db_url):
    _bath, clean = _two_bookings()
    day = clock.today() + dt.timedelta(days=4)
    slots = _on_her_phone(
        ValidateRescheduleBookingForm(),
        "reschedule_booking_form",
        f"{day.month}月{day.day}号约的打扫想换个日子",
    )
    assert slots["booking_reference"] == clean.reference
    assert slots.get("booking_time") is None and slots["requested_slot"] == "booking_time"


def test_reschedule_no_with_a_new_time_at_the_read_back(db_url):
    bath, _clean = _two_bookings()
    known = {
        "booking_elder_id": "1",
        "booking_person_name": "张桂兰",
        "booking_reference": bath.reference,
        "booking_service": "助浴",
        "booking_time": _at(3, 8),
    }
    _, slots = run(
        ValidateRescheduleBookingForm(),
        tracker(
            "不对，要下午", known, form="reschedule_booking_form", requested="booking_confirm", intent="deny"
        ),
    )
    assert slots["booking_time"] == _at(3, 13) and slots["booking_confirm"] is None
    assert slots["requested_slot"] == "booking_confirm" and "下午" in slots["booking_summary"]


def test_a_price_question_inside_the_form_is_answered_and_the_form_resumes(db_url):
    known = zhang_known(booking_failures=0)
    messages, slots = run(
        ValidateBookServiceForm(), tracker("这个要多少钱啊", known, requested="booking_time")
    )
    said = texts(messages)
    assert "元" in said  # the price list's answer
    assert any(m.get("response") == "utter_back_to_form" for m in messages)
    assert slots["requested_slot"] == "booking_time" and slots["booking_failures"] == 0
    assert slots["booking_question_asked"] is None  # the time is asked again
    assert "booking_service" not in slots and "booking_elder_id" not in slots  # all kept


@pytest.mark.parametrize(
    "text, name",
    [
        ("我要取消，身份证后四位0027，张桂兰", "张桂兰"),
        ("张桂兰，尾号零零二七，我想把洗澡改一天", "张桂兰"),
        ("麻烦把李建国的预约撤掉", "李建国"),
        ("取消，身份证后四位0027", None),
        ("好的，尾号0027", None),
        ("把我妈的预约取消", None),
    ],
)
def test_a_name_next_to_the_id_digits(text, name):
    assert bt.name_said_upfront(text) == name


def test_cancel_request_with_name_and_digits_goes_straight_to_the_code(db_url):
    messages, slots = run(
        ValidateCancelBookingForm(),
        tracker("我要取消，身份证后四位0027，张桂兰", {}, form="cancel_booking_form"),
    )
    assert slots["booking_candidate"] == "1" and slots["requested_slot"] == "booking_code"
    assert "验证码" in texts(messages)


@pytest.mark.parametrize(
    "text, first_days",
    [
        ("越快越好", 1),
        ("哪天都行，你们安排", 1),
    ],
)
def test_no_day_named_offers_the_nearest_free_times(db_url, text, first_days):
    known = zhang_known(booking_failures=0)
    messages, slots = run(ValidateBookServiceForm(), tracker(text, known, requested="booking_time"))
    offered = slots["booking_time_options"]
    assert 1 <= len(offered) <= 3 and "最近有空的时间是" in texts(messages)
    first = dt.datetime.combine(clock.today() + dt.timedelta(days=first_days), dt.time(8))
    assert all(dt.datetime.fromisoformat(o) >= first for o in offered)
    assert slots["requested_slot"] == "booking_time" and slots["booking_failures"] == 0
    known["booking_time_options"] = offered
    _, slots = run(ValidateBookServiceForm(), tracker("第二个", known, requested="booking_time"))
    assert slots["booking_time"] == offered[1]


def test_next_week_without_a_weekday_offers_from_next_monday(db_url):
    known = zhang_known()
    _, slots = run(ValidateBookServiceForm(), tracker("下礼拜吧", known, requested="booking_time"))
    monday = clock.today() + dt.timedelta(days=7 - clock.today().weekday())
    assert dt.datetime.fromisoformat(slots["booking_time_options"][0]).date() >= monday


def test_a_time_still_not_understood_is_asked_again(db_url):
    known = zhang_known(booking_failures=0)
    messages, slots = run(ValidateBookServiceForm(), tracker("嗯嗯那个", known, requested="booking_time"))
    assert "没听清" in texts(messages) and slots["booking_failures"] == 1


def test_a_date_starting_with_1_is_not_read_as_the_first_booking(db_url):
    _two_bookings()
    day = clock.today() + dt.timedelta(days=9)
    slots = _on_her_phone(
        ValidateCancelBookingForm(), "cancel_booking_form", f"{day.month}月{day.day}号的取消"
    )
    assert slots.get("booking_reference") is None
    assert slots["requested_slot"] == "booking_reference"


def test_the_service_in_the_request_names_one_of_two_bookings(db_url):
    _bath, clean = _two_bookings()
    slots = _on_her_phone(ValidateCancelBookingForm(), "cancel_booking_form", "打扫那个不要了")
    assert slots["booking_reference"] == clean.reference
    assert slots["requested_slot"] == "booking_confirm"


# ----- the cancel read-back answered with the wish (issue 15, dev scripts 2) -------------


@pytest.mark.parametrize(
    "text, verdict",
    [
        ("对，不要了", True),
        ("嗯，不用来了", True),
        ("退掉吧", True),
        ("是的，取消", True),
        ("别取消", False),
        ("先不取消了", False),
        ("还是要的", False),
        ("不对", False),
        ("对", None),
        ("不确定", None),
        ("我不知道", None),
    ],
)
def test_cancel_confirmation(text, verdict):
    assert bt.cancel_confirmation(text) is verdict


@pytest.mark.parametrize(
    "text, answer",
    [
        ("确定", True),
        ("我确定", True),
        ("不确定", None),
        ("确定不了", None),
        ("不知道对不对", None),
    ],
)
def test_sure_and_unsure_at_a_read_back(text, answer):
    assert bt.yes_no(text, None) is answer
    assert bt.yes_no(text, "affirm") is answer


@pytest.mark.parametrize(
    "text, intent, confirmed",
    [
        ("对，不要了", "deny", True),
        ("不用来了", "inform", True),
        ("确定", "inform", True),
        ("别取消，还是要的", "deny", False),
    ],
)
def test_cancel_read_back_answered_with_the_wish(db_url, text, intent, confirmed):
    bath, _clean = _two_bookings()
    known = {"booking_elder_id": "1", "booking_person_name": "张桂兰", "booking_reference": bath.reference}
    _, slots = run(
        ValidateCancelBookingForm(),
        tracker(text, known, form="cancel_booking_form", requested="booking_confirm", intent=intent),
    )
    assert slots.get("booking_aborted") is None  # "不用来了" is the answer, not a way out
    assert slots["booking_confirm"] is confirmed and slots["requested_slot"] is None
