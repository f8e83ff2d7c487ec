"""Who may be contacted, and when: the rules every outbound job (reminders now, check-in
calls later) goes through before it texts or calls anyone.

- only between 09:00 and 20:00 China time (the domain clock, bot/clock.py);
- only active elders (not moved away, not deceased);
- never an elder or a number on the refusal list (voice, SMS or advisor), nor a number that
  replied 退订 (`sms_optouts`, bot/contact/sms.py);
- SMS only to a mobile; an elder whose number is a landline gets an automated call.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import clock
from bot.text.masking import mask_phone
from bot.models import Elder, SmsOptOut
from bot.models.outreach import REFUSAL_SOURCES, OutreachRefusal
from bot.models.people import is_mobile, phone_digits
from bot.contact.sms import opted_out

log = logging.getLogger(__name__)

CONTACT_HOURS = (dt.time(9, 0), dt.time(20, 0))  # China time, start inclusive, end exclusive


def outcome_line(head: str, to_number: str | None, status: str, written: str, reason: str | None) -> str:
    """A job's one line for operators about one contact: `head` (no names), the number
    masked, the status, what was written (` sms #…`, ` contact #…`) and why."""
    tail = f" ({reason})" if reason else ""
    return f"{head} {mask_phone(to_number) or '-'}: {status}{written}{tail}"


# Why a contact was skipped (stored in outreach_contacts.reason; English, for operators).
QUIET_HOURS = "quiet hours: contact only 09:00-20:00 China time"
INACTIVE = "inactive elder"
NO_PHONE = "no phone on file"
LANDLINE = "landline: no SMS"
OPTED_OUT = "opted out by SMS (退订)"
REFUSED = "on the refusal list"


def within_contact_hours(moment: dt.datetime | None = None) -> bool:
    local = (moment or clock.now()).astimezone(clock.CHINA_TZ).time()
    return CONTACT_HOURS[0] <= local < CONTACT_HOURS[1]


def refused(session: Session, elder_id: int, number: str | None = None) -> bool:
    """Is this elder, or this number, on the refusal list?"""
    who = [OutreachRefusal.elder_id == elder_id]
    digits = phone_digits(number)
    if digits:
        who.append(OutreachRefusal.number == digits)
    return session.execute(select(OutreachRefusal.id).where(or_(*who)).limit(1)).first() is not None


@dataclass(frozen=True)
class DoNotContact:
    """The refusal list and the SMS 退订 numbers, read once for a whole run or page."""

    refused_elders: frozenset[int]
    refused_numbers: frozenset[str]
    opted_out_numbers: frozenset[str]

    def reason(self, elder_id: int, number: str | None) -> str | None:
        """REFUSED, OPTED_OUT, or None when she may be contacted at this number."""
        digits = phone_digits(number)
        if elder_id in self.refused_elders or (digits and digits in self.refused_numbers):
            return REFUSED
        if digits and digits in self.opted_out_numbers:
            return OPTED_OUT
        return None


def do_not_contact(session: Session) -> DoNotContact:
    elders, numbers = set(), set()
    for elder_id, number in session.execute(select(OutreachRefusal.elder_id, OutreachRefusal.number)):
        if elder_id is not None:
            elders.add(elder_id)
        if number:
            numbers.add(phone_digits(number))
    opted = {phone_digits(n) for n in session.execute(select(SmsOptOut.number)).scalars()}
    return DoNotContact(frozenset(elders), frozenset(numbers - {""}), frozenset(opted - {""}))


def add_refusal(
    session: Session,
    *,
    source: str,
    elder_id: int | None = None,
    number: str | None = None,
    created_by: str | None = None,
    note: str | None = None,
) -> OutreachRefusal:
    """Puts an elder (or a number) on the refusal list; every outbound job honours it."""
    if source not in REFUSAL_SOURCES:
        raise ValueError(f"unknown refusal source {source!r}")
    digits = phone_digits(number) or None
    if elder_id is None and digits is None:
        raise ValueError("a refusal needs an elder or a number")
    row = OutreachRefusal(
        elder_id=elder_id,
        number=digits,
        source=source,
        created_by=created_by,
        note=(note or None) and note[:200],
    )
    session.add(row)
    session.flush()
    log.info("outreach refusal recorded elder=%s number=%s source=%s", elder_id, mask_phone(digits), source)
    return row


def sms_skip_reason(session: Session, elder: Elder, number: str | None) -> str | None:
    """Why this elder must not get an SMS at this number now (None: she may). Quiet hours
    are checked once per run by the caller, not here."""
    reason = contact_skip_reason(session, elder, number)
    if reason is None and not is_mobile(number):
        return LANDLINE
    return reason


def contact_skip_reason(session: Session, elder: Elder, number: str | None) -> str | None:
    """Why this elder must not be contacted at this number at all, by SMS or call (None:
    she may). An SMS 退订 counts for calls too: she asked us to stop."""
    if not elder.active:
        return f"{INACTIVE} ({elder.status})"
    if not phone_digits(number):
        return NO_PHONE
    if refused(session, elder.id, number):
        return REFUSED
    if opted_out(number, session):
        return OPTED_OUT
    return None
