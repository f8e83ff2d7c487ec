from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, select
from sqlalchemy.orm import declarative_base

from bot import clock

# Named constraints so Alembic migrations are stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING))


def utcnow() -> dt.datetime:
    """Record timestamps (naive UTC) come from the domain clock, so a pinned clock pins them."""
    return clock.utcnow_naive()


def newest_for_elder(session, model, elder_id: int, limit: int, at=None) -> list:
    """An elder's rows of `model`, newest first by `at` (default `model.at`), then by id."""
    at = model.at if at is None else at
    return list(
        session.execute(
            select(model).where(model.elder_id == elder_id).order_by(at.desc(), model.id.desc()).limit(limit)
        ).scalars()
    )
