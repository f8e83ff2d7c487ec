"""Services, providers, closures and capacity windows from a district's files
(bot/registry/services.py, providers.py, capacity.py), the `flask --app server registry`
commands and the 服务机构 console pages, on a real migrated SQLite database with the demo
data (demo/services.csv, providers.csv, closures.csv; the suite's clock: Monday 2026-11-23).

Closed half days: the generator adds no window for a half day with 0 places; a window that
already exists is lowered to what is booked (0 when nothing is), never deleted."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models.booking import CapacityException, CapacityTemplate, CapacityWindow, Provider, ServiceType
from bot.models.console import AuditEntry
from bot.registry import capacity
from bot.registry.files import RegistryFileError
from bot.registry.providers import import_providers
from bot.registry.services import import_services
from tests.test_booking import pg_url  # noqa: F401  (fixture: a throw-away migrated demo DB)

PROVIDER_HEADER = ["机构名称", "联系电话", "联系人", "服务项目", "服务街道", "每半天名额"]
YUEHUA = 1  # 悦华养老服务中心 (demo/providers.csv, loaded in order), covers 五老村
ZHANG = 1  # 张桂兰, 五老村


def write_csv(path, rows, header=None):
    header = header or list(dict.fromkeys(h for r in rows for h in r))
    lines = [",".join(header)] + [",".join(str(r.get(h, "")) for h in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def provider_row(
    name="鼓楼银龄服务站",
    phone="025-84000053",
    contact="周站长",
    services="助浴、cleaning",
    streets="洪武路、双塘",
    places=2,
    **extra,
):
    values = dict(zip(PROVIDER_HEADER, [name, phone, contact, services, streets, places]))
    values.update(extra)
    return values


def windows(provider_id: int, day: dt.date) -> dict[str, tuple[int, int]]:
    """part -> (capacity, booked) of a provider's windows on a day."""
    with session_scope() as s:
        rows = s.execute(
            select(CapacityWindow.part, CapacityWindow.capacity, CapacityWindow.booked).where(
                CapacityWindow.provider_id == provider_id, CapacityWindow.day == day
            )
        ).all()
    return {part: (cap, booked) for part, cap, booked in rows}


def provider_id(name: str) -> int:
    with session_scope() as s:
        return s.execute(select(Provider.id).where(Provider.name == name)).scalar_one()


def count(model) -> int:
    with session_scope() as s:
        return s.execute(select(func.count(model.id))).scalar_one()


@pytest.fixture
def cli(db_url):
    from server import create_app

    runner = create_app({"TESTING": True}).test_cli_runner()
    return lambda *args: runner.invoke(args=["registry", *map(str, args)])


# --- the demo catalogue comes from the files -------------------------------------------------


def test_demo_catalogue_providers_and_capacity_come_from_demo_files(db_url):
    with session_scope() as s:
        services = {
            st.code: (st.name, st.duration_minutes, st.price_fen, st.uses_free_hours)
            for st in s.execute(select(ServiceType)).scalars()
        }
        providers = s.execute(select(Provider).order_by(Provider.id)).scalars().all()
        assert [p.name for p in providers][0] == "悦华养老服务中心"
        assert sorted(st.name for st in providers[0].streets) == sorted(
            ["五老村", "洪武路", "大光路", "瑞金路"]
        )
        assert providers[0].phone == "02580000001" and len(providers[0].service_types) == 6
        assert set(providers[0].weekly_template().values()) == {3}
    assert services["meal"] == ("助餐", 30, 1500, False)
    assert services["bath"] == ("助浴", 60, 5000, True)
    assert len(services) == 6
    today = dt.date(2026, 11, 23)
    assert windows(YUEHUA, today) == {"上午": (3, 0), "下午": (3, 0)}
    assert windows(YUEHUA, today + dt.timedelta(days=41))  # 42 days ahead
    assert windows(YUEHUA, today + dt.timedelta(days=42)) == {}
    assert windows(YUEHUA, dt.date(2027, 1, 1)) == {}  # demo/closures.csv: 元旦


