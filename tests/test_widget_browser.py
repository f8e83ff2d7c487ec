"""The chat widget in real headless Chromium against the real stack (Rasa, actions, web):
a conversation by typing and by a quick reply, large text, reload with history kept,
read-aloud, 转人工, escaping, and a phone-sized screen."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.models import Handoff
from tests.browser.helpers import DESKTOP, PHONE, browser, screenshot  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

BOT = "#elder12349-widget .ew-from-bot:not(.ew-typing)"
USER = "#elder12349-widget .ew-from-user"

# Watches the page for what the test cannot catch by polling: the typing indicator
# being shown, and what is handed to speech synthesis (the real call still happens).
OBSERVE = """
window.__typingSeen = false;
new MutationObserver(function () {
  var t = document.querySelector('#elder12349-widget .ew-typing');
  if (t && !t.hidden) { window.__typingSeen = true; }
}).observe(document, {subtree: true, attributes: true, childList: true});
window.__spoken = [];
if (window.speechSynthesis) {
  var realSpeak = window.speechSynthesis.speak.bind(window.speechSynthesis);
  window.speechSynthesis.speak = function (u) {
    window.__spoken.push({text: u.text, lang: u.lang});
    return realSpeak(u);
  };
}
"""


def wait_bot_count(page, n: int, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#elder12349-widget .ew-from-bot:not(.ew-typing)').length >= n",
        arg=n, timeout=timeout)
    page.wait_for_selector("#elder12349-widget .ew-typing", state="hidden", timeout=timeout)


def font_px(page, selector: str) -> float:
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


@pytest.fixture
def phone_page(stack, browser):  # noqa: F811
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    context.add_init_script(OBSERVE)
    page = context.new_page()
    yield page
    context.close()


def test_conversation_large_text_and_reload(stack, phone_page):
    page = phone_page
    page.goto(stack.web_url + "/")
    # The bot greets with quick-reply buttons as soon as the widget opens.
    wait_bot_count(page, 1)
    assert page.locator(f"{BOT} .ew-quick-btn").count() >= 2
    assert font_px(page, f"{BOT} .ew-bubble") >= 20  # large text by default

    # Typing.
    page.fill("#elder12349-widget .ew-input", "你好")
    page.press("#elder12349-widget .ew-input", "Enter")
    page.wait_for_selector(f"{USER} .ew-bubble:has-text('你好')")
    wait_bot_count(page, 2)
    assert page.evaluate("window.__typingSeen") is True
    user_box = page.locator(f"{USER} .ew-bubble").last.bounding_box()
    bot_box = page.locator(f"{BOT} .ew-bubble").last.bounding_box()
    assert user_box["x"] > bot_box["x"]  # user on the right, assistant on the left
    assert page.locator(f"{USER} .ew-avatar").count() == 1
    assert page.locator(f"{BOT} time").first.inner_text().count(":") == 1  # a timestamp

    # A quick reply: shows its title as the user's message and sends its payload.
    bots_before = page.locator(BOT).count()
    quick = page.locator(f"{BOT} .ew-quick-btn:not([disabled])").first
    title = quick.inner_text()
    quick.click()
    page.wait_for_selector(f"{USER} .ew-bubble:has-text('{title}')")
    wait_bot_count(page, bots_before + 1)
    # quick replies of earlier messages no longer act
    assert page.locator(f"{BOT} .ew-quick.ew-stale").count() >= 1
    screenshot(page, "widget-phone-conversation")

    # Bigger text.
    before = font_px(page, f"{BOT} .ew-bubble")
    page.click("#elder12349-widget .ew-big")
    assert page.get_attribute("#elder12349-widget .ew-big", "aria-pressed") == "true"
    assert font_px(page, f"{BOT} .ew-bubble") >= before * 1.2
    screenshot(page, "widget-phone-large-text")

    # Reload: same conversation, same size, same sender id.
    texts = page.locator("#elder12349-widget .ew-bubble").all_inner_texts()
    sender = page.evaluate("JSON.parse(sessionStorage.getItem('elder12349.widget.v1')).sender")
    page.reload()
    page.wait_for_selector(f"{BOT} .ew-bubble")
    assert page.locator("#elder12349-widget .ew-bubble").all_inner_texts() == texts
    assert page.evaluate("JSON.parse(sessionStorage.getItem('elder12349.widget.v1')).sender") == sender
    assert "ew-large" in page.get_attribute("#elder12349-widget", "class")
    # and the conversation goes on with the same sender on the server
    page.fill("#elder12349-widget .ew-input", "谢谢")
    page.press("#elder12349-widget .ew-input", "Enter")
    wait_bot_count(page, len([t for t in texts if t.startswith("助手说")]) + 1)
    screenshot(page, "widget-phone-after-reload")


def test_read_aloud_human_handoff_and_escaping(stack, phone_page):
    page = phone_page
    page.goto(stack.web_url + "/")
    page.evaluate("sessionStorage.clear()")
    page.reload()
    wait_bot_count(page, 1)

    # Read aloud: the reply's own text, in Mandarin.
    first_reply = page.locator(f"{BOT} .ew-bubble").first.inner_text()
    page.locator(f"{BOT} .ew-speak").first.click()
    spoken = page.evaluate("window.__spoken")
    assert spoken and spoken[0]["lang"] == "zh-CN"
    assert spoken[0]["text"] in first_reply

    # A service number in a reply is a tap-to-call link showing just the number.
    link = page.locator(f"{BOT} .ew-bubble a.ew-tel").first
    assert link.get_attribute("href") == "tel:12349" and link.inner_text() == "12349"

    # Text that looks like HTML is shown as text and never runs.
    attack = '<img src=x onerror="window.__xss=1"><b>粗体</b>'
    page.fill("#elder12349-widget .ew-input", attack)
    page.press("#elder12349-widget .ew-input", "Enter")
    wait_bot_count(page, 2)
    assert page.locator(f"{USER} .ew-bubble").last.inner_text().endswith(attack)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#elder12349-widget img, #elder12349-widget b").count() == 0

    # 转人工 is always on screen and puts this conversation in the advisors' queue.
    human = page.locator("#elder12349-widget .ew-human")
    assert human.is_visible()
    box = human.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"] and box["height"] >= 44
    bots = page.locator(BOT).count()
    human.click()
    wait_bot_count(page, bots + 1)
    assert "人工" in page.locator(f"{BOT} .ew-bubble").last.inner_text()
    sender = page.evaluate("JSON.parse(sessionStorage.getItem('elder12349.widget.v1')).sender")
    with session_scope(stack.database_url) as s:
        queued = s.execute(select(Handoff).where(Handoff.sender_id == stack.conversation_of(sender))).scalars().all()
    requests_for_human = [h for h in queued if h.kind == "request_human"]
    assert len(requests_for_human) == 1, [(h.kind, h.summary) for h in queued]
    assert requests_for_human[0].channel == "web"

    # Phone-sized: the chat fills the screen and nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    panel = page.locator("#elder12349-widget .ew-panel").bounding_box()
    assert panel["width"] == pytest.approx(PHONE["width"], abs=1)
    screenshot(page, "widget-phone-handoff")


def test_embedded_on_a_desktop_page(stack, browser):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(stack.web_url + "/")
        wait_bot_count(page, 1)
        panel = page.locator("#elder12349-widget .ew-panel").bounding_box()
        assert panel["width"] < DESKTOP["width"] / 2  # a corner panel, the page stays usable
        page.click("#elder12349-widget .ew-close")
        assert page.locator("#elder12349-widget .ew-launcher").is_visible()
        screenshot(page, "widget-desktop-closed")
        page.click("#elder12349-widget .ew-launcher")
        assert page.locator("#elder12349-widget .ew-panel").is_visible()
        screenshot(page, "widget-desktop-open")
    finally:
        context.close()
