"""The people behind the line: where a transfer goes, what the advisor hears before the
caller is put through (the whisper), and whether the caller can be called back.

Provider-neutral; the adapters render the target and the whisper, dialogue.py decides.

- ADVISOR_PHONE_NUMBER is a phone number (+8613912349000, 013912349000), a queue or
  extension number of the district's switch (8001), or a SIP address
  (sip:advisors@pbx.example.cn). Twilio dials a number with <Number> and an address with
  <Sip>; FreeSWITCH bridges a number through FREESWITCH_BRIDGE (sofia/gateway/…/{number},
  user/{number}) and an address through its SIP profile.
- The whisper says who calls and why, and nothing the advisor may not know: the reason in
  a few words, the last four digits of the caller's number, and the elder when the
  conversation proved who she is (or, weaker, when the caller ID is her registered phone).
  Never an ID number, an address or what the caller said.
- A withheld caller ID (empty, anonymous, Restricted, Twilio's +266696687 …) cannot be
  called back: the line asks for a number by keypad instead of promising a call to it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.config import Settings
from bot.models.people import phone_digits
from bot.text.norm import SPOKEN_DIGITS
from server.speech import read_digits

log = logging.getLogger(__name__)

# --- where a transfer goes ---------------------------------------------------------------

_SIP_ADDRESS = re.compile(
    r"^sips?:[A-Za-z0-9._~+\-]{1,64}@[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?$", re.IGNORECASE
)
_DIAL_NUMBER = re.compile(r"^\+?[0-9*#]{2,20}$")


@dataclass(frozen=True)
class TransferTarget:
    kind: str  # number | sip
    address: str  # digits (a leading + kept) or the SIP URI


def transfer_target(value: str | None) -> TransferTarget | None:
    """What ADVISOR_PHONE_NUMBER names; None when it is neither a number nor a SIP address
    (SIP URI parameters and headers are refused: they would end up in a dial string)."""
    text = (value or "").strip()
    if _SIP_ADDRESS.match(text):
        scheme, _, rest = text.partition(":")
        return TransferTarget("sip", f"{scheme.lower()}:{rest}")
    number = re.sub(r"[\s\-().]", "", text)
    if _DIAL_NUMBER.match(number):
        return TransferTarget("number", number)
    return None


# --- the caller's number ---------------------------------------------------------------

# What carriers and Twilio put in From when the caller withholds the number. Twilio spells
# the words on a keypad: +266696687 ANONYMOUS, +7378742833 RESTRICTED, +2562533 BLOCKED,
# +8656696 UNKNOWN, +86282452253 UNAVAILABLE.
WITHHELD_WORDS = {
    "anonymous",
    "restricted",
    "blocked",
    "unknown",
    "unavailable",
    "private",
    "withheld",
    "unknown caller",
    "not available",
}
WITHHELD_NUMBERS = {"266696687", "7378742833", "2562533", "8656696", "86282452253"}


def caller_id_withheld(number: str | None) -> bool:
    """True when the caller's number cannot be called back: missing, a word, one of the
    keypad spellings above, all zeros, or too short to be a phone number."""
    text = (number or "").strip()
    if not text or text.lower() in WITHHELD_WORDS:
        return True
    if not re.fullmatch(r"\+?[0-9][0-9\-\s]*", text):
        return True  # client:…, sip:…, words
    digits = re.sub(r"\D", "", text)
    return digits in WITHHELD_NUMBERS or not digits.strip("0") or len(digits) < 7


def callback_number(typed: str, settings: Settings) -> str | None:
    """The number a caller typed for a callback, as the advisor will dial it; None when it
    cannot be a phone number. A mobile is 11 digits from 13-19; a landline with its area code
    starts with 0 (10-12 digits); a local landline of 7-8 digits gets LOCAL_AREA_CODE."""
    digits = re.sub(r"\D", "", typed or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return digits
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        return digits
    if 7 <= len(digits) <= 8 and digits[0] not in "01":
        return re.sub(r"\D", "", settings.local_area_code or "") + digits
    return None


def digits_said(text: str | None) -> str:
    """The digits in what the caller said, read one by one (幺三八… or 138…); a number said
    as an amount (一千三百) is not a phone number and gives odd digits, caught by
    callback_number's checks."""
    return "".join(SPOKEN_DIGITS.get(ch, ch) for ch in (text or "") if ch.isdigit() or ch in SPOKEN_DIGITS)


