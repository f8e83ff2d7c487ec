"""The console's test client, logged in as an advisor on the `db_url` database; test modules
import it (`from tests.console_fixtures import advisor_client  # noqa: F401`) and use it as
the fixture `client`."""

from __future__ import annotations

import pytest

from bot.console_users import create_user
from bot.db import session_scope
from tests.test_console_security import login

PW = "advisor-pass-2024"


@pytest.fixture(name="client")
def advisor_client(db_url):
    with session_scope(db_url) as s:
        create_user(s, "wangli", PW)
    from server import create_app

    c = create_app({"TESTING": True}).test_client()
    assert login(c, "wangli", PW).status_code == 302
    return c
