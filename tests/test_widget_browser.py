"""The chat widget in real headless Chromium.

Against the real stack (Rasa, actions, web; marked e2e): a conversation by typing and by a
quick reply with the focus kept in the box, 大字 / 特大字 remembered on this device, reload
with history kept, 自动朗读 reading the server's spoken wording, tap-to-call numbers,
escaping, 转人工, a phone-sized screen and a desktop corner panel.

Against ScriptedChat (tests/test_widget_a11y.py: the chat and live-update API answered with
page.route, no Rasa): live advisor messages polled every 3 seconds and when polling stops,
the 已发给顾问 note, voice input, and what 自动朗读 says on a device without a Chinese voice.
The end-to-end live chat with a real advisor console is in tests/test_live_chat_e2e.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.models import Handoff
from tests.browser.helpers import DESKTOP, PHONE, browser, screenshot  # noqa: F401
from tests.test_widget_a11y import ScriptedChat, site, wait_until  # noqa: F401

W = "#elder12349-widget"
BOT = f"{W} .ew-from-bot:not(.ew-typing)"
USER = f"{W} .ew-from-user"
STORE = "JSON.parse(sessionStorage.getItem('elder12349.widget.v1'))"

# Watches the page for what the test cannot catch by polling: the typing indicator being shown.
OBSERVE_TYPING = """
window.__typingSeen = false;
new MutationObserver(function () {
  var t = document.querySelector('#elder12349-widget .ew-typing');
  if (t && !t.hidden) { window.__typingSeen = true; }
}).observe(document, {subtree: true, attributes: true, childList: true});
"""

# A device with a Mandarin voice: what the widget hands to speech synthesis is recorded.
# (Headless Chromium has no voices, and an utterance only takes a real voice object.)
MANDARIN_VOICE = """
window.__spoken = [];
(function () {
  var voice = {lang: 'zh-CN', name: 'Test Mandarin', voiceURI: 'test', localService: true, default: true};
  window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ''; this.voice = null; };
  window.speechSynthesis.getVoices = function () { return [{lang: 'en-US', name: 'English'}, voice]; };
  window.speechSynthesis.speak = function (u) {
    window.__spoken.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.name, rate: u.rate});
  };
})();
"""

# A device whose browser can speak, but not Chinese; its voice list arrives a moment late.
NO_MANDARIN_VOICE = """
window.__spoken = [];
(function () {
  var voices = [];
  window.speechSynthesis.getVoices = function () { return voices; };
  window.speechSynthesis.speak = function (u) { window.__spoken.push(u.text); };
  setTimeout(function () {
    voices = [{lang: 'en-US', name: 'English'}, {lang: 'de-DE', name: 'Deutsch'}];
    window.speechSynthesis.dispatchEvent(new Event('voiceschanged'));
  }, 300);
})();
"""

# Speech recognition that hears `window.__heard` between start() and stop().
RECOGNITION = """
window.__recognitions = [];
window.__heard = '我想预约上门助浴';
window.__recognitionError = null;
window.SpeechRecognition = function () {
  var self = this;
  window.__recognitions.push(self);
  self.started = false;
  self.start = function () { self.started = true; };
  self.stop = function () {
    if (window.__recognitionError) { self.onerror({error: window.__recognitionError}); }
    else {
      var half = window.__heard.length >> 1;
      self.onresult({results: [[{transcript: window.__heard.slice(0, half)}],
                               [{transcript: window.__heard.slice(half)}]]});
    }
    self.onend();
  };
};
"""

NO_RECOGNITION = "delete window.webkitSpeechRecognition; delete window.SpeechRecognition;"


def wait_bot_count(page, n: int, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#elder12349-widget .ew-from-bot:not(.ew-typing)').length >= n",
        arg=n,
        timeout=timeout,
    )
    page.wait_for_selector(f"{W} .ew-typing", state="hidden", timeout=timeout)


def font_px(page, selector: str) -> float:
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


def focused_class(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.className")


# ---- against the real stack -----------------------------------------------------------------


@pytest.fixture
def phone_context(browser):  # noqa: F811
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.add_init_script(OBSERVE_TYPING)
    context.add_init_script(MANDARIN_VOICE)
    yield context
    context.close()


def _greeted(stack, context):
    """A new page of the site in `context`, once the widget has greeted."""
    page = context.new_page()
    page.goto(stack.web_url + "/")
    wait_bot_count(page, 1)
    return page


@pytest.mark.e2e
@pytest.mark.browser
def test_conversation_text_sizes_and_reload(stack, phone_context):
    # The bot greets with quick-reply buttons as soon as the widget opens.
    page = _greeted(stack, phone_context)
    assert page.locator(f"{BOT} .ew-quick-btn").count() >= 2
    standard = font_px(page, f"{BOT} .ew-bubble")
    assert standard >= 20  # large text by default

    # Typing: the box keeps the focus for the next question.
    page.fill(f"{W} .ew-input", "你好")
    page.press(f"{W} .ew-input", "Enter")
    page.wait_for_selector(f"{USER} .ew-bubble:has-text('你好')")
    wait_bot_count(page, 2)
    assert focused_class(page) == "ew-input"
    assert page.evaluate("window.__typingSeen") is True
    user_box = page.locator(f"{USER} .ew-bubble").last.bounding_box()
    bot_box = page.locator(f"{BOT} .ew-bubble").last.bounding_box()
    assert user_box["x"] > bot_box["x"]  # user on the right, assistant on the left
    assert page.locator(f"{USER} .ew-avatar").count() == 1
    assert page.locator(f"{BOT} time").first.inner_text().count(":") == 1  # a timestamp

    # A quick reply: shows its title as the user's message, sends its payload, and the
    # focus goes back to the box.
    bots_before = page.locator(BOT).count()
    quick = page.locator(f"{BOT} .ew-quick-btn:not([disabled])").first
    title = quick.inner_text()
    quick.click()
    page.wait_for_selector(f"{USER} .ew-bubble:has-text('{title}')")
    wait_bot_count(page, bots_before + 1)
    assert focused_class(page) == "ew-input"
    # quick replies of earlier messages no longer act
    assert page.locator(f"{BOT} .ew-quick.ew-stale").count() >= 1
    screenshot(page, "widget-phone-conversation")

    # 大字 ×1.25, 特大字 ×1.6; pressing the pressed one goes back to standard.
    page.click(f"{W} .ew-size-large")
    assert font_px(page, f"{BOT} .ew-bubble") == pytest.approx(standard * 1.25, rel=0.02)
    page.click(f"{W} .ew-size-xlarge")
    assert font_px(page, f"{BOT} .ew-bubble") == pytest.approx(standard * 1.6, rel=0.02)
    assert page.get_attribute(f"{W} .ew-size-large", "aria-pressed") == "false"
    assert page.get_attribute(f"{W} .ew-size-xlarge", "aria-pressed") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "widget-phone-xlarge-text")

    # Reload: same conversation, same size, same sender id.
    texts = page.locator(f"{W} .ew-bubble").all_inner_texts()
    sender = page.evaluate(f"{STORE}.sender")
    page.reload()
    page.wait_for_selector(f"{BOT} .ew-bubble")
    assert page.locator(f"{W} .ew-bubble").all_inner_texts() == texts
    assert page.evaluate(f"{STORE}.sender") == sender
    assert "ew-size-xlarge" in page.get_attribute(W, "class")
    # and the conversation goes on with the same sender on the server
    page.fill(f"{W} .ew-input", "谢谢")
    page.press(f"{W} .ew-input", "Enter")
    wait_bot_count(page, len([t for t in texts if t.startswith("助手说")]) + 1)
    screenshot(page, "widget-phone-after-reload")

    # A new tab is a new conversation, but the size stays this device's choice.
    other = _greeted(stack, phone_context)
    assert other.locator(f"{W} .ew-from-user").count() == 0
    assert "ew-size-xlarge" in other.get_attribute(W, "class")
    other.click(f"{W} .ew-size-xlarge")
    assert other.get_attribute(f"{W} .ew-size-xlarge", "aria-pressed") == "false"
    assert font_px(other, f"{BOT} .ew-bubble") == pytest.approx(standard, rel=0.02)


@pytest.mark.e2e
@pytest.mark.browser
def test_read_aloud_call_links_escaping_and_human_handoff(stack, phone_context):
    page = _greeted(stack, phone_context)
    # one switch, no button per message
    assert page.locator(f"{W} .ew-speak").count() == 0
    switch = page.locator(f"{W} .ew-read-aloud")
    assert switch.get_attribute("role") == "switch" and switch.get_attribute("aria-checked") == "false"
    assert page.evaluate("window.__spoken") == []
    switch.click()
    page.wait_for_selector(f"{W} .ew-read-aloud[aria-checked='true']")

    # A service number in a reply is a tap-to-call link showing just the number.
    link = page.locator(f"{BOT} .ew-bubble a.ew-tel").first
    assert link.get_attribute("href") == "tel:12349" and link.inner_text() == "12349"

    # From now on each reply is read as the phone line says it: the server's `speech`
    # (the greeting's 12349 digit by digit), not the text as shown.
    page.fill(f"{W} .ew-input", "你好")
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as answer:
        page.press(f"{W} .ew-input", "Enter")
    replies = answer.value.json()["replies"]
    wait_bot_count(page, 2)
    spoken = page.evaluate("window.__spoken")
    assert [s["text"] for s in spoken] == [r["speech"] for r in replies]
    assert {(s["lang"], s["voice"]) for s in spoken} == {("zh-CN", "Test Mandarin")}
    assert any("12349" in r["text"] for r in replies), replies
    assert "幺二三四九" in "".join(s["text"] for s in spoken)

    # The switch is remembered on this device.
    page.reload()
    page.wait_for_selector(f"{W} .ew-read-aloud[aria-checked='true']")

    # Text that looks like HTML is shown as text and never runs.
    bots = page.locator(BOT).count()
    attack = '<img src=x onerror="window.__xss=1"><b>粗体</b>'
    page.fill(f"{W} .ew-input", attack)
    page.press(f"{W} .ew-input", "Enter")
    wait_bot_count(page, bots + 1)
    assert page.locator(f"{USER} .ew-bubble").last.inner_text().endswith(attack)
    assert page.evaluate("window.__xss") is None
    assert page.locator(f"{W} img, {W} b").count() == 0

    # 转人工 is always on screen and puts this conversation in the advisors' queue.
    human = page.locator(f"{W} .ew-human")
    assert human.is_visible()
    box = human.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"] and box["height"] >= 48
    bots = page.locator(BOT).count()
    human.click()
    wait_bot_count(page, bots + 1)
    assert focused_class(page) == "ew-input"
    assert "人工" in page.locator(f"{BOT} .ew-bubble").last.inner_text()
    sender = page.evaluate(f"{STORE}.sender")
    with session_scope(stack.database_url) as s:
        queued = (
            s.execute(select(Handoff).where(Handoff.sender_id == stack.conversation_of(sender)))
            .scalars()
            .all()
        )
    requests_for_human = [h for h in queued if h.kind == "request_human"]
    assert len(requests_for_human) == 1, [(h.kind, h.summary) for h in queued]
    assert requests_for_human[0].channel == "web"

    # Phone-sized: the chat fills the screen and nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    panel = page.locator(f"{W} .ew-panel").bounding_box()
    assert panel["width"] == pytest.approx(PHONE["width"], abs=1)
    screenshot(page, "widget-phone-handoff")


@pytest.mark.e2e
@pytest.mark.browser
def test_embedded_on_a_desktop_page(stack, browser):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    try:
        page.goto(stack.web_url + "/")
        wait_bot_count(page, 1)
        panel = page.locator(f"{W} .ew-panel").bounding_box()
        assert panel["width"] < DESKTOP["width"] / 2  # a corner panel, the page stays usable
        page.click(f"{W} .ew-close")
        assert page.locator(f"{W} .ew-launcher").is_visible()
        assert focused_class(page) == "ew-launcher"
        screenshot(page, "widget-desktop-closed")
        page.click(f"{W} .ew-launcher")
        assert page.locator(f"{W} .ew-panel").is_visible()
        assert focused_class(page) == "ew-input"
        screenshot(page, "widget-desktop-open")
        page.click(f"{W} .ew-size-large")
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
        screenshot(page, "widget-desktop-large-text")
    finally:
        context.close()


# ---- against ScriptedChat (no Rasa) --------------------------------------------------------------


@pytest.fixture
def scripted(browser, site):  # noqa: F811
    """(page factory, chat): pages share one context (one device) and one scripted server."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    chat = ScriptedChat()

    def new_page(*init_scripts: str, clock: bool = False):
        page = context.new_page()
        for script in init_scripts:
            page.add_init_script(script)
        if clock:  # the page's timers and Date run only when the test moves them
            page.clock.install(time=CLOCK_START)
            page.clock.pause_at(CLOCK_START + timedelta(seconds=1))
        chat.install(page, site)
        page.goto(site + "/")
        wait_bot_count(page, 1, timeout=15_000)
        return page

    yield new_page, chat
    context.close()


