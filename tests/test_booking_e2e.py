"""Booking conversations through POST /api/chat against the real Rasa, action and web
servers (the `stack` fixture), checking the database rows and the SMS outbox."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import create_engine, text

from bot.text.timeparse import WEEKDAYS
from tests.stack import latest_code as stack_latest_code

pytestmark = pytest.mark.e2e

ZHANG = "13800000001"


@pytest.fixture(scope="module")
def db(stack):
    engine = create_engine(stack.database_url)
    yield engine
    engine.dispose()


def rows(db, sql: str, **params) -> list:
    with db.connect() as c:
        return c.execute(text(sql), params).all()


def reference_in(reply: str) -> str:
    m = re.search(r"预约号([0-9 ]{6,})", reply)
    assert m, reply
    return m.group(1).replace(" ", "")


def latest_code(db, phone: str) -> str:
    return stack_latest_code(str(db.url), phone)


def open_booking(stack, db, sender: str, request: str, phone: str) -> str:
    """Opens a booking conversation as a web visitor must: the request, the elder's number
    when asked who it is for, then the code the assistant sent to that number. Returns the
    assistant's next question."""
    reply = stack.chat_text(sender, request)
    if "验证码" not in reply:
        assert "姓名" in reply or "哪位" in reply or "名字" in reply, reply
        reply = stack.chat_text(sender, f"老人的手机号是{phone}")
    assert "验证码" in reply and phone[-4:] in reply, reply
    return stack.chat_text(sender, latest_code(db, phone))


def today() -> dt.date:
    # the stack runs on the suite's pinned clock (tests/conftest.py), inherited by its processes
    from bot import clock

    return clock.today()


def test_book_by_caller_phone_reads_back_and_writes_booking_and_sms(stack, sender, db):
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = open_booking(stack, db, sender, "我想预约助浴", ZHANG)
    assert "哪一天" in reply
    reply = say("后天上午")
    assert "上门地址是五老村街道文昌巷12号3楼" in reply and "对吗" in reply
    day = today() + dt.timedelta(days=2)
    reply = say("对")
    assert "张桂兰" in reply and "助浴" in reply
    assert f"{day.month}月{day.day}日，{WEEKDAYS[day.weekday()]}，上午" in reply
    assert "免费时长" in reply and "对吗" in reply
    reply = say("对")
    assert "预约好了" in reply and "短信" in reply
    ref = reference_in(reply)
    booking = rows(
        db,
        """select b.id, b.status, b.free_minutes_applied, b.cost_fen, b.channel,
                          b.idempotency_key, w.starts_at, e.name
                          from bookings b join capacity_windows w on w.id = b.window_id
                          join elders e on e.id = b.elder_id where b.reference = :r""",
        r=ref,
    )
    assert len(booking) == 1
    b = booking[0]
    assert (b.status, b.name, b.channel) == ("booked", "张桂兰", "web")
    assert str(b.starts_at).startswith(f"{day.isoformat()} 08:00")
    assert b.free_minutes_applied == 60 and b.cost_fen == 3000
    assert b.idempotency_key.startswith(f"book:{stack.conversation(sender)}:")
    sms = rows(db, "select to_number, body from sms_outbox where related_booking_id = :i", i=b.id)
    assert len(sms) == 1 and sms[0].to_number == "+8613800000001" and ref in sms[0].body
    history = rows(db, "select event from booking_status_history where booking_id = :i", i=b.id)
    assert [h.event for h in history] == ["created"]


