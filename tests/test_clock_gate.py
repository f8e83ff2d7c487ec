"""No domain code reads the wall clock except bot/clock.py: a static check over bot/,
actions/ and server/ (the shifted-clock runs of `make test` catch what this cannot see)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
}
# Where the wall clock is right, with the reason.
ALLOWED = {
    "bot/clock.py": "the clock itself",
    # traffic buckets must roll over in real time even when a demo pins the domain clock
    "bot/ratelimit.py": "rate-limit windows",
}


def _wall_clock_reads(path: Path) -> list[str]:
    found = []
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (name, node.func.attr) in WALL_CLOCK_CALLS:
                found.append(f"{shown}:{node.lineno} {name}.{node.func.attr}()")
    return found


def test_only_the_clock_module_reads_the_wall_clock():
    offenders = []
    for package in ("bot", "actions", "server"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) not in ALLOWED:
                offenders += _wall_clock_reads(path)
    assert offenders == [], "use bot.clock.now()/today()/utcnow_naive() instead:\n" + "\n".join(offenders)


def test_the_gate_sees_a_wall_clock_read(tmp_path):
    sample = tmp_path / "sample.py"
    # the calls are assembled so that this test file itself holds no wall-clock read
    reads = [f"dt.{kind}.{call}()" for kind, call in (("datetime", "now"), ("date", "today"))]
    sample.write_text(
        "import datetime as dt\nimport time\n"
        f"x = {reads[0]}\ny = {reads[1]}\nz = time.time()\nok = time.monotonic()\n"
    )
    assert len(_wall_clock_reads(sample)) == 3