CLOCK_START = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def settle(page, ms: int = 300) -> None:
    """Real time for the page to take in a response (the page's own timers may be faked)."""
    page.wait_for_timeout(ms)


@pytest.mark.browser
def test_live_advisor_messages_are_polled_every_3_seconds_until_closed(scripted):
    new_page, chat = scripted
    page = new_page(clock=True)
    assert chat.polls == []  # nothing to poll before a live handoff
    page.click(f"{W} .ew-human")
    wait_bot_count(page, 2, timeout=15_000)
    page.clock.run_for(10)
    wait_until(page, lambda: len(chat.polls) == 1, what="the first poll")
    assert chat.polls[0] == {"sender": ScriptedChat.SENDER, "after": "0"}
    settle(page)
    page.clock.run_for(2_900)
    settle(page)
    assert len(chat.polls) == 1  # not before 3 seconds
    page.clock.run_for(200)
    wait_until(page, lambda: len(chat.polls) == 2, what="the poll after 3 seconds")

    # The advisor joins: the system line as the assistant's, the advisor's marked 顾问.
    chat.state = "live"
    chat.system_says("王老师已接入。")
    chat.advisor_says(
        "您好，我是王老师，请问有什么可以帮您？", buttons=[{"title": "需要回电", "payload": "需要回电"}]
    )
    settle(page)
    page.clock.run_for(3_000)
    page.wait_for_selector(f"{W} .ew-from-advisor .ew-bubble")
    advisor = page.locator(f"{W} .ew-from-advisor")
    assert advisor.locator(".ew-who").inner_text() == "顾问 王老师："
    assert advisor.locator(".ew-bubble").inner_text() == "您好，我是王老师，请问有什么可以帮您？"
    assert "王老师已接入。" in page.locator(f"{BOT}:not(.ew-from-advisor) .ew-bubble").last.inner_text()
    bubble_colour = "e => getComputedStyle(e).backgroundColor"
    assert page.eval_on_selector(f"{W} .ew-from-advisor .ew-bubble", bubble_colour) != page.eval_on_selector(
        f"{BOT}:not(.ew-from-advisor) .ew-bubble", bubble_colour
    )

    # A button in the advisor's message works like a quick reply; what the person sends while
    # the advisor holds the conversation is marked 已发给顾问.
    advisor.locator(".ew-quick-btn").click()
    page.wait_for_selector(f"{USER} .ew-note")
    assert chat.turns[-1] == "需要回电"
    assert page.locator(f"{USER}").last.locator(".ew-note").inner_text() == "已发给顾问"
    assert focused_class(page) == "ew-input"
    page.fill(f"{W} .ew-input", "我家在五老村")
    page.press(f"{W} .ew-input", "Enter")
    wait_until(page, lambda: chat.turns[-1] == "我家在五老村")
    # (the note of the earlier message is there already: wait for the count, not for a note)
    wait_until(page, lambda: page.locator(f"{W} .ew-note").count() == 2, what="the second note")

    # Only new messages are asked for, and each is shown once, also after a reload.
    polls = len(chat.polls)
    settle(page)
    page.clock.run_for(3_000)
    wait_until(page, lambda: len(chat.polls) > polls)
    assert chat.polls[-1]["after"] == "2"
    page.reload()
    page.wait_for_selector(f"{W} .ew-from-advisor")
    page.clock.run_for(10)
    wait_until(page, lambda: len(chat.polls) > polls + 1, what="polling again after a reload")
    settle(page)
    assert page.locator(f"{W} .ew-from-advisor").count() == 1
    assert page.locator(f"{W} .ew-note").count() == 2

    # The advisor closes: polling stops.
    chat.state = "closed"
    chat.system_says("本次人工服务已结束。")
    page.clock.run_for(3_000)
    page.wait_for_selector(f"{BOT} .ew-bubble:has-text('本次人工服务已结束')")
    polls = len(chat.polls)
    settle(page)
    page.clock.run_for(30_000)
    settle(page)
    assert len(chat.polls) == polls
    assert page.evaluate(f"{STORE}.live") is None


