"""The production profile (DATABASE_URL on PostgreSQL, bot/profile.py) refuses the demo
data: `python -m bot.manage init` does not load the demo people, `demo` refuses, and the web
server does not start while demo people or demo accounts are in the database (one clear
operator log line). DEMO_DATA=allow is the test/staging escape, logged as a warning.

Most tests force the profile on a SQLite database; the last ones run on a real PostgreSQL
(skipped with the reason when it does not answer)."""

from __future__ import annotations

import logging
import os

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from bot import profile
from bot.console_users import create_user
from bot.db import session_scope
from bot.manage import main as manage_main
from bot.manage import migrate
from bot.models import Elder
from tests.stack import ROOT, run_python


@pytest.fixture
def production(monkeypatch):
    """The production profile on whatever database the test uses."""
    monkeypatch.setattr(profile, "production_profile", lambda database_url=None: True)
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-0123456789")
    monkeypatch.delenv("DEMO_DATA", raising=False)
    for name in profile.DEMO_PASSWORD_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def empty_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def elders() -> int:
    with session_scope() as s:
        return s.execute(select(func.count(Elder.id))).scalar_one()


def start_web():
    from server import create_app

    return create_app({"TESTING": True})


def test_init_migrates_but_loads_no_demo_people_in_production(production, empty_db, caplog):
    with caplog.at_level(logging.INFO):
        assert manage_main(["init"]) == 0
    assert elders() == 0
    assert any(
        "production profile" in r.getMessage() and "demo data not loaded" in r.getMessage()
        for r in caplog.records
    )


def test_demo_command_refuses_in_production(production, empty_db, caplog):
    migrate(empty_db)
    with caplog.at_level(logging.ERROR):
        assert manage_main(["demo"]) == 2
    assert elders() == 0
    assert any("refusing to load demo data" in r.getMessage() for r in caplog.records)


def test_embedded_profile_still_loads_the_demo(empty_db, monkeypatch):
    monkeypatch.delenv("DEMO_DATA", raising=False)
    assert manage_main(["init"]) == 0
    assert elders() == 5


def test_web_server_refuses_to_start_with_demo_people(production, db_url, caplog):
    with caplog.at_level(logging.CRITICAL), pytest.raises(profile.DemoDataRefused):
        start_web()
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert line.startswith("refusing to start: production profile") and "5 demo people" in line
    assert "13800000001" not in line and "张桂兰" not in line


def test_web_server_refuses_to_start_with_a_demo_account(production, empty_db, monkeypatch):
    migrate(empty_db)
    monkeypatch.setenv("DEMO_ADVISOR_PASSWORD", "demo-advisor-2024")
    from bot.demo.console import load_console_users

    with session_scope() as s:
        load_console_users(s)
    monkeypatch.delenv("DEMO_ADVISOR_PASSWORD")
    with pytest.raises(profile.DemoDataRefused, match="demo account 'advisor'"):
        start_web()


def test_web_server_refuses_demo_passwords_in_the_environment(production, empty_db, monkeypatch):
    migrate(empty_db)
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-admin-2024")
    with pytest.raises(profile.DemoDataRefused, match="DEMO_ADMIN_PASSWORD is set"):
        start_web()


def test_real_people_and_accounts_start(production, empty_db):
    migrate(empty_db)
    with session_scope() as s:
        create_user(s, "wangli", "advisor-pass-2024", display_name="王丽")
        create_user(s, "admin", "admin-pass-2024-x", role="admin", display_name="李主任")
    assert start_web() is not None


def test_demo_data_allow_is_the_staging_escape(production, db_url, monkeypatch, caplog):
    monkeypatch.setenv("DEMO_DATA", "allow")
    with caplog.at_level(logging.WARNING):
        assert start_web() is not None
    assert any("DEMO_DATA=allow" in r.getMessage() for r in caplog.records)


# --- on a real PostgreSQL -------------------------------------------------------------------


@pytest.mark.postgres
def test_on_postgresql_init_and_start_up_refuse_the_demo(monkeypatch):
    from tests.pg import postgres_available, temporary_database

    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    monkeypatch.delenv("DEMO_DATA", raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-0123456789")
    with temporary_database("elder_demo") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        env = {k: v for k, v in os.environ.items() if k != "DEMO_DATA"}
        env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT))
        init = run_python(["-m", "bot.manage", "init"], env)
        assert init.returncode == 0, init.stderr
        assert "demo data not loaded" in init.stderr
        demo = run_python(["-m", "bot.manage", "demo"], env)
        assert demo.returncode == 2 and "refusing to load demo data" in demo.stderr
        engine = sa.create_engine(url, future=True)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM elders")).scalar_one() == 0
        engine.dispose()
        assert start_web() is not None  # migrated, no demo: starts
        from bot.demo import loader as demo_data

        demo_data.load_if_empty(url)  # as if a staging database were promoted to production
        with pytest.raises(profile.DemoDataRefused, match="5 demo people"):
            start_web()
