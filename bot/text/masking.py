"""Masking of personal data for logs and screens that do not need it in full.

`mask_text` finds and masks, in free text:
- ID numbers (居民身份证号, 18 characters, the last may be X; spaces or dashes between the
  blocks are allowed): 320104193803120027 -> 320104********0027;
- mobile numbers, with or without +86 and separators: 13800000001 -> 138****0001;
- landline numbers with their area code (025-80000001, 02580000001, (025) 8000 0001,
  0512-66668888, +86 25 8000 0001): 025-****0001;
- a 7-8 digit local number right after a word that says it is one (电话/座机/号码/tel…);
- any other run of 12 or more digits (bank cards, numbers in unexpected formats);
- numbers said digit by digit in Chinese (一三八零零零零零零零一, 7 or more in a row).

`install_log_masking()` makes every log record of the process pass through `mask_text`
(message, arguments and traceback), whichever library logs it; each process calls it once
at start-up (web server, action server, `python -m bot.manage`).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable

_ID_RE = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})[ -]?(\d{8})[ -]?(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z])(\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![0-9A-Za-z])")
# dialled with the country code: +86 / 0086, the area code without its 0, the local number
_LANDLINE_INTL_RE = re.compile(
    r"(?<![0-9A-Za-z])(\+86|0086)([ -]?)([1-9]\d{1,2})([ -]?)(\d{3,4})[ -]?(\d{4})(?![0-9A-Za-z*])"
)
# area code set apart: 025-80000001, (025)80000001, 0512 6666 8888
_LANDLINE_SEP_RE = re.compile(
    r"(?<![0-9A-Za-z*])(\(0[1-9]\d{1,2}\) ?|0[1-9]\d{1,2}[ -])(\d{3,4})[ -]?(\d{4})(?![0-9A-Za-z])"
)
# all in one run: 02580000001, 051266668888
_LANDLINE_RUN_RE = re.compile(r"(?<![0-9A-Za-z*])0[1-9]\d{8,10}(?![0-9A-Za-z])")
# a local number without its area code, where a word says it is one (电话84000053)
_LOCAL_RE = re.compile(
    r"(电话|座机|固话|号码|手机|联系方式|\btel|\bphone)([^0-9\n]{0,4}?)(\d{3,4})[ -]?(\d{4})(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_LONG_DIGITS_RE = re.compile(r"(?<![0-9A-Za-z])(\d{8,})(\d{4})(?![0-9A-Za-z])")
_CN_DIGITS_RE = re.compile(r"[零〇一二三四五六七八九幺两]{7,}")


def mask_id_number(id_number: str | None) -> str:
    """110101193803120021 -> 110101********0021."""
    if not id_number:
        return ""
    s = str(id_number)
    if len(s) <= 8:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_phone(phone: str | None) -> str:
    """13800000001 -> 138****0001; keeps a leading +86; landlines keep the area code
    (025-80000001 -> 025-****0001, 02580000001 -> 025****0001)."""
    if not phone:
        return ""
    s = str(phone)
    masked = mask_text(s)
    if masked != s:
        return masked
    digits = s[-11:]
    prefix = s[:-11]
    if len(digits) < 11:
        return "*" * max(len(s) - 4, 0) + s[-4:]
    return f"{prefix}{digits[:3]}****{digits[-4:]}"


def _keep_last4(m: re.Match[str]) -> str:
    run: str = m.group(0)
    return "*" * (len(run) - 4) + run[-4:]


def _keep_ends(run: str, head: int) -> str:
    """The first `head` and the last 4 digits; at least 4 hidden in between."""
    hidden = max(len(run) - head - 4, 4)
    return run[: max(len(run) - 4 - hidden, 0)] + "*" * hidden + run[-4:]


def _mask_intl_landline(m: re.Match[str]) -> str:
    groups: tuple[str, ...] = m.groups()
    prefix, sep1, area, sep2, local, last = groups
    if sep2:  # +86 25 8000 0001: the area code is set apart, show it
        return prefix + sep1 + area + sep2 + "****" + last
    return prefix + sep1 + _keep_ends(area + local + last, 2)


def mask_text(text: str | None) -> str:
    """Masks every ID number, mobile, landline and long number found in free text."""
    if not text:
        return text or ""
    text = _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(3)[-4:], text)
    text = _MOBILE_RE.sub(lambda m: (m.group(1) or "") + m.group(2) + "****" + m.group(4), text)
    text = _LANDLINE_INTL_RE.sub(_mask_intl_landline, text)
    text = _LANDLINE_SEP_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    text = _LANDLINE_RUN_RE.sub(lambda m: _keep_ends(m.group(0), 3), text)
    text = _LOCAL_RE.sub(lambda m: m.group(1) + m.group(2) + "****" + m.group(4), text)
    text = _LONG_DIGITS_RE.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)
    return _CN_DIGITS_RE.sub(_keep_last4, text)


# ----- every log line of the process -----------------------------------------------------

_installed = False
_install_lock = threading.Lock()


def _masked_record_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to the handler to report
            return record
        record.msg, record.args = mask_text(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return record

    factory.masks_personal_data = True  # type: ignore[attr-defined]  # a marker read by getattr
    return factory


def install_log_masking() -> None:
    """Every log record created from now on in this process is masked (idempotent)."""
    global _installed
    with _install_lock:
        current = logging.getLogRecordFactory()
        if _installed and getattr(current, "masks_personal_data", False):
            return
        logging.setLogRecordFactory(_masked_record_factory(current))
        _installed = True
