"""The live handoff on the real stack (tests/stack.py: Rasa, the action server, the web
server; the suite's pinned clock is a Monday morning, inside advisor hours): a person asks
for a person on /api/chat, an advisor logs in to the console with plain HTTP (CSRF token
from the page), claims, reads the transcript and replies; the person reads the reply from
/api/chat/updates, talks to the advisor (not to the bot), still gets the 120 answer to an
emergency, and the advisor closes the conversation with an outcome and notes."""

from __future__ import annotations

import re

import pytest
import requests
import yaml

from bot.contact import advisor_calendar
from bot.config import PROJECT_ROOT
from tests.browser.helpers import browser, create_console_user  # noqa: F401

pytestmark = pytest.mark.e2e

ADVISOR = ("lin.advisor", "lin-advisor-2024")
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def said(name: str) -> str:
    return DOMAIN[name][0]["text"]


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Person:
    def __init__(self, stack):
        self.url = stack.web_url
        self.sender = None

    def say(self, message: str) -> dict:
        r = requests.post(
            self.url + "/api/chat", json={"sender": self.sender, "message": message}, timeout=30
        )
        r.raise_for_status()
        body = r.json()
        self.sender = body["sender"]
        return body

    def updates(self, after: int = 0) -> dict:
        r = requests.get(
            self.url + "/api/chat/updates", params={"sender": self.sender, "after": after}, timeout=10
        )
        r.raise_for_status()
        return r.json()


@pytest.fixture(scope="module")
def advisor(stack):
    create_console_user(stack, ADVISOR[0], ADVISOR[1], "advisor")
    web = requests.Session()
    page = web.get(stack.web_url + "/advisor/login", timeout=10).text
    r = web.post(
        stack.web_url + "/advisor/login",
        timeout=10,
        allow_redirects=False,
        data={"username": ADVISOR[0], "password": ADVISOR[1], "csrf_token": csrf(page)},
    )
    assert r.status_code == 302
    return web


def tracker_texts(stack, conversation: str) -> list[str]:
    r = requests.get(stack.rasa_api(f"/conversations/{conversation}/tracker"), timeout=10)
    r.raise_for_status()
    return [e.get("text") for e in r.json()["events"] if e["event"] == "user"]


def test_a_person_and_an_advisor_talk_in_the_web_chat(stack, advisor):
    assert advisor_calendar.on_duty()  # the suite's pinned Monday morning
    person = Person(stack)
    person.say("你好")
    asked = person.say("转人工")
    handoff = next(r for r in asked["replies"] if (r.get("custom") or {}).get("action") == "handoff")
    assert handoff["text"] == said("utter_handoff_live") and handoff["custom"]["live"] is True
    handoff_id = handoff["custom"]["handoff_id"]
    assert person.updates() == {"state": "waiting", "messages": []}
    bad = requests.get(stack.web_url + "/api/chat/updates", params={"sender": "forged"}, timeout=10)
    assert bad.status_code == 400 and re.search(r"[\u4e00-\u9fff]", bad.json()["error"])

    # the advisor sees one row for the conversation, claims it and lands on its page
    queue = advisor.get(stack.web_url + "/advisor/queue", timeout=10).text
    assert f'data-handoff-id="{handoff_id}"' in queue
    claimed = advisor.post(
        stack.web_url + f"/advisor/queue/{handoff_id}/claim", data={"csrf_token": csrf(queue)}, timeout=10
    )
    assert claimed.url.endswith(f"/advisor/conversations/{handoff_id}")
    page = claimed.text
    assert "转人工" in page and said("utter_handoff_live") in page  # the bot conversation
    assert person.updates()["state"] == "live"

    reply = advisor.post(
        stack.web_url + f"/advisor/conversations/{handoff_id}/reply",
        data={"csrf_token": csrf(page), "text": "您好，我是顾问小林，请问有什么可以帮您？"},
        timeout=10,
    )
    assert reply.status_code == 200
    seen = person.updates()
    assert seen["state"] == "live"
    from_advisor = [m for m in seen["messages"] if m["author"] == "advisor"]
    assert [(m["name"], m["text"]) for m in from_advisor] == [
        ("顾问", "您好，我是顾问小林，请问有什么可以帮您？")
    ]
    assert person.updates(seen["messages"][-1]["id"])["messages"] == []

    # the person's next message reaches the advisor, not the bot
    held = person.say("我想给我妈申请助餐服务")
    assert held["replies"] == [] and held["live"] is True
    conversation = stack.conversation_of(person.sender)
    assert "我想给我妈申请助餐服务" not in tracker_texts(stack, conversation)
    transcript = advisor.get(
        stack.web_url + f"/advisor/conversations/{handoff_id}/transcript", timeout=10
    ).text
    assert "我想给我妈申请助餐服务" in transcript

    # an emergency still gets the bot's 120 answer (and reaches the advisor too)
    danger = person.say("我妈摔倒了起不来")
    assert "120" in "\n".join(r["text"] for r in danger["replies"])
    assert "我妈摔倒了起不来" in tracker_texts(stack, conversation)

    # closing needs an outcome and notes
    page = advisor.get(stack.web_url + f"/advisor/conversations/{handoff_id}", timeout=10).text
    assert "我妈摔倒了起不来" in page
    refused = advisor.post(
        stack.web_url + f"/advisor/queue/{handoff_id}/close",
        data={"csrf_token": csrf(page), "outcome": "resolved", "notes": ""},
        timeout=10,
    )
    assert "请填写处理说明" in refused.text and person.updates()["state"] == "live"
    done = advisor.post(
        stack.web_url + f"/advisor/queue/{handoff_id}/close",
        data={"csrf_token": csrf(page), "outcome": "referred", "notes": "已提醒打120，并转社区助餐点"},
        timeout=10,
    )
    assert "已处理完毕（已转介）" in done.text
    closed = person.updates()
    assert closed["state"] == "closed"
    assert closed["messages"][-1]["text"] == said("utter_live_closed")
    # the bot takes over again
    assert person.say("你好")["replies"]
    assert "live" not in person.say("谢谢")


@pytest.mark.browser
def test_the_queue_on_a_phone_refreshes_itself_and_alerts(stack, browser):  # noqa: F811
    from tests.browser.helpers import PHONE, console_login, screenshot

    create_console_user(stack, "he.advisor", "he-advisor-2024", "advisor")
    context, page = console_login(browser, stack, PHONE, "he.advisor", "he-advisor-2024")
    person = Person(stack)
    person.say("转人工")
    page.goto(stack.web_url + "/advisor/queue")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    rows = "table.queue tbody tr[data-handoff-id]"
    before = page.locator(rows).count()
    page.evaluate("window.notReloaded = true")
    # an emergency arrives while the page is open: the rows, the alert and the title follow
    # without a reload
    person = Person(stack)
    person.say("我爸摔倒了，头在流血")
    for _ in range(50):  # the rows refresh every 15 s
        if page.locator(rows).count() == before + 1:
            break
        page.wait_for_timeout(500)
    assert page.locator(rows).count() == before + 1
    assert page.evaluate("window.notReloaded === true")
    assert page.locator("[role=alert]").count() == 1 and page.title().startswith("【紧急】")
    assert page.locator(f"{rows}.kind-emergency").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "console-queue-phone", full_page=True)
    # the conversation page fits too
    # the first row nobody has claimed yet (the stack is shared by the whole session)
    first = (
        page.locator("table.queue tbody tr[data-handoff-id]").filter(has=page.locator("button.claim")).first
    )
    first.locator("button.claim").click()
    page.wait_for_selector("#transcript")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "console-conversation-phone", full_page=True)
    context.close()
