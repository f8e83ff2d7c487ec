"""Who is the person in this conversation? Proven, never claimed.

A phone number or a name said in the conversation only says *which* elder the caller means.
Before the assistant reads out an address, bookings or facts on file, or books, changes or
cancels for her, the caller proves control of her registered mobile (or, when she has only
a landline, her family contact's mobile on file) with a one-time code sent by SMS: 6 digits,
valid 5 minutes, 3 tries. On the phone, a caller ID that matches her registered number is
enough (SECURITY.md says why that is a weaker proof). Everything else goes to a person.

Limits that are never turned off: at most 3 failed attempts per conversation, and per elder
an hour; every attempt is recorded (identity_attempts) and failures are audited.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update

from bot import audit, clock
from bot.config import get_settings
from bot.db import session_scope
from bot.masking import mask_phone
from bot.models import Elder
from bot.models.identity import IdentityAttempt, IdentityChallenge
from bot.models.people import is_mobile, phone_digits
from bot.sms import send_sms

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_VALID = dt.timedelta(minutes=5)
TRIES_PER_CODE = 3
FAILURES_PER_CONVERSATION = 3
FAILURES_PER_ELDER_PER_HOUR = 3


@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: str            # sent | verified | wrong | expired | locked | no_mobile | no_challenge
    sent_to_masked: str = ""
    to_relative: bool = False
    tries_left: int = 0


def _hash(sender_id: str, code: str) -> str:
    key = (get_settings().secret_key or "").encode()
    return hmac.new(key, f"{sender_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _failures(session, sender_id: str, elder_id: int | None) -> tuple[int, int]:
    now = clock.utcnow_naive()
    by_sender = session.execute(select(func.count(IdentityAttempt.id)).where(
        IdentityAttempt.sender_id == sender_id, IdentityAttempt.ok.is_(False))).scalar_one()
    by_elder = 0
    if elder_id is not None:
        by_elder = session.execute(select(func.count(IdentityAttempt.id)).where(
            IdentityAttempt.elder_id == elder_id, IdentityAttempt.ok.is_(False),
            IdentityAttempt.at > now - dt.timedelta(hours=1))).scalar_one()
    return by_sender, by_elder


def locked(sender_id: str, elder_id: int | None = None) -> bool:
    """Too many failed attempts: only a person can help now."""
    with session_scope() as s:
        by_sender, by_elder = _failures(s, sender_id, elder_id)
    return by_sender >= FAILURES_PER_CONVERSATION or by_elder >= FAILURES_PER_ELDER_PER_HOUR


def record_attempt(sender_id: str, elder_id: int | None, method: str, ok: bool,
                   channel: str | None = None) -> None:
    """One attempt, kept for the limits; failures also go to the audit log."""
    with session_scope() as s:
        s.add(IdentityAttempt(sender_id=sender_id, elder_id=elder_id, method=method, ok=ok))
        if not ok:
            audit.record(f"caller:{channel or 'unknown'}", "identity_failed", elder_id=elder_id,
                         detail=f"method={method} sender={sender_id[:24]}", session=s)
    (log.info if ok else log.warning)("identity attempt method=%s ok=%s elder=%s sender=%s",
                                      method, ok, elder_id, sender_id[:24])


def number_on_file(phone: str | None) -> bool:
    """Is this an elder's registered number or her family contact's? (SMS go only there.)"""
    digits = phone_digits(phone)
    if not digits:
        return False
    with session_scope() as s:
        return s.execute(select(func.count(Elder.id)).where(
            (Elder.phone == digits) | (Elder.emergency_contact_phone == digits))).scalar_one() > 0


def caller_id_matches(elder_id: int, caller_phone: str | None) -> bool:
    """On the phone: the (carrier-supplied) caller ID is her registered number."""
    if not caller_phone:
        return False
    with session_scope() as s:
        elder = s.get(Elder, elder_id)
        return elder is not None and bool(elder.phone) and \
            phone_digits(elder.phone) == phone_digits(caller_phone)


def send_code(sender_id: str, elder_id: int, channel: str | None = None) -> Outcome:
    """Sends a new code to the elder's mobile on file (else her family contact's mobile)."""
    if locked(sender_id, elder_id):
        return Outcome(False, "locked")
    with session_scope() as s:
        elder = s.get(Elder, elder_id)
        if elder is None:
            return Outcome(False, "no_mobile")
        to_relative = not is_mobile(elder.phone)
        target = elder.emergency_contact_phone if to_relative else elder.phone
        if not is_mobile(target):
            log.info("identity: elder=%s has no mobile on file (self or family)", elder_id)
            return Outcome(False, "no_mobile")
        s.execute(update(IdentityChallenge).where(
            IdentityChallenge.sender_id == sender_id, IdentityChallenge.status == "open")
            .values(status="failed"))
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        s.add(IdentityChallenge(sender_id=sender_id, elder_id=elder_id, sent_to=phone_digits(target),
                                code_hash=_hash(sender_id, code), tries=0, status="open",
                                expires_at=clock.utcnow_naive() + CODE_VALID))
        send_sms(target, f"【12349养老服务】验证码{code}，5分钟内有效，只用于在12349核实身份。"
                         "别人向您要这个码，请不要给。", session=s, requested=True)
        masked = mask_phone(target)
    log.info("identity: code sent for elder=%s to %s (relative=%s) channel=%s", elder_id, masked,
             to_relative, channel)
    return Outcome(True, "sent", sent_to_masked=masked, to_relative=to_relative,
                   tries_left=TRIES_PER_CODE)


def code_from_text(text: str | None) -> str | None:
    """The 6 digits a caller says or types ("四八三九二零", "483 920")."""
    from bot.textnorm import normalize

    digits = re.sub(r"\D", "", normalize(text or "", fuzzy=False))
    return digits if len(digits) == CODE_DIGITS else None


def verify(sender_id: str, said: str | None, channel: str | None = None) -> Outcome:
    """Checks a code said in this conversation against its open challenge."""
    with session_scope() as s:
        challenge = s.execute(select(IdentityChallenge).where(
            IdentityChallenge.sender_id == sender_id, IdentityChallenge.status == "open")
            .order_by(IdentityChallenge.id.desc()).limit(1)).scalar_one_or_none()
        if challenge is None:
            return Outcome(False, "no_challenge")
        elder_id = challenge.elder_id
        if challenge.expires_at <= clock.utcnow_naive():
            challenge.status = "failed"
            expired = True
        else:
            expired = False
            code = code_from_text(said)
            good = code is not None and hmac.compare_digest(_hash(sender_id, code),
                                                            challenge.code_hash)
            if good:
                challenge.status = "verified"
            else:
                challenge.tries += 1
                if challenge.tries >= TRIES_PER_CODE:
                    challenge.status = "failed"
            tries_left = TRIES_PER_CODE - challenge.tries
    if expired:
        return Outcome(False, "expired")
    record_attempt(sender_id, elder_id, "sms_code", good, channel)
    if good:
        return Outcome(True, "verified")
    if tries_left <= 0 or locked(sender_id, elder_id):
        return Outcome(False, "locked")
    return Outcome(False, "wrong", tries_left=tries_left)


def verified_elder(sender_id: str) -> int | None:
    """The elder this conversation proved control of, if any (the newest verified code)."""
    with session_scope() as s:
        return s.execute(select(IdentityChallenge.elder_id).where(
            IdentityChallenge.sender_id == sender_id, IdentityChallenge.status == "verified")
            .order_by(IdentityChallenge.id.desc()).limit(1)).scalar_one_or_none()
