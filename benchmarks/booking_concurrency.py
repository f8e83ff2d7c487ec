"""Many callers at once for the same last places: how many win, how long each waits.

    .venv/bin/python benchmarks/booking_concurrency.py [--attempts 50] [--places 3]

Runs on a fresh SQLite file and, when it answers, on a throw-away PostgreSQL database at
127.0.0.1:5432 (users postgres/root, maintenance database `test`). Prints one JSON line per
database: attempts, winners (must equal places), losers offered alternatives, latency.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, update  # noqa: E402

from bot import clock, db  # noqa: E402
from bot.booking import ledger as booking  # noqa: E402
from bot.demo import loader as demo  # noqa: E402
from bot.manage import migrate  # noqa: E402
from bot.models import Elder  # noqa: E402
from bot.models.booking import CapacityWindow  # noqa: E402


def race(url: str, attempts: int, places: int) -> dict:
    migrate(url)
    demo.load_if_empty(url)
    start = dt.datetime.combine(clock.today() + dt.timedelta(days=4), dt.time(8))
    with db.session_scope(url) as s:
        street_id = s.execute(select(Elder.street_id).where(Elder.phone == "13800000001")).scalar_one()
        elders = [
            Elder(
                name=f"压测老人{i}",
                birth_date=dt.date(1940, 1, 1),
                street_id=street_id,
                phone=f"1760000{i:04d}",
                address=f"测试地址{i}",
            )
            for i in range(attempts)
        ]
        s.add_all(elders)
        s.flush()
        ids = [e.id for e in elders]
        s.execute(
            update(CapacityWindow)
            .where(CapacityWindow.provider_id == 1, CapacityWindow.starts_at == start)
            .values(capacity=places, booked=0)
        )
    barrier = threading.Barrier(attempts)
    latencies: list[float] = [0.0] * attempts
    results: list = [None] * attempts

    def one(i: int) -> None:
        barrier.wait()
        t0 = time.perf_counter()
        results[i] = booking.book(
            ids[i], "bath", start, "bench", f"bench:{uuid.uuid4().hex}", database_url=url
        )
        latencies[i] = time.perf_counter() - t0

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    winners = sum(1 for r in results if r.ok)
    offered = sum(1 for r in results if not r.ok and r.code == "full" and r.alternatives)
    ordered = sorted(latencies)
    return {
        "database": url.split(":", 1)[0],
        "attempts": attempts,
        "places": places,
        "winners": winners,
        "losers_offered_alternatives": offered,
        "correct": winners == places and offered == attempts - places,
        "wall_s": round(wall, 3),
        "latency_p50_ms": round(statistics.median(ordered) * 1000, 1),
        "latency_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=50)
    parser.add_argument("--places", type=int, default=3)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        os.environ["DATABASE_URL"] = url
        figures = race(url, args.attempts, args.places)
        print(json.dumps(figures, ensure_ascii=False))
        ok &= figures["correct"]
        db.dispose_all()
    try:
        import psycopg2

        admin = None
        for user in ("postgres", "root"):
            try:
                admin = psycopg2.connect(host="127.0.0.1", user=user, dbname="test", connect_timeout=3)
                break
            except psycopg2.Error:
                continue
        if admin is None:
            print(json.dumps({"database": "postgresql", "skipped": "not reachable on 127.0.0.1:5432"}))
            return 0 if ok else 1
        admin.autocommit = True
        name = f"booking_bench_{uuid.uuid4().hex[:8]}"
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"postgresql+psycopg2://{admin.info.user}@127.0.0.1:5432/{name}"
            os.environ["DATABASE_URL"] = url
            figures = race(url, args.attempts, args.places)
            print(json.dumps(figures, ensure_ascii=False))
            ok &= figures["correct"]
        finally:
            db.dispose_all()
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    except ImportError:
        print(json.dumps({"database": "postgresql", "skipped": "psycopg2 not installed"}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
