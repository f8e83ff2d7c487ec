"""What the console does for an elder, through the other areas' bot/ modules:
policy search (bot.policy_kb), eligibility (bot.eligibility) and booking (bot.booking).

Each module is imported when first used, so the console runs (and says so politely)
while a module is missing or broken, and its errors are logged here in English.
"""
from __future__ import annotations

import importlib
import logging
from types import ModuleType

from bot.eligibility import FACT_LABELS  # noqa: F401  (one home: the engine's labels)

log = logging.getLogger(__name__)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        log.warning("console: %s is not installed yet", name)
        return None


def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


# --- policy search -------------------------------------------------------------------

def policy_search(query: str, limit: int = 5) -> tuple[bool, list[dict]]:
    """(available, hits) where each hit is a dict with program_id, name, score, answer,
    citation."""
    kb = _module("bot.policy_kb")
    if kb is None:
        return False, []
    hits = kb.get_kb().search(query, on=None, limit=limit)
    return True, [_policy_hit(h) for h in hits]


def _policy_hit(hit) -> dict:
    citation = _get(hit, "citation")
    if citation is not None and not isinstance(citation, (str, dict)):
        citation = citation.as_dict() if hasattr(citation, "as_dict") else vars(citation)
    if isinstance(citation, str):
        citation = {"title": citation}
    return {
        "program_id": _get(hit, "program_id"),
        "name": _get(hit, "name") or "",
        "score": _get(hit, "score"),
        "answer": _get(hit, "answer") or "",
        "matched": _get(hit, "matched") or "",
        "citation": citation or {},
    }


# --- eligibility -----------------------------------------------------------------------

def evaluate(facts: dict):
    """The engine's results for these facts, or raises its FactError (message_zh)."""
    eligibility = _module("bot.eligibility")
    if eligibility is None:
        return None
    return eligibility.evaluate(facts)




# --- booking -----------------------------------------------------------------------------

def booking_module() -> ModuleType | None:
    return _module("bot.booking")


def service_choices() -> list[dict]:
    """The bookable services (code, name, minutes, price in yuan) for the booking form."""
    if booking_module() is None:
        return []
    from bot.db import session_scope
    from bot.models.booking import ServiceType
    from sqlalchemy import select

    with session_scope() as s:
        return [{"code": t.code, "name": t.name, "minutes": t.duration_minutes,
                 "price": t.price_fen / 100}
                for t in s.execute(select(ServiceType).order_by(ServiceType.id)).scalars()]


def booking_overview(elder_id: int) -> dict:
    booking = booking_module()
    if booking is None:
        return {"available": False}
    try:
        return {"available": True,
                "entitlement": booking.entitlement_summary(elder_id),
                "bookings": booking.list_bookings(elder_id, upcoming_only=False)}
    except Exception:  # the elder's page must still show facts and history
        log.exception("console: booking overview failed for elder %s", elder_id)
        return {"available": True, "error": True}
