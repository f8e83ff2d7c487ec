"""One configuration path (bot/config.py): every environment variable is read there, into
`Settings`, and listed in .env.example; `create_app(settings)` runs an app on the given
settings, database included, instead of the environment."""

from __future__ import annotations

import ast
import dataclasses
import re

import pytest
from flask.cli import FlaskGroup
from sqlalchemy import select

from bot import config
from bot.config import Settings, SettingsError, get_settings, use_settings
from bot.db import session_scope
from bot.manage import migrate
from bot.models.console import AdvisorUser
from tests.test_console_security import login

ROOT = config.PROJECT_ROOT
SCANNED = ("bot", "server", "actions", "rasa_ext", "scripts")
# Reads of the environment allowed outside bot/config.py, each with its reason.
JUSTIFIED = {
    # The one home of time: CLOCK_NOW is read at every call so tests and demos pin the clock
    # (tests/conftest.py, the pin_clock fixture, processes the e2e stack starts).
    "bot/clock.py": "CLOCK_NOW, read per call",
    # A command-line client of a running server (make call), not part of the service: its
    # CALL_URL and TWILIO_AUTH_TOKEN are option defaults, overridable on its command line.
    "server/call_simulator.py": "a CLI's option defaults",
}
PASSWORD = "advisor-pass-2024"


# --- no environment reads outside bot/config.py -------------------------------------------


