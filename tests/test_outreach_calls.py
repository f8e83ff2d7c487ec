"""Outbound-care calls without Rasa (nothing listens on its port): the monthly check-in
campaign's daily run and its limits, reminder calls to landlines and their second attempt,
placing calls through a local stand-in for Twilio's REST API, the carrier's status
callbacks, and the call scripts played as Twilio plays them (signed webhooks).

The safety layer's handling of an emergency in a check-in call is tested end to end with
the real Rasa in test_outreach_e2e.py."""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
import uuid

import pytest
from sqlalchemy import select

from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models import Elder, Handoff, SmsOptOut
from bot.models.outreach import JobRun, OutreachContact, OutreachRefusal
from bot.outreach import rules
from bot.outreach.calls import NO_CREDENTIALS, call_ended
from bot.outreach.campaign import checkin_campaign
from bot.outreach.checkins import MONTH_LIMIT, REACHED, TODAY_DONE, run_checkins
from bot.outreach.jobs import run_checkin_job
from bot.outreach.reminders import send_reminders
from server.speech import say_reference
from tests.test_sms_twilio import ACCOUNT, FakeTwilio
from tests.test_twilio_support import TOKEN, TwilioSide, new_call_sid, phone_line_app

ZHANG, LI, WANG, CHEN, LIU = 1, 2, 3, 4, 5
OUR_NUMBER = "+15005550006"


def contacts(kind: str = "checkin") -> list[OutreachContact]:
    with session_scope() as s:
        rows = (
            s.execute(
                select(OutreachContact).where(OutreachContact.kind == kind).order_by(OutreachContact.id)
            )
            .scalars()
            .all()
        )
        for r in rows:
            s.expunge(r)
        return rows


def tasks(kind: str) -> list[Handoff]:
    with session_scope() as s:
        rows = s.execute(select(Handoff).where(Handoff.kind == kind)).scalars().all()
        for r in rows:
            s.expunge(r)
        return rows


def by_elder(run) -> dict[int, tuple[str, str | None]]:
    return {o.due.elder_id: (o.status, o.reason) for o in run.outcomes}


# --- who is in the campaign ---------------------------------------------------------------


def test_campaign_serves_a_program_of_the_pack():
    from bot.policy.kb import get_kb

    program = get_kb().program(checkin_campaign().basis_program)
    assert program.citation.clause == "四(四)1" and "每月进行探访" in program.citation.quote


def test_campaign_members_and_why(db_url):
    with session_scope() as s:
        members = {e.id: why for e, why in checkin_campaign().members(s)}
    assert members[ZHANG] == ["独居", "轻度失能"]
    assert members[LI] == ["重度失能", "低保"]
    assert members[LIU] == ["空巢", "计划生育特殊家庭"]
    assert CHEN not in members  # lives with family, fully able, ordinary income


def test_campaign_file_errors_name_the_key(tmp_path):
    from bot.outreach.campaign import CampaignConfigError, parse_campaign

    with pytest.raises(CampaignConfigError, match="any_of"):
        parse_campaign(
            {"monthly_checkin": {"any_of": [{"field": "shoe_size", "in": [1]}]}}, tmp_path / "outreach.yml"
        )
    with pytest.raises(CampaignConfigError, match="max_attempts_per_month"):
        parse_campaign(
            {
                "monthly_checkin": {
                    "any_of": [{"field": "special_family", "is": True}],
                    "basis_program": "special_difficulty_visits",
                    "max_attempts_per_day": 1,
                    "max_attempts_per_month": 0,
                    "unanswered_attempts_for_visit": 2,
                }
            },
            tmp_path / "outreach.yml",
        )


# --- the daily run ------------------------------------------------------------------------


def test_daily_run_calls_each_member_once_a_day(db_url, pin_clock):
    pin_clock("2026-11-23T10:00")
    run = run_checkins()
    members = {e.id for e, _ in _members()}
    assert {o.due.elder_id for o in run.outcomes} == members
    assert all(status == "queued" and reason == NO_CREDENTIALS for status, reason in by_elder(run).values())
    rows = contacts()
    assert {(r.elder_id, r.channel, r.campaign, r.attempt_no, r.day) for r in rows} == {
        (e, "call", "2026-11", 1, dt.date(2026, 11, 23)) for e in members
    }
    again = run_checkins()
    assert {status for status, _ in by_elder(again).values()} == {"skipped"}
    assert {reason for _, reason in by_elder(again).values()} == {TODAY_DONE}
    assert len(contacts()) == len(members)


