"""Starts the real processes (Rasa, action server, web server) on free ports for tests
and benchmarks, against a database chosen by the caller. No mocks: real HTTP between them."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# RASA_MODEL lets a developer test a model trained elsewhere (default: what `make train` made).
MODEL = Path(os.environ.get("RASA_MODEL") or ROOT / "models" / "current.tar.gz")


def latest_code(database_url: str, phone: str) -> str | None:
    """The newest one-time code the assistant texted to `phone`, read from the SMS outbox
    (the embedded default keeps every SMS there), as the person would read it off her phone."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as conn:
            body = conn.execute(
                sa.text("select body from sms_outbox where to_number = :n order by id desc limit 1"),
                {"n": "+86" + "".join(ch for ch in phone if ch.isdigit())[-11:]},
            ).scalar()
    finally:
        engine.dispose()
    m = re.search(r"验证码(\d{6})", body or "")
    return m.group(1) if m else None


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None, ok=(200,)) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=2).status_code in ok:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@dataclass
class Process:
    name: str
    cmd: list[str]
    env: dict
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def new_stack(tmp_path_factory, name: str, extra_env: dict | None = None) -> Stack:
    """A stack in a new folder of its own with a SQLite service database; fails the test
    when there is no trained model to run."""
    import pytest

    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it)")
    workdir = tmp_path_factory.mktemp(name)
    return Stack(
        workdir=workdir, database_url=f"sqlite:///{workdir / 'service.db'}", extra_env=extra_env or {}
    )


def print_logs(workdir: Path, names: tuple[str, ...] = ("rasa", "actions", "web")) -> None:
    """The end of each process's log, for a stack that did not start."""
    for name in names:
        log = workdir / f"{name}.log"
        if log.exists():
            print(f"--- {name}.log ---\n" + log.read_text(errors="replace")[-4000:])


@contextlib.contextmanager
def started(stack: Stack):
    """The stack running for the block, stopped after it; when it does not start, the end of
    each process's log is printed before the error."""
    try:
        stack.start()
    except Exception:
        stack.stop()
        print_logs(stack.workdir)
        raise
    try:
        yield stack
    finally:
        stack.stop()


def rows(database_url: str, sql: str, **params) -> list:
    """The rows of one query, on a connection of its own."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as c:
            return list(c.execute(sa.text(sql), params))
    finally:
        engine.dispose()


def db_rows(stack: Stack, sql: str, **params) -> list:
    """The rows of one query on the stack's service database."""
    return rows(stack.database_url, sql, **params)


