"""JSON API: chat for the widget and tests; other areas add eligibility and policy search.

A conversation that asked for a person has a live thread with an advisor (bot/contact/live_chat.py):
while an advisor holds it, POST /api/chat hands the person's messages to the advisor instead
of the bot (danger still goes to the bot), and GET /api/chat/updates is what the widget
polls for the advisor's and the system's messages."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from bot.contact import live_chat
from bot.config import get_settings
from bot.ratelimit import RateLimiter
from bot.text.norm import clean
from server import chat_ids, rasa_client, wording
from server.api import error, json_body
from server.speech import speakable

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 500
# Limits per minute, from the settings at each use (bot/config.py):
# - CHAT_TURNS_PER_MINUTE: a person types or speaks far less; more is a script or a stuck client.
# - CHAT_TURNS_PER_MINUTE_PER_ADDRESS: one address starting conversation after conversation
#   (new ids cost nothing) is a script. Requests for a person are limited per address too
#   (WEB_HANDOFFS_PER_HOUR_PER_ADDRESS), where they are queued: the conversation id carries
#   the address's tag (chat_ids, bot/contact/handoff.py).
# - CHAT_UPDATES_PER_MINUTE(_PER_ADDRESS): the widget polls /api/chat/updates every few
#   seconds while a person waits for an advisor: counted apart from the chat turns, so
#   polling never uses up what the person may type.
RATE_LIMITED_TEXT = wording.chat("rate_limited")
_chat_limiter: RateLimiter | None = None
_address_limiter: RateLimiter | None = None
_updates_limiter: RateLimiter | None = None
_updates_address_limiter: RateLimiter | None = None


def _limiter(current: RateLimiter | None, name: str, limit: int) -> RateLimiter:
    """`current`, or a new one when there is none or the setting changed."""
    if current is None or current.limit != limit:
        return RateLimiter(name, limit, 60)
    return current


def chat_limiter() -> RateLimiter:
    global _chat_limiter
    _chat_limiter = _limiter(_chat_limiter, "chat", get_settings().chat_turns_per_minute)
    return _chat_limiter


def address_limiter() -> RateLimiter:
    global _address_limiter
    _address_limiter = _limiter(
        _address_limiter, "chat-address", get_settings().chat_turns_per_minute_per_address
    )
    return _address_limiter


def updates_limiters() -> tuple[RateLimiter, RateLimiter]:
    """(per conversation, per client address) limiters of /api/chat/updates."""
    global _updates_limiter, _updates_address_limiter
    settings = get_settings()
    _updates_limiter = _limiter(_updates_limiter, "chat-updates", settings.chat_updates_per_minute)
    _updates_address_limiter = _limiter(
        _updates_address_limiter, "chat-updates-address", settings.chat_updates_per_minute_per_address
    )
    return _updates_limiter, _updates_address_limiter


def _rate_limited(token: str):
    """The answer over a rate limit: the error, and the same words as a reply the widget shows."""
    return jsonify(
        error=RATE_LIMITED_TEXT,
        code="rate_limited",
        sender=token,
        replies=[{"text": RATE_LIMITED_TEXT, "buttons": []}],
    ), 429


@bp.post("/chat")
def chat():
    """One turn of a web conversation. The server issues the conversation id (`sender`,
    signed) and returns it; a sender it did not issue starts a new conversation. Who the
    person is never comes from the client: `metadata` is ignored (identity is proven in the
    conversation, bot/identity.py)."""
    data = json_body()
    if data is None:
        log.info("chat rejected: body is not a JSON object (content-type=%s)", request.content_type)
        return error("请求格式不对，请发送JSON。", "invalid_json")
    message = data.get("message")
    if not isinstance(message, str):
        return error("缺少消息内容（message）。", "invalid_message")
    token = data.get("sender")
    conversation = chat_ids.conversation_of(token)
    if conversation is None:
        if token not in (None, ""):
            log.info("chat: a sender the server did not issue starts a new conversation")
        token, conversation = chat_ids.new_sender(request.remote_addr)
    if not address_limiter().hit(request.remote_addr or "unknown"):
        log.warning("chat rate limit hit for client address %s", request.remote_addr)
        return _rate_limited(token)
    if not chat_limiter().hit(conversation):
        log.warning("chat rate limit hit for conversation=%s", conversation[:16])
        return _rate_limited(token)
    text = clean(message, max_length=MAX_MESSAGE_CHARS + 1)
    if len(text) > MAX_MESSAGE_CHARS:
        log.info("chat message too long in conversation=%s (%d chars)", conversation[:16], len(message))
        return jsonify(sender=token, replies=[{"text": wording.chat("too_long"), "buttons": []}])
    text = chat_ids.read_message(conversation, text).strip()
    if not text:
        return jsonify(sender=token, replies=[{"text": wording.chat("empty"), "buttons": []}])
    turn = _live_turn(conversation, text)
    if not turn.to_bot:  # an advisor holds the conversation, or the callback questions
        return jsonify(_turn_body(token, conversation, turn.replies, turn.live))
    result = rasa_client.send_message(conversation, text, {"channel": "web"})
    return jsonify(_turn_body(token, conversation, [r.as_json() for r in result.replies], turn.live))


def _live_turn(conversation: str, text: str) -> live_chat.Turn:
    """The live thread's say on this message; with the database down the bot answers."""
    try:
        return live_chat.before_turn(conversation, text)
    except SQLAlchemyError as exc:
        log.error(
            "chat: live thread of conversation=%s not readable (%s); the bot answers",
            conversation[:16],
            type(exc).__name__,
        )
        return live_chat.Turn()


def _turn_body(token: str, conversation: str, replies: list[dict], live: bool) -> dict:
    shown_replies = []
    for reply in replies:
        shown = dict(reply)
        shown["speech"] = speakable(shown["text"])  # the wording to read aloud
        shown["buttons"] = [
            {"title": b["title"], "payload": chat_ids.sign_payload(conversation, b["payload"])}
            for b in shown.get("buttons") or []
        ]
        shown_replies.append(shown)
    body: dict[str, Any] = {"sender": token, "replies": shown_replies}
    if live:
        body["live"] = True
    return body


@bp.get("/chat/updates")
def chat_updates():
    """What the widget polls: {"state": none|waiting|live|callback|closed, "messages":
    [{"id", "author": advisor|system, "name", "text", "speech", "at"}]} after message id `after`."""
    conversation = chat_ids.conversation_of(request.args.get("sender"))
    if conversation is None:
        log.info("chat updates refused: a sender the server did not issue")
        return error("这个对话已经失效了，请刷新页面重新开始。", "invalid_sender")
    after = (request.args.get("after") or "0").strip()
    if not after.isdigit() or len(after) > 12:
        log.info("chat updates refused: after=%r is not a message id", after[:20])
        return error("参数不对（after 应该是消息编号）。", "invalid_after")
    per_conversation, per_address = updates_limiters()
    if not per_address.hit(request.remote_addr or "unknown") or not per_conversation.hit(conversation):
        log.warning(
            "chat updates rate limit hit for conversation=%s address=%s",
            conversation[:16],
            request.remote_addr,
        )
        return jsonify(error=RATE_LIMITED_TEXT, code="rate_limited"), 429
    try:
        body = live_chat.updates(conversation, int(after))
        for message in body["messages"]:
            message["speech"] = speakable(message["text"])  # the wording to read aloud
        return jsonify(body)
    except SQLAlchemyError as exc:
        log.error("chat updates: database not readable (%s)", type(exc).__name__)
        return jsonify(error="系统现在有点忙，请稍后再试。", code="unavailable"), 503