@pytest.mark.browser
def test_polling_stops_after_30_quiet_minutes_or_when_there_is_no_handoff(scripted):
    new_page, chat = scripted
    page = new_page(clock=True)
    page.click(f"{W} .ew-human")
    wait_bot_count(page, 2, timeout=15_000)
    page.clock.run_for(10)
    wait_until(page, lambda: len(chat.polls) == 1)
    settle(page)
    page.clock.run_for(29 * 60_000)  # still waiting for an advisor after 29 minutes
    settle(page)
    assert page.evaluate(f"{STORE}.live") is not None
    page.clock.run_for(2 * 60_000)
    settle(page)
    polls = len(chat.polls)
    page.clock.run_for(30_000)
    settle(page)
    assert len(chat.polls) == polls and page.evaluate(f"{STORE}.live") is None

    # A reply with "live" starts it again; the server saying "none" ends it at once.
    page.fill(f"{W} .ew-input", "转人工")
    page.press(f"{W} .ew-input", "Enter")
    wait_bot_count(page, 3, timeout=15_000)
    page.clock.run_for(10)
    wait_until(page, lambda: len(chat.polls) == polls + 1)
    chat.state = "none"
    settle(page)
    page.clock.run_for(3_000)
    wait_until(page, lambda: len(chat.polls) == polls + 2)
    settle(page)
    page.clock.run_for(30_000)
    settle(page)
    assert len(chat.polls) == polls + 2 and page.evaluate(f"{STORE}.live") is None


