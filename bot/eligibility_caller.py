"""Known callers: the stored facts of the elder registered with the calling number."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot.db import session_scope
from bot.models import Elder


def stored_facts_for_phone(phone: str | None, url: str | None = None) -> tuple[str, dict] | None:
    """(name, Elder.facts()) of the elder whose phone is `phone` (last 11 digits), or None."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())[-11:]
    if len(digits) < 7:
        return None
    with session_scope(url) as s:
        elder = s.execute(select(Elder).options(joinedload(Elder.street))
                          .where(Elder.phone == digits)).scalar_one_or_none()
        if elder is None:
            return None
        return elder.name, elder.facts()
