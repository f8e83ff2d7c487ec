"""Visit reminders by SMS (bot/outreach/): tomorrow's visits get one SMS each, within the
contact rules; every SMS and skip is recorded; two runs at once send nothing twice."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import func, select

from bot import clock
from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models import Elder, SmsOptOut, SmsOutbox
from bot.models.booking import CapacityWindow
from bot.models.outreach import JobRun, OutreachContact
from bot.outreach import rules
from bot.outreach.calls import NO_CREDENTIALS
from bot.outreach.jobs import run_reminder_job
from bot.outreach.reminders import due_reminders, reminder_reply_payload, send_reminders

ZHANG = 1  # 张桂兰, 13800000001, 五老村
LI = 2  # 李建国, 13800000002, 夫子庙
WANG = 3  # 王秀英, 13800000003, 中华门


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def book(elder_id: int, service: str, start: dt.datetime) -> str:
    result = booking.book(elder_id, service, start, "web", key())
    assert result.ok, result.message
    return result.reference


def at(day: str, hour: int) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour))


def reminder_sms(session) -> list[SmsOutbox]:
    return (
        session.execute(select(SmsOutbox).where(SmsOutbox.body.contains("提醒您")).order_by(SmsOutbox.id))
        .scalars()
        .all()
    )


def contacts(session) -> list[OutreachContact]:
    return session.execute(select(OutreachContact).order_by(OutreachContact.id)).scalars().all()


def test_tomorrows_visits_get_one_sms_each(db_url, pin_clock):
    ref_bath = book(ZHANG, "bath", at("2026-11-24", 8))
    ref_clean = book(LI, "cleaning", at("2026-11-24", 13))
    ref_later = book(WANG, "meal", at("2026-11-25", 8))  # the day after: not yet
    pin_clock("2026-11-23T18:00")
    run = send_reminders()
    assert run.day == dt.date(2026, 11, 23) and not run.quiet_hours
    assert [o.status for o in run.outcomes] == ["queued", "queued"]
    with session_scope() as s:
        sms = reminder_sms(s)
        assert [m.to_number for m in sms] == ["+8613800000001", "+8613800000002"]
        assert "助浴" in sms[0].body and "11月24日，星期二，上午" in sms[0].body
        assert ref_bath in sms[0].body and "张桂兰" in sms[0].body
        assert "助洁" in sms[1].body and "下午" in sms[1].body and ref_clean in sms[1].body
        assert "回复“改时间”" in sms[0].body and "回复“取消”" in sms[0].body
        assert not any(ref_later in m.body for m in sms)
        rows = contacts(s)
        assert [(c.kind, c.channel, c.status, c.to_number, c.day) for c in rows] == [
            ("reminder", "sms", "queued", "13800000001", dt.date(2026, 11, 23)),
            ("reminder", "sms", "queued", "13800000002", dt.date(2026, 11, 23)),
        ]
        assert rows[0].sms_outbox_id == sms[0].id


def test_second_run_sends_nothing_again(db_url, pin_clock):
    book(ZHANG, "bath", at("2026-11-24", 8))
    pin_clock("2026-11-23T18:00")
    assert send_reminders().count("queued") == 1
    again = send_reminders()
    assert [o.status for o in again.outcomes] == ["already"]
    with session_scope() as s:
        assert len(reminder_sms(s)) == 1 and len(contacts(s)) == 1


def test_last_day_of_month(db_url, pin_clock):
    ref = book(ZHANG, "bath", at("2026-12-01", 8))
    book(LI, "bath", at("2026-11-30", 13))  # today's visit: no reminder
    pin_clock("2026-11-30T18:00")
    run = send_reminders()
    assert run.visit_day == dt.date(2026, 12, 1)
    assert [o.due.reference for o in run.outcomes] == [ref]
    with session_scope() as s:
        (sms,) = reminder_sms(s)
        assert "12月1日，星期二，上午" in sms.body and ref in sms.body


def test_last_day_of_year(db_url, pin_clock):
    with session_scope() as s:  # 1 January is a public holiday: open one window for the test
        template = s.execute(
            select(CapacityWindow).where(
                CapacityWindow.day == dt.date(2026, 12, 31), CapacityWindow.part == "上午"
            )
        ).scalars()
        for w in list(template):
            s.add(
                CapacityWindow(
                    provider_id=w.provider_id,
                    day=dt.date(2027, 1, 1),
                    part="上午",
                    starts_at=at("2027-01-01", 8),
                    ends_at=at("2027-01-01", 12),
                    capacity=2,
                    booked=0,
                )
            )
    ref = book(ZHANG, "bath", at("2027-01-01", 8))
    pin_clock("2026-12-31T18:00")
    run = send_reminders()
    assert [o.status for o in run.outcomes] == ["queued"]
    with session_scope() as s:
        (sms,) = reminder_sms(s)
        assert "2027年1月1日，星期五，上午" in sms.body and ref in sms.body


@pytest.mark.parametrize("moment", ["2026-11-23T21:00", "2026-11-23T08:59"])
def test_quiet_hours_send_nothing_and_say_why(db_url, pin_clock, moment):
    book(ZHANG, "bath", at("2026-11-24", 8))
    pin_clock(moment)
    run = send_reminders()
    assert run.quiet_hours and "quiet hours" in run.summary()
    with session_scope() as s:
        assert reminder_sms(s) == []
        (row,) = contacts(s)
        assert (row.status, row.reason, row.attempt_key) == ("skipped", rules.QUIET_HOURS, None)
    pin_clock("2026-11-23T19:59")  # a run within hours still sends
    assert send_reminders().count("queued") == 1


def test_contact_hours_edges():
    china = clock.CHINA_TZ
    assert rules.within_contact_hours(dt.datetime(2026, 11, 23, 9, 0, tzinfo=china))
    assert rules.within_contact_hours(dt.datetime(2026, 11, 23, 19, 59, tzinfo=china))
    assert not rules.within_contact_hours(dt.datetime(2026, 11, 23, 20, 0, tzinfo=china))
    # 01:00 UTC is 09:00 in China
    assert rules.within_contact_hours(dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc))


def test_opted_out_refused_and_deceased_are_skipped_a_landline_is_called(db_url, pin_clock):
    for elder_id in (ZHANG, LI, WANG, 4, 5):
        book(elder_id, "bath" if elder_id != 4 else "cleaning", at("2026-11-24", 8))
    with session_scope() as s:
        s.add(SmsOptOut(number="13800000001"))  # replied 退订
        rules.add_refusal(s, source="advisor", elder_id=LI, created_by="advisor1")
        s.get(Elder, WANG).status = "deceased"
        s.get(Elder, 4).phone = "02584441234"  # a landline
    pin_clock("2026-11-23T18:00")
    run = send_reminders()
    by_elder = {o.due.elder_id: (o.status, o.reason) for o in run.outcomes}
    assert by_elder == {
        ZHANG: ("skipped", rules.OPTED_OUT),
        LI: ("skipped", rules.REFUSED),
        WANG: ("skipped", "inactive elder (deceased)"),
        4: ("queued", NO_CREDENTIALS),
        5: ("queued", None),
    }
    assert {o.due.elder_id: o.due.channel for o in run.outcomes}[4] == "call"
    with session_scope() as s:
        assert [m.to_number for m in reminder_sms(s)] == ["+8613800000005"]
        assert len(contacts(s)) == 5  # every skip recorded with its reason
    assert send_reminders().count("already") == 5  # lasting skips are decided once


def test_opt_out_after_booking_stops_the_reminder(db_url, pin_clock):
    from bot.contact.sms import opt_out

    book(ZHANG, "bath", at("2026-11-24", 8))
    assert opt_out("+86 138 0000 0001")
    pin_clock("2026-11-23T18:00")
    assert send_reminders().count("queued") == 0


def test_cancelled_booking_is_not_reminded(db_url, pin_clock):
    ref = book(ZHANG, "bath", at("2026-11-24", 8))
    assert booking.cancel(ref, ZHANG).ok
    pin_clock("2026-11-23T18:00")
    assert send_reminders().outcomes == []


def test_dry_run_writes_nothing(db_url, pin_clock):
    book(ZHANG, "bath", at("2026-11-24", 8))
    book(LI, "bath", at("2026-11-24", 8))
    with session_scope() as s:
        s.add(SmsOptOut(number="13800000002"))
        outbox_before = s.execute(select(func.count(SmsOutbox.id))).scalar_one()
    pin_clock("2026-11-23T18:00")
    run = send_reminders(dry_run=True)
    assert [o.status for o in run.outcomes] == ["would_send", "would_skip"]
    assert "dry run" in run.summary()
    with session_scope() as s:
        assert s.execute(select(func.count(SmsOutbox.id))).scalar_one() == outbox_before
        assert contacts(s) == []


def test_due_reminders_for_a_given_day(db_url):
    ref = book(ZHANG, "bath", at("2026-11-26", 13))
    with session_scope() as s:
        assert [d.reference for d in due_reminders(s, dt.date(2026, 11, 25))] == [ref]
        assert due_reminders(s, dt.date(2026, 11, 24)) == []


def at_once(fn, n: int) -> list:
    """Runs `fn()` in n threads released together; their results."""
    barrier = threading.Barrier(n)
    results: list = []

    def run():
        barrier.wait()
        results.append(fn())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_schedulers_at_once_send_once(db_url, pin_clock):
    for elder_id in (ZHANG, LI, 5):
        book(elder_id, "bath", at("2026-11-24", 8))
    pin_clock("2026-11-23T18:00")
    results = at_once(run_reminder_job, 2)
    ran = [r for r in results if r is not None]
    assert len(results) == 2 and len(ran) == 1  # exactly one claimed the run
    with session_scope() as s:
        assert len(reminder_sms(s)) == 3
        (job,) = s.execute(select(JobRun)).scalars().all()
        assert (job.job, job.run_key, job.status) == ("remind", "2026-11-23", "done")


def test_two_manual_runs_at_once_send_once(db_url, pin_clock):
    """Without the job claim (CLI runs), the contact row's unique key alone keeps it once."""
    for elder_id in (ZHANG, LI, 5):
        book(elder_id, "bath", at("2026-11-24", 8))
    pin_clock("2026-11-23T18:00")
    runs = at_once(send_reminders, 3)
    assert sum(r.count("queued") for r in runs) == 3
    with session_scope() as s:
        assert len(reminder_sms(s)) == 3 and len(contacts(s)) == 3


