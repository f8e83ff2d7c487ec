"""How far outbound care got: the monthly check-in campaign per member, and the visit
reminders of one day (issue 21, point 5; read by the advisor console).

Framework-free: SQLAlchemy only. Set-based, whatever the number of elders: the streets,
the members (bot/outreach/campaign.py, the one definition of who is called), the month's
check-in contacts with their tasks, the refusal list and the SMS 退订 numbers, one query
each; the state of each member is then worked out in memory (about 0.7 s on SQLite for
20,000 elders, most of it loading the members).

A member's state, the first that applies:
- `opted_out`: she or her number is on the refusal list, her number replied 退订, or a call
  this month ended with her asking not to be called (outcome opted_out);
- `needs_followup`: a call this month found a need, an emergency, or was put through to an
  advisor (needs_followup / emergency / transferred);
- `reached`: a call was answered and nothing was needed (reached);
- `unreachable`: nobody picked up at all, on at least `unanswered_attempts_for_visit`
  different days (the rule that opens the task "请上门探访", bot/outreach/calls.py);
- `in_progress`: some attempt, none of the above (e.g. one unanswered call, or picked up
  and hung up);
- `not_yet`: no attempt this month.
A skipped contact (quiet hours, on the refusal list) is not an attempt: nobody was dialled.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Elder, Handoff
from bot.models.booking import Booking
from bot.models.outreach import OutreachContact
from bot.models.people import Street
from bot.outreach import rules
from bot.outreach.campaign import CheckinCampaign, checkin_campaign, month_key

# Check-in states, in the order the rule above tries them.
STATES = ("opted_out", "needs_followup", "reached", "unreachable", "in_progress", "not_yet")
STATE_ZH = {
    "reached": "已联系上",
    "needs_followup": "需要跟进",
    "unreachable": "联系不上",
    "opted_out": "已拒绝联系",
    "in_progress": "进行中",
    "not_yet": "尚未联系",
}
# Outcomes of a check-in call that decide a state (see the module doc).
FOLLOWUP_OUTCOMES = frozenset({"needs_followup", "emergency", "transferred"})
UNANSWERED = "no_answer"  # not picked up, busy or failed (bot/outreach/calls.py)

# What came of a reminder, as the console shows it: the call's outcome once it ended,
# otherwise the contact's status (SMS have no outcome).
REMINDER_RESULT_ZH = {
    "confirmed": "已确认上门",
    "reschedule": "要改时间",
    "cancel": "要取消",
    "transferred": "转人工",
    "no_answer": "没有接听",
    "hung_up": "接通后挂断",
    "emergency": "紧急情况",
    "opted_out": "拒绝再联系",
    "reached": "已联系上",
    "needs_followup": "需要跟进",
    "queued": "已发出",
    "sent": "已送达/已接听",
    "failed": "发送失败",
    "skipped": "没有发送",
}
CHANNEL_ZH = {"sms": "短信", "call": "电话"}


@dataclass(frozen=True)
class MemberProgress:
    """One campaign member this month."""

    elder_id: int
    name: str
    street: str
    reasons: tuple[str, ...]  # why she is in the campaign (e.g. 独居, 低保)
    attempts: int  # calls placed this month (skips not counted)
    last_attempt: dt.date | None
    state: str  # one of STATES
    handoff_id: int | None = None  # the advisor-queue task it became, the latest
    handoff_kind: str | None = None
    handoff_status: str | None = None  # open | claimed | closed

    @property
    def state_zh(self) -> str:
        return STATE_ZH[self.state]


@dataclass(frozen=True)
class CampaignProgress:
    month: dt.date  # the first of the month
    campaign: str  # "2026-11"
    rows: tuple[MemberProgress, ...]
    counts: dict[str, int]  # every state of STATES, zero included

    @property
    def members(self) -> int:
        return len(self.rows)

    def in_state(self, state: str | None) -> list[MemberProgress]:
        return [r for r in self.rows if state is None or r.state == state]


@dataclass
class _Calls:
    """The month's check-in contacts of one elder, folded as they are read."""

    attempts: int = 0
    last_attempt: dt.date | None = None
    outcomes: set[str] = field(default_factory=set)
    answered: bool = False
    unanswered_days: set[dt.date] = field(default_factory=set)
    handoff: tuple[int, str, str] | None = None  # (id, kind, status) of the latest contact that has one


def _state(calls: _Calls | None, refused: bool, needed_days: int) -> str:
    if refused or (calls and "opted_out" in calls.outcomes):
        return "opted_out"
    if calls is None or calls.attempts == 0:
        return "not_yet"
    if calls.outcomes & FOLLOWUP_OUTCOMES:
        return "needs_followup"
    if "reached" in calls.outcomes:
        return "reached"
    if not calls.answered and len(calls.unanswered_days) >= needed_days:
        return "unreachable"
    return "in_progress"


