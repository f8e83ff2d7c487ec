"""Sending SMS. Every SMS goes through `send_sms`, which decides whether a message may go
and keeps one `sms_outbox` row per message; a sender (bot/contact/sms_senders.py) delivers it:
SMS_PROVIDER=twilio (the default) sends the text through Twilio, SMS_PROVIDER=template
sends a mainland provider's approved template and its parameters (bot/sms_templates.yml).
Without the chosen provider's credentials (the embedded default, and always in tests) the
message stays in the outbox table and the log with status 'outbox'.

It sends only to a number on file: an elder's registered mobile or her family contact's
(never a number someone typed or a caller ID nobody registered), never to a landline,
never to a number that replied 退订 (unless the person asked for it just now), whichever
sender is configured. `notice_number_for(elder)` says which of her numbers a notice goes
to; `note_sms_unsent` tells an advisor when she has none. The provider's REST call has a
timeout (TWILIO_TIMEOUT_SECONDS / SMS_TEMPLATE_TIMEOUT_SECONDS, default 10) and runs after
the caller's transaction has committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import cast

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.contact import sms_templates
from bot.config import Settings, get_settings
from bot.db import session_scope
from bot.text.masking import mask_phone
from bot.models import Elder, Handoff, SmsOptOut, SmsOutbox
from bot.models.base import utcnow
from bot.models.people import is_mobile, phone_digits
from bot.contact.sms_senders import SmsSender, Template, TemplateSender, TwilioSender

log = logging.getLogger(__name__)

SMS_MAX_CHARS = 300  # about 5 segments of 70 Chinese characters
SMS_PROVIDERS = ("twilio", "template")


def twilio_timeout_seconds() -> float:
    """Connect/read timeout of every Twilio REST call (TWILIO_TIMEOUT_SECONDS, default 10)."""
    return get_settings().twilio_timeout_seconds


def number_on_file(phone: str | None, session: Session | None = None) -> bool:
    """Is this an elder's registered number or her family contact's?"""
    digits = phone_digits(phone)
    if not digits:
        return False
    if session is None:
        with session_scope() as s:
            return number_on_file(digits, s)
    return cast(
        bool,
        session.execute(
            select(func.count(Elder.id)).where(
                (Elder.phone == digits) | (Elder.emergency_contact_phone == digits)
            )
        ).scalar_one()
        > 0,
    )


def normalize_number(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("+"):
        return digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return digits


def opted_out(number: str | None, session: Session | None = None) -> bool:
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


def send_sms(
    to_number: str,
    body: str,
    *,
    related_booking_id: int | None = None,
    session: Session | None = None,
    requested: bool = False,
    template: tuple[str, Mapping[str, object]] | None = None,
) -> int | None:
    """Queues (and, with a provider configured, sends) one SMS; returns the outbox row id, or
    None when the number cannot or must not get it: a number that is not on file (no elder's
    and no family contact's: the hotline's sender never texts strangers), a landline (the
    provider rejects it) or a number that replied 退订 (unless the person `requested` it
    now, e.g. a one-time code).

    `body` is the full text. `template=(kind, params)` names the same message as a template
    of bot/sms_templates.yml with its parameters; template-only providers send that (a
    message without one goes as kind "generic", the text its one parameter). Parameters
    that do not fit the catalogue raise sms_templates.TemplateError, whatever the sender:
    a caller's mistake, caught by the tests in the default profile.

    Pass `session` to write the outbox row in the caller's transaction (so a booking and
    its confirmation SMS are written together or not at all)."""
    if template is not None:
        kind, params = template
        template = (kind, sms_templates.checked(kind, params))
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
    row = SmsOutbox(
        to_number=normalize_number(to_number),
        body=body,
        status="outbox",
        related_booking_id=related_booking_id,
    )
    if session is not None:
        session.add(row)
        session.flush()
        row_id: int = row.id
    else:
        with session_scope() as s:
            s.add(row)
            s.flush()
            row_id = row.id
    # The row has no column for the template: its kind is in this line of the log.
    template_kind = template[0] if template else None
    settings = get_settings()
    sender = configured_sender(settings)
    if sender is None:
        log.info(
            "sms to %s kept in outbox id=%s kind=%s (%s)",
            mask_phone(row.to_number),
            row_id,
            template_kind or "-",
            _why_outbox(settings),
        )
        return row_id
    log.info(
        "sms to %s queued id=%s kind=%s sender=%s",
        mask_phone(row.to_number),
        row_id,
        template_kind or "-",
        sender.name,
    )
    to_number = row.to_number
    if session is not None:
        # Send only once the caller's transaction has committed: a booking that is rolled
        # back sends nothing, and the status update below can see (and write) the row.
        sa_event.listen(
            session,
            "after_commit",
            lambda _s: _deliver_after_commit(sender, row_id, to_number, body, template),
            once=True,
        )
        return row_id
    _deliver(sender, row_id, to_number, body, template)
    return row_id


def configured_sender(settings: Settings | None = None) -> SmsSender | None:
    """The sender SMS_PROVIDER names, or None when its credentials are not set (messages
    then stay in the outbox)."""
    settings = settings or get_settings()
    if settings.sms_provider == "template":
        if not settings.template_sms_configured:
            return None
        return TemplateSender(
            settings.sms_template_api_url,
            settings.sms_template_api_key,
            settings.sms_template_sign_name,
            timeout=settings.sms_template_timeout_seconds,
            codes=dict(settings.sms_template_codes),
        )
    if settings.sms_provider not in SMS_PROVIDERS:
        log.error(
            "SMS_PROVIDER=%r is not one of %s: SMS stay in the outbox",
            settings.sms_provider,
            ", ".join(SMS_PROVIDERS),
        )
        return None
    if not settings.twilio_configured:
        return None
    return TwilioSender(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_from_number,
        api_url=settings.twilio_api_url,
        timeout=twilio_timeout_seconds(),
    )


def _why_outbox(settings: Settings) -> str:
    if settings.sms_provider == "template":
        return "no SMS_TEMPLATE_API_URL / SMS_TEMPLATE_API_KEY"
    if settings.sms_provider not in SMS_PROVIDERS:
        return f"unknown SMS_PROVIDER {settings.sms_provider!r}"
    return "no Twilio credentials"


def _deliver_after_commit(
    sender: SmsSender, row_id: int, to_number: str, body: str, template: Template | None
) -> None:
    # The caller's commit has succeeded: nothing here may turn it into an error for them.
    try:
        _deliver(sender, row_id, to_number, body, template)
    except Exception:  # noqa: BLE001 - logged; the row stays 'outbox' for a resend
        log.exception("sms id=%s to %s: delivery after commit failed", row_id, mask_phone(to_number))


def _deliver(sender: SmsSender, row_id: int, to_number: str, body: str, template: Template | None) -> None:
    result = sender.send(to_number, body, template, message_id=row_id)
    if result.status != "sent":
        log.error(
            "sms to %s failed id=%s sender=%s: %s", mask_phone(to_number), row_id, sender.name, result.error
        )
    with session_scope() as s:
        row = s.get(SmsOutbox, row_id)
        if row is not None:
            row.status, row.provider_sid, row.error = result.status, result.provider_id, result.error
            row.sent_at = utcnow() if result.status == "sent" else None


# --- which number a notice goes to ----------------------------------------------------------

ELDER_MOBILE = "elder_mobile"  # her own mobile
FAMILY_MOBILE = "family_mobile"  # her number is a landline (or missing): her family contact's
NO_MOBILE = "no_mobile"  # neither she nor her family contact has a mobile on file
SMS_UNSENT_KIND = "sms_unsent"  # its priority: bot/contact/handoff.py PRIORITY


def notice_number_for(elder: Elder) -> tuple[str | None, str]:
    """The mobile an SMS about this elder goes to, and why (ELDER_MOBILE, FAMILY_MOBILE or
    NO_MOBILE): hers; her family contact's when hers is a landline or she has none; else
    None. Whether that number may get it now (退订) is still send_sms's to decide."""
    if is_mobile(elder.phone):
        return phone_digits(elder.phone), ELDER_MOBILE
    if is_mobile(elder.emergency_contact_phone):
        return phone_digits(elder.emergency_contact_phone), FAMILY_MOBILE
    return None, NO_MOBILE


