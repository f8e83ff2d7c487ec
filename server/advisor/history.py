"""An elder's conversations, read from Rasa's SQL tracker store (table `events`).

Which conversations belong to an elder is known from the service database, never by
searching Rasa's event data: the sender ids of handoffs linked to her and of conversations
whose caller proved control of her number (bot/identity.py: she herself, or a relative acting
for her), and of every phone call (table `calls`) and SMS conversation (table `call_turns`,
channel sms) from her number as the carrier gave it. The tracker store is then read by those
sender ids only. Read only; texts are shown with ID and phone numbers masked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import CHINA_TZ
from bot.config import get_settings
from bot.db import get_engine, session_scope
from bot.models.telephony import Call, CallTurn
from bot.text.masking import mask_text

log = logging.getLogger(__name__)

MAX_MESSAGES = 200
BUTTON_INTENTS_ZH = {
    "request_human": "转人工",
    "greet": "打招呼",
    "ask_policy": "问政策",
    "check_eligibility": "我能享受什么",
    "book_service": "预约上门服务",
    "affirm": "是",
    "deny": "不是",
    "cancel_booking": "取消预约",
    "query_booking": "查预约",
}


@dataclass
class HistoryMessage:
    sender_id: str
    speaker: str  # "user" | "bot"
    text: str
    at: dt.datetime
    channel: str | None


@dataclass
class Conversation:
    """One conversation (one Rasa sender id): its messages oldest first, read like a chat."""

    sender_id: str
    messages: list[HistoryMessage]

    @property
    def started_at(self) -> dt.datetime:
        return self.messages[0].at

    @property
    def last_at(self) -> dt.datetime:
        return self.messages[-1].at

    @property
    def channel(self) -> str | None:
        """The channel the caller's messages came through (bot messages carry none)."""
        return next((m.channel for m in self.messages if m.channel), None)


@dataclass
class History:
    messages: list[HistoryMessage]
    sender_ids: list[str]
    available: bool = True

    @property
    def conversations(self) -> list[Conversation]:
        """One block per conversation, the newest conversation first."""
        by_sender: dict[str, list[HistoryMessage]] = {}
        for message in self.messages:  # already oldest first
            by_sender.setdefault(message.sender_id, []).append(message)
        blocks = [Conversation(sender, messages) for sender, messages in by_sender.items()]
        return sorted(blocks, key=lambda c: (c.started_at, c.sender_id), reverse=True)

    @property
    def newest(self) -> HistoryMessage | None:
        return max(self.messages, key=lambda m: m.at, default=None)


def _digits(phone: str | None) -> str:
    return "".join(ch for ch in (phone or "") if ch.isdigit())[-11:]


def conversation_history(
    phone: str | None, extra_sender_ids: list[str] | None = None, limit: int = MAX_MESSAGES
) -> History:
    settings = get_settings()
    try:
        senders = set(s for s in (extra_sender_ids or []) if s) | _senders_of_number(phone)
        if not senders:
            return History([], [])
        engine = get_engine(settings.tracker_store_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT sender_id, type_name, timestamp, data FROM events "
                    "WHERE sender_id IN :senders AND type_name IN ('user', 'bot') "
                    "ORDER BY timestamp DESC, id DESC LIMIT :limit"
                ).bindparams(bindparam("senders", expanding=True)),
                {"senders": sorted(senders), "limit": limit},
            ).all()
    except SQLAlchemyError as exc:
        # No tracker table yet (Rasa never started on this database) or the DB is down.
        log.warning("tracker store not readable: %s", type(exc).__name__)
        return History([], [], available=False)
    messages = []
    for sender_id, type_name, timestamp, data in reversed(rows):
        event = _load(data)
        body = event.get("text")
        if not body:
            continue
        metadata = event.get("metadata")
        meta = metadata if isinstance(metadata, dict) else {}
        if type_name == "user" and body.startswith("/"):
            intent = body[1:].split("{")[0]  # a quick reply's payload, e.g. /request_human
            body = f"（点了按钮：{BUTTON_INTENTS_ZH.get(intent, intent)}）"
        messages.append(
            HistoryMessage(
                sender_id=sender_id,
                speaker="user" if type_name == "user" else "bot",
                text=mask_text(body),
                channel=meta.get("channel"),
                at=dt.datetime.fromtimestamp(float(timestamp or 0), CHINA_TZ),
            )
        )
    return History(messages, sorted(senders))


def _senders_of_number(phone: str | None) -> set[str]:
    """The sender ids of the calls and SMS conversations from a mobile number (with or
    without +86), from the web server's own records of the carrier's caller ids."""
    digits = _digits(phone)
    if len(digits) != 11:
        return set()
    with session_scope() as s:
        calls = s.execute(select(Call.from_number, Call.sender_id).where(Call.from_number.like(f"%{digits}")))
        sms = s.execute(
            select(CallTurn.sender_id)
            .where(CallTurn.channel == "sms", CallTurn.sender_id.like(f"%{digits}"))
            .distinct()
        )
        found = {sender for number, sender in calls if _digits(number) == digits}
        found |= {sender for (sender,) in sms if sender and _digits(sender) == digits}
    return found


def _load(data) -> dict:
    try:
        value = json.loads(data) if isinstance(data, str) else (data or {})
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