def _members():
    with session_scope() as s:
        return checkin_campaign().members(s)


@pytest.mark.parametrize("moment", ["2026-11-23T08:59", "2026-11-23T20:00", "2026-11-23T23:30"])
def test_quiet_hours_dial_nobody(db_url, pin_clock, moment):
    pin_clock(moment)
    run = run_checkins()
    assert run.quiet_hours and run.outcomes
    assert {reason for _, reason in by_elder(run).values()} == {rules.QUIET_HOURS}
    assert contacts() == []


def test_three_attempts_a_month_then_two_unanswered_days_become_one_visit_task(db_url, pin_clock):
    for day in (23, 24, 25):
        pin_clock(f"2026-11-{day}T10:00")
        run = run_checkins()
        assert by_elder(run)[ZHANG][0] == "queued"
        mine = [c for c in contacts() if c.elder_id == ZHANG]
        call_ended(mine[-1].id, "no-answer")
    pin_clock("2026-11-26T10:00")
    assert by_elder(run_checkins())[ZHANG] == ("skipped", MONTH_LIMIT.format(n=3))
    mine = [c for c in contacts() if c.elder_id == ZHANG]
    assert [(c.attempt_no, c.status, c.outcome) for c in mine] == [
        (1, "failed", "no_answer"),
        (2, "failed", "no_answer"),
        (3, "failed", "no_answer"),
    ]
    visits = [t for t in tasks("visit_needed") if t.elder_id == ZHANG]
    assert len(visits) == 1, "one task for the month, not one per unanswered call"
    assert visits[0].summary.startswith("请上门探访") and "11月23日、11月24日" in visits[0].summary
    assert {c.handoff_id for c in mine} == {visits[0].id}
    # a new month starts again
    pin_clock("2026-12-01T10:00")
    assert by_elder(run_checkins())[ZHANG][0] == "queued"


def test_two_unanswered_calls_on_one_day_are_not_two_days(db_url, pin_clock):
    pin_clock("2026-11-23T10:00")
    run_checkins()
    first = [c for c in contacts() if c.elder_id == ZHANG][0]
    call_ended(first.id, "busy")
    call_ended(first.id, "no-answer")  # a retried callback changes nothing
    assert tasks("visit_needed") == []


def test_reached_this_month_is_not_called_again(db_url, pin_clock):
    pin_clock("2026-11-23T10:00")
    run_checkins()
    with session_scope() as s:
        row = s.execute(select(OutreachContact).where(OutreachContact.elder_id == LIU)).scalar_one()
        row.status, row.outcome = "sent", "reached"
    pin_clock("2026-11-24T10:00")
    assert by_elder(run_checkins())[LIU] == ("skipped", REACHED)


def test_refused_opted_out_and_moved_away_are_not_called(db_url, pin_clock):
    with session_scope() as s:
        rules.add_refusal(s, source="advisor", elder_id=ZHANG, created_by="advisor1")
        s.add(SmsOptOut(number="13800000002"))  # 退订 by SMS
        s.get(Elder, WANG).status = "moved"
    pin_clock("2026-11-23T10:00")
    run = run_checkins()
    result = by_elder(run)
    assert result[ZHANG] == ("skipped", rules.REFUSED)
    assert result[LI] == ("skipped", rules.OPTED_OUT)
    assert WANG not in result  # not an active elder: not a member
    assert result[LIU][0] == "queued"


def test_dry_run_and_another_month_write_nothing(db_url, pin_clock):
    pin_clock("2026-11-23T10:00")
    dry = run_checkins(dry_run=True)
    assert {s for s, _ in by_elder(dry).values()} == {"would_call"}
    other = run_checkins(month="2026-12")
    assert {s for s, _ in by_elder(other).values()} == {"would_skip"}
    assert contacts() == []


