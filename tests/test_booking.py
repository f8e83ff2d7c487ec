"""bot/booking/ledger.py against a real migrated database with the demo data (SQLite, and
PostgreSQL for the concurrency test when it answers on 127.0.0.1:5432)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import IntegrityError

from bot import clock
from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models import Elder, SmsOutbox
from bot.models.booking import Booking, BookingStatusHistory, CapacityWindow, EntitlementLedger

ZHANG = 1  # 张桂兰, 88, 五老村 (demo personas are loaded in DESIGN.md order)
LI = 2  # 李建国, 76, 夫子庙


def day_ahead(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)


def morning(n: int) -> dt.datetime:
    return dt.datetime.combine(day_ahead(n), dt.time(8))


def afternoon(n: int) -> dt.datetime:
    return dt.datetime.combine(day_ahead(n), dt.time(13))


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def counts(session) -> dict:
    return {
        "bookings": session.execute(select(func.count(Booking.id))).scalar_one(),
        "sms": session.execute(select(func.count(SmsOutbox.id))).scalar_one(),
        "history": session.execute(select(func.count(BookingStatusHistory.id))).scalar_one(),
        "booked_places": session.execute(select(func.sum(CapacityWindow.booked))).scalar_one(),
        "used": session.execute(select(func.sum(EntitlementLedger.used_minutes))).scalar_one(),
    }


def test_find_elder_by_phone_or_name_and_id_last4(db_url):
    with session_scope() as s:
        assert booking.find_elder(s, phone="13800000001").name == "张桂兰"
        assert booking.find_elder(s, phone="+86 138-0000-0001").name == "张桂兰"
        assert booking.find_elder(s, name="张桂兰", id_last4="0027").id == ZHANG
        assert booking.find_elder(s, name="张桂兰", id_last4="0015") is None
        assert booking.find_elder(s, name="李建国", id_last4="0015").id == LI
        assert booking.find_elder(s, phone="13912345678") is None  # not an elder's number
        assert booking.find_elder(s) is None


def test_book_writes_booking_ledger_history_and_sms_together(db_url):
    start = morning(3)
    result = booking.book(ZHANG, "bath", start, "web", key())
    assert result.ok and result.code == "booked"
    assert result.free_minutes_applied == 60 and result.cost_fen == 5000 - 2000
    assert "星期" in result.message and "30元" in result.message
    with session_scope() as s:
        b = s.execute(select(Booking).where(Booking.reference == result.reference)).scalar_one()
        assert (b.elder_id, b.status, b.address) == (ZHANG, "booked", "五老村街道文昌巷12号3楼")
        assert b.window.starts_at == start and b.window.booked == 1
        assert [h.event for h in b.history] == ["created"]
        sms = s.execute(select(SmsOutbox).where(SmsOutbox.related_booking_id == b.id)).scalar_one()
        assert sms.to_number == "+8613800000001" and b.reference in sms.body
        assert sms.status == "outbox"
    summary = booking.entitlement_summary(ZHANG, start.date())
    assert (summary.granted_minutes, summary.used_minutes, summary.left_minutes) == (180, 60, 120)


def test_retried_request_is_idempotent(db_url):
    k = key()
    first = booking.book(ZHANG, "cleaning", afternoon(4), "voice", k)
    again = booking.book(ZHANG, "cleaning", afternoon(4), "voice", k)
    assert first.ok and again.ok and again.code == "duplicate"
    assert again.reference == first.reference
    with session_scope() as s:
        assert booking.count_bookings(s, idempotency_key=k) == 1
        assert s.execute(select(func.count(SmsOutbox.id))).scalar_one() == 1
        assert (
            s.execute(
                select(CapacityWindow.booked).where(
                    CapacityWindow.starts_at == afternoon(4), CapacityWindow.booked > 0
                )
            ).scalar_one()
            == 1
        )


def test_same_visit_twice_is_refused_without_a_second_charge(db_url):
    """A caller who forgot she already booked gets the first booking read back, not a
    second visit; another service, another window or after cancelling is fine."""
    first = booking.book(ZHANG, "bath", morning(5), "voice", key())
    with session_scope() as s:
        before = counts(s)
    again = booking.book(ZHANG, "bath", morning(5), "voice", key())
    assert not again.ok and again.code == "already_booked"
    assert again.reference == first.reference and "不用再约" in again.message
    assert first.reference in again.message
    with session_scope() as s:
        assert counts(s) == before
    assert booking.book(ZHANG, "cleaning", morning(5), "voice", key()).ok
    other = booking.book(ZHANG, "bath", afternoon(5), "voice", key())
    assert other.ok
    moved = booking.reschedule(other.reference, ZHANG, morning(5), channel="voice")
    assert not moved.ok and moved.code == "already_booked" and moved.reference == first.reference
    assert booking.cancel(first.reference, ZHANG, reason="test", channel="voice").ok
    assert booking.book(ZHANG, "bath", morning(5), "voice", key()).ok


@pytest.mark.parametrize(
    "service, start, code",
    [
        ("massage_on_the_moon", "morning", "unknown_service"),
        ("bath", "past", "past"),
    ],
)
def test_bad_requests_write_nothing(db_url, service, start, code):
    when = (
        morning(2)
        if start == "morning"
        else dt.datetime.combine(clock.today() - dt.timedelta(days=2), dt.time(8))
    )
    with session_scope() as s:
        before = counts(s)
    result = booking.book(ZHANG, service, when, "web", key())
    assert not result.ok and result.code == code
    assert result.message and "。" in result.message
    with session_scope() as s:
        assert counts(s) == before


def test_unknown_elder_writes_nothing(db_url):
    result = booking.book(9999, "bath", morning(2), "web", key())
    assert not result.ok and result.code == "unknown_elder"


def _fill(url_start: dt.datetime, street_provider_name: str = "悦华养老服务中心", free: int = 0):
    with session_scope() as s:
        from bot.models.booking import Provider

        pid = s.execute(select(Provider.id).where(Provider.name == street_provider_name)).scalar_one()
        s.execute(
            update(CapacityWindow)
            .where(CapacityWindow.provider_id == pid, CapacityWindow.starts_at == url_start)
            .values(booked=CapacityWindow.capacity - free)
        )


def test_full_window_offers_the_nearest_free_windows(db_url):
    start = morning(5)
    _fill(start)
    with session_scope() as s:
        before = counts(s)
    result = booking.book(ZHANG, "bath", start, "web", key())
    assert not result.ok and result.code == "full"
    assert 1 <= len(result.alternatives) <= 3
    assert start not in [o.start for o in result.alternatives]
    assert all(abs((o.start - start).days) <= 2 for o in result.alternatives)
    assert "约满" in result.message and result.alternatives[0].spoken in result.message
    with session_scope() as s:
        assert counts(s) == before
        options = booking.available_windows(s, "bath", "五老村", start)
        assert [o.start for o in options] == [o.start for o in result.alternatives]


def test_a_visit_the_free_hours_cover_whole_says_nothing_to_pay(db_url):
    result = booking.book(ZHANG, "cleaning", morning(4), "web", key())
    assert result.ok and result.free_minutes_applied == 120 and result.cost_fen == 0
    assert "不用另外付钱" in result.message and "0元" not in result.message


def test_free_hours_run_out_then_full_price(db_url):
    results = [booking.book(ZHANG, "bath", afternoon(n), "web", key()) for n in (2, 3, 4, 5)]
    assert [r.free_minutes_applied for r in results] == [60, 60, 60, 0]
    assert [r.cost_fen for r in results] == [3000, 3000, 3000, 5000]
    summary = booking.entitlement_summary(ZHANG, afternoon(2).date())
    # the four afternoons may straddle a month end; count only this month's
    assert summary.left_minutes >= 0


def test_under_80_gets_no_free_hours_and_policy_changed_in_2025(db_url):
    result = booking.book(LI, "bath", morning(2), "web", key())
    assert result.ok and result.free_minutes_applied == 0 and result.cost_fen == 5000
    assert booking.entitlement_summary(LI).granted_minutes == 0
    assert booking.free_care_policy(dt.date(2024, 6, 1)).minutes_per_month == 120
    assert booking.free_care_policy(dt.date(2025, 1, 1)).minutes_per_month == 180
    assert booking.free_care_policy(dt.date(2026, 1, 1)).rate_fen_per_hour == 2000


def test_cancel_returns_place_and_hours_once(db_url):
    made = booking.book(ZHANG, "rehab", morning(6), "web", key())
    used = booking.entitlement_summary(ZHANG, morning(6).date()).left_minutes
    assert booking.cancel(made.reference, LI).code == "not_found"  # not his booking
    result = booking.cancel(made.reference, ZHANG, reason="住院了")
    assert result.ok and result.code == "cancelled" and result.minutes_returned == 60
    assert "退回" in result.message
    assert booking.entitlement_summary(ZHANG, morning(6).date()).left_minutes == used + 60
    again = booking.cancel(made.reference, ZHANG)
    assert again.code == "already_cancelled" and again.minutes_returned == 0
    assert booking.entitlement_summary(ZHANG, morning(6).date()).left_minutes == used + 60
    with session_scope() as s:
        b = s.execute(select(Booking).where(Booking.reference == made.reference)).scalar_one()
        assert b.status == "cancelled" and b.window.booked == 0
        assert [h.event for h in b.history] == ["created", "cancelled"]
        assert (
            s.execute(
                select(func.count(SmsOutbox.id)).where(SmsOutbox.related_booking_id == b.id)
            ).scalar_one()
            == 2
        )
    assert booking.list_bookings(ZHANG) == []
    assert [v.status for v in booking.list_bookings(ZHANG, upcoming_only=False)] == ["cancelled"]


def test_reschedule_moves_the_place_and_follows_the_month(db_url):
    made = booking.book(ZHANG, "bath", morning(2), "web", key())
    target = afternoon(3)
    moved = booking.reschedule(made.reference, ZHANG, target)
    assert moved.ok and moved.code == "rescheduled" and moved.window_start == target
    assert moved.reference == made.reference and "改好了" in moved.message
    with session_scope() as s:
        windows = dict(
            s.execute(
                select(CapacityWindow.starts_at, CapacityWindow.booked).where(
                    CapacityWindow.starts_at.in_([morning(2), target]), CapacityWindow.provider_id == 1
                )
            ).all()
        )
        assert windows == {morning(2): 0, target: 1}
        b = s.execute(select(Booking).where(Booking.reference == made.reference)).scalar_one()
        assert [h.event for h in b.history] == ["created", "rescheduled"]
        assert b.entitlement_month == f"{target.year:04d}-{target.month:02d}"
    # across a month: hours go back to the old month and come from the new one
    next_month = (clock.today().replace(day=1) + dt.timedelta(days=40)).replace(day=10)
    far = dt.datetime.combine(next_month, dt.time(8))
    with session_scope() as s:
        has_window = s.execute(
            select(func.count(CapacityWindow.id)).where(CapacityWindow.starts_at == far)
        ).scalar_one()
    if has_window:
        old_month = booking.entitlement_summary(ZHANG, target.date()).left_minutes
        moved = booking.reschedule(made.reference, ZHANG, far)
        assert moved.ok
        assert booking.entitlement_summary(ZHANG, target.date()).left_minutes == old_month + 60
        assert booking.entitlement_summary(ZHANG, far.date()).used_minutes == 60


def test_reschedule_to_a_full_window_changes_nothing(db_url):
    made = booking.book(ZHANG, "bath", morning(2), "web", key())
    _fill(afternoon(2))
    with session_scope() as s:
        before = counts(s)
    result = booking.reschedule(made.reference, ZHANG, afternoon(2))
    assert not result.ok and result.code == "full" and result.alternatives
    with session_scope() as s:
        assert counts(s) == before
        b = s.execute(select(Booking).where(Booking.reference == made.reference)).scalar_one()
        assert b.window.starts_at == morning(2)


def test_a_failing_sms_write_rolls_back_the_whole_booking(db_url, monkeypatch):
    with session_scope() as s:
        before = counts(s)

    def broken_outbox(*args, **kwargs):
        raise RuntimeError("outbox table unavailable")

    monkeypatch.setattr(booking, "send_sms", broken_outbox)
    with pytest.raises(RuntimeError):
        booking.book(ZHANG, "bath", morning(3), "web", key())
    with session_scope() as s:
        assert counts(s) == before


def test_database_refuses_overbooking_and_overspending(db_url):
    engine = create_engine(db_url)
    with pytest.raises(IntegrityError):
        with engine.begin() as c:
            c.execute(text("UPDATE capacity_windows SET booked = capacity + 1 WHERE id = 1"))
    with pytest.raises(IntegrityError):
        with engine.begin() as c:
            c.execute(
                text(
                    "UPDATE entitlement_ledger SET used_minutes = granted_minutes + 1 "
                    "WHERE granted_minutes > 0"
                )
            )
    engine.dispose()


# ----- concurrency ----------------------------------------------------------------------------

ATTEMPTS = 50
PLACES_LEFT = 3


def _race_for_last_window(url: str) -> dict:
    """50 different elders of 五老村 try the same window with 3 places left, released at
    once by a barrier; each thread has its own session (inside book())."""
    start = morning(4)
    with session_scope(url) as s:
        street_id = s.get(Elder, ZHANG).street_id
        for i in range(ATTEMPTS):
            s.add(
                Elder(
                    name=f"测试老人{i}",
                    birth_date=dt.date(1940, 1, 1),
                    phone=f"1770000{i:04d}",
                    street_id=street_id,
                    address=f"五老村测试楼{i}号",
                )
            )
        s.flush()
        elder_ids = list(
            s.execute(select(Elder.id).where(Elder.name.like("测试老人%")).order_by(Elder.id)).scalars()
        )
        s.execute(
            update(CapacityWindow)
            .where(CapacityWindow.provider_id == 1, CapacityWindow.starts_at == start)
            .values(capacity=5, booked=5 - PLACES_LEFT)
        )
    barrier = threading.Barrier(ATTEMPTS)
    results: list = [None] * ATTEMPTS
    errors: list = []

    def attempt(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = booking.book(elder_ids[i], "bath", start, "test", f"race:{i}", database_url=url)
        except Exception as exc:  # recorded and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    won = [r for r in results if r.ok]
    lost = [r for r in results if not r.ok]
    with session_scope(url) as s:
        window = s.execute(
            select(CapacityWindow).where(CapacityWindow.provider_id == 1, CapacityWindow.starts_at == start)
        ).scalar_one()
        rows = s.execute(select(func.count(Booking.id)).where(Booking.window_id == window.id)).scalar_one()
        sms = s.execute(
            select(func.count(SmsOutbox.id)).where(SmsOutbox.to_number.like("+86177%"))
        ).scalar_one()
        used = s.execute(
            select(func.sum(EntitlementLedger.used_minutes)).where(EntitlementLedger.elder_id.in_(elder_ids))
        ).scalar()
        figures = {
            "attempts": ATTEMPTS,
            "succeeded": len(won),
            "full": len(lost),
            "window_booked": window.booked,
            "capacity": window.capacity,
            "booking_rows": rows,
            "sms_rows": sms,
            "free_minutes_used": used or 0,
        }
    print("concurrency figures:", figures)
    assert len(won) == PLACES_LEFT and rows == PLACES_LEFT and sms == PLACES_LEFT
    assert window.booked == window.capacity
    assert (used or 0) == 60 * PLACES_LEFT
    assert all(r.code == "full" and r.alternatives for r in lost)
    assert all(start not in [o.start for o in r.alternatives] for r in lost)
    assert all("约满" in r.message for r in lost)
    return figures


def _race_same_key(url: str) -> None:
    """20 retries of one request at once: exactly one booking."""
    barrier = threading.Barrier(20)
    refs: list = []

    def attempt() -> None:
        barrier.wait(timeout=30)
        refs.append(
            booking.book(ZHANG, "haircut", afternoon(6), "voice", "CA123:turn7", database_url=url).reference
        )

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(refs) == 20 and len(set(refs)) == 1
    with session_scope(url) as s:
        assert booking.count_bookings(s, idempotency_key="CA123:turn7") == 1


def _race_same_visit_different_keys(url: str) -> None:
    """Twelve requests for the same elder, service and time, each with its own key (a caller
    on the phone and her son on the web at once): exactly one booking, the rest are told."""
    start = morning(9)
    barrier = threading.Barrier(12)
    results = []

    def attempt():
        barrier.wait()
        results.append(booking.book(ZHANG, "rehab", start, "web", key(), database_url=url))

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 12
    assert sorted(r.code for r in results).count("booked") == 1
    assert {r.code for r in results} <= {"booked", "already_booked"}
    assert len({r.reference for r in results}) == 1  # all read back the one booking
    with session_scope(url) as s:
        n = s.execute(
            select(func.count(Booking.id))
            .join(CapacityWindow)
            .where(Booking.elder_id == ZHANG, CapacityWindow.starts_at == start, Booking.status == "booked")
        ).scalar_one()
        assert n == 1


def test_concurrent_bookings_sqlite(db_url):
    _race_for_last_window(db_url)
    _race_same_key(db_url)
    _race_same_visit_different_keys(db_url)


def test_the_database_refuses_a_second_active_booking_of_the_same_visit(db_url):
    made = booking.book(ZHANG, "bath", morning(4), "web", key())
    with pytest.raises(IntegrityError):
        with session_scope() as s:
            s.execute(text("UPDATE bookings SET active_visit = NULL WHERE id = -1"))
            first = s.execute(select(Booking).where(Booking.reference == made.reference)).scalar_one()
            copy = Booking(
                **{
                    c.name: getattr(first, c.name)
                    for c in Booking.__table__.columns
                    if c.name not in ("id", "reference", "idempotency_key")
                },
                reference="999999",
                idempotency_key=key(),
            )
            s.add(copy)
            s.flush()
    # once cancelled, the same visit can be booked again
    assert booking.cancel(made.reference, ZHANG).ok
    again = booking.book(ZHANG, "bath", morning(4), "web", key())
    assert again.ok and again.code == "booked" and again.reference != made.reference


def test_a_used_key_never_confirms_another_visit(db_url):
    used = key()
    first = booking.book(ZHANG, "bath", morning(3), "web", used)
    assert first.code == "booked"
    assert booking.book(ZHANG, "bath", morning(3), "web", used).code == "duplicate"  # a retry
    with session_scope() as s:
        before = counts(s)
    other = booking.book(ZHANG, "bath", afternoon(5), "web", used)  # same key, another time
    assert not other.ok and other.code == "key_conflict" and "预约好了" not in other.message
    assert booking.book(LI, "bath", morning(3), "web", used).code == "key_conflict"
    with session_scope() as s:
        assert counts(s) == before


def _pg_admin():
    import psycopg2

    last = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=5432, user=user, dbname="test", connect_timeout=3)
            conn.autocommit = True
            return conn, user
        except psycopg2.Error as exc:
            last = exc
    pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 (users postgres/root, db test): {last}")


@pytest.fixture
def pg_url(monkeypatch):
    conn, user = _pg_admin()
    name = f"booking_test_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://{user}@127.0.0.1:5432/{name}"
    monkeypatch.setenv("DATABASE_URL", url)
    from bot import db
    from bot.demo import loader as demo
    from bot.manage import migrate

    try:
        migrate(url)
        demo.load_if_empty(url)
        yield url
    finally:
        engine = db._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.mark.postgres
def test_concurrent_bookings_postgresql(pg_url):
    _race_for_last_window(pg_url)
    _race_same_key(pg_url)
    _race_same_visit_different_keys(pg_url)


@pytest.mark.postgres
def test_booking_cancel_reschedule_on_postgresql(pg_url):
    made = booking.book(ZHANG, "bath", morning(2), "web", key())
    assert made.ok and made.free_minutes_applied == 60
    assert booking.reschedule(made.reference, ZHANG, afternoon(2)).ok
    assert booking.cancel(made.reference, ZHANG).minutes_returned == 60
    assert booking.entitlement_summary(ZHANG, morning(2).date()).left_minutes == 180
    with pytest.raises(IntegrityError):
        with session_scope() as s:
            s.execute(text("UPDATE capacity_windows SET booked = capacity + 1 WHERE id = 1"))


@pytest.mark.parametrize(
    "said, position",
    [
        ("第一个", 1),
        ("第2个", 2),
        ("我要第二个吧", 2),
        ("就第三个", 3),
        ("要第三个", 3),
        ("头一个", 1),
        ("第九个", 9),
        ("第12个", 12),
        ("2", 2),
        ("两个", 2),
        ("选3", 3),
        ("最后那个", -1),
        ("好", None),
        ("对", None),
        ("明天上午", None),
        ("", None),
        (None, None),
    ],
)
def test_choosing_from_a_list_read_out(said, position):
    from bot.booking.text import ordinal_from_text

    assert ordinal_from_text(said) == position


@pytest.mark.parametrize(
    "said, stop",
    [
        ("不约了", True),
        ("算了", True),
        ("不用来了", True),
        ("阿姨别过来了", True),
        ("甭来了", True),
        ("明天不要来人了", True),
        ("对", False),
        ("文昌巷12号", False),
        ("不用来电话", False),
        ("你们几点来", False),
    ],
)
def test_stopping_in_the_middle_of_a_booking(said, stop):
    from bot.booking.text import wants_to_stop

    assert wants_to_stop(said) is stop


def test_a_name_spelled_out_character_by_character_is_read():
    from bot.booking.text import name_from_text

    assert name_from_text("李建国，木子李，建设的建，国家的国") == "李建国"
    assert name_from_text("是刘淑芬，文刀刘") == "刘淑芬"
    assert name_from_text("陈志明，耳东陈，志气的志，明天的明") == "陈志明"
    assert name_from_text("老人叫王秀英") == "王秀英"


def test_noise_the_classifier_calls_affirm_does_not_confirm_a_booking():
    from bot.booking.text import yes_no

    assert yes_no("滴滴答答滴滴答答", "affirm") is None  # asked again, nothing written
    assert yes_no("对，就这么约吧", "affirm") is True
    assert yes_no("/affirm", "affirm") is True
    assert yes_no("要得要得", "affirm") is True
    assert yes_no("不对", "deny") is False


@pytest.mark.parametrize("said", ["嗯……啊……这个这个", "呃，那个", "啊啊啊", "嗯啊嗯啊"])
def test_hemming_and_hawing_at_a_read_back_is_asked_again(said):
    from bot.booking.text import yes_no

    assert yes_no(said, "affirm") is None and yes_no(said) is None
    assert yes_no("嗯嗯", "affirm") is True and yes_no("嗯，是这样") is True  # a plain yes still is


def test_find_elder_by_name_and_phone_last4(db_url):
    """手机尾号 with her name names her as the ID digits do (the code still proves it)."""
    with session_scope() as s:
        assert booking.find_elder(s, name="王秀英", phone_last4="0003").name == "王秀英"
        assert booking.find_elder(s, name="王秀英", phone_last4="0001") is None
        assert booking.find_elder(s, name="某某某", phone_last4="0003") is None
        assert booking.find_elder(s, phone_last4="0003") is None  # a tail alone names nobody


def test_elder_names_in_text(db_url):
    with session_scope() as s:
        assert booking.elder_names_in(s, "再帮我把李建国下礼拜三的洗澡取消掉") == ["李建国"]
        assert booking.elder_names_in(s, "我妈和刘淑芬阿姨是邻居，张桂兰也认识") == [
            "刘淑芬",
            "张桂兰",
        ] or set(booking.elder_names_in(s, "我妈和刘淑芬阿姨是邻居，张桂兰也认识")) == {"刘淑芬", "张桂兰"}
        assert booking.elder_names_in(s, "帮我查一下我的预约") == []


def test_booking_views_know_the_order_they_were_made_in(db_url):
    first = booking.book(LI, "助餐", afternoon(3), "web", key())
    second = booking.book(LI, "助浴", morning(2), "web", key())
    views = booking.list_bookings(LI)
    assert [v.reference for v in views] == [second.reference, first.reference]  # soonest first
    assert max(views, key=lambda v: v.booked_seq).reference == second.reference
