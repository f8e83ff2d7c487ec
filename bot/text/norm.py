"""Chinese text normalisation for what callers say and what phone ASR hears.

Pure functions, no Rasa: the NLU component (rasa_ext/nlu_components.py), the form validators
and the server all call these.

What `normalize` does, in order:
1. `clean`: NFKC (full-width to half-width), control characters out, whitespace collapsed.
2. `numerals_to_digits`: Chinese numerals to Arabic where they are quantities (ages, times,
   dates, money, phone digits), never inside fixed expressions (一个人住, 等一下, 慢一点,
   十四五, 千万别, 三四天 as a range).
3. `join_digit_groups`: 138 0000 0001 / 138-0000-0001 -> 13800000001 (phone and ID numbers
   are read in groups).
4. `bot.text.fuzzy.correct_terms`: domain terms misheard by ASR, by toneless pinyin
   (赚人工 -> 转人工, 挂耗 -> 挂号, 五老春 -> 五老村).
"""

from __future__ import annotations

import re
import unicodedata

import cn2an

_UNITS = "十百千万"
_DIGITS = "零〇一二两三四五六七八九幺"
_CN_NUM_RUN = re.compile(f"[{_DIGITS}{_UNITS}]+")
# How each digit is said when a number is read digit by digit (phone numbers, codes, years):
# 幺 is the telephone 1, 两 and 〇 are everyday. The one table for every reader of digits.
SPOKEN_DIGITS: dict[str, str] = {
    "零": "0",
    "〇": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
# Fixed expressions whose numerals are words, not quantities. A numeral run that overlaps
# one of these stays as it is.
_KEEP = (
    "十四五",
    "十三五",
    "一五一十",
    "千万",
    "万一",
    "万万",
    "三三两两",
    "乱七八糟",
    "七上八下",
    "九九重阳",
    "五湖四海",
    "三番五次",
    "一清二楚",
    "七七八八",
    "十全十美",
    "百分之百",
    "三长两短",
    "四面八方",
    "九死一生",
    "千千万万",
    "一天到晚",
    "十万火急",
)
# A lone numeral character becomes a digit only before these (八岁, 三月, 五号, 三楼, 两点钟).
_SINGLE_BEFORE = (
    "周岁",
    "岁",
    "月",
    "号",
    "日",
    "楼",
    "层",
    "栋",
    "幢",
    "单元",
    "块钱",
    "元",
    "点钟",
    "点半",
    "点整",
    "点多",
    "点左右",
    "点以后",
    "点之前",
    "点前",
    "点后",
    "分钟",
    "个小时",
    "小时",
)
# ... or before 点 when a time of day is said just before (下午三点, 明天早上八点).
_TIME_OF_DAY = (
    "上午",
    "下午",
    "中午",
    "早上",
    "晚上",
    "凌晨",
    "傍晚",
    "夜里",
    "早晨",
    "今天",
    "明天",
    "后天",
    "早",
    "晚",
    "到",
    "约",
)
_NOT_AFTER = ("星期", "礼拜", "周", "第", "初", "统", "唯", "之")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u2028-\u202f\ufeff]")
_DIGIT_GROUPS = re.compile(r"(?<![\d.])\d{3,}(?:[ \-]\d{3,})+(?:[ \-]?[Xx])?(?![\d.])")


_PAUSE = re.compile(r"\s*(?:\.{2,}|。{2,}|·{3,})\s*,?")


def clean(text: str | None, max_length: int = 500) -> str:
    """NFKC (full-width digits/letters to half-width), drop control characters, trim."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    text = _CONTROL.sub("", text)
    # a trailing-off pause ("那个……我想", NFKC "......", "。。。") is a comma: the classifier
    # learnt the dots from distressed lines and must not read a slow caller as one
    text = _PAUSE.sub(",", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:max_length]


def _spoken_digits(run: str) -> str | None:
    """一三八零零零零零零零一 (digit by digit, as phone numbers are read) -> 13800000001.
    Two digits without a unit (三四, 七八) are a range, not a number: they stay."""
    if len(run) >= 3 and all(ch in SPOKEN_DIGITS for ch in run):
        return "".join(SPOKEN_DIGITS[ch] for ch in run)
    return None


def _protected(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for keep in _KEEP:
        spans.extend(m.span() for m in re.finditer(re.escape(keep), text))
    return spans


def _convert_run(text: str, start: int, end: int) -> str | None:
    """The digits for the numeral run text[start:end], or None to leave it as words."""
    run = text[start:end]
    before, after = text[max(0, start - 4) : start], text[end : end + 4]
    if len(run) == 1:
        if run in "百千万" or before.endswith(_NOT_AFTER):
            return None
        # 三点/两点/十点 is a time; 一点 is "a little" unless a time of day comes before it.
        time_point = (
            after.startswith("点")
            and not after.startswith(("点儿", "点点"))
            and (run != "一" or before.endswith(_TIME_OF_DAY))
        )
        if not (after.startswith(_SINGLE_BEFORE) or time_point):
            return None
        if after.startswith("月") and run in "两":
            return None
    elif not any(u in run for u in _UNITS):
        spoken = _spoken_digits(run)
        if spoken is None:
            return None  # 三四天, 七八个: an approximate range
        return spoken
    elif run[0] in "万" or before.endswith(_NOT_AFTER[:3]):
        return None
    try:
        value = cn2an.cn2an(run, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None  # 七八十, 四五十: a range said in words
    return str(int(value)) if float(value).is_integer() else None


def numerals_to_digits(text: str) -> str:
    """Converts Chinese numerals to Arabic where they are quantities: ages, times, dates,
    hours, phone digits. 八十五岁 -> 85岁, 下午三点 -> 下午3点, 十一月二十五号 -> 11月25号,
    一三八… -> 138…; 一个人住, 等一下, 三四天 stay as they are."""
    if not text:
        return text
    protected = _protected(text)
    out: list[str] = []
    pos = 0
    for match in _CN_NUM_RUN.finditer(text):
        start, end = match.span()
        if any(s < end and start < e for s, e in protected):
            continue
        converted = _convert_run(text, start, end)
        if converted is None:
            continue
        out.append(text[pos:start])
        out.append(converted)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def join_digit_groups(text: str) -> str:
    """138 0000 0001 and 138-0000-0001 -> 13800000001: numbers read out in groups, when the
    result is as long as a phone (7, 8, 11, 12 digits) or ID number (15, 18)."""

    def join(m: re.Match[str]) -> str:
        joined = re.sub(r"[ \-]", "", m.group())
        return joined if len(joined) in (7, 8, 11, 12, 15, 18) else m.group()

    return _DIGIT_GROUPS.sub(join, text)


def normalize(text: str | None, max_length: int = 500, fuzzy: bool = True) -> str:
    """Everything the NLU needs before tokenisation; idempotent, never longer than
    max_length (digits can be longer than numerals: 一万 -> 10000)."""
    text = join_digit_groups(numerals_to_digits(clean(text, max_length)))
    if fuzzy:
        from bot.text.fuzzy import correct_terms  # pypinyin loads lazily, only when needed

        text = correct_terms(text)
    return text[:max_length]
