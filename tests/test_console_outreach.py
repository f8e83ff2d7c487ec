"""The advisor console's outbound-care page (issue 21 point 5): each check-in campaign
member's state this month (bot/outreach/progress.py), the counts as filters, the visit
reminders of a day, and an advisor putting an elder on the refusal list. Rows are written
with the ORM on a migrated SQLite database with the demo personas; the suite clock is
2026-11-23 10:00 China time."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select

from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models import Elder, Handoff, SmsOptOut
from bot.models.console import AuditEntry
from bot.models.outreach import OutreachContact, OutreachRefusal
from bot.models.people import Street
from bot.outreach import rules
from bot.outreach.campaign import checkin_campaign
from bot.outreach.progress import STATES, checkin_progress, reminder_progress
from tests.test_console_security import csrf_token

from tests.console_fixtures import advisor_client  # noqa: F401  (the fixture `client`)

ZHANG, LI, WANG, CHEN, LIU = 1, 2, 3, 4, 5  # demo personas (bot/demo/loader.py)
NOV = dt.date(2026, 11, 1)
TODAY = dt.date(2026, 11, 23)  # the suite clock's China date


def nov(day: int) -> dt.date:
    return dt.date(2026, 11, day)


def add_elder(s, name: str, phone: str, living: str = "独居") -> int:
    street_id = s.execute(select(Street.id).where(Street.name == "五老村")).scalar_one()
    elder = Elder(
        name=name,
        birth_date=dt.date(1940, 3, 1),
        gender="女",
        phone=phone,
        street_id=street_id,
        living_situation=living,
    )
    s.add(elder)
    s.flush()
    return elder.id


def call(
    s,
    elder_id: int,
    day: dt.date,
    attempt_no: int,
    status: str,
    outcome: str | None,
    *,
    handoff_id: int | None = None,
    campaign: str = "2026-11",
) -> None:
    s.add(
        OutreachContact(
            kind="checkin",
            elder_id=elder_id,
            channel="call",
            to_number="13800000000",
            day=day,
            status=status,
            outcome=outcome,
            attempt_no=attempt_no,
            campaign=campaign,
            handoff_id=handoff_id,
            attempt_key=f"checkin:{uuid.uuid4().hex[:16]}",
        )
    )


def task(s, kind: str, elder_id: int, status: str = "open") -> int:
    handoff = Handoff(
        kind=kind,
        priority=3,
        channel="voice",
        elder_id=elder_id,
        summary="请上门探访" if kind == "visit_needed" else "问候时说想要助餐",
        status=status,
    )
    s.add(handoff)
    s.flush()
    return handoff.id


@pytest.fixture
def month(db_url):
    """November 2026: one member in every state. Returns the ids of the added elders and
    tasks. 李建国 is unreachable (two days); 孙秀兰 rang twice on one day (still in progress)."""
    with session_scope() as s:
        ids = {
            "sun": add_elder(s, "孙秀兰", "13900000011"),
            "zhou": add_elder(s, "周玉梅", "13900000012"),
            "wu": add_elder(s, "吴美华", "13900000013", living="空巢"),
        }
        call(s, ZHANG, nov(3), 1, "sent", "reached")
        call(s, ZHANG, nov(3), 1, "sent", "reached", campaign="2026-10")  # another month
        ids["visit"] = task(s, "visit_needed", LI)
        call(s, LI, nov(4), 1, "failed", "no_answer", handoff_id=ids["visit"])
        call(s, LI, nov(5), 2, "failed", "no_answer", handoff_id=ids["visit"])
        ids["need"] = task(s, "checkin_need", WANG)
        call(s, WANG, nov(6), 1, "sent", "needs_followup", handoff_id=ids["need"])
        rules.add_refusal(s, source="voice", elder_id=LIU, note="电话里说不要再打")
        call(s, ids["sun"], nov(10), 1, "failed", "no_answer")
        call(s, ids["sun"], nov(10), 2, "failed", "no_answer")
        s.add(
            OutreachContact(
                kind="checkin",
                elder_id=ids["zhou"],
                channel="call",
                day=nov(9),
                status="skipped",
                reason="quiet hours",
                campaign="2026-11",
            )
        )
        s.add(SmsOptOut(number="13900000013"))  # 吴美华's number replied 退订
    return ids


def states(progress) -> dict[int, str]:
    return {r.elder_id: r.state for r in progress.rows}


# --- bot/outreach/progress.py -------------------------------------------------------------


def test_the_demo_members_are_who_the_campaign_file_says(db_url):
    with session_scope() as s:
        members = {e.id: why for e, why in checkin_campaign().members(s)}
    assert members == {
        ZHANG: ["独居", "轻度失能"],
        LI: ["重度失能", "低保"],
        WANG: ["中度失能"],
        LIU: ["空巢", "计划生育特殊家庭"],
    }
    assert CHEN not in members


def month_states(month) -> dict:
    """The state of each member in November as the `month` fixture leaves it."""
    return {
        ZHANG: "reached",
        LI: "unreachable",
        WANG: "needs_followup",
        LIU: "opted_out",
        month["sun"]: "in_progress",
        month["zhou"]: "not_yet",
        month["wu"]: "opted_out",
    }


def test_each_member_gets_one_state_and_the_counts_add_up(month):
    with session_scope() as s:
        progress = checkin_progress(s, NOV)
    assert states(progress) == month_states(month)
    assert progress.counts == {
        "opted_out": 2,
        "needs_followup": 1,
        "reached": 1,
        "unreachable": 1,
        "in_progress": 1,
        "not_yet": 1,
    }
    assert list(progress.counts) == list(STATES) and progress.members == 7
    rows = {r.elder_id: r for r in progress.rows}
    li = rows[LI]
    assert (li.name, li.street, li.reasons) == ("李建国", "夫子庙", ("重度失能", "低保"))
    assert (li.attempts, li.last_attempt) == (2, nov(5))
    assert (li.handoff_id, li.handoff_kind, li.handoff_status) == (month["visit"], "visit_needed", "open")
    assert rows[WANG].handoff_id == month["need"] and rows[ZHANG].handoff_id is None
    assert (rows[month["sun"]].attempts, rows[month["sun"]].last_attempt) == (2, nov(10))
    # a skip (quiet hours) is not an attempt: nobody was dialled
    assert (rows[month["zhou"]].attempts, rows[month["zhou"]].last_attempt) == (0, None)
    assert rows[LIU].attempts == 0


def test_another_month_is_counted_on_its_own(month):
    with session_scope() as s:
        october = checkin_progress(s, dt.date(2026, 10, 15))
        december = checkin_progress(s, dt.date(2026, 12, 1))
    assert october.campaign == "2026-10" and october.month == dt.date(2026, 10, 1)
    assert states(october)[ZHANG] == "reached" and states(october)[LI] == "not_yet"
    # the refusal list and 退订 hold whatever the month
    assert december.counts == {
        "opted_out": 2,
        "needs_followup": 0,
        "reached": 0,
        "unreachable": 0,
        "in_progress": 0,
        "not_yet": 5,
    }


def test_the_first_state_that_applies_wins(db_url):
    with session_scope() as s:
        # unanswered on two days, then picked up and hung up: somebody answered
        call(s, ZHANG, nov(2), 1, "failed", "no_answer")
        call(s, ZHANG, nov(3), 2, "failed", "no_answer")
        call(s, ZHANG, nov(4), 3, "sent", "hung_up")
        # a need found, then she asked not to be called again
        call(s, LI, nov(2), 1, "sent", "needs_followup")
        call(s, LI, nov(5), 2, "sent", "opted_out")
        # reached, and later an emergency: the follow-up comes first
        call(s, WANG, nov(2), 1, "sent", "reached")
        call(s, WANG, nov(6), 2, "sent", "emergency")
        # her number (not her record) is on the refusal list
        rules.add_refusal(s, source="sms", number="+86 138-0000-0005")
    with session_scope() as s:
        got = states(checkin_progress(s, NOV))
    assert got == {ZHANG: "in_progress", LI: "opted_out", WANG: "needs_followup", LIU: "opted_out"}


def test_unreachable_follows_the_campaign_files_number_of_days(month):
    from dataclasses import replace

    three_days = replace(checkin_campaign(), unanswered_attempts_for_visit=3)
    with session_scope() as s:
        assert states(checkin_progress(s, NOV, three_days))[LI] == "in_progress"
        call(s, LI, nov(12), 3, "failed", None)  # failed, outcome not written yet
    with session_scope() as s:
        assert states(checkin_progress(s, NOV, three_days))[LI] == "unreachable"


def test_progress_takes_a_handful_of_queries_whatever_the_number_of_members(month, db_url):
    from sqlalchemy import event

    from bot.db import get_engine

    with session_scope() as s:
        for i in range(200):
            elder = add_elder(s, f"测试{i}", f"1370000{i:04d}")
            call(s, elder, nov(4), 1, "failed", "no_answer")
    statements = []
    engine = get_engine()

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope() as s:
            progress = checkin_progress(s, NOV)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert progress.counts["in_progress"] == 201 and progress.members == 207
    assert len(statements) <= 6, len(statements)


# --- reminders ------------------------------------------------------------------------------


def book_tomorrow() -> dict[str, str]:
    """Three booked visits of tomorrow (2026-11-24), by who."""
    refs = {}
    for who, elder_id, service, hour in (
        ("zhang", ZHANG, "bath", 8),
        ("li", LI, "cleaning", 13),
        ("wang", WANG, "meal", 8),
    ):
        result = booking.book(
            elder_id, service, dt.datetime(2026, 11, 24, hour), "web", f"test:{uuid.uuid4().hex}"
        )
        assert result.ok, result.message
        refs[who] = result.reference
    return refs


def add_reminder(
    s, reference: str, channel: str, status: str, outcome: str | None = None, day: dt.date = TODAY
) -> None:
    from bot.models.booking import Booking

    b = s.execute(select(Booking).where(Booking.reference == reference)).scalar_one()
    s.add(
        OutreachContact(
            kind="reminder",
            elder_id=b.elder_id,
            booking_id=b.id,
            channel=channel,
            to_number="13800000000",
            day=day,
            status=status,
            outcome=outcome,
        )
    )


@pytest.fixture
def reminders(db_url):
    refs = book_tomorrow()
    with session_scope() as s:
        add_reminder(s, refs["zhang"], "sms", "queued")
        add_reminder(s, refs["li"], "call", "sent", "confirmed")
        add_reminder(s, refs["wang"], "call", "failed", "no_answer")
        add_reminder(s, refs["wang"], "call", "failed", "no_answer", day=nov(22))  # another day
    return refs


def test_reminder_progress_counts_one_day_by_channel_and_result(reminders):
    with session_scope() as s:
        got = reminder_progress(s, TODAY)
    assert got.total == 3 and got.by_channel == {"call": 2, "sms": 1}
    assert got.by_result == {("call", "confirmed"): 1, ("call", "no_answer"): 1, ("sms", "queued"): 1}
    rows = {r.booking_reference: r for r in got.rows}
    assert set(rows) == set(reminders.values())
    li = rows[reminders["li"]]
    assert (li.elder_id, li.name, li.channel, li.status, li.outcome) == (
        LI,
        "李建国",
        "call",
        "sent",
        "confirmed",
    )
    assert (li.result_zh, li.channel_zh) == ("已确认上门", "电话")
    assert rows[reminders["zhang"]].result == "queued"
    with session_scope() as s:
        assert reminder_progress(s, nov(22)).total == 1
        assert reminder_progress(s, nov(21)).rows == ()


# --- the page -------------------------------------------------------------------------------


def table_rows(html: str) -> dict[int, str]:
    """elder id -> state of each row of the check-in table."""
    return {int(i): st for i, st in re.findall(r'data-elder-id="(\d+)" data-state="(\w+)"', html)}


def count_of(html: str, state: str) -> int:
    match = re.search(rf'data-state="{state}" href="[^"]*"[^>]*>[^<]*<strong class="count">(\d+)<', html)
    assert match, state
    return int(match.group(1))


def test_the_page_shows_counts_states_and_links(client, month):
    r = client.get("/advisor/outreach")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "2026年11月问候电话" in html and 'href="/advisor/outreach"' in html  # nav link
    assert table_rows(html) == month_states(month)
    for state, label, n in (
        ("reached", "已联系上", 1),
        ("needs_followup", "需要跟进", 1),
        ("unreachable", "联系不上", 1),
        ("opted_out", "已拒绝联系", 2),
        ("in_progress", "进行中", 1),
        ("not_yet", "尚未联系", 1),
    ):
        assert count_of(html, state) == n and label in html
        assert f'href="/advisor/outreach?state={state}&amp;month=2026-11&amp;day=2026-11-23"' in html
    for elder_id, name in ((ZHANG, "张桂兰"), (LI, "李建国"), (LIU, "刘淑芬")):
        assert f'<a href="/advisor/elders/{elder_id}">{name}</a>' in html
    assert "重度失能、低保" in html and "空巢、计划生育特殊家庭" in html
    assert f"第{month['visit']}号：请上门探访" in html and f"第{month['need']}号：问候电话发现需要" in html
    assert 'href="/advisor/queue"' in html
    assert "11月5日" in html  # 李建国's last attempt
    # names and streets only: no phone number of anyone on the page
    assert not re.search(r"1[3-9]\d{9}", html) and "0001" not in html
    # who looked at the list is recorded
    with session_scope() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "view_outreach")).scalar_one()
    assert entry.actor == "wangli" and "month=2026-11" in entry.detail


def test_a_count_filters_the_table(client, month):
    html = client.get("/advisor/outreach?state=opted_out&month=2026-11").get_data(as_text=True)
    assert table_rows(html) == {LIU: "opted_out", month["wu"]: "opted_out"}
    assert re.search(r'data-state="opted_out"[^>]*aria-current="page"', html)
    assert len(re.findall(r'aria-current="page"', html)) == 1
    html = client.get("/advisor/outreach?state=unreachable").get_data(as_text=True)
    assert table_rows(html) == {LI: "unreachable"}
    html = client.get("/advisor/outreach?state=reached&month=2026-12").get_data(as_text=True)
    assert table_rows(html) == {} and "本月没有“已联系上”的老人" in html
    # an unknown state shows everyone
    assert len(table_rows(client.get("/advisor/outreach?state=bogus").get_data(as_text=True))) == 7


@pytest.mark.parametrize("raw", ["2026-13", "十一月", "2026/11", "0000-01", "<script>"])
def test_a_bad_month_gets_a_chinese_message_and_this_month(client, month, raw):
    r = client.get("/advisor/outreach", query_string={"month": raw})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "看不懂，请按“2026-11”这样的格式填写" in html and "下面显示的是本月（2026-11）" in html
    assert "2026年11月问候电话" in html and len(table_rows(html)) == 7
    assert "<script>" not in html


def test_a_bad_day_gets_a_chinese_message_and_today(client, reminders):
    html = client.get("/advisor/outreach?day=2026-11-31").get_data(as_text=True)
    assert "日期“2026-11-31”看不懂" in html and "下面显示的是今天（2026-11-23）" in html
    assert "11月23日发出" in html and reminders["li"] in html


def test_the_default_month_and_day_follow_the_clock(client, month, pin_clock):
    pin_clock("2026-12-01T09:00")
    html = client.get("/advisor/outreach").get_data(as_text=True)
    assert "2026年12月问候电话" in html and "12月1日发出" in html
    assert set(table_rows(html).values()) == {"not_yet", "opted_out"}


def test_the_page_shows_the_reminders_of_a_day(client, reminders):
    html = client.get("/advisor/outreach?day=2026-11-23").get_data(as_text=True)
    assert '共 <strong class="reminder-total">3</strong> 条' in html
    assert "电话 2 条" in html and "短信 1 条" in html
    assert 'data-channel="call" data-result="confirmed"' in html and "已确认上门" in html
    assert "没有接听" in html and "已发出" in html
    for ref in reminders.values():
        assert ref in html
    assert f'<a href="/advisor/elders/{LI}">李建国</a>' in html
    assert not re.search(r"1[3-9]\d{9}", html)
    html = client.get("/advisor/outreach?day=2026-11-21").get_data(as_text=True)
    assert "这一天没有发出上门服务提醒" in html


def test_a_logged_out_request_goes_to_the_login(db_url):
    from server import create_app

    anonymous = create_app({"TESTING": True}).test_client()
    r = anonymous.get("/advisor/outreach")
    assert r.status_code == 302 and "/advisor/login" in r.headers["Location"]
    r = anonymous.post(f"/advisor/outreach/refuse/{ZHANG}", data={"note": "x"})
    assert r.status_code == 400  # the CSRF check comes first: refused either way
    with session_scope() as s:
        assert not rules.refused(s, ZHANG)


# --- the refusal --------------------------------------------------------------------------


def refusals(s) -> list[OutreachRefusal]:
    return s.execute(select(OutreachRefusal).order_by(OutreachRefusal.id)).scalars().all()


def test_an_advisor_puts_an_elder_on_the_refusal_list(client, month):
    page = client.get("/advisor/outreach?state=reached").get_data(as_text=True)
    assert f'action="/advisor/outreach/refuse/{ZHANG}"' in page and 'for="note-1"' in page
    r = client.post(
        f"/advisor/outreach/refuse/{ZHANG}",
        data={
            "csrf_token": csrf_token(page),
            "note": "女儿来电：老人不想再接电话",
            "month": "2026-11",
            "state": "reached",
        },
    )
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/advisor/outreach?month=2026-11&state=reached")
    with session_scope() as s:
        row = refusals(s)[-1]
        assert (row.elder_id, row.source, row.created_by, row.note) == (
            ZHANG,
            "advisor",
            "wangli",
            "女儿来电：老人不想再接电话",
        )
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "outreach_refusal")).scalar_one()
        assert (entry.actor, entry.elder_id, entry.detail) == ("wangli", ZHANG, "女儿来电：老人不想再接电话")
        assert states(checkin_progress(s, NOV))[ZHANG] == "opted_out"
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已登记：张桂兰不再接到" in html and table_rows(html) == {}


def test_a_refusal_needs_a_note_and_is_not_recorded_twice(client, month):
    token = csrf_token(client.get("/advisor/outreach").get_data(as_text=True))
    with session_scope() as s:
        before = len(refusals(s))
    r = client.post(
        f"/advisor/outreach/refuse/{ZHANG}", data={"csrf_token": token, "note": "  "}, follow_redirects=True
    )
    assert "请填写说明" in r.get_data(as_text=True)
    r = client.post(
        f"/advisor/outreach/refuse/{LIU}", data={"csrf_token": token, "note": "再登记"}, follow_redirects=True
    )
    assert "刘淑芬已经在拒绝联系名单上了" in r.get_data(as_text=True)
    r = client.post(
        "/advisor/outreach/refuse/9999", data={"csrf_token": token, "note": "x"}, follow_redirects=True
    )
    assert "没有这位老人的档案" in r.get_data(as_text=True)
    with session_scope() as s:
        assert len(refusals(s)) == before
        assert (
            s.execute(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "outreach_refusal")
            ).scalar_one()
            == 0
        )


def test_a_refusal_needs_the_csrf_token(client, month):
    r = client.post(f"/advisor/outreach/refuse/{ZHANG}", data={"note": "没有令牌"})
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    r = client.post(f"/advisor/outreach/refuse/{ZHANG}", data={"note": "伪造", "csrf_token": "forged"})
    assert r.status_code == 400
    with session_scope() as s:
        assert not rules.refused(s, ZHANG)