def test_name_and_id_last4_then_query_reschedule_and_cancel(stack, sender, db):
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731 (no caller phone)
    assert "姓名" in say("帮我妈约个打扫卫生")
    assert "后四位" in say("刘淑芬")
    # name and ID digits say who is meant; the code sent to her mobile proves it
    assert "验证码" in say("零零四八")
    assert "不对" in say("000000")  # a wrong code is refused, with tries left
    assert "哪一天" in say(latest_code(db, "13800000005"))
    reply = say("大后天下午")
    assert "秦虹街道秦虹路100号" in reply
    reply = say("对")
    assert "刘淑芬" in reply and "助洁" in reply and "下午" in reply
    reply = say("对的")
    ref = reference_in(reply)
    elder_id = rows(db, "select id from elders where name = '刘淑芬'")[0].id

    reply = say("查一下我的预约")
    assert "助洁" in reply and ref in reply.replace(" ", "")
    assert "免费服务时长还剩" in reply

    reply = say("我想改一下预约时间")
    assert "改到" in reply
    new_day = today() + dt.timedelta(days=4)
    reply = say("四天后上午")
    assert f"{new_day.month}月{new_day.day}日" in reply and "对吗" in reply
    reply = say("对")
    assert "改好了" in reply
    moved = rows(
        db,
        """select w.starts_at, b.status from bookings b join capacity_windows w
                        on w.id = b.window_id where b.reference = :r""",
        r=ref,
    )[0]
    assert str(moved.starts_at).startswith(f"{new_day.isoformat()} 08:00")

    before = (
        rows(
            db,
            """select sum(returned_minutes) as r from entitlement_ledger
                         where elder_id = :e""",
            e=elder_id,
        )[0].r
        or 0
    )
    reply = say("取消预约")
    assert "取消" in reply and "对吗" in reply
    reply = say("对")
    assert "已经取消了" in reply and "退回" in reply
    status = rows(db, "select id, status from bookings where reference = :r", r=ref)[0]
    assert status.status == "cancelled"
    after = rows(
        db,
        """select sum(returned_minutes) as r from entitlement_ledger
                        where elder_id = :e""",
        e=elder_id,
    )[0].r
    assert after == before + 120  # 助洁 is two hours, all of it from free time
    events = rows(
        db, "select event from booking_status_history where booking_id = :i order by id", i=status.id
    )
    assert [e.event for e in events] == ["created", "rescheduled", "cancelled"]
    assert len(rows(db, "select id from sms_outbox where related_booking_id = :i", i=status.id)) == 3
    assert "没有还没到期的预约" in say("查预约")


def test_bad_input_gets_clear_answers_and_writes_nothing(stack, sender, db):
    def count():
        return rows(db, "select count(*) as n from bookings")[0].n, rows(
            db, "select count(*) as n from sms_outbox"
        )[0].n

    before = count()
    stranger = {"phone": "13912345678"}  # a client's claim, ignored by the server
    assert "姓名" in stack.chat_text(sender, "我要预约助浴", stranger)
    reply = stack.chat_text(sender, "13912345678", stranger)
    assert "没有登记" in reply and "姓名" in reply
    assert "后四位" in stack.chat_text(sender, "王秀英", stranger)
    assert "对不上" in stack.chat_text(sender, "1234", stranger)
    stack.chat_text(sender, "王秀英", stranger)
    assert "验证码" in stack.chat_text(sender, "0022", stranger)
    before = (before[0], before[1] + 1)  # the code's SMS
    assert "哪一天" in stack.chat_text(sender, latest_code(db, "13800000003"), stranger)
    assert "2月没有30号" in stack.chat_text(sender, "2月30日", stranger)
    reply = stack.chat_text(sender, "昨天上午", stranger)
    assert "已经过去了" in reply and "转人工" in reply  # second miss: a human is offered
    assert "先不约了" in stack.chat_text(sender, "算了，不约了", stranger)
    assert count() == before


def test_unknown_service_is_explained(stack, sender, db):
    before = rows(db, "select count(*) as n from bookings")[0].n
    reply = stack.chat_text(sender, "我要预约服务")
    assert "哪一种服务" in reply
    reply = stack.chat_text(sender, "修电脑")
    assert "约不了" in reply and "助浴" in reply
    assert "先不约了" in stack.chat_text(sender, "不约了")
    assert rows(db, "select count(*) as n from bookings")[0].n == before


def _fill_morning(db, day: dt.date, street: str) -> int:
    """Books out the morning of `day` at every provider serving `street`; how many windows."""
    from sqlalchemy import select, update

    from bot.models import Street
    from bot.models.booking import CapacityWindow, provider_streets

    with db.begin() as c:
        providers = (
            select(provider_streets.c.provider_id)
            .join(Street, Street.id == provider_streets.c.street_id)
            .where(Street.name == street)
        )
        return c.execute(
            update(CapacityWindow)
            .where(
                CapacityWindow.starts_at == dt.datetime.combine(day, dt.time(8)),
                CapacityWindow.provider_id.in_(providers),
            )
            .values(booked=CapacityWindow.capacity)
        ).rowcount


def _address_and_read_back_confirmed(stack, db, sender, meta):
    """Says "对" to the address and to the read-back; the booking made (its starts_at)."""
    stack.chat_text(sender, "对", meta)
    ref = reference_in(stack.chat_text(sender, "对", meta))
    return rows(
        db,
        """select w.starts_at from bookings b join capacity_windows w on
                         w.id = b.window_id where b.reference = :r""",
        r=ref,
    )[0]


