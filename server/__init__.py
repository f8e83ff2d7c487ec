"""Flask web server: web widget, JSON API, Twilio voice/SMS bridge, advisor console.

Talks to Rasa over HTTP only (server/rasa_client.py); domain logic lives in bot/.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, appcontext_pushed, g
from flask.json.provider import DefaultJSONProvider

from bot.config import Settings, get_settings, use_settings


# The HTTP errors Flask raises itself, answered in the API's one error shape (server/api),
# by their code; the wording is server/wording.yml's http_error section.
HTTP_ERRORS = {
    413: "payload_too_large",
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
}


def _error_handler(code: str, status: int):
    from server import wording
    from server.api import error

    message_zh = wording.text("http_error", code)  # read at start-up: a missing entry stops it

    def handler(_err):
        return error(message_zh, code, status)

    return handler


def create_app(
    settings: Settings | Mapping[str, Any] | None = None, test_config: Mapping[str, Any] | None = None
) -> Flask:
    """The web app. `settings`: what it runs with (database included) in place of the
    environment: every request, CLI command and app context of this app sees them through
    `get_settings()`, so apps with different settings can live in one process. None (gunicorn,
    `flask --app server`): the environment, read at each use. `test_config`: Flask config
    overrides; a mapping given as `settings` is taken as these (the older call form)."""
    if isinstance(settings, Mapping):
        settings, test_config = None, settings
    with use_settings(settings):
        return _build(settings, test_config)


def _build(explicit: Settings | None, test_config: Mapping[str, Any] | None) -> Flask:
    app = Flask(__name__)
    settings = get_settings()
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        JSON_AS_ASCII=False,
        SETTINGS=settings,
    )
    if test_config:
        app.config.update(test_config)
    if isinstance(app.json, DefaultJSONProvider):  # always: Flask's default provider
        app.json.ensure_ascii = False
    _configure_logging()
    if explicit is not None:
        _run_with(app, explicit)

    from server import advisor, care_cli, health, registry_cli
    from server.api import booking, chat, eligibility, policy
    from server.channels import freeswitch, twilio, widget

    for module in (health, chat, policy, eligibility, booking, twilio, freeswitch):
        app.register_blueprint(module.bp)
    widget.init_app(app)
    advisor.init_app(app)
    registry_cli.register(app)
    care_cli.register(app)

    for status, code in HTTP_ERRORS.items():
        app.register_error_handler(status, _error_handler(code, status))

    return app


def _run_with(app: Flask, settings: Settings) -> None:
    """Every app context of `app` (each request, CLI command, test client call) runs with
    `settings`; they are put back when the context ends."""

    def enter(sender: Flask, **_extra: Any) -> None:
        if "_settings_in_force" not in g:  # a context pushed again keeps its first entry
            g._settings_in_force = use_settings(settings)
            g._settings_in_force.__enter__()

    def leave(_exc: BaseException | None) -> None:
        block = g.pop("_settings_in_force", None)
        if block is not None:
            block.__exit__(None, None, None)

    appcontext_pushed.connect(enter, app, weak=False)
    app.teardown_appcontext(leave)


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    # every log line of the web server, whoever writes it, with ID and phone numbers masked
    from bot.text.masking import install_log_masking

    install_log_masking()
