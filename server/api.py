"""JSON API: chat for the widget and tests; other areas add eligibility and policy search."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

import os

from bot.masking import mask_text
from bot.ratelimit import RateLimiter
from bot.textnorm import clean
from server import rasa_client

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 500
MAX_SENDER_CHARS = 128
# A person types or speaks far less than this; more is a script or a stuck client.
CHAT_TURNS_PER_MINUTE = int(os.environ.get("CHAT_TURNS_PER_MINUTE", "30"))
_chat_limiter: RateLimiter | None = None


def chat_limiter() -> RateLimiter:
    global _chat_limiter
    if _chat_limiter is None:
        _chat_limiter = RateLimiter("chat", CHAT_TURNS_PER_MINUTE, 60)
    return _chat_limiter


def bad_request(message_zh: str, code: str, status: int = 400):
    return jsonify(error=message_zh, code=code), status


def json_body() -> dict | None:
    if not request.is_json:
        return None
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


@bp.post("/chat")
def chat():
    data = json_body()
    if data is None:
        log.info("chat rejected: body is not a JSON object (content-type=%s)", request.content_type)
        return bad_request("请求格式不对，请发送JSON。", "invalid_json")
    sender = data.get("sender")
    message = data.get("message")
    metadata = data.get("metadata") or {}
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return bad_request("缺少会话编号（sender）。", "invalid_sender")
    if not isinstance(message, str):
        return bad_request("缺少消息内容（message）。", "invalid_message")
    if not isinstance(metadata, dict):
        return bad_request("metadata 必须是对象。", "invalid_metadata")
    if not chat_limiter().hit(sender.strip()):
        log.warning("chat rate limit hit for sender=%s", mask_text(sender)[:64])
        return jsonify(error="您发得太快了，请稍等一会儿再说。", code="rate_limited",
                       replies=[{"text": "您发得太快了，请稍等一会儿再说。", "buttons": []}]), 429
    text = clean(message, max_length=MAX_MESSAGE_CHARS + 1)
    if not text:
        return jsonify(replies=[{"text": "您好像没有说话。请问您想办什么事？", "buttons": []}])
    if len(text) > MAX_MESSAGE_CHARS:
        log.info("chat message too long from sender=%s (%d chars)", mask_text(sender), len(message))
        return jsonify(replies=[{"text": "您说的内容有点长，麻烦您说短一点，一次说一件事。",
                                 "buttons": []}])
    safe_meta = {k: v for k, v in metadata.items() if k in {"phone", "channel", "name"}
                 and isinstance(v, str) and len(v) <= 64}
    safe_meta.setdefault("channel", "web")
    result = rasa_client.send_message(sender.strip(), text, safe_meta)
    return jsonify(replies=[r.as_json() for r in result.replies])
