"""A crashed or stalled part must not leave a person talking to silence: the real
processes are killed, paused and restarted here, and the others keep answering politely
and recover without a restart of their own."""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from tests.stack import new_stack

pytestmark = pytest.mark.e2e

POLITE_UNAVAILABLE = ("12349", "转人工")


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory):
    s = new_stack(tmp_path_factory, "faults", {"RASA_TIMEOUT_SECONDS": "3"})
    s.start()
    yield s
    s.stop()


def health(stack) -> tuple[int, dict]:
    r = requests.get(stack.web_url + "/healthz", timeout=15)
    return r.status_code, r.json()["checks"]


def test_action_server_killed_then_restarted(fault_stack, sender):
    fault_stack.processes["actions"].kill()
    r = requests.post(
        fault_stack.web_url + "/api/chat", json={"sender": sender, "message": "转人工"}, timeout=30
    )
    assert r.status_code == 200
    text = r.json()["replies"][0]["text"]
    assert all(word in text for word in POLITE_UNAVAILABLE), text
    status, checks = health(fault_stack)
    assert status == 503 and checks["actions"] == "down" and checks["rasa"] == "ok"

    fault_stack.restart("actions")
    replies = fault_stack.chat(sender + "-after", "转人工")
    assert replies[0]["custom"]["action"] == "handoff"
    assert health(fault_stack)[0] == 200


def test_rasa_killed_then_restarted(fault_stack, sender):
    fault_stack.processes["rasa"].kill()
    r = requests.post(
        fault_stack.web_url + "/api/chat", json={"sender": sender, "message": "你好"}, timeout=30
    )
    assert r.status_code == 200
    assert all(w in r.json()["replies"][0]["text"] for w in POLITE_UNAVAILABLE)
    status, checks = health(fault_stack)
    assert status == 503 and checks["rasa"] == "down"

    fault_stack.restart("rasa")
    assert "您好" in fault_stack.chat_text(sender, "你好")
    assert health(fault_stack)[0] == 200


def test_stalled_rasa_answers_within_the_timeout(fault_stack, sender):
    pid = fault_stack.processes["rasa"].popen.pid
    os.killpg(pid, signal.SIGSTOP)  # a real stall: the process is alive but answers nothing
    try:
        start = time.monotonic()
        r = requests.post(
            fault_stack.web_url + "/api/chat", json={"sender": sender, "message": "你好"}, timeout=30
        )
        elapsed = time.monotonic() - start
        assert r.status_code == 200
        assert all(w in r.json()["replies"][0]["text"] for w in POLITE_UNAVAILABLE)
        assert elapsed < 10, f"took {elapsed:.1f}s with RASA_TIMEOUT_SECONDS=3"
    finally:
        os.killpg(pid, signal.SIGCONT)
    assert "您好" in fault_stack.chat_text(sender + "-resumed", "你好")