def _month_calls(session: Session, campaign: str) -> dict[int, _Calls]:
    rows = session.execute(
        select(
            OutreachContact.elder_id,
            OutreachContact.status,
            OutreachContact.outcome,
            OutreachContact.day,
            OutreachContact.handoff_id,
            Handoff.kind,
            Handoff.status,
        )
        .outerjoin(Handoff, Handoff.id == OutreachContact.handoff_id)
        .where(OutreachContact.kind == "checkin", OutreachContact.campaign == campaign)
        .order_by(OutreachContact.day, OutreachContact.attempt_no, OutreachContact.id)
    )
    by_elder: dict[int, _Calls] = defaultdict(_Calls)
    for elder_id, status, outcome, day, handoff_id, handoff_kind, handoff_status in rows:
        calls = by_elder[elder_id]
        if handoff_id is not None:
            calls.handoff = (handoff_id, handoff_kind, handoff_status)
        if status == "skipped":
            continue
        calls.attempts += 1
        calls.last_attempt = day if calls.last_attempt is None else max(calls.last_attempt, day)
        if outcome:
            calls.outcomes.add(outcome)
        if outcome == UNANSWERED or (outcome is None and status == "failed"):
            calls.unanswered_days.add(day)
        elif status == "sent" or outcome is not None:
            calls.answered = True  # somebody picked up
    return by_elder


def checkin_progress(
    session: Session, month: dt.date, campaign: CheckinCampaign | None = None
) -> CampaignProgress:
    """Every member of the monthly check-in campaign and how far her month's calls got."""
    campaign = campaign or checkin_campaign()
    key = month_key(month)
    streets = dict(session.execute(select(Street.id, Street.name)).all())
    calls = _month_calls(session, key)
    stop = rules.do_not_contact(session)
    rows = []
    counts: Counter[str] = Counter()
    for elder, reasons in campaign.members(session):
        mine = calls.get(elder.id)
        refused = stop.reason(elder.id, elder.phone) is not None
        state = _state(mine, refused, campaign.unanswered_attempts_for_visit)
        counts[state] += 1
        handoff = mine.handoff if mine else None
        rows.append(
            MemberProgress(
                elder_id=elder.id,
                name=elder.name,
                street=streets.get(elder.street_id, ""),
                reasons=tuple(reasons),
                attempts=mine.attempts if mine else 0,
                last_attempt=mine.last_attempt if mine else None,
                state=state,
                handoff_id=handoff[0] if handoff else None,
                handoff_kind=handoff[1] if handoff else None,
                handoff_status=handoff[2] if handoff else None,
            )
        )
    return CampaignProgress(
        month=month.replace(day=1), campaign=key, rows=tuple(rows), counts={s: counts[s] for s in STATES}
    )


# --- visit reminders ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderRow:
    contact_id: int
    booking_reference: str | None
    elder_id: int
    name: str
    channel: str  # sms | call
    status: str  # queued | sent | failed | skipped
    outcome: str | None  # calls only, once ended
    handoff_id: int | None = None

    @property
    def result(self) -> str:
        """The call's outcome once it ended, otherwise the contact's status."""
        return self.outcome or self.status

    @property
    def result_zh(self) -> str:
        return REMINDER_RESULT_ZH.get(self.result, self.result)

    @property
    def channel_zh(self) -> str:
        return CHANNEL_ZH.get(self.channel, self.channel)


@dataclass(frozen=True)
class ReminderProgress:
    day: dt.date
    rows: tuple[ReminderRow, ...]
    by_channel: dict[str, int]  # sms / call -> contacts
    by_result: dict[tuple[str, str], int]  # (channel, result) -> contacts

    @property
    def total(self) -> int:
        return len(self.rows)


def reminder_progress(session: Session, day: dt.date) -> ReminderProgress:
    """The visit reminders made (or deliberately skipped) on `day` (China date), by booking."""
    rows = tuple(
        ReminderRow(
            contact_id=cid,
            booking_reference=reference,
            elder_id=elder_id,
            name=name,
            channel=channel,
            status=status,
            outcome=outcome,
            handoff_id=handoff_id,
        )
        for cid, reference, elder_id, name, channel, status, outcome, handoff_id in session.execute(
            select(
                OutreachContact.id,
                Booking.reference,
                OutreachContact.elder_id,
                Elder.name,
                OutreachContact.channel,
                OutreachContact.status,
                OutreachContact.outcome,
                OutreachContact.handoff_id,
            )
            .join(Elder, Elder.id == OutreachContact.elder_id)
            .outerjoin(Booking, Booking.id == OutreachContact.booking_id)
            .where(OutreachContact.kind == "reminder", OutreachContact.day == day)
            .order_by(OutreachContact.channel, Booking.reference, OutreachContact.id)
        )
    )
    by_channel = Counter(r.channel for r in rows)
    by_result = Counter((r.channel, r.result) for r in rows)
    return ReminderProgress(
        day=day,
        rows=rows,
        by_channel=dict(sorted(by_channel.items())),
        by_result=dict(sorted(by_result.items())),
    )
