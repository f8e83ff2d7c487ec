"""The live handoff in two real browsers against the real stack: a daughter in the chat
widget on a phone asks for a person; an advisor in the console on a desktop claims the
conversation, replies, and the reply appears in the widget marked 顾问; her answer reaches
the advisor's page, not the bot; the advisor closes with an outcome and notes and the
widget says the bot is back. Then the accessibility scan (axe-core, tests/browser) of the
console pages the advisor used, on both screen sizes: no serious or critical violation.

The console's Content-Security-Policy forbids injected scripts, so the scanning browser
context bypasses CSP (Playwright's bypass_csp); the pages themselves are unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.contact import advisor_calendar
from bot.db import session_scope
from bot.models import Handoff
from tests.browser.helpers import (  # noqa: F401
    DESKTOP,
    PHONE,
    axe_violations,
    browser,
    console_login,
    create_console_user,
    describe_violations,
    screenshot,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADVISOR = ("he.live", "he-live-advisor-2024")
W = "#elder12349-widget"


def console(browser, stack, viewport):  # noqa: F811
    return console_login(browser, stack, viewport, *ADVISOR, bypass_csp=True)


def no_serious_violations(page, name: str) -> None:
    found = axe_violations(page)
    assert not found, f"{name}:\n{describe_violations(found)}"


def test_an_advisor_replies_inside_the_web_chat(stack, browser):  # noqa: F811
    assert advisor_calendar.on_duty()  # the suite's pinned clock is inside advisor hours
    create_console_user(stack, ADVISOR[0], ADVISOR[1], "advisor")
    person_context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    widget = person_context.new_page()
    widget.goto(stack.web_url + "/")
    widget.wait_for_selector(f"{W} .ew-from-bot .ew-bubble")
    widget.fill(f"{W} .ew-input", "转人工")
    widget.press(f"{W} .ew-input", "Enter")
    widget.wait_for_selector(f"{W} .ew-from-bot .ew-bubble:has-text('顾问接上后')", timeout=60_000)

    context, desk = console(browser, stack, DESKTOP)
    try:
        desk.goto(stack.web_url + "/advisor/queue")
        # the stack is shared by the whole session: find this conversation's own row
        token = widget.evaluate("JSON.parse(sessionStorage.getItem('elder12349.widget.v1')).sender")
        with session_scope(stack.database_url) as s:
            mine = set(
                s.execute(
                    select(Handoff.id).where(Handoff.sender_id == stack.conversation_of(token))
                ).scalars()
            )
        assert mine, "转人工 queued nothing"
        row = desk.locator(",".join(f'tr[data-handoff-id="{i}"]' for i in sorted(mine))).first
        row.locator("button:has-text('认领')").click()
        desk.wait_for_url("**/advisor/conversations/*")
        assert "转人工" in desk.inner_text("main")
        no_serious_violations(desk, "conversation page (desktop)")
        desk.fill("textarea[name=text]", "您好，我是顾问小何。请问老人家住哪个街道？")
        desk.click("button:has-text('发送')")

        advisor_bubble = f"{W} .ew-from-advisor .ew-bubble:has-text('我是顾问小何')"
        widget.wait_for_selector(advisor_bubble, timeout=20_000)  # polled every 3 s
        assert "顾问" in widget.inner_text(f"{W} .ew-from-advisor")
        screenshot(widget, "live-chat-widget-advisor-reply")

        widget.fill(f"{W} .ew-input", "住在五老村，她腿脚不方便")
        widget.press(f"{W} .ew-input", "Enter")
        widget.wait_for_selector(f"{W} :text('已发给顾问')", timeout=20_000)
        desk.wait_for_function(  # the transcript refreshes itself
            "() => document.querySelector('#transcript').innerText.includes('她腿脚不方便')", timeout=20_000
        )
        screenshot(desk, "live-chat-console-conversation", full_page=True)

        desk.select_option("select[name=outcome]", "resolved")
        desk.fill("textarea[name=notes]", "已说明上门服务，约好明天回电")
        desk.click("button:has-text('结束这次对话')")
        desk.wait_for_selector(".flash.success")
        widget.wait_for_selector(f"{W} .ew-from-bot .ew-bubble:has-text('顾问已结束')", timeout=20_000)

        for path, name in (
            ("/advisor/", "home"),
            ("/advisor/queue", "queue"),
            ("/advisor/elders?q=张桂兰", "elder search"),
            ("/advisor/policies?q=八十岁以上免费上门服务", "policy search"),
        ):
            desk.goto(stack.web_url + path)
            no_serious_violations(desk, f"{name} (desktop)")
    finally:
        context.close()
        person_context.close()


def test_console_pages_pass_the_accessibility_scan_on_a_phone(stack, browser):  # noqa: F811
    create_console_user(stack, ADVISOR[0], ADVISOR[1], "advisor")
    context, page = console(browser, stack, PHONE)
    try:
        no_serious_violations(page, "home (phone)")
        page.goto(stack.web_url + "/advisor/elders?q=张桂兰")
        page.locator("a:has-text('张桂兰')").first.click()
        page.wait_for_selector("#now-h")
        no_serious_violations(page, "elder page (phone)")
        for path, name in (
            ("/advisor/queue", "queue"),
            ("/advisor/eligibility", "eligibility"),
            ("/advisor/outreach", "outbound care"),
        ):
            page.goto(stack.web_url + path)
            no_serious_violations(page, f"{name} (phone)")
    finally:
        context.close()
    fresh = browser.new_context(viewport=PHONE, locale="zh-CN", bypass_csp=True)
    try:
        page = fresh.new_page()
        page.goto(stack.web_url + "/advisor/login")
        no_serious_violations(page, "login (phone)")
    finally:
        fresh.close()
