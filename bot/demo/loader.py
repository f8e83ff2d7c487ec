"""Demo data of DESIGN.md: the demo district's streets and the five personas (demo/).

`load_if_empty()` is idempotent: it only writes into an empty database. Other areas
(services, providers, capacity, advisor users) add their own loaders to `LOADERS`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.config import PROJECT_ROOT
from bot.models import Community, Elder

log = logging.getLogger(__name__)

DEMO_DIR = PROJECT_ROOT / "demo"
ELDERS_FILE = DEMO_DIR / "elders.csv"


def _personas() -> list[dict[str, Any]]:
    """The personas of demo/elders.csv as checked by the registry import (one home: the
    file): name, id_number, birth_date, gender, phone, street, address and the facts."""
    from bot.registry.elders import parse_file

    _count, records, problems = parse_file(ELDERS_FILE, area_code="025")
    if problems:
        raise ValueError(f"{ELDERS_FILE}: " + "; ".join(p.line() for p in problems))
    return [dict(r.values, id_number=r.id_number) for r in records]


# The personas every test and demo can rely on.
PERSONAS = _personas()


def load_people(session: Session) -> None:
    """The district's streets (one community each) and the personas, by the registry import."""
    from bot.registry.elders import apply_records, ensure_streets, parse_file
    from bot.registry.files import FileReport

    for street in ensure_streets(session).values():
        session.add(Community(street_id=street.id, name=f"{street.name}社区"))
    session.flush()
    _count, records, _problems = parse_file(ELDERS_FILE, area_code="025")
    apply_records(session, records, FileReport())


LOADERS: list[Callable[[Session], None]] = [load_people]


def register_loader(loader: Callable[[Session], None]) -> Callable[[Session], None]:
    if loader not in LOADERS:
        LOADERS.append(loader)
    return loader


def load_if_empty(url: str | None = None) -> bool:
    """Loads every registered demo loader in one transaction if there are no elders yet."""
    _import_area_loaders()
    with session_scope(url) as s:
        if s.execute(select(func.count(Elder.id))).scalar_one() > 0:
            log.info("demo data: database already has elders, nothing loaded")
            return False
        for loader in LOADERS:
            loader(s)
    log.info("demo data loaded: %d personas", len(PERSONAS))
    return True


def _import_area_loaders() -> None:
    """The booking and console demo modules register their loaders on import; importing them
    here, in this order, fixes the order their loaders run in."""
    import bot.demo.bookings  # noqa: F401
    import bot.demo.console  # noqa: F401
