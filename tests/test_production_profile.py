"""The production profile: DATABASE_URL on PostgreSQL (service DB + Rasa tracker store),
REDIS_URL for Rasa's lock store so several Rasa workers run. Skipped, with the reason,
when PostgreSQL or Redis do not answer on localhost."""

from __future__ import annotations

import psutil
import requests
import pytest
import sqlalchemy as sa
import yaml

from tests.pg import REDIS_TEST_URL, postgres_available, redis_available, temporary_database
from tests.stack import MODEL, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def prod_stack(tmp_path_factory):
    for reason in (postgres_available(), redis_available()):
        if reason:
            pytest.skip(reason)
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}")
    with temporary_database() as url:
        workdir = tmp_path_factory.mktemp("prod")
        s = Stack(
            workdir=workdir, database_url=url, extra_env={"REDIS_URL": REDIS_TEST_URL, "SANIC_WORKERS": "2"}
        )
        try:
            s.start()
            yield s
        finally:
            s.stop()


def test_endpoints_render_postgres_tracker_and_redis_lock_store(prod_stack):
    endpoints = yaml.safe_load((prod_stack.workdir / "endpoints.yml").read_text())
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "redis"


def test_chat_uses_postgres_for_service_db_and_tracker_store(prod_stack, sender):
    replies = prod_stack.chat(sender, "你好")
    assert "12349" in replies[0]["text"]
    replies = prod_stack.chat(sender, "转人工", metadata={"phone": "13800000002"})
    assert replies[0]["custom"]["action"] == "handoff"
    engine = sa.create_engine(prod_stack.database_url, future=True)
    with engine.connect() as conn:
        conversation = prod_stack.conversation(sender)
        handoff = conn.execute(
            sa.text("SELECT h.kind, h.elder_id FROM handoffs h WHERE h.sender_id = :s"), {"s": conversation}
        ).one()
        events = conn.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": conversation}
        ).scalar_one()
    engine.dispose()
    assert tuple(handoff) == ("request_human", None)  # the claimed number is ignored
    assert events >= 4  # Rasa's own tracker rows for this conversation live in PostgreSQL


def test_several_rasa_workers_run_with_the_redis_lock_store(prod_stack):
    rasa = psutil.Process(prod_stack.processes["rasa"].popen.pid)
    workers = [
        c
        for c in rasa.children(recursive=True)
        if "python" in c.name().lower() or "rasa" in " ".join(c.cmdline())
    ]
    assert len(workers) >= 2, f"expected 2 Sanic workers, saw {len(workers)}"


def _set_connections(database_url: str, allowed: bool) -> None:
    from tests.pg import PG_ADMIN_URL

    name = database_url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
    admin.dispose()


def test_database_outage_is_polite_and_recovers_without_restart(prod_stack, sender):
    _set_connections(prod_stack.database_url, allowed=False)
    try:
        r = requests.post(
            prod_stack.web_url + "/api/chat", json={"sender": sender, "message": "转人工"}, timeout=60
        )
        assert r.status_code == 200
        text = r.json()["replies"][0]["text"]
        assert "不好意思" in text and "转人工" in text
        health = requests.get(prod_stack.web_url + "/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["checks"]["database"] == "down"
    finally:
        _set_connections(prod_stack.database_url, allowed=True)
    replies = prod_stack.chat(sender + "-back", "转人工")
    assert replies[0]["custom"]["action"] == "handoff"
    assert requests.get(prod_stack.web_url + "/healthz", timeout=30).status_code == 200
