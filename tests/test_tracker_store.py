"""rasa_ext/tracker_store.py against Rasa's own SQLTrackerStore, on a real SQLite file and (when
it answers) the local PostgreSQL: the same events end up in the database, the cache is only
served while the database agrees with it, and a failed save leaves nothing behind."""

from __future__ import annotations


import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import EventVerbosity

from rasa_ext.tracker_store import CachingSQLTrackerStore
from tests.pg import postgres_available, temporary_database

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def run(coro):
    return asyncio.run(coro)


@contextlib.contextmanager
def database(kind: str, tmp_path: Path):
    """Yields SQLTrackerStore keyword arguments for an empty database of that kind."""
    if kind == "sqlite":
        yield {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
        return
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    with temporary_database("tracker_test") as url:
        parsed = sa.engine.make_url(url)
        yield {
            "dialect": "postgresql",
            "host": parsed.host,
            "port": parsed.port,
            "db": parsed.database,
            "username": parsed.username or "",
        }


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kwargs(request, tmp_path):
    with database(request.param, tmp_path) as kwargs:
        yield kwargs


def turn(tracker, n: int, text: str) -> list:
    """The events one turn adds, with fixed timestamps so two runs are comparable."""
    ts = 1_700_000_000.0 + n * 10
    return [
        UserUttered(
            text,
            {"name": "ask_policy", "confidence": 0.9},
            [{"entity": "program", "value": "高龄津贴", "start": 0, "end": 2}],
            timestamp=ts,
        ),
        ActionExecuted("action_answer_policy", timestamp=ts + 1),
        SlotSet("program", "高龄津贴", timestamp=ts + 2),
        BotUttered(f"第{n}次回答", timestamp=ts + 3),
        ActionExecuted("action_listen", timestamp=ts + 4),
    ]


async def converse(store, sender: str, turns: int) -> None:
    """What Rasa's MessageProcessor does per turn: fetch, add the user's message, save,
    run actions, save again."""
    for n in range(turns):
        tracker = await store.get_or_create_tracker(sender)
        if n == 0:
            tracker.update(ActionExecuted("action_session_start", timestamp=1_699_999_999.0))
            tracker.update(SessionStarted(timestamp=1_699_999_999.5))
            tracker.update(ActionExecuted("action_listen", timestamp=1_699_999_999.7))
        events = turn(tracker, n, f"高龄补贴 {n}")
        tracker.update(events[0])
        await store.save(tracker)
        for event in events[1:]:
            tracker.update(event)
        await store.save(tracker)


def stored_rows(store) -> list[tuple]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT sender_id, type_name, intent_name, action_name, data FROM events ORDER BY id")
        ).fetchall()
    return [tuple(r) for r in rows]


def test_stores_exactly_what_rasa_stores(db_kwargs, tmp_path):
    ours = CachingSQLTrackerStore(domain=DOMAIN, **db_kwargs)
    plain = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "plain.db"))
    run(converse(ours, "elder-1", 6))
    run(converse(plain, "elder-1", 6))

    def without_ts(rows):
        import json

        out = []
        for sender, type_name, intent, action, data in rows:
            d = json.loads(data)
            d.pop("timestamp", None)  # the initial action_listen is stamped at creation
            out.append((sender, type_name, intent, action, d))
        return out

    assert without_ts(stored_rows(ours)) == without_ts(stored_rows(plain))
    mine = run(ours.retrieve("elder-1")).current_state(EventVerbosity.ALL)
    theirs = run(plain.retrieve("elder-1")).current_state(EventVerbosity.ALL)
    assert mine["slots"] == theirs["slots"]
    assert [e["event"] for e in mine["events"]] == [e["event"] for e in theirs["events"]]
    # 6 turns: after the first (a session start: read back from the DB) the cache serves
    assert ours.cache_hits >= 4


def test_a_second_worker_writing_is_seen(db_kwargs):
    worker_a = CachingSQLTrackerStore(domain=DOMAIN, **db_kwargs)
    worker_b = CachingSQLTrackerStore(domain=DOMAIN, **db_kwargs)
    run(converse(worker_a, "elder-2", 3))
    cached = run(worker_a.retrieve("elder-2"))
    before = len(cached.events)

    tracker_b = run(worker_b.retrieve("elder-2"))
    for event in turn(tracker_b, 7, "我妈八十五了"):
        tracker_b.update(event)
    run(worker_b.save(tracker_b))

    hits = worker_a.cache_hits
    seen_by_a = run(worker_a.retrieve("elder-2"))
    assert worker_a.cache_hits == hits, "served a tracker the other worker had changed"
    assert len(seen_by_a.events) == before + 5
    assert seen_by_a.latest_message.text == "我妈八十五了"


def test_unsaved_changes_are_not_served(db_kwargs):
    store = CachingSQLTrackerStore(domain=DOMAIN, **db_kwargs)
    run(converse(store, "elder-3", 3))
    tracker = run(store.retrieve("elder-3"))
    stored = len(tracker.events)
    tracker.update(UserUttered("这句没存", {"name": "greet", "confidence": 1.0}))  # a turn that died
    again = run(store.retrieve("elder-3"))
    assert again is not tracker
    assert len(again.events) == stored
    assert again.latest_message.text != "这句没存"


def test_failed_save_leaves_nothing_and_is_not_cached(tmp_path):
    db = tmp_path / "tracker.db"
    store = CachingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    run(converse(store, "elder-4", 2))
    tracker = run(store.retrieve("elder-4"))
    stored = len(tracker.events)
    with sqlite3.connect(db) as conn:  # the database refuses the next write
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    for event in turn(tracker, 9, "帮我约个助浴"):
        tracker.update(event)
    with pytest.raises(sa.exc.DatabaseError):
        run(store.save(tracker))
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER refuse")
    again = run(store.retrieve("elder-4"))
    assert again is not tracker
    assert len(again.events) == stored


