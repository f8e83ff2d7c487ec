"""Settings from environment variables (see .env.example for the full list).

Defaults give the embedded profile: SQLite files under var/, everything on localhost.

This module is the one place that reads the environment: code elsewhere calls
`get_settings()` where it uses a value (never at import time, so tests can change it).
Two reads stay outside, each for a reason given there: bot/clock.py (CLOCK_NOW, the
pinned clock, read per call) and server/call_simulator.py (a command-line client with
its own options). tests/test_config.py fails when a new read appears anywhere else, or
when a variable read here is missing from .env.example.

`use_settings(settings)` makes `get_settings()` return given settings instead, in this
thread and context only: `create_app(settings)` (server/__init__.py) runs each of its
requests and commands inside it, so one process can hold apps on different databases.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# Public, so it may only sign sessions, chat ids and buttons on a server nobody else reaches.
DEV_SECRET_KEY = "dev-only-change-me"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Values of an on/off switch that turn it off (RATE_LIMITS, VOICE_RECORDING_NOTICE)
OFF_WORDS = ("off", "0", "false", "no")


class SettingsError(ValueError):
    """A variable holds a value that cannot be used; the message names the variable."""


def _raw(name: str) -> str | None:
    """The one read of one environment variable (None: not set)."""
    return os.environ.get(name)


def _raw_prefixed(prefix: str) -> dict[str, str]:
    """Every variable whose name starts with `prefix`, by name."""
    return {name: value for name, value in os.environ.items() if name.startswith(prefix)}


def _env(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None or value == "" else value


def _env_seconds(name: str, default: float) -> float:
    """A positive number of seconds; a missing, unreadable or non-positive value is the default."""
    try:
        value = float(_env(name, str(default)))
    except ValueError:
        return default
    return value if value > 0 else default


def _env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_switch(name: str) -> bool:
    """On unless set to one of OFF_WORDS."""
    return _env(name, "on").strip().lower() not in OFF_WORDS


def _env_int(name: str, default: int) -> int:
    """A whole number; missing or empty is the default, anything else unreadable is refused."""
    value = _env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a whole number") from None


def _env_count(name: str, default: int) -> int:
    """A whole number >= 0; a missing, unreadable or negative value is the default (logged)."""
    value = _env(name, str(default))
    try:
        number = int(value)
    except ValueError:
        _warn_once(name, value, default)
        return default
    return number if number >= 0 else default


def _env_int_between(name: str, default: int, low: int, high: int) -> int:
    """Digits only, from `low` to `high`; anything else is the default."""
    value = _env(name).strip()
    return int(value) if value.isdigit() and low <= int(value) <= high else default


def _env_float_or_none(name: str) -> float | None:
    """A number, or None when missing or unreadable (the user of the value has the default)."""
    value = _env(name)
    try:
        return float(value) if value else None
    except ValueError:
        return None


@functools.lru_cache(maxsize=64)
def _warn_once(name: str, value: str, default: int) -> None:
    log.warning("%s is not a whole number; using %s", name, default)


def _var_dir() -> Path:
    return Path(_env("VAR_DIR", str(PROJECT_ROOT / "var")))


@dataclass(frozen=True)
class Settings:
    """Every variable of .env.example that the Python code reads, typed, with its default."""

    # var/ of the embedded profile: SQLite files, generated keys, caches, rendered configs
    var_dir: Path = field(default_factory=_var_dir)
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL", f"sqlite:///{_var_dir() / 'service.db'}")
    )
    tracker_store_url: str = field(
        default_factory=lambda: _env(
            "TRACKER_STORE_URL", _env("DATABASE_URL", f"sqlite:///{_var_dir() / 'tracker.db'}")
        )
    )
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL"))
    # conversations each Rasa worker keeps in memory (rasa_ext/tracker_store.py); 0 turns it off
    tracker_cache_size: int = field(default_factory=lambda: _env_int("TRACKER_CACHE_SIZE", 200))
    rasa_url: str = field(default_factory=lambda: _env("RASA_URL", "http://127.0.0.1:5005"))
    action_server_url: str = field(default_factory=lambda: _env("ACTION_SERVER_URL", "http://127.0.0.1:5055"))
    # Shared secrets of the internal servers (both listen on 127.0.0.1 only): the web server
    # sends RASA_AUTH_TOKEN to Rasa's HTTP API; Rasa sends ACTION_SERVER_SECRET to the action
    # server in the X-Action-Secret header. `make run` generates both into var/internal.env.
    rasa_auth_token: str = field(default_factory=lambda: _env("RASA_AUTH_TOKEN"))
    action_server_secret: str = field(default_factory=lambda: _env("ACTION_SERVER_SECRET"))
    rasa_timeout_seconds: float = field(default_factory=lambda: float(_env("RASA_TIMEOUT_SECONDS", "10")))
    policy_region: str = field(default_factory=lambda: _env("POLICY_REGION", "demo_district"))
    policies_dir: Path = field(
        default_factory=lambda: Path(_env("POLICIES_DIR", str(PROJECT_ROOT / "policies")))
    )
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", DEV_SECRET_KEY))
    # Where the web server listens (Procfile); the development key is refused unless it is
    # the loopback address only.
    web_bind: str = field(default_factory=lambda: _env("WEB_BIND", "127.0.0.1"))
    public_base_url: str = field(default_factory=lambda: _env("PUBLIC_BASE_URL"))
    twilio_account_sid: str = field(default_factory=lambda: _env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: str = field(default_factory=lambda: _env("TWILIO_AUTH_TOKEN"))
    twilio_from_number: str = field(default_factory=lambda: _env("TWILIO_FROM_NUMBER"))
    # Twilio's REST address; empty = https://api.twilio.com (tests play Twilio on localhost)
    twilio_api_url: str = field(default_factory=lambda: _env("TWILIO_API_URL"))
    twilio_validate_signature: bool = field(
        default_factory=lambda: _env_bool("TWILIO_VALIDATE_SIGNATURE", True)
    )
    # Which SMS sender (bot/contact/sms.py, bot/contact/sms_senders.py): "twilio" (the default: Twilio when
    # its three credentials are set) or "template" (a mainland provider such as Aliyun or
    # Tencent SMS: an approved template code plus parameters, see bot/sms_templates.yml).
    # Without the chosen provider's credentials every SMS stays in the outbox table.
    sms_provider: str = field(default_factory=lambda: _env("SMS_PROVIDER", "twilio").strip().lower())
    sms_template_api_url: str = field(default_factory=lambda: _env("SMS_TEMPLATE_API_URL"))
    # Sent as "Authorization: Bearer <key>"
    sms_template_api_key: str = field(default_factory=lambda: _env("SMS_TEMPLATE_API_KEY"))
    # The approved signature (签名); the provider puts it in front of the text as 【...】
    sms_template_sign_name: str = field(
        default_factory=lambda: _env("SMS_TEMPLATE_SIGN_NAME", "12349养老服务")
    )
    sms_template_timeout_seconds: float = field(
        default_factory=lambda: _env_seconds("SMS_TEMPLATE_TIMEOUT_SECONDS", 10.0)
    )
    # The provider's code of each approved template, SMS_TEMPLATE_CODE_<KIND>=SMS_123456789
    # (kinds and wording: bot/sms_templates.yml), as (kind, code) pairs
    sms_template_codes: tuple[tuple[str, str], ...] = field(
        default_factory=lambda: tuple(
            sorted(
                (name[len("SMS_TEMPLATE_CODE_") :].lower(), value.strip())
                for name, value in _raw_prefixed("SMS_TEMPLATE_CODE_").items()
                if value.strip()
            )
        )
    )
    # Where transfers go: a phone number, a queue/extension number or a SIP address
    # (sip:advisors@pbx.example.cn); server/telephony/advisor_line.py reads it.
    advisor_phone_number: str = field(default_factory=lambda: _env("ADVISOR_PHONE_NUMBER"))
    # Empty: the region's advisor calendar (policies/<region>/advisor_calendar.yml, with the
    # public holidays); set (08:00-20:00[,…]): these hours every day instead.
    advisor_hours: str = field(default_factory=lambda: _env("ADVISOR_HOURS"))
    hotline_number: str = field(default_factory=lambda: _env("HOTLINE_NUMBER", "12349"))
    # How long a web chat waits for an advisor to claim it before it is offered a callback
    # (bot/contact/live_chat.py)
    web_handoff_wait_seconds: float = field(
        default_factory=lambda: _env_seconds("WEB_HANDOFF_WAIT_SECONDS", 180.0)
    )
    # The district's telephone area code: registry files may give landlines without it
    local_area_code: str = field(default_factory=lambda: _env("LOCAL_AREA_CODE", "025"))
    # How many weeks ahead capacity windows are kept (bot/registry/capacity.py)
    capacity_weeks_ahead: int = field(default_factory=lambda: _env_int("CAPACITY_WEEKS_AHEAD", 6))
    # When the evening-before visit reminders go out, China time HH:MM (bot/outreach/)
    reminder_time: str = field(default_factory=lambda: _env("REMINDER_TIME", "18:00"))
    checkin_time: str = field(default_factory=lambda: _env("CHECKIN_TIME", "10:00"))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))

    # --- database timeouts (bot/db.py); unreadable or negative: the default, logged ---
    db_busy_timeout_ms: int = field(default_factory=lambda: _env_count("DB_BUSY_TIMEOUT_MS", 5000))
    db_statement_timeout_ms: int = field(default_factory=lambda: _env_count("DB_STATEMENT_TIMEOUT_MS", 5000))
    db_lock_timeout_ms: int = field(default_factory=lambda: _env_count("DB_LOCK_TIMEOUT_MS", 3000))
    db_connect_timeout_seconds: int = field(
        default_factory=lambda: _env_count("DB_CONNECT_TIMEOUT_SECONDS", 5)
    )
    db_pool_timeout_seconds: int = field(default_factory=lambda: _env_count("DB_POOL_TIMEOUT_SECONDS", 5))

    # --- the action server (actions/server.py) ---
    action_threads: int = field(default_factory=lambda: _env_int("ACTION_THREADS", 8))
    actions_host: str = field(default_factory=lambda: _env("ACTIONS_HOST", "127.0.0.1"))
    actions_port: int = field(default_factory=lambda: _env_int("ACTIONS_PORT", 5055))

    # --- demo data and keys (bot/profile.py, bot/demo/console.py, bot/registry/crypto.py) ---
    # DEMO_DATA=allow: a test or staging stack on PostgreSQL may hold the demo data
    demo_data_allowed: bool = field(default_factory=lambda: _env("DEMO_DATA").strip().lower() == "allow")
    # named after their variables: bot/demo/console.py reads them by variable name
    demo_advisor_password: str = field(repr=False, default_factory=lambda: _env("DEMO_ADVISOR_PASSWORD"))
    demo_admin_password: str = field(repr=False, default_factory=lambda: _env("DEMO_ADMIN_PASSWORD"))
    # Fernet key of ID numbers at rest; empty: the embedded profile's generated key file
    registry_key: str = field(repr=False, default_factory=lambda: _env("REGISTRY_KEY").strip())
    retention_days: int = field(default_factory=lambda: _env_int("RETENTION_DAYS", 180))

    # --- policy retrieval's meaning signal (bot/policy/search.py, bot/policy/meaning.py) ---
    policy_meaning: bool = field(
        default_factory=lambda: _env("POLICY_MEANING", "on").strip().lower() != "off"
    )
    policy_embeddings_dir: Path = field(
        default_factory=lambda: Path(_env("POLICY_EMBEDDINGS_DIR", str(PROJECT_ROOT / "var" / "cache")))
    )

    # --- web server (server/) ---
    max_content_length: int = field(default_factory=lambda: _env_int("MAX_CONTENT_LENGTH", 256 * 1024))
    # None: Secure cookies in the production profile only (server/advisor/__init__.py)
    session_cookie_secure: bool | None = field(
        default_factory=lambda: (
            _env_bool("SESSION_COOKIE_SECURE", True) if _env("SESSION_COOKIE_SECURE").strip() else None
        )
    )
    console_session_hours: int = field(default_factory=lambda: _env_int("CONSOLE_SESSION_HOURS", 8))
    widget_allowed_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            o.strip().rstrip("/") for o in _env("WIDGET_ALLOWED_ORIGINS").split(",") if o.strip()
        )
    )

    # --- traffic limits (bot/ratelimit.py, server/api/chat.py, bot/contact/handoff.py) ---
    rate_limits_on: bool = field(default_factory=lambda: _env_switch("RATE_LIMITS"))
    chat_turns_per_minute: int = field(default_factory=lambda: _env_int("CHAT_TURNS_PER_MINUTE", 30))
    chat_turns_per_minute_per_address: int = field(
        default_factory=lambda: _env_int("CHAT_TURNS_PER_MINUTE_PER_ADDRESS", 240)
    )
    chat_updates_per_minute: int = field(default_factory=lambda: _env_int("CHAT_UPDATES_PER_MINUTE", 60))
    chat_updates_per_minute_per_address: int = field(
        default_factory=lambda: _env_int("CHAT_UPDATES_PER_MINUTE_PER_ADDRESS", 480)
    )
    web_handoffs_per_hour_per_address: int = field(
        default_factory=lambda: _env_int("WEB_HANDOFFS_PER_HOUR_PER_ADDRESS", 10)
    )

    # --- telephony: Twilio REST, voice wording (server/telephony/) ---
    twilio_timeout_seconds: float = field(
        default_factory=lambda: _env_seconds("TWILIO_TIMEOUT_SECONDS", 10.0)
    )
    # empty: the adapter's own default (server/telephony/twilio_adapter.py)
    twilio_voice: str = field(default_factory=lambda: _env("TWILIO_VOICE"))
    voice_speech_rate: str = field(default_factory=lambda: _env("VOICE_SPEECH_RATE"))
    twilio_speech_model: str = field(default_factory=lambda: _env("TWILIO_SPEECH_MODEL"))
    # Older callers take a moment to start speaking: 8 s before a silence counts (1-30)
    voice_input_timeout_seconds: int = field(
        default_factory=lambda: _env_int_between("VOICE_INPUT_TIMEOUT_SECONDS", 8, 1, 30)
    )
    # A pause this long ends what the caller says (1-10)
    voice_speech_end_seconds: int = field(
        default_factory=lambda: _env_int_between("VOICE_SPEECH_END_SECONDS", 3, 1, 10)
    )
    # None: server/telephony/dialogue.py's CONFIRM_BELOW
    voice_confirm_below: float | None = field(
        default_factory=lambda: _env_float_or_none("VOICE_CONFIRM_BELOW")
    )
    voice_recording_notice: bool = field(default_factory=lambda: _env_switch("VOICE_RECORDING_NOTICE"))

    # --- telephony: FreeSWITCH (server/telephony/freeswitch_adapter.py has the defaults) ---
    freeswitch_httapi_user: str = field(default_factory=lambda: _env("FREESWITCH_HTTAPI_USER"))
    freeswitch_httapi_password: str = field(
        repr=False, default_factory=lambda: _env("FREESWITCH_HTTAPI_PASSWORD")
    )
    freeswitch_tts_engine: str = field(default_factory=lambda: _env("FREESWITCH_TTS_ENGINE"))
    freeswitch_tts_voice: str = field(default_factory=lambda: _env("FREESWITCH_TTS_VOICE"))
    # None when unset (the adapter's default); set but empty means no speech recognition
    freeswitch_asr_engine: str | None = field(default_factory=lambda: _raw("FREESWITCH_ASR_ENGINE"))
    freeswitch_asr_grammar: str = field(default_factory=lambda: _env("FREESWITCH_ASR_GRAMMAR"))
    freeswitch_bridge: str = field(default_factory=lambda: _env("FREESWITCH_BRIDGE"))
    freeswitch_sip_profile: str = field(default_factory=lambda: _env("FREESWITCH_SIP_PROFILE"))

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def template_sms_configured(self) -> bool:
        return bool(self.sms_template_api_url and self.sms_template_api_key)


_in_force: ContextVar[Settings | None] = ContextVar("settings_in_force", default=None)


def get_settings() -> Settings:
    """The settings of a `use_settings` block around this call (an app built with
    `create_app(settings)`); otherwise fresh from the current environment (cheap; tests
    change the environment)."""
    return _in_force.get() or Settings()


@contextlib.contextmanager
def use_settings(settings: Settings | None) -> Iterator[None]:
    """`get_settings()` returns `settings` inside this block, in this thread and context;
    None changes nothing (the environment, read at each use)."""
    if settings is None:
        yield
        return
    token = _in_force.set(settings)
    try:
        yield
    finally:
        _in_force.reset(token)
