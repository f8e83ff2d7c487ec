"""Evening-before visit reminders by SMS (issue 21, first part).

`due_reminders(session, day)` lists the booked visits whose window starts the day after
`day` (China dates) and who would be texted, or why not; `send_reminders(day, dry_run)`
texts each one once, within the contact rules (bot/outreach/rules.py), and records every
SMS and every deliberate skip in `outreach_contacts`.

Once per booking is enforced by the database: the contact row's UNIQUE attempt_key
("reminder:<booking id>") is written in the same transaction as the SMS outbox row, so a
second run, or two runs at once, write (and, with Twilio, deliver) nothing more.

Who gets it: the elder's registered mobile, the number the booking confirmation went to.
A booking does not record who made it (identity proofs belong to the conversation), so
a relative who booked for her is not texted separately.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, joinedload

from bot import clock
from bot.db import session_scope
from bot.masking import mask_phone
from bot.models import Elder
from bot.models.booking import Booking, CapacityWindow
from bot.models.outreach import OutreachContact
from bot.models.people import phone_digits
from bot.outreach import rules
from bot.sms import send_sms
from bot.timeparse import say_window

log = logging.getLogger(__name__)

REMINDER_REPLIES = "要改时间请回复“改时间”，不要了请回复“取消”。"
SMS_RULES_REFUSED = "refused by the SMS rules (see log)"
ALREADY = "already reminded"


def attempt_key(booking_id: int) -> str:
    return f"reminder:{booking_id}"


def reminder_text(booking: Booking) -> str:
    return (f"【12349养老服务】{booking.elder.name}您好，提醒您：明天，"
            f"{say_window(booking.window.starts_at)}，有{booking.service_type.name}上门服务，"
            f"预约号{booking.reference}。{REMINDER_REPLIES}")


@dataclass(frozen=True)
class DueReminder:
    """One booked visit of tomorrow and what to do about it."""
    booking_id: int
    reference: str
    elder_id: int
    service_name: str
    window_start: dt.datetime
    to_number: str | None
    skip_reason: str | None  # None: text her
    already_reminded: bool


@dataclass(frozen=True)
class ReminderOutcome:
    due: DueReminder
    status: str  # queued|skipped|already|would_send|would_skip
    reason: str | None = None
    sms_outbox_id: int | None = None

    def line(self) -> str:
        """One line for operators: no names, the number masked."""
        d = self.due
        part = "上午" if d.window_start.hour < 12 else "下午"
        head = (f"booking {d.reference} elder #{d.elder_id} {d.service_name} "
                f"{d.window_start:%Y-%m-%d} {part} -> {mask_phone(d.to_number) or '-'}")
        tail = f" ({self.reason})" if self.reason else ""
        sms = f" sms #{self.sms_outbox_id}" if self.sms_outbox_id else ""
        return f"{head}: {self.status}{sms}{tail}"


@dataclass
class ReminderRun:
    day: dt.date
    dry_run: bool
    quiet_hours: bool = False
    outcomes: list[ReminderOutcome] = field(default_factory=list)

    @property
    def visit_day(self) -> dt.date:
        return self.day + dt.timedelta(days=1)

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    def summary(self) -> str:
        head = (f"remind {self.day.isoformat()} (visits on {self.visit_day.isoformat()})"
                f"{' dry run' if self.dry_run else ''}: {len(self.outcomes)} bookings")
        if self.dry_run:
            body = (f", {self.count('would_send')} would be texted, "
                    f"{self.count('would_skip')} would be skipped, {self.count('already')} already reminded")
        else:
            body = (f", {self.count('queued')} texted, {self.count('skipped')} skipped, "
                    f"{self.count('already')} already reminded")
        quiet = "; quiet hours now: nothing sent" if self.quiet_hours else ""
        return head + body + quiet


def due_reminders(session: Session, day: dt.date) -> list[DueReminder]:
    """Booked visits whose window starts on `day` + 1 (China date), each with whom to text
    or why not."""
    visit_day = day + dt.timedelta(days=1)
    bookings = session.execute(
        select(Booking).join(CapacityWindow, CapacityWindow.id == Booking.window_id)
        .options(joinedload(Booking.elder), joinedload(Booking.service_type),
                 joinedload(Booking.window))
        .where(Booking.status == "booked", CapacityWindow.day == visit_day)
        .order_by(CapacityWindow.starts_at, Booking.id)).unique().scalars().all()
    keys = {attempt_key(b.id) for b in bookings}
    done = set(session.execute(select(OutreachContact.attempt_key).where(
        OutreachContact.attempt_key.in_(keys))).scalars()) if keys else set()
    due = []
    for b in bookings:
        number = b.elder.phone
        due.append(DueReminder(booking_id=b.id, reference=b.reference, elder_id=b.elder_id,
                               service_name=b.service_type.name,
                               window_start=b.window.starts_at, to_number=number,
                               skip_reason=rules.sms_skip_reason(session, b.elder, number),
                               already_reminded=attempt_key(b.id) in done))
    return due


def send_reminders(day: dt.date | None = None, dry_run: bool = False, *,
                   database_url: str | None = None) -> ReminderRun:
    """Texts tomorrow's visits (relative to `day`, default today) once each; dry run writes
    nothing. Outside 09:00-20:00 China time nothing is sent and each visit gets a skip row
    (without an attempt key, so a run within hours still sends)."""
    day = day or clock.today()
    run = ReminderRun(day=day, dry_run=dry_run, quiet_hours=not rules.within_contact_hours())
    with session_scope(database_url) as s:
        due = due_reminders(s, day)
    for item in due:
        if item.already_reminded:
            run.outcomes.append(ReminderOutcome(item, "already", ALREADY))
        elif dry_run:
            reason = rules.QUIET_HOURS if run.quiet_hours and not item.skip_reason else item.skip_reason
            run.outcomes.append(ReminderOutcome(item, "would_skip" if reason else "would_send", reason))
        elif run.quiet_hours:
            run.outcomes.append(_record_quiet_hours(item, database_url))
        else:
            run.outcomes.append(_with_retry(_remind_one, item, database_url))
    log.info("%s", run.summary())
    return run


def _with_retry(fn, *args):
    """SQLite refuses a writer whose snapshot went stale ("database is locked") when
    another run wrote meanwhile; retry a few times (the attempt key keeps it once)."""
    for attempt in range(5):
        try:
            return fn(*args)
        except OperationalError as exc:
            if "locked" not in str(exc).lower() and "deadlock" not in str(exc).lower():
                raise
            log.warning("reminder write retried after a lock (attempt %d)", attempt + 1)
            time.sleep(0.05 * (attempt + 1))
    return fn(*args)


def _record_quiet_hours(item: DueReminder, database_url: str | None) -> ReminderOutcome:
    with session_scope(database_url) as s:
        s.add(OutreachContact(kind="reminder", elder_id=item.elder_id, booking_id=item.booking_id,
                              channel="sms", to_number=item.to_number, day=clock.today(),
                              status="skipped", reason=rules.QUIET_HOURS, attempt_key=None))
    log.info("reminder ref=%s not sent: quiet hours", item.reference)
    return ReminderOutcome(item, "skipped", rules.QUIET_HOURS)


def _remind_one(item: DueReminder, database_url: str | None) -> ReminderOutcome:
    try:
        with session_scope(database_url) as s:
            booking = s.get(Booking, item.booking_id)
            elder = s.get(Elder, booking.elder_id)
            number = elder.phone
            # Claim first: a concurrent run fails here, before any SMS row exists.
            contact = OutreachContact(kind="reminder", elder_id=elder.id, booking_id=booking.id,
                                      channel="sms", to_number=number, day=clock.today(),
                                      status="skipped", attempt_key=attempt_key(booking.id))
            s.add(contact)
            s.flush()
            # Facts may have changed since the list was made (cancelled, 退订 just now).
            reason = (f"booking {booking.status}" if booking.status != "booked"
                      else rules.sms_skip_reason(s, elder, number))
            if reason is None:
                sms_id = send_sms(number, reminder_text(booking), related_booking_id=booking.id,
                                  session=s)
                if sms_id is None:
                    reason = SMS_RULES_REFUSED
                else:
                    contact.status, contact.sms_outbox_id = "queued", sms_id
            contact.reason = reason
            outcome = ReminderOutcome(item, contact.status, reason, contact.sms_outbox_id)
    except IntegrityError:
        # Another run (or an earlier one) recorded this reminder; its transaction, not this
        # one, holds the SMS.
        log.info("reminder ref=%s already recorded by another run", item.reference)
        return ReminderOutcome(item, "already", ALREADY)
    log.info("reminder ref=%s elder=%s to %s: %s%s", item.reference, item.elder_id,
             mask_phone(number), outcome.status, f" ({outcome.reason})" if outcome.reason else "")
    return outcome


# Replies to a reminder: handed to the normal conversation as the intent they mean, so
# the booking forms (identity by caller ID, which booking, read-back) do the rest.
_RESCHEDULE_REPLY = re.compile(r"^(?:改时间|改个时间|改一下时间|改期|我要改时间)[。.!！]*$")
_CANCEL_REPLY = re.compile(r"^(?:取消|取消预约|不要了)[。.!！]*$")
REPLY_PAYLOADS = ((_RESCHEDULE_REPLY, "/reschedule_booking"), (_CANCEL_REPLY, "/cancel_booking"))


def reminder_reply_payload(number: str | None, text: str | None, *,
                           session: Session | None = None) -> str | None:
    """"/reschedule_booking" or "/cancel_booking" when `text` is one of the replies a
    reminder offers and `number` got a reminder today or yesterday (the reminder goes out
    the evening before; the answer may come on the day); otherwise None."""
    flat = (text or "").strip()
    payload = next((p for pattern, p in REPLY_PAYLOADS if pattern.match(flat)), None)
    digits = phone_digits(number)
    if payload is None or not digits:
        return None
    if session is None:
        with session_scope() as s:
            return reminder_reply_payload(number, text, session=s)
    today = clock.today()
    reminded = session.execute(select(OutreachContact.id).where(
        OutreachContact.kind == "reminder", OutreachContact.to_number == digits,
        OutreachContact.status.in_(("queued", "sent")),
        OutreachContact.day.in_((today, today - dt.timedelta(days=1)))).limit(1)).first()
    return payload if reminded else None
