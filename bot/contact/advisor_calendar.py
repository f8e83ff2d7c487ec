"""When the hotline's advisors are on duty: weekly hours, public holidays and the weekend
days worked instead of them (调休上班).

Data, not code (STYLE.md: one fact, one home, one reference):
- policies/<region>/advisor_calendar.yml: the district's hours per weekday, the hours of a
  public holiday and of a make-up working day, and which pack's holiday file applies
- policies/national/public_holidays.yml: the State Council's schedule of each year, with
  its reference; checked and extended every year when the notice comes out

ADVISOR_HOURS (`08:00-12:00,13:30-20:00`) overrides both with the same hours every day
(tests use it; so can a district with one simple rule). Time is China time from
bot/clock.py. A year missing from the holiday file, or listed with the statutory days only,
is used as it is and logged once per process: the line must keep working on 1 January
even when nobody updated the file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import clock
from bot.config import Settings, get_settings

log = logging.getLogger(__name__)

CALENDAR_FILE = "advisor_calendar.yml"
HOLIDAYS_FILE = "public_holidays.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
CLOSED = "closed"
# Used when the calendar files cannot be read: the hours the line had before they existed.
FALLBACK_HOURS = "08:00-20:00"

Ranges = tuple[tuple[dt.time, dt.time], ...]


class AdvisorCalendarError(ValueError):
    """A calendar file is missing or malformed (the message names the file and the key)."""


def parse_hours(spec: str | None) -> list[tuple[dt.time, dt.time]]:
    """'08:00-12:00,13:30-20:00' -> [(08:00, 12:00), (13:30, 20:00)]; 24:00 means midnight
    at the end of the day. Malformed parts are skipped (and logged)."""
    ranges = []
    for part in (spec or "").split(","):
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", part)
        if not match:
            if part.strip():
                log.warning("advisor hours part %r is not HH:MM-HH:MM; ignored", part)
            continue
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            log.warning("advisor hours part %r is out of range; ignored", part)
            continue
        end = dt.time.max if h2 == 24 else dt.time(h2, m2)
        ranges.append((dt.time(h1, m1), end))
    return ranges


@dataclass(frozen=True)
class Holiday:
    name: str
    first: dt.date
    last: dt.date


@dataclass(frozen=True)
class HolidayYear:
    year: int
    status: str  # published | statutory_only
    holidays: tuple[Holiday, ...]
    make_up_working_days: tuple[tuple[dt.date, str], ...]  # (date, the holiday it makes up for)


@dataclass(frozen=True)
class DayHours:
    """A day's advisor hours and why they are what they are."""

    day: dt.date
    ranges: Ranges
    kind: str  # weekday | public_holiday | make_up_working_day | override | fallback
    holiday: str | None = None  # the holiday's name (public_holiday, make_up_working_day)


@dataclass(frozen=True)
class AdvisorCalendar:
    weekly: tuple[Ranges, ...]  # Monday first
    public_holiday: Ranges
    make_up_working_day: Ranges
    years: dict[int, HolidayYear]
    source: str  # the files, for log lines

    def hours_on(self, day: dt.date) -> DayHours:
        year = self.years.get(day.year)
        if year is None:
            _warn_once(
                day.year,
                f"public holidays of {day.year} are not in {self.source}: "
                "weekly hours only (add the year; see the file's header)",
            )
        else:
            if year.status != "published":
                _warn_once(
                    day.year,
                    f"public holidays of {day.year} in {self.source} are the "
                    "statutory days only (the State Council's schedule is not "
                    "entered yet): no bridging or make-up days",
                )
            for holiday in year.holidays:
                if holiday.first <= day <= holiday.last:
                    return DayHours(day, self.public_holiday, "public_holiday", holiday.name)
            for date, for_holiday in year.make_up_working_days:
                if date == day:
                    return DayHours(day, self.make_up_working_day, "make_up_working_day", for_holiday)
        return DayHours(day, self.weekly[day.weekday()], "weekday")


_warned: set[int] = set()


def _warn_once(year: int, message: str) -> None:
    if year not in _warned:
        _warned.add(year)
        log.warning(message)


# --- reading the files -----------------------------------------------------------------


def _ranges(value: object, path: Path, key: str) -> Ranges:
    if value is None or (isinstance(value, str) and value.strip().lower() == CLOSED):
        return ()
    if not isinstance(value, str):
        raise AdvisorCalendarError(f"{path}: {key} must be HH:MM-HH:MM[,…] or `closed`")
    ranges = parse_hours(value)
    if len(ranges) != len([p for p in value.split(",") if p.strip()]):
        raise AdvisorCalendarError(f"{path}: {key}: {value!r} is not HH:MM-HH:MM[,…]")
    return tuple(ranges)


