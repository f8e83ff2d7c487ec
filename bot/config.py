"""Settings from environment variables (see .env.example for the full list).

Defaults give the embedded profile: SQLite files under var/, everything on localhost.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", PROJECT_ROOT / "var"))


# Public, so it may only sign sessions, chat ids and buttons on a server nobody else reaches.
DEV_SECRET_KEY = "dev-only-change-me"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _env(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _env_seconds(name: str, default: float) -> float:
    """A positive number of seconds; a missing, unreadable or non-positive value is the default."""
    try:
        value = float(_env(name, str(default)))
    except ValueError:
        return default
    return value if value > 0 else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env(
        "DATABASE_URL", f"sqlite:///{VAR_DIR / 'service.db'}"))
    tracker_store_url: str = field(default_factory=lambda: _env(
        "TRACKER_STORE_URL", _env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tracker.db'}")))
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL"))
    # conversations each Rasa worker keeps in memory (bot/tracker_store.py); 0 turns it off
    tracker_cache_size: int = field(default_factory=lambda: int(_env("TRACKER_CACHE_SIZE", "200")))
    rasa_url: str = field(default_factory=lambda: _env("RASA_URL", "http://127.0.0.1:5005"))
    action_server_url: str = field(default_factory=lambda: _env(
        "ACTION_SERVER_URL", "http://127.0.0.1:5055"))
    # Shared secrets of the internal servers (both listen on 127.0.0.1 only): the web server
    # sends RASA_AUTH_TOKEN to Rasa's HTTP API; Rasa sends ACTION_SERVER_SECRET to the action
    # server in the X-Action-Secret header. `make run` generates both into var/internal.env.
    rasa_auth_token: str = field(default_factory=lambda: _env("RASA_AUTH_TOKEN"))
    action_server_secret: str = field(default_factory=lambda: _env("ACTION_SERVER_SECRET"))
    rasa_timeout_seconds: float = field(default_factory=lambda: float(_env("RASA_TIMEOUT_SECONDS", "10")))
    policy_region: str = field(default_factory=lambda: _env("POLICY_REGION", "demo_district"))
    policies_dir: Path = field(default_factory=lambda: Path(_env(
        "POLICIES_DIR", str(PROJECT_ROOT / "policies"))))
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
    twilio_validate_signature: bool = field(default_factory=lambda: _env_bool(
        "TWILIO_VALIDATE_SIGNATURE", True))
    # Which SMS sender (bot/sms.py, bot/sms_senders.py): "twilio" (the default: Twilio when
    # its three credentials are set) or "template" (a mainland provider such as Aliyun or
    # Tencent SMS: an approved template code plus parameters, see bot/sms_templates.yml).
    # Without the chosen provider's credentials every SMS stays in the outbox table.
    sms_provider: str = field(default_factory=lambda: _env("SMS_PROVIDER", "twilio").strip().lower())
    sms_template_api_url: str = field(default_factory=lambda: _env("SMS_TEMPLATE_API_URL"))
    # Sent as "Authorization: Bearer <key>"
    sms_template_api_key: str = field(default_factory=lambda: _env("SMS_TEMPLATE_API_KEY"))
    # The approved signature (签名); the provider puts it in front of the text as 【...】
    sms_template_sign_name: str = field(default_factory=lambda: _env(
        "SMS_TEMPLATE_SIGN_NAME", "12349养老服务"))
    sms_template_timeout_seconds: float = field(default_factory=lambda: _env_seconds(
        "SMS_TEMPLATE_TIMEOUT_SECONDS", 10.0))
    # The provider's code of each approved template, SMS_TEMPLATE_CODE_<KIND>=SMS_123456789
    # (kinds and wording: bot/sms_templates.yml), as (kind, code) pairs
    sms_template_codes: tuple[tuple[str, str], ...] = field(default_factory=lambda: tuple(sorted(
        (name[len("SMS_TEMPLATE_CODE_"):].lower(), value.strip()) for name, value in os.environ.items()
        if name.startswith("SMS_TEMPLATE_CODE_") and value.strip())))
    # Where transfers go: a phone number, a queue/extension number or a SIP address
    # (sip:advisors@pbx.example.cn); server/telephony/advisor_line.py reads it.
    advisor_phone_number: str = field(default_factory=lambda: _env("ADVISOR_PHONE_NUMBER"))
    # Empty: the region's advisor calendar (policies/<region>/advisor_calendar.yml, with the
    # public holidays); set (08:00-20:00[,…]): these hours every day instead.
    advisor_hours: str = field(default_factory=lambda: _env("ADVISOR_HOURS"))
    hotline_number: str = field(default_factory=lambda: _env("HOTLINE_NUMBER", "12349"))
    # The district's telephone area code: registry files may give landlines without it
    local_area_code: str = field(default_factory=lambda: _env("LOCAL_AREA_CODE", "025"))
    # How many weeks ahead capacity windows are kept (bot/registry/capacity.py)
    capacity_weeks_ahead: int = field(default_factory=lambda: int(_env("CAPACITY_WEEKS_AHEAD", "6")))
    # When the evening-before visit reminders go out, China time HH:MM (bot/outreach/)
    reminder_time: str = field(default_factory=lambda: _env("REMINDER_TIME", "18:00"))
    checkin_time: str = field(default_factory=lambda: _env("CHECKIN_TIME", "10:00"))

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def template_sms_configured(self) -> bool:
        return bool(self.sms_template_api_url and self.sms_template_api_key)


def get_settings() -> Settings:
    """Fresh settings from the current environment (cheap; tests change the env)."""
    return Settings()