@pytest.mark.browser
def test_voice_input_puts_the_words_in_the_box_to_check(scripted):
    new_page, chat = scripted
    page = new_page(RECOGNITION)
    talk = page.locator(f"{W} .ew-talk")
    assert talk.is_visible() and talk.inner_text() == "按住说话"
    box = talk.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    assert page.evaluate("window.__recognitions.length") == 1
    assert page.evaluate("[window.__recognitions[0].lang, window.__recognitions[0].started]") == [
        "zh-CN",
        True,
    ]
    assert page.inner_text(f"{W} .ew-notice") == "请说话，说完松开"
    page.mouse.up()
    assert page.input_value(f"{W} .ew-input") == "我想预约上门助浴"
    assert focused_class(page) == "ew-input"
    assert "再点发送" in page.inner_text(f"{W} .ew-notice")
    assert chat.turns == ["/greet"]  # nothing is sent before the person checks it
    page.press(f"{W} .ew-input", "Enter")
    wait_until(page, lambda: chat.turns[-1] == "我想预约上门助浴")

    # From the keyboard: hold the space bar on the button.
    page.evaluate("window.__heard = '问政策'")
    talk.focus()
    page.keyboard.down(" ")
    page.keyboard.up(" ")
    assert page.input_value(f"{W} .ew-input") == "问政策"

    # A recogniser that cannot reach its service: said, and the button goes away.
    page.evaluate("window.__recognitionError = 'network'")
    talk.focus()
    page.keyboard.down(" ")
    page.keyboard.up(" ")
    assert page.inner_text(f"{W} .ew-notice") == "这台设备现在不能语音输入，请打字。"
    assert not talk.is_visible()


