"""Rasa and the action server are closed to strangers: both listen on 127.0.0.1 only, Rasa's
HTTP API wants its token, the action server wants the secret Rasa sends; the web server (the
only public door) still works and /healthz still sees both."""

from __future__ import annotations

import os
import stat
import subprocess

import psutil
import pytest
import requests
import yaml

from tests.stack import ROOT, VENV_BIN, run_python

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/conversations/someone/tracker"),
        ("POST", "/model/parse"),
        ("POST", "/conversations/someone/execute"),
        ("PUT", "/model"),
        ("GET", "/status"),
    ],
)
def test_rasa_api_refuses_requests_without_the_token(stack, method, path):
    url = stack.rasa_url + path
    assert requests.request(method, url, json={"text": "你好"}, timeout=10).status_code == 401
    assert (
        requests.request(method, url + "?token=guess", json={"text": "你好"}, timeout=10).status_code == 401
    )


def test_rasa_api_answers_with_the_token(stack):
    parsed = requests.post(stack.rasa_api("/model/parse"), json={"text": "你好"}, timeout=10)
    assert parsed.status_code == 200 and parsed.json()["intent"]["name"] == "greet"


def test_action_server_refuses_calls_without_the_secret(stack):
    body = {"next_action": "action_safety_denial", "sender_id": "x", "tracker": {}, "domain": {}}
    assert requests.post(stack.actions_url + "/webhook", json=body, timeout=10).status_code == 403
    wrong = {"X-Action-Secret": "not-it"}
    assert (
        requests.post(stack.actions_url + "/webhook", json=body, headers=wrong, timeout=10).status_code == 403
    )
    assert requests.get(stack.actions_url + "/actions", timeout=10).status_code == 403
    right = {"X-Action-Secret": stack.action_secret}
    listed = requests.get(stack.actions_url + "/actions", headers=right, timeout=10)
    assert listed.status_code == 200 and {"name": "action_crisis"} in listed.json()
    assert requests.get(stack.actions_url + "/health", timeout=10).status_code == 200


def test_a_conversation_still_runs_actions_through_the_closed_doors(stack, sender):
    text = stack.chat_text(sender, "我不想活了")
    assert "12356" in text  # a custom action ran: Rasa sent the secret
    assert requests.get(stack.web_url + "/healthz", timeout=10).status_code == 200


def _listening(port: int) -> set[str]:
    return {
        c.laddr.ip
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


def test_internal_servers_listen_on_loopback_only(stack):
    assert _listening(stack.rasa_port) == {"127.0.0.1"}
    assert _listening(stack.actions_port) == {"127.0.0.1"}


def test_action_server_does_not_start_without_a_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_SECRET"}
    env["PYTHONPATH"] = str(ROOT)
    done = run_python(["-m", "actions.server", "--port", "1"], env)
    assert done.returncode == 2 and "ACTION_SERVER_SECRET" in done.stderr


def test_endpoints_and_secrets_files_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTION_SERVER_SECRET", "s3cret-for-the-test")
    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT), VAR_DIR=str(tmp_path))
    subprocess.run(
        [str(VENV_BIN / "python"), "scripts/render_endpoints.py", str(tmp_path / "endpoints.yml")],
        cwd=ROOT,
        env=env,
        check=True,
    )
    rendered = yaml.safe_load((tmp_path / "endpoints.yml").read_text())
    assert rendered["action_endpoint"]["headers"] == {"X-Action-Secret": "s3cret-for-the-test"}
    assert stat.S_IMODE((tmp_path / "endpoints.yml").stat().st_mode) == 0o600
    for _ in range(2):  # generated once, then kept
        subprocess.run(
            [str(VENV_BIN / "python"), "scripts/internal_secrets.py", str(tmp_path / "internal.env")],
            cwd=ROOT,
            env=env,
            check=True,
        )
        lines = (tmp_path / "internal.env").read_text().splitlines()
        assert stat.S_IMODE((tmp_path / "internal.env").stat().st_mode) == 0o600
        values = dict(line.split("=", 1) for line in lines)
        assert values["ACTION_SERVER_SECRET"] == "s3cret-for-the-test"
        assert len(values["RASA_AUTH_TOKEN"]) >= 32
        if _ == 0:
            first = values["RASA_AUTH_TOKEN"]
    assert values["RASA_AUTH_TOKEN"] == first
