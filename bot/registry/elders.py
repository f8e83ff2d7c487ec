"""The elder registry from a district's file: `flask --app server registry import-elders FILE`.

A CSV (UTF-8, or GB18030 as Excel saves it in China) or XLSX file with a header row; the
columns are found by their Chinese headers (order free, extra columns ignored):

    required: 姓名 身份证号 联系电话 街道 详细地址 居住情况 经济状况 能力等级
              紧急联系人 紧急联系人电话 与老人关系
    optional: 性别 出生日期 社区, and the yes/no facts 户籍本地 失智 计划生育特殊家庭
              残疾证 退役军人 (when a column is absent, the stored value is kept)

Every row is checked (bot/registry/validate.py); rows are matched to the register by the
ID number's keyed hash, so importing the same file twice changes nothing. With any error
nothing is written unless `skip_errors`; `dry_run` never writes. Elders of the register
who are not in the file are listed for review, never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.config import get_settings
from bot.models import Community, Elder, Street
from bot.registry import crypto, validate as v
from bot.registry.files import (  # noqa: F401 (re-exported)
    Checker,
    FileReport,
    RegistryFileError as RegistryFileError,
    RowProblem,
    first_of_each,
    read_records,
    run_import,
)

log = logging.getLogger(__name__)

REQUIRED = (
    "姓名",
    "身份证号",
    "联系电话",
    "街道",
    "详细地址",
    "居住情况",
    "经济状况",
    "能力等级",
    "紧急联系人",
    "紧急联系人电话",
    "与老人关系",
)
OPTIONAL = ("性别", "出生日期", "社区")
# yes/no facts an import may carry: header -> (Elder attribute, value for a new elder)
FLAGS = {
    "户籍本地": ("hukou_local", True),
    "失智": ("dementia", False),
    "计划生育特殊家庭": ("special_family", False),
    "残疾证": ("disability_certificate", False),
    "退役军人": ("veteran", False),
}
# Elder attributes an import compares and sets (besides the ID number and the community)
COMPARED = (
    "name",
    "birth_date",
    "gender",
    "phone",
    "street_id",
    "address",
    "living_situation",
    "economic_status",
    "care_level",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relation",
    *(attr for attr, _ in FLAGS.values()),
)


@dataclass
class ElderRecord:
    row: int
    id_number: str
    values: dict[str, Any]  # Elder attribute -> value (street as its name under "street")
    community: str | None = None

    @property
    def id_hash(self) -> str:
        return crypto.id_lookup_hash(self.id_number)


# --- one row --------------------------------------------------------------------------------


def parse_row(
    number: int, get: Callable[[str], Any], area_code: str, present: set[str]
) -> tuple[ElderRecord | None, list[RowProblem]]:
    """`get(header)` gives a cell; returns the record, or None and every problem of the row."""
    row = Checker(number, get)
    check = row.check
    values: dict[str, Any] = {}
    values["name"] = check("姓名", v.name)
    parsed = check("身份证号", v.id_number)
    if parsed:
        id_number, birth, sex = parsed
        values["birth_date"] = check("出生日期", v.birth_date, birth)
        values["gender"] = check("性别", v.sex, sex)
    values["phone"] = check("联系电话", v.phone, area_code)
    values["street"] = check("街道", v.street)
    values["address"] = check("详细地址", v.short_text, 200, required=True)
    values["living_situation"] = check("居住情况", v.living_situation)
    values["economic_status"] = check("经济状况", v.economic_status)
    values["care_level"] = check("能力等级", v.care_level)
    values["emergency_contact_name"] = check("紧急联系人", v.short_text, 32)
    values["emergency_contact_phone"] = check("紧急联系人电话", v.phone, area_code)
    values["emergency_contact_relation"] = check("与老人关系", v.short_text, 16)
    for header, (attr, _default) in FLAGS.items():
        if header in present:
            values[attr] = check(header, v.yes_no)
    community = check("社区", v.short_text, 64) if "社区" in present else None
    if row.problems:
        return None, row.problems
    return ElderRecord(number, id_number, values, community), []


def parse_file(path: Path, area_code: str | None = None) -> tuple[int, list[ElderRecord], list[RowProblem]]:
    area = area_code or get_settings().local_area_code
    count, parsed, problems, _present = read_records(
        path, REQUIRED, lambda number, get, present: parse_row(number, get, area, present)
    )
    records = first_of_each(parsed, lambda r: r.id_number, "身份证号", "身份证号", problems)
    return count, records, problems


# --- into the register ----------------------------------------------------------------------


def ensure_streets(session: Session) -> dict[str, Street]:
    """The district's streets (from the policy pack) as rows; adds the missing ones."""
    from bot.text.facts import DISTRICT_STREETS, INSIDE_CITY_WALL

    streets = {s.name: s for s in session.execute(select(Street)).scalars()}
    for name in DISTRICT_STREETS:
        if name not in streets:
            streets[name] = Street(name=name, inside_city_wall=name in INSIDE_CITY_WALL)
            session.add(streets[name])
    session.flush()
    return streets


