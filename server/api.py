"""JSON API: chat for the widget and tests; other areas add eligibility and policy search."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

import os

from bot.ratelimit import RateLimiter
from bot.textnorm import clean
from server import chat_ids, rasa_client

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 500
# A person types or speaks far less than this; more is a script or a stuck client.
CHAT_TURNS_PER_MINUTE = int(os.environ.get("CHAT_TURNS_PER_MINUTE", "30"))
# One address starting conversation after conversation (new ids cost nothing) is a script.
# Requests for a person are limited per address too (WEB_HANDOFFS_PER_HOUR_PER_ADDRESS), where
# they are queued: the conversation id carries the address's tag (chat_ids, bot/handoff.py).
CHAT_TURNS_PER_MINUTE_PER_ADDRESS = int(os.environ.get("CHAT_TURNS_PER_MINUTE_PER_ADDRESS", "240"))
_chat_limiter: RateLimiter | None = None
_address_limiter: RateLimiter | None = None


def chat_limiter() -> RateLimiter:
    global _chat_limiter
    if _chat_limiter is None:
        _chat_limiter = RateLimiter("chat", CHAT_TURNS_PER_MINUTE, 60)
    return _chat_limiter


def address_limiter() -> RateLimiter:
    global _address_limiter
    if _address_limiter is None:
        _address_limiter = RateLimiter("chat-address", CHAT_TURNS_PER_MINUTE_PER_ADDRESS, 60)
    return _address_limiter


def bad_request(message_zh: str, code: str, status: int = 400):
    return jsonify(error=message_zh, code=code), status


def json_body() -> dict | None:
    if not request.is_json:
        return None
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


@bp.post("/chat")
def chat():
    """One turn of a web conversation. The server issues the conversation id (`sender`,
    signed) and returns it; a sender it did not issue starts a new conversation. Who the
    person is never comes from the client: `metadata` is ignored (identity is proven in the
    conversation, bot/identity.py)."""
    data = json_body()
    if data is None:
        log.info("chat rejected: body is not a JSON object (content-type=%s)", request.content_type)
        return bad_request("请求格式不对，请发送JSON。", "invalid_json")
    message = data.get("message")
    if not isinstance(message, str):
        return bad_request("缺少消息内容（message）。", "invalid_message")
    token = data.get("sender")
    conversation = chat_ids.conversation_of(token)
    if conversation is None:
        if token not in (None, ""):
            log.info("chat: a sender the server did not issue starts a new conversation")
        token, conversation = chat_ids.new_sender(request.remote_addr)
    if not address_limiter().hit(request.remote_addr or "unknown"):
        log.warning("chat rate limit hit for client address %s", request.remote_addr)
        return jsonify(error="您发得太快了，请稍等一会儿再说。", code="rate_limited", sender=token,
                       replies=[{"text": "您发得太快了，请稍等一会儿再说。", "buttons": []}]), 429
    if not chat_limiter().hit(conversation):
        log.warning("chat rate limit hit for conversation=%s", conversation[:16])
        return jsonify(error="您发得太快了，请稍等一会儿再说。", code="rate_limited", sender=token,
                       replies=[{"text": "您发得太快了，请稍等一会儿再说。", "buttons": []}]), 429
    text = clean(message, max_length=MAX_MESSAGE_CHARS + 1)
    if len(text) > MAX_MESSAGE_CHARS:
        log.info("chat message too long in conversation=%s (%d chars)", conversation[:16],
                 len(message))
        return jsonify(sender=token, replies=[{"text": "您说的内容有点长，麻烦您说短一点，一次说一件事。",
                                               "buttons": []}])
    text = chat_ids.read_message(conversation, text).strip()
    if not text:
        return jsonify(sender=token, replies=[{"text": "您好像没有说话。请问您想办什么事？",
                                               "buttons": []}])
    result = rasa_client.send_message(conversation, text, {"channel": "web"})
    replies = []
    for reply in result.replies:
        shown = reply.as_json()
        shown["buttons"] = [{"title": b["title"],
                             "payload": chat_ids.sign_payload(conversation, b["payload"])}
                            for b in shown["buttons"]]
        replies.append(shown)
    return jsonify(sender=token, replies=replies)
