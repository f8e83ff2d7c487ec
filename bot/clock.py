"""Today's date for the domain: ages, effective dates and booking windows all use it.

`TODAY=YYYY-MM-DD` in the environment pins the date (demos, tests of effective dates).
"""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    pinned = os.environ.get("TODAY")
    current = dt.datetime.now(CHINA_TZ)
    if pinned:
        day = dt.date.fromisoformat(pinned)
        return current.replace(year=day.year, month=day.month, day=day.day)
    return current


def today() -> dt.date:
    return now().date()


def age_on(birth_date: dt.date, on: dt.date | None = None) -> int:
    on = on or today()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
