"""The whole stack answers through POST /api/chat: greeting, goodbye, 转人工, out of scope."""

import pytest
import requests


pytestmark = pytest.mark.e2e


def test_healthz_reports_every_dependency(stack):
    r = requests.get(stack.web_url + "/healthz", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"rasa": "ok", "actions": "ok", "database": "ok"}


def test_greeting_in_chinese(stack, sender):
    replies = stack.chat(sender, "你好")
    assert "12349" in replies[0]["text"] and "您好" in replies[0]["text"]
    assert {b["title"] for b in replies[0]["buttons"]} >= {"转人工"}
    # intent payloads come signed for this conversation; pressing one works
    assert all(b["payload"].startswith("btn:") for b in replies[0]["buttons"])
    human = stack.press(sender, replies, "转人工")
    assert human[0]["custom"]["action"] == "handoff"


def test_goodbye(stack, sender):
    assert "再见" in stack.chat_text(sender, "好的再见")


def test_request_human_queues_a_handoff(stack, sender):
    replies = stack.chat(sender, "转人工", metadata={"phone": "13800000001"})
    assert "人工" in replies[0]["text"]
    assert replies[0]["custom"]["action"] == "handoff"
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.database_url)
    with engine.connect() as c:
        row = c.execute(
            text("select kind, elder_id from handoffs where sender_id=:s"), {"s": stack.conversation(sender)}
        ).one()
    # a number the client claims is not an identity: the queue row names no elder
    assert row.kind == "request_human" and row.elder_id is None


def test_out_of_scope_offers_what_we_can_do(stack, sender):
    # no office handles it (tickets have one since issue 15: 12306, below)
    text = stack.chat_text(sender, "给我讲个笑话")
    assert "帮不上" in text and "转人工" in text


@pytest.mark.parametrize(
    "message, office",
    [
        ("我的退休金到现在还没发下来，找谁问", "12333"),
        ("俺娘的医保卡丢了咋补办", "12393"),
        ("帮我买张火车票", "12306"),
    ],
)
def test_another_offices_business_gets_its_number(stack, sender, message, office):
    text = stack.chat_text(sender, message)
    assert office in text and "12349" not in text


def test_hospital_registration_is_offered_our_escort_service(stack, sender):
    replies = stack.chat(sender, "能不能帮我在医院挂个号")
    assert "陪诊" in replies[0]["text"]
    assert [b["title"] for b in replies[0].get("buttons") or []] == ["约陪诊"]
    follow = "\n".join(r["text"] for r in stack.chat(sender, replies[0]["buttons"][0]["payload"]))
    assert "没听明白" not in follow and "什么服务" not in follow, follow


def test_bad_json_gets_a_polite_400(stack):
    r = requests.post(
        stack.web_url + "/api/chat", data="not json", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert r.status_code == 400 and "JSON" in r.json()["error"]
