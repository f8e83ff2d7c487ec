"""The advisor's case file (issue 20), with the Flask test client on a real, migrated SQLite
database and the real booking ledger, policy KB, eligibility engine and SMS outbox: the
elder's page leads with what matters now, notes and follow-up tasks (on the home page when
due), cancelling with a reason, weekdays on slots, advisor wording in policy search, the
eligibility result printed or texted, and conversations grouped (a relative's included)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid

from sqlalchemy import func, select, text

from bot import clock
from bot.booking import ledger as booking
from bot.db import get_engine, session_scope
from bot.models import Elder, Handoff, SmsOutbox
from bot.models.booking import Booking
from bot.models.casefile import CaseNote, FollowUpTask
from bot.models.console import AuditEntry
from bot.models.identity import IdentityProof
from bot.models.telephony import Call
from bot.registry.providers import WEEKDAYS_ZH
from tests.test_console_security import csrf_token, elder_id

from tests.console_fixtures import advisor_client  # noqa: F401  (the fixture `client`)

FAMILY_MOBILE = "13900000009"


def page_of(client, elder: int) -> str:
    r = client.get(f"/advisor/elders/{elder}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def actions_for(elder: int) -> list[str]:
    with session_scope() as s:
        return list(
            s.execute(
                select(AuditEntry.action).where(AuditEntry.elder_id == elder).order_by(AuditEntry.id)
            ).scalars()
        )


def free_window(elder: int, service: str, around: dt.datetime) -> dt.datetime:
    with session_scope() as s:
        person = s.get(Elder, elder)
        windows = booking.available_windows(s, service, person.street_id, around, limit=5)
    assert windows, f"no free {service} window near {around}"
    return windows[0].start


def book_visit(elder: int, service: str = "cleaning", around: dt.datetime | None = None):
    around = around or dt.datetime.combine(clock.today() + dt.timedelta(days=2), dt.time(9))
    result = booking.book(
        elder,
        service,
        free_window(elder, service, around),
        channel="console",
        idempotency_key=uuid.uuid4().hex,
    )
    assert result.ok, result.message
    return result


def set_family_contact(elder: int, phone: str = FAMILY_MOBILE) -> None:
    with session_scope() as s:
        person = s.get(Elder, elder)
        person.emergency_contact_name, person.emergency_contact_relation = "刘小红", "女儿"
        person.emergency_contact_phone = phone


# --- the elder's page: what matters now ------------------------------------------------------


def test_elder_page_leads_with_what_matters_now(client):
    zhang = elder_id("张桂兰")
    set_family_contact(zhang)
    with session_scope() as s:
        s.add(
            Handoff(
                kind="callback",
                priority=3,
                sender_id="web-case-1",
                channel="web",
                elder_id=zhang,
                summary="请回电",
            )
        )
        s.add(
            Handoff(
                kind="fallback",
                priority=5,
                sender_id="web-case-2",
                channel="web",
                elder_id=zhang,
                summary="早就处理了",
                status="closed",
            )
        )
    visit = book_visit(zhang)
    html = page_of(client, zhang)
    order = [html.index(h) for h in ('id="now-h"', 'id="facts-h"', 'id="casefile-h"', 'id="hist-h"')]
    assert order == sorted(order), "now, then the record, then notes and tasks, then history"
    now = html[html.index('id="now"') : html.index('id="facts-h"')]
    # open handoffs only, each linked to where it is worked
    assert "回电请求" in now and "机器人没听懂" not in now
    with session_scope() as s:
        open_id = s.execute(
            select(Handoff.id).where(Handoff.elder_id == zhang, Handoff.status == "open")
        ).scalar_one()
    assert f'href="/advisor/conversations/{open_id}"' in now
    # the next visit, with its weekday
    start = visit.window_start
    assert f'data-visit="{visit.reference}"' in now
    assert f"{start:%m月%d日} {WEEKDAYS_ZH[start.weekday()]} {start:%H:%M}" in now
    # free hours this month and next, as the ledger has them
    this_month, next_month = (
        booking.entitlement_summary(zhang, m)
        for m in (clock.today(), (clock.today().replace(day=1) + dt.timedelta(days=32)))
    )
    assert this_month.month != next_month.month
    left = re.search(r'class="left-hours">([\d.]+)<', now).group(1)
    left_next = re.search(r'class="left-hours-next">([\d.]+)<', now).group(1)
    assert (float(left), float(left_next)) == (this_month.left_hours, next_month.left_hours)
    assert this_month.used_minutes > 0 and f"（{next_month.month}）" in now
    # the emergency contact, masked until revealed (and the reveal is audited)
    assert "刘小红（女儿）" in now and "139****0009" in now and FAMILY_MOBILE not in html
    revealed = client.post(
        f"/advisor/elders/{zhang}/phone", data={"csrf_token": csrf_token(html), "which": "family"}
    )
    assert FAMILY_MOBILE in revealed.get_data(as_text=True)
    assert "13800000001" not in revealed.get_data(as_text=True)
    assert actions_for(zhang).count("reveal_phone") == 1


def test_free_hours_of_next_month_come_from_the_ledger(client):
    """A visit booked in next month spends next month's hours, not this month's."""
    zhang = elder_id("张桂兰")
    first_next = (clock.today().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    start = free_window(zhang, "cleaning", dt.datetime.combine(first_next + dt.timedelta(days=1), dt.time(9)))
    assert booking.month_key(start) == booking.month_key(first_next)
    before = page_of(client, zhang)
    result = booking.book(zhang, "cleaning", start, channel="console", idempotency_key=uuid.uuid4().hex)
    assert result.ok and result.free_minutes_applied > 0
    after = page_of(client, zhang)

    def hours(html, cls):
        return float(re.search(rf'class="{cls}">([\d.]+)<', html).group(1))

    assert hours(after, "left-hours") == hours(before, "left-hours")
    assert (
        hours(before, "left-hours-next") - hours(after, "left-hours-next") == result.free_minutes_applied / 60
    )


# --- notes and follow-up tasks -------------------------------------------------------------


def test_notes_are_kept_as_written_and_never_logged(client, caplog):
    zhang = elder_id("张桂兰")
    html = page_of(client, zhang)
    words = "女儿说周三下午陪她去医院，有事打13912345678"
    with caplog.at_level(logging.DEBUG):
        r = client.post(
            f"/advisor/elders/{zhang}/notes",
            data={"csrf_token": csrf_token(html), "body": words},
            follow_redirects=True,
        )
    html = r.get_data(as_text=True)
    assert "备注已保存" in html and words in html  # internal: shown as written
    assert words not in caplog.text and "13912345678" not in caplog.text
    with session_scope() as s:
        detail = s.execute(select(AuditEntry.detail).where(AuditEntry.action == "add_case_note")).scalar_one()
        assert "周三" not in detail and "1391234" not in detail
    # an empty note is refused politely, nothing written
    r = client.post(
        f"/advisor/elders/{zhang}/notes",
        data={"csrf_token": csrf_token(html), "body": "   "},
        follow_redirects=True,
    )
    assert "请写下备注内容" in r.get_data(as_text=True)
    with session_scope() as s:
        assert s.execute(select(func.count(CaseNote.id))).scalar_one() == 1
    # newest first
    client.post(f"/advisor/elders/{zhang}/notes", data={"csrf_token": csrf_token(html), "body": "第二条备注"})
    html = page_of(client, zhang)
    assert html.index("第二条备注") < html.index(words)


def test_follow_ups_due_overdue_done_and_on_the_home_page(client):
    zhang, li = elder_id("张桂兰"), elder_id("李建国")
    today = clock.today()
    html = page_of(client, zhang)
    token = csrf_token(html)
    r = client.post(
        f"/advisor/elders/{zhang}/follow-ups",
        follow_redirects=True,
        data={"csrf_token": token, "title": "回电确认助浴时间", "due_on": today.isoformat()},
    )
    assert "已添加跟进事项" in r.get_data(as_text=True)
    client.post(
        f"/advisor/elders/{zhang}/follow-ups",
        data={
            "csrf_token": token,
            "title": "下周再问问血压",
            "due_on": (today + dt.timedelta(days=7)).isoformat(),
        },
    )
    # a task that fell overdue (written when its day was still ahead)
    with session_scope() as s:
        s.add(
            FollowUpTask(
                elder_id=li, title="上门看看暖气", due_on=today - dt.timedelta(days=2), created_by="someone"
            )
        )
    # bad dates are refused politely, nothing written
    for bad in ((today - dt.timedelta(days=1)).isoformat(), "下周三", ""):
        r = client.post(
            f"/advisor/elders/{zhang}/follow-ups",
            follow_redirects=True,
            data={"csrf_token": token, "title": "不该保存", "due_on": bad},
        )
        assert 'class="flash error"' in r.get_data(as_text=True)
    with session_scope() as s:
        assert (
            s.execute(
                select(func.count(FollowUpTask.id)).where(FollowUpTask.title == "不该保存")
            ).scalar_one()
            == 0
        )

    home = client.get("/advisor/").get_data(as_text=True)
    due = home[home.index('class="card follow-ups-due"') :]
    due = due[: due.index("</section>")]
    assert "回电确认助浴时间" in due and "上门看看暖气" in due and "下周再问问血压" not in due
    assert re.search(r'class="task overdue">.*?李建国.*?上门看看暖气', due, re.S)
    assert re.search(r'class="task due-today">.*?张桂兰.*?回电确认助浴时间', due, re.S)

    li_page = page_of(client, li)
    assert re.search(r'class="task overdue"[^>]*>\s*<span><strong>上门看看暖气', li_page)
    task_id = int(re.search(r'data-task-id="(\d+)"', li_page).group(1))
    done = client.post(
        f"/advisor/elders/{li}/follow-ups/done",
        follow_redirects=True,
        data={"csrf_token": token, "task_id": task_id},
    ).get_data(as_text=True)
    assert "已标记为完成" in done and "最近完成的 1 项" in done
    again = client.post(
        f"/advisor/elders/{li}/follow-ups/done",
        follow_redirects=True,
        data={"csrf_token": token, "task_id": task_id},
    ).get_data(as_text=True)
    assert "已经完成了" in again
    # another elder's page cannot tick it either
    with session_scope() as s:
        other = s.execute(select(FollowUpTask.id).where(FollowUpTask.elder_id == zhang)).scalars().first()
    client.post(f"/advisor/elders/{li}/follow-ups/done", data={"csrf_token": token, "task_id": other})
    with session_scope() as s:
        assert s.get(FollowUpTask, other).done_at is None
        assert s.get(FollowUpTask, task_id).done_by == "wangli"
    home = client.get("/advisor/").get_data(as_text=True)
    assert "上门看看暖气" not in home and "回电确认助浴时间" in home
    assert actions_for(zhang).count("add_follow_up") == 2
    assert actions_for(li).count("complete_follow_up") == 1


# --- booking: cancel with a reason, weekdays ---------------------------------------------------


def test_cancel_asks_for_confirmation_and_a_reason(client):
    zhang = elder_id("张桂兰")
    visit = book_visit(zhang)
    html = page_of(client, zhang)
    link = f"/advisor/elders/{zhang}/bookings/{visit.reference}/cancel"
    assert f'href="{link}"' in html  # a link to the confirmation, not a one-click form
    confirm = client.get(link).get_data(as_text=True)
    assert "确认取消预约" in confirm and WEEKDAYS_ZH[visit.window_start.weekday()] in confirm
    assert "老人身体不适" in confirm and 'name="reason_text"' in confirm
    token = csrf_token(confirm)
    for missing in ({}, {"reason_choice": "其他"}, {"reason_choice": "", "reason_text": " "}):
        r = client.post(link, data={"csrf_token": token, **missing}, follow_redirects=True)
        assert "请选择或写下取消原因" in r.get_data(as_text=True)
    with session_scope() as s:
        assert (
            s.execute(select(Booking.status).where(Booking.reference == visit.reference)).scalar_one()
            == "booked"
        )
    r = client.post(
        link,
        follow_redirects=True,
        data={"csrf_token": token, "reason_choice": "老人身体不适", "reason_text": "女儿来电说发烧了"},
    )
    assert "已经取消" in r.get_data(as_text=True)
    with session_scope() as s:
        row = s.execute(select(Booking).where(Booking.reference == visit.reference)).scalar_one()
        assert (row.status, row.cancel_reason) == ("cancelled", "老人身体不适：女儿来电说发烧了")
        detail = s.execute(
            select(AuditEntry.detail).where(AuditEntry.action == "cancel_booking")
        ).scalar_one()
    assert visit.reference in detail and "老人身体不适" in detail
    # a cancelled visit has no confirmation page any more
    r = client.get(link, follow_redirects=True)
    assert "没有查到这个还有效的预约" in r.get_data(as_text=True)


def test_slots_show_their_weekday(client):
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/elders/{zhang}/book", query_string={"service": "bath"}).get_data(
        as_text=True
    )
    items = re.findall(
        r'<li><span><strong>(\d\d)月(\d\d)日 <span class="weekday">(周.)</span>.*?'
        r'name="window_start" value="([^"]+)"',
        page,
        re.S,
    )
    assert len(items) >= 2
    for month, day, weekday, start in items:
        start = dt.datetime.fromisoformat(start)
        assert (int(month), int(day)) == (start.month, start.day)
        assert weekday == WEEKDAYS_ZH[start.weekday()]
    # the booking page lists the free hours of this month and next
    assert 'class="left-hours">' in page and 'class="left-hours-next">' in page


def test_after_booking_the_message_is_at_the_top_of_her_page(client):
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/elders/{zhang}/book", query_string={"service": "cleaning"}).get_data(
        as_text=True
    )
    r = client.post(
        f"/advisor/elders/{zhang}/book",
        data={
            "csrf_token": csrf_token(page),
            "service": "cleaning",
            "window_start": re.findall(r'name="window_start" value="([^"]+)"', page)[0],
            "idempotency_key": re.findall(r'name="idempotency_key" value="([^"]+)"', page)[0],
        },
    )
    assert r.status_code == 302 and r.headers["Location"].startswith(f"/advisor/elders/{zhang}")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    main = html[html.index("<main>") :]
    assert main.index('class="flash success"') < main.index("<h1>")
    assert "预约成功" in main


# --- policy search ---------------------------------------------------------------------------


def test_policy_search_speaks_to_the_advisor(client):
    from bot.policy.kb import get_kb

    kb = get_kb()
    query = "养老院入住要什么条件"
    raw = kb.search(query, limit=3)
    assert any("12349" in h.answer for h in raw), "the elder-facing answer refers to 12349"
    page = client.get("/advisor/policies", query_string={"q": query}).get_data(as_text=True)
    hits = re.findall(r'<article class="card policy-hit">(.*?)</article>', page, re.S)
    assert 1 <= len(hits) <= 3
    assert len(hits) == len(raw)
    for hit, source in zip(hits, raw):
        answer = re.search(r'<p class="answer">(.*?)</p>', hit, re.S).group(1)
        assert "12349" not in answer and "依据：" not in answer and answer.strip()
        assert f"《{source.citation.title}》" in hit and source.citation.clause in hit
        assert source.name in hit
    for program_id in kb.program_ids():
        assert program_id not in page
    many = client.get("/advisor/policies", query_string={"q": "老人补贴"}).get_data(as_text=True)
    assert many.count('class="card policy-hit"') <= 3


# --- eligibility: print and SMS --------------------------------------------------------------


def eligibility_facts(html: str) -> dict:
    form = html[html.index('class="card send-result') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))


def test_eligibility_result_prints(client):
    zhang = elder_id("张桂兰")
    html = client.get(f"/advisor/eligibility?elder_id={zhang}").get_data(as_text=True)
    facts = eligibility_facts(html)
    assert facts["age"] and facts["elder_id"] == str(zhang)
    printed = client.post(f"/advisor/elders/{zhang}/eligibility/print", data=facts)
    body = printed.get_data(as_text=True)
    assert printed.status_code == 200 and 'class="print-sheet"' in body
    assert "按以下情况测算" in body and "view_eligibility_print" in actions_for(zhang)
    assert "free_home_care_80plus" in eligible_section(body)  # 88 years old
    assert "<nav" in body  # the menu is there on screen; the print stylesheet leaves it out
    # what-if facts are printed as calculated: at 75 the free hours are not hers
    body = client.post(f"/advisor/elders/{zhang}/eligibility/print", data=dict(facts, age="75")).get_data(
        as_text=True
    )
    assert "free_home_care_80plus" not in eligible_section(body)
    assert "年龄（周岁） 75" in body


def eligible_section(body: str) -> str:
    """The programs listed under 符合 on the printed page."""
    section = re.search(r'<h2>符合 \d+ 项</h2>(.*?)(?:<h2>|<p class="footer">)', body, re.S)
    return " ".join(re.findall(r'data-program="(\w+)"', section.group(1)))


def test_eligibility_result_by_sms_after_confirmation(client):
    zhang = elder_id("张桂兰")
    set_family_contact(zhang)
    html = client.get(f"/advisor/eligibility?elder_id={zhang}").get_data(as_text=True)
    assert "13800000001" not in html and FAMILY_MOBILE not in html
    assert "138****0001" in html and "139****0009" in html
    facts = eligibility_facts(html)
    url = f"/advisor/elders/{zhang}/eligibility/sms"

    confirm = client.post(url, data=dict(facts, to="family")).get_data(as_text=True)
    assert "确认发送" in confirm and "139****0009" in confirm and FAMILY_MOBILE not in confirm
    preview = re.search(r'<blockquote class="sms-preview">(.*?)</blockquote>', confirm, re.S).group(1)
    assert preview.startswith("【12349养老热线】张桂兰可以享受")  # the family reads her name
    with session_scope() as s:
        assert s.execute(select(func.count(SmsOutbox.id))).scalar_one() == 0  # nothing sent yet
    revealed = client.post(url, data=dict(facts, to="family", reveal="yes")).get_data(as_text=True)
    assert FAMILY_MOBILE in revealed
    assert actions_for(zhang).count("reveal_phone") == 1

    done = client.post(url, data=dict(facts, to="family", confirm="yes"), follow_redirects=True)
    assert "测算结果已用短信发给紧急联系人" in done.get_data(as_text=True)
    with session_scope() as s:
        rows = list(s.execute(select(SmsOutbox)).scalars())
    assert [(r.to_number, r.status) for r in rows] == [(f"+86{FAMILY_MOBILE}", "outbox")]
    assert rows[0].body == preview.replace("&amp;", "&")
    assert actions_for(zhang).count("send_eligibility_sms") == 1

    # to the elder herself: "您"; a recipient not on file is refused, nothing sent
    mine = client.post(url, data=dict(facts, to="elder")).get_data(as_text=True)
    assert "【12349养老热线】您可以享受" in mine
    r = client.post(url, data=dict(facts, to="13512345678", confirm="yes"), follow_redirects=True)
    assert "只能发到登记过的" in r.get_data(as_text=True)
    with session_scope() as s:
        assert s.execute(select(func.count(SmsOutbox.id))).scalar_one() == 1


def test_eligibility_sms_to_an_opted_out_number_says_so(client):
    from bot.contact.sms import opt_out

    zhang = elder_id("张桂兰")
    opt_out("13800000001")
    facts = eligibility_facts(client.get(f"/advisor/eligibility?elder_id={zhang}").get_data(as_text=True))
    r = client.post(
        f"/advisor/elders/{zhang}/eligibility/sms",
        data=dict(facts, to="elder", confirm="yes"),
        follow_redirects=True,
    )
    assert "不能接收短信" in r.get_data(as_text=True)
    assert "send_eligibility_sms" not in actions_for(zhang)


# --- conversations ---------------------------------------------------------------------------


def add_tracker_events(url: str, events: list[tuple[str, str, float, dict]]) -> None:
    """Rows as Rasa's SQL tracker store writes them (table `events`)."""
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, "
                "sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL, "
                "timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), "
                "data TEXT)"
            )
        )
        for sender, type_name, at, data in events:
            conn.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :ts, :d)"),
                {"s": sender, "t": type_name, "ts": at, "d": json.dumps(data, ensure_ascii=False)},
            )


