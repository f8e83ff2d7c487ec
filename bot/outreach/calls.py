"""Outbound calls of outbound care: placing them, and what happens when one ends.

Placing: a contact row (`outreach_contacts`, channel "call", status "queued") is committed
first; only then is the carrier asked to dial, so the call's webhooks always find their
row. The carrier is Twilio's REST API (Calls.json; TWILIO_API_URL points it at a local
stand-in in tests). Without carrier credentials the call is recorded as queued and nobody
is dialled. When the elder picks up, the carrier fetches
`PUBLIC_BASE_URL/twilio/voice?turn=0&outreach=<contact id>` (a signed webhook: only the
carrier can send it) and the call's script runs (server/telephony/outreach_dialogue.py);
its end is reported to `/twilio/status?outreach=<contact id>`.

FreeSWITCH (the mainland carrier path for inbound calls) would originate through its event
socket; that placer is not built: with CARRIER=freeswitch nothing is dialled and the
contact is recorded as queued, like without credentials.

Ending (`call_ended`): the outcome is written once; an unanswered check-in that makes the
month's `unanswered_attempts_for_visit` attempts on different days becomes a task
"请上门探访" in the advisor queue, and a reminder call unanswered twice flags the visit.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock
from bot.config import get_settings
from bot.db import session_scope
from bot.text.masking import mask_phone
from bot.contact.handoff import add_task
from bot.models.booking import Booking
from bot.models.outreach import CALL_OUTCOMES, OutreachContact
from bot.models.people import phone_digits
from bot.contact.sms import normalize_number, twilio_timeout_seconds

log = logging.getLogger(__name__)

NO_CREDENTIALS = "no carrier credentials: recorded as queued, nobody dialled"
NO_PUBLIC_URL = "PUBLIC_BASE_URL is not set: the carrier could not reach the call's script"
UNANSWERED = {"busy", "no-answer", "failed", "canceled"}
RING_SECONDS = 30  # an older person needs time to reach the phone

# Tasks in the advisor queue (bot/contact/handoff.py PRIORITY): kinds and their summaries.
NEED_TASK = "checkin_need"
VISIT_TASK = "visit_needed"
VISIT_SUMMARY = "请上门探访：本月{n}次问候电话都没有接通（{days}）。"
REMINDER_TASK = "reminder_missed"
REMINDER_SUMMARY = "上门服务提醒电话{n}次没有接通，请确认老人明天在家。预约号{reference}。"


@dataclass(frozen=True)
class Placed:
    status: str  # queued | failed
    call_id: str | None = None
    reason: str | None = None


def _twilio_client() -> Any:  # a twilio.rest.Client (twilio is untyped)
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    settings = get_settings()
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=twilio_timeout_seconds()),
    )
    if settings.twilio_api_url:
        client.api.base_url = settings.twilio_api_url.rstrip("/")
    return client


def script_url(contact_id: int) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/twilio/voice?turn=0&outreach={contact_id}"


def status_url(contact_id: int) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/twilio/status?outreach={contact_id}"


def dial(contact_id: int, to_number: str) -> Placed:
    """Asks the carrier to call `to_number` for this (committed) contact row, and records
    the answer on the row."""
    settings = get_settings()
    if not settings.twilio_configured:
        placed = Placed("queued", reason=NO_CREDENTIALS)
    elif not settings.public_base_url:
        placed = Placed("failed", reason=NO_PUBLIC_URL)
        log.error("outbound call contact=%s not placed: %s", contact_id, NO_PUBLIC_URL)
    else:
        placed = _dial_twilio(contact_id, to_number)
    with session_scope() as s:
        row = s.get(OutreachContact, contact_id)
        row.status, row.reason = placed.status, placed.reason
        if placed.call_id:
            row.provider_call_id = placed.call_id
        if placed.status == "failed":
            # Nobody was dialled (the carrier refused, or it could not reach us): not an
            # attempt and not an unanswered call. The row says why; releasing its attempt key
            # lets a later run try again, and an outage never becomes "请上门探访" tasks.
            row.status, row.attempt_key = "skipped", None
    log.info(
        "outbound call contact=%s to %s: %s%s",
        contact_id,
        mask_phone(to_number),
        placed.status,
        f" ({placed.reason})" if placed.reason else "",
    )
    return placed


def _dial_twilio(contact_id: int, to_number: str) -> Placed:
    from twilio.base.exceptions import TwilioException

    settings = get_settings()
    try:
        call = _twilio_client().calls.create(
            to=normalize_number(to_number),
            from_=settings.twilio_from_number,
            url=script_url(contact_id),
            method="POST",
            status_callback=status_url(contact_id),
            status_callback_method="POST",
            timeout=RING_SECONDS,
        )
    except (TwilioException, OSError) as exc:
        log.error(
            "outbound call contact=%s to %s failed: %s", contact_id, mask_phone(to_number), type(exc).__name__
        )
        return Placed("failed", reason=f"carrier refused: {type(exc).__name__}")
    return Placed("queued", call_id=call.sid)


# --- the end of a call ------------------------------------------------------------------


def call_ended(contact_id: int, carrier_status: str) -> str | None:
    """The carrier says the call is over (completed, busy, no-answer, failed, canceled).
    Writes the outcome once (a script that ended the call has already written its own)
    and opens the follow-up task; returns the outcome."""
    with session_scope() as s:
        row = s.get(OutreachContact, contact_id)
        if row is None:
            log.warning("call status for unknown outreach contact=%s", contact_id)
            return None
        if row.outcome is None:
            if carrier_status in UNANSWERED:
                row.status, row.outcome = "failed", "no_answer"
                row.reason = row.reason or f"carrier: {carrier_status}"
            else:
                row.status = "sent"
                row.outcome = "hung_up"
        if row.finished_at is None:
            row.finished_at = clock.utcnow_naive()
        outcome: str | None = row.outcome
        kind, elder_id, campaign, booking_id = row.kind, row.elder_id, row.campaign, row.booking_id
    if outcome == "no_answer":
        if kind == "checkin" and campaign:
            _visit_task_when_unreachable(elder_id, campaign)
        elif kind == "reminder" and booking_id:
            _flag_reminder_when_unreachable(booking_id)
    return outcome


def _contacts(s: Session, *where: Any) -> list[OutreachContact]:
    """The outreach contacts that meet every condition."""
    return list(s.execute(select(OutreachContact).where(*where)).scalars().all())


def _visit_task_when_unreachable(elder_id: int, campaign: str) -> None:
    from bot.outreach.campaign import checkin_campaign

    needed = checkin_campaign().unanswered_attempts_for_visit
    with session_scope() as s:
        rows = _contacts(
            s,
            OutreachContact.kind == "checkin",
            OutreachContact.elder_id == elder_id,
            OutreachContact.campaign == campaign,
        )
        if any(r.outcome in ANSWERED for r in rows):
            return
        unanswered = [r for r in rows if r.outcome == "no_answer"]
        existing = next((r.handoff_id for r in unanswered if r.handoff_id), None)
        if existing is not None:  # the month's task is open: this attempt belongs to it
            for r in unanswered:
                r.handoff_id = existing
            return
        days = sorted({r.day for r in unanswered})
        if len(days) < needed:
            return
        summary = VISIT_SUMMARY.format(n=len(days), days="、".join(f"{d.month}月{d.day}日" for d in days))
        task = _task(s, VISIT_TASK, elder_id, summary)
        for r in rows:
            if r.outcome == "no_answer":
                r.handoff_id = task
    log.info(
        "check-in campaign %s elder=%s unreachable on %d days: visit task %s",
        campaign,
        elder_id,
        len(days),
        task,
    )


def _flag_reminder_when_unreachable(booking_id: int) -> None:
    with session_scope() as s:
        rows = _contacts(
            s,
            OutreachContact.kind == "reminder",
            OutreachContact.booking_id == booking_id,
            OutreachContact.channel == "call",
        )
        unanswered = [r for r in rows if r.outcome == "no_answer"]
        if len(unanswered) < 2 or any(r.handoff_id for r in rows):
            return
        booking = s.get(Booking, booking_id)
        task = _task(
            s,
            REMINDER_TASK,
            booking.elder_id,
            REMINDER_SUMMARY.format(n=len(unanswered), reference=booking.reference),
        )
        for r in unanswered:
            r.handoff_id = task
    log.info("reminder calls for booking=%s unanswered twice: task %s", booking_id, task)


def _task(s: Session, kind: str, elder_id: int, summary: str) -> int:
    return cast(int, add_task(s, kind, elder_id=elder_id, summary=summary, channel="voice").id)


ANSWERED = tuple(o for o in CALL_OUTCOMES if o != "no_answer")  # somebody picked up


def attempts_in(session: Session, elder_id: int, campaign: str) -> int:
    return cast(
        int,
        session.execute(
            select(func.count(OutreachContact.id)).where(
                OutreachContact.kind == "checkin",
                OutreachContact.elder_id == elder_id,
                OutreachContact.campaign == campaign,
                OutreachContact.status != "skipped",
            )
        ).scalar_one(),
    )


# --- the call itself (server/telephony/outreach_dialogue.py) ------------------------------


@dataclass(frozen=True)
class OutreachCall:
    """What the call's script needs to know about its contact row."""

    contact_id: int
    kind: str  # reminder | checkin
    elder_id: int
    number: str  # the elder's number we dialled (digits)
    booking_id: int | None = None
    booking_status: str | None = None
    service_name: str | None = None
    window_start: dt.datetime | None = None
    reference: str | None = None


