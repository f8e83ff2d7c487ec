"""The service catalogue from a district's file: `flask --app server registry import-services FILE`.

A CSV or XLSX file with a header row (bot/registry/elders.py reads it), one service a row:

    服务代码       short Latin code the booking API and the bot use (bath, meal, ...)
    服务名称       what callers and advisors say (助浴), at most 16 characters
    每次时长分钟   how long one visit takes, whole minutes
    每次价格元     price of one visit in yuan (up to two decimals), stored as integer fen
    可用免费时长   是/否: whether the monthly free care hours can pay for it
    说明           optional, at most 200 characters

Prices are the district's own catalogue data, not policy facts: the policy documents of
the pack carry no price list (policies/demo_district/programs/service_prices.yml says so),
so the bot quotes a price only from this catalogue. Services are matched by 服务代码 (an
import of the same file changes nothing); services of the database that the file does
not name are kept (bookings refer to them) and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models.booking import ServiceType
from bot.registry import validate as v
from bot.registry.files import Checker, FileReport, RowProblem, read_records, run_import, whole_number

REQUIRED = ("服务代码", "服务名称", "每次时长分钟", "每次价格元", "可用免费时长")
OPTIONAL = ("说明",)
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
COMPARED = ("name", "duration_minutes", "price_fen", "uses_free_hours", "description")


@dataclass
class ServiceRecord:
    row: int
    code: str
    values: dict[str, Any]  # ServiceType attribute -> value


def service_code(value: object, field: str = "服务代码") -> str:
    s = v.text(value).lower()
    if not s:
        raise v.RowError(field, "没有填写")
    if not _CODE_RE.match(s):
        raise v.RowError(field, "请用英文小写字母开头，只用字母、数字和下划线（最多24个），例如bath")
    return s


def price_fen(value: object, field: str = "每次价格元") -> int:
    """Yuan as written (15, 12.5, 15元, ￥15) -> integer fen, exactly (no float)."""
    s = v.text(value).replace("元", "").replace("￥", "").replace("¥", "").replace(",", "").strip()
    if not s:
        raise v.RowError(field, "没有填写")
    try:
        yuan = Decimal(s)
    except InvalidOperation:
        raise v.RowError(field, f"请填写金额（如15或12.5），不是“{v.text(value)}”") from None
    if not yuan.is_finite() or yuan < 0:
        raise v.RowError(field, "不能是负数")
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise v.RowError(field, "最多到分（小数点后两位）")
    if yuan > 100000:
        raise v.RowError(field, "太大了，请核对")
    return int(fen)


def _yes_no_required(value: object, field: str) -> bool:
    if not v.text(value):
        raise v.RowError(field, "没有填写（请填“是”或“否”）")
    return v.yes_no(value, field=field)


def parse_row(
    number: int, get: Callable[[str], Any], present: set[str]
) -> tuple[ServiceRecord | None, list[RowProblem]]:
    c = Checker(number, get)
    code = c.check("服务代码", service_code)
    values = {
        "name": c.check(
            "服务名称",
            lambda x, field: "".join((v.short_text(x, 16, field=field, required=True) or "").split()),
        ),
        "duration_minutes": c.check("每次时长分钟", whole_number, maximum=24 * 60),
        "price_fen": c.check("每次价格元", price_fen),
        "uses_free_hours": c.check("可用免费时长", _yes_no_required),
        "description": c.check("说明", v.short_text, 200) if "说明" in present else None,
    }
    if values["duration_minutes"] == 0:
        c.problem("每次时长分钟", "不能是0")
    if c.problems:
        return None, c.problems
    return ServiceRecord(number, code, values), []


def parse_file(path: Path) -> tuple[int, list[ServiceRecord], list[RowProblem]]:
    count, records, problems, _present = read_records(path, REQUIRED, parse_row)
    kept: list[ServiceRecord] = []
    first_code: dict[str, int] = {}
    first_name: dict[str, int] = {}
    for r in records:
        if r.code in first_code:
            problems.append(RowProblem(r.row, "服务代码", f"和第{first_code[r.code]}行的服务代码重复了"))
        elif r.values["name"] in first_name:
            problems.append(
                RowProblem(r.row, "服务名称", f"和第{first_name[r.values['name']]}行的服务名称重复了")
            )
        else:
            first_code[r.code] = first_name[r.values["name"]] = r.row
            kept.append(r)
    problems.sort(key=lambda p: p.row)
    return count, kept, problems


def apply_services(session: Session, records: list[ServiceRecord], report: FileReport) -> None:
    """Upserts by code into the session and counts; a name another code already has in the
    database is a problem of that row (the row is skipped)."""
    existing = {s.code: s for s in session.execute(select(ServiceType)).scalars()}
    code_of_name = {s.name: s.code for s in existing.values()}
    seen = set()
    for r in records:
        seen.add(r.code)
        owner = code_of_name.get(r.values["name"])
        if owner is not None and owner != r.code:
            report.errors.append(
                RowProblem(r.row, "服务名称", f"“{r.values['name']}”已经是服务代码{owner}的名称了")
            )
            continue
        service = existing.get(r.code)
        if service is None:
            service = ServiceType(code=r.code, **r.values)
            session.add(service)
            session.flush()  # one row at a time: a renamed service frees its old name first
            report.new += 1
        elif any(getattr(service, k) != r.values[k] for k in COMPARED):
            old_name = service.name
            for k in COMPARED:
                setattr(service, k, r.values[k])
            session.flush()
            code_of_name.pop(old_name, None)
            report.updated += 1
        else:
            report.unchanged += 1
        code_of_name[r.values["name"]] = r.code
    report.errors.sort(key=lambda p: p.row)
    report.not_in_file = sorted(f"{s.code} {s.name}" for c, s in existing.items() if c not in seen)


def import_services(
    path: Path | str,
    *,
    dry_run: bool = False,
    skip_errors: bool = False,
    actor: str = "cli",
    url: str | None = None,
) -> FileReport:
    """Reads, checks and (unless dry_run, or errors without skip_errors) writes the file in
    one transaction. RegistryFileError when the file as a whole cannot be read."""

    def apply(session: Session, records: list[ServiceRecord], report: FileReport) -> None:
        apply_services(session, records, report)
        return None  # windows do not depend on the catalogue

    return run_import(
        path,
        parse_file=parse_file,
        apply=apply,
        action="registry_import_services",
        dry_run=dry_run,
        skip_errors=skip_errors,
        actor=actor,
        url=url,
    )