def run_python(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python <args>` with the suite's interpreter in the project root, its output captured
    as text."""
    return subprocess.run(
        [str(VENV_BIN / "python"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def actions_command(port: int) -> list[str]:
    """The command line of an action server on `port`."""
    return [str(VENV_BIN / "python"), "-m", "actions.server", "--port", str(port)]


def rasa_command(port: int, token: str, endpoints: Path) -> list[str]:
    """The command line of a Rasa server on `port` with the suite's model."""
    return [
        str(VENV_BIN / "rasa"),
        "run",
        "--enable-api",
        "--interface",
        "127.0.0.1",
        f"--auth-token={token}",
        "--port",
        str(port),
        "--model",
        str(MODEL),
        "--endpoints",
        str(endpoints),
        "--credentials",
        "credentials.yml",
    ]


def web_command(port: int, threads: int) -> list[str]:
    """The command line of the web server (one gunicorn worker) on `port`."""
    return [
        str(VENV_BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "server:create_app()",
    ]


@dataclass
class Stack:
    """The three processes of `make run`, on free ports, sharing one environment."""

    workdir: Path
    database_url: str
    extra_env: dict = field(default_factory=dict)
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)
    _issued: dict[str, str] = field(default_factory=dict)  # test's name -> issued sender
    # the internal servers' shared secrets, new for every stack (as `make run` generates them)
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(24))
    action_secret: str = field(default_factory=lambda: secrets.token_hex(24))

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def rasa_status_url(self) -> str:
        return f"{self.rasa_url}/status?token={self.rasa_token}"

    def rasa_api(self, path: str) -> str:
        """A URL of Rasa's HTTP API with the token (tests that read Rasa directly)."""
        return f"{self.rasa_url}{path}?token={self.rasa_token}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "VAR_DIR": str(self.workdir),
                "RASA_URL": self.rasa_url,
                "ACTION_SERVER_URL": self.actions_url,
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "PYTHONPATH": str(ROOT),
                "SECRET_KEY": "test-secret",
                # every test conversation comes from 127.0.0.1: the per-address limit is tested
                # on its own (tests/test_chat_limits.py), the per-conversation one stays on
                "CHAT_TURNS_PER_MINUTE_PER_ADDRESS": "1000000",
                # ... and so is the per-address limit on requests for a person
                # (tests/test_handoff_limit.py)
                "WEB_HANDOFFS_PER_HOUR_PER_ADDRESS": "1000000",
                # a test stack is never a live line: the demo personas are loaded on PostgreSQL too
                # (the production profile refuses them otherwise, tests/test_demo_refused.py)
                "DEMO_DATA": "allow",
                "RASA_AUTH_TOKEN": self.rasa_token,
                "ACTION_SERVER_SECRET": self.action_secret,
            }
        )
        env.update(self.extra_env)
        return env

    def prepare(self) -> None:
        env = self.env()
        subprocess.run(
            [str(VENV_BIN / "python"), "-m", "bot.manage", "init"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        endpoints = self.workdir / "endpoints.yml"
        subprocess.run(
            [str(VENV_BIN / "python"), "scripts/render_endpoints.py", str(endpoints)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )

    def build(self) -> None:
        env = self.env()
        logs = self.workdir
        self.processes = {
            "actions": Process("actions", actions_command(self.actions_port), env, logs / "actions.log"),
            "rasa": Process(
                "rasa",
                rasa_command(self.rasa_port, env["RASA_AUTH_TOKEN"], self.workdir / "endpoints.yml"),
                env,
                logs / "rasa.log",
            ),
            "web": Process("web", web_command(self.web_port, threads=16), env, logs / "web.log"),
        }

    def start(self, timeout: float = 180) -> dict[str, float]:
        self.prepare()
        self.build()
        t0 = time.monotonic()
        for p in self.processes.values():
            p.start()
        timings = {
            "actions": wait_http(self.actions_url + "/health", timeout, self.processes["actions"].popen),
            "web": wait_http(self.web_url + "/healthz", timeout, self.processes["web"].popen, ok=(200, 503)),
            "rasa": wait_http(self.rasa_status_url, timeout, self.processes["rasa"].popen),
        }
        wait_http(self.web_url + "/healthz", timeout)
        timings["all"] = time.monotonic() - t0
        return timings

    def restart(self, name: str, timeout: float = 180) -> None:
        p = self.processes[name]
        p.stop()
        p.start()
        health = {
            "actions": self.actions_url + "/health",
            "rasa": self.rasa_status_url,
            "web": self.web_url + "/healthz",
        }[name]
        wait_http(health, timeout, p.popen, ok=(200, 503) if name == "web" else (200,))

    def stop(self) -> None:
        for p in self.processes.values():
            p.stop()

    def chat(
        self, sender: str, message: str, metadata: dict | None = None, timeout: float = 30
    ) -> list[dict]:
        """One web turn. `sender` is the test's own name for a conversation: the server
        issues the real id on the first turn and the stack sends it back from then on, as
        the widget does. `metadata` is sent as a client would; the server ignores it."""
        body = {"sender": self._issued.get(sender), "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        r = requests.post(self.web_url + "/api/chat", json=body, timeout=timeout)
        r.raise_for_status()
        data = r.json()
        self._issued[sender] = data["sender"]
        return data["replies"]

    def bridge_turn(self, sender: str, message: str, metadata: dict) -> list[dict]:
        """One turn as the phone/SMS bridge sends it: straight to Rasa's REST channel on
        127.0.0.1 with the carrier's caller number in the metadata (what the web server does
        after checking Twilio's signature; tests/test_twilio_e2e.py plays the whole line)."""
        r = requests.post(
            self.rasa_url + "/webhooks/rest/webhook",
            json={"sender": sender, "message": message, "metadata": metadata},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()

    def conversation(self, sender: str) -> str:
        """The conversation id Rasa and the database know for a test's conversation."""
        return self.conversation_of(self._issued[sender])

    def conversation_of(self, token: str) -> str:
        from itsdangerous import URLSafeSerializer

        return URLSafeSerializer(self.env()["SECRET_KEY"], salt="elder12349-sender").loads(token)

    def press(self, sender: str, replies: list[dict], title: str) -> list[dict]:
        """Presses a button offered in `replies` (sends its signed payload, as the widget)."""
        payload = next(b["payload"] for r in replies for b in r.get("buttons") or [] if b["title"] == title)
        return self.chat(sender, payload)

    def chat_text(self, sender: str, message: str, metadata: dict | None = None) -> str:
        return "\n".join(r["text"] for r in self.chat(sender, message, metadata))