def caller_tail_spoken(number: str | None) -> str:
    if caller_id_withheld(number):
        return "来电没有显示号码"
    return "来电尾号" + read_digits(phone_digits(number)[-4:])


# --- what the advisor hears first ------------------------------------------------------

# The reason of a transfer in the advisor's words (the console's handoff kinds, shortened).
REASONS = {
    "crisis": "心理危机",
    "urgent": "紧急求助",
    "trouble": "系统故障，来电人需要人工",
    "requested": "来电人要求转人工",
}
_HANDOFF_REASONS = {
    "complaint": "投诉",
    "scam": "疑似诈骗",
    "fallback": "机器人没听懂，转人工",
    "request_human": "来电人要求转人工",
    "crisis": "心理危机",
    "emergency": "紧急求助",
}


def _handoff_reason(sender_id: str | None) -> str | None:
    """The kind of the newest open handoff of this conversation (a complaint, a scam…), when
    the assistant queued one before asking for the transfer."""
    if not sender_id:
        return None
    from sqlalchemy import select

    from bot.db import session_scope
    from bot.models import Handoff

    with session_scope() as s:
        kind = s.execute(
            select(Handoff.kind)
            .where(Handoff.sender_id == sender_id, Handoff.status != "closed", Handoff.kind != "callback")
            .order_by(Handoff.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    return _HANDOFF_REASONS.get(kind or "")


def _elder_words(sender_id: str | None, caller: str | None) -> str | None:
    """The elder this call is about, as the advisor may hear it: proved in the conversation
    (已核实), or only a caller ID that is her registered phone (按来电号码，未核实)."""
    from sqlalchemy import select

    from bot.db import session_scope
    from bot.models import Elder
    from bot.models.identity import IdentityProof
    from bot.models.people import elder_by_phone

    with session_scope() as s:
        proof = None
        if sender_id:
            proof = s.execute(
                select(IdentityProof)
                .where(IdentityProof.sender_id == sender_id)
                .order_by(IdentityProof.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        if proof is not None:
            elder = s.get(Elder, proof.elder_id)
            if elder is not None:
                if proof.acting_for:
                    who = f"老人{elder.name}的{proof.relation}" if proof.relation else f"代老人{elder.name}"
                    return f"{who}来电（已核实）"
                return f"老人{elder.name}（已核实）"
        if caller_id_withheld(caller):
            return None
        elder = elder_by_phone(s, caller)
        return f"老人{elder.name}（按来电号码，未核实）" if elder is not None else None


def whisper(reason: str, *, caller: str | None, sender_id: str | None, settings: Settings) -> str:
    """'幺二三四九转接：紧急求助，来电尾号零零零幺，老人张桂兰（已核实）。' The database parts are
    left out when the database cannot answer: a transfer never waits on them."""
    why = REASONS.get(reason, REASONS["requested"])
    parts = [why, caller_tail_spoken(caller)]
    try:
        if reason == "requested":
            parts[0] = _handoff_reason(sender_id) or why
        elder = _elder_words(sender_id, caller)
        if elder:
            parts.append(elder)
    except Exception:  # noqa: BLE001 - the whisper is a help; the transfer must go on
        log.exception("whisper: the elder of conversation %s could not be looked up", (sender_id or "")[:24])
    return f"{read_digits(settings.hotline_number)}转接：" + "，".join(parts) + "。"
