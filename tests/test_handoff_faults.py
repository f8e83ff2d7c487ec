"""Asking for a person while the database (and so the queue) is down: the phone line still
transfers; the web tells the person to ring 12349 instead of "登记了"."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import OperationalError

from actions.core import QUEUE_DOWN_TEXT, ActionHandoff
from bot.contact import handoff


def _run(channel: str, monkeypatch, fail: bool):
    if fail:

        def down(*_a, **_k):
            raise OperationalError("INSERT", {}, Exception("database is locked"))

        monkeypatch.setattr(handoff, "create_handoff", down)
    latest = {"text": "转人工", "intent": {"name": "request_human"}, "metadata": {"channel": channel}}
    tracker = Tracker(
        "faulty", {}, latest, [{"event": "user", "text": "转人工"}], False, None, {}, "action_listen"
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHandoff().run(dispatcher, tracker, {"responses": {}}))
    return dispatcher.messages


def test_phone_still_transfers_when_the_queue_is_down(monkeypatch):
    messages = _run("voice", monkeypatch, fail=True)
    assert messages[0]["custom"] == {"action": "handoff", "handoff_id": None, "transfer_promise": True}


def test_web_is_told_to_ring_12349_when_the_queue_is_down(monkeypatch):
    messages = _run("web", monkeypatch, fail=True)
    assert messages[0]["text"] == QUEUE_DOWN_TEXT and "12349" in messages[0]["text"]
    assert messages[0]["custom"]["action"] == "handoff_unavailable"


def test_queued_normally(monkeypatch, db_url):
    messages = _run("web", monkeypatch, fail=False)
    assert messages[0]["custom"]["action"] == "handoff" and messages[0]["custom"]["handoff_id"]
