"""Who is the person in this conversation? Proven, never claimed.

A phone number or a name said in the conversation only says *which* elder the caller means.
Before the assistant reads out an address, bookings or facts on file, or books, changes or
cancels for her, the caller proves control of her registered mobile (or, when she has only
a landline, her family contact's mobile on file) with a one-time code sent by SMS: 6 digits,
valid 5 minutes, 3 tries. On the phone, a caller ID that matches her registered number is
enough (SECURITY.md says why that is a weaker proof). Everything else goes to a person.

Limits that are never turned off: at most 3 failed attempts per conversation, and 9 per
elder an hour (so one failed conversation does not lock her family out); at most 5 unused
codes an hour per conversation and per elder (nobody can make the hotline text an elder
again and again); every attempt is recorded (identity_attempts) and failures are audited.

Every proof is recorded (identity_proofs, and a row in the audit log) with who gave it: the
elder herself, or someone acting for her (the code went to her family contact's mobile, or
the caller said who they are to her, e.g. 我是她女儿), the relation if it was said, the masked
number that received the code, the channel and the time. Advisors see these in the case
file. The record is history, never a proof: proof lives in the conversation's session slots
and expires with the session (actions/core.py SESSION_ONLY_SLOTS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import audit, clock
from bot.config import get_settings
from bot.db import session_scope
from bot.text.masking import mask_phone
from bot.models import Elder
from bot.models.base import newest_for_elder
from bot.models.identity import IdentityAttempt, IdentityChallenge, IdentityProof
from bot.models.people import phone_digits
from bot.contact.sms import number_on_file as _number_on_file
from bot.contact.sms import FAMILY_MOBILE, notice_number_for, send_sms
from bot.contact import sms_templates

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_VALID = dt.timedelta(minutes=5)
TRIES_PER_CODE = 3
FAILURES_PER_CONVERSATION = 3
# Per elder, three conversations' worth of wrong codes an hour: one conversation that fails
# (a stranger guessing, a relative mistyping) locks itself but not her family's next call;
# guessing across conversations stays bounded (9 tries an hour for a 6-digit code, and no
# more than CODES_PER_ELDER_PER_HOUR unused codes to guess at).
FAILURES_PER_ELDER_PER_HOUR = 3 * TRIES_PER_CODE
CODES_PER_CONVERSATION_PER_HOUR = 5
CODES_PER_ELDER_PER_HOUR = 5

# What a caller says they are to the elder, as one word for the record. Words for the elder
# ("我替我妈问的": she is the caller's mother) become the caller's side (子女).
_RELATION_WORDS = {
    "儿子": "儿子",
    "女儿": "女儿",
    "闺女": "女儿",
    "儿媳": "儿媳",
    "儿媳妇": "儿媳",
    "媳妇": "儿媳",
    "女婿": "女婿",
    "孙子": "孙子",
    "孙女": "孙女",
    "外孙": "外孙",
    "外孙女": "外孙女",
    "侄子": "侄子",
    "侄女": "侄女",
    "外甥": "外甥",
    "外甥女": "外甥女",
    "老伴": "配偶",
    "爱人": "配偶",
    "丈夫": "配偶",
    "妻子": "配偶",
    "老公": "配偶",
    "老婆": "配偶",
    "配偶": "配偶",
    "哥哥": "兄弟姐妹",
    "弟弟": "兄弟姐妹",
    "姐姐": "兄弟姐妹",
    "妹妹": "兄弟姐妹",
    "邻居": "邻居",
    "保姆": "保姆",
    "护工": "护工",
    "朋友": "朋友",
    "亲戚": "亲戚",
    "家属": "家属",
    "子女": "子女",
    "母亲": "子女",
    "父亲": "子女",
    "妈": "子女",
    "妈妈": "子女",
    "爸": "子女",
    "爸爸": "子女",
    "娘": "子女",
    "爹": "子女",
    "老娘": "子女",
    "老爹": "子女",
    "婆婆": "儿媳",
    "公公": "儿媳",
    "岳母": "女婿",
    "丈母娘": "女婿",
    "岳父": "女婿",
    "奶奶": "孙辈",
    "爷爷": "孙辈",
    "外婆": "外孙辈",
    "姥姥": "外孙辈",
    "外公": "外孙辈",
    "姥爷": "外孙辈",
}
for _value in set(_RELATION_WORDS.values()):  # a normalised word stays what it is
    _RELATION_WORDS.setdefault(_value, _value)
_WORDS = "|".join(sorted(_RELATION_WORDS, key=len, reverse=True))
_RELATION_RES = (
    re.compile(
        rf"(?:我|俺)(?:是|系)(?:她|他|老人|老太太|老爷子|老人家|[\u4e00-\u9fa5]{{2,4}}?)?的?({_WORDS})"
    ),
    re.compile(rf"(?:替|帮|给|代)(?:我|俺)(?:家)?的?({_WORDS})"),
    re.compile(rf"(?:我|俺)(?:家)?({_WORDS})(?:的|她|他)"),
)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: str  # sent | verified | wrong | expired | locked | no_mobile | no_challenge
    sent_to_masked: str = ""
    to_relative: bool = False
    tries_left: int = 0


def _hash(sender_id: str, code: str) -> str:
    key = (get_settings().secret_key or "").encode()
    return hmac.new(key, f"{sender_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _failures(session: Session, sender_id: str, elder_id: int | None) -> tuple[int, int]:
    now = clock.utcnow_naive()
    by_sender = session.execute(
        select(func.count(IdentityAttempt.id)).where(
            IdentityAttempt.sender_id == sender_id, IdentityAttempt.ok.is_(False)
        )
    ).scalar_one()
    by_elder = 0
    if elder_id is not None:
        by_elder = session.execute(
            select(func.count(IdentityAttempt.id)).where(
                IdentityAttempt.elder_id == elder_id,
                IdentityAttempt.ok.is_(False),
                IdentityAttempt.at > now - dt.timedelta(hours=1),
            )
        ).scalar_one()
    return by_sender, by_elder


def _codes_sent(session: Session, sender_id: str, elder_id: int) -> tuple[int, int]:
    """Codes sent in the last hour that nobody used, in this conversation and to this elder
    (a code that proved someone is not bombing; an SMS conversation is the number's forever,
    hence the hour for both)."""
    unused = (IdentityChallenge.status != "verified") & (
        IdentityChallenge.created_at > clock.utcnow_naive() - dt.timedelta(hours=1)
    )
    here = session.execute(
        select(func.count(IdentityChallenge.id)).where(IdentityChallenge.sender_id == sender_id, unused)
    ).scalar_one()
    to_her = session.execute(
        select(func.count(IdentityChallenge.id)).where(IdentityChallenge.elder_id == elder_id, unused)
    ).scalar_one()
    return here, to_her


def locked(sender_id: str, elder_id: int | None = None) -> bool:
    """Too many failed attempts: only a person can help now."""
    with session_scope() as s:
        by_sender, by_elder = _failures(s, sender_id, elder_id)
    return by_sender >= FAILURES_PER_CONVERSATION or by_elder >= FAILURES_PER_ELDER_PER_HOUR


def normalize_relation(word: str | None) -> str | None:
    """女儿 -> 女儿, 闺女 -> 女儿, 老伴 -> 配偶, 我妈 (she is my mother) -> 子女; None if unknown."""
    if not word:
        return None
    word = str(word).strip().lstrip("我俺").strip()
    return _RELATION_WORDS.get(word)


def relation_from_text(text: str | None) -> str | None:
    """ "我是她女儿" -> 女儿; "我替我妈问的" -> 子女; None when the text says no relation."""
    for pattern in _RELATION_RES:
        m = pattern.search(text or "")
        if m:
            return normalize_relation(m.group(1))
    return None


_GENERIC_RELATIONS = {"子女", "孙辈", "外孙辈", "家属"}
# Words for an older relative: naming one says the elder is that relative of the caller.
_ELDER_KIN = {
    word
    for word, caller in _RELATION_WORDS.items()
    if caller in ("子女", "孙辈", "外孙辈") and word not in ("子女", "孙辈", "外孙辈")
} | {"婆婆", "公公", "岳母", "丈母娘", "岳父"}


def said_relation(events: list[dict[str, Any]] | None) -> str | None:
    """Who the caller said they are to the elder in this session: the newest thing said (the
    NLU's `relation` entity, else the words), unless it is only generic ("帮我妈" = 子女) and an
    earlier message of the session was exact ("我是她女儿"). `events`: Rasa tracker events."""
    generic = None
    for event in reversed(list(events or [])):
        kind = event.get("event")
        if kind == "session_started":
            break
        if kind != "user":
            continue
        # A `relation` entity names a kinship word wherever it is said ("我儿子让我打的"
        # names the son, not the caller): only the words for an older relative (妈, 婆婆,
        # 奶奶: the elder is the caller's mother...) say who the caller is; roles (女儿,
        # 邻居, 老伴) are read from the words ("我是她女儿") by relation_from_text.
        said = [
            normalize_relation(entity.get("value"))
            for entity in ((event.get("parse_data") or {}).get("entities") or [])
            if entity.get("entity") == "relation"
            and str(entity.get("value") or "").lstrip("我俺") in _ELDER_KIN
        ]
        said.append(relation_from_text(event.get("text")))
        for relation in said:
            if relation and relation not in _GENERIC_RELATIONS:
                return relation
            generic = generic or relation
    return generic


def _record_proof(
    session: Session,
    sender_id: str,
    elder: Elder,
    method: str,
    proved_by: str,
    channel: str | None,
    relation: str | None,
) -> IdentityProof:
    """The record of one proof (same transaction as what it proves), with its audit row."""
    relation = normalize_relation(relation) or relation_from_text(relation)
    to_relative = phone_digits(proved_by) != phone_digits(elder.phone)
    acting_for = to_relative or relation is not None
    proof = IdentityProof(
        sender_id=sender_id,
        elder_id=elder.id,
        method=method,
        channel=(channel or "unknown")[:16],
        acting_for=acting_for,
        relation=relation,
        contact_name=elder.emergency_contact_name if to_relative else None,
        proved_with=mask_phone(proved_by)[:24],
    )
    session.add(proof)
    who = (
        (f"acting_for relation={relation or 'not said'}{' family_contact' if to_relative else ''}")
        if acting_for
        else "self"
    )
    audit.record(
        f"caller:{channel or 'unknown'}",
        "relative_verified" if acting_for else "identity_verified",
        elder_id=elder.id,
        detail=f"method={method} {who} proved_with={proof.proved_with} sender={sender_id[:24]}",
        session=session,
    )
    log.info(
        "identity proven elder=%s method=%s acting_for=%s relation=%s with=%s channel=%s",
        elder.id,
        method,
        acting_for,
        relation,
        proof.proved_with,
        channel,
    )
    return proof


def _add_attempt(
    session: Session, sender_id: str, elder_id: int | None, method: str, ok: bool, channel: str | None
) -> None:
    session.add(IdentityAttempt(sender_id=sender_id, elder_id=elder_id, method=method, ok=ok))
    if not ok:
        audit.record(
            f"caller:{channel or 'unknown'}",
            "identity_failed",
            elder_id=elder_id,
            detail=f"method={method} sender={sender_id[:24]}",
            session=session,
        )
    (log.info if ok else log.warning)(
        "identity attempt method=%s ok=%s elder=%s sender=%s", method, ok, elder_id, sender_id[:24]
    )


def record_attempt(
    sender_id: str,
    elder_id: int | None,
    method: str,
    ok: bool,
    channel: str | None = None,
    relation: str | None = None,
    proved_by: str | None = None,
) -> None:
    """One attempt, kept for the limits; failures also go to the audit log. A successful
    caller-ID match is a proof: it is recorded with who gave it (`relation` if said)."""
    with session_scope() as s:
        _add_attempt(s, sender_id, elder_id, method, ok, channel)
        if ok and elder_id is not None:
            elder = s.get(Elder, elder_id)
            if elder is not None:
                _record_proof(s, sender_id, elder, method, proved_by or elder.phone or "", channel, relation)


def number_on_file(phone: str | None) -> bool:
    """Is this an elder's registered number or her family contact's? (SMS go only there.)"""
    return _number_on_file(phone)


def caller_id_matches(elder_id: int, caller_phone: str | None) -> bool:
    """On the phone: the (carrier-supplied) caller ID is her registered number."""
    if not caller_phone:
        return False
    with session_scope() as s:
        elder = s.get(Elder, elder_id)
        return (
            elder is not None
            and bool(elder.phone)
            and phone_digits(elder.phone) == phone_digits(caller_phone)
        )


def send_code(sender_id: str, elder_id: int, channel: str | None = None) -> Outcome:
    """Sends a new code to the elder's mobile on file (else her family contact's mobile)."""
    if locked(sender_id, elder_id):
        return Outcome(False, "locked")
    with session_scope() as s:
        sent_here, sent_to_her = _codes_sent(s, sender_id, elder_id)
        if sent_here >= CODES_PER_CONVERSATION_PER_HOUR or sent_to_her >= CODES_PER_ELDER_PER_HOUR:
            log.warning(
                "identity: no more codes for elder=%s sender=%s (%d in this conversation, "
                "%d to her this hour)",
                elder_id,
                sender_id[:24],
                sent_here,
                sent_to_her,
            )
            return Outcome(False, "locked")
        elder = s.get(Elder, elder_id)
        if elder is None:
            return Outcome(False, "no_mobile")
        target, whose = notice_number_for(elder)
        to_relative = whose == FAMILY_MOBILE
        if target is None:
            log.info("identity: elder=%s has no mobile on file (self or family)", elder_id)
            return Outcome(False, "no_mobile")
        s.execute(
            update(IdentityChallenge)
            .where(IdentityChallenge.sender_id == sender_id, IdentityChallenge.status == "open")
            .values(status="failed")
        )
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        s.add(
            IdentityChallenge(
                sender_id=sender_id,
                elder_id=elder_id,
                sent_to=phone_digits(target),
                code_hash=_hash(sender_id, code),
                tries=0,
                status="open",
                expires_at=clock.utcnow_naive() + CODE_VALID,
            )
        )
        send_sms(
            target,
            sms_templates.full_text("identity_code", {"code": code}),
            session=s,
            requested=True,
            template=("identity_code", {"code": code}),
        )
        masked = mask_phone(target)
    log.info(
        "identity: code sent for elder=%s to %s (relative=%s) channel=%s",
        elder_id,
        masked,
        to_relative,
        channel,
    )
    return Outcome(True, "sent", sent_to_masked=masked, to_relative=to_relative, tries_left=TRIES_PER_CODE)


def code_from_text(text: str | None) -> str | None:
    """The 6 digits a caller says or types ("四八三九二零", "483 920")."""
    from bot.text.norm import normalize

    flat = normalize(text or "", fuzzy=False)
    digits = re.sub(r"\D", "", flat)
    if len(digits) == CODE_DIGITS:
        return digits
    # said with other numbers ("验证码483920，改到25号下午"): the one run of six digits
    joined = re.sub(r"(?<=[0-9])[ 、]+(?=[0-9])", "", flat)  # "572 619": one number said in groups
    runs = re.findall(rf"(?<![0-9])[0-9]{{{CODE_DIGITS}}}(?![0-9])", joined)
    return runs[0] if len(runs) == 1 else None


def verify(
    sender_id: str, said: str | None, channel: str | None = None, relation: str | None = None
) -> Outcome:
    """Checks a code said in this conversation against its open challenge. A good code is
    recorded as a proof (who gave it: the elder, or someone acting for her with `relation`
    if they said it), in the same transaction as the attempt."""
    with session_scope() as s:
        challenge = s.execute(
            select(IdentityChallenge)
            .where(IdentityChallenge.sender_id == sender_id, IdentityChallenge.status == "open")
            .order_by(IdentityChallenge.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if challenge is None:
            return Outcome(False, "no_challenge")
        elder_id = challenge.elder_id
        if challenge.expires_at <= clock.utcnow_naive():
            challenge.status = "failed"
            return Outcome(False, "expired")
        code = code_from_text(said)
        good = code is not None and hmac.compare_digest(_hash(sender_id, code), challenge.code_hash)
        if good:
            challenge.status = "verified"
            elder = s.get(Elder, elder_id)
            if elder is not None:
                _record_proof(s, sender_id, elder, "sms_code", challenge.sent_to, channel, relation)
        else:
            challenge.tries += 1
            if challenge.tries >= TRIES_PER_CODE:
                challenge.status = "failed"
        tries_left = TRIES_PER_CODE - challenge.tries
        _add_attempt(s, sender_id, elder_id, "sms_code", good, channel)
    if good:
        return Outcome(True, "verified")
    if tries_left <= 0 or locked(sender_id, elder_id):
        return Outcome(False, "locked")
    return Outcome(False, "wrong", tries_left=tries_left)


def verified_elder(sender_id: str) -> int | None:
    """The elder this conversation proved control of, if any (the newest verified code)."""
    with session_scope() as s:
        return cast(
            "int | None",
            s.execute(
                select(IdentityChallenge.elder_id)
                .where(IdentityChallenge.sender_id == sender_id, IdentityChallenge.status == "verified")
                .order_by(IdentityChallenge.id.desc())
                .limit(1)
            ).scalar_one_or_none(),
        )


def proved_through_family_contact(sender_id: str, elder_id: int) -> bool:
    """Did this conversation prove itself for the elder with a code sent to her family
    contact's phone (not to hers)? Then that contact booked, and gets the visit's notices."""
    with session_scope() as s:
        proof = s.execute(
            select(IdentityProof)
            .where(IdentityProof.sender_id == sender_id, IdentityProof.elder_id == elder_id)
            .order_by(IdentityProof.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        elder = s.get(Elder, elder_id)
        if proof is None or elder is None or proof.method != "sms_code" or not elder.emergency_contact_phone:
            return False
        contact = mask_phone(elder.emergency_contact_phone)
        return proof.proved_with == contact and contact != mask_phone(elder.phone)


def proofs_for(session: Session, elder_id: int, limit: int = 10) -> list[IdentityProof]:
    """The newest proofs given for an elder (the case file's 身份核实与代办记录)."""
    return newest_for_elder(session, IdentityProof, elder_id, limit)
