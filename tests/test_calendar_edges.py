"""Dates at the edges of the calendar, each pinned on purpose: the last day of a month at
23:50 China time, 31 December -> 1 January, 29 February, a Sunday, and the UTC/China day
boundary (16:00 UTC is already the next day in China). The free-hour ledger, time
parsing and offered times are checked on those days, against a database whose demo
capacity was made on that (pinned) day."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from bot import clock
from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models.booking import EntitlementLedger
from bot.text.timeparse import TimeParseError, parse_time

ZHANG = 1  # 张桂兰, born 1938-03-12, 五老村 (DESIGN.md personas, loaded in order)
LI = 2  # 李建国, born 1950-07-01, under 80: no free hours


def key() -> str:
    return f"edge:{uuid.uuid4().hex}"


@pytest.fixture
def db_at(tmp_path, monkeypatch, pin_clock):
    """A fresh migrated demo database built with the clock pinned to `moment`."""

    def build(moment: str) -> str:
        pin_clock(moment)
        url = f"sqlite:///{tmp_path / 'edge.db'}"
        monkeypatch.setenv("DATABASE_URL", url)
        from bot.demo import loader as demo
        from bot.manage import migrate

        migrate(url)
        demo.load_if_empty(url)
        return url

    return build


# --- the clock itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    "pinned, expected",
    [
        ("2026-11-30T15:59:59Z", dt.datetime(2026, 11, 30, 23, 59, 59)),
        ("2026-11-30T16:00:00Z", dt.datetime(2026, 12, 1, 0, 0)),  # next day in China
        ("2026-12-31T16:00:00+00:00", dt.datetime(2027, 1, 1, 0, 0)),  # next year in China
        ("2026-11-30T23:50", dt.datetime(2026, 11, 30, 23, 50)),  # no offset: China time
        ("2028-02-29", dt.datetime(2028, 2, 29, 10, 0)),  # a bare date: 10:00
    ],
)
def test_the_clock_is_china_time(pin_clock, pinned, expected):
    got = pin_clock(pinned)
    assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(hours=8)
    assert got.replace(tzinfo=None) == expected
    assert clock.today() == expected.date()


def test_record_timestamps_follow_the_pinned_clock(pin_clock):
    from bot.models.base import utcnow

    pin_clock("2026-12-01T00:10")  # China: 1 December; UTC: still 30 November
    assert utcnow() == dt.datetime(2026, 11, 30, 16, 10)


def test_a_malformed_pin_is_refused(pin_clock):
    with pytest.raises(ValueError):
        pin_clock("next tuesday")


def test_ages_on_leap_day(pin_clock):
    pin_clock("2028-02-28T23:50")
    assert clock.age_on(dt.date(1948, 2, 29)) == 79  # not yet: the birthday is tomorrow
    pin_clock("2028-02-29T00:00")
    assert clock.age_on(dt.date(1948, 2, 29)) == 80
    # no 29 February in 2029: the year is complete from 1 March
    pin_clock("2029-02-28T12:00")
    assert clock.age_on(dt.date(1948, 2, 29)) == 80
    pin_clock("2029-03-01T00:00")
    assert clock.age_on(dt.date(1948, 2, 29)) == 81


# --- what callers say, on edge days ----------------------------------------------------


@pytest.mark.parametrize(
    "moment, said, day",
    [
        ("2026-11-30T23:50", "明天", dt.date(2026, 12, 1)),
        ("2026-11-30T23:50", "后天上午", dt.date(2026, 12, 2)),
        ("2026-11-30T23:50", "月底", dt.date(2026, 11, 30)),
        ("2026-11-30T23:50", "下个月底", dt.date(2026, 12, 31)),
        ("2026-11-30T23:50", "下个月3号", dt.date(2026, 12, 3)),
        ("2026-11-30T16:00:00Z", "明天", dt.date(2026, 12, 2)),  # already 1 December in China
        ("2026-12-31T23:50", "明天", dt.date(2027, 1, 1)),
        ("2026-12-31T23:50", "下周三", dt.date(2027, 1, 6)),
        ("2026-12-31T23:50", "1月5号", dt.date(2027, 1, 5)),
        ("2026-12-31T23:50", "下个月3号", dt.date(2027, 1, 3)),
        ("2028-02-28T23:50", "明天", dt.date(2028, 2, 29)),
        ("2028-02-29T10:00", "明天", dt.date(2028, 3, 1)),
        ("2028-02-10T10:00", "月底", dt.date(2028, 2, 29)),
        ("2028-02-10T10:00", "2月29号", dt.date(2028, 2, 29)),
        ("2026-11-29T10:00", "下礼拜三", dt.date(2026, 12, 2)),  # a Sunday: the week ends today
        ("2026-11-29T10:00", "礼拜三", dt.date(2026, 12, 2)),
        ("2026-11-29T10:00", "这个礼拜天", dt.date(2026, 11, 29)),
        ("2026-11-29T10:00", "明天", dt.date(2026, 11, 30)),
    ],
)
def test_spoken_days_on_edge_dates(pin_clock, moment, said, day):
    pin_clock(moment)
    assert parse_time(said).day == day


def test_yesterday_at_a_year_end_is_in_the_past(pin_clock):
    pin_clock("2027-01-01T00:05")
    with pytest.raises(TimeParseError) as err:
        parse_time("12月31号")
    # said on 1 January, 12月31号 is the day before: gone, not next December
    assert err.value.code == "past"


# --- the free-hour ledger and offered times on edge dates ------------------------------


def _ledger(month: str) -> EntitlementLedger | None:
    with session_scope() as s:
        return s.execute(
            select(EntitlementLedger).where(
                EntitlementLedger.elder_id == ZHANG, EntitlementLedger.month == month
            )
        ).scalar_one_or_none()


def test_month_end_late_evening_books_into_the_next_months_hours(db_at):
    db_at("2026-11-30T23:50")
    # this evening's window is gone; tomorrow is December and spends December's hours
    tonight = dt.datetime(2026, 11, 30, 13)
    assert booking.book(ZHANG, "bath", tonight, "web", key()).code == "past"
    results = [booking.book(ZHANG, "bath", dt.datetime(2026, 12, d, 13), "web", key()) for d in (1, 2, 3, 4)]
    assert all(r.ok for r in results)
    assert [r.free_minutes_applied for r in results] == [60, 60, 60, 0]
    assert booking.entitlement_summary(ZHANG, dt.date(2026, 12, 1)).left_minutes == 0
    november = booking.entitlement_summary(ZHANG, dt.date(2026, 11, 30))
    assert november.used_minutes == 0 and november.left_minutes == november.granted_minutes


def test_offered_times_at_a_month_end_start_tomorrow(db_at):
    db_at("2026-11-30T23:50")
    with session_scope() as s:
        options = booking.available_windows(s, "bath", "五老村", dt.datetime(2026, 11, 30, 13))
    assert options and all(o.start > dt.datetime(2026, 11, 30, 23, 50) for o in options)
    assert options[0].start == dt.datetime(2026, 12, 1, 8)


def test_year_end_booking_opens_a_january_ledger_and_a_cancel_returns_to_it(db_at):
    db_at("2026-12-31T23:50")
    made = booking.book(ZHANG, "bath", dt.datetime(2027, 1, 4, 8), "web", key())
    assert made.ok and made.free_minutes_applied == 60
    row = _ledger("2027-01")
    assert row is not None and row.used_minutes == 60
    assert _ledger("2026-12").used_minutes == 0
    cancelled = booking.cancel(made.reference, ZHANG)
    assert cancelled.ok and cancelled.minutes_returned == 60
    january = booking.entitlement_summary(ZHANG, dt.date(2027, 1, 4))
    assert january.left_minutes == january.granted_minutes


def test_reschedule_across_the_year_moves_the_hours(db_at):
    db_at("2026-12-28T10:00")
    made = booking.book(ZHANG, "bath", dt.datetime(2026, 12, 30, 8), "web", key())
    assert made.ok and made.free_minutes_applied == 60
    moved = booking.reschedule(made.reference, ZHANG, dt.datetime(2027, 1, 5, 13))
    assert moved.ok and moved.code == "rescheduled"
    december = booking.entitlement_summary(ZHANG, dt.date(2026, 12, 30))
    january = booking.entitlement_summary(ZHANG, dt.date(2027, 1, 5))
    assert december.left_minutes == december.granted_minutes
    assert january.left_minutes == january.granted_minutes - 60


def test_leap_day_booking_counts_in_february(db_at):
    db_at("2028-02-28T23:50")
    made = booking.book(ZHANG, "bath", dt.datetime(2028, 2, 29, 8), "web", key())
    assert made.ok and made.free_minutes_applied == 60
    assert _ledger("2028-02").used_minutes == 60
    assert _ledger("2028-03") is None or _ledger("2028-03").used_minutes == 0


def test_under_80_gets_no_free_hours_on_any_edge(db_at):
    db_at("2026-12-31T23:50")
    made = booking.book(LI, "bath", dt.datetime(2027, 1, 4, 8), "web", key())
    assert made.ok and made.free_minutes_applied == 0


def test_utc_evening_is_already_tomorrow_in_china(db_at):
    db_at("2026-11-30T16:30:00Z")  # 00:30 on 1 December in China
    morning_1st = dt.datetime(2026, 12, 1, 8)
    made = booking.book(ZHANG, "bath", morning_1st, "web", key())
    assert made.ok  # 08:00 on the 1st has not begun yet in China
    assert booking.book(ZHANG, "bath", dt.datetime(2026, 11, 30, 13), "web", key()).code == "past"
