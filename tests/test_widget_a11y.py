"""The accessibility gate of the web widget (适老化): axe-core (pinned in tests/browser/
package-lock.json) finds no serious or critical violation on the widget page, on a phone
and a desktop, after a short conversation with quick replies and an advisor's message, in
standard, 大字 and 特大字 sizes, nor on the embedding instructions page. The elder-specific
sizes axe does not check are measured here too: no visible text under 18px, controls at
least 48px (发送 60px), bold buttons, nothing wider than the screen.

No Rasa here: the widget's server calls are answered by ScriptedChat through page.route, so
the pages are judged on a fixed conversation (test_widget_browser.py runs the real stack)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest

from server import create_app
from server.speech import speakable
from tests.browser.helpers import (  # noqa: F401
    DESKTOP,
    PHONE,
    axe_violations,
    browser,
    describe_violations,
    screenshot,
    serve_flask,
)

pytestmark = pytest.mark.browser

W = "#elder12349-widget"
BOT = f"{W} .ew-from-bot:not(.ew-typing)"


class ScriptedChat:
    """Stands in for POST /api/chat and GET /api/chat/updates (the contracts in server/api/chat.py
    and the live-chat API): a greeting with quick replies, 转人工 that starts a live handoff,
    and an advisor thread the test writes to. Records what the widget sent."""

    SENDER = "scripted-sender-token"

    def __init__(self):
        self.turns: list[str] = []  # messages the widget posted
        self.polls: list[dict] = []  # query of each GET /api/chat/updates
        self.thread: list[dict] = []  # the live thread (advisor and system messages)
        self.state = "none"  # none | waiting | live | callback | closed
        self.queued: list[dict] = []  # replies the test chose for the next messages

    def install(self, page, base_url: str) -> None:
        page.route(f"{base_url}/api/chat", self._chat)
        page.route(re.compile(re.escape(base_url) + r"/api/chat/updates(\?.*)?$"), self._updates)

    # -- what the test does on the advisor's side
    def advisor_says(self, text: str, name: str = "顾问 王老师", buttons: list | None = None) -> None:
        self._post("advisor", name, text, buttons)

    def system_says(self, text: str) -> None:
        self._post("system", "系统", text, None)

    def _post(self, author: str, name: str, text: str, buttons: list | None) -> None:
        message = {
            "id": len(self.thread) + 1,
            "author": author,
            "name": name,
            "text": text,
            "at": "2026-11-23T10:05:00+08:00",
        }
        if buttons:
            message["buttons"] = buttons
        self.thread.append(message)

    # -- the two endpoints
    @staticmethod
    def reply(text: str, buttons: list | None = None, custom: dict | None = None) -> dict:
        shown = {"text": text, "buttons": buttons or [], "speech": speakable(text)}
        if custom:
            shown["custom"] = custom
        return shown

    def _chat(self, route, request) -> None:
        message = json.loads(request.post_data or "{}").get("message", "")
        self.turns.append(message)
        if self.queued and message != "/greet":
            replies = [self.queued.pop(0)]
        elif message == "/greet":
            replies = [
                self.reply(
                    "您好！这里是12349在线助手。请问您想问什么？",
                    [
                        {"title": "问政策", "payload": "/ask_policy"},
                        {"title": "预约上门服务", "payload": "/book_service"},
                        {"title": "转人工", "payload": "/request_human"},
                    ],
                )
            ]
        elif message in ("转人工", "/request_human"):
            self.state = "waiting"
            replies = [
                self.reply(
                    "好的，正在为您联系人工顾问，请稍等。",
                    custom={"action": "handoff", "handoff_id": 7, "live": True},
                )
            ]
        elif self.state == "live":
            route.fulfill(json={"sender": self.SENDER, "replies": [], "live": True})
            return
        else:
            replies = [self.reply(f"您问的是“{message}”。详细情况请拨打12349。")]
        route.fulfill(json={"sender": self.SENDER, "replies": replies})

    def _updates(self, route, request) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.polls.append(query)
        if query.get("sender") != self.SENDER:
            route.fulfill(status=400, json={"error": "会话不对。", "code": "invalid_sender"})
            return
        after = int(query.get("after") or 0)
        route.fulfill(json={"state": self.state, "messages": [m for m in self.thread if m["id"] > after]})


def wait_until(page, predicate, timeout_ms: int = 15_000, what: str = "") -> None:
    """Lets Playwright serve routes (they run while a page call waits) until predicate()."""
    waited = 0
    while not predicate():
        if waited >= timeout_ms:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        page.wait_for_timeout(100)
        waited += 100


def bot_count(page) -> int:
    return page.locator(BOT).count()


def wait_bots(page, n: int) -> None:
    page.wait_for_function(f"n => document.querySelectorAll('{BOT}').length >= n", arg=n, timeout=15_000)
    page.wait_for_selector(f"{W} .ew-typing", state="hidden")


@pytest.fixture(scope="module")
def site():
    with serve_flask(create_app({"TESTING": True})) as url:
        yield url


def open_conversation(browser, site, viewport, **context_args):  # noqa: F811
    """A page with the widget open after: greeting (quick replies), a typed question, 转人工,
    an advisor joining with a message that has buttons, and a message sent to the advisor."""
    context = browser.new_context(
        viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **context_args
    )
    page = context.new_page()
    chat = ScriptedChat()
    chat.install(page, site)
    page.goto(site + "/")
    wait_bots(page, 1)
    page.fill(f"{W} .ew-input", "居家养老补贴怎么申请")
    page.press(f"{W} .ew-input", "Enter")
    wait_bots(page, 2)
    page.click(f"{W} .ew-human")
    wait_bots(page, 3)
    chat.system_says("王老师已接入，正在为您服务。")
    chat.advisor_says(
        "您好，我是王老师。您是想申请补贴，还是想请人上门？",
        buttons=[{"title": "申请补贴", "payload": "申请补贴"}, {"title": "请人上门", "payload": "请人上门"}],
    )
    chat.state = "live"
    page.wait_for_selector(f"{W} .ew-from-advisor .ew-bubble", timeout=15_000)
    page.click(f"{W} .ew-from-advisor .ew-quick-btn >> text=申请补贴")  # like a quick reply
    page.wait_for_selector(f"{W} .ew-from-user .ew-note")
    assert chat.turns[-1] == "申请补贴"
    chat.advisor_says(
        "好的。请问老人今年多大年纪？",
        buttons=[{"title": "不到80岁", "payload": "不到80岁"}, {"title": "80岁以上", "payload": "80岁以上"}],
    )
    page.wait_for_selector(f"{W} .ew-from-advisor >> nth=1", timeout=15_000)
    return context, page, chat


# The checks axe does not make, measured in the page for the elders' guidance.
ELDER_SIZES = """(root) => {
  const problems = [];
  const visible = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 2 && r.height > 2 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !visible(e) || e.closest('.ew-sr-only')) continue;
    const px = parseFloat(getComputedStyle(e).fontSize);
    if (px < 18) problems.push(`text under 18px (${px}px): ${n.textContent.trim().slice(0, 20)}`);
  }
  for (const b of root.querySelectorAll('button, input')) {
    if (!visible(b)) continue;
    const r = b.getBoundingClientRect();
    const least = b.classList.contains('ew-send') ? 60 : 48;
    if (r.height < least - 0.5 || r.width < least - 0.5)
      problems.push(`${b.className} is ${Math.round(r.width)}x${Math.round(r.height)}, under ${least}px`);
    if (b.tagName === 'BUTTON' && parseInt(getComputedStyle(b).fontWeight) < 700)
      problems.push(`${b.className} is not bold`);
    const label = b.getAttribute('aria-label');
    const words = b.tagName === 'INPUT' ? b.placeholder : b.textContent.trim();
    if (label !== null && label !== words) problems.push(`${b.className}: name "${label}" is not "${words}"`);
  }
  for (const e of root.querySelectorAll('[aria-label]')) {
    if (!e.matches('button, input')) problems.push(`aria-label on ${e.tagName}.${e.className}`);
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) problems.push(`page scrolls sideways: ${doc.scrollWidth}`);
  for (const e of root.querySelectorAll('.ew-log, .ew-panel, .ew-header, .ew-footer')) {
    if (visible(e) && e.scrollWidth > e.clientWidth + 1)
      problems.push(`${e.className} scrolls sideways: ${e.scrollWidth} > ${e.clientWidth}`);
  }
  return problems;
}"""


def check_page(page, where: str) -> None:
    violations = axe_violations(page)
    if violations:
        print(f"axe violations on {where}:\n{describe_violations(violations)}")
    assert not violations, f"{where}:\n{describe_violations(violations)}"
    problems = page.eval_on_selector(W, ELDER_SIZES)
    assert not problems, f"{where}: {problems}"


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_widget_page_passes_axe_and_the_elder_sizes_in_every_text_size(browser, site, device):  # noqa: F811
    if device == "phone":
        context, page, chat = open_conversation(
            browser, site, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
        )
    else:
        context, page, chat = open_conversation(browser, site, DESKTOP)
    try:
        # the conversation the gate judges has what it should
        assert page.locator(f"{W} .ew-from-advisor .ew-quick-btn:not([disabled])").count() == 2
        assert page.locator(f"{W} .ew-from-advisor .ew-who").first.inner_text() == "顾问 王老师："
        assert page.locator(f"{W} a.ew-tel").count() >= 1
        check_page(page, f"{device}, standard size")
        screenshot(page, f"widget-a11y-{device}-standard")
        standard = page.eval_on_selector(f"{BOT} .ew-bubble", "e => parseFloat(getComputedStyle(e).fontSize)")
        for label, mode, factor in (("大字", "large", 1.25), ("特大字", "xlarge", 1.6)):
            page.click(f"{W} .ew-size-{mode}")
            assert page.get_attribute(f"{W} .ew-size-{mode}", "aria-pressed") == "true"
            assert page.inner_text(f"{W} .ew-size-{mode}") == label
            size = page.eval_on_selector(f"{BOT} .ew-bubble", "e => parseFloat(getComputedStyle(e).fontSize)")
            assert size == pytest.approx(standard * factor, rel=0.02)
            page.wait_for_timeout(100)  # the log scrolls to the end on the next frame
            check_page(page, f"{device}, {label}")
            screenshot(page, f"widget-{device}-{mode}")
        assert chat.polls and all(p["sender"] == ScriptedChat.SENDER for p in chat.polls)
    finally:
        context.close()


def test_embed_page_passes_axe(browser, site):  # noqa: F811
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        try:
            page.goto(site + "/embed")
            violations = axe_violations(page)
            assert not violations, f"embed page ({name}):\n{describe_violations(violations)}"
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
            small = page.evaluate("""() => [...document.querySelectorAll('main *')]
                .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
                .map(e => parseFloat(getComputedStyle(e).fontSize)).filter(px => px < 18)""")
            assert not small, small
        finally:
            context.close()


def test_focus_ring_is_visible_on_buttons(browser, site):  # noqa: F811
    context, page, _chat = open_conversation(browser, site, DESKTOP)
    try:
        page.focus(f"{W} .ew-send")
        page.keyboard.press("Shift+Tab")  # keyboard focus, so :focus-visible applies
        page.keyboard.press("Tab")
        ring = page.eval_on_selector(
            f"{W} .ew-send",
            """b => { const s = getComputedStyle(b);
            return {focused: document.activeElement === b, style: s.outlineStyle,
                    width: parseFloat(s.outlineWidth)}; }""",
        )
        assert ring == {"focused": True, "style": "solid", "width": 4}
    finally:
        context.close()


def test_without_axe_installed_the_gate_fails_and_says_how_to_install(monkeypatch, tmp_path):
    from tests.browser import helpers

    monkeypatch.setattr(helpers, "AXE_JS", tmp_path / "axe.min.js")
    with pytest.raises(pytest.fail.Exception, match="make install"):
        helpers.axe_violations(page=None)