def _date(value: object, path: Path, key: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise AdvisorCalendarError(f"{path}: {key}: {value!r} is not a date YYYY-MM-DD") from None


def parse_holidays(data: dict[str, Any], path: Path) -> dict[int, HolidayYear]:
    years = (data or {}).get("years")
    if not isinstance(years, dict) or not years:
        raise AdvisorCalendarError(f"{path}: years is missing")
    parsed: dict[int, HolidayYear] = {}
    for year, raw in years.items():
        where = f"years.{year}"
        if not isinstance(year, int) or not isinstance(raw, dict):
            raise AdvisorCalendarError(f"{path}: {where} must be a year with its days")
        status = raw.get("status")
        if status not in ("published", "statutory_only"):
            raise AdvisorCalendarError(f"{path}: {where}.status must be published or statutory_only")
        if not (raw.get("reference") or {}).get("title"):
            raise AdvisorCalendarError(f"{path}: {where}.reference.title is missing")
        holidays = []
        for i, item in enumerate(raw.get("holidays") or []):
            key = f"{where}.holidays[{i}]"
            if not isinstance(item, dict) or not item.get("name"):
                raise AdvisorCalendarError(f"{path}: {key} needs name, from, to")
            first, last = (
                _date(item.get("from"), path, key + ".from"),
                _date(item.get("to"), path, key + ".to"),
            )
            if last < first or first.year != year or last.year != year:
                raise AdvisorCalendarError(f"{path}: {key}: from/to must be in {year}, from first")
            holidays.append(Holiday(str(item["name"]), first, last))
        if not holidays:
            raise AdvisorCalendarError(f"{path}: {where}.holidays is empty")
        make_up = []
        for i, item in enumerate(raw.get("make_up_working_days") or []):
            key = f"{where}.make_up_working_days[{i}]"
            if not isinstance(item, dict):
                raise AdvisorCalendarError(f"{path}: {key} needs date and for")
            date = _date(item.get("date"), path, key + ".date")
            if date.year != year or any(h.first <= date <= h.last for h in holidays):
                raise AdvisorCalendarError(f"{path}: {key}: {date} is not in {year} or is a day off")
            make_up.append((date, str(item.get("for") or "")))
        parsed[year] = HolidayYear(year, status, tuple(holidays), tuple(make_up))
    return parsed


def parse_calendar(
    data: dict[str, Any], path: Path, holidays: dict[int, HolidayYear], holidays_path: Path
) -> AdvisorCalendar:
    weekly_raw = (data or {}).get("weekly")
    if not isinstance(weekly_raw, dict) or set(weekly_raw) != set(WEEKDAYS):
        raise AdvisorCalendarError(f"{path}: weekly must name each of {', '.join(WEEKDAYS)}")
    for key in ("public_holiday", "make_up_working_day"):
        if key not in data:
            raise AdvisorCalendarError(f"{path}: {key} is missing (hours or `closed`)")
    return AdvisorCalendar(
        weekly=tuple(_ranges(weekly_raw[d], path, f"weekly.{d}") for d in WEEKDAYS),
        public_holiday=_ranges(data["public_holiday"], path, "public_holiday"),
        make_up_working_day=_ranges(data["make_up_working_day"], path, "make_up_working_day"),
        years=holidays,
        source=f"{path} + {holidays_path}",
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return data
    except FileNotFoundError:
        raise AdvisorCalendarError(f"{path}: not found") from None
    except yaml.YAMLError as exc:
        raise AdvisorCalendarError(f"{path}: not valid YAML ({exc})") from None


@lru_cache(maxsize=8)
def _load(path: str, _stamp: tuple[tuple[str, int | None], ...]) -> AdvisorCalendar:
    file = Path(path)
    data = _read(file)
    pack = data.get("public_holidays")
    if not isinstance(pack, str) or not re.fullmatch(r"[a-z0-9_]+", pack):
        raise AdvisorCalendarError(f"{file}: public_holidays must name a pack (e.g. national)")
    holidays_path = file.parent.parent / pack / HOLIDAYS_FILE
    return parse_calendar(data, file, parse_holidays(_read(holidays_path), holidays_path), holidays_path)


def calendar_path(settings: Settings) -> Path:
    return Path(settings.policies_dir) / settings.policy_region / CALENDAR_FILE


def load_calendar(settings: Settings | None = None) -> AdvisorCalendar:
    """The region's calendar (cached until a file changes); raises AdvisorCalendarError."""
    path = calendar_path(settings or get_settings())
    stamp: list[tuple[str, int | None]] = []
    for file in [path] + sorted(path.parent.parent.glob(f"*/{HOLIDAYS_FILE}")):
        try:
            stamp.append((file.name, file.stat().st_mtime_ns))
        except OSError:
            stamp.append((file.name, None))
    return _load(str(path), tuple(stamp))


# --- the questions the line asks ------------------------------------------------------


def hours_on(day: dt.date, settings: Settings | None = None) -> DayHours:
    """The advisor hours of one day: ADVISOR_HOURS when set, otherwise the calendar; when
    the calendar cannot be read, FALLBACK_HOURS (logged: the line never fails on it)."""
    settings = settings or get_settings()
    if settings.advisor_hours.strip():
        return DayHours(day, tuple(parse_hours(settings.advisor_hours)), "override")
    try:
        return load_calendar(settings).hours_on(day)
    except AdvisorCalendarError as exc:
        log.error("advisor calendar unusable, using %s every day: %s", FALLBACK_HOURS, exc)
        return DayHours(day, tuple(parse_hours(FALLBACK_HOURS)), "fallback")


def on_duty(moment: dt.datetime | None = None, settings: Settings | None = None) -> bool:
    """Is it advisor time at `moment` (China time; default: now)?"""
    moment = moment or clock.now()
    # a naive moment is China time, as CLOCK_NOW is
    moment = (
        moment.replace(tzinfo=clock.CHINA_TZ) if moment.tzinfo is None else moment.astimezone(clock.CHINA_TZ)
    )
    hours = hours_on(moment.date(), settings)
    return any(start <= moment.time() < end for start, end in hours.ranges)


def _ranges_spec(ranges: Ranges) -> str:
    return ",".join(
        f"{s.strftime('%H:%M')}-{'24:00' if e == dt.time.max else e.strftime('%H:%M')}" for s, e in ranges
    )


def weekly_summary(settings: Settings | None = None) -> list[tuple[str, str]]:
    """The hours as people say them, in groups: [("周一到周五", "08:00-20:00"), ("周六",
    "09:00-17:00"), ("周日和法定节假日", "")] ("" = closed). With ADVISOR_HOURS:
    [("", spec)] (every day the same)."""
    settings = settings or get_settings()
    if settings.advisor_hours.strip():
        return [("", _ranges_spec(tuple(parse_hours(settings.advisor_hours))))]
    try:
        calendar = load_calendar(settings)
    except AdvisorCalendarError:
        return [("", FALLBACK_HOURS)]
    groups: list[list[Any]] = []  # [first weekday, last weekday, spec]
    for index, ranges in enumerate(calendar.weekly):
        spec = _ranges_spec(ranges)
        if groups and groups[-1][2] == spec and groups[-1][1] == index - 1:
            groups[-1][1] = index
        else:
            groups.append([index, index, spec])
    summary = []
    for first, last, spec in groups:
        if first == last:
            days = WEEKDAYS_ZH[first]
        elif last == first + 1:
            days = WEEKDAYS_ZH[first] + WEEKDAYS_ZH[last]
        else:
            days = f"{WEEKDAYS_ZH[first]}到{WEEKDAYS_ZH[last]}"
        summary.append([days, spec])
    holiday_spec = _ranges_spec(calendar.public_holiday)
    same = next((item for item in summary if item[1] == holiday_spec), None)
    if same is not None:
        same[0] += "和法定节假日"
    else:
        summary.append(["法定节假日", holiday_spec])
    return [(days, spec) for days, spec in summary]


# --- a check for whoever updates the files --------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the advisor calendar and show its days.")
    parser.add_argument("--check", action="store_true", help="load the files, print each year")
    parser.parse_args(argv)
    settings = get_settings()
    try:
        calendar = load_calendar(settings)
    except AdvisorCalendarError as exc:
        print(f"ERROR {exc}")
        return 1
    print(f"{calendar_path(settings)}: weekly {[_ranges_spec(r) or 'closed' for r in calendar.weekly]}")
    for year in sorted(calendar.years.values(), key=lambda y: y.year):
        days = sum((h.last - h.first).days + 1 for h in year.holidays)
        print(
            f"{year.year}: {year.status}, {len(year.holidays)} holidays ({days} days off), "
            f"{len(year.make_up_working_days)} make-up working days"
        )
    this_year = clock.today().year
    for number in (this_year, this_year + 1):
        entry = calendar.years.get(number)
        if entry is None or entry.status != "published":
            print(
                f"WARNING {number}: the State Council's schedule is not entered "
                f"({'missing' if entry is None else entry.status})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
