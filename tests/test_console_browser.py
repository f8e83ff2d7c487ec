"""The advisor console in real headless Chromium against the real stack: log in, claim a
handoff (emergencies first), search a policy, run an eligibility check for a demo
persona, book on their behalf and see it (and their conversation) on their page."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.models.people import elder_by_phone
from bot.models import Elder, Handoff, SafetyEvent
from bot.models.console import AuditEntry
from bot.models.telephony import Call
from tests.browser.helpers import DESKTOP, browser, create_console_user, screenshot  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADVISOR = ("chen.advisor", "chen-advisor-2024")


@pytest.fixture(scope="module")
def console(stack, browser):  # noqa: F811
    create_console_user(stack, ADVISOR[0], ADVISOR[1], "advisor")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(stack.web_url + "/advisor/")
    assert "/advisor/login" in page.url
    screenshot(page, "console-login")
    page.fill("#username", ADVISOR[0])
    page.fill("#password", ADVISOR[1])
    page.click("button:has-text('登录')")
    page.wait_for_selector("h1:has-text('您好')")
    screenshot(page, "console-home")
    yield page
    context.close()


def persona(stack, name: str) -> Elder:
    with session_scope(stack.database_url) as s:
        return s.execute(select(Elder).where(Elder.name == name)).scalar_one()


def test_claim_a_handoff_with_emergencies_on_top(stack, console):
    page = console
    # A real phone conversation asks for a human (her caller ID: it is 张桂兰) ...
    sender = f"call-{uuid.uuid4().hex[:10]}"
    replies = stack.bridge_turn(sender, "转人工", {"phone": "+8613800000001", "channel": "voice"})
    assert any((r.get("custom") or {}).get("action") == "handoff" for r in replies)
    # ... and an emergency is recorded the way the safety actions record it.
    with session_scope(stack.database_url) as s:
        emergency = Handoff(
            kind="emergency",
            priority=0,
            sender_id=f"call-{uuid.uuid4().hex[:8]}",
            channel="voice",
            phone="13800000003",
            summary="我摔倒了起不来",
            elder_id=elder_by_phone(s, "13800000003").id,
        )
        s.add(emergency)
        s.flush()
        s.add(
            SafetyEvent(
                kind="emergency",
                sender_id=emergency.sender_id,
                channel="voice",
                text_masked="我摔倒了起不来",
                handoff_id=emergency.id,
            )
        )
    with session_scope(stack.database_url) as s:
        mine = s.execute(select(Handoff).where(Handoff.sender_id == sender)).scalar_one()

    page.click("nav >> text=转人工队列")
    rows = page.locator("table.queue tbody tr")
    assert rows.first.get_attribute("class").startswith("kind-emergency")
    row = page.locator(f"tr[data-handoff-id='{mine.id}']")
    assert "张桂兰" in row.inner_text() and "138****0001" in row.inner_text()
    screenshot(page, "console-queue", full_page=True)
    row.locator("button.claim").click()
    page.wait_for_selector(".flash.success")
    assert page.url.endswith(f"/advisor/conversations/{mine.id}")  # claiming opens it
    page.click("nav >> text=转人工队列")
    assert "已认领" in page.locator(f"tr[data-handoff-id='{mine.id}']").inner_text()
    with session_scope(stack.database_url) as s:
        claimed = s.get(Handoff, mine.id)
        assert (claimed.status, claimed.claimed_by) == ("claimed", ADVISOR[0])
    screenshot(page, "console-queue-claimed", full_page=True)


def test_policy_search_with_citations(stack, console):
    page = console
    page.click("nav >> text=政策查询")
    page.fill("input[name=q]", "八十岁以上有没有免费上门服务")
    page.click("button:has-text('查询')")
    page.wait_for_selector("article.policy-hit")
    first = page.locator("article.policy-hit").first
    assert "依据：《" in first.inner_text()
    assert first.locator(".answer").inner_text().strip()
    screenshot(page, "console-policy-search", full_page=True)


def test_eligibility_booking_and_elder_page(stack, console):
    page = console
    zhang = persona(stack, "张桂兰")
    # her phone calls (caller id, with or without +86) belong on her page; another elder's
    # call does not, nor does a web chat that only claims her number
    for number, said in (("13800000001", "你好"), ("+8613800000001", "再说一遍"), ("+8613800000002", "再见")):
        call = f"call-{uuid.uuid4().hex[:10]}"
        with session_scope(stack.database_url) as s:  # the call as the voice bridge records it
            s.add(Call(call_sid=call, from_number=number, sender_id=call))
        stack.bridge_turn(call, said, {"phone": number, "channel": "voice"})
    stack.chat(f"web-{uuid.uuid4().hex[:10]}", "谢谢", {"phone": "13800000001"})

    page.click("nav >> text=查找老人")
    page.fill("input[name=q]", "张桂兰")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("table.list")
    assert "**************0027" in page.inner_text("table.list")
    page.click("table.list >> text=张桂兰")
    page.wait_for_selector("h1:has-text('张桂兰')")
    body = page.inner_text("main")
    assert "**************0027" in body and "320119193803120027" not in body
    assert "13800000001" not in body
    history = page.inner_text("ol.history")  # read from Rasa's tracker store
    assert "你好" in history and "再说一遍" in history
    assert "再见" not in history and "谢谢" not in history

    # Eligibility on her behalf, from her record.
    page.click(".actions a:has-text('资格测算')")
    page.wait_for_selector("section.results")
    results = page.locator("article.result")
    assert results.count() >= 3
    eligible = page.locator("article.result.status-eligible")
    assert eligible.count() >= 1
    assert "依据" in eligible.first.inner_text()
    assert (
        page.locator("article.result[data-program='free_home_care_80plus'].status-eligible").count() == 1
    )  # 88 years old
    screenshot(page, "console-eligibility", full_page=True)

    # Book a visit on her behalf.
    page.goto(f"{stack.web_url}/advisor/elders/{zhang.id}")
    left_before = float(page.inner_text(".left-hours"))
    cleaning = page.locator("select[name=service] option", has_text="助洁").get_attribute("value")
    page.select_option("select[name=service]", value=cleaning)
    page.click("button:has-text('查可约时间')")
    page.wait_for_selector("button.book-window")
    screenshot(page, "console-booking-windows", full_page=True)
    page.locator("button.book-window").first.click()
    page.wait_for_selector(".flash.success")
    flash = page.inner_text(".flash.success")
    reference = re.search(r"预约号 (\w+)", flash).group(1)
    booked = page.locator(f"li.booking[data-reference='{reference}']")
    assert "已预约" in booked.inner_text()
    assert float(page.inner_text(".left-hours")) < left_before  # free hours were used
    screenshot(page, "console-elder-booked", full_page=True)

    # Move it to the afternoon on her behalf, then cancel it: the hours come back.
    booked.locator("a:has-text('代为改期')").click()
    page.wait_for_selector(".card.moving")
    page.select_option("select[name=part]", value="pm")
    with page.expect_navigation():  # the am list is on the page already: wait for the pm one
        page.click("button:has-text('查可约时间')")
    page.wait_for_selector("button.move-window")
    # the nearest free times are listed in time order: pick an afternoon one explicitly
    page.locator("ul.windows li", has_text="13:00").locator("button.move-window").first.click()
    page.wait_for_selector(".flash.success")
    assert "改好了" in page.inner_text(".flash.success")
    booked = page.locator(f"li.booking[data-reference='{reference}']")
    assert "已预约" in booked.inner_text() and "13:00" in booked.inner_text()
    booked.locator("a:has-text('代为取消')").click()  # a confirmation page asks why
    page.wait_for_selector(".confirm-cancel")
    page.select_option("#f-reason_choice", "时间不方便，以后再约")
    page.click("button:has-text('确认取消预约')")
    page.wait_for_selector(".flash.success")
    assert "已取消" in page.locator(f"li.booking[data-reference='{reference}']").inner_text()
    assert float(page.inner_text(".left-hours")) == left_before

    with session_scope(stack.database_url) as s:
        actions = set(
            s.execute(
                select(AuditEntry.action).where(
                    AuditEntry.elder_id == zhang.id, AuditEntry.actor == ADVISOR[0]
                )
            ).scalars()
        )
    assert {"view_elder", "eligibility_check", "book", "reschedule_booking", "cancel_booking"} <= actions


def test_register_a_new_elder_then_record_that_she_moved(stack, console):
    """The register by hand: a new elder through the form (a local landline gets the area
    code), then 已迁出 with its confirmation step, then found on the worklist."""
    from bot.models.people import elder_by_id_number
    from bot.registry.validate import id_check_char

    page = console
    first17 = f"32010219430611{uuid.uuid4().int % 90 + 10}2"  # a woman born 1943-06-11
    id_number = first17 + id_check_char(first17)
    page.click("nav >> text=查找老人")
    page.click("a:has-text('新增老人')")
    page.fill("#f-name", "何淑英")
    page.fill("#f-id_number", id_number)
    page.fill("#f-phone", "8400 0077")
    page.select_option("#f-street", "双塘")
    page.fill("#f-address", "双塘街道长乐街3号")
    page.select_option("#f-living_situation", "独居")
    page.select_option("#f-economic_status", "普通")
    page.select_option("#f-care_level", "轻度失能")
    screenshot(page, "console-new-elder", full_page=True)
    page.click("button:has-text('新增')")
    page.wait_for_selector(".flash.success")
    assert "已新增老人档案：何淑英" in page.inner_text(".flash.success")
    assert id_number not in page.content()

    page.select_option("select[name=status]", "moved")
    page.fill("input[name=note]", "随子女迁往苏州")
    page.click("button:has-text('下一步：确认')")
    page.wait_for_selector("h1:has-text('确认')")
    screenshot(page, "console-elder-status-confirm")
    page.click("button:has-text('确认登记')")
    page.wait_for_selector(".inactive-banner")
    assert "已迁出" in page.inner_text(".inactive-banner")

    page.click("nav >> text=工作清单")
    page.select_option("select[name=status]", "moved")
    page.click("button:has-text('筛选')")
    page.wait_for_selector("table.worklist")
    assert "何淑英" in page.inner_text("table.worklist")
    screenshot(page, "console-worklist", full_page=True)
    with session_scope(stack.database_url) as s:
        her = elder_by_id_number(s, id_number)
        assert (her.status, her.phone, her.street.name) == ("moved", "02584000077", "双塘")