def test_new_session_is_read_back_from_the_database(db_kwargs):
    store = CachingSQLTrackerStore(domain=DOMAIN, **db_kwargs)
    run(converse(store, "elder-5", 2))
    tracker = run(store.retrieve("elder-5"))
    # the new session starts after the conversation's own events (Rasa stamps those with
    # the system clock, which make test-shifted-clocks moves; a fixed date could be earlier)
    later = max(e.timestamp for e in tracker.events) + 3600
    tracker.update(ActionExecuted("action_session_start", timestamp=later))
    tracker.update(SessionStarted(timestamp=later + 0.5))
    tracker.update(ActionExecuted("action_listen", timestamp=later + 1))
    run(store.save(tracker))
    fresh = run(store.retrieve("elder-5"))
    assert fresh is not tracker
    # what Rasa's own store reads from the same database: the latest session only
    rasa_view = run(SQLTrackerStore(domain=DOMAIN, **db_kwargs).retrieve("elder-5"))
    assert [e.as_dict() for e in fresh.events] == [e.as_dict() for e in rasa_view.events]
    assert fresh.events[0].type_name == "session_started"


def test_cache_is_bounded(tmp_path):
    store = CachingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"), cache_size=3)
    for k in range(6):
        run(converse(store, f"elder-{k}", 2))
    assert len(store._cache) == 3


def test_idle_conversations_are_read_again(tmp_path):
    store = CachingSQLTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"), cache_seconds=0
    )
    run(converse(store, "elder-7", 3))
    tracker = run(store.retrieve("elder-7"))
    assert run(store.retrieve("elder-7")) is not tracker
    assert store.cache_hits == 0


def test_new_domain_empties_the_cache(tmp_path):
    store = CachingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    run(converse(store, "elder-6", 2))
    assert store._cache
    store.domain = DOMAIN
    assert not store._cache


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = CachingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert "ix_events_sender_id_id" in {i["name"] for i in sa.inspect(store.engine).get_indexes("events")}


def test_both_profiles_configure_this_store(monkeypatch, tmp_path):
    from scripts.render_endpoints import TRACKER_STORE, render

    assert TRACKER_STORE == "rasa_ext.tracker_store.CachingSQLTrackerStore"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/service.db")
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    monkeypatch.setenv("TRACKER_CACHE_SIZE", "7")
    embedded = render()["tracker_store"]
    assert embedded["type"] == TRACKER_STORE and embedded["cache_size"] == 7
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u:p@db.example:5433/elder")
    production = render()["tracker_store"]
    assert production["type"] == TRACKER_STORE
    assert (production["url"], production["port"], production["db"]) == ("db.example", 5433, "elder")


@pytest.mark.e2e
def test_running_rasa_uses_it_and_stores_each_event_once(stack, sender):
    """Through the real stack: Rasa loaded this store (WAL mode and its index are on the
    stack's tracker database) and a conversation's events are each stored once."""
    messages = ["你好", "高龄补贴怎么领", "我妈今年八十五岁", "谢谢"]
    for text in messages:
        assert stack.chat_text(sender, text)
    engine = sa.create_engine(stack.database_url)  # the embedded profile keeps both in one file
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("events")}
        user_texts = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT json_extract(data, '$.text') FROM events "
                    "WHERE sender_id = :s AND type_name = 'user' ORDER BY id"
                ),
                {"s": stack.conversation(sender)},
            )
        ]
        starts = conn.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'session_started'"),
            {"s": stack.conversation(sender)},
        ).scalar()
    engine.dispose()
    assert "ix_events_sender_id_id" in indexes
    assert user_texts == messages
    assert starts == 1


@pytest.mark.postgres
def test_postgres_tracker_store_has_the_service_timeouts(tmp_path):
    """A locked row must not hold a caller's turn: the Rasa tracker store gets the same
    statement and lock timeouts as the service database (bot/db.py)."""
    with database("postgresql", tmp_path) as kwargs:
        store = CachingSQLTrackerStore(Domain.empty(), **kwargs)
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "5s"
            assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "3s"


def _open_store(kwargs, barrier, results):
    try:
        barrier.wait(timeout=30)
        CachingSQLTrackerStore(Domain.empty(), **kwargs)
        results.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(repr(exc)[:300])


@pytest.mark.postgres
def test_workers_starting_together_on_a_new_database_all_start(tmp_path):
    """SANIC_WORKERS > 1: every worker opens the store at the same moment on a fresh
    database. CREATE INDEX IF NOT EXISTS alone races in PostgreSQL (a worker died of a
    UniqueViolation in CI); the advisory lock makes them take turns."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for _ in range(10):  # without the lock about one round in five lost a worker
        with database("postgresql", tmp_path) as kwargs:
            barrier, results = ctx.Barrier(4), ctx.Queue()
            workers = [ctx.Process(target=_open_store, args=(kwargs, barrier, results)) for _ in range(4)]
            for w in workers:
                w.start()
            outcomes = [results.get(timeout=120) for _ in workers]
            for w in workers:
                w.join(timeout=30)
            assert outcomes == ["ok"] * 4


def test_the_rasa_process_masks_personal_data_in_its_logs(caplog):
    import rasa_ext.tracker_store  # noqa: F401  (loading it installs the masking, as in Rasa)

    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.core.processor").info("user said 13800000001 and 025-80000001")
    assert "13800000001" not in caplog.text and "80000001" not in caplog.text
