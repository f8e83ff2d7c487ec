"""Start-up time and resident memory of the whole stack (Rasa, actions, web).

    .venv/bin/python benchmarks/startup_memory.py [--runs 1]   (RASA_MODEL=... to pick a model)
    .venv/bin/python benchmarks/startup_memory.py --rasa-only /tmp/m/diet.tar.gz
        (only `rasa run --enable-api` with that model, NLU-only models too: to compare
        pipelines' server start-up and memory; time until a first /model/parse answers)

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

from _harness import (  # noqa: E402
    MODEL,
    add_env_option,
    machine_note,
    running_stack,
    stack_env,
    tree_rss_mb,
)

WARM_UP = ["你好", "高龄补贴怎么领", "我妈今年八十五岁", "谢谢", "再见"]


def rasa_only(model: str) -> None:
    import os
    import subprocess
    import time

    import requests

    from _harness import ROOT
    from tests.stack import VENV_BIN, free_port

    port = free_port()
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(VENV_BIN / "rasa"), "run", "--enable-api", "--port", str(port), "--model", model],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"rasa exited with {proc.returncode}")
            try:
                r = requests.post(f"http://127.0.0.1:{port}/model/parse", json={"text": "你好"}, timeout=5)
                if r.status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() - t0 > 300:
                raise SystemExit("rasa did not answer within 300 s")
            time.sleep(0.3)
        startup = time.monotonic() - t0
        for text in WARM_UP:
            requests.post(f"http://127.0.0.1:{port}/model/parse", json={"text": text}, timeout=30)
        print(f"model            {model}")
        print(f"machine          {machine_note()}")
        print(f"rasa start-up    {startup:.1f} s (until the first /model/parse answers)")
        print(f"RSS rasa         {tree_rss_mb(proc.pid):.0f} MB")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1, help="start the stack this many times")
    ap.add_argument("--rasa-only", metavar="MODEL", help="start only Rasa with this model")
    add_env_option(ap)
    args = ap.parse_args()
    extra_env = stack_env(args)
    if args.rasa_only:
        rasa_only(args.rasa_only)
        return
    startups, memories = [], []
    for run in range(args.runs):
        with running_stack(extra_env) as (stack, startup):
            for text in WARM_UP:
                stack.chat(f"bench-warm-{run}", text)
            memory = {name: tree_rss_mb(p.popen.pid) for name, p in stack.processes.items()}
        startups.append(startup)
        memories.append(memory)
        print(
            f"run {run + 1}: start-up {startup:.1f} s; RSS "
            + ", ".join(f"{k} {v:.0f} MB" for k, v in memory.items())
            + f"; total {sum(memory.values()):.0f} MB",
            flush=True,
        )
    print(f"model            {MODEL}")
    print(f"machine          {machine_note()}")
    print(
        f"start-up         {statistics.median(startups):.1f} s (median of {len(startups)}; "
        "start command until /healthz = 200)"
    )
    last = memories[-1]
    for name, mb in last.items():
        print(f"RSS {name:12} {mb:.0f} MB")
    print(f"RSS total        {sum(last.values()):.0f} MB (all processes incl. children)")


if __name__ == "__main__":
    main()