def _snapshot(s: Session, row: OutreachContact) -> OutreachCall:
    booking = s.get(Booking, row.booking_id) if row.booking_id else None
    return OutreachCall(
        contact_id=row.id,
        kind=row.kind,
        elder_id=row.elder_id,
        number=row.to_number or "",
        booking_id=row.booking_id,
        booking_status=booking.status if booking else None,
        service_name=booking.service_type.name if booking else None,
        window_start=booking.window.starts_at if booking else None,
        reference=booking.reference if booking else None,
    )


def contact_for_call(
    call_id: str, outreach_id: int | None = None, callee: str | None = None
) -> OutreachCall | None:
    """The outbound-care contact a call belongs to, or None (an ordinary inbound call).
    The first webhook names its contact (`outreach` in the URL we gave the carrier, signed
    by the carrier); it must be a call we placed to the number the carrier dialled, not yet
    tied to another call. Later turns find it by the carrier's call id."""
    with session_scope() as s:
        if outreach_id is None:
            row = (
                s.execute(select(OutreachContact).where(OutreachContact.provider_call_id == call_id))
                .scalars()
                .first()
            )
            return _snapshot(s, row) if row is not None else None
        row = s.get(OutreachContact, outreach_id)
        if (
            row is None
            or row.channel != "call"
            or row.status not in ("queued", "sent")
            or (row.provider_call_id not in (None, call_id))
            or phone_digits(callee) != row.to_number
        ):
            log.warning(
                "outbound call webhook for contact=%s does not match our call "
                "(sid=%s to %s): handled as an ordinary call",
                outreach_id,
                call_id,
                mask_phone(callee),
            )
            return None
        row.provider_call_id = call_id
        return _snapshot(s, row)


