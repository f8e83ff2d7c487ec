"""A district-sized elder registry: import time, caller-number lookup and advisor search.

    .venv/bin/python benchmarks/registry_elders.py [--elders 20000] [--cores 2] [--no-pg]

Generates a CSV of synthetic elders (valid GB 11643 check characters, unique mobile
numbers, the pack's streets and vocabularies), imports it with the same code as
`flask --app server registry import-elders` into a fresh SQLite file and, when it answers,
a throw-away PostgreSQL database (127.0.0.1:5432, see tests/pg.py), imports it a second
time (all unchanged), then times the lookups the line and the console make at that size:
`elder_by_phone` (every call), and the console search by full phone, full ID number, last
four digits and part of a name. Prints one JSON line per database. Targets (issue 22):
import <= 60 s on 2 cores, each lookup <= 5 ms.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("REGISTRY_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())  # this run only

from bot import db  # noqa: E402
from bot.text.facts import DISTRICT_STREETS  # noqa: E402
from bot.manage import migrate  # noqa: E402
from bot.models.people import (
    CARE_LEVELS,
    ECONOMIC_STATUSES,
    LIVING_SITUATIONS,  # noqa: E402
    elder_by_phone,
)
from bot.registry.elders import REQUIRED, import_elders  # noqa: E402
from bot.registry.validate import id_check_char  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "桂兰秀英建国志明淑芬玉珍国强春梅德华金凤振华丽华永福凤英"


def synthetic(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    people = []
    for i in range(n):
        birth = dt.date(1925, 1, 1) + dt.timedelta(days=rng.randrange(365 * 40))
        first17 = f"3201{rng.randrange(1, 30):02d}{birth:%Y%m%d}{i % 1000:03d}"
        people.append(
            {
                "姓名": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)),
                "身份证号": first17 + id_check_char(first17),
                "联系电话": f"139{i:08d}",
                "街道": rng.choice(DISTRICT_STREETS),
                "详细地址": f"某某路{rng.randrange(1, 300)}号{rng.randrange(1, 30)}栋",
                "居住情况": rng.choice(LIVING_SITUATIONS),
                "经济状况": rng.choice(ECONOMIC_STATUSES),
                "能力等级": rng.choice(CARE_LEVELS),
                "紧急联系人": rng.choice(SURNAMES) + "小明",
                "紧急联系人电话": f"137{i:08d}",
                "与老人关系": rng.choice(["儿子", "女儿", "侄子", "邻居"]),
            }
        )
    # a few thousand ID numbers would repeat the same 17 digits: keep the first of each
    seen, unique = set(), []
    for p in people:
        if p["身份证号"] not in seen:
            seen.add(p["身份证号"])
            unique.append(p)
    return unique


def write(path: Path, people: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(REQUIRED))
        writer.writeheader()
        writer.writerows(people)


def timed_ms(fn, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
    }


def run(url: str, label: str, path: Path, people: list[dict]) -> dict:
    from server.advisor.views import find_elders

    os.environ["DATABASE_URL"] = url
    migrate(url)
    start = time.perf_counter()
    first = import_elders(path, url=url)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    second = import_elders(path, url=url)
    second_s = time.perf_counter() - start
    rng = random.Random(3)
    sample = rng.sample(people, 200)
    it = iter(sample * 10)
    lookups = {}
    with db.session_scope(url) as s:
        lookups["elder_by_phone"] = timed_ms(lambda: elder_by_phone(s, next(it)["联系电话"]), 200)
        lookups["search_full_phone"] = timed_ms(lambda: find_elders(s, next(it)["联系电话"]), 200)
        lookups["search_full_id"] = timed_ms(lambda: find_elders(s, next(it)["身份证号"]), 200)
        lookups["search_last4"] = timed_ms(lambda: find_elders(s, next(it)["身份证号"][-4:]), 200)
        lookups["search_name_part"] = timed_ms(lambda: find_elders(s, next(it)["姓名"][1:]), 200)
    db.dispose_all()
    return {
        "database": label,
        "elders": len(people),
        "cores": len(os.sched_getaffinity(0)),
        "first_import_s": round(first_s, 1),
        "first": first.summary(),
        "second_import_s": round(second_s, 1),
        "second": second.summary(),
        **lookups,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--elders", type=int, default=20000)
    parser.add_argument("--cores", type=int, default=2, help="run on this many CPUs (0: all)")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    if args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    people = synthetic(args.elders)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.csv"
        write(path, people)
        print(
            json.dumps(run(f"sqlite:///{tmp}/service.db", "sqlite", path, people), ensure_ascii=False),
            flush=True,
        )
        if not args.no_pg:
            from tests.pg import postgres_available, temporary_database

            reason = postgres_available()
            if reason:
                print(json.dumps({"database": "postgresql", "skipped": reason}))
                return 0
            with temporary_database("registry_bench") as url:
                print(json.dumps(run(url, "postgresql", path, people), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
