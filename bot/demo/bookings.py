"""Demo data of the booking area: the service catalogue, providers covering the 12 streets,
their capacity and this and next month's free-care grants.

The catalogue, providers and closures are files under demo/ (services.csv, providers.csv,
closures.csv) loaded by the same code as a district's files (bot/registry/), and the
windows come from the same generator (bot/registry/capacity.py): six services, four
providers with 3 places every half day, CAPACITY_WEEKS_AHEAD weeks (6: 42 days) from today.

Registered with bot.demo.loader.register_loader (runs inside load_if_empty's transaction).
`python -m bot.demo.bookings extend [DAYS]` tops up capacity windows on a long-lived
demo database (idempotent; `flask --app server registry capacity` does the same by weeks).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot import clock
from bot.booking.ledger import ensure_month_grants, month_key
from bot.demo.loader import DEMO_DIR, register_loader
from bot.registry import capacity, providers, services
from bot.registry.files import FileReport, RowProblem

SERVICES_FILE = DEMO_DIR / "services.csv"
PROVIDERS_FILE = DEMO_DIR / "providers.csv"
CLOSURES_FILE = DEMO_DIR / "closures.csv"
DAYS_AHEAD = 42  # `extend`'s default: the 6 weeks of CAPACITY_WEEKS_AHEAD's default


def _checked(path: Path, parsed: tuple[int, list[Any], list[RowProblem]]) -> list[Any]:
    _count, records, problems = parsed
    if problems:
        raise ValueError(f"{path}: " + "; ".join(p.line() for p in problems))
    return records


def load_catalogue(session: Session) -> None:
    """demo/services.csv, providers.csv and closures.csv into the session (no windows)."""
    for path, parse, apply in (
        (SERVICES_FILE, services.parse_file, services.apply_services),
        (PROVIDERS_FILE, lambda p: providers.parse_file(p, area_code="025"), providers.apply_providers),
        (
            CLOSURES_FILE,
            capacity.parse_closures_file,
            lambda s, records, report: capacity.apply_closures(s, records, report, "demo"),
        ),
    ):
        report = FileReport()
        apply(session, _checked(path, parse(path)), report)
        if report.errors:
            raise ValueError(f"{path}: " + "; ".join(p.line() for p in report.errors))
        session.flush()


def load_booking_demo(session: Session) -> None:
    load_catalogue(session)
    today = clock.today()
    capacity.generate_windows(session, first=today)
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    for month in (month_key(today), month_key(next_month)):
        ensure_month_grants(session, month)


register_loader(load_booking_demo)


def extend(days: int = DAYS_AHEAD, url: str | None = None) -> int:
    """Windows from today for `days` days by the generator; returns how many were added."""
    from bot.db import session_scope

    with session_scope(url) as s:
        return capacity.generate_windows(s, first=clock.today(), days=days).added


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "extend":
        print(f"windows added: {extend(int(sys.argv[2]) if len(sys.argv) > 2 else DAYS_AHEAD)}")
    else:
        print(__doc__)
