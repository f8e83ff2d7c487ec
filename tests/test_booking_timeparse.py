"""Chinese time expressions -> day + part of day, and the reasons when they cannot be used."""

import calendar
import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from bot.text.timeparse import WEEKDAYS, TimeParseError, parse_time, say_day, say_window, to_int

MONDAY = dt.date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    "text, day, part, hour",
    [
        ("明天上午", dt.date(2026, 11, 24), "上午", None),
        ("下周二下午三点", dt.date(2026, 12, 1), "下午", 15),
        ("后天", dt.date(2026, 11, 25), None, None),
        ("大后天", dt.date(2026, 11, 26), None, None),
        ("后儿个下午", dt.date(2026, 11, 25), "下午", None),  # spoken 后天, not today
        ("大后儿个上午", dt.date(2026, 11, 26), "上午", None),
        ("这周五", dt.date(2026, 11, 27), None, None),
        ("11月25号", dt.date(2026, 11, 25), None, None),
        ("十一月二十五号上午", dt.date(2026, 11, 25), "上午", None),
        ("下个月3号", dt.date(2026, 12, 3), None, None),
        ("三天后", dt.date(2026, 11, 26), None, None),
        ("过两天", dt.date(2026, 11, 25), None, None),
        ("两周后", dt.date(2026, 12, 7), None, None),
        ("星期天", dt.date(2026, 11, 29), None, None),
        ("礼拜三下午", dt.date(2026, 11, 25), "下午", None),
        ("这个月底", dt.date(2026, 11, 30), None, None),
        ("明天早上九点半", dt.date(2026, 11, 24), "上午", 9),
        ("1月5号", dt.date(2027, 1, 5), None, None),  # long past this year: next year
        ("3号", dt.date(2026, 12, 3), None, None),  # already past this month: next month
        ("25号下午", dt.date(2026, 11, 25), "下午", None),
        ("2027年2月28日上午", dt.date(2027, 2, 28), "上午", None),
    ],
)
def test_expressions(text, day, part, hour):
    got = parse_time(text, today=MONDAY)
    assert (got.day, got.part, got.hour) == (day, part, hour)


@pytest.mark.parametrize(
    "text, code, words",
    [
        ("2月30日", "impossible_date", "2月没有30号"),
        ("11月31号", "impossible_date", "11月没有31号"),
        ("13月1号", "impossible_date", "没有13月"),
        ("昨天", "past", "已经过去"),
        ("11月20号", "past", "11月20日，星期五已经过去"),
        ("上周三", "past", "已经过去"),
        ("明天晚上", "outside_hours", "晚上没有上门服务"),
        ("明天中午", "outside_hours", "中午没有"),
        ("明天早上六点", "outside_hours", "6点没有上门服务"),
        ("什么时候都行", "not_understood", "明天上午"),
        ("", "not_understood", "哪一天"),
    ],
)
def test_unusable_times_have_a_reason(text, code, words):
    with pytest.raises(TimeParseError) as err:
        parse_time(text, today=MONDAY)
    assert err.value.code == code
    assert words in err.value.message


def test_say_window_reads_weekday(monkeypatch):
    monkeypatch.setenv("CLOCK_NOW", "2026-11-23")
    assert say_window(dt.datetime(2026, 11, 25, 8)) == "11月25日，星期三，上午"
    assert say_day(dt.date(2027, 1, 5)) == "2027年1月5日，星期二"


def test_to_int_reads_spoken_numbers():
    assert [to_int(t) for t in ("25", "二十五", "十", "两", "二五")] == [25, 25, 10, 2, 25]


@settings(max_examples=200, deadline=None)
@given(today=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)), n=st.integers(0, 90))
def test_n_days_later_is_today_plus_n(today, n):
    assert parse_time(f"{n}天后", today=today).day == today + dt.timedelta(days=n)


