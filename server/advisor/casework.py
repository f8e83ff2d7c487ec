"""What the console does for an elder, through the other areas' bot/ modules:
policy search (bot.policy_kb), eligibility (bot.eligibility) and booking (bot.booking).

Each module is imported when first used, so the console runs (and says so politely)
while a module is missing or broken, and its errors are logged here in English.
"""
from __future__ import annotations

import importlib
import logging
from types import ModuleType

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
    return {
        "program_id": _get(hit, "program_id"),
        "name": _get(hit, "name") or _get(hit, "title") or "",
        "score": _get(hit, "score"),
        "answer": _get(hit, "answer") or _get(hit, "text") or "",
        "citation": _get(hit, "citation") or "",
    }


# --- eligibility -----------------------------------------------------------------------

def evaluate(facts: dict):
    """The engine's results for these facts, or raises its FactError (message_zh)."""
    eligibility = _module("bot.eligibility")
    if eligibility is None:
        return None
    return eligibility.evaluate(facts)


FACT_LABELS = {"age": "年龄", "birth_date": "出生日期", "street": "住址街道", "resident": "住址",
               "hukou_local": "本地户籍", "economic_status": "经济状况", "care_level": "身体状况",
               "dementia": "失智", "living_situation": "居住情况",
               "special_family": "计划生育特殊家庭", "disability_certificate": "残疾证",
               "veteran": "退役军人"}


# --- booking -----------------------------------------------------------------------------

def booking_module() -> ModuleType | None:
    return _module("bot.booking")


def service_choices() -> list[tuple[str, str]]:
    booking = booking_module()
    if booking is None:
        return []
    return [(code, name) for code, name in _services(booking)]


def _services(booking) -> list[tuple[str, str]]:
    for attr in ("service_choices", "list_services"):
        fn = getattr(booking, attr, None)
        if fn:
            return [(_get(s, "code") or s[0], _get(s, "name") or s[1]) for s in fn()]
    return []


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
