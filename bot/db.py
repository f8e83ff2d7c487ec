"""Engines and sessions for the service database.

One engine per database URL per process; one session per unit of work:

    with session_scope() as s:      # commits on success, rolls back on any error
        s.add(...)

Every database call has a bound on how long it may wait, well below Twilio's 15 s webhook
limit, so a stuck database gives a polite answer instead of a hung call:
(all read through bot/config.py's Settings)
- SQLite: busy timeout DB_BUSY_TIMEOUT_MS (default 5000) for a locked database;
- PostgreSQL: connect timeout DB_CONNECT_TIMEOUT_SECONDS (5), statement_timeout
  DB_STATEMENT_TIMEOUT_MS (5000) and lock_timeout DB_LOCK_TIMEOUT_MS (3000), set for every
  connection through the driver's options;
- both: waiting for a free pooled connection, DB_POOL_TIMEOUT_SECONDS (5).
Migrations (`python -m bot.manage migrate`) get a long statement timeout instead
(`migration_engine`): creating an index on a big table may take minutes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Callable, Iterator, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import get_settings

log = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def busy_timeout_ms() -> int:
    return get_settings().db_busy_timeout_ms


def statement_timeout_ms() -> int:
    return get_settings().db_statement_timeout_ms


def lock_timeout_ms() -> int:
    return get_settings().db_lock_timeout_ms


def _sqlite_pragmas_for(busy_ms: int) -> Callable[[Any, Any], None]:
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()

    return pragmas


def engine_options(url: str, statement_ms: int | None = None, lock_ms: int | None = None) -> dict[str, Any]:
    """create_engine() keyword arguments with the timeouts of the module doc."""
    kwargs: dict[str, Any] = {
        "future": True,
        "pool_pre_ping": True,
        "pool_timeout": get_settings().db_pool_timeout_seconds,
    }
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms() / 1000}
        kwargs.pop("pool_timeout")  # SQLite files use a pool without a wait
    else:
        statement_ms = statement_timeout_ms() if statement_ms is None else statement_ms
        lock_ms = lock_timeout_ms() if lock_ms is None else lock_ms
        kwargs.update(pool_size=10, max_overflow=20)
        if url.startswith("postgresql"):
            kwargs["connect_args"] = {
                "connect_timeout": get_settings().db_connect_timeout_seconds,
                "options": f"-c statement_timeout={int(statement_ms)} -c lock_timeout={int(lock_ms)}",
            }
    return kwargs


def _create(url: str, statement_ms: int | None = None, lock_ms: int | None = None) -> Engine:
    engine = create_engine(url, **engine_options(url, statement_ms, lock_ms))
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas_for(busy_timeout_ms()))
    return engine


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            _engines[url] = engine
        return engine


@contextlib.contextmanager
def migration_engine(url: str, statement_ms: int = 600_000, lock_ms: int = 10_000) -> Iterator[Engine]:
    """While migrating, `get_engine(url)` hands out an engine with a long statement timeout
    (10 minutes; locks still 10 s); afterwards the service engine with its short ones."""
    engine = _create(url, statement_ms, lock_ms)
    with _lock:
        previous = _engines.get(url)
        _engines[url] = engine
    try:
        yield engine
    finally:
        with _lock:
            if _engines.get(url) is engine:
                if previous is not None:
                    _engines[url] = previous
                else:
                    _engines.pop(url, None)
        engine.dispose()


def make_session(url: str | None = None) -> Session:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)()


_P = ParamSpec("_P")
_R = TypeVar("_R")
LOCK_RETRIES = 5


def retry_on_lock(what: str, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Runs a write transaction `fn`, again (up to LOCK_RETRIES times, a little later each
    time) when the database refuses it for a lock: SQLite's "database is locked" when a
    busy writer holds it or this writer's snapshot went stale, PostgreSQL's deadlock. The
    callers' idempotency keys keep a retried write from happening twice."""
    for attempt in range(LOCK_RETRIES):
        try:
            return fn(*args, **kwargs)
        except OperationalError as exc:
            if "locked" not in str(exc).lower() and "deadlock" not in str(exc).lower():
                raise
            log.warning("%s write retried after %s (attempt %d)", what, type(exc.orig).__name__, attempt + 1)
            time.sleep(0.05 * (attempt + 1))
    return fn(*args, **kwargs)


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: everything inside is written together or not at all."""
    session = make_session(url)
    try:
        with session.begin():
            yield session
    finally:
        session.close()


def ping(url: str | None = None) -> bool:
    try:
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any driver error means "down" for health checks
        log.warning("database ping failed: %s", type(exc).__name__)
        return False


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
