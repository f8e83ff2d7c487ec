"""Shared by the benchmark scripts: start the real stack (tests/stack.py) on free ports with a
throw-away SQLite database, and read resident memory of a process tree with psutil."""
from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import MODEL, Stack  # noqa: E402


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


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its children, in MB."""
    try:
        proc = psutil.Process(pid)
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total / 2**20


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


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process and its children."""
    try:
        proc = psutil.Process(pid)
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = p.cpu_times()
            total += t.user + t.system
    return total