@pytest.mark.browser
def test_no_voice_input_button_where_the_browser_cannot_listen(scripted):
    new_page, _chat = scripted
    page = new_page(NO_RECOGNITION)
    assert page.locator(f"{W} .ew-talk").is_hidden()
    assert page.locator(f"{W} .ew-human").is_visible()


@pytest.mark.browser
def test_read_aloud_says_plainly_when_the_device_has_no_chinese_voice(scripted):
    new_page, chat = scripted
    page = new_page(NO_MANDARIN_VOICE)
    page.click(f"{W} .ew-read-aloud")
    page.wait_for_selector(f"{W} .ew-notice:has-text('这台设备不能朗读中文。')")
    assert page.get_attribute(f"{W} .ew-read-aloud", "aria-checked") == "false"
    assert page.get_attribute(f"{W} .ew-notice", "role") == "status"
    page.fill(f"{W} .ew-input", "你好")
    page.press(f"{W} .ew-input", "Enter")
    wait_bot_count(page, 2, timeout=15_000)
    assert page.evaluate("window.__spoken") == []

    # A browser without speech synthesis at all says the same.
    bare = new_page("delete window.speechSynthesis; delete Window.prototype.speechSynthesis;")
    assert bare.evaluate("'speechSynthesis' in window") is False
    bare.click(f"{W} .ew-read-aloud")
    bare.wait_for_selector(f"{W} .ew-notice:has-text('这台设备不能朗读中文。')")
    assert bare.get_attribute(f"{W} .ew-read-aloud", "aria-checked") == "false"


@pytest.mark.browser
def test_a_number_question_brings_up_the_digit_keyboard(scripted):
    """The reply flag expects_digits, not the question's words, chooses the keyboard."""
    new_page, chat = scripted
    page = new_page()
    box = page.locator(f"{W} .ew-input")
    assert box.get_attribute("inputmode") is None
    chat.queued += [
        chat.reply("请告诉我要接收短信的手机号码。", custom={"expects_digits": 11}),
        chat.reply("请说一下老人身份证号的最后四位。", custom={"expects_digits": 4, "digits_allow_x": True}),
        chat.reply("请告诉我您的手机号码。"),  # the same kind of words, without the flag
    ]
    expected = ["numeric", None, None]
    for n, keyboard in enumerate(expected):
        box.fill("好的")
        box.press("Enter")
        wait_bot_count(page, 2 + n)
        assert box.get_attribute("inputmode") == keyboard, n