def test_history_grouped_newest_first_with_a_relatives_verified_chat(client, db_url):
    zhang = elder_id("张桂兰")
    base = clock.now().timestamp() - 3 * 86400
    call, relative, stranger = "call-case-1", "web-case-daughter", "web-case-stranger"
    add_tracker_events(
        db_url,
        [
            (
                call,
                "user",
                base,
                {"text": "我想问问助浴", "metadata": {"phone": "+8613800000001", "channel": "voice"}},
            ),
            (call, "bot", base + 5, {"text": "好的，助浴是……"}),
            (relative, "user", base + 86400, {"text": "我替我妈问预约", "metadata": {"channel": "web"}}),
            (relative, "bot", base + 86405, {"text": "好的，已核实您的身份。"}),
            (stranger, "user", base + 2 * 86400, {"text": "不相干的人", "metadata": {"channel": "web"}}),
        ],
    )
    with session_scope() as s:
        # her call, as the voice bridge records it (the carrier's caller id)
        s.add(
            Call(
                call_sid="CA-case-1",
                from_number="+8613800000001",
                sender_id=call,
                started_at=dt.datetime.fromtimestamp(base, dt.timezone.utc).replace(tzinfo=None),
            )
        )
        s.add(
            IdentityProof(
                sender_id=relative,
                elder_id=zhang,
                method="sms_code",
                channel="web",
                acting_for=True,
                relation="女儿",
                contact_name="刘小红",
                proved_with="139****0009",
            )
        )
    html = page_of(client, zhang)
    history = html[html.index('id="hist-h"') :]
    blocks = re.findall(r'<li class="conversation([^"]*)">(.*?)</ol>\s*</li>', history, re.S)
    assert len(blocks) == 2 and "不相干的人" not in history
    (first_cls, first), (second_cls, second) = blocks
    assert "我替我妈问预约" in first and "我想问问助浴" in second  # newest conversation first
    assert "acting-for" in first_cls and "家属 刘小红（女儿）代老人办理" in first and "已核实身份" in first
    assert '<span class="who">家属</span>' in first and '<span class="who">老人</span>' in second
    assert "网页" in first and "电话" in second
    started = dt.datetime.fromtimestamp(base + 86400, clock.CHINA_TZ)
    assert f"{started:%m-%d %H:%M} 开始" in first
    # the newest contact is the relative's chat
    now = html[html.index('id="now"') : html.index('id="facts-h"')]
    last = dt.datetime.fromtimestamp(base + 86405, clock.CHINA_TZ)
    assert f"{last:%m-%d %H:%M}</strong> 网页对话" in now