def test_reply_to_a_reminder_goes_to_the_booking_conversation(db_url, pin_clock, monkeypatch):
    from server import rasa_client
    from server.telephony import dialogue
    from server.telephony.base import SmsEvent

    book(ZHANG, "bath", at("2026-11-24", 8))
    pin_clock("2026-11-23T18:00")
    send_reminders()
    sent: list[str] = []

    def fake_send(sender, message, metadata=None, **_kw):
        sent.append(message)
        return rasa_client.ChatResult(replies=[rasa_client.Reply(text="好的。")])

    monkeypatch.setattr(rasa_client, "send_message", fake_send)
    for body in ("改时间", "改个时间", "取消"):
        dialogue.sms_turn(SmsEvent(uuid.uuid4().hex, "+8613800000001", "12349", body))
    dialogue.sms_turn(SmsEvent(uuid.uuid4().hex, "+8613800000002", "12349", "改时间"))  # not reminded
    assert sent == ["/reschedule_booking", "/reschedule_booking", "/cancel_booking", "改时间"]
    pin_clock("2026-11-24T09:00")  # the morning of the visit: still an answer to it
    assert reminder_reply_payload("13800000001", "改时间") == "/reschedule_booking"
    pin_clock("2026-11-25T09:00")
    assert reminder_reply_payload("13800000001", "改时间") is None


