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

import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import audit
from bot.config import get_settings
from bot.db import session_scope
from bot.models import Community, Elder, Street
from bot.registry import crypto, validate as v

log = logging.getLogger(__name__)

REQUIRED = ("姓名", "身份证号", "联系电话", "街道", "详细地址", "居住情况", "经济状况", "能力等级",
            "紧急联系人", "紧急联系人电话", "与老人关系")
OPTIONAL = ("性别", "出生日期", "社区")
# yes/no facts an import may carry: header -> (Elder attribute, value for a new elder)
FLAGS = {"户籍本地": ("hukou_local", True), "失智": ("dementia", False),
         "计划生育特殊家庭": ("special_family", False), "残疾证": ("disability_certificate", False),
         "退役军人": ("veteran", False)}
# Elder attributes an import compares and sets (besides the ID number and the community)
COMPARED = ("name", "birth_date", "gender", "phone", "street_id", "address", "living_situation",
            "economic_status", "care_level", "emergency_contact_name", "emergency_contact_phone",
            "emergency_contact_relation", *(attr for attr, _ in FLAGS.values()))


class RegistryFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing columns); Chinese text."""


@dataclass
class RowProblem:
    row: int  # as the spreadsheet shows it: the header is row 1
    field: str
    reason: str

    def line(self) -> str:
        return f"第{self.row}行 {self.field}：{self.reason}"


@dataclass
class ElderRecord:
    row: int
    id_number: str
    values: dict  # Elder attribute -> value (street as its name under "street")
    community: str | None = None

    @property
    def id_hash(self) -> str:
        return crypto.id_lookup_hash(self.id_number)


@dataclass
class ImportReport:
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    # active elders of the register who are not in this file: (elder id, name, last4, street)
    not_in_file: list[tuple[int, str, str, str]] = field(default_factory=list)
    written: bool = False

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    def summary(self) -> str:
        return (f"{self.rows} rows: {self.new} new, {self.updated} updated, "
                f"{self.unchanged} unchanged, {self.error_rows} errors")


# --- reading the file -----------------------------------------------------------------------

def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, list]]]:
    """Header cells and (row number, cells) of the first sheet; blank rows are skipped."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise RegistryFileError(f"不认识的文件类型“{path.suffix}”：请用 .csv 或 .xlsx")


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list]]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RegistryFileError("文件编码看不懂：请另存为 UTF-8 或 GBK 编码的 CSV")
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header is None:
        raise RegistryFileError("文件是空的")
    rows = ((number, cells) for number, cells in enumerate(reader, start=2)
            if any(c.strip() for c in cells))
    return [c.strip() for c in header], rows


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise RegistryFileError("这个 Excel 文件打不开：请用 Excel 另存为 .xlsx 后再试") from exc
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    header = next(it, None)
    if header is None:
        raise RegistryFileError("文件是空的")

    def rows() -> Iterator[tuple[int, list]]:
        for number, cells in enumerate(it, start=2):
            if any(c is not None and str(c).strip() for c in cells):
                yield number, list(cells)
        book.close()

    return [v.text(c) for c in header], rows()


