"""The JSON API under /api: the chat turn (`chat`), policy search (`policy`), eligibility
checks (`eligibility`) and the booking catalogue and calendar (`booking`). Each module is a
thin blueprint over bot/; errors have one shape, made here."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request


def error(message_zh: str, code: str, status: int = 400) -> Any:
    """The API's one error shape: a polite Chinese sentence for the person, a stable code
    for the program."""
    return jsonify(error=message_zh, code=code), status


def json_body() -> dict | None:
    """The request's JSON object, or None when the body is not a JSON object."""
    if not request.is_json:
        return None
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None