def test_scheduler_fires_at_reminder_time_china(db_url, monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.outreach import scheduler

    monkeypatch.setenv("REMINDER_TIME", "18:30")
    sched = scheduler.build_scheduler(BackgroundScheduler)
    sched.start(paused=True)
    try:
        job = sched.get_job(scheduler.REMIND_JOB_ID)
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("18", "30")
        assert job.func is scheduler.remind_job
    finally:
        sched.shutdown(wait=False)
    assert scheduler.reminder_time("18:00") == (18, 0)
    with pytest.raises(ValueError):
        scheduler.reminder_time("25:00")


def test_cli_remind_prints_each_booking_and_a_summary(db_url, pin_clock):
    from server import create_app

    ref = book(ZHANG, "bath", at("2026-11-24", 8))
    book(LI, "bath", at("2026-11-24", 13))
    with session_scope() as s:
        s.add(SmsOptOut(number="13800000002"))
    pin_clock("2026-11-23T18:00")
    app = create_app({"TESTING": True})
    dry = app.test_cli_runner().invoke(args=["care", "remind", "--date", "2026-11-23", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.strip().splitlines()
    assert lines[0].startswith(f"booking {ref} elder #1 助浴 2026-11-24 上午 -> ")
    assert "would_send" in lines[0] and "13800000001" not in dry.output  # masked
    assert "would_skip" in lines[1] and "退订" in lines[1]
    assert lines[-1] == (
        "remind 2026-11-23 (visits on 2026-11-24) dry run: 2 bookings, "
        "1 would be reminded, 1 would be skipped, 0 already reminded"
    )
    real = app.test_cli_runner().invoke(args=["care", "remind"])
    assert real.exit_code == 0, real.output
    assert real.output.strip().splitlines()[-1] == (
        "remind 2026-11-23 (visits on 2026-11-24): 2 bookings, 1 texted, 0 called, 0 failed, "
        "1 skipped, 0 already reminded"
    )
    bad = app.test_cli_runner().invoke(args=["care", "remind", "--date", "2026-11-31"])
    assert bad.exit_code != 0


def test_cli_refuse_puts_the_elder_on_the_list(db_url, pin_clock):
    from server import create_app

    book(ZHANG, "bath", at("2026-11-24", 8))
    app = create_app({"TESTING": True})
    out = app.test_cli_runner().invoke(args=["care", "refuse", "1", "--note", "家属要求"])
    assert out.exit_code == 0, out.output
    pin_clock("2026-11-23T18:00")
    assert [o.reason for o in send_reminders().outcomes] == [rules.REFUSED]
    assert app.test_cli_runner().invoke(args=["care", "refuse", "999"]).exit_code != 0


def test_a_failed_run_may_be_claimed_again_but_a_finished_one_not(db_url, pin_clock, monkeypatch):
    from bot.outreach import jobs

    book(ZHANG, "bath", at("2026-11-24", 8))
    pin_clock("2026-11-23T18:00")

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    with monkeypatch.context() as m:
        m.setattr(jobs, "send_reminders", broken)
        with pytest.raises(RuntimeError):
            jobs.run_reminder_job()
    pin_clock("2026-11-23T18:05")
    assert jobs.run_reminder_job() is not None  # the failed run is taken over
    assert jobs.run_reminder_job() is None  # a finished run is not run twice
    with session_scope() as s:
        assert len(reminder_sms(s)) == 1
        (job,) = s.execute(select(JobRun)).scalars().all()
        assert job.status == "done"


def test_a_relative_who_booked_gets_the_confirmation_and_the_reminder(db_url, pin_clock):
    """Her daughter proved herself with a code sent to the family contact's phone on file
    and booked: the notices of that visit go to the daughter, naming her mother."""
    from bot import identity
    from bot.models.identity import IdentityProof

    sender = "web-daughter-test"
    with session_scope() as s:
        elder = s.get(Elder, ZHANG)
        elder.emergency_contact_phone, elder.emergency_contact_name = "13900000011", "王丽"
        s.add(
            IdentityProof(
                sender_id=sender,
                elder_id=ZHANG,
                method="sms_code",
                channel="web",
                acting_for=True,
                relation="女儿",
                contact_name="王丽",
                proved_with="139****0011",
            )
        )
    assert identity.proved_through_family_contact(sender, ZHANG)
    assert not identity.proved_through_family_contact("web-someone-else", ZHANG)
    result = booking.book(ZHANG, "bath", at("2026-11-24", 8), "web", key(), notify="family_contact")
    assert result.ok
    with session_scope() as s:
        confirmation = s.get(SmsOutbox, result.sms_outbox_id)
        assert confirmation.to_number == "+8613900000011"
        assert "为张桂兰预约" in confirmation.body and "张桂兰您好" not in confirmation.body
    pin_clock("2026-11-23T18:00")
    assert [o.status for o in send_reminders().outcomes] == ["queued"]
    with session_scope() as s:
        sms = reminder_sms(s)
        assert [m.to_number for m in sms] == ["+8613900000011"]
        assert sms[0].body.startswith("【12349养老服务】您好，提醒您：明天") and "张桂兰有助浴" in sms[0].body


def test_the_elder_who_booked_herself_is_reminded_herself(db_url, pin_clock):
    from bot import identity
    from bot.models.identity import IdentityProof

    with session_scope() as s:
        s.get(Elder, ZHANG).emergency_contact_phone = "13900000011"
        s.add(
            IdentityProof(
                sender_id="web-herself",
                elder_id=ZHANG,
                method="sms_code",
                channel="web",
                acting_for=False,
                proved_with="138****0001",
            )
        )
    assert not identity.proved_through_family_contact("web-herself", ZHANG)
    book(ZHANG, "bath", at("2026-11-24", 8))
    pin_clock("2026-11-23T18:00")
    send_reminders()
    with session_scope() as s:
        assert [m.to_number for m in reminder_sms(s)] == ["+8613800000001"]


def test_a_landline_elders_notices_go_to_her_familys_mobile_and_the_reminder_is_a_call(db_url, pin_clock):
    from bot.models import Handoff

    with session_scope() as s:
        elder = s.get(Elder, 4)
        elder.phone, elder.emergency_contact_phone = "02584441234", "13900000044"
    result = booking.book(4, "cleaning", at("2026-11-24", 8), "web", key())
    assert result.ok
    with session_scope() as s:
        confirmation = s.get(SmsOutbox, result.sms_outbox_id)
        assert confirmation.to_number == "+8613900000044" and "为陈志明预约" in confirmation.body
    pin_clock("2026-11-23T18:00")
    run = send_reminders()
    assert [(o.due.channel, o.due.to_number) for o in run.outcomes] == [("call", "02584441234")]
    with session_scope() as s:
        assert s.execute(select(Handoff).where(Handoff.kind == "sms_unsent")).first() is None


def test_nobody_to_text_leaves_a_note_for_the_advisor(db_url):
    from bot.models import Handoff

    with session_scope() as s:
        elder = s.get(Elder, 4)
        elder.phone, elder.emergency_contact_phone = "02584441234", None
    result = booking.book(4, "cleaning", at("2026-11-24", 8), "web", key())
    assert result.ok and result.sms_outbox_id is None
    with session_scope() as s:
        notes = s.execute(select(Handoff).where(Handoff.kind == "sms_unsent")).scalars().all()
        assert len(notes) == 1 and notes[0].elder_id == 4 and result.reference in notes[0].summary
        assert "0258" not in notes[0].summary
