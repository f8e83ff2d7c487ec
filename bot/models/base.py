from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session, declarative_base

from bot import clock

# Named constraints so Alembic migrations are stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

if TYPE_CHECKING:
    # SQLAlchemy 1.4 (pinned below 2 by Rasa 3.6) ships no type information, so mypy sees
    # declarative_base() as Any and strict mypy refuses models built on it. The models are
    # checked against this declaration of what the generated base gives them; their columns
    # stay Any (untyped Column()), the SQLAlchemy 1.4 typing gap.
    class Base:
        metadata: ClassVar[MetaData]
        __table__: ClassVar[Any]

        def __init__(self, **kwargs: Any) -> None: ...

else:
    Base = declarative_base(metadata=MetaData(naming_convention=NAMING))


def utcnow() -> dt.datetime:
    """Record timestamps (naive UTC) come from the domain clock, so a pinned clock pins them."""
    return clock.utcnow_naive()


M = TypeVar("M")


def newest_for_elder(session: Session, model: type[M], elder_id: int, limit: int, at: Any = None) -> list[M]:
    """An elder's rows of `model`, newest first by `at` (default `model.at`), then by id."""
    columns: Any = model  # SQLAlchemy 1.4 columns are untyped (see Base above)
    at = columns.at if at is None else at
    query = (
        select(model).where(columns.elder_id == elder_id).order_by(at.desc(), columns.id.desc()).limit(limit)
    )
    return list(session.execute(query).scalars())
