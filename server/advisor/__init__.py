"""The advisor console (银发顾问工作台) under /advisor/.

`init_app(app)` wires what the console needs into the app: session-cookie hardening,
Flask-Login, CSRF (checked on every console form, not on the JSON/Twilio endpoints,
which have their own protection), the blueprint and the `create-user` CLI command.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from bot import profile
from bot.config import DEV_SECRET_KEY, LOOPBACK, get_settings

log = logging.getLogger(__name__)
csrf = CSRFProtect()
login_manager = LoginManager()


def production_profile() -> bool:
    """The one production switch of README.md: the service database is PostgreSQL."""
    return profile.production_profile()


def cookie_secure_default() -> bool:
    """SESSION_COOKIE_SECURE when set; otherwise Secure cookies in the production profile
    (served over HTTPS) and not in the embedded one (plain http on localhost)."""
    explicit = get_settings().session_cookie_secure
    return production_profile() if explicit is None else explicit


def init_app(app: Flask) -> None:
    secure = cookie_secure_default()
    settings = get_settings()
    default_key = app.config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY)
    if default_key and (production_profile() or settings.web_bind not in LOOPBACK):
        # Refuse to start: with the public default anyone could forge console sessions,
        # chat conversation ids and button payloads.
        raise RuntimeError(
            "SECRET_KEY is the public development key while the web server is "
            f"reachable from other machines (WEB_BIND={settings.web_bind}) or in "
            "the production profile: set a long random SECRET_KEY"
        )
    # Demo people (public ID and phone numbers) and demo accounts never on a live line.
    profile.check_start_up()
    hours = settings.console_session_hours
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

    from server.advisor import auth, caseviews, cli, registry_views, views  # noqa: F401  (routes register on import)
    from server.advisor import providers_views  # noqa: F401  (服务机构 pages)
    from server.advisor import outreach_views  # noqa: F401  (外呼关怀 page)
    from server.advisor import notes_views  # noqa: F401  (the case file's notes and tasks)
    from server.advisor.blueprint import bp

    app.register_blueprint(bp)
    cli.register(app)
