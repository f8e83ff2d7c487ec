"""Shared helpers for actions: who is calling, on which channel, and a safe DB call."""
from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)
T = TypeVar("T")

DB_DOWN_TEXT = ("不好意思，系统暂时有点问题，没能办好。您可以稍后再试，"
                "或者说“转人工”，顾问会帮您办。")


def metadata(tracker: Tracker) -> dict:
    meta = (tracker.latest_message or {}).get("metadata") or {}
    if not meta:
        meta = tracker.get_slot("session_started_metadata") or {}
    return meta if isinstance(meta, dict) else {}


def channel(tracker: Tracker) -> str:
    return metadata(tracker).get("channel") or tracker.get_slot("channel") or "web"


# Channels whose caller number comes from the carrier (signature-checked by the web server),
# never from a client: only there is the number a proof (bot/identity.py).
TRUSTED_NUMBER_CHANNELS = ("voice", "sms")


def caller_phone(tracker: Tracker) -> str | None:
    """The carrier's caller number on the phone and SMS lines; None on the web."""
    if channel(tracker) not in TRUSTED_NUMBER_CHANNELS:
        return None
    return metadata(tracker).get("phone") or tracker.get_slot("caller_phone")


def is_voice(tracker: Tracker) -> bool:
    return channel(tracker) == "voice"


def guarded(dispatcher: CollectingDispatcher, what: str, fn: Callable[[], T]) -> T | None:
    """Runs a bot/ call; on a database or other backend error tells the person politely,
    logs precisely for the operator and returns None (nothing half-written: bot/ uses
    one transaction per unit of work)."""
    try:
        return fn()
    except Exception:  # the conversation must go on whatever failed behind it
        log.exception("action backend call failed: %s", what)
        dispatcher.utter_message(text=DB_DOWN_TEXT)
        return None


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def entity_values(tracker: Tracker, entity: str) -> list[Any]:
    return list(tracker.get_latest_entity_values(entity))
