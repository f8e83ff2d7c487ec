"""Chinese time expressions -> a day and a part of the day (上午 8-12 / 下午 13-17).

Focused on what callers say when they book a home visit: 今天/明天/后天/大后天, 三天后,
这周五, 下周二下午三点, 11月25号, 下个月3号, 月底. jionlp would do more but weighs ~170 MB
(DESIGN.md); this covers the booking vocabulary with cn2an and regular expressions.

`parse_time(text, today=...)` returns a `TimeRequest` or raises `TimeParseError` whose
`message` is a polite sentence for the caller (bot/text/wording.yml) and `code` a stable
reason for code and logs: ``not_understood``, ``past``, ``impossible_date``, ``outside_hours``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import cn2an

from bot import clock
from bot.text.norm import clean
from bot.text.wording import Catalogue

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
PART_HOURS = {"上午": (8, 12), "下午": (13, 17)}  # service hours of a window
# what a caller hears when her time cannot be booked (bot/text/wording.yml)
WORDING = Catalogue(Path(__file__).with_name("wording.yml"))
SERVICE_HOURS_TEXT = WORDING.text("time.service_hours")

_N = "[0-9零〇一二两三四五六七八九十]"
_WEEKDAY_CHARS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}

_FULL_DATE = re.compile(
    rf"(?:(?P<y>[0-9]{{4}}|[零〇一二三四五六七八九]{{4}})年)?"
    rf"(?P<m>{_N}{{1,3}})月(?P<d>{_N}{{1,3}})(?:日|号)?"
)
_REL_MONTH_DAY = re.compile(rf"(?P<which>下下个?|下个?|这个?|本)月(?:的)?(?P<d>{_N}{{1,3}})(?:日|号)")
_MONTH_END = re.compile(r"(?P<which>下个?|这个?|本)?月底")
_AFTER_DAYS = re.compile(rf"(?:过(?P<a>{_N}{{1,3}})天|(?P<b>{_N}{{1,3}})(?:天|日)(?:以|之)?后)")
_AFTER_WEEKS = re.compile(rf"(?P<n>{_N}{{1,2}})(?:个)?(?:星期|礼拜|周)(?:以|之)?后")
_WEEK = re.compile(r"(?P<which>下下个?|下个?|这个?|本|上个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])")
_DAY_ONLY = re.compile(
    rf"(?<![月0-9零〇一二两三四五六七八九十])(?P<d>{_N}{{1,3}})(?:日|号)(?!楼|房|室|院|线)"
)
_RELATIVE_DAYS = [
    ("大后天", 3),
    ("大后儿个", 3),  # the northern spoken 大后天 (with 个: a bare 后儿 is also 然后+儿子)
    ("后天", 2),
    ("后儿个", 2),
    ("明天", 1),
    ("明儿", 1),
    ("明早", 1),
    ("今天", 0),
    ("今儿", 0),
    ("今早", 0),
    ("今晚", 0),
    ("大前天", -3),
    ("前天", -2),
    ("昨天", -1),
    ("昨儿", -1),
]
_CLOCK = re.compile(rf"(?P<h>{_N}{{1,3}})(?:点|时|:)(?P<rest>半|一刻|三刻|(?P<min>{_N}{{1,3}})分?)?")
_MORNING = ("上午", "早上", "早晨", "上半天", "一早", "明早", "今早", "大早")
_AFTERNOON = ("下午", "下半天", "午后")
_NOON = ("中午",)
_EVENING = ("晚上", "夜里", "傍晚", "今晚", "明晚", "半夜", "凌晨", "夜间")


# "周三，不对，周四": what follows the last of these replaces what came before it.
CORRECTION = re.compile(
    r"不对不对|不对|不是不是|哦不|噢不|喔不|不不|说错了|讲错了|搞错了|弄错了|"
    r"错了|我是说|应该是|改成|改到|换成|换到"
)


def after_correction(text: str | None) -> str:
    """The part of `text` after the caller's last self-correction ("X，不对，Y" -> "Y"), or
    the whole text when it has none or nothing follows the correction."""
    flat = text or ""
    last = None
    for m in CORRECTION.finditer(flat):
        last = m
    if last is None:
        return flat
    tail = flat[last.end() :].strip(" ，,。.、；;!！")
    return tail or flat


class TimeParseError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TimeRequest:
    day: dt.date
    part: str | None  # 上午 | 下午 | None (caller named no part of the day)
    hour: int | None = None  # 24h clock when the caller named a time
    minute: int | None = None

    def window_start(self, part: str | None = None) -> dt.datetime:
        part = part or self.part or "上午"
        return window_start(self.day, part)

    def spoken(self) -> str:
        text = say_day(self.day)
        if self.part:
            text += "，" + self.part
        if self.hour is not None:
            h = self.hour - 12 if self.hour > 12 else self.hour
            text += f"{h}点" + (f"{self.minute}分" if self.minute else "")
        return text


def to_int(token: str) -> int:
    """'25', '二十五', '二五' (digit by digit) -> 25."""
    if token.isdigit():
        return int(token)
    if len(token) >= 2 and not any(ch in token for ch in "十百"):
        digits = "".join(
            str("零一二三四五六七八九".index(ch))
            if ch in "零一二三四五六七八九"
            else {"〇": "0", "两": "2"}.get(ch, "")
            for ch in token
        )
        if len(digits) == len(token):
            return int(digits)
    return int(cn2an.cn2an(token, "smart"))


def window_start(day: dt.date, part: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(PART_HOURS[part][0]))


def part_of(start: dt.datetime) -> str:
    return "上午" if start.hour < 12 else "下午"


def say_day(day: dt.date) -> str:
    """11月25日，星期三 (the year only when it is not this year)."""
    year = "" if day.year == clock.today().year else f"{day.year}年"
    return f"{year}{day.month}月{day.day}日，{WEEKDAYS[day.weekday()]}"


def say_window(start: dt.datetime) -> str:
    """11月25日，星期三，上午."""
    return f"{say_day(start.date())}，{part_of(start)}"


def say_window_with_hours(start: dt.datetime) -> str:
    part = part_of(start)
    lo, hi = PART_HOURS[part]
    return f"{say_day(start.date())}，{part}{_h12(lo)}点到{_h12(hi)}点"


def _h12(hour: int) -> int:
    return hour - 12 if hour > 12 else hour


def _safe_int(token: str) -> int | None:
    try:
        return to_int(token)
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _checked_date(year: int, month: int, day: int) -> dt.date:
    if not 1 <= month <= 12:
        raise TimeParseError("impossible_date", WORDING.format("time.no_such_month", month=month))
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise TimeParseError(
            "impossible_date", WORDING.format("time.no_such_day", month=month, day=day, last=last)
        )
    return dt.date(year, month, day)


def _add_months(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _find_day(text: str, today: dt.date) -> tuple[dt.date | None, bool]:
    """The day named in `text` and whether the caller gave an explicit year."""
    m = _FULL_DATE.search(text)
    if m:
        month, day = _safe_int(m.group("m")), _safe_int(m.group("d"))
        if month is None or day is None:
            raise TimeParseError("not_understood", WORDING.text("time.month_day_not_heard"))
        if m.group("y"):
            return _checked_date(_safe_int(m.group("y")) or today.year, month, day), True
        found = _checked_date(today.year, month, day) if not (month == 2 and day == 29) else None
        if found is None:  # 2月29日: this year or the next leap year
            year = today.year
            while not calendar.isleap(year):
                year += 1
            found = _checked_date(year, 2, 29)
        # Without a year, a date long gone means next year (1月5号 said in November).
        if (today - found).days > 60:
            year = today.year + 1
            while month == 2 and day == 29 and not calendar.isleap(year):
                year += 1
            found = _checked_date(year, month, day)
        # ...and a date just gone across the new year is that past date (12月31号 said on
        # 1 January), not one almost a year away.
        elif (found - today).days > 300 and not (month == 2 and day == 29):
            last_year = _checked_date(today.year - 1, month, day)
            if 0 < (today - last_year).days <= 60:
                found = last_year
        return found, False
    m = _REL_MONTH_DAY.search(text)
    if m:
        shift = {"下下": 2, "下": 1, "这": 0, "本": 0}[m.group("which").rstrip("个")]
        year, month = _add_months(today, shift)
        day = _safe_int(m.group("d"))
        if day is None:
            raise TimeParseError("not_understood", WORDING.text("time.day_of_month_not_heard"))
        return _checked_date(year, month, day), False
    m = _MONTH_END.search(text)
    if m:
        shift = 1 if (m.group("which") or "").startswith("下") else 0
        year, month = _add_months(today, shift)
        return dt.date(year, month, calendar.monthrange(year, month)[1]), False
    m = _AFTER_WEEKS.search(text)
    if m and (weeks := _safe_int(m.group("n"))) is not None:
        return today + dt.timedelta(weeks=weeks), False
    m = _AFTER_DAYS.search(text)
    if m:
        n = _safe_int(m.group("a") or m.group("b"))
        if n is not None:
            return today + dt.timedelta(days=n), False
    for word, offset in _RELATIVE_DAYS:
        if word in text:
            return today + dt.timedelta(days=offset), False
    m = _WEEK.search(text)
    if m:
        weekday = _WEEKDAY_CHARS[m.group("wd")]
        which = (m.group("which") or "").rstrip("个")
        monday = today - dt.timedelta(days=today.weekday())
        if which in ("这", "本"):
            return monday + dt.timedelta(days=weekday), False
        if which == "下":
            return monday + dt.timedelta(days=7 + weekday), False
        if which == "下下":
            return monday + dt.timedelta(days=14 + weekday), False
        if which == "上":
            return monday + dt.timedelta(days=weekday - 7), False
        # a bare 周五 means the coming one (today counts)
        return today + dt.timedelta(days=(weekday - today.weekday()) % 7), False
    m = _DAY_ONLY.search(text)
    if m:
        day = _safe_int(m.group("d"))
        if day is not None and day >= 1:
            if day < today.day:  # 3号 said on the 23rd: next month
                year, month = _add_months(today, 1)
            else:
                year, month = today.year, today.month
            return _checked_date(year, month, day), False
    return None, False


def _names_day(text: str, today: dt.date) -> bool:
    try:
        return _find_day(text, today)[0] is not None
    except TimeParseError:
        return True


def _find_part_and_clock(text: str) -> tuple[str | None, int | None, int | None]:
    part = None
    if any(w in text for w in _EVENING):
        raise TimeParseError(
            "outside_hours", WORDING.format("time.evening", service_hours=SERVICE_HOURS_TEXT)
        )
    if any(w in text for w in _MORNING):
        part = "上午"
    elif any(w in text for w in _AFTERNOON):
        part = "下午"
    elif any(w in text for w in _NOON):
        part = "中午"
    hour = minute = None
    for m in _CLOCK.finditer(text):
        before = text[max(0, m.start() - 1) : m.start()]
        if m.group("h") == "一" and m.group("rest") is None and before in ("早", "晚", "快", "慢", "有"):
            continue  # 早一点 / 晚一点: "a bit earlier", not one o'clock
        h = _safe_int(m.group("h"))
        if h is None or h > 24:
            continue
        rest = m.group("rest")
        minute = 0
        if rest == "半":
            minute = 30
        elif rest == "一刻":
            minute = 15
        elif rest == "三刻":
            minute = 45
        elif m.group("min"):
            minute = _safe_int(m.group("min")) or 0
        hour = h
        break
    if hour is not None:
        if part == "下午" and hour < 12:
            hour += 12
        elif part == "中午" and hour < 3:
            hour = hour + 12 if hour < 12 else hour
        elif part is None and 1 <= hour <= 6:
            hour += 12  # 三点 without 上午/下午 means the afternoon in everyday speech
        if 8 <= hour < 12:
            part = "上午"
        elif 13 <= hour < 17:
            part = "下午"
        else:
            raise TimeParseError(
                "outside_hours",
                WORDING.format("time.hour", hour=_h12(hour), service_hours=SERVICE_HOURS_TEXT),
            )
    if part == "中午":
        raise TimeParseError("outside_hours", WORDING.format("time.noon", service_hours=SERVICE_HOURS_TEXT))
    return part, hour, minute


def day_named(text: str | None, today: dt.date | None = None) -> dt.date | None:
    """The day a text names even when the rest cannot be booked ("大后天中午": the 26th),
    after a self-correction when it names one; None when it names no day."""
    today = today or clock.today()
    text = re.sub(r"\s+", "", clean(text))
    for part in (after_correction(text), text):
        day, _ = _find_day(part, today)
        if day is not None:
            return day
    return None


# Moving a visit by days from its own day: "往后推一天", "推迟两天", "晚一天", "提前一天"
_SHIFT_LATER = re.compile(
    rf"(?:往后|向后)?再?(?:推后|推迟|延后|延迟|顺延|挪后|后推|后延|推|挪|延|晚)再?(?:个)?(?P<n>{_N}{{1,2}})(?:天|日)"
)
_SHIFT_EARLIER = re.compile(rf"(?:往前|向前|提前|挪前|早)再?(?:挪|提)?(?:个)?(?P<n>{_N}{{1,2}})(?:天|日)")


def shift_days(text: str | None) -> int | None:
    """The days a caller moves a visit by, from its own day: "往后推一天" 1, "提前两天" -2;
    None when the text moves it by no number of days."""
    flat = re.sub(r"\s+", "", clean(text))
    for pattern, sign in ((_SHIFT_EARLIER, -1), (_SHIFT_LATER, 1)):
        m = pattern.search(flat)
        said = m.group("n") if m else ""
        if len(said) == 2 and "十" not in said and not said.isdigit():
            return None  # "两三天": a range, asked rather than guessed
        if m and (n := _safe_int(said)):
            return sign * n
    return None


def bare_weekday(text: str | None, today: dt.date | None = None) -> bool:
    """Whether the day a text names is a weekday alone ("礼拜一那个", not "下礼拜一" or a
    date). Said of a booking already made, it may mean next week's: "礼拜一那个打扫" said on
    a Monday names next Monday's visit as readily as today's."""
    today = today or clock.today()
    text = re.sub(r"\s+", "", clean(text))
    for part in (after_correction(text), text):
        day, _ = _find_day(part, today)
        if day is None:
            continue
        said = list(_WEEK.finditer(part))
        if not said or any(m.group("which") for m in said):
            return False
        if len({_WEEKDAY_CHARS[m.group("wd")] for m in said}) > 1:
            return False
        # "礼拜一那个……礼拜一我女儿要来": the same weekday said twice is still a weekday alone
        return _find_day(_WEEK.sub("", part), today)[0] is None
    return False


def weekday_in_week_of(text: str, week_of: dt.date, today: dt.date | None = None) -> str:
    """`text` with a weekday said alone ("改到礼拜二") replaced by that day of the week of
    `week_of` ("12月1号"), when that day is not past: a visit moved "to Tuesday" stays in its
    own week. Otherwise `text` unchanged."""
    today = today or clock.today()
    tail = after_correction(text)
    if tail != text and text.endswith(tail):  # "从礼拜一改到礼拜二": only the new day
        return text[: len(text) - len(tail)] + weekday_in_week_of(tail, week_of, today)
    if not bare_weekday(text, today):
        return text
    monday = week_of - dt.timedelta(days=week_of.weekday())
    days = {monday + dt.timedelta(days=_WEEKDAY_CHARS[m.group("wd")]) for m in _WEEK.finditer(text)}
    if len(days) != 1 or min(days) < today:
        return text
    (day,) = days
    return _WEEK.sub(f"{day.month}月{day.day}号", text)


def parse_time(
    text: str | None, today: dt.date | None = None, day_if_missing: dt.date | None = None
) -> TimeRequest:
    """Parses a caller's time expression. Raises TimeParseError with a polite reason.

    A self-correction wins: in "周三，不对，周四下午" the day and part after the correction
    are used, and what the correction leaves out is taken from before it ("下周五上午九点，
    哦，说错了，下午三点" is next Friday afternoon). `day_if_missing` is the day meant when
    only a part of the day is said (a correction of a read-back: "不对，要下午")."""
    today = today or clock.today()
    text = re.sub(r"\s+", "", clean(text))
    if not text:
        raise TimeParseError("not_understood", WORDING.text("time.which_day"))
    tail = after_correction(text)
    if tail != text:
        head = text[: len(text) - len(tail)]
        try:
            before = parse_time(CORRECTION.sub("，", head), today, day_if_missing)
        except TimeParseError:
            before = None
        try:
            after = parse_time(tail, today, before.day if before else day_if_missing)
        except TimeParseError as exc:
            if before is None or exc.code != "not_understood":
                raise
            return before
        if before is not None and after.part is None and not _names_day(tail, today):
            return before
        if before is not None and not _names_day(tail, today):
            return TimeRequest(day=before.day, part=after.part, hour=after.hour, minute=after.minute)
        return after
    day, _ = _find_day(text, today)
    part, hour, minute = _find_part_and_clock(text)
    if day is None and part is not None and day_if_missing is not None:
        day = day_if_missing
    if day is None:
        if part is None:
            raise TimeParseError("not_understood", WORDING.text("time.day_not_heard"))
        day = today  # 下午三点 alone: today
    if day < today:
        raise TimeParseError("past", WORDING.format("time.past", day_said=say_day(day)))
    return TimeRequest(day=day, part=part, hour=hour, minute=minute)
