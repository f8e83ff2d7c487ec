"""Every outbound call has a bound, well below Twilio's 15 s webhook limit: database
statements and lock waits (SQLite busy timeout; PostgreSQL statement_timeout, lock_timeout
and connect timeout through the driver's options), the Twilio REST client; and the action
server runs actions (async def around blocking code) off its event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from sqlalchemy import select

from bot import db
from bot.models import SmsOutbox, SmsOptOut
from bot.config import Settings
from bot.contact.sms import send_sms

TWILIO_WEBHOOK_LIMIT = 15.0


@pytest.fixture
def fresh_engines():
    db.dispose_all()
    yield
    db.dispose_all()


# --- SQLite -------------------------------------------------------------------------------


def test_sqlite_busy_timeout_is_well_below_twilios_limit(db_url, fresh_engines):
    with db.get_engine().connect() as conn:
        busy_ms = conn.execute(sa.text("PRAGMA busy_timeout")).scalar_one()
    assert busy_ms == 5000 and busy_ms / 1000 < TWILIO_WEBHOOK_LIMIT / 2


def test_a_locked_sqlite_database_fails_fast_instead_of_hanging(db_url, fresh_engines, monkeypatch):
    monkeypatch.setenv("DB_BUSY_TIMEOUT_MS", "300")
    holder = sqlite3.connect(db_url.replace("sqlite:///", ""), timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            with db.session_scope() as s:
                s.add(SmsOptOut(number="13800000009"))
        assert time.monotonic() - started < 3
    finally:
        holder.rollback()
        holder.close()


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
def pg_url(fresh_engines, monkeypatch):
    from tests.pg import postgres_available, temporary_database

    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    with temporary_database("elder_timeouts") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.mark.postgres
def test_postgres_sessions_have_statement_and_lock_timeouts(pg_url):
    with db.get_engine(pg_url).connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar_one() == "5s"
        assert conn.execute(sa.text("SHOW lock_timeout")).scalar_one() == "3s"
    options = db.engine_options(pg_url)
    assert options["connect_args"]["connect_timeout"] == 5 and options["pool_timeout"] == 5
    with db.migration_engine(pg_url):  # migrations may take longer, locks still bounded
        with db.get_engine(pg_url).connect() as conn:
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar_one() == "10min"
            assert conn.execute(sa.text("SHOW lock_timeout")).scalar_one() == "10s"
    with db.get_engine(pg_url).connect() as conn:  # and the service engine is back
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar_one() == "5s"


@pytest.mark.postgres
def test_postgres_lock_wait_and_slow_statement_give_up(pg_url, monkeypatch):
    monkeypatch.setenv("DB_LOCK_TIMEOUT_MS", "400")
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "800")
    engine = db.get_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id int primary key, n int)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1, 0)"))
    other = sa.create_engine(pg_url, future=True)
    with other.connect() as holder:
        holder.execute(sa.text("BEGIN"))
        holder.execute(sa.text("UPDATE t SET n = n + 1 WHERE id = 1"))  # holds the row lock
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE t SET n = n + 1 WHERE id = 1"))
        assert time.monotonic() - started < 3
        holder.execute(sa.text("ROLLBACK"))
    other.dispose()
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(10)"))
    assert time.monotonic() - started < 3


# --- Twilio REST ----------------------------------------------------------------------------


class SlowTwilio:
    """Accepts the connection and answers only after `delay` seconds."""

    def __init__(self, delay: float):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                time.sleep(delay)
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"sid": "SMlate"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_twilio_rest_calls_time_out(db_url, monkeypatch):
    monkeypatch.delenv("TWILIO_TIMEOUT_SECONDS", raising=False)
    assert Settings().twilio_timeout_seconds < TWILIO_WEBHOOK_LIMIT  # the default
    slow = SlowTwilio(delay=4)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "ACfaketimeout")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "fake-token")
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
    monkeypatch.setenv("TWILIO_API_URL", slow.url)
    monkeypatch.setenv("TWILIO_TIMEOUT_SECONDS", "0.5")
    try:
        started = time.monotonic()
        row_id = send_sms("13800000001", "【12349养老服务】通知")
        assert time.monotonic() - started < 3
    finally:
        slow.close()
    with db.session_scope() as s:
        row = s.execute(select(SmsOutbox).where(SmsOutbox.id == row_id)).scalar_one()
        assert row.status == "failed" and row.error in ("ReadTimeout", "Timeout", "ConnectTimeout")


# --- the action server's event loop ---------------------------------------------------------


class BlockingAction(Action):
    """An `async def run` around blocking code, like ours (SQLAlchemy, Twilio)."""

    def name(self):
        return "action_blocking_test"

    async def run(self, dispatcher, tracker, domain):
        time.sleep(0.4)  # noqa: ASYNC251  (an action that blocks its event loop, on purpose)
        dispatcher.utter_message(text="好了")
        return []


CALL = {
    "next_action": "action_blocking_test",
    "sender_id": "s",
    "tracker": {
        "sender_id": "s",
        "slots": {},
        "latest_message": {},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    },
    "domain": {},
}


async def _ticks_while(executor, calls: int) -> tuple[int, float, list]:
    ticks = 0
    done = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.monotonic()
    results = await asyncio.gather(*(executor.run(dict(CALL)) for _ in range(calls)))
    elapsed = time.monotonic() - started
    done.set()
    await tick_task
    return ticks, elapsed, results


def test_rasa_sdk_runs_actions_on_the_event_loop():
    """Why the action server needs its own executor: rasa-sdk awaits `run` on the loop."""
    plain = ActionExecutor()
    plain.register_action(BlockingAction())
    ticks, elapsed, _ = asyncio.run(_ticks_while(plain, 2))
    assert elapsed >= 0.75 and ticks <= 5  # one after the other, the loop stood still


def test_the_action_server_runs_actions_in_worker_threads():
    from actions.server import ThreadedActionExecutor

    threaded = ThreadedActionExecutor()
    threaded.register_action(BlockingAction())
    ticks, elapsed, results = asyncio.run(_ticks_while(threaded, 2))
    assert elapsed < 0.75 and ticks >= 10  # side by side, and the loop kept serving
    assert all(r["responses"][0]["text"] == "好了" for r in results)


def test_the_action_server_app_is_built_with_the_threaded_executor(monkeypatch):
    from sanic import Sanic

    from actions.server import ThreadedActionExecutor, create_app

    monkeypatch.setattr(Sanic, "test_mode", True)  # the app name may be taken by another test
    app = create_app("test-secret")
    webhook = next(route.handler for route in app.router.routes if route.path.strip("/") == "webhook")
    executors = [
        cell.cell_contents
        for cell in webhook.__closure__ or ()
        if isinstance(cell.cell_contents, ActionExecutor)
    ]
    assert executors and all(isinstance(e, ThreadedActionExecutor) for e in executors)
    assert "action_handoff" in executors[0].actions  # our actions are registered
    import rasa_sdk.endpoint

    assert rasa_sdk.endpoint.ActionExecutor is ActionExecutor  # rasa-sdk itself untouched
