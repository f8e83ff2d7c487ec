"""Capacity windows from the weekly templates and their exceptions, kept a few weeks ahead.

    flask --app server registry capacity [--weeks N] [--from YYYY-MM-DD] [--dry-run]
    flask --app server registry import-closures FILE [--dry-run] [--skip-errors]

The places of a provider's half day are, most specific first: an exception for that
provider and half day, for that provider and the whole day, for every provider and that
half day, for every provider and the whole day, else the provider's weekly template
(bot/registry/providers.py). Exceptions may close (0) or open (a weekend made a working
day) a half day.

`generate_windows` makes the windows of active providers from a first day (default: today
by bot.clock) for CAPACITY_WEEKS_AHEAD weeks:
- a missing window is added when it has places; a closed half day gets no window;
- an existing window gets the places it should have, but never fewer than are already
  booked: such windows are reported as `held` so an advisor can call the elders and move
  their visits (a closed half day with nothing booked keeps its window at 0 places: booking
  offers only windows with free places, and cancelled bookings still point at the window);
- windows before the first day or after the horizon, and those of stopped providers, are
  left alone; a provider without a template (created before the district's file) too.
Running it again changes nothing. One query reads the existing windows, one executemany
adds the missing ones and one changes the others; each change is computed in SQL as
max(places, booked) so a booking made meanwhile cannot break the booked <= capacity CHECK.

A closures file (CSV/XLSX, one exception a row) has the columns 日期, 机构名称 (blank =
every provider), 时段 (上午/下午/全天), 名额 (blank = 0, closed) and 原因; rows are matched
by day, provider and 时段, so importing the same file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from bot import clock
from bot.config import get_settings
from bot.models.booking import PARTS_OF_DAY, CapacityException, CapacityTemplate, CapacityWindow, Provider
from bot.registry import validate as v
from bot.registry.files import (
    Checker,
    FileReport,
    RowProblem,
    day,
    first_of_each,
    read_records,
    run_import,
    whole_number,
)
from bot.text.timeparse import PART_HOURS

log = logging.getLogger(__name__)

WHOLE_DAY = "全天"
PARTS_WITH_WHOLE_DAY = (WHOLE_DAY, *PARTS_OF_DAY)
CLOSURE_REQUIRED = ("日期", "机构名称", "时段", "名额", "原因")
MAX_WEEKS = 104
ALL = None  # provider_id of an exception for every provider
# (provider id or ALL, day, part or None for the whole day): an exception's key
_ExceptionKey = tuple[int | None, dt.date, str | None]


# --- the generator ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    provider: str
    starts_at: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.provider} {self.starts_at:%Y-%m-%d} {part_of(self.starts_at)}"


@dataclass(frozen=True)
class WindowChange(_Window):
    old: int
    new: int


@dataclass(frozen=True)
class HeldWindow(_Window):
    """A window that should have fewer places than are booked: kept at what is booked."""

    wanted: int
    booked: int

    def line_zh(self) -> str:
        return (
            f"{self.provider} {self.starts_at.month}月{self.starts_at.day}日"
            f"{part_of(self.starts_at)}：应为{self.wanted}个名额，已约{self.booked}个，"
            f"保留{self.booked}个"
        )


@dataclass
class CapacityReport:
    first: dt.date
    last: dt.date
    providers: int = 0
    added: int = 0
    changes: list[WindowChange] = field(default_factory=list)
    held: list[HeldWindow] = field(default_factory=list)
    added_by_provider: dict[str, int] = field(default_factory=dict)
    no_template: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.changes)

    def summary(self) -> str:
        weeks = ((self.last - self.first).days + 1) / 7
        return (
            f"windows {self.first} to {self.last} ({weeks:g} weeks, {self.providers} "
            f"providers): {self.added} added, {self.changed} changed, "
            f"{len(self.held)} held by bookings"
        )


def part_of(start: dt.datetime) -> str:
    return "上午" if start.hour < 12 else "下午"


def _window_times(day_: dt.date, part: str) -> tuple[dt.datetime, dt.datetime]:
    start, end = PART_HOURS[part]
    return dt.datetime.combine(day_, dt.time(start)), dt.datetime.combine(day_, dt.time(end))


def exceptions_between(session: Session, first: dt.date, last: dt.date) -> dict[_ExceptionKey, int]:
    """(provider id or None, day, part or None) -> places, for the days first..last."""
    rows = session.execute(
        select(
            CapacityException.provider_id,
            CapacityException.day,
            CapacityException.part,
            CapacityException.capacity,
        ).where(CapacityException.day >= first, CapacityException.day <= last)
    )
    return {(pid, d, part): capacity for pid, d, part, capacity in rows}


def places_for(
    template: dict[tuple[int, str], int],
    exceptions: dict[_ExceptionKey, int],
    provider_id: int,
    day_: dt.date,
    part: str,
) -> int:
    """The places a provider's half day should have (the order of the module doc)."""
    for key in ((provider_id, day_, part), (provider_id, day_, None), (ALL, day_, part), (ALL, day_, None)):
        if key in exceptions:
            return exceptions[key]
    return template.get((day_.weekday(), part), 0)


