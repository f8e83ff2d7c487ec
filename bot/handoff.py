"""The handoff queue: people who need a human advisor, most urgent first."""
from __future__ import annotations

import logging

from bot.db import session_scope
from bot.masking import mask_phone, mask_text
from bot.models import Handoff, SafetyEvent
from bot.models.people import elder_by_phone

log = logging.getLogger(__name__)

PRIORITY = {"crisis": 0, "emergency": 0, "scam": 1, "callback": 3, "request_human": 4,
            "fallback": 5, "complaint": 4}
# A scam report's priority depends on its stage: money already gone is urgent (the bank can
# still stop it); a question whether something is a scam waits behind people in danger.
SCAM_STAGE_PRIORITY = {"paid": 1, "in_progress": 2, "asking": 5}


def _add_handoff(session, kind: str, sender_id, channel, phone, text,
                 priority: int | None = None) -> Handoff:
    elder = elder_by_phone(session, phone)
    priority = PRIORITY.get(kind, 5) if priority is None else priority
    handoff = Handoff(kind=kind, priority=priority, sender_id=sender_id,
                      channel=channel, phone=phone, elder_id=elder.id if elder else None,
                      summary=mask_text(text)[:500] if text else None)
    session.add(handoff)
    session.flush()
    return handoff


def create_handoff(kind: str, *, sender_id: str | None, channel: str | None = None,
                   phone: str | None = None, summary: str | None = None) -> int:
    """Adds a conversation to the queue; returns its id."""
    with session_scope() as s:
        handoff_id = _add_handoff(s, kind, sender_id, channel, phone, summary).id
    log.info("handoff queued id=%s kind=%s channel=%s phone=%s", handoff_id, kind, channel,
             mask_phone(phone))
    return handoff_id


def record_safety_event(kind: str, *, sender_id: str | None, channel: str | None,
                        phone: str | None, text: str | None, detail: str | None = None) -> int:
    """Records a crisis, an emergency or a scam report and queues it for an advisor:
    crises and emergencies at the top, scams by stage (`detail`)."""
    priority = SCAM_STAGE_PRIORITY.get(detail or "", 2) if kind == "scam" else None
    with session_scope() as s:
        handoff = _add_handoff(s, kind, sender_id, channel, phone, text, priority)
        s.add(SafetyEvent(kind=kind, sender_id=sender_id, channel=channel,
                          text_masked=mask_text(text)[:1000] if text else None,
                          handoff_id=handoff.id))
        handoff_id = handoff.id
    log.warning("safety event kind=%s detail=%s handoff=%s channel=%s phone=%s", kind, detail,
                handoff_id, channel, mask_phone(phone))
    return handoff_id
