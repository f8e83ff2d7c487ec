"""Chat-turn latency through POST /api/chat, sequential (p50/p95), and throughput with
concurrent conversations (turns per second), against the real stack.

    .venv/bin/python benchmarks/chat_latency.py [--turns 200] [--conversations 10]
        [--url http://127.0.0.1:8000]   (default: start the stack with tests/stack.py)

Messages are a fixed mix of what callers say (greetings, policy questions, numerals, ASR
errors, short answers, thanks); every conversation starts with a new sender id.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    add_env_option,
    stack_env,
    MODEL,
    WebConversation,
    machine_note,
    percentile,
    run_threads,  # noqa: E402
    running_stack,
)

CONVERSATION = [
    "喂，你好",
    "高龄补贴怎么领",
    "我妈今年八十五岁",
    "住在五老春",
    "嗯",
    "啥？再说一遍",
    "谢谢啊姑娘",
    "没别的事了",
    "你是机器人吗",
    "帮我查一下快递",
]


def turn(conversation: WebConversation, text: str) -> float:
    t0 = time.perf_counter()
    r = conversation.post(text)
    r.raise_for_status()
    assert r.json()["replies"], f"no reply to {text!r}"
    return time.perf_counter() - t0


def sequential(url: str, turns: int) -> list[float]:
    session = requests.Session()
    latencies = []
    conversation = WebConversation(session, url)
    for i in range(turns):
        if i % len(CONVERSATION) == 0:
            conversation = WebConversation(session, url)  # a new conversation
        latencies.append(turn(conversation, CONVERSATION[i % len(CONVERSATION)]))
    return latencies


def concurrent(url: str, conversations: int, turns_each: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def talk(k: int) -> None:
        conversation = WebConversation(requests.Session(), url)
        for i in range(turns_each):
            try:
                dt = turn(conversation, CONVERSATION[(i + k) % len(CONVERSATION)])
            except Exception as exc:  # counted, not hidden
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                latencies.append(dt)

    wall = run_threads(talk, [(k,) for k in range(conversations)])
    if errors:
        print(f"errors           {len(errors)} (first: {errors[0]})")
    return wall, latencies


def report(
    url: str, turns: int, conversations: int, turns_each: int, pids: dict[str, int] | None = None
) -> None:
    sequential(url, 10)  # warm-up: Rasa and the action server load lazily
    print(f"machine          {machine_note()}")
    seq = sequential(url, turns)
    ms = [x * 1000 for x in seq]
    print(
        f"sequential       {len(ms)} turns: p50 {percentile(ms, 0.5):.0f} ms, "
        f"p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms, mean {statistics.mean(ms):.0f} ms"
    )
    from _harness import tree_cpu_seconds

    cpu0 = {name: tree_cpu_seconds(pid) for name, pid in (pids or {}).items()}
    wall, lat = concurrent(url, conversations, turns_each)
    if pids:
        # CPU per turn and per process while concurrent: shows which process is the bottleneck
        used = {
            name: (tree_cpu_seconds(pid) - cpu0[name]) * 1000 / max(1, len(lat)) for name, pid in pids.items()
        }
        print(
            "CPU per turn     "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in used.items())
            + f" (wall {wall * 1000 / max(1, len(lat)):.0f} ms per turn)"
        )
    lat_ms = [x * 1000 for x in lat]
    print(
        f"concurrent       {conversations} conversations x {turns_each} turns: "
        f"{len(lat) / wall:.1f} turns/s, p50 {percentile(lat_ms, 0.5):.0f} ms, "
        f"p95 {percentile(lat_ms, 0.95):.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--conversations", type=int, default=10)
    ap.add_argument("--turns-each", type=int, default=30)
    ap.add_argument("--url", help="an already running web server; default: start the stack")
    add_env_option(ap)
    args = ap.parse_args()
    extra_env = stack_env(args)
    if args.url:
        report(args.url.rstrip("/"), args.turns, args.conversations, args.turns_each)
        return
    with running_stack(extra_env) as (stack, startup):
        print(
            f"model            {MODEL} (stack up in {startup:.1f} s)"
            + (f", env {extra_env}" if extra_env else "")
        )
        report(
            stack.web_url,
            args.turns,
            args.conversations,
            args.turns_each,
            {name: p.popen.pid for name, p in stack.processes.items()},
        )
        from _harness import tree_rss_mb

        rss = {name: tree_rss_mb(p.popen.pid) for name, p in stack.processes.items()}
        print(
            "RSS after load   "
            + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items())
            + f"; total {sum(rss.values()):.0f} MB"
        )


if __name__ == "__main__":
    main()
