"""Start-up time and resident memory of the whole stack (Rasa, actions, web).

    .venv/bin/python benchmarks/startup_memory.py [--runs 1]   (RASA_MODEL=... to pick a model)

Start-up = from the start command (database init + the three processes) until
GET /healthz answers 200. Memory = RSS of each process including its children (psutil),
read after a few warm-up turns through POST /api/chat (Rasa loads lazily on first parse).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import MODEL, running_stack, tree_rss_mb  # noqa: E402

WARM_UP = ["你好", "高龄补贴怎么领", "我妈今年八十五岁", "谢谢", "再见"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1, help="start the stack this many times")
    args = ap.parse_args()
    startups, memories = [], []
    for run in range(args.runs):
        with running_stack() as (stack, startup):
            for i, text in enumerate(WARM_UP):
                stack.chat(f"bench-warm-{run}", text)
            memory = {name: tree_rss_mb(p.popen.pid) for name, p in stack.processes.items()}
        startups.append(startup)
        memories.append(memory)
        print(f"run {run + 1}: start-up {startup:.1f} s; RSS " +
              ", ".join(f"{k} {v:.0f} MB" for k, v in memory.items()) +
              f"; total {sum(memory.values()):.0f} MB", flush=True)
    print(f"model            {MODEL}")
    print(f"start-up         {statistics.median(startups):.1f} s (median of {len(startups)}; "
          "start command until /healthz = 200)")
    last = memories[-1]
    for name, mb in last.items():
        print(f"RSS {name:12} {mb:.0f} MB")
    print(f"RSS total        {sum(last.values()):.0f} MB (all processes incl. children)")


if __name__ == "__main__":
    main()
