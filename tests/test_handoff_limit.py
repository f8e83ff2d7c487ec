"""Per-address limit on requests for a person through the web chat. The conversation id the
web server issues carries a keyed tag of the client address (server/chat_ids.py); the
handoff queue counts requests per tag (bot/contact/handoff.py, bot/ratelimit.py) and refuses past
WEB_HANDOFFS_PER_HOUR_PER_ADDRESS; RATE_LIMITS=off turns it off. People in danger are
never refused."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.core import ActionHandoff
from bot.contact import handoff
from bot.db import session_scope
from bot.models import Handoff
from bot.ratelimit import RateLimiter
from server import chat_ids, rasa_client
from server.api import chat as api


@pytest.fixture
def limit3(monkeypatch, db_url):
    monkeypatch.setenv("WEB_HANDOFFS_PER_HOUR_PER_ADDRESS", "3")
    monkeypatch.delenv("RATE_LIMITS", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(handoff, "_limiter", None)
    # one fixed window: a test running across the top of the hour must not see two
    monkeypatch.setattr(RateLimiter, "_bucket", lambda self: 0)
    return 3


def queued() -> int:
    with session_scope() as s:
        return s.execute(select(func.count(Handoff.id))).scalar_one()


def sender_from(address: str) -> str:
    return chat_ids.new_sender(address)[1]


def test_a_conversation_id_carries_a_keyed_tag_of_its_address():
    a1, a2, b = sender_from("203.0.113.7"), sender_from("203.0.113.7"), sender_from("203.0.113.8")
    assert a1 != a2 and len(a1) == len("web-") + 32
    assert handoff.address_tag(a1) == handoff.address_tag(a2) != handoff.address_tag(b)
    assert handoff.address_tag("+8613800000001") is None  # SMS and phone lines: not counted


def test_one_address_can_queue_only_so_many_requests_for_a_person(limit3):
    for _ in range(3):
        handoff.create_handoff("request_human", sender_id=sender_from("203.0.113.7"), channel="web")
    with pytest.raises(handoff.HandoffLimited):
        handoff.create_handoff("request_human", sender_id=sender_from("203.0.113.7"), channel="web")
    with pytest.raises(handoff.HandoffLimited):
        handoff.create_handoff("complaint", sender_id=sender_from("203.0.113.7"), channel="web")
    assert queued() == 3  # nothing written for the refused ones
    handoff.create_handoff("request_human", sender_id=sender_from("203.0.113.8"), channel="web")
    handoff.create_handoff("callback", sender_id="+8613800000001", channel="sms")
    assert queued() == 5


def test_people_in_danger_are_never_refused(limit3):
    for _ in range(3):
        handoff.create_handoff("fallback", sender_id=sender_from("203.0.113.9"), channel="web")
    with pytest.raises(handoff.HandoffLimited):
        handoff.create_handoff("fallback", sender_id=sender_from("203.0.113.9"), channel="web")
    for kind in ("emergency", "crisis", "scam"):
        handoff.record_safety_event(
            kind, sender_id=sender_from("203.0.113.9"), channel="web", phone=None, text="救命", detail="paid"
        )
    assert queued() == 6


def test_rate_limits_off_turns_it_off(limit3, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "off")
    for _ in range(6):
        handoff.create_handoff("request_human", sender_id=sender_from("203.0.113.7"), channel="web")
    assert queued() == 6


@pytest.fixture
def chat(limit3, monkeypatch):
    """The web server with the real handoff action run in-process in place of Rasa."""
    monkeypatch.setattr(api, "_chat_limiter", None)
    monkeypatch.setattr(api, "_address_limiter", None)

    def send_message(sender, text, meta):
        tracker = Tracker(
            sender,
            {"channel": meta.get("channel")},
            {"text": text, "intent": {"name": "request_human"}, "metadata": meta},
            [],
            False,
            None,
            {},
            "action_listen",
        )
        dispatcher = CollectingDispatcher()
        asyncio.run(ActionHandoff().run(dispatcher, tracker, {}))
        return rasa_client.ChatResult(
            [
                rasa_client.Reply(m.get("text") or m.get("response"), custom=m.get("custom") or None)
                for m in dispatcher.messages
            ]
        )

    monkeypatch.setattr(rasa_client, "send_message", send_message)
    from server import create_app

    return create_app().test_client()


def test_through_the_web_chat_a_flood_of_new_conversations_is_refused(chat):
    def ask(address: str) -> dict:
        r = chat.post("/api/chat", json={"message": "转人工"}, environ_base={"REMOTE_ADDR": address})
        assert r.status_code == 200
        return r.get_json()["replies"][0]

    answers = [ask("198.51.100.4") for _ in range(4)]
    assert [a["custom"]["action"] for a in answers] == ["handoff"] * 3 + ["handoff_unavailable"]
    assert "请您直接拨打12349" in answers[3]["text"]  # a person is still reachable by phone
    assert ask("198.51.100.5")["custom"]["action"] == "handoff"  # another address
    assert queued() == 4
