"""The advisor console (银发顾问工作台) under /advisor/.

`init_app(app)` wires what the console needs into the app: session-cookie hardening,
Flask-Login, CSRF (checked on every console form, not on the JSON/Twilio endpoints,
which have their own protection), the blueprint and the `create-user` CLI command.
"""
from __future__ import annotations

import datetime as dt
import os

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from bot.config import get_settings

csrf = CSRFProtect()
login_manager = LoginManager()


def cookie_secure_default() -> bool:
    """Secure cookies unless told otherwise; the embedded (local http) profile turns them
    off by default, the production profile (PostgreSQL or APP_ENV=production) keeps them on."""
    explicit = os.environ.get("SESSION_COOKIE_SECURE", "").strip().lower()
    if explicit:
        return explicit in {"1", "true", "yes", "on"}
    production = (os.environ.get("APP_ENV", "").lower() == "production"
                  or get_settings().database_url.startswith("postgresql"))
    return production


def init_app(app: Flask) -> None:
    secure = cookie_secure_default()
    hours = int(os.environ.get("CONSOLE_SESSION_HOURS", "8"))
    for key, value in {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_NAME": "elder12349_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=hours),
        # A token lives as long as the console session: advisors keep a page open on a call.
        "WTF_CSRF_TIME_LIMIT": hours * 3600,
        # Only the console's own forms are checked (see views.protect_console).
        "WTF_CSRF_CHECK_DEFAULT": False,
    }.items():
        # Override Flask's defaults, but keep what a test config set explicitly.
        if key not in app.config or app.config[key] == app.default_config.get(key):
            app.config[key] = value

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "advisor.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from server.advisor import auth, caseviews, cli, views  # noqa: F401  (routes register on import)
    from server.advisor.blueprint import bp

    app.register_blueprint(bp)
    cli.register(app)
