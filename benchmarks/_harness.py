"""Shared by the benchmark scripts: start the real stack (tests/stack.py) on free ports with a
throw-away SQLite database, and read resident memory of a process tree with psutil."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import MODEL, Stack, latest_code  # noqa: E402,F401  (load.py reads codes)


def add_env_option(ap: argparse.ArgumentParser) -> None:
    """--env KEY=VALUE, as often as needed: extra environment for the stack (stack_env reads it)."""
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the stack, e.g. SANIC_WORKERS=2 "
        "REDIS_URL=redis://127.0.0.1:6379/15 (the production profile's workers)",
    )


def stack_env(args: argparse.Namespace) -> dict[str, str]:
    """The --env options as a dict for running_stack."""
    return dict(kv.split("=", 1) for kv in args.env)


@contextlib.contextmanager
def running_stack(extra_env: dict | None = None, postgres: bool = False):
    """Yields (stack, seconds from the start command until /healthz answered 200).

    postgres=True: the production profile on this machine's PostgreSQL (a throw-away
    database, tests/pg.py) and Redis, with two Rasa workers unless extra_env says otherwise."""
    if not MODEL.exists():
        raise SystemExit(f"no model at {MODEL}: run `make train` or set RASA_MODEL")
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        env = dict(extra_env or {})
        db_ctx = contextlib.nullcontext(f"sqlite:///{tmp}/service.db")
        if postgres:
            from tests.pg import REDIS_TEST_URL, temporary_database

            db_ctx = temporary_database("elder_bench")
            env = {"REDIS_URL": REDIS_TEST_URL, "SANIC_WORKERS": "2", **env}
        with db_ctx as db_url:
            stack = Stack(workdir=Path(tmp), database_url=db_url, extra_env=env)
            t0 = time.monotonic()
            try:
                stack.start()
                startup = time.monotonic() - t0
                yield stack, startup
            finally:
                stack.stop()


def _tree(pid: int) -> list:
    """A process and all its children (empty when it is gone)."""
    try:
        proc = psutil.Process(pid)
        return [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _tree_sum(pid: int, read) -> float:
    total = 0.0
    for p in _tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += read(p)
    return total


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its children, in MB."""
    return _tree_sum(pid, lambda p: p.memory_info().rss) / 2**20


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process and its children."""
    return _tree_sum(pid, lambda p: sum(p.cpu_times()[:2]))


def stack_cpu_seconds(stack) -> dict[str, float]:
    """tree_cpu_seconds of each process of a Stack, by name ({} without a stack)."""
    return {
        name: tree_cpu_seconds(proc.popen.pid)
        for name, proc in (stack.processes.items() if stack is not None else ())
    }


class WebConversation:
    """One web conversation: sends back the id the server issued (as the widget does)."""

    def __init__(self, session, url: str):
        self.session, self.url, self.sender = session, url.rstrip("/") + "/api/chat", None

    def post(self, text: str, timeout: float = 60):
        body = {"message": text} if self.sender is None else {"sender": self.sender, "message": text}
        r = self.session.post(self.url, json=body, timeout=timeout)
        if r.status_code == 200:
            self.sender = r.json().get("sender") or self.sender
        return r


def run_threads(target, args_list: list[tuple]) -> float:
    """Runs target(*args) in one thread per entry, waits for all; wall seconds."""
    threads = [threading.Thread(target=target, args=args) for args in args_list]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def machine_note() -> str:
    """CPU count and load average: figures from a shared 2-core machine mean little without it."""
    import os

    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min) / {five:.1f} (5 min)"