def test_full_window_offers_nearest_free_times(stack, sender, db):
    day = today() + dt.timedelta(days=3)
    assert _fill_morning(db, day, "中华门") == 1  # its one provider is fully booked that morning
    meta = None
    open_booking(stack, db, sender, "预约上门理发", "13800000003")  # 王秀英, 中华门
    replies = stack.chat(sender, f"{day.month}月{day.day}号上午", meta)
    full = next(r for r in replies if "约满" in r["text"])
    assert "最近有空的时间是" in full["text"] and full["buttons"]
    reply = stack.press(sender, [full], full["buttons"][0]["title"])
    reply = "\n".join(r["text"] for r in reply)
    assert "上门地址" in reply
    booked = _address_and_read_back_confirmed(stack, db, sender, meta)
    assert str(booked.starts_at) != str(dt.datetime.combine(day, dt.time(8)))


def _offered_times(text: str) -> list[str]:
    """'最近有空的时间是：1，11月26日，星期四，上午；2，…。' -> the spoken times in order."""
    listed = text.split("最近有空的时间是：", 1)[1].split("。", 1)[0]
    return [re.sub(r"^\d+，", "", item) for item in listed.split("；")]


def test_caller_chooses_an_offered_time_by_number(stack, sender, db):
    """On the phone there are no buttons: "第二个" picks the second time read out, and a
    bare "对" to a list of several is asked again, not taken as a date."""
    day = today() + dt.timedelta(days=4)
    _fill_morning(db, day, "中华门")
    meta = None
    open_booking(stack, db, sender, "我想约个助洁", "13800000003")  # 王秀英, 中华门
    full = stack.chat_text(sender, f"{day.month}月{day.day}号上午", meta)
    assert "约满" in full
    times = _offered_times(full)
    assert len(times) >= 2
    assert "第几个" in stack.chat_text(sender, "对", meta)
    assert "说了" in stack.chat_text(sender, "第九个", meta)  # there were not nine
    reply = stack.chat_text(sender, "我要第二个", meta)
    assert "上门地址" in reply
    booked = _address_and_read_back_confirmed(stack, db, sender, meta)
    starts = (
        booked.starts_at
        if isinstance(booked.starts_at, dt.datetime)
        else dt.datetime.fromisoformat(str(booked.starts_at))
    )
    from bot.text.timeparse import say_window

    assert say_window(starts) == times[1]


def test_place_taken_during_the_call_offers_alternatives_then_books(stack, sender, db):
    from sqlalchemy import update

    from bot.models.booking import CapacityWindow

    meta = None
    day = today() + dt.timedelta(days=5)
    open_booking(stack, db, sender, "我要预约康复护理", "13800000002")  # 李建国, 夫子庙
    stack.chat_text(sender, f"{day.month}月{day.day}号下午", meta)
    assert "对吗" in stack.chat_text(sender, "对", meta)  # address ok -> read-back
    start = dt.datetime.combine(day, dt.time(13))
    with db.begin() as c:  # someone else takes the last places meanwhile
        c.execute(
            update(CapacityWindow)
            .where(CapacityWindow.starts_at == start)
            .values(booked=CapacityWindow.capacity)
        )
    replies = stack.chat(sender, "对", meta)
    full = next(r for r in replies if "约满" in r["text"])
    assert full["buttons"] and len(replies) == 1  # one question at a time
    reply = "\n".join(r["text"] for r in stack.press(sender, [full], full["buttons"][0]["title"]))
    assert "对吗" in reply and "李建国" in reply
    reply = stack.chat_text(sender, "对", meta)
    ref = reference_in(reply)
    row = rows(
        db,
        """select w.starts_at, b.cost_fen from bookings b join capacity_windows w
                      on w.id = b.window_id where b.reference = :r""",
        r=ref,
    )[0]
    assert str(row.starts_at) != str(start) and row.cost_fen == 6000  # under 80: full price


def test_asking_again_for_a_visit_already_booked_reads_the_first_back(stack, sender, db):
    """An elder who forgot she booked: the second call is told the booking she has, before
    any read-back, and nothing new is written."""
    day = today() + dt.timedelta(days=6)
    meta = None
    when = f"{day.month}月{day.day}号下午"
    open_booking(stack, db, sender, "我想预约助洁", "13800000002")  # 李建国
    stack.chat_text(sender, when, meta)
    stack.chat_text(sender, "对", meta)
    ref = reference_in(stack.chat_text(sender, "对", meta))
    before = rows(db, "select count(*) as n from bookings")[0].n
    again = f"{sender}-again"
    open_booking(stack, db, again, "帮我约个助洁", "13800000002")  # another call: proven again
    reply = stack.chat_text(again, when, meta)
    assert "已经约了助洁" in reply and ref in reply and "别的时间" in reply
    assert rows(db, "select count(*) as n from bookings")[0].n == before


