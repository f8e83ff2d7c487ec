"""What the tracker cache (rasa_ext/tracker_store.py) buys and costs: the same load run twice
against the real stack, once with TRACKER_CACHE_SIZE=0 (Rasa's plain SQL tracker store
behaviour) and once with the cache, printing turns/s, Rasa CPU per turn and Rasa's RSS
after many conversations have been cached.

    .venv/bin/python benchmarks/tracker_cache.py [--conversations 600] [--turns-each 10]
        [--cache-size 200] [--postgres] [--env KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    add_env_option,
    stack_env,
    machine_note,
    run_threads,
    running_stack,
    tree_cpu_seconds,  # noqa: E402
    tree_rss_mb,
)
from chat_latency import CONVERSATION, sequential, turn  # noqa: E402


def drive(url: str, conversations: int, turns_each: int, parallel: int) -> tuple[int, float]:
    """`conversations` new conversations of `turns_each` turns, `parallel` at a time."""
    todo = list(range(conversations))
    lock = threading.Lock()
    done = [0]

    def worker() -> None:
        session = requests.Session()
        while True:
            with lock:
                if not todo:
                    return
                k = todo.pop()
            sender = f"bench-cache-{k}-{uuid.uuid4().hex[:6]}"
            for i in range(turns_each):
                turn(session, url, sender, CONVERSATION[(i + k) % len(CONVERSATION)])
                with lock:
                    done[0] += 1

    wall = run_threads(worker, [()] * parallel)
    return done[0], wall


def one_run(cache_size: int, args, extra_env: dict) -> None:
    env = dict(extra_env, TRACKER_CACHE_SIZE=str(cache_size))
    with running_stack(env, postgres=args.postgres) as (stack, _startup):
        rasa_pid = stack.processes["rasa"].popen.pid
        sequential(stack.web_url, 10)  # warm-up
        rss0 = tree_rss_mb(rasa_pid)
        cpu0 = tree_cpu_seconds(rasa_pid)
        turns, wall = drive(stack.web_url, args.conversations, args.turns_each, args.parallel)
        cpu = (tree_cpu_seconds(rasa_pid) - cpu0) * 1000 / max(1, turns)
        rss1 = tree_rss_mb(rasa_pid)
        print(
            f"cache {cache_size:>4}       {turns} turns in {wall:.1f} s: {turns / wall:.1f} turns/s, "
            f"rasa CPU {cpu:.1f} ms per turn, rasa RSS {rss0:.0f} -> {rss1:.0f} MB "
            f"(+{rss1 - rss0:.0f} MB)",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conversations", type=int, default=600)
    ap.add_argument("--turns-each", type=int, default=10)
    ap.add_argument("--parallel", type=int, default=10)
    ap.add_argument("--cache-size", type=int, default=200)
    ap.add_argument(
        "--postgres", action="store_true", help="PostgreSQL tracker store + Redis lock store, 2 Rasa workers"
    )
    add_env_option(ap)
    args = ap.parse_args()
    extra_env = stack_env(args)
    print(f"machine          {machine_note()}")
    print(
        f"load             {args.conversations} new conversations x {args.turns_each} turns, "
        f"{args.parallel} at a time"
    )
    for size in (0, args.cache_size):
        one_run(size, args, extra_env)


if __name__ == "__main__":
    main()
