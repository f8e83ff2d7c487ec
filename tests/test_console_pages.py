"""Console pages acting for an elder, with the Flask test client on a real SQLite database
and the real policy KB, eligibility engine and booking ledger (no servers needed)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from bot.db import session_scope
from bot.models.console import AuditEntry
from tests.test_console_security import csrf_token, elder_id

from tests.console_fixtures import advisor_client  # noqa: F401  (the fixture `client`)


def statuses(html: str) -> dict[str, str]:
    """program_id -> status of every result card on an eligibility page."""
    return {
        program: status
        for status, program in re.findall(r'class="card result status-(\w+)" data-program="(\w+)"', html)
    }


def test_eligibility_from_the_record(client):
    zhang = statuses(client.get(f"/advisor/eligibility?elder_id={elder_id('张桂兰')}").get_data(as_text=True))
    chen = statuses(client.get(f"/advisor/eligibility?elder_id={elder_id('陈志明')}").get_data(as_text=True))
    assert zhang["free_home_care_80plus"] == "eligible"  # 88 years old
    assert chen["free_home_care_80plus"] == "not_eligible"  # 65 years old
    with session_scope() as s:
        n = s.execute(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "eligibility_check")
        ).scalar_one()
    assert n == 2


def test_eligibility_what_if_and_unknown_facts(client):
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/eligibility?elder_id={zhang}").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(page),
        "elder_id": str(zhang),
        "age": "75",
        "street": "五老村",
        "hukou_local": "是",
        "economic_status": "普通",
        "care_level": "轻度失能",
        "living_situation": "独居",
        "dementia": "否",
        "special_family": "否",
        "disability_certificate": "否",
        "veteran": "否",
    }
    result = statuses(client.post(f"/advisor/eligibility?elder_id={zhang}", data=form).get_data(as_text=True))
    assert result["free_home_care_80plus"] == "not_eligible"
    # A caller without a record who only knows the street: the age is "unknown".
    page = client.get("/advisor/eligibility").get_data(as_text=True)
    result = statuses(
        client.post(
            "/advisor/eligibility", data={"csrf_token": csrf_token(page), "street": "五老村"}
        ).get_data(as_text=True)
    )
    assert result["free_home_care_80plus"] == "unknown"
    bad = client.post("/advisor/eligibility", data={"csrf_token": csrf_token(page), "age": "很老"})
    assert bad.status_code == 200 and 'class="flash error"' in bad.get_data(as_text=True)


def test_policy_search_gives_answers_with_citations(client):
    from bot.policy.kb import get_kb

    page = client.get("/advisor/policies", query_string={"q": "高龄老人免费照料"}).get_data(as_text=True)
    assert page.count('class="card policy-hit"') >= 1
    assert "依据：《" in page and get_kb().program("free_home_care_80plus").name in page
    assert "free_home_care_80plus" not in page  # no internal ids on the page
    empty = client.get("/advisor/policies", query_string={"q": "火星旅游签证"}).get_data(as_text=True)
    assert "没有找到" in empty


def test_book_retry_and_cancel_on_behalf(client):
    zhang = elder_id("张桂兰")
    elder_page = client.get(f"/advisor/elders/{zhang}").get_data(as_text=True)
    left = float(re.search(r'class="left-hours">([\d.]+)<', elder_page).group(1))
    page = client.get(f"/advisor/elders/{zhang}/book", query_string={"service": "cleaning"}).get_data(
        as_text=True
    )
    starts = re.findall(r'name="window_start" value="([^"]+)"', page)
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    assert starts and len(starts) == len(keys)
    form = {
        "csrf_token": csrf_token(page),
        "service": "cleaning",
        "window_start": starts[0],
        "idempotency_key": keys[0],
    }
    first = client.post(f"/advisor/elders/{zhang}/book", data=form, follow_redirects=True)
    again = client.post(f"/advisor/elders/{zhang}/book", data=form, follow_redirects=True)
    html = again.get_data(as_text=True)
    refs = re.findall(r'data-reference="(\w+)"', html)
    assert len(refs) == 1, "a resent form must not book twice"
    assert "预约成功" in first.get_data(as_text=True) and "刚才已经做好了" in html
    assert float(re.search(r'class="left-hours">([\d.]+)<', html).group(1)) == left - 2
    r = client.post(
        f"/advisor/elders/{zhang}/bookings/{refs[0]}/cancel",
        data={"csrf_token": csrf_token(html), "reason_choice": "住院"},
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert "已经取消" in html
    assert float(re.search(r'class="left-hours">([\d.]+)<', html).group(1)) == left
    # another elder's booking cannot be cancelled through this elder's page
    li = elder_id("李建国")
    r = client.post(
        f"/advisor/elders/{li}/bookings/{refs[0]}/cancel",
        data={"csrf_token": csrf_token(html), "reason_choice": "住院"},
        follow_redirects=True,
    )
    assert "没有查到这个预约" in r.get_data(as_text=True)
    with session_scope() as s:
        actions = list(
            s.execute(
                select(AuditEntry.action).where(AuditEntry.elder_id == zhang).order_by(AuditEntry.id)
            ).scalars()
        )
    assert actions.count("book") == 2 and actions.count("cancel_booking") == 1


def test_unknown_elder_is_a_polite_404(client):
    r = client.get("/advisor/elders/99999")
    assert r.status_code == 404 and "没有这位老人" in r.get_data(as_text=True)


def test_reschedule_on_behalf(client):
    """An advisor moves an elder's booking to another free window: one booking, new window,
    an SMS, an audit line; another elder's page cannot move it; a second click is harmless."""
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/elders/{zhang}/book", query_string={"service": "bath"}).get_data(
        as_text=True
    )
    start = re.findall(r'name="window_start" value="([^"]+)"', page)[0]
    key = re.findall(r'name="idempotency_key" value="([^"]+)"', page)[0]
    html = client.post(
        f"/advisor/elders/{zhang}/book",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "service": "bath",
            "window_start": start,
            "idempotency_key": key,
        },
    ).get_data(as_text=True)
    ref = re.findall(r'data-reference="(\w+)"', html)[0]
    assert "代为改期" in html
    later = (dt.date.fromisoformat(start[:10]) + dt.timedelta(days=3)).isoformat()
    page = client.get(
        f"/advisor/elders/{zhang}/bookings/{ref}/reschedule", query_string={"day": later, "part": "pm"}
    ).get_data(as_text=True)
    assert "现在的预约" in page and ref in page and "改到这个时间" in page
    target = re.findall(r'name="window_start" value="([^"]+)"', page)[0]
    assert target != start
    form = {"csrf_token": csrf_token(page), "window_start": target}
    done = client.post(
        f"/advisor/elders/{zhang}/bookings/{ref}/reschedule", data=form, follow_redirects=True
    ).get_data(as_text=True)
    assert "改好了" in done and "已给老人发短信" in done
    again = client.post(
        f"/advisor/elders/{zhang}/bookings/{ref}/reschedule", data=form, follow_redirects=True
    ).get_data(as_text=True)
    assert "不用改" in again
    li = elder_id("李建国")
    other = client.post(
        f"/advisor/elders/{li}/bookings/{ref}/reschedule", data=form, follow_redirects=True
    ).get_data(as_text=True)
    assert "没有查到这个还有效的预约" in other
    bad = client.post(
        f"/advisor/elders/{zhang}/bookings/{ref}/reschedule",
        data={"csrf_token": csrf_token(page), "window_start": "下周二"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "改期信息不完整" in bad
    with session_scope() as s:
        from bot.models.booking import Booking, CapacityWindow

        row = s.execute(
            select(CapacityWindow.starts_at)
            .join(Booking, Booking.window_id == CapacityWindow.id)
            .where(Booking.reference == ref)
        ).scalar_one()
        assert row.isoformat() == target
        assert s.execute(select(func.count(Booking.id)).where(Booking.elder_id == zhang)).scalar_one() == 1
        actions = list(s.execute(select(AuditEntry.action).where(AuditEntry.elder_id == zhang)).scalars())
    assert actions.count("reschedule_booking") == 2  # the move and the harmless repeat
