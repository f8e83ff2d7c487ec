"""The handoff queue: people who need a human advisor, most urgent first.

Flood limit: the web chat's conversation ids carry a keyed tag of the client address that
opened them (server/chat_ids.py), so requests for a person (转人工, a complaint, the bot
giving up) from one address are limited (WEB_HANDOFFS_PER_HOUR_PER_ADDRESS, default 10 an
hour), counted like the chat limits (bot/ratelimit.py: Redis when REDIS_URL is set;
RATE_LIMITS=off turns it off). Over the limit, `create_handoff` raises HandoffLimited and
nothing is queued; the action then tells the person to call 12349. Crises, emergencies and
scam reports are never limited, and the phone and SMS lines are not counted here.

A web conversation's request for a person also opens its live thread with an advisor
(bot/contact/live_chat.py).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot.contact import live_chat
from bot.config import get_settings
from bot.db import session_scope
from bot.text.masking import mask_phone, mask_text
from bot.models import Handoff, SafetyEvent
from bot.models.people import elder_by_phone
from bot.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# Kinds a script could use to flood the advisors' queue; people in danger are never refused.
LIMITED_KINDS = frozenset({"request_human", "fallback", "complaint", "callback"})
WEB_SENDER_PREFIX = "web-"
ADDRESS_TAG_CHARS = 8
_limiter: RateLimiter | None = None


class HandoffLimited(RuntimeError):
    """Too many requests for a person from one client address: nothing was queued."""


def web_handoffs_per_hour() -> int:
    return get_settings().web_handoffs_per_hour_per_address


def handoff_limiter() -> RateLimiter:
    global _limiter
    if _limiter is None or _limiter.limit != web_handoffs_per_hour():
        _limiter = RateLimiter("handoff-address", web_handoffs_per_hour(), 3600)
    return _limiter


def address_tag(sender_id: str | None) -> str | None:
    """The client-address tag of a web conversation id (web-<tag><random>); None otherwise."""
    if not sender_id or not sender_id.startswith(WEB_SENDER_PREFIX):
        return None
    tag = sender_id[len(WEB_SENDER_PREFIX) : len(WEB_SENDER_PREFIX) + ADDRESS_TAG_CHARS]
    return tag if len(tag) == ADDRESS_TAG_CHARS else None


def _check_flood(kind: str, sender_id: str | None) -> None:
    tag = address_tag(sender_id)
    if kind not in LIMITED_KINDS or tag is None:
        return
    if not handoff_limiter().hit(tag):
        log.warning(
            "handoff refused: client address tag %s is over its limit (%d an hour) kind=%s conversation=%s",
            tag,
            web_handoffs_per_hour(),
            kind,
            (sender_id or "")[:16],
        )
        raise HandoffLimited(f"too many {kind} handoffs from one client address")


PRIORITY = {
    "crisis": 0,
    "emergency": 0,
    "scam": 1,
    "callback": 3,
    "request_human": 4,
    "fallback": 5,
    "complaint": 4,
    # outbound care (bot/outreach/): a check-in that found a need, an elder nobody
    # reached this month, a visit tomorrow whose reminder calls went unanswered
    "checkin_need": 3,
    "visit_needed": 3,
    "reminder_missed": 3,
    # a notice nobody could be texted (bot/contact/sms.py note_sms_unsent)
    "sms_unsent": 5,
}
# A scam report's priority depends on its stage: money already gone is urgent (the bank can
# still stop it); a question whether something is a scam waits behind people in danger.
SCAM_STAGE_PRIORITY = {"paid": 1, "in_progress": 2, "asking": 5}


def _add_handoff(
    session: Session,
    kind: str,
    sender_id: str | None,
    channel: str | None,
    phone: str | None,
    text: str | None,
    priority: int | None = None,
) -> Handoff:
    elder = elder_by_phone(session, phone)
    priority = PRIORITY.get(kind, 5) if priority is None else priority
    handoff = Handoff(
        kind=kind,
        priority=priority,
        sender_id=sender_id,
        channel=channel,
        phone=phone,
        elder_id=elder.id if elder else None,
        summary=mask_text(text)[:500] if text else None,
    )
    live_chat.attach(session, handoff)  # a web request for a person starts a live thread
    session.add(handoff)
    session.flush()
    return handoff


def add_task(
    session: Session,
    kind: str,
    *,
    elder_id: int,
    summary: str,
    channel: str | None = None,
    max_chars: int = 2000,
) -> Handoff:
    """A task about an elder with no conversation behind it (outbound care, a notice that
    could not be texted), in the caller's transaction: priority from PRIORITY, the summary
    masked like every handoff's."""
    task = Handoff(
        kind=kind,
        priority=PRIORITY.get(kind, 5),
        channel=channel,
        elder_id=elder_id,
        summary=mask_text(summary)[:max_chars],
    )
    session.add(task)
    session.flush()
    return task


def create_handoff(
    kind: str,
    *,
    sender_id: str | None,
    channel: str | None = None,
    phone: str | None = None,
    summary: str | None = None,
) -> int:
    """Adds a conversation to the queue; returns its id. Raises HandoffLimited when the web
    client address behind `sender_id` asked for a person too often (see the module doc)."""
    _check_flood(kind, sender_id)
    with session_scope() as s:
        handoff_id: int = _add_handoff(s, kind, sender_id, channel, phone, summary).id
    log.info("handoff queued id=%s kind=%s channel=%s phone=%s", handoff_id, kind, channel, mask_phone(phone))
    return handoff_id


def record_safety_event(
    kind: str,
    *,
    sender_id: str | None,
    channel: str | None,
    phone: str | None,
    text: str | None,
    detail: str | None = None,
) -> int:
    """Records a crisis, an emergency or a scam report and queues it for an advisor:
    crises and emergencies at the top, scams by stage (`detail`)."""
    priority = SCAM_STAGE_PRIORITY.get(detail or "", 2) if kind == "scam" else None
    with session_scope() as s:
        handoff = _add_handoff(s, kind, sender_id, channel, phone, text, priority)
        s.add(
            SafetyEvent(
                kind=kind,
                sender_id=sender_id,
                channel=channel,
                text_masked=mask_text(text)[:1000] if text else None,
                handoff_id=handoff.id,
            )
        )
        handoff_id: int = handoff.id
    log.warning(
        "safety event kind=%s detail=%s handoff=%s channel=%s phone=%s",
        kind,
        detail,
        handoff_id,
        channel,
        mask_phone(phone),
    )
    return handoff_id
