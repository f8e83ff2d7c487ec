"""Server-issued conversation ids and signed button payloads (server/chat_ids.py)."""

from __future__ import annotations

import pytest

from server import chat_ids


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "unit-test-key")


def test_issued_ids_are_recognised_and_others_are_not(monkeypatch):
    token, conversation = chat_ids.new_sender()
    assert conversation.startswith("web-") and token != conversation
    assert chat_ids.conversation_of(token) == conversation
    for forged in (conversation, token[:-2] + "xx", "web-123", "", None, 5, "a" * 400):
        assert chat_ids.conversation_of(forged) is None
    monkeypatch.setenv("SECRET_KEY", "another-key")  # a token signed with another key
    assert chat_ids.conversation_of(token) is None


def test_offered_payloads_round_trip_only_in_their_conversation():
    _, mine = chat_ids.new_sender()
    _, theirs = chat_ids.new_sender()
    signed = chat_ids.sign_payload(mine, '/inform{"phone_number": "13800000001"}')
    assert signed.startswith(chat_ids.PAYLOAD_PREFIX)
    assert chat_ids.read_message(mine, signed) == '/inform{"phone_number": "13800000001"}'
    assert chat_ids.read_message(theirs, signed) == ""  # another conversation's button
    assert chat_ids.read_message(mine, signed[:-3] + "abc") == ""  # tampered


def test_raw_intents_from_a_client_are_text():
    _, conversation = chat_ids.new_sender()
    assert (
        chat_ids.read_message(conversation, '/inform{"phone": "13800000001"}')
        == 'inform{"phone": "13800000001"}'
    )
    assert chat_ids.read_message(conversation, "/greet") == "/greet"  # the widget's opener
    assert chat_ids.read_message(conversation, "明天上午") == "明天上午"
    assert chat_ids.sign_payload(conversation, "明天上午") == "明天上午"  # words stay words
