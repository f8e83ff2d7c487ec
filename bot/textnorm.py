"""Chinese text normalisation for what callers say and what phone ASR hears.

Pure functions, no Rasa: the NLU component (bot/nlu_components.py), the form validators
and the server all call these.
"""
from __future__ import annotations

import re
import unicodedata

import cn2an

_CN_DIGITS = "零〇一二两三四五六七八九十百千万"
# A run of Chinese numerals (with 点 only between digits, for 三点五).
_CN_NUM_RUN = re.compile(f"[{_CN_DIGITS}]+")
_SPOKEN_DIGIT = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
                 "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# Words where a numeral is part of a fixed expression and must stay as it is.
_KEEP = ("一个人", "一下", "一点", "一起", "一直", "一样", "一般", "一些", "统一", "万一", "一遍",
         "十四五", "十五", "唯一", "一次", "第一", "一人", "一天到晚", "一会", "一边", "一块")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u2028-\u202f\ufeff]")


def clean(text: str | None, max_length: int = 500) -> str:
    """NFKC (full-width digits/letters to half-width), drop control characters, trim."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    text = _CONTROL.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:max_length]


def _spoken_digits(run: str) -> str | None:
    """一三八零零零零零零零一 (digit by digit, as phone numbers are read) -> 13800000001."""
    if len(run) >= 4 and all(ch in _SPOKEN_DIGIT for ch in run):
        return "".join(_SPOKEN_DIGIT[ch] for ch in run)
    return None


def numerals_to_digits(text: str) -> str:
    """Converts Chinese numerals to Arabic where they are quantities: ages, times, dates,
    hours, phone digits. 八十五岁 -> 85岁, 下午三点 -> 下午3点, 一三八… -> 138…"""
    if not text:
        return text

    out: list[str] = []
    pos = 0
    for match in _CN_NUM_RUN.finditer(text):
        start, end = match.span()
        run = match.group()
        window = text[max(0, start - 3):end + 3]
        if any(k in window and _overlaps(text, start, end, k) for k in _KEEP):
            continue
        converted = _spoken_digits(run)
        if converted is None:
            try:
                value = cn2an.cn2an(run, "smart")
            except (ValueError, KeyError, IndexError):
                continue
            converted = str(int(value)) if float(value).is_integer() else str(value)
        out.append(text[pos:start])
        out.append(converted)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _overlaps(text: str, start: int, end: int, keep: str) -> bool:
    for m in re.finditer(re.escape(keep), text):
        if m.start() < end and start < m.end():
            return True
    return False


def normalize(text: str | None) -> str:
    return numerals_to_digits(clean(text))