def columns(header: list[str], required: Iterable[str]) -> dict[str, int]:
    """Header name -> column index; RegistryFileError naming the missing columns."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        name = "".join(name.split())
        if name and name not in index:
            index[name] = i
    missing = [name for name in required if name not in index]
    if missing:
        raise RegistryFileError(f"缺少这些列：{'、'.join(missing)}（第1行应是表头）")
    return index


# --- one row --------------------------------------------------------------------------------

def parse_row(number: int, get, area_code: str, present: set[str]) -> tuple[ElderRecord | None,
                                                                           list[RowProblem]]:
    """`get(header)` gives a cell; returns the record, or None and every problem of the row."""
    problems: list[RowProblem] = []
    values: dict = {}

    def check(header: str, fn, *args, **kwargs):
        try:
            return fn(get(header), *args, field=header, **kwargs)
        except v.RowError as exc:
            problems.append(RowProblem(number, exc.field, exc.reason))
            return None

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
    if problems:
        return None, problems
    return ElderRecord(number, id_number, values, community), []


def parse_file(path: Path, area_code: str | None = None) -> tuple[int, list[ElderRecord],
                                                                  list[RowProblem]]:
    header, rows = read_table(path)
    index = columns(header, REQUIRED)
    present = set(index)
    area = area_code or get_settings().local_area_code
    records: list[ElderRecord] = []
    problems: list[RowProblem] = []
    first_row_of: dict[str, int] = {}
    count = 0
    for number, cells in rows:
        count += 1

        def get(h: str, cells=cells):
            i = index.get(h)
            return cells[i] if i is not None and i < len(cells) else None

        record, row_problems = parse_row(number, get, area, present)
        problems.extend(row_problems)
        if record is None:
            continue
        if record.id_number in first_row_of:
            problems.append(RowProblem(number, "身份证号",
                                       f"和第{first_row_of[record.id_number]}行是同一个身份证号"))
            continue
        first_row_of[record.id_number] = number
        records.append(record)
    return count, records, problems


# --- into the register ----------------------------------------------------------------------

def ensure_streets(session: Session) -> dict[str, Street]:
    """The district's streets (from the policy pack) as rows; adds the missing ones."""
    from bot.facts import DISTRICT_STREETS, INSIDE_CITY_WALL

    streets = {s.name: s for s in session.execute(select(Street)).scalars()}
    for name in DISTRICT_STREETS:
        if name not in streets:
            streets[name] = Street(name=name, inside_city_wall=name in INSIDE_CITY_WALL)
            session.add(streets[name])
    session.flush()
    return streets


def _community(session: Session, cache: dict, street: Street, name: str | None) -> int | None:
    if not name:
        return None
    key = (street.id, name)
    if key not in cache:
        found = session.execute(select(Community).where(
            Community.street_id == street.id, Community.name == name)).scalar_one_or_none()
        if found is None:
            found = Community(street_id=street.id, name=name)
            session.add(found)
            session.flush()
        cache[key] = found.id
    return cache[key]


def apply_records(session: Session, records: list[ElderRecord], write: bool,
                  report: ImportReport) -> None:
    """Counts new/updated/unchanged against the register and, when `write`, applies them."""
    streets = ensure_streets(session) if write else {
        s.name: s for s in session.execute(select(Street)).scalars()}
    existing = {e.id_number_hash: e for e in session.execute(select(Elder).options(
        selectinload(Elder.community), selectinload(Elder.street))).scalars()}
    communities: dict = {}
    seen: set[str] = set()
    for record in records:
        id_hash = record.id_hash
        seen.add(id_hash)
        values = dict(record.values)
        street = streets.get(values.pop("street"))
        values["street_id"] = street.id if street is not None else None
        elder = existing.get(id_hash)
        community_id = (_community(session, communities, street, record.community)
                        if write and street is not None and record.community else None)
        if elder is None:
            report.new += 1
            if write:
                for header, (attr, default) in FLAGS.items():
                    values.setdefault(attr, default)
                elder = Elder(**values, community_id=community_id)
                elder.set_id_number(record.id_number)
                session.add(elder)
            continue
        changed = [k for k in values if getattr(elder, k) != values[k]]
        if record.community and (elder.community is None
                                 or elder.community.name != record.community
                                 or elder.community.street_id != values["street_id"]):
            changed.append("community")
        if not changed:
            report.unchanged += 1
            continue
        report.updated += 1
        if write:
            for k in changed:
                if k == "community":
                    elder.community_id = community_id
                else:
                    setattr(elder, k, values[k])
    report.not_in_file = sorted(
        (e.id, e.name, e.id_number_last4 or "", e.street.name if e.street else "")
        for h, e in existing.items() if h not in seen and e.status == "active")


def import_elders(path: Path | str, *, dry_run: bool = False, skip_errors: bool = False,
                  actor: str = "cli", url: str | None = None,
                  area_code: str | None = None) -> ImportReport:
    """Reads, checks and (unless dry_run, or errors without skip_errors) writes the file in
    one transaction. RegistryFileError when the file as a whole cannot be read."""
    path = Path(path)
    report = ImportReport()
    report.rows, records, report.errors = parse_file(path, area_code)
    write = not dry_run and (skip_errors or not report.errors)
    with session_scope(url) as s:
        apply_records(s, records, write, report)
        if write:
            audit.record(actor, "registry_import_elders",
                         detail=f"{path.name}: {report.summary()}", session=s)
            report.written = True
        else:
            s.rollback()
    log.info("registry import %s: %s%s", path.name, report.summary(),
             "" if report.written else " (nothing written)")
    return report