def generate_windows(
    session: Session,
    *,
    first: dt.date | None = None,
    weeks: int | None = None,
    days: int | None = None,
    provider_ids: list[int] | None = None,
) -> CapacityReport:
    """Brings the windows of the days first .. first + weeks*7 - 1 (or `days` days) in line
    with the templates and exceptions, in the caller's transaction."""
    first = first or clock.today()
    if days is None:
        days = 7 * (weeks if weeks is not None else get_settings().capacity_weeks_ahead)
    last = first + dt.timedelta(days=days - 1)
    report = CapacityReport(first, last)

    query = select(Provider.id, Provider.name).where(Provider.active.is_(True))
    if provider_ids is not None:
        query = query.where(Provider.id.in_(list(provider_ids)))
    providers = dict(session.execute(query.order_by(Provider.id)).all())
    templates: dict[int, dict[tuple[int, str], int]] = defaultdict(dict)
    if providers:
        for pid, weekday, part, capacity in session.execute(
            select(
                CapacityTemplate.provider_id,
                CapacityTemplate.weekday,
                CapacityTemplate.part,
                CapacityTemplate.capacity,
            ).where(CapacityTemplate.provider_id.in_(list(providers)))
        ):
            templates[pid][(weekday, part)] = capacity
    report.no_template = [name for pid, name in providers.items() if pid not in templates]
    providers = {pid: name for pid, name in providers.items() if pid in templates}
    report.providers = len(providers)
    if not providers:
        return report

    exceptions = exceptions_between(session, first, last)
    start_lo, _ = _window_times(first, PARTS_OF_DAY[0])
    _, end_hi = _window_times(last, PARTS_OF_DAY[-1])
    existing = {
        (pid, start): (wid, capacity, booked)
        for wid, pid, start, capacity, booked in session.execute(
            select(
                CapacityWindow.id,
                CapacityWindow.provider_id,
                CapacityWindow.starts_at,
                CapacityWindow.capacity,
                CapacityWindow.booked,
            ).where(
                CapacityWindow.provider_id.in_(list(providers)),
                CapacityWindow.starts_at >= start_lo,
                CapacityWindow.starts_at < end_hi,
            )
        )
    }

    half_days = [(first + dt.timedelta(days=n), part) for n in range(days) for part in PARTS_OF_DAY]
    times = {(d, part): _window_times(d, part) for d, part in half_days}
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for pid, name in providers.items():
        template = templates[pid]
        added = 0
        for d, part in half_days:
            wanted = places_for(template, exceptions, pid, d, part)
            start, end = times[(d, part)]
            found = existing.get((pid, start))
            if found is None:
                if wanted > 0:
                    new_rows.append(
                        dict(
                            provider_id=pid,
                            day=d,
                            part=part,
                            starts_at=start,
                            ends_at=end,
                            capacity=wanted,
                            booked=0,
                        )
                    )
                    added += 1
                continue
            wid, capacity, booked = found
            if wanted < booked:
                report.held.append(HeldWindow(name, start, wanted, booked))
            target = max(wanted, booked)
            if target != capacity:
                updates.append(dict(wid=wid, wanted=wanted))
                report.changes.append(WindowChange(name, start, capacity, target))
        if added:
            report.added_by_provider[name] = added
        report.added += added

    table = CapacityWindow.__table__
    if new_rows:
        session.execute(insert(table), new_rows)
    if updates:
        wanted = bindparam("wanted")
        session.execute(
            update(table)
            .where(table.c.id == bindparam("wid"))
            .values(capacity=case((table.c.booked > wanted, table.c.booked), else_=wanted)),
            updates,
        )
    if report.added or report.changes:
        log.info("capacity: %s", report.summary())
    for held in report.held:
        log.warning("capacity held by bookings: %s wanted=%s booked=%s", held.label, held.wanted, held.booked)
    return report


# --- exceptions (console and closures file) ---------------------------------------------------


def part_or_whole_day(value: object, field: str = "时段") -> str | None:
    """上午 / 下午, or None for the whole day (全天, or blank)."""
    s = "".join(v.text(value).split())
    if s in ("", WHOLE_DAY, "整天", "全日"):
        return None
    if s in PARTS_OF_DAY:
        return s
    raise v.RowError(field, "请填写“上午”“下午”或“全天”")


