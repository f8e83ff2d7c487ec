"""Every console read of an elder's personal data writes an audit row: a sweep over every
GET page of the console (any page that shows her address, ID number, full phone or a
booking of hers must have written one), plus landline numbers masked on the console."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from bot.booking import ledger as booking
from bot.db import session_scope
from bot.models import Elder, Handoff
from bot.models.console import AuditEntry
from server.advisor import casework
from tests.console_fixtures import advisor_client  # noqa: F401  (the fixture `client`)
from tests.test_booking import morning

ZHANG = 1


@pytest.fixture
def reference(db_url) -> str:
    result = booking.book(ZHANG, "bath", morning(3), "web", "audit-sweep-1")
    assert result.ok
    return result.reference


def audit_count(elder_id: int | None = None) -> int:
    with session_scope() as s:
        q = select(func.count(AuditEntry.id))
        if elder_id is not None:
            q = q.where(AuditEntry.elder_id == elder_id)
        return s.execute(q).scalar_one()


def personal_markers(ref: str) -> list[str]:
    with session_scope() as s:
        zhang = s.get(Elder, ZHANG)
        return [zhang.address, zhang.id_number_masked, zhang.phone, ref]


def test_every_console_page_that_shows_her_data_is_audited(client, reference):
    from flask import current_app  # noqa: F401  (the app is the client's)

    with session_scope() as s:  # she is in the queue too (name and masked phone only)
        s.add(
            Handoff(
                kind="request_human",
                priority=4,
                sender_id="web-x",
                channel="web",
                phone="13800000001",
                elder_id=ZHANG,
                summary="转人工",
            )
        )
    pages = {
        "/advisor/",
        "/advisor/queue",
        "/advisor/elders?q=张桂兰",
        "/advisor/policies?q=助浴",
        "/advisor/eligibility",
        f"/advisor/eligibility?elder_id={ZHANG}",
    }
    app = client.application
    for rule in app.url_map.iter_rules():
        if (
            not rule.rule.startswith("/advisor")
            or "GET" not in rule.methods
            or rule.endpoint in ("advisor.login", "static")
        ):
            continue
        args = {"elder_id": ZHANG, "reference": reference, "handoff_id": 1, "user_id": 1}
        if set(rule.arguments) - set(args):
            continue
        pages.add(
            app.url_map.bind("localhost").build(
                rule.endpoint, {k: v for k, v in args.items() if k in rule.arguments}
            )
        )
    markers = personal_markers(reference)
    shown = []
    for url in sorted(pages):
        before = audit_count()
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        page = response.get_data(as_text=True)
        if any(m and m in page for m in markers):
            shown.append(url)
            assert audit_count() > before, f"{url} shows her personal data without an audit row"
    # the pages that show it: her record, booking on her behalf, rescheduling, eligibility, search
    assert any(u.endswith("/book") for u in shown) and any("reschedule" in u for u in shown)


def test_the_booking_pages_name_her_in_the_audit(client, reference):
    before = audit_count(ZHANG)
    assert "文昌巷12号" in client.get(f"/advisor/elders/{ZHANG}/book?service=bath").get_data(as_text=True)
    assert client.get(f"/advisor/elders/{ZHANG}/bookings/{reference}/reschedule").status_code == 200
    assert audit_count(ZHANG) == before + 2
    with session_scope() as s:
        actions = (
            s.execute(
                select(AuditEntry.action)
                .where(AuditEntry.elder_id == ZHANG)
                .order_by(AuditEntry.id.desc())
                .limit(2)
            )
            .scalars()
            .all()
        )
    assert actions == ["view_booking_page", "view_booking_page"]


def test_her_facts_shown_without_a_result_are_audited(client, monkeypatch):
    def broken(facts):
        raise ValueError("engine down")

    monkeypatch.setattr(casework, "evaluate", broken)
    before = audit_count(ZHANG)
    assert client.get(f"/advisor/eligibility?elder_id={ZHANG}").status_code == 200
    assert audit_count(ZHANG) == before + 1


def test_landlines_are_masked_on_the_console(client):
    with session_scope() as s:
        s.execute(
            update(Elder)
            .where(Elder.id == ZHANG)
            .values(
                phone="02584000053", emergency_contact_phone="025-84000054", emergency_contact_name="王小红"
            )
        )
        s.add(
            Handoff(
                kind="callback",
                priority=3,
                sender_id="call-1",
                channel="voice",
                phone="+862584000053",
                elder_id=ZHANG,
                summary="座机025-84000055回电",
            )
        )
    record = client.get(f"/advisor/elders/{ZHANG}").get_data(as_text=True)
    queue = client.get("/advisor/queue").get_data(as_text=True)
    for page in (record, queue):
        for full in ("02584000053", "84000053", "84000054", "84000055"):
            assert full not in page
    assert "025****0053" in record and "025-****0054" in record
    assert "+8625****0053" in queue
