"""The register kept in the advisor console (issue 22): create and edit an elder with the
import's checks, mark her moved away or deceased (future visits cancelled, free time
returned), and the worklist. Flask test client on a migrated SQLite database with the
demo personas; the suite clock is 2026-11-23 10:00 China time."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, func, select

from bot.booking import ledger as booking
from bot.db import get_engine, session_scope
from bot.models import Elder, SmsOutbox
from bot.models.booking import Booking, CapacityWindow
from bot.models.console import AuditEntry
from bot.models.people import elder_by_id_number, elder_by_phone
from bot.registry import console
from bot.registry.validate import id_check_char
from tests.test_booking import morning
from tests.test_console_security import csrf_token, elder_id

from tests.console_fixtures import advisor_client  # noqa: F401  (the fixture `client`)

ZHANG_ID = "320119193803120027"  # 张桂兰 (demo persona), 88, 五老村


def make_id(birth: str, serial: str = "123") -> str:
    """A valid 18-character ID number (GB 11643 check character) born on YYYYMMDD;
    an odd last serial digit is a man, even a woman."""
    first17 = "320102" + birth + serial
    return first17 + id_check_char(first17)


NEW_ID = make_id("19440815", "124")  # a woman born 1944-08-15 (82 on the suite clock)


def form_data(**overrides) -> dict:
    data = {
        "name": "赵玉珍",
        "id_number": NEW_ID,
        "phone": "13912345678",
        "street": "五老村",
        "community": "五老村社区",
        "address": "五老村街道文昌巷20号",
        "living_situation": "独居",
        "economic_status": "普通",
        "care_level": "轻度失能",
        "hukou_local": "是",
        "dementia": "否",
        "special_family": "否",
        "disability_certificate": "否",
        "veteran": "否",
        "emergency_contact_name": "赵小红",
        "emergency_contact_phone": "8400 0053",
        "emergency_contact_relation": "女儿",
        "notes": "耳背，请大声说话",
    }
    data.update(overrides)
    return data


def elder_count() -> int:
    with session_scope() as s:
        return s.execute(select(func.count(Elder.id))).scalar_one()


def audits(action: str) -> list[AuditEntry]:
    with session_scope() as s:
        return list(
            s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars()
        )


def post_new(client, **overrides):
    token = csrf_token(client.get("/advisor/elders/new").get_data(as_text=True))
    return client.post("/advisor/elders/new", data={"csrf_token": token, **form_data(**overrides)})


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<span class="field-error" id="err-{field}"[^>]*>(.*?)</span>', html, re.S)
    return match.group(1) if match else ""


# --- create ---------------------------------------------------------------------------------


def test_create_an_elder_with_the_imports_checks(client):
    before = elder_count()
    r = post_new(client)
    assert r.status_code == 302
    new_id = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已新增老人档案：赵玉珍" in page and NEW_ID not in page and "**************" + NEW_ID[-4:] in page
    assert elder_count() == before + 1
    with session_scope() as s:
        elder = s.get(Elder, new_id)
        assert elder_by_id_number(s, NEW_ID).id == new_id
        assert (elder.birth_date, elder.gender, elder.age) == (dt.date(1944, 8, 15), "女", 82)
        assert elder.phone == "13912345678"
        assert elder.emergency_contact_phone == "02584000053"  # the local area code was added
        assert (elder.street.name, elder.community.name, elder.status) == ("五老村", "五老村社区", "active")
        assert elder.hukou_local and not elder.dementia and elder.notes == "耳背，请大声说话"
    entry = audits("create_elder")[-1]
    assert entry.actor == "wangli" and entry.elder_id == new_id
    for value in (NEW_ID, "13912345678", "84000053", "文昌巷", "赵小红"):
        assert value not in entry.detail
    assert "phone" in entry.detail and "address" in entry.detail


@pytest.mark.parametrize(
    "field,value,reason",
    [
        ("id_number", NEW_ID[:17] + ("1" if NEW_ID[17] != "1" else "2"), "校验位不对"),
        ("id_number", "32010219441315124X", "不是一个真实的日期"),
        ("id_number", "", "没有填写"),
        ("street", "火星", "不是本区的街道"),
        ("phone", "12345", "不是有效的大陆手机号或座机号"),
        ("phone", "138-abc", "只能填写数字"),
        ("emergency_contact_phone", "4008123123", "不能用来联系老人"),
        ("name", "Zhao", "请填写中文姓名"),
        ("address", "", "没有填写"),
        ("care_level", "很好", "请填写其中之一"),
        ("veteran", "也许", "请填写“是”或“否”"),
    ],
)
def test_each_wrong_field_is_named_in_chinese_and_nothing_is_written(client, field, value, reason):
    before = elder_count()
    r = post_new(client, **{field: value})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert reason in field_error(html, field), html
    assert "有1项需要改正" in html
    assert elder_count() == before
    assert audits("create_elder") == []
    assert NEW_ID not in html  # the typed number is not echoed back


def test_several_wrong_fields_are_all_shown(client):
    html = post_new(client, street="火星", phone="12345", name="").get_data(as_text=True)
    assert "有3项需要改正" in html
    assert field_error(html, "street") and field_error(html, "phone") and field_error(html, "name")


def test_a_registered_id_number_is_refused_with_a_link_to_her_record(client):
    before = elder_count()
    html = post_new(client, id_number=ZHANG_ID).get_data(as_text=True)
    error = field_error(html, "id_number")
    assert "已经登记过了" in error
    assert f'href="/advisor/elders/{elder_id("张桂兰")}"' in error
    assert elder_count() == before and ZHANG_ID not in html


# --- edit -----------------------------------------------------------------------------------


def test_edit_is_audited_by_field_names_and_never_shows_the_full_numbers(client):
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/elders/{zhang}/edit").get_data(as_text=True)
    assert ZHANG_ID not in page and "13800000001" not in page
    assert "**************0027" in page and "138****0001" in page  # what is on file, masked
    assert "五老村街道文昌巷12号3楼" in page  # the address is prefilled ...
    assert audits("view_elder")[-1].detail == "edit form"  # ... and the read audited
    data = form_data(
        name="张桂兰",
        id_number="",
        phone="025-84000099",
        address="五老村街道文昌巷14号",
        care_level="中度失能",
        emergency_contact_phone="",
        notes="",
    )
    r = client.post(
        f"/advisor/elders/{zhang}/edit", data={"csrf_token": csrf_token(page), **data}, follow_redirects=True
    )
    html = r.get_data(as_text=True)
    assert "已保存张桂兰的档案" in html and "联系电话" in html and ZHANG_ID not in html
    with session_scope() as s:
        elder = s.get(Elder, zhang)
        assert elder.phone == "02584000099" and elder.address == "五老村街道文昌巷14号"
        assert elder.care_level == "中度失能" and elder.id_number == ZHANG_ID  # blank ID: unchanged
        assert elder.birth_date == dt.date(1938, 3, 12)
        assert elder_by_phone(s, "02584000099").id == zhang
    entry = audits("edit_elder")[-1]
    assert entry.elder_id == zhang and entry.detail.startswith("changed: ")
    assert {"phone", "address", "care_level"} <= set(entry.detail[len("changed: ") :].split(", "))
    for value in ("84000099", "文昌巷", "中度失能", ZHANG_ID):
        assert value not in entry.detail
    # the same form again changes nothing and writes no edit row
    page = client.get(f"/advisor/elders/{zhang}/edit").get_data(as_text=True)
    again = client.post(
        f"/advisor/elders/{zhang}/edit",
        follow_redirects=True,
        data={"csrf_token": csrf_token(page), **dict(data, phone="")},
    )
    assert "没有改动" in again.get_data(as_text=True)
    assert len(audits("edit_elder")) == 1


def test_edit_to_another_elders_id_number_is_refused(client):
    li = elder_id("李建国")
    page = client.get(f"/advisor/elders/{li}/edit").get_data(as_text=True)
    data = form_data(name="李建国", id_number=ZHANG_ID, street="夫子庙")
    html = client.post(f"/advisor/elders/{li}/edit", data={"csrf_token": csrf_token(page), **data}).get_data(
        as_text=True
    )
    assert "已经登记过了" in field_error(html, "id_number") and ZHANG_ID not in html
    with session_scope() as s:
        assert s.get(Elder, li).id_number == "320115195007010015"
        assert s.get(Elder, li).street.name == "夫子庙"
    assert audits("edit_elder") == []
    # a corrected number sets the birth date and sex it holds
    fixed = make_id("19500701", "015")
    html = client.post(
        f"/advisor/elders/{li}/edit",
        follow_redirects=True,
        data={"csrf_token": csrf_token(page), **dict(data, id_number=fixed)},
    ).get_data(as_text=True)
    assert "身份证号" in html and fixed not in html
    with session_scope() as s:
        assert s.get(Elder, li).id_number == fixed and s.get(Elder, li).gender == "男"
    assert audits("edit_elder")[-1].detail.startswith("changed: id_number")


# --- moved away, deceased -------------------------------------------------------------------


def post_status(client, elder: int, status: str, note: str, confirm: bool = True):
    token = csrf_token(client.get(f"/advisor/elders/{elder}").get_data(as_text=True))
    data = {"csrf_token": token, "status": status, "note": note}
    if confirm:
        data["confirm"] = "yes"
    return client.post(f"/advisor/elders/{elder}/status", data=data, follow_redirects=True)


def test_deceased_cancels_future_visits_returns_free_time_and_leaves_past_ones(client, pin_clock):
    zhang = elder_id("张桂兰")
    past = booking.book(zhang, "bath", morning(1), "web", "reg-past")  # 11-24 08:00
    future = booking.book(zhang, "rehab", morning(4), "web", "reg-future")  # 11-27 08:00
    assert past.ok and future.ok and future.free_minutes_applied == 60
    pin_clock("2026-11-25T10:00")  # the first visit is now in the past
    left = booking.entitlement_summary(zhang).left_minutes
    with session_scope() as s:
        window_id = s.execute(
            select(Booking.window_id).where(Booking.reference == future.reference)
        ).scalar_one()
        booked_before = s.get(CapacityWindow, window_id).booked

    # the first step only asks for confirmation and writes nothing
    confirm = post_status(client, zhang, "deceased", "11月24日去世，女儿来电告知", confirm=False)
    html = confirm.get_data(as_text=True)
    assert "确认：把 张桂兰 登记为“已去世”" in html and future.reference in html
    assert past.reference not in html and "以后的 1 个预约会全部取消" in html
    with session_scope() as s:
        assert s.get(Elder, zhang).status == "active"

    html = post_status(client, zhang, "deceased", "11月24日去世，女儿来电告知").get_data(as_text=True)
    assert "已登记张桂兰为已去世，取消了1个以后的预约，退回免费时长1小时" in html
    assert 'class="flash error inactive-banner"' in html and "这位老人已去世" in html
    assert booking.entitlement_summary(zhang).left_minutes == left + 60
    with session_scope() as s:
        elder = s.get(Elder, zhang)
        assert elder.status == "deceased" and elder.status_note == "11月24日去世，女儿来电告知"
        assert elder.status_changed_at == dt.datetime(2026, 11, 25, 2, 0)  # 10:00 China time, UTC
        assert elder_by_phone(s, "13800000001") is None
        cancelled = s.execute(select(Booking).where(Booking.reference == future.reference)).scalar_one()
        assert cancelled.status == "cancelled" and cancelled.window.booked == booked_before - 1
        assert cancelled.history[-1].note == "老人已去世：11月24日去世，女儿来电告知"
        assert cancelled.history[-1].channel == "console"
        # no text message to the phone of someone who has died
        assert (
            s.execute(
                select(func.count(SmsOutbox.id)).where(SmsOutbox.related_booking_id == cancelled.id)
            ).scalar_one()
            == 1
        )
        assert (
            s.execute(select(Booking.status).where(Booking.reference == past.reference)).scalar_one()
            == "booked"
        )
    entry = audits("set_elder_status")[-1]
    assert entry.elder_id == zhang and "active -> deceased" in entry.detail
    # not bookable any more: the console refuses, and so does bot.booking.ledger itself
    r = client.get(f"/advisor/elders/{zhang}/book?service=bath", follow_redirects=True)
    assert "张桂兰已去世，不能再预约" in r.get_data(as_text=True)
    refused = booking.book(zhang, "bath", morning(5), "console", "reg-after")
    assert not refused.ok and refused.code == "inactive_elder"
    # the search still finds her, marked
    found = client.get("/advisor/elders?q=张桂兰").get_data(as_text=True)
    assert 'class="tag tag-inactive">已去世' in found


def test_moved_away_then_back_in_the_register(client):
    chen = elder_id("陈志明")
    made = booking.book(chen, "cleaning", morning(3), "web", "reg-moved")
    assert made.ok
    html = post_status(client, chen, "moved", "随子女迁往苏州").get_data(as_text=True)
    assert "已登记陈志明为已迁出，取消了1个以后的预约" in html
    with session_scope() as s:
        b = s.execute(select(Booking).where(Booking.reference == made.reference)).scalar_one()
        assert b.status == "cancelled" and b.cancel_reason == "老人已迁出：随子女迁往苏州"
        # one who moved is told by text message
        assert (
            s.execute(
                select(func.count(SmsOutbox.id)).where(SmsOutbox.related_booking_id == b.id)
            ).scalar_one()
            == 2
        )
    # a note is required; the same status twice is refused politely
    html = post_status(client, chen, "active", "  ").get_data(as_text=True)
    assert "请填写说明" in html
    html = post_status(client, chen, "active", "误登记，本人来电确认").get_data(as_text=True)
    assert "已恢复陈志明为在册" in html and "inactive-banner" not in html
    with session_scope() as s:
        assert elder_by_phone(s, "13800000004").id == chen
    assert [e.detail.split(";")[0] for e in audits("set_elder_status")] == [
        "active -> moved",
        "moved -> active",
    ]


def test_set_status_refuses_unknown_states_and_empty_notes(db_url):
    with session_scope() as s:
        with pytest.raises(console.StatusError):
            console.set_status(s, 1, "vanished", "?", "t")
        with pytest.raises(console.StatusError, match="请填写说明"):
            console.set_status(s, 1, "moved", "", "t")
        with pytest.raises(console.StatusError, match="已经是"):
            console.set_status(s, 1, "active", "没变", "t")


# --- worklist -------------------------------------------------------------------------------


def add_elder(name: str, birth: str, street: str = "五老村", serial: str = "131", **extra) -> int:
    with session_scope() as s:
        return console.create_elder(
            s, form_data(name=name, id_number=make_id(birth, serial), street=street, phone="", **extra), "t"
        ).id


def listed(client, **query) -> list[str]:
    html = client.get("/advisor/worklist", query_string=query).get_data(as_text=True)
    return re.findall(r'<tr data-elder-id="\d+">\s*<td><a href="[^"]+">([^<]+)</a>', html)


def test_worklist_over_80_in_a_street_with_unused_free_hours(client):
    add_elder("钱八十", "19461123")  # 80 today: counts
    add_elder("孙差一天", "19461124")  # 80 tomorrow: not yet
    used = add_elder("周用过", "19400101")
    returned = add_elder("吴退了", "19400202")
    add_elder("郑别街", "19380101", street="夫子庙")
    assert booking.book(used, "bath", morning(2), "web", "wl-used").ok
    cancelled = booking.book(returned, "bath", morning(2), "web", "wl-returned")
    assert booking.cancel(cancelled.reference, returned).ok  # used - returned = 0 again
    names = listed(client, street="五老村", min_age="80", unused_free_hours="1")
    # 张桂兰 (88, ledger row, nothing used), and the new elders without a ledger row
    assert sorted(names) == sorted(["张桂兰", "钱八十", "吴退了"])
    assert "周用过" in listed(client, street="五老村", min_age="80")
    assert listed(client, street="五老村", min_age="80", living_situation="与家人同住") == []
    entry = audits("worklist")[0]  # the first of the three lists above
    assert "street=五老村" in entry.detail and "min_age=80" in entry.detail
    assert "unused_free_hours=yes" in entry.detail and "matches=3" in entry.detail
    assert "张桂兰" not in entry.detail and entry.elder_id is None


def test_worklist_status_and_recent_bookings(client):
    wang = elder_id("王秀英")
    assert booking.book(wang, "bath", morning(2), "web", "wl-wang").ok
    with session_scope() as s:
        console.set_status(s, elder_id("刘淑芬"), "moved", "迁往外地", "t")
    assert listed(client, status="moved") == ["刘淑芬"]
    active = listed(client)
    assert "刘淑芬" not in active and {"张桂兰", "王秀英", "李建国", "陈志明"} <= set(active)
    assert len(listed(client, status="all")) == len(active) + 1
    idle = listed(client, no_booking_days="30")
    assert "王秀英" not in idle and "张桂兰" in idle
    html = client.get("/advisor/worklist", query_string={"status": "moved"}).get_data(as_text=True)
    assert "已迁出" in html and "138****0005" in html and "13800000005" not in html
    assert f'href="/advisor/elders/{elder_id("刘淑芬")}"' in html
    bad = client.get("/advisor/worklist", query_string={"min_age": "很老"}).get_data(as_text=True)
    assert "年龄：请填写0到130之间的整数" in bad


def test_worklist_pages_and_stays_two_queries(db_url):
    for i in range(7):
        add_elder(f"高龄{'甲乙丙丁戊己庚'[i]}", f"1930010{i + 1}", serial=f"13{i}")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    filters = console.WorklistFilters(street="五老村", min_age=90, unused_free_hours=True, no_booking_days=30)
    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope() as s:
            first = console.worklist(s, filters, "t", page=1, per_page=3)
        queries_small = len(statements)
        with session_scope() as s:
            last = console.worklist(s, filters, "t", page=3, per_page=3)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert first.total == 7 and first.pages == 3 and len(first.rows) == 3
    assert len(last.rows) == 1 and last.page == 3
    assert queries_small == 2 and len(statements) == 4  # a count and a page, no per-elder query
    assert {r.street for r in first.rows} == {"五老村"} and all(r.age >= 90 for r in first.rows)


def test_born_on_or_before_matches_the_clocks_age_rule():
    from bot.clock import age_on

    for on in (dt.date(2026, 11, 23), dt.date(2028, 2, 29), dt.date(2027, 3, 1)):
        for age in (60, 80, 81, 100):
            bound = console.born_on_or_before(age, on)
            assert age_on(bound, on) >= age and age_on(bound + dt.timedelta(days=1), on) < age


# --- security -------------------------------------------------------------------------------


def test_register_changes_need_the_csrf_token(client):
    zhang = elder_id("张桂兰")
    before = elder_count()
    assert client.post("/advisor/elders/new", data=form_data()).status_code == 400
    assert client.post(f"/advisor/elders/{zhang}/edit", data=form_data()).status_code == 400
    r = client.post(
        f"/advisor/elders/{zhang}/status", data={"status": "deceased", "note": "x", "confirm": "yes"}
    )
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    with session_scope() as s:
        assert s.get(Elder, zhang).status == "active" and s.get(Elder, zhang).name == "张桂兰"
    assert elder_count() == before


def test_register_pages_need_a_login(db_url):
    from server import create_app

    anonymous = create_app({"TESTING": True}).test_client()
    for method, url in (
        ("GET", "/advisor/elders/new"),
        ("GET", "/advisor/elders/1/edit"),
        ("GET", "/advisor/worklist"),
        ("POST", "/advisor/elders/1/status"),
    ):
        r = anonymous.open(url, method=method)
        if method == "POST":  # the CSRF check comes first: refused either way
            assert r.status_code == 400
        else:
            assert r.status_code == 302 and "/advisor/login" in r.headers["Location"], url
    with session_scope() as s:
        assert s.get(Elder, 1).status == "active"


def test_the_elder_page_offers_edit_and_status_and_the_menu_the_worklist(client):
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/elders/{zhang}").get_data(as_text=True)
    assert f'href="/advisor/elders/{zhang}/edit"' in page and "登记迁出/去世" in page
    assert 'href="/advisor/worklist"' in page and ZHANG_ID not in page
    assert 'href="/advisor/elders/new"' in client.get("/advisor/elders").get_data(as_text=True)