def set_exception(
    session: Session,
    *,
    day_: dt.date,
    provider_id: int | None,
    part: str | None,
    capacity: int,
    reason: str,
    actor: str,
) -> tuple[CapacityException, str]:
    """Adds or changes the one exception of that day, provider and part; returns it and
    "new", "updated" or "unchanged"."""
    found = session.execute(
        select(CapacityException).where(
            CapacityException.day == day_,
            CapacityException.provider_id.is_(None)
            if provider_id is None
            else CapacityException.provider_id == provider_id,
            CapacityException.part.is_(None) if part is None else CapacityException.part == part,
        )
    ).scalar_one_or_none()
    if found is None:
        found = CapacityException(
            day=day_,
            provider_id=provider_id,
            part=part,
            capacity=capacity,
            reason=reason,
            created_by=actor,
            created_at=clock.utcnow_naive(),
        )
        session.add(found)
        session.flush()
        return found, "new"
    if found.capacity == capacity and found.reason == reason:
        return found, "unchanged"
    found.capacity, found.reason = capacity, reason
    return found, "updated"


def affected_providers(session: Session, provider_id: int | None) -> list[int]:
    if provider_id is not None:
        return [provider_id]
    return list(session.execute(select(Provider.id)).scalars())


@dataclass
class ClosureRecord:
    row: int
    day: dt.date
    provider: str | None
    part: str | None
    capacity: int
    reason: str


def parse_closure_row(
    number: int, get: Callable[[str], Any], present: set[str]
) -> tuple[ClosureRecord | None, list[RowProblem]]:
    c = Checker(number, get)
    day_ = c.check("日期", day)
    provider = "".join(v.text(get("机构名称")).split()) or None
    part = c.check("时段", part_or_whole_day)
    capacity = c.check("名额", whole_number, maximum=200, default=0)
    reason = c.check("原因", v.short_text, 200, required=True)
    if c.problems:
        return None, c.problems
    return ClosureRecord(number, day_, provider, part, capacity, reason), []


def parse_closures_file(path: Path) -> tuple[int, list[ClosureRecord], list[RowProblem]]:
    count, records, problems, _present = read_records(path, CLOSURE_REQUIRED, parse_closure_row)
    kept = first_of_each(records, lambda r: (r.day, r.provider, r.part), "日期", "日期、机构和时段", problems)
    return count, kept, problems


def apply_closures(
    session: Session, records: list[ClosureRecord], report: FileReport, actor: str = "cli"
) -> list[int]:
    """Upserts the exceptions into the session and counts; an unknown provider is a problem
    of that row. Returns the providers whose windows may change."""
    providers = dict(session.execute(select(Provider.name, Provider.id)).all())
    affected: set[int] = set()
    for r in records:
        pid = None
        if r.provider is not None:
            pid = providers.get(r.provider)
            if pid is None:
                report.errors.append(
                    RowProblem(r.row, "机构名称", f"没有叫“{r.provider}”的服务机构（留空表示全部机构）")
                )
                continue
        _exc, outcome = set_exception(
            session,
            day_=r.day,
            provider_id=pid,
            part=r.part,
            capacity=r.capacity,
            reason=r.reason,
            actor=actor,
        )
        setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome != "unchanged":
            affected.update(providers.values() if pid is None else [pid])
    report.errors.sort(key=lambda p: p.row)
    return sorted(affected)


def import_closures(
    path: Path | str,
    *,
    dry_run: bool = False,
    skip_errors: bool = False,
    actor: str = "cli",
    url: str | None = None,
) -> FileReport:
    """Reads, checks and (unless dry_run, or errors without skip_errors) writes the file in
    one transaction, with the windows of the providers concerned regenerated."""
    return run_import(
        path,
        parse_file=parse_closures_file,
        apply=lambda s, records, report: apply_closures(s, records, report, actor),
        action="registry_import_closures",
        dry_run=dry_run,
        skip_errors=skip_errors,
        actor=actor,
        url=url,
    )


def regenerate(
    *,
    first: dt.date | None = None,
    weeks: int | None = None,
    dry_run: bool = False,
    actor: str = "cli",
    url: str | None = None,
) -> CapacityReport:
    """`flask --app server registry capacity`: every active provider, one transaction."""
    from bot import audit
    from bot.db import session_scope

    with session_scope(url) as s:
        report = generate_windows(s, first=first, weeks=weeks)
        if dry_run:
            s.rollback()
        elif report.added or report.changes:
            audit.record(actor, "registry_capacity", detail=report.summary(), session=s)
    return report
