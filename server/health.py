from __future__ import annotations

from flask import Blueprint, jsonify

from bot import db
from server import rasa_client

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks = {
        "rasa": "ok" if rasa_client.rasa_status() else "down",
        "actions": "ok" if rasa_client.actions_status() else "down",
        "database": "ok" if db.ping() else "down",
    }
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503
