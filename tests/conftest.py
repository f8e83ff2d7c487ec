"""Shared fixtures. The e2e stack is started once per test session on free ports with the
model that `make test` trained (models/current.tar.gz) and a fresh SQLite database.

The whole suite runs on one pinned clock, SUITE_NOW (China time), set here before any
test module is imported and inherited by every process the e2e stack starts. Tests about
calendar edges pin their own moment with the `pin_clock` fixture. `make test` also runs
the unit tests under shifted system clocks (faketime), so code that reads the wall clock
instead of bot/clock.py fails the day it is written.
"""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from bot import clock

# Monday 23 November 2026, 10:00 in China: a mid-month working day in office hours.
SUITE_NOW = "2026-11-23T10:00:00+08:00"
os.environ[clock.ENV_VAR] = SUITE_NOW
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# The registry key (ID numbers at rest) for this run, inherited by every process started
# here; tests of the key's own rules (bot/registry/crypto.py) unset it themselves.
os.environ.setdefault("REGISTRY_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())

from tests.stack import new_stack, started  # noqa: E402  (after the clock is pinned)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: starts the real Rasa, action and web servers")
    config.addinivalue_line("markers", "browser: drives headless Chromium")
    config.addinivalue_line("markers", "postgres: needs PostgreSQL on 127.0.0.1:5432")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with started(new_stack(tmp_path_factory, "stack")) as s:
        yield s


@pytest.fixture
def pin_clock(monkeypatch):
    """`pin_clock("2026-11-30T23:50")` moves this process's clock to that instant (China
    time unless an offset is given) for one test; returns the pinned datetime."""

    def pin(moment: str):
        monkeypatch.setenv(clock.ENV_VAR, moment)
        return clock.now()

    return pin


@pytest.fixture
def sender():
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    """A fresh, migrated SQLite service database with the demo data, for unit tests."""
    url = f"sqlite:///{tmp_path / 'unit.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    from bot.demo import loader as demo
    from bot.manage import migrate

    migrate(url)
    demo.load_if_empty(url)
    return url