def note_sms_unsent(
    elder_id: int,
    what: str | None = None,
    *,
    booking_reference: str | None = None,
    session: Session | None = None,
) -> int:
    """Tells an advisor that a notice could not be texted to this elder (no mobile of hers
    or her family's on file): a handoff of kind 'sms_unsent' to follow up by phone. `what`
    is the kind of message (bot/sms_templates.yml, e.g. "booking_confirmed"). The summary
    names the elder by id only (and the booking by its reference). An open note with the
    same text is not repeated; returns the handoff id. Pass `session` to write it in the
    caller's transaction."""
    template = sms_templates.catalogue().get(what or "")
    about = [template.label] if template else []
    if booking_reference:
        about.append(f"预约号{booking_reference}")
    summary = (
        f"短信未能发出{'（' + '，'.join(about) + '）' if about else ''}：长者编号{elder_id}"
        f"本人和家属都没有登记手机号。请电话告知，并核实联系方式。"
    )
    if session is None:
        with session_scope() as s:
            return note_sms_unsent(elder_id, what, booking_reference=booking_reference, session=s)
    from bot.contact.handoff import add_task
    from bot.text.masking import mask_text

    existing = (
        session.execute(
            select(Handoff.id).where(
                Handoff.kind == SMS_UNSENT_KIND,
                Handoff.elder_id == elder_id,
                Handoff.status == "open",
                Handoff.summary == mask_text(summary),
            )
        )
        .scalars()
        .first()
    )
    if existing is not None:
        log.info(
            "sms unsent for elder=%s (%s): advisor note %s already open", elder_id, what or "-", existing
        )
        return cast(int, existing)
    handoff = add_task(session, SMS_UNSENT_KIND, elder_id=elder_id, summary=summary, channel="sms")
    log.info("sms unsent for elder=%s (%s): advisor note %s", elder_id, what or "-", handoff.id)
    return cast(int, handoff.id)
