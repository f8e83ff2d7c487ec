"""Load: at least 50 concurrent simulated conversations for a minute.

Prints errors (must be 0), turn latency p50/p95, turns/s, and checks that every booking
the conversations were told about is in the database exactly once (and no other).

    .venv/bin/python benchmarks/load.py                      # starts its own stack (SQLite)
    .venv/bin/python benchmarks/load.py --postgres           # its own stack on PostgreSQL + Redis
    .venv/bin/python benchmarks/load.py --url http://localhost:8000 \
        --database-url sqlite:///var/service.db              # against `make run`
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import (
    WebConversation,
    latest_code,
    percentile,
    run_threads,
    running_stack,  # noqa: E402
    stack_cpu_seconds,
)

PERSONA_PHONES = ["13800000001", "13800000002", "13800000003", "13800000004", "13800000005"]
PHONE_LOCKS = {p: threading.Lock() for p in PERSONA_PHONES}
SERVICES = ["助洁", "助浴", "助餐", "陪诊", "上门理发"]
WHEN = ["明天上午", "明天下午", "后天上午", "后天下午", "大后天上午", "下周一下午", "下周二上午"]
REFERENCE = re.compile(r"预约号([0-9 ]{6,})")


@dataclass
class Totals:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conversations: int = 0
    booking_attempts: int = 0
    references: list[str] = field(default_factory=list)
    unconfirmed: collections.Counter = field(default_factory=collections.Counter)  # last replies
    lock: threading.Lock = field(default_factory=threading.Lock)


def turn(conversation: WebConversation, text: str, totals: Totals) -> str:
    t0 = time.monotonic()
    try:
        r = conversation.post(text)
        elapsed = time.monotonic() - t0
        body = r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError) as exc:
        with totals.lock:
            totals.errors.append(f"{type(exc).__name__} on {text!r}")
        return ""
    with totals.lock:
        totals.latencies.append(elapsed)
        if body is None:
            totals.errors.append(f"HTTP {r.status_code} on {text!r}")
            return ""
        replies = body.get("replies") or []
        if not replies or any((x.get("custom") or {}).get("action") == "unavailable" for x in replies):
            totals.errors.append(f"unavailable reply on {text!r}")
    return "\n".join(x.get("text", "") for x in replies)


def policy_conversation(c, phone, database_url, totals, think):
    for text in (
        "你好",
        random.choice(
            ["高龄补贴有多少", "八十岁以上免费照料几个小时", "家庭养老床位是什么", "时间银行怎么参加"]
        ),
        "谢谢",
        "再见",
    ):
        turn(c, text, totals)
        time.sleep(think)


def booking_conversation(c, phone, database_url, totals, think):
    """A relative on the web: the request, the elder's number when asked, the SMS code
    (read from the outbox, as the elder would read it to her son), then the time."""
    with totals.lock:
        totals.booking_attempts += 1
    reply = turn(c, f"我想预约{random.choice(SERVICES)}", totals)
    code = None
    for _ in range(9):
        time.sleep(think)
        if "预约好了" in reply or not reply:
            break
        if code is not None and "验证码" in reply:
            answer, code = code, None
        elif any(w in reply for w in ("姓名", "名字", "哪位老人")):
            if not database_url:
                break  # against a remote URL without its database: no code to read
            with PHONE_LOCKS[phone]:  # the newest code to this number is ours while we hold it
                reply = turn(c, phone, totals)
                code = latest_code(database_url, phone) if "验证码" in reply else None
            continue
        # a time when asked for the day, the first one when free times are read out, else yes
        elif any(w in reply for w in ("哪一天", "哪天", "日子")):
            answer = random.choice(WHEN)
        else:
            answer = "第一个" if "哪一个" in reply else "对"
        reply = turn(c, answer, totals)
    match = REFERENCE.search(reply)
    with totals.lock:
        if "预约好了" in reply and match:
            totals.references.append(match.group(1).replace(" ", ""))
        else:
            totals.unconfirmed[reply.split("。")[0][:30]] += 1


def worker(url: str, database_url: str | None, deadline: float, totals: Totals, think: float) -> None:
    session = requests.Session()
    while time.monotonic() < deadline:
        conversation = WebConversation(session, url)
        phone = random.choice(PERSONA_PHONES)
        scenario = booking_conversation if random.random() < 0.5 else policy_conversation
        scenario(conversation, phone, database_url, totals, think)
        with totals.lock:
            totals.conversations += 1


def check_bookings(database_url: str, references: list[str]) -> tuple[int, int, int]:
    """(bookings told to callers, of those found exactly once, load bookings in the DB)."""
    engine = sa.create_engine(database_url, future=True)
    with engine.connect() as conn:
        found_once = sum(
            1
            for ref in references
            if conn.execute(
                sa.text("SELECT count(*) FROM bookings WHERE reference = :r"), {"r": ref}
            ).scalar_one()
            == 1
        )
        in_db = conn.execute(
            sa.text("SELECT count(*) FROM bookings WHERE idempotency_key LIKE 'chat:load-%'")
        ).scalar_one()
    engine.dispose()
    return len(references), found_once, in_db


@contextlib.contextmanager
def own_stack(postgres: bool):
    with running_stack({"CHAT_TURNS_PER_MINUTE": "1000"}, postgres=postgres) as (stack, _):
        yield stack.web_url, stack.database_url, stack


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url")
    ap.add_argument("--database-url")
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--conversations", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=0.5, help="pause between turns (s)")
    args = ap.parse_args()

    ctx = (
        contextlib.nullcontext((args.url, args.database_url, None)) if args.url else own_stack(args.postgres)
    )
    with ctx as (url, database_url, stack):
        cpu_before = stack_cpu_seconds(stack)
        totals = Totals()
        deadline = time.monotonic() + args.seconds
        wall = run_threads(worker, [(url, database_url, deadline, totals, args.think)] * args.conversations)
        cpu_after = stack_cpu_seconds(stack)
        told, found_once, in_db = (
            check_bookings(database_url, totals.references)
            if database_url
            else (len(totals.references), -1, -1)
        )

    lat = totals.latencies
    print(
        f"load: {args.conversations} concurrent conversations for {wall:.0f} s "
        f"({'PostgreSQL+Redis' if args.postgres else 'SQLite'} stack)"
        if not args.url
        else f"load: {args.conversations} concurrent conversations for {wall:.0f} s against {url}"
    )
    print(
        f"  conversations completed: {totals.conversations}, turns: {len(lat)}, "
        f"turns/s: {len(lat) / wall:.1f}"
    )
    print(
        f"  turn latency p50: {percentile(lat, 0.5) * 1000:.0f} ms, "
        f"p95: {percentile(lat, 0.95) * 1000:.0f} ms, max: {max(lat, default=0) * 1000:.0f} ms"
    )
    if cpu_after and lat:
        per_turn = ", ".join(
            f"{name} {(cpu_after[name] - cpu_before[name]) / len(lat) * 1000:.0f} ms" for name in cpu_after
        )
        print(f"  CPU per turn: {per_turn}")
    print(f"  errors: {len(totals.errors)}" + (f" (first: {totals.errors[:3]})" if totals.errors else ""))
    print(
        f"  bookings attempted: {totals.booking_attempts}, confirmed to callers: {told}, "
        f"found exactly once in DB: {found_once}, load bookings in DB: {in_db}"
    )
    if totals.unconfirmed:
        print(
            "  why the others were not booked (last reply, count): "
            + "; ".join(f"{k!r} {n}" for k, n in totals.unconfirmed.most_common(4))
        )
    ok = not totals.errors and (found_once == told == in_db or found_once == -1)
    print("  RESULT:", "ok" if ok else "PROBLEM")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
