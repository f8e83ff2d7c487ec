"""Service providers from a district's file: `flask --app server registry import-providers FILE`.

A CSV or XLSX file with a header row, one provider a row (columns found by their headers):

    required  机构名称      the provider's name (unique; rows are matched to the database by it)
              联系电话      mobile or landline (a local number gets LOCAL_AREA_CODE)
              联系人        may be blank
              服务项目      services it offers, by name or code (助浴、助洁 / bath,cleaning),
                            separated by 、 , ， ; ； / or spaces; they must be in the catalogue
                            (import-services first)
              服务街道      the streets it covers, separated the same way; streets of the pack
              每半天名额    places per half day (the weekly template's default)
    optional  周一上午 周一下午 … 周日上午 周日下午   places that weekday half day instead of the
                            default (blank = the default, 0 = closed)
              是否停用      是 = the provider takes no new windows (absent: kept as stored)

The weekly template is stored as 14 rows per provider (capacity_templates) and turned into
capacity windows by bot/registry/capacity.py. Providers of the database that the file does
not name are kept and listed, never deleted or stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.config import get_settings
from bot.models.booking import PARTS_OF_DAY, CapacityTemplate, Provider, ServiceType
from bot.registry import validate as v
from bot.registry.files import (
    Checker,
    FileReport,
    RowProblem,
    first_of_each,
    read_records,
    run_import,
    split_list,
    whole_number,
)

REQUIRED = ("机构名称", "联系电话", "联系人", "服务项目", "服务街道", "每半天名额")
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# header -> (weekday, part) of the template columns, in the order a spreadsheet shows them
TEMPLATE_COLUMNS = {
    f"{day}{part}": (weekday, part) for weekday, day in enumerate(WEEKDAYS_ZH) for part in PARTS_OF_DAY
}
INACTIVE = "是否停用"
MAX_PLACES = 200  # per provider and half day: more is a typing error


@dataclass
class ProviderRecord:
    row: int
    name: str
    phone: str
    contact_name: str | None
    services: list[str]  # names or codes as written
    streets: list[str]  # street names of the pack
    template: dict[tuple[int, str], int]  # all 14 half days
    active: bool | None  # None: the file has no 是否停用 column


def places(value: object, field: str = "每半天名额", default: int | None = None) -> int:
    """Places of a half day: a whole number from 0 to MAX_PLACES (console forms too)."""
    return whole_number(value, field, maximum=MAX_PLACES, default=default)


def template_from(default: int, overrides: dict[tuple[int, str], int | None]) -> dict[tuple[int, str], int]:
    return {
        key: (default if (value := overrides.get(key)) is None else value)
        for key in TEMPLATE_COLUMNS.values()
    }


def parse_row(
    number: int, get: Callable[[str], Any], present: set[str], area_code: str
) -> tuple[ProviderRecord | None, list[RowProblem]]:
    c = Checker(number, get)
    name = c.check(
        "机构名称", lambda x, field: "".join((v.short_text(x, 64, field=field, required=True) or "").split())
    )
    phone = c.check("联系电话", v.phone, area_code, required=True)
    contact = c.check("联系人", v.short_text, 32)
    services = split_list(get("服务项目"))
    if not services:
        c.problem("服务项目", "没有填写（至少一项服务）")
    streets = []
    if not split_list(get("服务街道")):
        c.problem("服务街道", "没有填写（至少一个街道）")
    for item in split_list(get("服务街道")):
        try:
            street = v.street(item, field="服务街道")
        except v.RowError as exc:
            c.problem(exc.field, exc.reason)
            continue
        if street not in streets:
            streets.append(street)
    default = c.check("每半天名额", places)
    overrides = {
        key: c.check(header, places)
        for header, key in TEMPLATE_COLUMNS.items()
        if header in present and v.text(get(header))
    }  # blank: the default
    active = None
    if INACTIVE in present:
        stopped = c.check(INACTIVE, v.yes_no)
        active = None if stopped is None else not stopped
    if c.problems:
        return None, c.problems
    return ProviderRecord(
        number, name, phone, contact, services, streets, template_from(default, overrides), active
    ), []


def parse_file(
    path: Path, area_code: str | None = None
) -> tuple[int, list[ProviderRecord], list[RowProblem]]:
    area = area_code or get_settings().local_area_code
    count, records, problems, _present = read_records(
        path, REQUIRED, lambda n, get, present: parse_row(n, get, present, area)
    )
    kept = first_of_each(records, lambda r: r.name, "机构名称", "机构", problems)
    return count, kept, problems


def set_template(provider: Provider, template: dict[tuple[int, str], int]) -> bool:
    """Makes the provider's template rows say `template`; whether anything changed."""
    rows = {(t.weekday, t.part): t for t in provider.templates}
    changed = False
    for (weekday, part), capacity in template.items():
        row = rows.get((weekday, part))
        if row is None:
            provider.templates.append(CapacityTemplate(weekday=weekday, part=part, capacity=capacity))
            changed = True
        elif row.capacity != capacity:
            row.capacity = capacity
            changed = True
    return changed


