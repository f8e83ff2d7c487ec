"""Monthly check-in calls (issue 21): who is called today, or why not, and placing the calls.

Every day the scheduler (or `flask --app server care checkins`) goes through the campaign's
members (bot/outreach/campaign.py) and calls each one who, this month, has not been
reached yet, within the rules:

- contact hours 09:00-20:00 China time, active elders, not refused (voice, 退订, advisor),
  a number on file (landline or mobile: it is a call);
- at most `max_attempts_per_day` attempts a day and `max_attempts_per_month` a month;
- two unanswered attempts on different days open a task "请上门探访" (bot/outreach/calls.py).

Once per elder per day is enforced by the database: the contact row's UNIQUE attempt_key
("checkin:<elder id>:<YYYY-MM-DD>") is committed before the carrier is asked to dial, so two
runs at once dial nobody twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock
from bot.db import session_scope
from bot.models import Elder
from bot.models.outreach import OutreachContact
from bot.models.people import phone_digits
from bot.outreach import rules
from bot.outreach.calls import ANSWERED, dial
from bot.outreach.campaign import CheckinCampaign, checkin_campaign, month_key

log = logging.getLogger(__name__)

REACHED = "reached this month"
TODAY_DONE = "already called today"
MONTH_LIMIT = "{n} attempts this month (the limit)"
NOT_THIS_MONTH = "not the current month: nothing is dialled"


def attempt_key(elder_id: int, day: dt.date) -> str:
    return f"checkin:{elder_id}:{day.isoformat()}"


@dataclass(frozen=True)
class DueCheckin:
    elder_id: int
    to_number: str | None
    why: tuple[str, ...]  # why she is in the campaign
    attempt_no: int  # the attempt this call would be
    skip_reason: str | None


@dataclass(frozen=True)
class CheckinOutcome:
    due: DueCheckin
    status: str  # queued|failed|skipped|already|would_call|would_skip
    reason: str | None = None
    contact_id: int | None = None

    def line(self) -> str:
        """One line for operators: no names, the number masked."""
        d = self.due
        head = f"elder #{d.elder_id} ({'、'.join(d.why)}) attempt {d.attempt_no} ->"
        contact = f" contact #{self.contact_id}" if self.contact_id else ""
        return rules.outcome_line(head, d.to_number, self.status, contact, self.reason)


@dataclass
class CheckinRun:
    day: dt.date
    month: str
    dry_run: bool
    quiet_hours: bool = False
    outcomes: list[CheckinOutcome] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    def summary(self) -> str:
        head = (
            f"checkins {self.month} on {self.day.isoformat()}"
            f"{' dry run' if self.dry_run else ''}: {len(self.outcomes)} campaign members"
        )
        if self.dry_run:
            body = (
                f", {self.count('would_call')} would be called, {self.count('would_skip')} would be skipped"
            )
        else:
            body = (
                f", {self.count('queued')} called, {self.count('failed')} failed, "
                f"{self.count('skipped')} skipped, {self.count('already')} already called today"
            )
        quiet = "; quiet hours now: nothing dialled" if self.quiet_hours else ""
        return head + body + quiet


def due_checkins(
    session: Session, day: dt.date, campaign: CheckinCampaign | None = None, month: str | None = None
) -> list[DueCheckin]:
    """Every campaign member, with whether she would be called on `day` and why not."""
    campaign = campaign or checkin_campaign()
    month = month or month_key(day)
    contacts: dict[int, list[OutreachContact]] = {}
    for row in session.execute(
        select(OutreachContact).where(  # the month's calls, one query
            OutreachContact.kind == "checkin", OutreachContact.campaign == month
        )
    ).scalars():
        contacts.setdefault(row.elder_id, []).append(row)
    stop = rules.do_not_contact(session)
    due = []
    for elder, why in campaign.members(session):
        mine = [c for c in contacts.get(elder.id, []) if c.status != "skipped"]
        due.append(
            DueCheckin(
                elder_id=elder.id,
                to_number=elder.phone,
                why=tuple(why),
                attempt_no=len(mine) + 1,
                skip_reason=_skip_reason(elder, mine, day, campaign, stop),
            )
        )
    return due


def _skip_reason(
    elder: Elder,
    mine: list[OutreachContact],
    day: dt.date,
    campaign: CheckinCampaign,
    stop: rules.DoNotContact,
) -> str | None:
    if not phone_digits(elder.phone):
        return rules.NO_PHONE
    refused = stop.reason(elder.id, elder.phone)
    if refused:
        return refused
    if any(c.outcome in ANSWERED and c.outcome != "hung_up" for c in mine):
        return REACHED
    if sum(1 for c in mine if c.day == day) >= campaign.max_attempts_per_day:
        return TODAY_DONE
    if len(mine) >= campaign.max_attempts_per_month:
        return MONTH_LIMIT.format(n=len(mine))
    return None


def run_checkins(
    day: dt.date | None = None, dry_run: bool = False, *, month: str | None = None
) -> CheckinRun:
    """Calls today's due check-ins (dry run: lists them and writes nothing). `month` other
    than the current one is only listed: calls are made today, for this month."""
    day = day or clock.today()
    month = month or month_key(day)
    campaign = checkin_campaign()
    run = CheckinRun(day=day, month=month, dry_run=dry_run, quiet_hours=not rules.within_contact_hours())
    with session_scope() as s:
        due = due_checkins(s, day, campaign, month)
    for item in due:
        reason = item.skip_reason
        if dry_run or month != month_key(day):
            if reason is None and month != month_key(day):
                reason = NOT_THIS_MONTH
            elif reason is None and run.quiet_hours:
                reason = rules.QUIET_HOURS
            run.outcomes.append(CheckinOutcome(item, "would_skip" if reason else "would_call", reason))
        elif reason is not None:
            run.outcomes.append(CheckinOutcome(item, "skipped", reason))
        elif run.quiet_hours:
            run.outcomes.append(CheckinOutcome(item, "skipped", rules.QUIET_HOURS))
        else:
            run.outcomes.append(_call_one(item, day, month))
    log.info("%s", run.summary())
    return run


def _call_one(item: DueCheckin, day: dt.date, month: str) -> CheckinOutcome:
    try:
        with session_scope() as s:
            elder = s.get(Elder, item.elder_id)
            contact = OutreachContact(
                kind="checkin",
                elder_id=elder.id,
                channel="call",
                to_number=phone_digits(elder.phone),
                day=day,
                status="queued",
                campaign=month,
                attempt_no=item.attempt_no,
                attempt_key=attempt_key(elder.id, day),
            )
            s.add(contact)
            s.flush()
            contact_id, number = contact.id, contact.to_number
    except IntegrityError:
        log.info("check-in elder=%s %s already claimed by another run", item.elder_id, day)
        return CheckinOutcome(item, "already", TODAY_DONE)
    placed = dial(contact_id, number)
    return CheckinOutcome(item, placed.status, placed.reason, contact_id)
