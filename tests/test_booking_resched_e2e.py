"""Booking, reschedule and cancel conversations of issue 15 through POST /api/chat on the
real stack: other ways to say who the elder is (her phone's last four, her phone when the ID
digits are not known), a code sent again, a booking named by its half day or as the one just
made, two bookings on one day, a change of service half-way, and a proof that holds for one
elder only. Phrasings are our own, written for these tests."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.stack import latest_code as stack_latest_code

pytestmark = pytest.mark.e2e

CHEN = ("陈志明", "13800000004", "0031")
LIU = ("刘淑芬", "13800000005", "0048")


@pytest.fixture(scope="module")
def db(stack):
    engine = create_engine(stack.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def bookings_stay_in_their_test(db):
    """The stack is shared by the whole session: the visits a test here books are called
    off afterwards, so other modules' personas see only their own bookings."""
    first = rows(db, "select coalesce(max(id), 0) from bookings")[0][0]
    yield
    with db.begin() as c:
        c.execute(
            text("update bookings set status = 'cancelled', active_visit = null where id > :i"),
            {"i": first},
        )


@pytest.fixture
def fresh_sender():
    """Another conversation (another call) for each call of it."""
    return lambda: f"test-{uuid.uuid4().hex[:12]}"


def rows(db, sql: str, **params) -> list:
    with db.connect() as c:
        return c.execute(text(sql), params).all()


def code(db, phone: str) -> str:
    found = stack_latest_code(str(db.url), phone)
    assert found, f"no code sent to {phone}"
    return found


def day(n: int) -> dt.date:
    from bot import clock

    return clock.today() + dt.timedelta(days=n)


def said(d: dt.date) -> str:
    return f"{d.month}月{d.day}号"


def shown(d: dt.date) -> str:
    return f"{d.month}月{d.day}日"


def book(stack, db, sender, who, service_words: str, when: str) -> str:
    """A whole booking in one conversation: name and ID digits up front, the code, then
    yes to the address and to the read-back. Returns the confirmation."""
    name, phone, last4 = who
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say(f"我是{name}，身份证后四位{last4}，想约{when}的{service_words}")
    assert "验证码" in reply, reply
    reply = say(code(db, phone))
    for _ in range(3):
        if "预约好了" in reply or "对吗" not in reply:
            break
        reply = say("对")
    assert "预约好了" in reply, reply
    return reply


def test_phone_tail_names_the_elder_when_the_id_digits_are_not_known(stack, sender, db):
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    d = day(16)
    reply = say(f"给刘淑芬约个上门剪头发，{said(d)}上午")
    assert "身份证" in reply, reply
    reply = say("她的身份证号码我记不得了，她手机尾号零零零五")
    assert "验证码" in reply and "0005" in reply, reply
    reply = say(code(db, LIU[1]))
    for _ in range(3):
        if "预约好了" in reply or "对吗" not in reply:
            break
        reply = say("对")
    assert "预约好了" in reply and shown(d) in reply and "上门理发" in reply, reply


def test_a_wrong_phone_tail_names_nobody(stack, sender, db):
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say("我是陈志明，想查一下我的预约")
    assert "身份证" in reply, reply
    reply = say("身份证不知道，手机尾号是九九九九")
    assert "对不上" in reply and "验证码" not in reply, reply


def test_not_knowing_the_id_digits_is_offered_her_phone(stack, sender, db):
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say("帮我爸陈志明约一次康复护理")
    assert "身份证" in reply, reply
    reply = say("老人身份证我真不清楚")
    assert "手机" in reply and "转人工" in reply, reply
    reply = say("他的手机是一三八零零零零零零零四")
    assert "验证码" in reply and "0004" in reply, reply
    reply = say(code(db, CHEN[1]))
    assert "哪一天" in reply or "什么时候" in reply, reply


def test_a_code_sent_again_says_so_and_the_new_one_works(stack, sender, db):
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say("查一下我的预约，我叫陈志明，身份证尾号0031")
    assert "验证码" in reply, reply
    first = code(db, CHEN[1])
    reply = say("短信一直没来，你再发一次吧")
    assert "重新" in reply and "0004" in reply, reply
    second = code(db, CHEN[1])
    # the first code no longer works: only the newest one is open in this conversation
    open_codes = rows(
        db,
        "select count(*) from identity_challenges where status = 'open' and sender_id = :s",
        s=stack.conversation(sender),
    )
    assert open_codes[0][0] == 1
    del first
    spoken = " ".join(second)  # said with spaces between the digits
    reply = say(spoken)
    assert "预约" in reply and "验证码不对" not in reply, reply


