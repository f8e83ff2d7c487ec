"""Flask web server: web widget, JSON API, Twilio voice/SMS bridge, advisor console.

Talks to Rasa over HTTP only (server/rasa_client.py); domain logic lives in bot/.
"""
from __future__ import annotations

import logging
import os

from flask import Flask, jsonify

from bot.config import get_settings


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    settings = get_settings()
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=int(os.environ.get("MAX_CONTENT_LENGTH", 256 * 1024)),
        JSON_AS_ASCII=False,
        SETTINGS=settings,
    )
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    _configure_logging()

    from server import api, health

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    # == blueprints of other areas ==
    from server.policy_api import bp as policy_bp  # == area: policy ==
    app.register_blueprint(policy_bp)
    from server.eligibility_api import bp as eligibility_bp  # == area: eligibility ==
    app.register_blueprint(eligibility_bp)
    from server.booking_api import bp as booking_bp  # == area: booking ==
    app.register_blueprint(booking_bp)
    # == area: telephony ==
    from server.twilio_bp import bp as twilio_bp
    app.register_blueprint(twilio_bp)
    from server.freeswitch_bp import bp as freeswitch_bp
    app.register_blueprint(freeswitch_bp)
    # == area: web (widget + advisor console) ==
    from server import advisor, widget

    widget.init_app(app)
    advisor.init_app(app)
    # == area: registry (district files in, CLI) ==
    from server import registry_cli

    registry_cli.register(app)
    # == area: outbound care (CLI) ==
    from server import care_cli

    care_cli.register(app)

    @app.errorhandler(413)
    def too_large(_err):
        return jsonify(error="请求内容太长了。", code="payload_too_large"), 413

    @app.errorhandler(404)
    def not_found(_err):
        return jsonify(error="没有这个地址。", code="not_found"), 404

    @app.errorhandler(405)
    def method_not_allowed(_err):
        return jsonify(error="不支持这种请求方式。", code="method_not_allowed"), 405

    @app.errorhandler(500)
    def internal_error(_err):
        return jsonify(error="系统出了点问题，请稍后再试，或拨打12349转人工。",
                       code="internal_error"), 500

    return app


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # every log line of the web server, whoever writes it, with ID and phone numbers masked
    from bot.masking import install_log_masking

    install_log_masking()
