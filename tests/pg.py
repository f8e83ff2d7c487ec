"""Throw-away PostgreSQL databases and Redis for tests of the production profile.

PG_ADMIN_URL (default postgresql+psycopg2://postgres@127.0.0.1:5432/test) and
REDIS_TEST_URL (default redis://127.0.0.1:6379/15) say where; tests skip with a clear
reason when they do not answer."""

from __future__ import annotations

import contextlib
import os
import uuid

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL, future=True, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver error: not available here
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


def redis_available() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_TEST_URL}: {type(exc).__name__}"


@contextlib.contextmanager
def temporary_database(prefix: str = "elder_test", admin_url: str | None = None):
    """Creates a fresh database through `admin_url` (default PG_ADMIN_URL), yields its
    SQLAlchemy URL, drops it afterwards."""
    admin_url = admin_url or PG_ADMIN_URL
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        from bot.db import dispose_all

        dispose_all()
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