def _community(
    session: Session, cache: dict[tuple[int, str], int], street: Street, name: str | None
) -> int | None:
    if not name:
        return None
    key = (street.id, name)
    if key not in cache:
        found = session.execute(
            select(Community).where(Community.street_id == street.id, Community.name == name)
        ).scalar_one_or_none()
        if found is None:
            found = Community(street_id=street.id, name=name)
            session.add(found)
            session.flush()
        cache[key] = found.id
    return cache[key]


def apply_records(session: Session, records: list[ElderRecord], report: FileReport) -> None:
    """Upserts the records into the session and counts new/updated/unchanged; lists the
    active elders of the register the file does not name."""
    streets = ensure_streets(session)
    existing = {
        e.id_number_hash: e
        for e in session.execute(
            select(Elder).options(selectinload(Elder.community), selectinload(Elder.street))
        ).scalars()
    }
    communities: dict[tuple[int, str], int] = {}
    seen: set[str] = set()
    for record in records:
        id_hash = record.id_hash
        seen.add(id_hash)
        values = dict(record.values)
        street = streets.get(values.pop("street"))
        values["street_id"] = street.id if street is not None else None
        elder = existing.get(id_hash)
        community_id = (
            _community(session, communities, street, record.community)
            if street is not None and record.community
            else None
        )
        if elder is None:
            report.new += 1
            for attr, default in FLAGS.values():
                values.setdefault(attr, default)
            elder = Elder(**values, community_id=community_id)
            elder.set_id_number(record.id_number)
            session.add(elder)
            continue
        changed = [k for k in values if getattr(elder, k) != values[k]]
        if record.community and (
            elder.community is None
            or elder.community.name != record.community
            or elder.community.street_id != values["street_id"]
        ):
            changed.append("community")
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        for k in changed:
            if k == "community":
                elder.community_id = community_id
            else:
                setattr(elder, k, values[k])
    report.not_in_file = sorted(
        (e.id, e.name, e.id_number_last4 or "", e.street.name if e.street else "")
        for h, e in existing.items()
        if h not in seen and e.status == "active"
    )


def import_elders(
    path: Path | str,
    *,
    dry_run: bool = False,
    skip_errors: bool = False,
    actor: str = "cli",
    url: str | None = None,
    area_code: str | None = None,
) -> FileReport:
    """Reads, checks and (unless dry_run, or errors without skip_errors) writes the file in
    one transaction. RegistryFileError when the file as a whole cannot be read."""

    def apply(session: Session, records: list[ElderRecord], report: FileReport) -> None:
        apply_records(session, records, report)
        return None  # no provider's capacity windows change

    return run_import(
        path,
        parse_file=lambda p: parse_file(p, area_code),
        apply=apply,
        action="registry_import_elders",
        dry_run=dry_run,
        skip_errors=skip_errors,
        actor=actor,
        url=url,
    )
