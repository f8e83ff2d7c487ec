"""Traffic limits of the chat API: per conversation and per client address; RATE_LIMITS=off
turns them off for load tests. Rasa is replaced by a local function here: these tests are
about the web server's own gate, which answers before Rasa is asked."""

from __future__ import annotations

import pytest

from server import rasa_client
from server.api import chat as api


@pytest.fixture
def client(monkeypatch, db_url):
    monkeypatch.setattr(api, "_chat_limiter", None)
    monkeypatch.setattr(api, "_address_limiter", None)
    monkeypatch.setenv("CHAT_TURNS_PER_MINUTE_PER_ADDRESS", "5")
    monkeypatch.setattr(
        rasa_client,
        "send_message",
        lambda sender, text, meta: rasa_client.ChatResult([rasa_client.Reply(f"收到：{text}")]),
    )
    from server import create_app

    return create_app().test_client()


def test_one_address_cannot_open_endless_conversations(client):
    statuses = [
        client.post(
            "/api/chat", json={"message": "你好"}, environ_base={"REMOTE_ADDR": "203.0.113.7"}
        ).status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    other = client.post("/api/chat", json={"message": "你好"}, environ_base={"REMOTE_ADDR": "203.0.113.8"})
    assert other.status_code == 200 and "收到" in other.get_json()["replies"][0]["text"]


def test_rate_limits_off_for_load_tests(client, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "off")
    statuses = {
        client.post(
            "/api/chat", json={"message": "你好"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
        ).status_code
        for _ in range(8)
    }
    assert statuses == {200}