def test_dont_come_stops_a_booking_or_cancels_the_one_made(stack, sender, db):
    meta = None
    day = today() + dt.timedelta(days=9)
    open_booking(stack, db, sender, "我想预约上门理发", "13800000005")  # 刘淑芬
    stack.chat_text(sender, f"{day.month}月{day.day}号下午", meta)
    before = rows(db, "select count(*) as n from bookings")[0].n
    assert "先不约了" in stack.chat_text(sender, "不用来了", meta)  # said at the address question
    assert rows(db, "select count(*) as n from bookings")[0].n == before

    stack.chat_text(sender, "我想预约上门理发", meta)
    stack.chat_text(sender, f"{day.month}月{day.day}号下午", meta)
    stack.chat_text(sender, "对", meta)
    ref = reference_in(stack.chat_text(sender, "对", meta))
    reply = stack.chat_text(sender, f"{day.month}月{day.day}号就别过来了", meta)
    assert "取消" in reply and ref in reply and "对吗" in reply
    assert "取消" in stack.chat_text(sender, "对", meta)
    assert rows(db, "select status from bookings where reference = :r", r=ref)[0].status == "cancelled"


def test_a_day_in_the_cancel_request_picks_the_booking_or_says_there_is_none(stack, sender, db):
    meta = None
    days = [today() + dt.timedelta(days=n) for n in (10, 12)]
    refs = []
    open_booking(stack, db, sender, "我想预约助洁", "13800000004")  # 陈志明
    for i, day in enumerate(days):
        if i:  # proven once in this conversation
            stack.chat_text(sender, "我想预约助洁", meta)
        stack.chat_text(sender, f"{day.month}月{day.day}号上午", meta)
        stack.chat_text(sender, "对", meta)
        refs.append(reference_in(stack.chat_text(sender, "对", meta)))
    # two bookings, the day said names the second one: read back straight away
    reply = stack.chat_text(sender, f"{days[1].month}月{days[1].day}号的不用来了", meta)
    assert refs[1] in reply and refs[0] not in reply and "对吗" in reply
    # "不对" at the read-back asks which one (issue 15), the way out still cancels nothing
    assert "哪一个" in stack.chat_text(sender, "不对", meta)
    assert "没有取消" in stack.chat_text(sender, "算了，都不取消了", meta)
    # a day with no booking: said so, then the choice between the two
    empty = days[0] + dt.timedelta(days=1)
    reply = stack.chat_text(sender, f"{empty.month}月{empty.day}号的取消", meta)
    assert f"{empty.month}月{empty.day}日" in reply and "没有您的预约" in reply
    assert "哪一个" in reply
    assert (
        rows(
            db,
            "select count(*) as n from bookings where reference in (:a, :b) and status = 'booked'",
            a=refs[0],
            b=refs[1],
        )[0].n
        == 2
    )


def test_times_read_out_leave_out_a_visit_she_already_has(stack, sender, db):
    """The free times offered after a full half-day never include a window where the elder
    already has this service; so choosing one never ends in "已经约了" after the read-back."""
    day = today() + dt.timedelta(days=13)
    meta = None
    open_booking(stack, db, sender, "我想预约助浴", "13800000003")  # 王秀英, 中华门
    stack.chat_text(sender, f"{day.month}月{day.day}号下午", meta)
    stack.chat_text(sender, "对", meta)
    reference_in(stack.chat_text(sender, "对", meta))
    assert _fill_morning(db, day, "中华门") >= 1
    again = f"{sender}-2"
    open_booking(stack, db, again, "我想预约助浴", "13800000003")
    full = stack.chat_text(again, f"{day.month}月{day.day}号上午", meta)
    assert "约满" in full
    from bot.text.timeparse import say_window

    afternoon = say_window(dt.datetime.combine(day, dt.time(13)))
    assert afternoon not in _offered_times(full)


def test_the_caller_can_leave_a_booking_half_way_and_nothing_is_written(stack, sender, db):
    before = rows(db, "SELECT count(*) FROM bookings")[0][0]
    open_booking(stack, db, sender, "我想约个助浴", ZHANG)
    text = stack.chat_text(sender, "算了，先不约了，等我女儿回来再说")
    assert "先不约了" in text, text
    assert rows(db, "SELECT count(*) FROM bookings")[0][0] == before
    # the form is over: the next question is answered, not taken as a booking answer
    after = stack.chat_text(sender, "高龄津贴怎么申请")
    assert "高龄" in after and "几点" not in after and "哪天" not in after, after


def test_the_caller_can_leave_an_eligibility_check(stack, sender):
    first = stack.chat_text(sender, "帮我查查我能享受什么补贴")
    assert "？" in first or "?" in first
    text = stack.chat_text(sender, "我不查了，改天再说吧")
    assert "先不办了" in text, text