def environment_reads(source: str) -> list[int]:
    """Lines of `source` that touch os.environ / os.environb / os.getenv (or import them)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"environ", "environb", "getenv"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            lines.append(node.lineno)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and {a.name for a in node.names} & {"environ", "environb", "getenv"}
        ):
            lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize(
    "source, found",
    [
        ("import os\nx = os.environ.get('A')\n", [2]),
        ("import os\n\nx = os.getenv('A', '1')\n", [3]),
        ("import os\nx = os.environ['A']\ny = dict(os.environ)\n", [2, 3]),
        ("from os import environ\nx = environ.get('A')\n", [1]),
        ("import os\nos.makedirs('x')\nenviron = {}\n", []),
    ],
)
def test_the_scan_finds_environment_reads(source, found):
    assert environment_reads(source) == found


def test_no_environment_read_outside_the_settings():
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name == "bot/config.py" or name in JUSTIFIED:
                continue
            found += [f"{name}:{line}" for line in environment_reads(path.read_text(encoding="utf-8"))]
    assert found == [], (
        f"read the variable in bot/config.py's Settings and use get_settings() where it is used: {found}"
    )
    for name in JUSTIFIED:  # an exception that no longer reads the environment goes
        assert environment_reads((ROOT / name).read_text(encoding="utf-8")), name


# --- every variable of Settings is in .env.example ---------------------------------------


def listed_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.M))


def variables_read_by(factory, monkeypatch) -> set[str]:
    names: set[str] = set()
    raw, prefixed = config._raw, config._raw_prefixed

    def record(name):
        names.add(name)
        return raw(name)

    def record_prefix(prefix):
        names.add(prefix + "*")
        return prefixed(prefix)

    with monkeypatch.context() as m:
        m.setattr(config, "_raw", record)
        m.setattr(config, "_raw_prefixed", record_prefix)
        factory()
    return names


def test_every_setting_is_in_env_example(monkeypatch):
    listed = listed_variables()
    missing = {}
    for f in dataclasses.fields(Settings):
        names = variables_read_by(f.default_factory, monkeypatch)
        assert names, f"Settings.{f.name} reads no variable"
        absent = [
            n
            for n in names
            if not (any(v.startswith(n[:-1]) for v in listed) if n.endswith("*") else n in listed)
        ]
        if absent:
            missing[f.name] = absent
    assert missing == {}, "add these to .env.example, each with a one-line comment"


# --- parsing: the same defaults and fallbacks as before, or a clear refusal -----------------


@pytest.mark.parametrize(
    "name, value, field, expected",
    [
        ("DB_BUSY_TIMEOUT_MS", "soon", "db_busy_timeout_ms", 5000),  # unreadable: the default
        ("DB_LOCK_TIMEOUT_MS", "-1", "db_lock_timeout_ms", 3000),  # negative: the default
        ("TWILIO_TIMEOUT_SECONDS", "0", "twilio_timeout_seconds", 10.0),
        ("VOICE_INPUT_TIMEOUT_SECONDS", "99", "voice_input_timeout_seconds", 8),  # out of 1-30
        ("VOICE_SPEECH_END_SECONDS", "5", "voice_speech_end_seconds", 5),
        ("VOICE_CONFIRM_BELOW", "often", "voice_confirm_below", None),  # dialogue's default then
        ("VOICE_RECORDING_NOTICE", "Off", "voice_recording_notice", False),
        ("RATE_LIMITS", "no", "rate_limits_on", False),
        ("POLICY_MEANING", "false", "policy_meaning", True),  # only "off" turns it off
        ("SESSION_COOKIE_SECURE", " ", "session_cookie_secure", None),
        ("SESSION_COOKIE_SECURE", "Yes", "session_cookie_secure", True),
        ("FREESWITCH_ASR_ENGINE", "", "freeswitch_asr_engine", ""),  # set but empty: keys only
        (
            "WIDGET_ALLOWED_ORIGINS",
            " https://a.example/ ,,https://b.example",
            "widget_allowed_origins",
            ("https://a.example", "https://b.example"),
        ),
        ("CHAT_TURNS_PER_MINUTE", "", "chat_turns_per_minute", 30),
    ],
)
def test_values_parse_as_before(monkeypatch, name, value, field, expected):
    monkeypatch.setenv(name, value)
    assert getattr(get_settings(), field) == expected


@pytest.mark.parametrize(
    "name", ["CHAT_TURNS_PER_MINUTE", "RETENTION_DAYS", "ACTION_THREADS", "MAX_CONTENT_LENGTH"]
)
def test_an_unreadable_number_is_refused_by_name(monkeypatch, name):
    monkeypatch.setenv(name, "many")
    with pytest.raises(SettingsError, match=f"{name}='many' is not a whole number"):
        get_settings()


def test_settings_are_read_at_use_not_at_import(monkeypatch):
    from bot import retention
    from bot.contact import handoff
    from server.api import chat as api

    monkeypatch.setenv("RETENTION_DAYS", "30")
    monkeypatch.setenv("WEB_HANDOFFS_PER_HOUR_PER_ADDRESS", "2")
    monkeypatch.setenv("CHAT_TURNS_PER_MINUTE", "7")
    assert retention.retention_days() == 30
    assert handoff.handoff_limiter().limit == 2
    assert api.chat_limiter().limit == 7
    monkeypatch.setenv("CHAT_TURNS_PER_MINUTE", "9")
    assert api.chat_limiter().limit == 9


def test_use_settings_holds_only_inside_its_block(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-the-environment.db")
    given = dataclasses.replace(get_settings(), database_url=f"sqlite:///{tmp_path / 'given.db'}")
    with use_settings(given):
        assert get_settings() is given
    assert get_settings().database_url == "sqlite:///from-the-environment.db"


# --- create_app(settings) ----------------------------------------------------------------


def test_two_apps_in_one_process_each_use_their_own_database(tmp_path, monkeypatch):
    from server import create_app

    # the environment names a third database that has no tables: neither app may use it
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'environment.db'}")
    urls = {name: f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("north", "south")}
    apps = {}
    for name, url in urls.items():
        migrate(url)
        apps[name] = create_app(
            dataclasses.replace(get_settings(), database_url=url), test_config={"TESTING": True}
        )
        assert apps[name].config["SETTINGS"].database_url == url
    # a CLI command of each app writes to that app's database
    for name, user in (("north", "alice"), ("south", "bob")):
        # as `flask --app server create-user` runs it: FlaskGroup pushes the app's context
        result = (
            apps[name]
            .test_cli_runner()
            .invoke(
                FlaskGroup(add_default_commands=False, load_dotenv=False),
                ["create-user", user],
                input=PASSWORD + "\n",
            )
        )
        assert result.exit_code == 0, result.output
    for name, user in (("north", "alice"), ("south", "bob")):
        with session_scope(urls[name]) as s:
            assert s.execute(select(AdvisorUser.username)).scalars().all() == [user]
    # requests of the two apps, interleaved, each log in against its own database
    north, south = apps["north"].test_client(), apps["south"].test_client()
    assert login(south, "alice", PASSWORD).status_code == 401  # no such user there
    assert login(north, "bob", PASSWORD).status_code == 401
    assert login(north, "alice", PASSWORD).status_code == 302
    assert login(south, "bob", PASSWORD).status_code == 302
    assert north.get("/advisor/").status_code == 200 and south.get("/advisor/").status_code == 200
    # and nothing of theirs is left in force outside their requests
    assert get_settings().database_url == f"sqlite:///{tmp_path / 'environment.db'}"


def test_create_app_without_settings_reads_the_environment(db_url, monkeypatch):
    from server import create_app

    monkeypatch.setenv("MAX_CONTENT_LENGTH", "1000")
    app = create_app({"TESTING": True})
    assert app.config["MAX_CONTENT_LENGTH"] == 1000
    with app.app_context():
        assert get_settings().database_url == db_url
    assert (
        app.test_client().post("/api/chat", data="x" * 2000, content_type="application/json").status_code
        == 413
    )
