"""The handoff queue: people who need a human advisor, most urgent first."""
from __future__ import annotations

import logging

from sqlalchemy import select

from bot.db import session_scope
from bot.masking import mask_phone, mask_text
from bot.models import Elder, Handoff, SafetyEvent

log = logging.getLogger(__name__)

PRIORITY = {"emergency": 0, "scam": 1, "callback": 3, "request_human": 4, "fallback": 5,
            "complaint": 4}


def find_elder_id_by_phone(session, phone: str | None) -> int | None:
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())[-11:]
    return session.execute(select(Elder.id).where(Elder.phone == digits)).scalar_one_or_none()


def create_handoff(kind: str, *, sender_id: str | None, channel: str | None = None,
                   phone: str | None = None, summary: str | None = None) -> int:
    """Adds a conversation to the queue; returns its id."""
    with session_scope() as s:
        handoff = Handoff(kind=kind, priority=PRIORITY.get(kind, 5), sender_id=sender_id,
                          channel=channel, phone=phone,
                          elder_id=find_elder_id_by_phone(s, phone),
                          summary=mask_text(summary)[:500] if summary else None)
        s.add(handoff)
        s.flush()
        handoff_id = handoff.id
    log.info("handoff queued id=%s kind=%s channel=%s phone=%s", handoff_id, kind, channel,
             mask_phone(phone))
    return handoff_id


def record_safety_event(kind: str, *, sender_id: str | None, channel: str | None,
                        phone: str | None, text: str | None) -> int:
    """Records an emergency or scam report and puts it at the top of the handoff queue."""
    with session_scope() as s:
        handoff = Handoff(kind=kind, priority=PRIORITY[kind], sender_id=sender_id,
                          channel=channel, phone=phone,
                          elder_id=find_elder_id_by_phone(s, phone),
                          summary=mask_text(text)[:500] if text else None)
        s.add(handoff)
        s.flush()
        s.add(SafetyEvent(kind=kind, sender_id=sender_id, channel=channel,
                          text_masked=mask_text(text)[:1000] if text else None,
                          handoff_id=handoff.id))
        handoff_id = handoff.id
    log.warning("safety event kind=%s handoff=%s channel=%s phone=%s", kind, handoff_id,
                channel, mask_phone(phone))
    return handoff_id
