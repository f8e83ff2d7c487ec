"""Conversation ids and button payloads the web server issues and signs.

- A chat conversation id is issued by the server (`new_sender`), signed with SECRET_KEY and
  returned to the client; a sender the server did not issue starts a new conversation.
  Rasa sees only the unsigned part, so the token never lands in the tracker store. The id
  begins with a keyed tag of the client address that opened it (`web-<8 hex><24 hex>`, the
  address itself is never stored): the action server limits requests for a person per
  address by it (bot/contact/handoff.py).
- Button payloads that carry an intent (`/affirm`, `/inform{...}`) are signed for the
  conversation they were offered in; a client can send back only what it was offered.
  Any other text starting with "/" is read as plain text, never as an intent.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid

from itsdangerous import BadSignature, URLSafeSerializer

from bot.config import get_settings

log = logging.getLogger(__name__)

PAYLOAD_PREFIX = "btn:"
# The widget opens a conversation with this; it sets nothing and reveals nothing.
OPENERS = {"/greet"}


def _signer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt=f"elder12349-{purpose}")


def address_tag(address: str | None) -> str:
    """8 hex characters standing for a client address (keyed: not reversible without the
    SECRET_KEY); a random one when the address is unknown."""
    if not address:
        return uuid.uuid4().hex[:8]
    key = (get_settings().secret_key or "").encode()
    return hmac.new(key, f"client-address:{address}".encode(), hashlib.sha256).hexdigest()[:8]


def new_sender(address: str | None = None) -> tuple[str, str]:
    """(token for the client, conversation id for Rasa) for a conversation opened from
    client `address`."""
    conversation = "web-" + address_tag(address) + uuid.uuid4().hex[:24]
    return _signer("sender").dumps(conversation), conversation


def conversation_of(token: object) -> str | None:
    """The conversation id a client token stands for, or None when it was not issued here."""
    if not isinstance(token, str) or not token or len(token) > 256:
        return None
    try:
        value = _signer("sender").loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) and value.startswith("web-") else None


def sign_payload(conversation: str, payload: str) -> str:
    if not payload.startswith("/"):
        return payload  # plain words ("明天上午") are just what the person would type
    return PAYLOAD_PREFIX + _signer("payload").dumps([conversation, payload])


def read_message(conversation: str, message: str) -> str:
    """What to pass to Rasa: an offered button's payload, or the text as text."""
    if message.startswith(PAYLOAD_PREFIX):
        try:
            owner, payload = _signer("payload").loads(message[len(PAYLOAD_PREFIX) :])
        except (BadSignature, ValueError, TypeError):
            log.warning(
                "chat: a forged or foreign button payload was refused (conversation %s)", conversation[:16]
            )
            return ""
        if owner == conversation and isinstance(payload, str):
            return payload
        log.warning("chat: a button payload of another conversation was refused")
        return ""
    if message.startswith("/") and message.strip() not in OPENERS:
        # "/inform{...}" typed by a client is text, not an intent with entities
        log.info(
            "chat: a raw intent payload from a client was read as text (conversation %s)", conversation[:16]
        )
        return message.lstrip("/")
    return message