def _twice_at_once(run) -> list:
    """What `run()` returned in two threads started together (in the order they ended)."""
    barrier = threading.Barrier(2)
    results = []

    def one():
        barrier.wait()
        results.append(run())

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_schedulers_at_once_call_each_elder_once(db_url, pin_clock):
    pin_clock("2026-11-23T10:00")
    results = _twice_at_once(run_checkin_job)
    assert sorted(r is None for r in results) == [False, True], "one run, the other claimed"
    assert len(contacts()) == len(_members())
    with session_scope() as s:
        runs = s.execute(select(JobRun).where(JobRun.job == "checkins")).scalars().all()
        assert [(r.run_key, r.status) for r in runs] == [("2026-11-23", "done")]


def test_two_manual_runs_at_once_call_each_elder_once(db_url, pin_clock):
    pin_clock("2026-11-23T10:00")
    runs = _twice_at_once(run_checkins)
    rows = contacts()
    assert len(rows) == len({r.elder_id for r in rows}) == len(_members())
    placed = sum(r.count("queued") for r in runs)
    assert placed == len(_members())


def test_cli_checkins(db_url, pin_clock):
    from server import create_app

    pin_clock("2026-11-23T10:00")
    app = create_app({"TESTING": True})
    dry = app.test_cli_runner().invoke(args=["care", "checkins", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.strip().splitlines()
    assert lines[0].startswith("elder #1 (独居、轻度失能) attempt 1 -> ") and "would_call" in lines[0]
    assert "13800000001" not in dry.output  # masked
    assert lines[-1].startswith("checkins 2026-11 on 2026-11-23 dry run:")
    real = app.test_cli_runner().invoke(args=["care", "checkins", "--month", "2026-11"])
    assert real.exit_code == 0 and f"{len(_members())} called" in real.output
    bad = app.test_cli_runner().invoke(args=["care", "checkins", "--month", "2026-13"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output


# --- reminder calls to landlines ----------------------------------------------------------


def _landline_booking(pin_clock) -> str:
    with session_scope() as s:
        s.get(Elder, CHEN).phone = "02584441234"
    result = booking.book(CHEN, "cleaning", dt.datetime(2026, 11, 24, 8), "web", f"test:{uuid.uuid4().hex}")
    assert result.ok
    return result.reference


def test_unanswered_reminder_call_is_tried_again_then_flagged(db_url, pin_clock):
    ref = _landline_booking(pin_clock)
    pin_clock("2026-11-23T18:00")
    first = send_reminders()
    assert [(o.due.channel, o.due.attempt_no, o.status) for o in first.outcomes] == [("call", 1, "queued")]
    call_ended(contacts("reminder")[0].id, "no-answer")
    pin_clock("2026-11-23T18:30")  # too soon for the second call
    assert [o.status for o in send_reminders().outcomes] == ["already"]
    pin_clock("2026-11-23T19:30")
    second = send_reminders()
    assert [(o.due.attempt_no, o.status) for o in second.outcomes] == [(2, "queued")]
    rows = contacts("reminder")
    assert [r.attempt_key for r in rows] == [
        f"reminder:{rows[0].booking_id}",
        f"reminder:{rows[0].booking_id}:2",
    ]
    assert tasks("reminder_missed") == []
    call_ended(rows[1].id, "no-answer")
    flagged = tasks("reminder_missed")
    assert len(flagged) == 1 and ref in flagged[0].summary and flagged[0].elder_id == CHEN
    assert [o.status for o in send_reminders().outcomes] == ["already"]  # never a third


# --- placing calls through the carrier's REST API -----------------------------------------


@pytest.fixture
def twilio_rest(db_url, monkeypatch):
    fake = FakeTwilio(db_url)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_FROM_NUMBER", OUR_NUMBER)
    monkeypatch.setenv("TWILIO_API_URL", fake.url)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hotline.example.cn")
    yield fake
    fake.close()


def test_a_check_in_is_dialled_through_the_rest_api(twilio_rest, pin_clock):
    pin_clock("2026-11-23T10:00")
    run = run_checkins()
    placed = [r for r in twilio_rest.requests if r["path"].endswith("/Calls.json")]
    assert len(placed) == len(_members()) == run.count("queued")
    zhang = next(c for c in contacts() if c.elder_id == ZHANG)
    form = next(r["form"] for r in placed if r["form"]["To"] == "+8613800000001")
    assert placed[0]["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert form["From"] == OUR_NUMBER
    assert form["Url"] == f"https://hotline.example.cn/twilio/voice?turn=0&outreach={zhang.id}"
    assert form["StatusCallback"] == f"https://hotline.example.cn/twilio/status?outreach={zhang.id}"
    assert zhang.provider_call_id and zhang.status == "queued" and zhang.reason is None


def test_carrier_refusing_is_not_an_attempt_and_never_a_visit_task(twilio_rest, pin_clock):
    twilio_rest.status = 500
    pin_clock("2026-11-23T10:00")
    run = run_checkins()
    assert run.count("failed") == len(_members())
    rows = contacts()
    assert {(c.status, c.outcome, c.attempt_key) for c in rows} == {("skipped", None, None)}
    assert all(c.reason.startswith("carrier refused") for c in rows)
    pin_clock("2026-11-24T10:00")
    run_checkins()  # the carrier still refuses: two days, but nobody was ever called
    assert tasks("visit_needed") == []
    twilio_rest.status = 201
    pin_clock("2026-11-24T11:00")
    again = run_checkins()  # the same day, once the carrier is back: called
    assert again.count("queued") == len(_members())


# --- the call scripts, played as Twilio plays them ----------------------------------------


@pytest.fixture
def app(db_url, monkeypatch):
    return phone_line_app(monkeypatch)


class OutboundCall:
    """Twilio's side of a call we placed: the elder's number is `To`."""

    def __init__(self, side: TwilioSide, contact_id: int, callee: str):
        self.side, self.contact_id, self.callee = side, contact_id, callee
        self.sid = new_call_sid()
        self.last = None

    def _params(self, **extra) -> dict:
        return {
            "CallSid": self.sid,
            "From": OUR_NUMBER,
            "To": self.callee,
            "Direction": "outbound-api",
            "CallStatus": "in-progress",
            **extra,
        }

    def answer(self):
        self.last = self.side.post(f"/twilio/voice?turn=0&outreach={self.contact_id}", self._params())
        return self.last

    def say(self, speech: str):
        return self._next(SpeechResult=speech, Confidence="0.9")

    def press(self, digits: str):
        return self._next(Digits=digits)

    def silence(self):
        return self._next()

    def _next(self, **extra):
        assert self.last is not None and self.last.next_path, f"call is over: {self.last.body}"
        self.last = self.side.post(self.last.next_path, self._params(**extra))
        return self.last

    def ended(self, status: str = "completed"):
        return self.side.post(
            f"/twilio/status?outreach={self.contact_id}",
            {"CallSid": self.sid, "CallStatus": status, "From": OUR_NUMBER, "To": self.callee},
        )


@pytest.fixture
def side(app):
    return TwilioSide("http://localhost", post=app.test_client().post)


def _checkin_call(side, pin_clock, elder_id: int = ZHANG) -> OutboundCall:
    pin_clock("2026-11-23T10:00")
    run_checkins()
    contact = next(c for c in contacts() if c.elder_id == elder_id)
    return OutboundCall(side, contact.id, "+86" + contact.to_number)


def _contact(contact_id: int) -> OutreachContact:
    with session_scope() as s:
        row = s.get(OutreachContact, contact_id)
        s.expunge(row)
        return row


def test_check_in_all_well(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    first = call.answer()
    assert first.status == 200
    assert "自动语音电话" in first.said and "最近身体怎么样？" in first.said and "请按0" in first.said
    assert "家里有什么需要帮忙的吗？" in call.say("挺好的，吃得下睡得着").said
    assert "这个月有人来看过您吗？" in call.say("不用，都挺好的").said
    last = call.say("闺女上礼拜来看过我")
    assert last.hung_up and "一切都好" in last.said
    call.ended()
    row = _contact(call.contact_id)
    assert (row.status, row.outcome, row.handoff_id, row.needs) == ("sent", "reached", None, None)
    assert "问：最近身体怎么样？" in row.transcript and "答：闺女上礼拜来看过我" in row.transcript
    assert row.provider_call_id == call.sid


def test_check_in_needs_become_one_task_with_the_transcript(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.answer()
    call.say("腿疼得厉害，晚上睡不着")
    call.say("想找人来帮我打扫一下卫生")
    last = call.say("这个月没人来过")
    assert last.hung_up and "请顾问尽快跟您联系" in last.said
    row = _contact(call.contact_id)
    assert row.outcome == "needs_followup"
    assert row.needs.split(",") == ["health_worse", "wants_service", "no_visitor"]
    task = tasks("checkin_need")
    assert len(task) == 1 and task[0].id == row.handoff_id and task[0].elder_id == ZHANG
    assert "身体不好" in task[0].summary and "这个月没人来看" in task[0].summary
    assert "答：想找人来帮我打扫一下卫生" in task[0].summary


def test_unclear_answer_is_asked_once_more_then_the_call_goes_on(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.answer()
    again = call.say("啊你是哪个")
    assert "没听清" in again.said and "最近身体怎么样？" in again.said
    assert "家里有什么需要帮忙的吗？" in call.say("嗯嗯那个").said


def test_opt_out_by_voice_is_read_back_then_honoured(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.answer()
    asked = call.say("以后别再打电话来了")
    assert "以后不要再给您打这样的电话了，对吗？" in asked.said and not asked.hung_up
    done = call.press("1")
    assert done.hung_up and "以后不再给您打" in done.said
    assert _contact(call.contact_id).outcome == "opted_out"
    with session_scope() as s:
        refusal = s.execute(select(OutreachRefusal)).scalar_one()
        assert (refusal.elder_id, refusal.number, refusal.source) == (ZHANG, "13800000001", "voice")
    pin_clock("2026-11-24T10:00")
    assert by_elder(run_checkins())[ZHANG] == ("skipped", rules.REFUSED)


def test_opt_out_read_back_denied_goes_back_to_the_question(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.answer()
    call.say("别打了")
    back = call.press("2")
    assert "最近身体怎么样？" in back.said and not back.hung_up


def test_silence_twice_ends_politely_and_is_not_reached(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.answer()
    assert "没听到" in call.silence().said
    last = call.silence()
    assert last.hung_up and "先挂断了" in last.said
    assert _contact(call.contact_id).outcome == "hung_up"
    pin_clock("2026-11-24T10:00")
    assert by_elder(run_checkins())[ZHANG][0] == "queued", "not reached: tried again"


def test_zero_reaches_a_person(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.answer()
    plan = call.press("0")
    assert plan.dialled == "+8613912349000"
    assert _contact(call.contact_id).outcome == "transferred"


def test_unanswered_status_callback_counts_as_no_answer(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.ended("no-answer")
    row = _contact(call.contact_id)
    assert (row.status, row.outcome) == ("failed", "no_answer")


def test_a_forged_outreach_id_for_another_number_is_an_ordinary_call(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    call.callee = "+8613800000004"  # not the number we dialled for this contact
    first = call.answer()
    assert "自动语音电话" not in first.said
    assert _contact(call.contact_id).provider_call_id is None


def test_reminder_call_confirmed_with_1(side, pin_clock, db_url):
    ref = _landline_booking(pin_clock)
    pin_clock("2026-11-23T18:00")
    send_reminders()
    contact = contacts("reminder")[0]
    call = OutboundCall(side, contact.id, "02584441234")
    first = call.answer()
    assert "自动语音提醒" in first.said and "明天" in first.said and "助洁" in first.said
    assert "确认请按1，要改时间请按2，转人工请按0" in first.said
    assert f"预约号{say_reference(ref)}" in first.said
    done = call.press("1")
    assert done.hung_up and "请您在家等候" in done.said
    assert _contact(contact.id).outcome == "confirmed"


def test_status_callback_is_signed(side, pin_clock):
    call = _checkin_call(side, pin_clock)
    path = f"/twilio/status?outreach={call.contact_id}"
    params = {"CallSid": call.sid, "CallStatus": "no-answer", "From": OUR_NUMBER, "To": "+8613800000001"}
    forged = side.post(path, params, signature="bad")
    assert forged.status == 403
    assert _contact(call.contact_id).outcome is None
    assert urllib.parse.urlparse(path).query == f"outreach={call.contact_id}"