# --- services ---------------------------------------------------------------------------------


def test_services_import_prices_in_fen_idempotent_and_checked(db_url, tmp_path):
    good = write_csv(
        tmp_path / "services.csv",
        [
            {
                "服务代码": "bath",
                "服务名称": "助浴",
                "每次时长分钟": 60,
                "每次价格元": 55,
                "可用免费时长": "是",
                "说明": "上门协助洗澡",
            },
            {
                "服务代码": "footcare",
                "服务名称": "足部护理",
                "每次时长分钟": 45,
                "每次价格元": "32.5",
                "可用免费时长": "否",
                "说明": "",
            },
        ],
    )
    report = import_services(good)
    assert (report.new, report.updated, report.unchanged, report.errors) == (1, 1, 0, [])
    with session_scope() as s:
        foot = s.execute(select(ServiceType).where(ServiceType.code == "footcare")).scalar_one()
        assert (foot.price_fen, foot.uses_free_hours) == (3250, False)
    assert "meal 助餐" in report.not_in_file  # kept, listed
    again = import_services(good)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)

    bad = write_csv(
        tmp_path / "bad.csv",
        [
            {
                "服务代码": "Bath!",
                "服务名称": "助浴",
                "每次时长分钟": 60,
                "每次价格元": 50,
                "可用免费时长": "是",
            },
            {
                "服务代码": "tea",
                "服务名称": "陪聊",
                "每次时长分钟": 0,
                "每次价格元": "-5",
                "可用免费时长": "",
            },
            {
                "服务代码": "chat",
                "服务名称": "陪聊天",
                "每次时长分钟": 30,
                "每次价格元": "1.234",
                "可用免费时长": "也许",
            },
            {
                "服务代码": "footcare",
                "服务名称": "助餐",
                "每次时长分钟": 30,
                "每次价格元": 10,
                "可用免费时长": "否",
            },
        ],
        header=["服务代码", "服务名称", "每次时长分钟", "每次价格元", "可用免费时长", "说明"],
    )
    report = import_services(bad)
    lines = [p.line() for p in report.errors]
    assert "第2行 服务代码：请用英文小写字母开头，只用字母、数字和下划线（最多24个），例如bath" in lines
    assert "第3行 每次价格元：不能是负数" in lines and "第3行 每次时长分钟：不能是0" in lines
    assert "第3行 可用免费时长：没有填写（请填“是”或“否”）" in lines
    assert "第4行 每次价格元：最多到分（小数点后两位）" in lines
    assert "第5行 服务名称：“助餐”已经是服务代码meal的名称了" in lines
    assert not report.written
    with session_scope() as s:
        assert (
            s.execute(select(ServiceType.name).where(ServiceType.code == "footcare")).scalar_one()
            == "足部护理"
        )


# --- providers: row checks --------------------------------------------------------------------


def test_provider_rows_are_checked_with_row_numbers_and_chinese_reasons(db_url, tmp_path, cli):
    path = write_csv(
        tmp_path / "providers.csv",
        [
            provider_row(),  # row 2: fine
            provider_row(name="城东服务社", streets="五老村、火星街道"),  # unknown street
            provider_row(name="城西服务社", services="助浴、洗车"),  # unknown service
            provider_row(name="城北服务社", phone="12345"),  # bad phone
            provider_row(name="城中服务社", places=-1),  # negative capacity
            provider_row(name="鼓楼银龄服务站", phone="13912345678"),  # same provider again
            provider_row(name="城南新站", places=3, 周二上午="两个"),  # not a number
        ],
        header=PROVIDER_HEADER + ["周二上午"],
    )
    before = count(Provider)
    result = cli("import-providers", path)
    assert result.exit_code == 1, result.output
    out = result.output
    assert out.startswith("7 rows: 1 new, 0 updated, 0 unchanged, 6 errors (nothing written)")
    assert re.search(r"第3行 服务街道：“火星街道”不是本区的街道（本区有：五老村、", out)
    assert "第4行 服务项目：“洗车”不在服务目录里（目录里有：助餐、助洁、助浴" in out
    assert "第5行 联系电话：" in out
    assert "第6行 每半天名额：不能是负数" in out
    assert "第7行 机构名称：和第2行是同一个机构" in out
    assert "第8行 周二上午：请填写整数（如3），不是“两个”" in out
    assert count(Provider) == before  # errors: nothing written

    # --skip-errors writes the good rows (and their windows)
    result = cli("import-providers", path, "--skip-errors")
    assert result.exit_code == 1 and "1 new" in result.output
    assert provider_id("鼓楼银龄服务站") and count(Provider) == before + 1
    assert "windows 2026-11-23 to 2027-01-03 (6 weeks, 1 providers): 82 added" in result.output