@settings(max_examples=200, deadline=None)
@given(
    today=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)),
    weekday=st.integers(0, 6),
    which=st.sampled_from(["", "下", "下下"]),
)
def test_weekday_expressions_land_on_that_weekday(today, weekday, which):
    name = "一二三四五六日"[weekday]
    got = parse_time(f"{which}周{name}", today=today).day
    assert got.weekday() == weekday
    assert got >= today and (got - today).days < 7 * (1 + len(which) // 1 + 1)
    if which == "下":
        assert got.isocalendar()[:2] == (today + dt.timedelta(days=7)).isocalendar()[:2]


@settings(max_examples=300, deadline=None)
@given(
    today=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
)
def test_month_day_is_a_real_future_date_or_a_reason(today, month, day):
    try:
        got = parse_time(f"{month}月{day}号", today=today).day
    except TimeParseError as err:
        if err.code == "impossible_date":
            # only when that day does not exist in the year it was read for
            assert day > 28
            assert (
                all(day > calendar.monthrange(y, month)[1] for y in (today.year, today.year + 1))
                or day > calendar.monthrange(today.year, month)[1]
            )
        else:
            assert err.code == "past"
            # gone within 60 days: this year, or last year's date just before a new year
            gone = [
                (today - dt.date(y, month, day)).days
                for y in (today.year, today.year - 1)
                if day <= calendar.monthrange(y, month)[1]
            ]
            assert any(0 < d <= 60 for d in gone)
        return
    assert (got.month, got.day) == (month, day)
    assert got >= today
    assert WEEKDAYS[got.weekday()] in say_day(got)


def test_phone_tail_is_told_from_the_id_digits():
    from bot.booking import text as bt

    assert bt.phone_last4_from_text("身份证记不得了，她手机尾号是0003") == "0003"
    assert bt.phone_last4_from_text("电话号码后四位零零零五") == "0005"
    assert bt.phone_last4_from_text("身份证后四位零零二七") is None
    assert bt.phone_last4_from_text("0027") is None


def test_not_knowing_the_id_digits():
    from bot.booking import text as bt

    assert bt.id_unknown("老人的身份证号我真不清楚")
    assert bt.id_unknown("忘了")
    assert not bt.id_unknown("身份证后四位是零零一五")
    assert not bt.id_unknown("不记得身份证，手机尾号0005")  # the phone's digits instead
    assert not bt.id_unknown("13800000002")


def test_a_stop_followed_by_what_is_wanted_instead_is_a_correction():
    from bot.booking import text as bt

    assert bt.replaces_request("剪头发先不约了，换成打扫，下周四上午")
    assert bt.replaces_request("助餐不要约了，还是约个洗澡吧")
    assert not bt.replaces_request("算了，不约了")
    assert not bt.replaces_request("算了，洗澡不要了")
    assert bt.means_latest_booking("我刚约的那个")
    assert not bt.means_latest_booking("后天那个")


def test_a_phone_number_with_the_country_code():
    from bot.booking import text as bt

    assert bt.phone_from_text("她手机是 +86 138 0000 0004") == "13800000004"
    assert bt.phone_from_text("0086-13800000005") == "13800000005"


@pytest.mark.parametrize(
    "text, bare",
    [
        ("礼拜三那个打扫的", True),
        ("周五上午那个", True),
        ("星期天的洗澡", True),
        ("下礼拜三那个", False),
        ("这周五的", False),
        ("11月25号星期三那个", False),  # the date decides
        ("明天那个", False),
        ("上午那个", False),  # no day at all
        ("周二，不对，下周二", False),  # the correction decides
        ("礼拜五那个搓澡的，礼拜五我要去女儿家", True),  # the same weekday twice
        ("周五那个，周六也行", False),  # two weekdays: not one day alone
    ],
)
def test_bare_weekday_is_a_weekday_said_alone(text, bare):
    from bot.text.timeparse import bare_weekday

    assert bare_weekday(text, today=MONDAY) is bare


@pytest.mark.parametrize(
    "text, days",
    [
        ("往后推一天", 1),
        ("能不能推迟两天", 2),
        ("晚一天来", 1),
        ("提前一天行吗", -1),
        ("往后挪个三天", 3),
        ("往后推两三天", None),  # a range: asked
        ("后天下午", None),  # a day, not a move
        ("三天后", None),
    ],
)
def test_shift_days_moves_a_visit_from_its_own_day(text, days):
    from bot.text.timeparse import shift_days

    assert shift_days(text) == days


@pytest.mark.parametrize(
    "text, visit, moved",
    [
        ("改到礼拜二下午", dt.date(2026, 11, 30), "改到12月1号下午"),  # next week's visit: its Tuesday
        ("周三上午吧", dt.date(2026, 11, 27), "11月25号上午吧"),  # this week's visit: this Wednesday
        ("从星期一换到星期四", dt.date(2026, 12, 7), "从星期一换到12月10号"),  # only the new day
        ("下礼拜二", dt.date(2026, 11, 30), "下礼拜二"),  # said with 下: as said
        ("礼拜一", dt.date(2026, 11, 25), "礼拜一"),  # that week's Monday is past: as said
    ],
)
def test_a_weekday_alone_moves_a_visit_within_its_own_week(text, visit, moved):
    from bot.text.timeparse import weekday_in_week_of

    assert weekday_in_week_of(text, visit, today=MONDAY + dt.timedelta(days=1)) == moved