def test_the_morning_one_of_two_on_the_same_day_is_moved(stack, sender, db, fresh_sender):
    d, new = day(17), day(18)
    book(stack, db, fresh_sender(), CHEN, "洗澡", f"{said(d)}上午")
    book(stack, db, fresh_sender(), CHEN, "打扫卫生", f"{said(d)}下午")
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say(f"陈志明，尾号0031，{said(d)}上午那个，改到{said(new)}上午")
    assert "验证码" in reply, reply
    reply = say(code(db, CHEN[1]))
    assert "助浴" in reply and shown(new) in reply and "对吗" in reply and "助洁" not in reply, reply
    reply = say("对")
    assert "改好了" in reply and "助浴" in reply and shown(new) in reply, reply


def test_a_booking_named_after_the_list_is_moved_not_booked_again(stack, sender, db, fresh_sender):
    d, new = day(23), day(25)
    book(stack, db, fresh_sender(), CHEN, "推拿按摩", f"{said(d)}下午")
    before = rows(db, "select count(*) from bookings where elder_id = 4 and status = 'booked'")[0][0]
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say("我是陈志明，尾号0031，帮我看看我都约了些什么")
    assert "验证码" in reply, reply
    reply = say(code(db, CHEN[1]))
    assert "康复护理" in reply and shown(d) in reply, reply
    reply = say("按摩的那个")
    assert "改时间" in reply and "取消" in reply and "预约好了" not in reply, reply
    reply = say(f"改到{said(new)}下午吧")
    assert "康复护理" in reply and shown(new) in reply and "对吗" in reply, reply
    reply = say("对")
    assert "改好了" in reply, reply
    after = rows(db, "select count(*) from bookings where elder_id = 4 and status = 'booked'")[0][0]
    assert after == before  # moved, not a second booking


def test_a_weekday_alone_finds_next_weeks_visit(stack, sender, db, fresh_sender):
    from bot import clock

    d = clock.today() + dt.timedelta(days=7)  # the same weekday as today, next week
    weekday = "一二三四五六日"[d.weekday()]
    book(stack, db, fresh_sender(), LIU, "擦窗户搞卫生", f"{said(d)}上午")
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say(f"我刘淑芬，尾号0048，礼拜{weekday}来打扫的那个，我那天要去医院，帮我推后一天")
    assert "验证码" in reply, reply
    reply = say(code(db, LIU[1]))
    assert "没有您的" not in reply and "助洁" in reply and shown(d) in reply, reply


def test_the_booking_just_made_is_the_one_cancelled(stack, sender, db, fresh_sender):
    book(stack, db, fresh_sender(), LIU, "送餐", f"{said(day(19))}上午")
    book(stack, db, fresh_sender(), LIU, "陪诊", f"{said(day(20))}下午")
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say("刘淑芬，身份证尾号0048，我刚才约的那个不要了")
    assert "验证码" in reply, reply
    reply = say(code(db, LIU[1]))
    assert "助医陪诊" in reply and "对吗" in reply, reply
    reply = say("对，退掉")
    assert "已经取消" in reply and "助医陪诊" in reply, reply


def test_a_service_named_that_she_has_not_booked_is_not_moved(stack, sender, db, fresh_sender):
    book(stack, db, fresh_sender(), CHEN, "送餐", f"{said(day(22))}下午")
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say(f"陈志明，尾号0031，我约的理发改到{said(day(22))}上午")
    assert "验证码" in reply, reply
    reply = say(code(db, CHEN[1]))
    assert "没有查到上门理发的预约" in reply and "改到" not in reply.split("没有查到")[0], reply


def test_changing_the_service_half_way_books_the_new_one(stack, sender, db):
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    d = day(21)
    reply = say("我是陈志明，身份证后四位零零三一，想约个理发")
    assert "验证码" in reply, reply
    reply = say(code(db, CHEN[1]))
    assert "哪一天" in reply, reply
    reply = say(f"等等，理发先不约了，换成助餐，{said(d)}下午")
    assert "先不约了" not in reply, reply
    for _ in range(3):
        if "预约好了" in reply or "对吗" not in reply:
            break
        assert "上门理发" not in reply, reply
        reply = say("对")
    assert "预约好了" in reply and "助餐" in reply and shown(d) in reply, reply


def test_a_proof_for_one_elder_does_not_cancel_for_another(stack, sender, db, fresh_sender):
    book(stack, db, fresh_sender(), LIU, "打扫", f"{said(day(23))}上午")
    say = lambda msg: stack.chat_text(sender, msg)  # noqa: E731
    reply = say("我叫陈志明，身份证尾号0031，查查我的预约")
    assert "验证码" in reply, reply
    reply = say(code(db, CHEN[1]))
    assert "还有别的事" in reply, reply
    before = rows(db, "select count(*) from bookings where status = 'cancelled'")[0][0]
    reply = say(f"再帮我把刘淑芬{said(day(23))}的打扫取消掉")
    # her identity is asked for, nothing of hers is read out
    assert "身份证" in reply and "助洁" not in reply and "对吗" not in reply, reply
    reply = say("0031")
    assert "对不上" in reply, reply
    after = rows(db, "select count(*) from bookings where status = 'cancelled'")[0][0]
    assert after == before
