"""Capacity windows for a district-sized set of providers: how long the generator takes.

    .venv/bin/python benchmarks/registry_capacity.py [--providers 50] [--weeks 52]
        [--pg postgresql+psycopg2://postgres@127.0.0.1:5432/test]

On a fresh SQLite file (and, with --pg, a throw-away PostgreSQL database created through
that admin URL and dropped afterwards): imports the demo service catalogue, a providers
file of N synthetic providers (varied weekly templates: some closed on Sundays or
Saturday afternoons) and a closures file (public holidays for all, a closure per
provider), with the same code as `flask --app server registry ...`, then times
`generate_windows` for the given weeks three times in one transaction each:
  first   every window of the horizon added,
  again   nothing to do (idempotent),
  change  every provider's Monday morning template changed (updates only).
Prints one JSON line per database. Target (issue 22): a year for 50 providers well under
10 s on SQLite. The clock is pinned (CLOCK_NOW, default 2026-11-23) so runs compare.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CLOCK_NOW", "2026-11-23T10:00")
os.environ.setdefault("REGISTRY_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())

from sqlalchemy import func, select, update  # noqa: E402

from bot import db  # noqa: E402
from bot.text.facts import DISTRICT_STREETS  # noqa: E402
from bot.manage import migrate  # noqa: E402
from bot.models.booking import CapacityTemplate, CapacityWindow  # noqa: E402
from bot.registry import capacity  # noqa: E402
from bot.registry.capacity import import_closures  # noqa: E402
from bot.registry.providers import REQUIRED, import_providers  # noqa: E402
from bot.registry.services import import_services  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["助餐", "助洁", "助浴", "助医陪诊", "康复护理", "上门理发"]


def write_providers(path: Path, n: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    header = list(REQUIRED) + ["周六下午", "周日上午", "周日下午", "周三上午"]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(n):
            closed_sunday = i % 3 == 0
            w.writerow(
                [
                    f"测试养老服务站{i:03d}",
                    f"139{i:08d}",
                    "",
                    "、".join(rng.sample(SERVICES, rng.randrange(2, 7))),
                    "、".join(rng.sample(DISTRICT_STREETS, rng.randrange(1, 4))),
                    rng.randrange(2, 8),
                    0 if i % 4 == 0 else "",
                    0 if closed_sunday else "",
                    0 if closed_sunday else "",
                    rng.randrange(1, 10) if i % 5 == 0 else "",
                ]
            )


def write_closures(path: Path, n: int) -> None:
    rows = [
        ("2027-01-01", "", "全天", 0, "元旦"),
        ("2027-05-01", "", "全天", 0, "劳动节"),
        ("2027-10-01", "", "全天", 0, "国庆节"),
    ]
    rows += [(f"2027-03-{1 + i % 28:02d}", f"测试养老服务站{i:03d}", "上午", 0, "机构培训") for i in range(n)]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["日期", "机构名称", "时段", "名额", "原因"])
        w.writerows(rows)


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - t0, 3)


def run(url: str, label: str, providers: int, weeks: int, workdir: Path) -> dict:
    migrate(url)
    import_services(ROOT / "demo" / "services.csv", url=url)
    write_providers(workdir / "providers.csv", providers)
    write_closures(workdir / "closures.csv", providers)
    report, import_s = timed(lambda: import_providers(workdir / "providers.csv", url=url))
    assert not report.errors, [p.line() for p in report.errors]
    report, closures_s = timed(lambda: import_closures(workdir / "closures.csv", url=url))
    assert not report.errors, [p.line() for p in report.errors]

    def generate():
        with db.session_scope(url) as s:
            return capacity.generate_windows(s, weeks=weeks)

    first, first_s = timed(generate)
    again, again_s = timed(generate)
    with db.session_scope(url) as s:
        s.execute(
            update(CapacityTemplate)
            .where(CapacityTemplate.weekday == 0, CapacityTemplate.part == "上午")
            .values(capacity=CapacityTemplate.capacity + 1)
        )
    change, change_s = timed(generate)
    with db.session_scope(url) as s:
        total = s.execute(select(func.count(CapacityWindow.id))).scalar_one()
    return {
        "db": label,
        "providers": providers,
        "weeks": weeks,
        "windows": total,
        "import_providers_s": import_s,
        "import_closures_s": closures_s,
        "first_s": first_s,
        "first_added": first.added,
        "again_s": again_s,
        "again_added_changed": [again.added, again.changed],
        "change_s": change_s,
        "change_changed": change.changed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument(
        "--pg",
        metavar="ADMIN_URL",
        help="also on PostgreSQL: a database is created through this URL and dropped",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        workdir = Path(tmp)
        print(
            json.dumps(
                run(f"sqlite:///{workdir / 'service.db'}", "sqlite", args.providers, args.weeks, workdir),
                ensure_ascii=False,
            ),
            flush=True,
        )
        if args.pg:
            from tests.pg import temporary_database

            with temporary_database("elder_bench_capacity", admin_url=args.pg) as url:
                os.environ["DATABASE_URL"] = url  # the production profile's key check
                print(
                    json.dumps(
                        run(url, "postgresql", args.providers, args.weeks, workdir), ensure_ascii=False
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
