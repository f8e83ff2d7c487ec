"""What every registry import (elders, services, providers, closures) shares: reading a
file (CSV in UTF-8 or GB18030 as Excel saves it in China, or XLSX; row numbers as the
spreadsheet shows them, the header is row 1), the columns by header, a row's problems, the
report and its summary line, and one import in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from bot import audit
from bot.db import session_scope
from bot.registry import validate as v

log = logging.getLogger(__name__)

__all__ = [
    "Checker",
    "FileReport",
    "RegistryFileError",
    "RowProblem",
    "columns",
    "read_table",
    "read_records",
    "first_of_each",
    "run_import",
    "whole_number",
    "day",
    "split_list",
]

_LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")


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
class FileReport:
    """What one import found and did; `summary()` is the line the CLI prints first."""

    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    # rows of the database that the file does not name (kept; listed for review): names,
    # or for elders (id, name, ID number's last four, street)
    not_in_file: list[Any] = field(default_factory=list)
    # what the import did to the capacity windows (bot.registry.capacity.CapacityReport)
    capacity: object | None = None
    written: bool = False

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.new} new, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.error_rows} errors"
        )


def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """Header cells and (row number, cells) of the first sheet; blank rows are skipped."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise RegistryFileError(f"不认识的文件类型“{path.suffix}”：请用 .csv 或 .xlsx")


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
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
    rows = ((number, cells) for number, cells in enumerate(reader, start=2) if any(c.strip() for c in cells))
    return [c.strip() for c in header], rows


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
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

    def rows() -> Iterator[tuple[int, list[Any]]]:
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


def read_records(
    path: Path, required: tuple[str, ...], parse_row: Callable[..., tuple[Any, list[RowProblem]]]
) -> tuple[int, list[Any], list[RowProblem], set[str]]:
    """Every row of the file through `parse_row(number, get, present)`, which returns
    (record or None, problems). Returns (row count, records, problems, headers present);
    RegistryFileError when the file as a whole cannot be read."""
    header, rows = read_table(path)
    index = columns(header, required)
    present = set(index)
    records: list[Any] = []
    problems: list[RowProblem] = []
    count = 0
    for number, cells in rows:
        count += 1

        def get(h: str, cells: list[Any] = cells) -> Any:
            i = index.get(h)
            return cells[i] if i is not None and i < len(cells) else None

        record, row_problems = parse_row(number, get, present)
        problems.extend(row_problems)
        if record is not None:
            records.append(record)
    return count, records, problems, present


def first_of_each(
    records: list[Any], key: Callable[[Any], object], field: str, what: str, problems: list[RowProblem]
) -> list[Any]:
    """The records with a key not seen in an earlier row; each repeat becomes a problem
    naming the first row ("和第2行是同一个身份证号"). Sorts `problems` by row."""
    kept: list[Any] = []
    first_row: dict[object, int] = {}
    for r in records:
        k = key(r)
        if k in first_row:
            problems.append(RowProblem(r.row, field, f"和第{first_row[k]}行是同一个{what}"))
            continue
        first_row[k] = r.row
        kept.append(r)
    problems.sort(key=lambda p: p.row)
    return kept


def run_import(
    path: Path | str,
    *,
    parse_file: Callable[[Path], tuple[int, list[Any], list[RowProblem]]],
    apply: Callable[..., Any],
    action: str,
    dry_run: bool,
    skip_errors: bool,
    actor: str,
    url: str | None,
) -> FileReport:
    """One import in one transaction: `parse_file(path)` -> (rows, records, problems);
    `apply(session, records, report)` upserts the records into the session, counts them,
    adds the problems only the database can see, and returns the ids of the providers whose
    windows may change (None: none). Those windows are regenerated in the same transaction.
    With any error nothing is kept unless `skip_errors`; `dry_run` keeps nothing (and so
    shows what a real run would do, windows included)."""
    from bot.registry import capacity

    path = Path(path)
    report = FileReport()
    report.rows, records, report.errors = parse_file(path)
    with session_scope(url) as s:
        affected = apply(s, records, report)
        s.flush()
        if affected:
            report.capacity = capacity.generate_windows(s, provider_ids=affected)
        if not dry_run and (skip_errors or not report.errors):
            audit.record(actor, action, detail=f"{path.name}: {report.summary()}", session=s)
            report.written = True
        else:
            s.rollback()
    log.info(
        "registry %s %s: %s%s",
        action,
        path.name,
        report.summary(),
        "" if report.written else " (nothing written)",
    )
    return report


class Checker:
    """Collects the problems of one row: `check(header, fn, *args)` gives the clean value
    or None (and notes the problem)."""

    def __init__(self, number: int, get: Callable[[str], Any]):
        self.number = number
        self.get = get
        self.problems: list[RowProblem] = []

    def check(self, header: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self.get(header), *args, field=header, **kwargs)
        except v.RowError as exc:
            self.problems.append(RowProblem(self.number, exc.field, exc.reason))
            return None

    def problem(self, header: str, reason: str) -> None:
        self.problems.append(RowProblem(self.number, header, reason))


# --- cells ----------------------------------------------------------------------------------


def whole_number(
    value: object, field: str = "", *, maximum: int | None = None, default: int | None = None
) -> int:
    """A count (places, minutes): a whole number, not negative; blank gives `default`
    (an error when there is none)."""
    s = v.text(value).replace(",", "")
    if not s:
        if default is not None:
            return default
        raise v.RowError(field, "没有填写")
    if s.startswith("-") and s[1:].isdigit():
        raise v.RowError(field, "不能是负数")
    if not s.isdigit():
        raise v.RowError(field, f"请填写整数（如3），不是“{s}”")
    n = int(s)
    if maximum is not None and n > maximum:
        raise v.RowError(field, f"太大了（最多{maximum}）")
    return n


def day(value: object, field: str = "日期") -> dt.date:
    """A date as a spreadsheet gives it (a date cell) or as people write it: 2027-01-01,
    2027/1/1, 2027.1.1, 2027年1月1日, 20270101."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = "".join(v.text(value).split())
    if not s:
        raise v.RowError(field, "没有填写")
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", s
    )
    if not m:
        raise v.RowError(field, "看不懂这个日期，请写成2027-01-01")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise v.RowError(field, "不是一个真实的日期") from None


def split_list(value: object) -> list[str]:
    """A cell listing several names (五老村、洪武路 / 助餐,助洁 / 助浴；理发), in order,
    without repeats."""
    seen: list[str] = []
    for item in _LIST_SEPARATORS.split(v.text(value)):
        if item and item not in seen:
            seen.append(item)
    return seen
