"""Masking of personal data for logs and screens that do not need it in full."""
from __future__ import annotations

import re

_ID_RE = re.compile(r"(?<![0-9])([1-9][0-9]{5})([0-9]{8})([0-9]{3}[0-9Xx])(?![0-9])")
_PHONE_RE = re.compile(r"(?<![0-9])(\+?86)?(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")


def mask_id_number(id_number: str | None) -> str:
    """110101193803120021 -> 110101********0021."""
    if not id_number:
        return ""
    s = str(id_number)
    if len(s) <= 8:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_phone(phone: str | None) -> str:
    """13800000001 -> 138****0001; keeps a leading +86."""
    if not phone:
        return ""
    s = str(phone)
    digits = s[-11:]
    prefix = s[:-11]
    if len(digits) < 11:
        return "*" * max(len(s) - 4, 0) + s[-4:]
    return f"{prefix}{digits[:3]}****{digits[-4:]}"


def mask_text(text: str | None) -> str:
    """Masks every ID number and mobile number found in free text (for log lines)."""
    if not text:
        return text or ""
    text = _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(3)[-4:], text)
    return _PHONE_RE.sub(lambda m: (m.group(1) or "") + m.group(2) + "****" + m.group(4), text)