def picked_up(contact_id: int) -> None:
    with session_scope() as s:
        row = s.get(OutreachContact, contact_id)
        if row.status == "queued":
            row.status = "sent"


def note_turn(
    contact_id: int, said: str, heard: str | None, reading: str | None = None, needs: tuple[str, ...] = ()
) -> None:
    """Appends one exchange to the call's transcript (and the needs heard)."""
    line = f"问：{said}\n答：{heard if heard is not None else '（没有回答）'}"
    if reading:
        line += f"【{reading}】"
    with session_scope() as s:
        row = s.get(OutreachContact, contact_id)
        row.transcript = ((row.transcript + "\n") if row.transcript else "") + line
        if needs:
            known = [n for n in (row.needs or "").split(",") if n]
            row.needs = ",".join(known + [n for n in needs if n not in known])[:80]


def finish(contact_id: int, outcome: str, *, summary: str | None = None) -> int | None:
    """The script ended the call with `outcome`; with `summary`, a check-in need becomes a
    task in the advisor queue, carrying the transcript. Returns the task id."""
    if outcome not in CALL_OUTCOMES:
        raise ValueError(f"unknown call outcome {outcome!r}")
    task = None
    with session_scope() as s:
        row = s.get(OutreachContact, contact_id)
        if row.outcome is not None:
            return cast("int | None", row.handoff_id)
        row.status, row.outcome, row.finished_at = "sent", outcome, clock.utcnow_naive()
        if summary:
            text = summary + ("\n" + row.transcript if row.transcript else "")
            task = _task(s, NEED_TASK, row.elder_id, text)
            row.handoff_id = task
    log.info("outbound call contact=%s ended: %s%s", contact_id, outcome, f", task {task}" if task else "")
    return task
