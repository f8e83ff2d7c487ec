"""Rasa's SQL tracker store with a per-process cache of the trackers it last saved
(loaded by Rasa from var/endpoints.yml as `type: rasa_ext.tracker_store.CachingSQLTrackerStore`;
like rasa_ext/nlu_components.py this is Rasa-side code and is never imported by the web app or
the action server).

Why: py-spy under benchmarks/chat_latency.py showed ~40 % of the Rasa server's CPU per turn
in Rasa's SQLTrackerStore: every turn re-reads and re-deserialises the whole conversation,
and every save (two per turn) first counts the stored events with the same session
sub-query, then commits.

What changes, and what does not:
- The database stays the only truth. A cached tracker is handed out only when the newest
  event id stored for that sender is the one this process wrote last, and the tracker still
  holds exactly the events that were stored. Anything else (another Rasa worker, an
  exception half-way through a turn, a failed save, a new conversation session, a new
  model) drops the entry and the tracker is read from the database as before.
- Saving appends the events this process has not yet stored, without counting them
  first; a tracker the cache does not know is counted the way Rasa counts it.
- Rasa's lock store already serialises turns per conversation (Redis across workers), so
  no other writer can append between the check and the turn.
- SQLite only: write-ahead logging and synchronous=NORMAL (a commit no longer waits for a
  full fsync of the journal; the database cannot be corrupted by a crash, the last
  commits can be lost on power failure, which for dialogue history is acceptable).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional, Text

import sqlalchemy as sa
import sqlalchemy.orm
import sqlalchemy.pool
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot import db
from bot.text.masking import install_log_masking

log = logging.getLogger(__name__)
# Rasa loads this module at start-up: from then on its log lines are masked like ours.
install_log_masking()

DEFAULT_CACHE_SIZE = 200
# pg_advisory_xact_lock key for the index creation at start-up (any constant bigint)
_INDEX_LOCK_KEY = 0x12349_0001
# A conversation idle this long is read from the DB again (and its memory freed): the cache
# is for the turns of a call in progress, and rows deleted by hand (retention) are not seen
# by the id check unless the newest one goes.
DEFAULT_CACHE_SECONDS = 900


@dataclass
class _Entry:
    tracker: DialogueStateTracker
    stored: int  # events of `tracker` that are in the database
    last_id: int  # newest events.id for this sender when they were stored
    at: float = 0.0  # time.monotonic() when cached


class CachingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that keeps the trackers it saved and checks them against the DB."""

    engine: sa.engine.Engine  # set by SQLTrackerStore.__init__ (unannotated there)

    def __init__(
        self,
        *args: Any,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        **kwargs: Any,
    ) -> None:
        self._cache: "OrderedDict[str, _Entry]" = OrderedDict()
        self._cache_size = max(0, int(cache_size))
        self._cache_seconds = float(cache_seconds)
        self.cache_hits = 0
        self.cache_misses = 0
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # Rasa's engine opens a new SQLite connection for every session (NullPool):
            # keep a few open instead, each with the pragmas below.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url,
                poolclass=sa.pool.QueuePool,
                pool_size=4,
                connect_args={"check_same_thread": False, "timeout": db.busy_timeout_ms() / 1000},
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        elif self.engine.dialect.name == "postgresql":
            # the same statement/lock/connect timeouts as the service database (bot/db.py),
            # so a locked row cannot hold a caller's turn past the carrier's webhook limit
            url = self.engine.url
            self.engine.dispose()
            options = db.engine_options(url.render_as_string(hide_password=False))
            self.engine = sa.create_engine(url, pool_pre_ping=True, connect_args=options["connect_args"])
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        # The cache check asks for the newest event id of one sender on every turn.
        # Plain DDL: an sa.Index on SQLEvent would join Rasa's shared metadata.
        # Several Rasa workers start at once: PostgreSQL's CREATE INDEX IF NOT EXISTS is not
        # safe against a concurrent one (UniqueViolation on pg_class, which killed a worker
        # in CI), so the workers take turns under a transaction-scoped advisory lock.
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INDEX_LOCK_KEY})
            conn.execute(
                sa.text("CREATE INDEX IF NOT EXISTS ix_events_sender_id_id ON events (sender_id, id)")
            )

    # A new model may bring new slots: trackers built with the old ones are dropped.
    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        self._domain = domain or Domain.empty()
        if getattr(self, "_cache", None):
            self._cache.clear()

    def _last_id(self, session: Any, sender_id: Text) -> int:
        value = (
            session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()
        )
        return int(value or 0)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        entry = self._cache.pop(sender_id, None)
        with self.session_scope() as session:
            # read before the events: a write in between makes the entry stale, never wrong
            current = self._last_id(session, sender_id)
        if (
            entry is not None
            and current == entry.last_id
            and len(entry.tracker.events) == entry.stored
            and time.monotonic() - entry.at < self._cache_seconds
        ):
            self._remember(sender_id, entry)
            self.cache_hits += 1
            return entry.tracker
        self.cache_misses += 1
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            self._remember(sender_id, _Entry(tracker, len(tracker.events), current))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        entry = self._cache.pop(sender_id, None)
        if entry is not None and (entry.tracker is not tracker or entry.stored > len(tracker.events)):
            entry = None  # e.g. a tracker replaced through Rasa's HTTP API: count as Rasa does
        await self.stream_events(tracker)
        with self.session_scope() as session:
            if entry is not None:
                new = list(itertools.islice(tracker.events, entry.stored, None))
            else:
                new = list(self._additional_events(session, tracker))
            rows = [self._row(sender_id, event) for event in new]
            session.add_all(rows)
            session.flush()
            last_id = rows[-1].id if rows else None
            session.commit()
        log.debug("tracker saved: %d new events", len(new))
        # Only a tracker read from the DB (or cached since) is kept: it then holds exactly what
        # Rasa's retrieve would return. After a new session starts inside it the DB's current
        # session begins part-way through the object, so the next turn reads it back.
        if entry is not None and not any(isinstance(e, SessionStarted) for e in new):
            self._remember(
                sender_id,
                _Entry(tracker, len(tracker.events), int(last_id) if last_id is not None else entry.last_id),
            )

    def _remember(self, sender_id: Text, entry: _Entry) -> None:
        if not self._cache_size:
            return
        entry.at = time.monotonic()
        self._cache[sender_id] = entry
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _row(self, sender_id: Text, event: Any) -> "SQLTrackerStore.SQLEvent":
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
