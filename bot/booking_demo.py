"""Demo data of the booking area: service catalogue, providers covering the 12 streets,
capacity windows for the coming weeks and this and next month's free-care grants.

Registered with bot.demo.register_loader (runs inside load_if_empty's transaction).
`python -m bot.booking_demo extend [DAYS]` tops up capacity windows on a long-lived
demo database (idempotent).
"""
from __future__ import annotations

import datetime as dt
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.booking import ensure_month_grants, month_key
from bot.demo import register_loader
from bot.models import Street
from bot.models.booking import CapacityWindow, Provider, ServiceType
from bot.timeparse import PART_HOURS

# (code, name, minutes, price in yuan, free hours can pay for it, description)
SERVICE_TYPES = [
    ("meal", "助餐", 30, 15, False, "送餐上门或到助餐点用餐"),
    ("cleaning", "助洁", 120, 40, True, "打扫卫生、整理房间、洗衣"),
    ("bath", "助浴", 60, 50, True, "上门协助洗澡、擦身"),
    ("escort", "助医陪诊", 120, 60, True, "陪同就医、挂号取药"),
    ("rehab", "康复护理", 60, 60, True, "康复训练、基础护理、量血压"),
    ("haircut", "上门理发", 30, 15, True, "上门理发、修面"),
]

# Providers and the streets they cover; every one offers the whole catalogue.
PROVIDERS = [
    ("悦华养老服务中心", "025-80000001", ["五老村", "洪武路", "大光路", "瑞金路"]),
    ("城南居家养老服务站", "025-80000002", ["朝天宫", "双塘", "夫子庙"]),
    ("月牙湖社区居家养老服务中心", "025-80000003", ["月牙湖", "光华路"]),
    ("秦淮颐养居家服务社", "025-80000004", ["中华门", "秦虹", "红花"]),
]

WINDOW_CAPACITY = 3  # visits per provider per half day
DAYS_AHEAD = 42


def add_windows(session: Session, provider: Provider, first: dt.date, days: int,
                capacity: int = WINDOW_CAPACITY) -> int:
    existing = set(session.execute(select(CapacityWindow.starts_at).where(
        CapacityWindow.provider_id == provider.id)).scalars())
    added = 0
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        for part, (start_hour, end_hour) in PART_HOURS.items():
            start = dt.datetime.combine(day, dt.time(start_hour))
            if start in existing:
                continue
            session.add(CapacityWindow(provider_id=provider.id, day=day, part=part,
                                       starts_at=start, capacity=capacity, booked=0,
                                       ends_at=dt.datetime.combine(day, dt.time(end_hour))))
            added += 1
    return added


def load_booking_demo(session: Session) -> None:
    services = []
    for code, name, minutes, price, free, desc in SERVICE_TYPES:
        service = ServiceType(code=code, name=name, duration_minutes=minutes,
                              price_fen=price * 100, uses_free_hours=free, description=desc)
        session.add(service)
        services.append(service)
    session.flush()
    streets = {s.name: s for s in session.execute(select(Street)).scalars()}
    today = clock.today()
    for name, phone, street_names in PROVIDERS:
        provider = Provider(name=name, phone=phone, active=True,
                            streets=[streets[n] for n in street_names if n in streets],
                            service_types=list(services))
        session.add(provider)
        session.flush()
        add_windows(session, provider, today, DAYS_AHEAD)
    session.flush()
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    for month in (month_key(today), month_key(next_month)):
        ensure_month_grants(session, month)


register_loader(load_booking_demo)


def extend(days: int = DAYS_AHEAD, url: str | None = None) -> int:
    from bot.db import session_scope

    with session_scope(url) as s:
        return sum(add_windows(s, p, clock.today(), days)
                   for p in s.execute(select(Provider)).scalars())


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "extend":
        print(f"windows added: {extend(int(sys.argv[2]) if len(sys.argv) > 2 else DAYS_AHEAD)}")
    else:
        print(__doc__)