def test_a_file_that_cannot_be_read_exits_2(db_url, tmp_path, cli):
    missing_columns = write_csv(tmp_path / "p.csv", [{"机构名称": "某站", "联系电话": "13912345678"}])
    result = cli("import-providers", missing_columns)
    assert result.exit_code == 2
    assert "缺少这些列：联系人、服务项目、服务街道、每半天名额" in result.output
    other = tmp_path / "p.pdf"
    other.write_bytes(b"%PDF")
    assert cli("import-closures", other).exit_code == 2
    with pytest.raises(RegistryFileError):
        import_services(other)


# --- providers: upsert, idempotence, dry run ----------------------------------------------------


def test_provider_import_is_idempotent_and_dry_run_writes_nothing(db_url, tmp_path, cli):
    path = write_csv(
        tmp_path / "providers.csv",
        [
            provider_row(),
            provider_row(
                name="悦华养老服务中心",
                phone="025-80000001",
                contact="王主任",
                services="助餐、助洁、助浴、助医陪诊、康复护理、上门理发",
                streets="五老村、洪武路、大光路、瑞金路",
                places=3,
            ),
        ],
    )
    windows_before, audits_before = count(CapacityWindow), count(AuditEntry)
    dry = cli("import-providers", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("2 rows: 1 new, 1 updated, 0 unchanged, 0 errors (dry run: nothing written)")
    assert "鼓楼银龄服务站: 82 added" in dry.output  # 42 days, minus 元旦
    assert "3 providers in the database are not in this file (kept)" in dry.output
    with session_scope() as s:
        assert (
            s.execute(select(func.count(Provider.id)).where(Provider.name == "鼓楼银龄服务站")).scalar_one()
            == 0
        )
        assert s.get(Provider, YUEHUA).contact_name is None
    assert (count(CapacityWindow), count(AuditEntry)) == (windows_before, audits_before)

    first = cli("import-providers", path)
    assert first.exit_code == 0 and first.output.startswith("2 rows: 1 new, 1 updated, 0 unchanged")
    assert count(CapacityWindow) == windows_before + 82
    second = cli("import-providers", path)
    assert second.exit_code == 0
    assert second.output.startswith("2 rows: 0 new, 0 updated, 2 unchanged, 0 errors")
    assert "added" not in second.output and count(CapacityWindow) == windows_before + 82
    with session_scope() as s:
        p = s.execute(select(Provider).where(Provider.name == "鼓楼银龄服务站")).scalar_one()
        assert (p.phone, p.contact_name) == ("02584000053", "周站长")
        assert sorted(st.code for st in p.service_types) == ["bath", "cleaning"]
        assert sorted(st.name for st in p.streets) == ["双塘", "洪武路"]
        assert (
            s.execute(
                select(func.count(CapacityTemplate.id)).where(CapacityTemplate.provider_id == p.id)
            ).scalar_one()
            == 14
        )


def test_weekly_template_gives_the_right_windows(db_url, tmp_path):
    path = write_csv(
        tmp_path / "providers.csv",
        [provider_row(places=2, 周一上午=5, 周六上午=0, 周六下午=0, 周日下午="", 是否停用="否")],
        header=PROVIDER_HEADER + ["周一上午", "周六上午", "周六下午", "周日下午", "是否停用"],
    )
    report = import_providers(path)
    assert report.written and report.capacity.added == 82 - 12  # 6 Saturdays closed
    pid = provider_id("鼓楼银龄服务站")
    assert windows(pid, dt.date(2026, 11, 30)) == {"上午": (5, 0), "下午": (2, 0)}  # Monday
    assert windows(pid, dt.date(2026, 12, 1)) == {"上午": (2, 0), "下午": (2, 0)}  # Tuesday
    assert windows(pid, dt.date(2026, 11, 28)) == {}  # Saturday: closed
    assert windows(pid, dt.date(2026, 11, 29)) == {"上午": (2, 0), "下午": (2, 0)}  # Sunday: default
    with session_scope() as s:
        w = s.execute(
            select(CapacityWindow).where(
                CapacityWindow.provider_id == pid,
                CapacityWindow.day == dt.date(2026, 11, 30),
                CapacityWindow.part == "下午",
            )
        ).scalar_one()
        assert (w.starts_at, w.ends_at) == (dt.datetime(2026, 11, 30, 13), dt.datetime(2026, 11, 30, 17))
    # the template changes: an open window with nothing booked goes to 0, not away
    path = write_csv(
        tmp_path / "providers2.csv",
        [provider_row(places=2, 周一上午=0)],
        header=PROVIDER_HEADER + ["周一上午"],
    )
    report = import_providers(path)
    assert report.updated == 1
    assert windows(pid, dt.date(2026, 11, 30)) == {"上午": (0, 0), "下午": (2, 0)}
    assert windows(pid, dt.date(2026, 11, 28)) == {"上午": (2, 0), "下午": (2, 0)}  # Saturday opened
    assert len(report.capacity.changes) == 6 and report.capacity.added == 12


def test_a_stopped_provider_gets_no_new_windows(db_url, tmp_path):
    path = write_csv(tmp_path / "providers.csv", [provider_row(是否停用="是")])
    import_providers(path)
    assert windows(provider_id("鼓楼银龄服务站"), dt.date(2026, 11, 30)) == {}
    with session_scope() as s:
        assert (
            s.execute(select(Provider.active).where(Provider.name == "鼓楼银龄服务站")).scalar_one() is False
        )


def test_providers_file_as_xlsx(db_url, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(PROVIDER_HEADER + ["周日上午"])
    sheet.append(["鼓楼银龄服务站", 84000053, None, "助浴；助洁", "洪武路,双塘", 4, 0])
    book.save(tmp_path / "providers.xlsx")
    report = import_providers(tmp_path / "providers.xlsx")
    assert (report.new, report.errors) == (1, [])
    pid = provider_id("鼓楼银龄服务站")
    assert windows(pid, dt.date(2026, 11, 29)) == {"下午": (4, 0)}


# --- exceptions -------------------------------------------------------------------------------


def test_a_closure_closes_a_day_and_reimport_changes_nothing(db_url, tmp_path, cli):
    path = write_csv(
        tmp_path / "closures.csv",
        [
            {"日期": "2026/12/2", "机构名称": "", "时段": "全天", "名额": 0, "原因": "全区培训"},
            {
                "日期": "2026年12月3日",
                "机构名称": "悦华养老服务中心",
                "时段": "上午",
                "名额": "",
                "原因": "机构消毒",
            },
            {"日期": "2026-12-05", "机构名称": "悦华养老服务中心", "时段": "下午", "名额": 6, "原因": "加班"},
        ],
        header=["日期", "机构名称", "时段", "名额", "原因"],
    )
    result = cli("import-closures", path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 rows: 3 new, 0 updated, 0 unchanged, 0 errors")
    for pid in (1, 2, 3, 4):
        assert windows(pid, dt.date(2026, 12, 2)) == {"上午": (0, 0), "下午": (0, 0)}
    assert windows(YUEHUA, dt.date(2026, 12, 3)) == {"上午": (0, 0), "下午": (3, 0)}
    assert windows(2, dt.date(2026, 12, 3)) == {"上午": (3, 0), "下午": (3, 0)}
    assert windows(YUEHUA, dt.date(2026, 12, 5)) == {"上午": (3, 0), "下午": (6, 0)}
    again = cli("import-closures", path)
    assert again.output.startswith("3 rows: 0 new, 0 updated, 3 unchanged, 0 errors")
    assert "windows" not in again.output
    # the whole-district closure is over-ruled by one provider's own: most specific wins
    capacity_row = write_csv(
        tmp_path / "open.csv",
        [{"日期": "2026-12-02", "机构名称": "城南居家养老服务站", "时段": "下午", "名额": 2, "原因": "照常"}],
    )
    assert cli("import-closures", capacity_row).exit_code == 0
    assert windows(2, dt.date(2026, 12, 2)) == {"上午": (0, 0), "下午": (2, 0)}
    with session_scope() as s:
        options = booking.available_windows(s, "bath", "五老村", dt.datetime(2026, 12, 2, 8))
    assert all(o.start.date() != dt.date(2026, 12, 2) for o in options)


def test_closure_rows_are_checked(db_url, tmp_path, cli):
    path = write_csv(
        tmp_path / "closures.csv",
        [
            {"日期": "2026-02-30", "机构名称": "", "时段": "全天", "名额": 0, "原因": "x"},
            {"日期": "2026-12-02", "机构名称": "不存在的站", "时段": "上午", "名额": 0, "原因": "培训"},
            {"日期": "2026-12-02", "机构名称": "", "时段": "晚上", "名额": 0, "原因": ""},
            {"日期": "2026-12-09", "机构名称": "", "时段": "全天", "名额": 0, "原因": "培训"},
            {"日期": "2026-12-09", "机构名称": "", "时段": "", "名额": 0, "原因": "培训"},
        ],
        header=["日期", "机构名称", "时段", "名额", "原因"],
    )
    before = count(CapacityException)
    result = cli("import-closures", path)
    assert result.exit_code == 1
    assert "第2行 日期：不是一个真实的日期" in result.output
    assert "第3行 机构名称：没有叫“不存在的站”的服务机构（留空表示全部机构）" in result.output
    assert "第4行 时段：请填写“上午”“下午”或“全天”" in result.output
    assert "第4行 原因：没有填写" in result.output
    assert "第6行 日期：和第5行是同一个日期、机构和时段" in result.output
    assert count(CapacityException) == before


def test_a_closure_on_a_booked_window_keeps_the_booked_places_and_lists_it(db_url, tmp_path, cli):
    start = dt.datetime(2026, 11, 26, 8)  # Thursday morning
    made = booking.book(ZHANG, "bath", start, "web", f"t:{uuid.uuid4().hex}")
    assert made.ok
    assert windows(YUEHUA, start.date())["上午"] == (3, 1)
    path = write_csv(
        tmp_path / "closures.csv",
        [{"日期": "2026-11-26", "机构名称": "悦华养老服务中心", "时段": "全天", "名额": 0, "原因": "停电"}],
    )
    result = cli("import-closures", path)
    assert result.exit_code == 0, result.output
    assert windows(YUEHUA, start.date()) == {"上午": (1, 1), "下午": (0, 0)}
    assert "1 windows keep more places than planned because elders booked them" in result.output
    assert "悦华养老服务中心 11月26日上午：应为0个名额，已约1个，保留1个" in result.output
    assert "changed 悦华养老服务中心 2026-11-26 上午: 3 -> 1" in result.output
    # still listed by the capacity command until the visit is moved; nothing changes again
    again = cli("capacity")
    assert "0 added, 0 changed, 1 held by bookings" in again.output
    assert "悦华养老服务中心 11月26日上午：应为0个名额，已约1个，保留1个" in again.output
    # once the elder cancels, the next run closes the window
    assert booking.cancel(made.reference, ZHANG).ok
    after = cli("capacity")
    assert "0 added, 1 changed, 0 held by bookings" in after.output
    assert windows(YUEHUA, start.date())["上午"] == (0, 0)


# --- the generator ---------------------------------------------------------------------------


def test_capacity_command_is_idempotent_and_dry_run_writes_nothing(db_url, cli):
    before = count(CapacityWindow)
    dry = cli("capacity", "--weeks", 8, "--dry-run")
    assert dry.exit_code == 0
    assert "windows 2026-11-23 to 2027-01-17 (8 weeks, 4 providers): 112 added, 0 changed" in dry.output
    assert "held by bookings (not written)" in dry.output and count(CapacityWindow) == before
    assert cli("capacity", "--weeks", 8).exit_code == 0
    assert count(CapacityWindow) == before + 112
    again = cli("capacity", "--weeks", 8)
    assert "0 added, 0 changed, 0 held" in again.output and count(CapacityWindow) == before + 112
    bad = cli("capacity", "--from", "2026-13-01")
    assert bad.exit_code == 2 and "不是日期" in bad.output


def _days_with_windows(pid: int, first: dt.date, last: dt.date) -> dict[dt.date, dict]:
    with session_scope() as s:
        rows = s.execute(
            select(
                CapacityWindow.day, CapacityWindow.part, CapacityWindow.starts_at, CapacityWindow.capacity
            ).where(
                CapacityWindow.provider_id == pid, CapacityWindow.day >= first, CapacityWindow.day <= last
            )
        ).all()
    found: dict[dt.date, dict] = {}
    for d, part, start, cap in rows:
        assert start.date() == d and capacity.part_of(start) == part
        found.setdefault(d, {})[part] = cap
    return found


def test_generation_across_a_year_end(db_url, pin_clock, tmp_path):
    import_providers(
        write_csv(
            tmp_path / "p.csv",
            [provider_row(places=2, 周一上午=4, 周日上午=0, 周日下午=0)],
            header=PROVIDER_HEADER + ["周一上午", "周日上午", "周日下午"],
        )
    )
    pid = provider_id("鼓楼银龄服务站")
    pin_clock("2026-12-31T23:50")
    with session_scope() as s:
        report = capacity.generate_windows(s, weeks=2)
    assert (report.first, report.last) == (dt.date(2026, 12, 31), dt.date(2027, 1, 13))
    days = _days_with_windows(pid, dt.date(2026, 12, 31), dt.date(2027, 1, 13))
    assert dt.date(2027, 1, 1) not in days  # 元旦 (demo/closures.csv)
    assert dt.date(2027, 1, 3) not in days  # a Sunday: closed by the template
    assert days[dt.date(2026, 12, 31)] == {"上午": 2, "下午": 2}
    assert days[dt.date(2027, 1, 4)] == {"上午": 4, "下午": 2}  # Monday
    assert days[dt.date(2027, 1, 13)] == {"上午": 2, "下午": 2}
    assert len(days) == 14 - 1 - 2  # 元旦 and two Sundays
    assert windows(YUEHUA, dt.date(2027, 1, 13)) == {"上午": (3, 0), "下午": (3, 0)}


def test_generation_across_a_month_end_and_a_leap_day(db_url, pin_clock, tmp_path):
    import_providers(
        write_csv(
            tmp_path / "p.csv", [provider_row(places=1, 周三下午=0)], header=PROVIDER_HEADER + ["周三下午"]
        )
    )
    pid = provider_id("鼓楼银龄服务站")
    pin_clock("2027-01-30T10:00")
    with session_scope() as s:
        capacity.generate_windows(s, weeks=1)
    days = _days_with_windows(pid, dt.date(2027, 1, 30), dt.date(2027, 2, 5))
    assert sorted(days) == [dt.date(2027, 1, 30) + dt.timedelta(days=n) for n in range(7)]
    assert days[dt.date(2027, 2, 3)] == {"上午": 1}  # Wednesday afternoon closed
    pin_clock("2028-02-27T10:00")
    with session_scope() as s:
        capacity.generate_windows(s, days=4)
    days = _days_with_windows(pid, dt.date(2028, 2, 27), dt.date(2028, 3, 1))
    assert sorted(days) == [
        dt.date(2028, 2, 27),
        dt.date(2028, 2, 28),
        dt.date(2028, 2, 29),
        dt.date(2028, 3, 1),
    ]
    assert days[dt.date(2028, 3, 1)] == {"上午": 1}  # a Wednesday


def test_weeks_ahead_come_from_the_setting(db_url, monkeypatch):
    monkeypatch.setenv("CAPACITY_WEEKS_AHEAD", "7")
    with session_scope() as s:
        report = capacity.generate_windows(s)
    assert report.last == dt.date(2026, 11, 23) + dt.timedelta(days=48)
    assert report.added == 4 * 7 * 2


# --- console ----------------------------------------------------------------------------------

ADVISOR_PW = "advisor-pass-2024"
ADMIN_PW = "admin-pass-2024"


@pytest.fixture
def app(db_url):
    from bot.console_users import create_user
    from server import create_app

    with session_scope(db_url) as s:
        create_user(s, "wangli", ADVISOR_PW, role="advisor", display_name="王丽")
        create_user(s, "boss", ADMIN_PW, role="admin")
    return create_app({"TESTING": True})


def _client(app, username, password):
    from tests.test_console_security import login

    client = app.test_client()
    assert login(client, username, password).status_code == 302
    return client


def _token(client, path="/advisor/providers") -> str:
    from tests.test_console_security import csrf_token

    return csrf_token(client.get(path).get_data(as_text=True))


def test_providers_page_lists_services_streets_and_template(app):
    client = _client(app, "wangli", ADVISOR_PW)
    page = client.get("/advisor/providers").get_data(as_text=True)
    assert "悦华养老服务中心" in page and "五老村、洪武路、大光路、瑞金路" in page
    assert "助餐、助洁、助浴" in page and "周一 3/3" in page
    assert "2027-01-01" in page and "元旦" in page  # demo closure
    assert "/advisor/providers/1" not in page  # no edit link for an advisor
    assert 'href="/advisor/providers"' in client.get("/advisor/").get_data(as_text=True)


def test_admin_edits_contact_and_template_and_windows_follow(app):
    client = _client(app, "boss", ADMIN_PW)
    page = client.get(f"/advisor/providers/{YUEHUA}").get_data(as_text=True)
    assert 'name="t5am"' in page
    form = {name: "3" for name in (f"t{d}{p}" for d in range(7) for p in ("am", "pm"))}
    form.update(
        t5am="0",
        t0pm="5",
        contact_name="王主任",
        phone="025-80000009",
        active="y",
        csrf_token=_token(client, f"/advisor/providers/{YUEHUA}"),
    )
    r = client.post(f"/advisor/providers/{YUEHUA}", data=form, follow_redirects=True)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "已保存 悦华养老服务中心 的修改" in page and "调整12个时段" in page
    assert windows(YUEHUA, dt.date(2026, 11, 28))["上午"] == (0, 0)  # Saturday morning
    assert windows(YUEHUA, dt.date(2026, 11, 30))["下午"] == (5, 0)  # Monday afternoon
    with session_scope() as s:
        p = s.get(Provider, YUEHUA)
        assert (p.contact_name, p.phone) == ("王主任", "02580000009")
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "edit_provider")).scalar_one()
        assert entry.actor == "boss" and "周六上午 3->0" in entry.detail
    bad = dict(form, t1am="-2", phone="123", csrf_token=_token(client, f"/advisor/providers/{YUEHUA}"))
    r = client.post(f"/advisor/providers/{YUEHUA}", data=bad)
    assert r.status_code == 400
    assert "周二上午：不能是负数" in r.get_data(as_text=True)


def test_advisor_cannot_edit_a_provider(app):
    client = _client(app, "wangli", ADVISOR_PW)
    assert client.get(f"/advisor/providers/{YUEHUA}").status_code == 403
    r = client.post(
        f"/advisor/providers/{YUEHUA}",
        data={"csrf_token": _token(client), "contact_name": "x", "phone": "13912345678"},
    )
    assert r.status_code == 403
    with session_scope() as s:
        assert s.get(Provider, YUEHUA).contact_name is None


def _post_closure(client, *, follow_redirects=True, **fields):
    """The console's closure form posted with its CSRF token (fields: day, provider, part,
    places, reason)."""
    return client.post(
        "/advisor/providers/closures",
        follow_redirects=follow_redirects,
        data={"csrf_token": _token(client), **fields},
    )


def test_advisor_adds_and_removes_a_closure(app):
    client = _client(app, "wangli", ADVISOR_PW)
    r = _post_closure(client, day="2026-12-02", provider="", part="全天", places="0", reason="全区培训")
    assert r.status_code == 200
    assert "已登记：2026-12-02 全部机构 全天停约" in r.get_data(as_text=True)
    assert windows(2, dt.date(2026, 12, 2)) == {"上午": (0, 0), "下午": (0, 0)}
    with session_scope() as s:
        exc = s.execute(
            select(CapacityException).where(CapacityException.day == dt.date(2026, 12, 2))
        ).scalar_one()
        assert (exc.provider_id, exc.part, exc.created_by) == (None, None, "wangli")
        assert (
            s.execute(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "add_closure")
            ).scalar_one()
            == 1
        )
    r = client.post(
        f"/advisor/providers/closures/{exc.id}/delete",
        follow_redirects=True,
        data={"csrf_token": _token(client)},
    )
    assert "已删除" in r.get_data(as_text=True)
    assert windows(2, dt.date(2026, 12, 2)) == {"上午": (3, 0), "下午": (3, 0)}
    # a day gone by, or nonsense, is refused politely
    r = _post_closure(
        client, day="2026-11-01", provider="1", part="上午", places="x", reason="", follow_redirects=False
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "日期：这一天已经过去了" in page
    assert "名额：请填写整数" in page and "原因：没有填写" in page


def test_a_closure_over_bookings_is_shown_to_the_advisor(app):
    start = dt.datetime(2026, 11, 26, 8)
    assert booking.book(ZHANG, "bath", start, "web", f"t:{uuid.uuid4().hex}").ok
    client = _client(app, "wangli", ADVISOR_PW)
    r = _post_closure(client, day="2026-11-26", provider=str(YUEHUA), part="上午", places="0", reason="停电")
    page = r.get_data(as_text=True)
    assert "请联系老人改期" in page and "悦华养老服务中心 11月26日上午：应为0个名额，已约1个，保留1个" in page
    assert windows(YUEHUA, start.date())["上午"] == (1, 1)


def test_console_changes_need_the_csrf_token(app):
    client = _client(app, "boss", ADMIN_PW)
    r = client.post(
        "/advisor/providers/closures",
        data={"day": "2026-12-02", "provider": "", "part": "全天", "places": "0", "reason": "培训"},
    )
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    r = client.post(f"/advisor/providers/{YUEHUA}", data={"contact_name": "x", "phone": "13912345678"})
    assert r.status_code == 400
    with session_scope() as s:
        assert (
            s.execute(
                select(func.count(CapacityException.id)).where(CapacityException.day == dt.date(2026, 12, 2))
            ).scalar_one()
            == 0
        )
        assert s.get(Provider, YUEHUA).contact_name is None


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_exceptions_and_held_windows_on_postgresql(pg_url):
    start = dt.datetime(2026, 11, 26, 8)
    assert booking.book(ZHANG, "bath", start, "web", f"t:{uuid.uuid4().hex}").ok
    with session_scope() as s:
        capacity.set_exception(
            s, day_=start.date(), provider_id=None, part=None, capacity=0, reason="停电", actor="test"
        )
        report = capacity.generate_windows(s)
    assert [h.label for h in report.held] == ["悦华养老服务中心 2026-11-26 上午"]
    assert windows(YUEHUA, start.date()) == {"上午": (1, 1), "下午": (0, 0)}
    with session_scope() as s:
        again = capacity.generate_windows(s)
    assert (again.added, again.changed, len(again.held)) == (0, 0, 1)
    # one exception per day, provider and part, NULLs included
    with pytest.raises(IntegrityError):
        with session_scope() as s:
            s.add(
                CapacityException(
                    day=start.date(),
                    provider_id=None,
                    part=None,
                    capacity=2,
                    reason="重复",
                    created_by="test",
                )
            )