def apply_providers(session: Session, records: list[ProviderRecord], report: FileReport) -> list[int]:
    """Upserts by name into the session and counts; a service the catalogue does not have
    is a problem of that row (skipped). Returns the ids of new and changed providers."""
    catalogue = list(session.execute(select(ServiceType).order_by(ServiceType.id)).scalars())
    by_word = {s.code: s for s in catalogue} | {s.name: s for s in catalogue}
    from bot.registry.elders import ensure_streets

    streets = ensure_streets(session)
    existing = {
        p.name: p
        for p in session.execute(
            select(Provider).options(
                selectinload(Provider.streets),
                selectinload(Provider.service_types),
                selectinload(Provider.templates),
            )
        ).scalars()
    }
    touched: list[Provider] = []
    seen = set()
    for r in records:
        seen.add(r.name)
        unknown = [w for w in r.services if w not in by_word and w.lower() not in by_word]
        if unknown:
            names = "、".join(s.name for s in catalogue) or "（空的，请先导入服务目录）"
            report.errors.append(
                RowProblem(r.row, "服务项目", f"“{'、'.join(unknown)}”不在服务目录里（目录里有：{names}）")
            )
            continue
        services = []
        for w in r.services:
            service = by_word.get(w) or by_word[w.lower()]
            if service not in services:
                services.append(service)
        provider = existing.get(r.name)
        is_new = provider is None
        if provider is None:
            provider = Provider(name=r.name, active=True if r.active is None else r.active)
            session.add(provider)
        changed = False
        for attr, value in (("phone", r.phone), ("contact_name", r.contact_name)):
            if getattr(provider, attr) != value:
                setattr(provider, attr, value)
                changed = True
        if r.active is not None and provider.active != r.active:
            provider.active = r.active
            changed = True
        if {s.name for s in provider.streets} != set(r.streets):
            provider.streets = [streets[n] for n in r.streets]
            changed = True
        if {s.id for s in provider.service_types} != {s.id for s in services}:
            provider.service_types = services
            changed = True
        changed = set_template(provider, r.template) or changed
        if is_new:
            report.new += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if changed or is_new:
            touched.append(provider)
    session.flush()
    report.errors.sort(key=lambda p: p.row)
    report.not_in_file = sorted(name for name in existing if name not in seen)
    return [p.id for p in touched]


def import_providers(
    path: Path | str,
    *,
    dry_run: bool = False,
    skip_errors: bool = False,
    actor: str = "cli",
    url: str | None = None,
    area_code: str | None = None,
) -> FileReport:
    """Reads, checks and (unless dry_run, or errors without skip_errors) writes the file in
    one transaction, with the windows of new and changed providers regenerated
    (bot/registry/capacity.py). RegistryFileError when the file cannot be read."""
    return run_import(
        path,
        parse_file=lambda p: parse_file(p, area_code),
        apply=apply_providers,
        action="registry_import_providers",
        dry_run=dry_run,
        skip_errors=skip_errors,
        actor=actor,
        url=url,
    )
