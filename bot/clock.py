"""The one clock of the domain: ages, effective dates, booking windows, office hours,
advisor duty, record timestamps. Nothing in bot/, actions/ or server/ reads the wall
clock for a decision except through this module.

Rate-limit buckets (bot/ratelimit.py) are the one exception: traffic windows roll over in
real time. tests/test_clock_gate.py enforces this.

`CLOCK_NOW` in the environment pins the clock to one instant (demos, tests, and the
processes the end-to-end tests start): an ISO-8601 date-time, China time when it has no
offset (`2026-11-23T10:00`, `2026-11-30T23:50:00+08:00`, `2026-11-30T15:50:00Z`); a bare
date means 10:00 China time that day. A pinned clock does not move.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")
ENV_VAR = "CLOCK_NOW"
_DEFAULT_TIME_OF_DAY = dt.time(10, 0)


@functools.lru_cache(maxsize=32)
def parse_pinned(value: str) -> dt.datetime:
    """`CLOCK_NOW`'s value as an aware China-time datetime; ValueError when malformed."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if len(text) == 10:
        moment = dt.datetime.combine(dt.date.fromisoformat(text), _DEFAULT_TIME_OF_DAY)
    else:
        moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(CHINA_TZ)


def now() -> dt.datetime:
    """The current instant, aware, in China time."""
    # Read here, at every call, not through bot/config.py's Settings: time has one home, and
    # tests pin it per test (pin_clock) and per process (the e2e stack) by the environment.
    pinned = os.environ.get(ENV_VAR)
    if pinned:
        return parse_pinned(pinned)
    return dt.datetime.now(CHINA_TZ)


def today() -> dt.date:
    """Today's date in China (16:00 UTC is already the next day here)."""
    return now().date()


def utcnow_naive() -> dt.datetime:
    """The current instant as naive UTC, the form the database columns store."""
    return now().astimezone(dt.timezone.utc).replace(tzinfo=None)


def age_on(birth_date: dt.date, on: dt.date | None = None) -> int:
    on = on or today()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
