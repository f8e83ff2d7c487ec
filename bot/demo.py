"""Demo data of DESIGN.md: the demo district's streets and the five personas.

`load_if_empty()` is idempotent: it only writes into an empty database. Other areas
(services, providers, capacity, advisor users) add their own loaders to `LOADERS`.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.models import Community, Elder, Street

log = logging.getLogger(__name__)

# (name, inside the Ming city wall) — from seed document 004, section 四(二).
STREETS = [
    ("五老村", True), ("洪武路", True), ("大光路", True), ("瑞金路", True),
    ("朝天宫", True), ("双塘", True), ("夫子庙", True),
    ("月牙湖", False), ("光华路", False), ("中华门", False), ("秦虹", False), ("红花", False),
]

# The personas every test and demo can rely on. ID numbers are made up (test data).
PERSONAS = [
    dict(name="张桂兰", birth_date=dt.date(1938, 3, 12), gender="女", phone="13800000001",
         id_number="320104193803120027", street="五老村", address="五老村街道文昌巷12号3楼",
         economic_status="普通", care_level="轻度失能", living_situation="独居"),
    dict(name="李建国", birth_date=dt.date(1950, 7, 1), gender="男", phone="13800000002",
         id_number="320104195007010015", street="夫子庙", address="夫子庙街道瞻园路8号",
         economic_status="低保", care_level="重度失能", living_situation="与家人同住",
         disability_certificate=True),
    dict(name="王秀英", birth_date=dt.date(1924, 10, 5), gender="女", phone="13800000003",
         id_number="320104192410050022", street="中华门", address="中华门街道雨花路66号",
         economic_status="普通", care_level="中度失能", living_situation="与家人同住"),
    dict(name="陈志明", birth_date=dt.date(1961, 5, 20), gender="男", phone="13800000004",
         id_number="320104196105200031", street="月牙湖", address="月牙湖街道苜蓿园大街20号",
         economic_status="普通", care_level="能力完好", living_situation="与家人同住"),
    dict(name="刘淑芬", birth_date=dt.date(1944, 1, 15), gender="女", phone="13800000005",
         id_number="320104194401150048", street="秦虹", address="秦虹街道秦虹路100号",
         economic_status="普通", care_level="能力完好", living_situation="空巢",
         special_family=True),
]


def load_people(session: Session) -> None:
    streets = {}
    for name, inside in STREETS:
        street = Street(name=name, inside_city_wall=inside)
        session.add(street)
        streets[name] = street
    session.flush()
    for street in streets.values():
        session.add(Community(street_id=street.id, name=f"{street.name}社区"))
    for persona in PERSONAS:
        data = dict(persona)
        street = streets[data.pop("street")]
        session.add(Elder(street_id=street.id, **data))


LOADERS: list[Callable[[Session], None]] = [load_people]


def register_loader(loader: Callable[[Session], None]) -> Callable[[Session], None]:
    if loader not in LOADERS:
        LOADERS.append(loader)
    return loader


def load_if_empty(url: str | None = None) -> bool:
    """Loads every registered demo loader in one transaction if there are no elders yet."""
    _import_area_loaders()
    with session_scope(url) as s:
        if s.execute(select(func.count(Elder.id))).scalar_one() > 0:
            log.info("demo data: database already has elders, nothing loaded")
            return False
        for loader in LOADERS:
            loader(s)
    log.info("demo data loaded: %d streets, %d personas", len(STREETS), len(PERSONAS))
    return True


def _import_area_loaders() -> None:
    """Areas register loaders on import; import them here so the order is fixed."""
    import importlib

    for module in ("bot.booking_demo", "bot.console_demo"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
