"""Known callers: the stored facts of the elder registered with the calling number."""

from __future__ import annotations

from typing import Any

from bot.db import session_scope
from bot.models.people import elder_by_phone


def stored_facts_for_phone(phone: str | None, url: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """(name, Elder.facts()) of the elder whose phone is `phone` (last 11 digits), or None."""
    with session_scope(url) as s:
        elder = elder_by_phone(s, phone)
        if elder is None:
            return None
        return elder.name, elder.facts()
