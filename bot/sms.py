"""Sending SMS. With Twilio credentials it sends through Twilio; without them (the
embedded default, and always in tests) the message lands in the `sms_outbox` table and
the log with status 'outbox'. Either way there is one outbox row per message.

Every SMS goes through `send_sms`, and it sends only to a number on file: an elder's
registered mobile or her family contact's (never a number someone typed or a caller ID
nobody registered), never to a landline, never to a number that replied 退订 (unless the
person asked for it just now). The Twilio REST call has a timeout (TWILIO_TIMEOUT_SECONDS,
default 10) and runs after the caller's transaction has committed."""
from __future__ import annotations

import logging
import os

from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from bot.config import get_settings
from bot.db import session_scope
from bot.masking import mask_phone
from bot.models import Elder, SmsOptOut, SmsOutbox
from bot.models.people import is_mobile, phone_digits
from bot.models.base import utcnow

log = logging.getLogger(__name__)

SMS_MAX_CHARS = 300  # about 5 segments of 70 Chinese characters
DEFAULT_TWILIO_TIMEOUT_SECONDS = 10.0


def twilio_timeout_seconds() -> float:
    """Connect/read timeout of every Twilio REST call (TWILIO_TIMEOUT_SECONDS, default 10)."""
    try:
        value = float(os.environ.get("TWILIO_TIMEOUT_SECONDS") or DEFAULT_TWILIO_TIMEOUT_SECONDS)
    except ValueError:
        value = DEFAULT_TWILIO_TIMEOUT_SECONDS
    return value if value > 0 else DEFAULT_TWILIO_TIMEOUT_SECONDS


def number_on_file(phone: str | None, session=None) -> bool:
    """Is this an elder's registered number or her family contact's?"""
    digits = phone_digits(phone)
    if not digits:
        return False
    if session is None:
        with session_scope() as s:
            return number_on_file(digits, s)
    return session.execute(select(func.count(Elder.id)).where(
        (Elder.phone == digits) | (Elder.emergency_contact_phone == digits))).scalar_one() > 0


def normalize_number(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("+"):
        return digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return digits


def opted_out(number: str, session=None) -> bool:
    digits = phone_digits(number)
    if session is not None:
        return session.execute(select(SmsOptOut.id).where(SmsOptOut.number == digits)).first() is not None
    with session_scope() as s:
        return opted_out(number, s)


def opt_out(number: str) -> bool:
    """Records a 退订; True when it is new."""
    digits = phone_digits(number)
    with session_scope() as s:
        if opted_out(digits, s):
            return False
        s.add(SmsOptOut(number=digits))
    log.info("sms opt-out recorded for %s", mask_phone(digits))
    return True


def send_sms(to_number: str, body: str, *, related_booking_id: int | None = None,
             session=None, requested: bool = False) -> int | None:
    """Queues (and, with Twilio configured, sends) one SMS; returns the outbox row id, or
    None when the number cannot or must not get it: a number that is not on file (no elder's
    and no family contact's: the hotline's sender never texts strangers), a landline (the
    provider rejects it) or a number that replied 退订 (unless the person `requested` it
    now, e.g. a one-time code).

    Pass `session` to write the outbox row in the caller's transaction (so a booking and
    its confirmation SMS are written together or not at all)."""
    if not is_mobile(to_number):
        log.info("sms not sent: %s is not a mobile number", mask_phone(to_number))
        return None
    if not number_on_file(to_number, session):
        log.warning("sms not sent: %s is not a number on file", mask_phone(to_number))
        return None
    if not requested and opted_out(to_number, session):
        log.info("sms not sent: %s opted out", mask_phone(to_number))
        return None
    body = body.strip()[:SMS_MAX_CHARS]
    row = SmsOutbox(to_number=normalize_number(to_number), body=body, status="outbox",
                    related_booking_id=related_booking_id)
    if session is not None:
        session.add(row)
        session.flush()
        row_id = row.id
    else:
        with session_scope() as s:
            s.add(row)
            s.flush()
            row_id = row.id
    settings = get_settings()
    if not settings.twilio_configured:
        log.info("sms to %s kept in outbox id=%s (no Twilio credentials)",
                 mask_phone(row.to_number), row_id)
        return row_id
    if session is not None:
        # Send only once the caller's transaction has committed: a booking that is rolled
        # back sends nothing, and the status update below can see (and write) the row.
        to_number = row.to_number
        sa_event.listen(session, "after_commit",
                        lambda _s: _deliver_after_commit(row_id, to_number, body), once=True)
        return row_id
    _deliver_via_twilio(row_id, row.to_number, body)
    return row_id


def _deliver_after_commit(row_id: int, to_number: str, body: str) -> None:
    # The caller's commit has succeeded: nothing here may turn it into an error for them.
    try:
        _deliver_via_twilio(row_id, to_number, body)
    except Exception:  # noqa: BLE001 - logged; the row stays 'outbox' for a resend
        log.exception("sms id=%s to %s: delivery after commit failed", row_id, mask_phone(to_number))


def _deliver_via_twilio(row_id: int, to_number: str, body: str) -> None:
    from twilio.base.exceptions import TwilioException
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    settings = get_settings()
    try:
        client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                        http_client=TwilioHttpClient(timeout=twilio_timeout_seconds()))
        if settings.twilio_api_url:
            client.api.base_url = settings.twilio_api_url.rstrip("/")
        message = client.messages.create(
            to=to_number, from_=settings.twilio_from_number, body=body)
        status, sid, error = "sent", message.sid, None
    except (TwilioException, OSError) as exc:
        status, sid, error = "failed", None, type(exc).__name__
        log.error("sms to %s failed id=%s: %s", mask_phone(to_number), row_id, error)
    with session_scope() as s:
        row = s.get(SmsOutbox, row_id)
        if row is not None:
            row.status, row.provider_sid, row.error = status, sid, error
            row.sent_at = utcnow() if status == "sent" else None
