"""The case file in real headless Chromium against the real stack, on a desktop screen and
on a phone (390x844): the elder's page leads with what matters now, a follow-up task and a
note, booking with weekdays and a message that stays in view, cancelling with a reason,
the eligibility result printed and texted after confirmation, policy search for advisors."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from bot import clock
from bot.db import session_scope
from bot.models import Elder, SmsOutbox
from bot.models.booking import Booking
from bot.registry.providers import WEEKDAYS_ZH
from tests.browser.helpers import (  # noqa: F401
    DESKTOP,
    PHONE,
    browser,
    console_login,
    create_console_user,
    screenshot,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADVISOR = ("zhou.casefile", "zhou-casefile-2024")


def log_in(stack, browser, viewport):  # noqa: F811
    return console_login(browser, stack, viewport, *ADVISOR)


@pytest.fixture(scope="module")
def desktop(stack, browser):  # noqa: F811
    create_console_user(stack, ADVISOR[0], ADVISOR[1], "advisor")
    context, page = log_in(stack, browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture(scope="module")
def phone(stack, browser, desktop):  # noqa: F811  (desktop made the account)
    context, page = log_in(stack, browser, PHONE)
    yield page
    context.close()


def elder_named(stack, name: str) -> Elder:
    with session_scope(stack.database_url) as s:
        return s.execute(select(Elder).where(Elder.name == name)).scalar_one()


def in_view(page, selector: str, wait_ms: int = 5000) -> bool:
    """True once the element is wholly inside the viewport. Polled: the browser scrolls to the
    page's #fragment after layout, and a late font can move it (seen on a loaded machine)."""
    try:
        page.wait_for_function(
            """sel => { const el = document.querySelector(sel); if (!el) return false;
                        const r = el.getBoundingClientRect();
                        return r.top >= 0 && r.bottom <= window.innerHeight; }""",
            arg=selector,
            timeout=wait_ms,
        )
    except PlaywrightTimeout:
        return False
    return True


def test_follow_up_and_note_on_desktop(stack, desktop):
    page = desktop
    li = elder_named(stack, "李建国")
    page.goto(f"{stack.web_url}/advisor/elders/{li.id}")
    assert in_view(page, "#now-h")  # the page starts with what matters now
    assert page.locator("#now .hours-month").count() == 1  # this month and next
    assert page.locator("#now .hours-month-next").count() == 1
    page.fill("#f-task-title", "周五前回电问问助餐")
    page.fill("#f-task-due", clock.today().isoformat())  # a date input: the browser's own picker
    page.click("button:has-text('添加跟进事项')")
    page.wait_for_selector(".flash.success")
    assert in_view(page, ".flash.success") and in_view(page, "#casefile-h")
    assert "今天到期" in page.inner_text("li.task.due-today")
    page.fill("#f-note", "家属希望上午来电")
    page.click("button:has-text('保存备注')")
    page.wait_for_selector(".flash.success:has-text('备注已保存')")
    assert "家属希望上午来电" in page.inner_text("ul.case-notes")
    screenshot(page, "casefile-elder-notes-desktop", full_page=True)

    page.click("a.brand")
    page.wait_for_selector("section.follow-ups-due")
    assert "周五前回电问问助餐" in page.inner_text("section.follow-ups-due")
    screenshot(page, "casefile-home-due-desktop")
    page.click("section.follow-ups-due a:has-text('李建国')")
    page.wait_for_selector("li.task.due-today")
    page.locator("li.task.due-today button.done").click()
    page.wait_for_selector(".flash.success:has-text('已标记为完成')")
    assert page.locator("li.task").count() == 0


