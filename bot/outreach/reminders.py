"""Evening-before visit reminders (issue 21): an SMS to a mobile, a call to a landline.

`due_reminders(session, day)` lists the booked visits whose window starts the day after
`day` (China dates), how each elder is reminded (SMS or call) or why not;
`send_reminders(day, dry_run)` reminds each one once, within the contact rules
(bot/outreach/rules.py), and records every SMS, call and deliberate skip in
`outreach_contacts`. A reminder call that was not answered is tried once more by a later
run (at least RETRY_GAP after the first); unanswered twice, the visit is flagged for the
advisor (bot/outreach/calls.py).

Once per booking is enforced by the database: the contact row's UNIQUE attempt_key
("reminder:<booking id>", the second call "reminder:<booking id>:2") is written in the
same transaction as the SMS outbox row, or committed before the carrier is asked to dial,
so a second run, or two runs at once, write (and deliver) nothing more.

Who gets it: the number the booking's confirmation went to (`Booking.notice_number`): the
elder's, or the family contact's when that relative booked for her, having proved their
identity with a code sent to their own phone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from bot import clock
from bot.db import retry_on_lock, session_scope
from bot.text.masking import mask_phone
from bot.models import Elder
from bot.models.booking import Booking, CapacityWindow
from bot.models.outreach import OutreachContact
from bot.models.people import is_mobile, phone_digits
from bot.outreach import rules
from bot.outreach.calls import dial
from bot.outreach.wording import WORDING
from bot.contact.sms import send_sms
from bot.text.timeparse import say_window

log = logging.getLogger(__name__)

SMS_RULES_REFUSED = "refused by the SMS rules (see log)"
ALREADY = "already reminded"
RETRY_GAP = dt.timedelta(minutes=60)  # between an unanswered reminder call and the second


def attempt_key(booking_id: int, attempt_no: int = 1) -> str:
    return f"reminder:{booking_id}" + (f":{attempt_no}" if attempt_no > 1 else "")


def reminder_text(booking: Booking, number: str) -> tuple[str, tuple[str, dict[str, Any]]]:
    """The reminder SMS to `number` (bot/outreach/wording.yml), and its provider template
    (bot/contact/sms_templates.yml)."""
    greeting = booking.greeting(number)
    whom = booking.elder.name if booking.to_family(number) else "您"
    when = say_window(booking.window.starts_at)
    text = WORDING.format(
        "reminder.sms",
        greeting=greeting,
        when=when,
        whom=whom if whom != "您" else "",
        service=booking.service_type.name,
        reference=booking.reference,
    )
    return text, (
        "visit_reminder",
        {
            "greeting": greeting,
            "time": when,
            "whom": whom,
            "service": booking.service_type.name,
            "reference": booking.reference,
        },
    )


@dataclass(frozen=True)
class DueReminder:
    """One booked visit of tomorrow and what to do about it."""

    booking_id: int
    reference: str
    elder_id: int
    service_name: str
    window_start: dt.datetime
    to_number: str | None
    skip_reason: str | None  # None: remind her
    already_reminded: bool
    channel: str = "sms"  # sms to a mobile, call to a landline
    attempt_no: int = 1


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
        attempt = f" attempt {d.attempt_no}" if d.attempt_no > 1 else ""
        head = (
            f"booking {d.reference} elder #{d.elder_id} {d.service_name} "
            f"{d.window_start:%Y-%m-%d} {part} -> {d.channel}{attempt}"
        )
        sms = f" sms #{self.sms_outbox_id}" if self.sms_outbox_id else ""
        return rules.outcome_line(head, d.to_number, self.status, sms, self.reason)


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
        head = (
            f"remind {self.day.isoformat()} (visits on {self.visit_day.isoformat()})"
            f"{' dry run' if self.dry_run else ''}: {len(self.outcomes)} bookings"
        )
        if self.dry_run:
            body = (
                f", {self.count('would_send')} would be reminded, "
                f"{self.count('would_skip')} would be skipped, {self.count('already')} already reminded"
            )
        else:
            sent = [o for o in self.outcomes if o.status == "queued"]
            calls = sum(1 for o in sent if o.due.channel == "call")
            body = (
                f", {len(sent) - calls} texted, {calls} called, {self.count('failed')} failed, "
                f"{self.count('skipped')} skipped, {self.count('already')} already reminded"
            )
        quiet = "; quiet hours now: nothing sent" if self.quiet_hours else ""
        return head + body + quiet


def due_reminders(session: Session, day: dt.date, now: dt.datetime | None = None) -> list[DueReminder]:
    """Booked visits whose window starts on `day` + 1 (China date), each with how to remind
    her (SMS or call, which attempt) or why not."""
    visit_day = day + dt.timedelta(days=1)
    bookings = (
        session.execute(
            select(Booking)
            .join(CapacityWindow, CapacityWindow.id == Booking.window_id)
            .options(joinedload(Booking.elder), joinedload(Booking.service_type), joinedload(Booking.window))
            .where(Booking.status == "booked", CapacityWindow.day == visit_day)
            .order_by(CapacityWindow.starts_at, Booking.id)
        )
        .unique()
        .scalars()
        .all()
    )
    done: dict[str, OutreachContact] = {}
    if bookings:
        done = {
            c.attempt_key: c
            for c in session.execute(
                select(OutreachContact).where(
                    OutreachContact.kind == "reminder",
                    OutreachContact.booking_id.in_([b.id for b in bookings]),
                    OutreachContact.attempt_key.is_not(None),
                )
            ).scalars()
        }
    retry_before = (now or clock.utcnow_naive()) - RETRY_GAP
    due = []
    for b in bookings:
        number = b.notice_number(landline_ok=True)
        channel = "sms" if is_mobile(number) or not phone_digits(number) else "call"
        first, second = done.get(attempt_key(b.id)), done.get(attempt_key(b.id, 2))
        attempt_no, already = 1, first is not None
        if (
            channel == "call"
            and first is not None
            and second is None
            and first.channel == "call"
            and first.outcome == "no_answer"
            and first.created_at <= retry_before
        ):
            attempt_no, already = 2, False
        elif second is not None:
            attempt_no = 2
        due.append(
            DueReminder(
                booking_id=b.id,
                reference=b.reference,
                elder_id=b.elder_id,
                service_name=b.service_type.name,
                window_start=b.window.starts_at,
                to_number=number,
                skip_reason=(
                    rules.sms_skip_reason(session, b.elder, number)
                    if channel == "sms"
                    else rules.contact_skip_reason(session, b.elder, number)
                ),
                already_reminded=already,
                channel=channel,
                attempt_no=attempt_no,
            )
        )
    return due


def send_reminders(
    day: dt.date | None = None, dry_run: bool = False, *, database_url: str | None = None
) -> ReminderRun:
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
            run.outcomes.append(retry_on_lock("reminder", _remind_one, item, database_url))
    log.info("%s", run.summary())
    return run


def _record_quiet_hours(item: DueReminder, database_url: str | None) -> ReminderOutcome:
    with session_scope(database_url) as s:
        s.add(
            OutreachContact(
                kind="reminder",
                elder_id=item.elder_id,
                booking_id=item.booking_id,
                channel=item.channel,
                to_number=item.to_number,
                day=clock.today(),
                status="skipped",
                reason=rules.QUIET_HOURS,
                attempt_key=None,
            )
        )
    log.info("reminder ref=%s not sent: quiet hours", item.reference)
    return ReminderOutcome(item, "skipped", rules.QUIET_HOURS)


def _remind_one(item: DueReminder, database_url: str | None) -> ReminderOutcome:
    if item.channel == "call":
        return _call_one(item, database_url)
    try:
        with session_scope(database_url) as s:
            booking = s.get(Booking, item.booking_id)
            elder = s.get(Elder, booking.elder_id)
            number = booking.notice_number(landline_ok=True)
            # Claim first: a concurrent run fails here, before any SMS row exists.
            contact = OutreachContact(
                kind="reminder",
                elder_id=elder.id,
                booking_id=booking.id,
                channel="sms",
                to_number=number,
                day=clock.today(),
                status="skipped",
                attempt_key=attempt_key(booking.id),
            )
            s.add(contact)
            s.flush()
            # Facts may have changed since the list was made (cancelled, 退订 just now).
            reason = (
                f"booking {booking.status}"
                if booking.status != "booked"
                else rules.sms_skip_reason(s, elder, number)
            )
            if reason is None:
                text, template = reminder_text(booking, number)
                sms_id = send_sms(number, text, related_booking_id=booking.id, session=s, template=template)
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
    log.info(
        "reminder ref=%s elder=%s to %s: %s%s",
        item.reference,
        item.elder_id,
        mask_phone(number),
        outcome.status,
        f" ({outcome.reason})" if outcome.reason else "",
    )
    return outcome


def _call_one(item: DueReminder, database_url: str | None) -> ReminderOutcome:
    """Claims the attempt (committed), then asks the carrier to dial."""
    try:
        with session_scope(database_url) as s:
            booking = s.get(Booking, item.booking_id)
            elder = s.get(Elder, booking.elder_id)
            reason = (
                f"booking {booking.status}"
                if booking.status != "booked"
                else rules.contact_skip_reason(s, elder, booking.notice_number(landline_ok=True))
            )
            contact = OutreachContact(
                kind="reminder",
                elder_id=elder.id,
                booking_id=booking.id,
                channel="call",
                to_number=phone_digits(booking.notice_number(landline_ok=True)),
                day=clock.today(),
                attempt_no=item.attempt_no,
                status="skipped" if reason else "queued",
                reason=reason,
                attempt_key=attempt_key(booking.id, item.attempt_no),
            )
            s.add(contact)
            s.flush()
            contact_id, number = contact.id, contact.to_number
    except IntegrityError:
        log.info(
            "reminder call ref=%s attempt %s already recorded by another run", item.reference, item.attempt_no
        )
        return ReminderOutcome(item, "already", ALREADY)
    if reason:
        return ReminderOutcome(item, "skipped", reason)
    placed = dial(contact_id, number)
    return ReminderOutcome(item, placed.status, placed.reason)


# Replies to a reminder: handed to the normal conversation as the intent they mean, so
# the booking forms (identity by caller ID, which booking, read-back) do the rest.
_RESCHEDULE_REPLY = re.compile(r"^(?:改时间|改个时间|改一下时间|改期|我要改时间)[。.!！]*$")
_CANCEL_REPLY = re.compile(r"^(?:取消|取消预约|不要了)[。.!！]*$")
REPLY_PAYLOADS = ((_RESCHEDULE_REPLY, "/reschedule_booking"), (_CANCEL_REPLY, "/cancel_booking"))


def reminder_reply_payload(
    number: str | None, text: str | None, *, session: Session | None = None
) -> str | None:
    """ "/reschedule_booking" or "/cancel_booking" when `text` is one of the replies a
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
    reminded = session.execute(
        select(OutreachContact.id)
        .where(
            OutreachContact.kind == "reminder",
            OutreachContact.to_number == digits,
            OutreachContact.status.in_(("queued", "sent")),
            OutreachContact.day.in_((today, today - dt.timedelta(days=1))),
        )
        .limit(1)
    ).first()
    return payload if reminded else None