def test_book_then_cancel_with_a_reason_on_desktop(stack, desktop):
    page = desktop
    zhang = elder_named(stack, "张桂兰")
    page.goto(f"{stack.web_url}/advisor/elders/{zhang.id}")
    cleaning = page.locator("select[name=service] option", has_text="助洁").get_attribute("value")
    page.select_option("#booking select[name=service]", value=cleaning)
    page.click("#booking button:has-text('查可约时间')")
    page.wait_for_selector("button.book-window")
    first = page.locator("ul.windows li").first
    start = dt.datetime.fromisoformat(first.locator("input[name=window_start]").get_attribute("value"))
    assert WEEKDAYS_ZH[start.weekday()] in first.inner_text()
    screenshot(page, "casefile-windows-desktop", full_page=True)
    first.locator("button.book-window").click()
    page.wait_for_selector(".flash.success")
    assert in_view(page, ".flash.success"), "the message must not be scrolled away"
    reference = re.search(r"预约号 (\w+)", page.inner_text(".flash.success")).group(1)
    assert page.locator(f"#now li.visit[data-visit='{reference}']").count() == 1
    screenshot(page, "casefile-booked-desktop")

    page.locator(f"li.booking[data-reference='{reference}'] a.cancel").click()
    page.wait_for_selector("h1:has-text('确认')")
    page.click("button:has-text('确认取消预约')")  # no reason yet: the browser asks for one
    assert page.locator("h1:has-text('确认')").count() == 1
    page.select_option("#f-reason_choice", "住院")
    page.fill("#f-reason_text", "家属来电")
    screenshot(page, "casefile-cancel-confirm-desktop")
    page.click("button:has-text('确认取消预约')")
    page.wait_for_selector(".flash.success")
    assert in_view(page, ".flash.success")
    assert "已取消" in page.inner_text(f"li.booking[data-reference='{reference}']")
    with session_scope(stack.database_url) as s:
        reason = s.execute(select(Booking.cancel_reason).where(Booking.reference == reference)).scalar_one()
    assert reason == "住院：家属来电"


def test_policy_search_for_advisors(stack, desktop):
    page = desktop
    page.goto(f"{stack.web_url}/advisor/policies")
    page.fill("input[name=q]", "养老院入住要什么条件")
    page.click("button:has-text('查询')")
    page.wait_for_selector("article.policy-hit")
    hits = page.locator("article.policy-hit")
    assert 1 <= hits.count() <= 3
    for i in range(hits.count()):
        assert "12349" not in hits.nth(i).locator(".answer").inner_text()
        assert "依据：《" in hits.nth(i).locator(".citation").inner_text()
    screenshot(page, "casefile-policy-desktop", full_page=True)


def test_elder_page_and_eligibility_on_a_phone(stack, phone):
    page = phone
    wang = elder_named(stack, "王秀英")
    page.goto(f"{stack.web_url}/advisor/elders/{wang.id}")
    assert in_view(page, "#now-h")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width}px)"
    screenshot(page, "casefile-elder-phone")
    screenshot(page, "casefile-elder-phone-full", full_page=True)

    page.goto(f"{stack.web_url}/advisor/eligibility?elder_id={wang.id}")
    page.wait_for_selector("section.results")
    assert "13800000003" not in page.content()
    page.select_option("#f-sms-to", "elder")
    page.click("button:has-text('下一步：确认短信')")
    page.wait_for_selector("h1:has-text('确认')")
    assert page.inner_text(".sms-number").strip() == "138****0003"
    preview = page.inner_text(".sms-preview")
    assert preview.startswith("【12349养老热线】您")
    screenshot(page, "casefile-sms-confirm-phone", full_page=True)
    with session_scope(stack.database_url) as s:
        before = len(list(s.execute(select(SmsOutbox.id)).scalars()))
    page.click("button:has-text('确认发送')")
    page.wait_for_selector(".flash.success")
    assert "尾号0003" in page.inner_text(".flash.success")
    with session_scope(stack.database_url) as s:
        rows = list(s.execute(select(SmsOutbox).order_by(SmsOutbox.id)).scalars())
    assert len(rows) == before + 1 and rows[-1].body == preview.strip()

    with page.expect_popup() as opened:
        page.click("button.print-result")
    sheet = opened.value
    sheet.wait_for_selector("article.print-sheet")
    sheet.emulate_media(media="print")
    assert not sheet.locator("header.topbar").is_visible()
    assert sheet.locator("article.result").count() >= 1
    screenshot(sheet, "casefile-eligibility-print", full_page=True)
    sheet.close()
