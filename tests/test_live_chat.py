"""The web chat's live handoff (bot/contact/live_chat.py, /api/chat, /api/chat/updates) and the
console's grouped queue and conversation page, on a real migrated SQLite database with the
Flask test client (Rasa is replaced by a recorder: what reaches it is what is checked)."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.core import ActionHandoff
from bot.contact import handoff
from bot.contact import live_chat
from bot.console_users import create_user
from bot.db import get_engine, session_scope
from bot.models import Handoff
from bot.models.console import AuditEntry
from bot.models.live_chat import ChatMessage
from server import rasa_client
from server.rasa_client import ChatResult, Reply
from tests.test_console_security import csrf_token, login

from tests.console_fixtures import PW, advisor_client  # noqa: F401  (the fixture `client`)

NOW = "2026-11-23T10:00:00+08:00"  # a Monday morning
LATER = "2026-11-23T10:03:01+08:00"  # 181 s later: nobody claimed it in time
WEB = "web-0a1b2c3d" + "e" * 24


@pytest.fixture(autouse=True)
def on_duty(monkeypatch, pin_clock):
    monkeypatch.setenv("ADVISOR_HOURS", "08:00-20:00")
    monkeypatch.delenv("WEB_HANDOFF_WAIT_SECONDS", raising=False)
    # one made-up address asks many times here; the flood limit has its own tests
    monkeypatch.setenv("WEB_HANDOFFS_PER_HOUR_PER_ADDRESS", "1000000")
    pin_clock(NOW)


@pytest.fixture
def rasa(monkeypatch):
    """Stands in for Rasa: records what it was sent, answers like the safety actions."""
    sent: list[str] = []

    def send(sender, message, metadata=None, timeout=None):
        sent.append(message)
        if "摔倒" in message:
            return ChatResult([Reply("请马上打120！", custom={"action": "emergency"})])
        return ChatResult([Reply(f"机器人：{message}")])

    monkeypatch.setattr(rasa_client, "send_message", send)
    return sent


def web_handoff(kind: str = "request_human", sender: str = WEB) -> int:
    return handoff.create_handoff(kind, sender_id=sender, channel="web", summary="转人工")


def second_client(username: str = "zhaomin"):
    from server import create_app

    with session_scope() as s:
        create_user(s, username, PW)
    c = create_app({"TESTING": True}).test_client()
    assert login(c, username, PW).status_code == 302
    return c


def claim_as(client, handoff_id: int):
    token = csrf_token(client.get("/advisor/queue").get_data(as_text=True))
    return client.post(f"/advisor/queue/{handoff_id}/claim", data={"csrf_token": token})


# -- the thread ------------------------------------------------------------------------------


def test_a_web_request_opens_one_thread_per_conversation(db_url):
    first = web_handoff("fallback")
    second = web_handoff("request_human")
    call = handoff.create_handoff("request_human", sender_id="call-1", channel="voice")
    task = handoff.create_handoff("callback", sender_id=WEB + "x", channel="web")
    with session_scope() as s:
        steps = {h.id: h.live_step for h in s.execute(select(Handoff)).scalars()}
    assert steps == {first: "waiting", second: None, call: None, task: None}
    assert live_chat.thread_id(WEB) == first
    assert live_chat.updates(WEB) == {"state": "waiting", "messages": []}
    assert live_chat.updates("web-nobody") == {"state": "none", "messages": []}


def test_waiting_messages_go_to_the_bot_and_into_the_thread(db_url):
    thread = web_handoff()
    assert live_chat.before_turn(WEB, "我想问问助餐") == live_chat.Turn(to_bot=True)
    with session_scope() as s:
        kept = [(m.handoff_id, m.author, m.text, m.via_bot) for m in live_chat.thread_messages(s, WEB)]
    assert kept == [(thread, "person", "我想问问助餐", True)]
    assert live_chat.updates(WEB)["messages"] == []  # the bot's answer was the reply


def test_claimed_the_person_talks_to_the_advisor_danger_still_reaches_the_bot(db_url):
    thread = web_handoff()
    with session_scope() as s:
        claimed = live_chat.claim(s, thread, "wangli")
    assert claimed[1]
    joined = live_chat.updates(WEB)
    assert joined["state"] == "live" and [m["author"] for m in joined["messages"]] == ["system"]
    assert joined["messages"][0]["text"] == live_chat.response("utter_live_advisor_joined")["text"]
    assert live_chat.before_turn(WEB, "我妈妈腿脚不方便") == live_chat.Turn(to_bot=False, live=True)
    assert live_chat.before_turn(WEB, "我妈摔倒了起不来") == live_chat.Turn(to_bot=True, live=True)
    with session_scope() as s:
        reply = live_chat.reply(s, thread, "wangli", "您好，我是顾问小王。")
        with pytest.raises(live_chat.LiveChatError):
            live_chat.reply(s, thread, "zhaomin", "我不是认领的人")
        with pytest.raises(live_chat.LiveChatError):
            live_chat.reply(s, thread, "wangli", "   ")
    after = joined["messages"][0]["id"]
    update = live_chat.updates(WEB, after)
    assert update["messages"] == [
        {
            "id": reply.id,
            "author": "advisor",
            "name": "顾问",
            "text": "您好，我是顾问小王。",
            "at": update["messages"][0]["at"],
        }
    ]
    assert update["messages"][0]["at"].startswith("2026-11-23T02:00:00")  # UTC, pinned


def test_a_second_advisor_cannot_take_a_held_conversation(db_url):
    first = web_handoff()
    with session_scope() as s:
        assert live_chat.claim(s, first, "wangli")[1]
    later = web_handoff("complaint")  # the same person complains while she holds it
    with session_scope() as s:
        assert live_chat.claim(s, later, "zhaomin")[1] is False
        assert live_chat.claim(s, later, "wangli")[1] is True
        assert s.get(Handoff, later).claimed_by == "wangli"


def test_close_needs_an_outcome_and_notes_and_hands_back_to_the_bot(db_url):
    thread = web_handoff()
    other = web_handoff("complaint")
    with session_scope() as s:
        live_chat.claim(s, thread, "wangli")
    with session_scope() as s:
        for outcome, notes in (("", "说明"), ("resolved", "  "), ("made_up", "说明")):
            with pytest.raises(live_chat.LiveChatError):
                live_chat.close(s, thread, "wangli", outcome, notes)
        with pytest.raises(live_chat.LiveChatError):
            live_chat.close(s, thread, "zhaomin", "resolved", "不是我的")
    with session_scope() as s:
        closed = live_chat.close(s, thread, "wangli", "resolved", "已告知助餐点地址，电话13800000001")
        assert {h.id for h in closed} == {thread, other}
    with session_scope() as s:
        h = s.get(Handoff, thread)
        assert (h.status, h.outcome, h.closed_by, h.live_step) == ("closed", "resolved", "wangli", "closed")
        assert h.closed_at is not None and "13800000001" not in h.notes
    update = live_chat.updates(WEB)
    assert update["state"] == "closed"
    assert update["messages"][-1]["text"] == "顾问已结束这次对话。还有问题可以随时问我。"
    assert live_chat.before_turn(WEB, "谢谢") == live_chat.Turn(to_bot=True)


# -- nobody takes it: the callback step --------------------------------------------------------


def test_nobody_claims_in_time_a_callback_is_taken_step_by_step(db_url, pin_clock, caplog):
    thread = web_handoff()
    assert live_chat.updates(WEB)["state"] == "waiting"
    pin_clock(LATER)
    busy = live_chat.updates(WEB)
    assert busy["state"] == "callback"
    assert [m["text"] for m in busy["messages"]] == [
        "顾问暂时都在忙。请告诉我一个能打通的电话号码，顾问会给您回电话。"
    ]
    assert live_chat.updates(WEB)["messages"] == busy["messages"]  # asked once
    caplog.set_level(logging.INFO)
    asked = live_chat.before_turn(WEB, "我的电话是一三八零零零零零零零一")
    assert asked.to_bot is False and asked.replies[0]["text"] == "您的号码是 138 0000 0001，对吗？"
    assert [b["title"] for b in asked.replies[0]["buttons"]] == ["对", "不对"]
    wrong = live_chat.before_turn(WEB, "不对")
    assert wrong.replies[0]["text"] == live_chat.response("utter_live_number_unclear")["text"]
    assert "139 1234 0002" in live_chat.before_turn(WEB, "139-1234-0002").replies[0]["text"]
    when = live_chat.before_turn(WEB, "对")
    assert [b["title"] for b in when.replies[0]["buttons"]] == [
        "今天",
        "明天上午",
        "明天下午",
        "什么时候都行",
    ]
    done = live_chat.before_turn(WEB, "明天上午")
    assert "139 1234 0002" in done.replies[0]["text"] and "明天上午" in done.replies[0]["text"]
    with session_scope() as s:
        h = s.get(Handoff, thread)
        assert (h.kind, h.priority, h.phone, h.live_step) == ("callback", 3, "13912340002", "callback")
        assert "明天上午" in h.summary
    assert live_chat.updates(WEB)["state"] == "callback"
    assert live_chat.before_turn(WEB, "还有个问题") == live_chat.Turn(to_bot=True)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "139****0002" in logged and "13912340002" not in logged


def test_outside_advisor_hours_the_callback_is_asked_at_once(db_url, monkeypatch):
    monkeypatch.setenv("ADVISOR_HOURS", "13:00-17:00")
    web_handoff()
    assert live_chat.updates(WEB)["state"] == "callback"


def test_danger_and_leaving_during_the_callback_step(db_url, pin_clock):
    thread = web_handoff()
    pin_clock(LATER)
    live_chat.updates(WEB)
    assert live_chat.before_turn(WEB, "我不想活了").to_bot is True
    assert "号码" in live_chat.before_turn(WEB, "我也说不清").replies[0]["text"]
    left = live_chat.before_turn(WEB, "先不办了")
    assert left.replies[0]["text"] == live_chat.response("utter_live_left")["text"]
    with session_scope() as s:
        h = s.get(Handoff, thread)
        assert (h.status, h.live_step) == ("closed", "left")
    assert live_chat.updates(WEB)["state"] == "closed"


def test_a_crisis_keeps_its_place_when_it_becomes_a_callback(db_url, pin_clock):
    crisis = handoff.record_safety_event("crisis", sender_id=WEB, channel="web", phone=None, text="不想活了")
    pin_clock(LATER)
    live_chat.updates(WEB)
    for said in ("13800000001", "对", "什么时候都行"):
        live_chat.before_turn(WEB, said)
    with session_scope() as s:
        h = s.get(Handoff, crisis)
        assert (h.kind, h.priority, h.phone) == ("crisis", 0, "13800000001")


# -- the HTTP API --------------------------------------------------------------------------------


def _api():
    from server import create_app

    return create_app({"TESTING": True}).test_client()


def test_api_live_turns_and_updates(db_url, rasa):
    from server.chat_ids import conversation_of

    api = _api()
    first = api.post("/api/chat", json={"message": "你好"}).get_json()
    token = first["sender"]
    thread = web_handoff(sender=conversation_of(token))
    assert api.get(f"/api/chat/updates?sender={token}&after=0").get_json() == {
        "state": "waiting",
        "messages": [],
    }
    assert "live" not in api.post("/api/chat", json={"sender": token, "message": "还在吗"}).get_json()
    with session_scope() as s:
        live_chat.claim(s, thread, "wangli")
    rasa.clear()
    held = api.post("/api/chat", json={"sender": token, "message": "我想问问助浴"}).get_json()
    assert held == {"sender": token, "replies": [], "live": True} and rasa == []
    danger = api.post("/api/chat", json={"sender": token, "message": "我爸摔倒了起不来"}).get_json()
    assert rasa == ["我爸摔倒了起不来"] and danger["live"] is True
    assert danger["replies"][0]["text"] == "请马上打120！"
    bad = api.get("/api/chat/updates?sender=forged&after=0")
    assert bad.status_code == 400 and "对话" in bad.get_json()["error"]
    assert api.get(f"/api/chat/updates?sender={token}&after=x").status_code == 400


def test_api_callback_replies_carry_signed_buttons(db_url, rasa, pin_clock):
    api = _api()
    token = api.post("/api/chat", json={"message": "你好"}).get_json()["sender"]
    from server.chat_ids import conversation_of

    web_handoff(sender=conversation_of(token))
    pin_clock(LATER)
    rasa.clear()
    body = api.post("/api/chat", json={"sender": token, "message": "138 0000 0001"}).get_json()
    assert rasa == [] and body["replies"][0]["text"] == "您的号码是 138 0000 0001，对吗？"
    yes = next(b["payload"] for b in body["replies"][0]["buttons"] if b["title"] == "对")
    asked = api.post("/api/chat", json={"sender": token, "message": yes}).get_json()
    assert asked["replies"][0]["text"] == "什么时候给您回电话方便？"


def test_api_updates_are_rate_limited_apart_from_the_chat(db_url, monkeypatch):
    from server.api import chat as api_module

    monkeypatch.setattr(api_module, "_updates_limiter", None)
    monkeypatch.setenv("CHAT_UPDATES_PER_MINUTE", "3")
    monkeypatch.setenv("RATE_LIMITS", "on")
    api = _api()
    from server.chat_ids import new_sender

    token, _conversation = new_sender("10.0.0.9")
    codes = [api.get(f"/api/chat/updates?sender={token}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    monkeypatch.setattr(api_module, "_updates_limiter", None)


# -- the handoff action ----------------------------------------------------------------------------


def _handoff_action(channel: str, sender: str) -> list[dict]:
    latest = {"text": "转人工", "intent": {"name": "request_human"}, "metadata": {"channel": channel}}
    tracker = Tracker(
        sender, {}, latest, [{"event": "user", "text": "转人工"}], False, None, {}, "action_listen"
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHandoff().run(dispatcher, tracker, {"responses": {}}))
    return dispatcher.messages


def test_the_handoff_action_says_what_happens_next(db_url, monkeypatch):
    live = _handoff_action("web", WEB)[0]
    assert live["response"] == "utter_handoff_live"
    assert live["custom"] == {"action": "handoff", "handoff_id": live_chat.thread_id(WEB), "live": True}
    monkeypatch.setenv("ADVISOR_HOURS", "13:00-17:00")
    night = _handoff_action("web", WEB + "n")[0]
    assert night["response"] == "utter_handoff_ask_callback" and night["custom"]["callback"]
    asked = live_chat.before_turn(WEB + "n", "13800000001")
    assert asked.replies[0]["text"] == "您的号码是 138 0000 0001，对吗？"
    for line in ("voice", "sms"):
        phone = _handoff_action(line, f"call-{line}")[0]
        assert phone["response"] == "utter_handoff" and phone["custom"]["transfer_promise"] is True


# -- the console -------------------------------------------------------------------------------------


def _tracker_events(db_url: str, sender: str, rows: list[tuple[str, float, str]]) -> None:
    engine = get_engine(db_url)
    with engine.begin() as c:
        c.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, "
                "sender_id TEXT, type_name TEXT, timestamp REAL, intent_name TEXT, "
                "action_name TEXT, data TEXT)"
            )
        )
        for type_name, at, text in rows:
            c.execute(
                sa.text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :at, :d)"
                ),
                {
                    "s": sender,
                    "t": type_name,
                    "at": at,
                    "d": json.dumps({"text": text, "metadata": {"channel": "web"}}),
                },
            )


def close_page(client, thread: int, token: str, outcome: str, notes: str) -> str:
    """The page after the advisor closes the conversation with that outcome and notes."""
    return client.post(
        f"/advisor/queue/{thread}/close",
        data={"csrf_token": token, "outcome": outcome, "notes": notes},
        follow_redirects=True,
    ).get_data(as_text=True)


def test_queue_grouped_filtered_with_an_alert(client, db_url):
    web_handoff("fallback")
    web_handoff("request_human")
    with session_scope() as s:
        s.add(
            Handoff(
                kind="emergency",
                priority=0,
                sender_id="call-9",
                channel="voice",
                phone="13800000003",
                summary="我摔倒了",
            )
        )
    page = client.get("/advisor/queue").get_data(as_text=True)
    assert page.count("data-handoff-id=") == 2  # two conversations, three handoffs
    assert "<title>【紧急】转人工队列" in page and 'role="alert"' in page
    assert "等了 0 分钟" in page and "同一对话另有：机器人没听懂" in page
    assert 'data-refresh-url="/advisor/queue/rows"' in page and "advisor/live.js" in page
    emergencies = client.get("/advisor/queue?show=emergency").get_data(as_text=True)
    assert emergencies.count("data-handoff-id=") == 1 and "紧急求助" in emergencies
    assert "目前没有等待处理的记录" in client.get("/advisor/queue?show=scam").get_data(as_text=True)
    rows = client.get("/advisor/queue/rows?show=callback").get_data(as_text=True)
    assert "<html" not in rows and 'role="alert"' in rows and 'data-urgent="1"' in rows
    home = client.get("/advisor/").get_data(as_text=True)
    assert "<title>【紧急】首页" in home and home.count("data-handoff-id=") == 2


def test_waiting_time_in_minutes(client, db_url, pin_clock):
    web_handoff()
    pin_clock("2026-11-23T10:07:30+08:00")
    assert "等了 7 分钟" in client.get("/advisor/queue").get_data(as_text=True)


def test_claim_opens_the_conversation_reply_and_close(client, db_url, rasa):
    thread = web_handoff()
    live_chat.before_turn(WEB, "我妈妈想要助餐服务")  # waiting: also answered by the bot
    _tracker_events(
        db_url,
        WEB,
        [
            ("user", 1700000000.0, "转人工"),
            ("bot", 1700000001.0, "好的，正在为您联系人工顾问。"),
            ("user", 1700000002.0, "我妈妈想要助餐服务"),
        ],
    )
    claimed = claim_as(client, thread)
    assert claimed.status_code == 302
    assert claimed.headers["Location"].endswith(f"/advisor/conversations/{thread}")
    page = client.get(f"/advisor/conversations/{thread}").get_data(as_text=True)
    assert page.count("我妈妈想要助餐服务") == 1  # from the tracker, not twice
    assert page.index("转人工") < page.index("顾问已经接上了")
    assert 'id="reply-text"' in page and 'name="outcome"' in page
    token = csrf_token(page)
    assert (
        client.post(f"/advisor/conversations/{thread}/reply", data={"text": "您好，我是顾问。"}).status_code
        == 400
    )  # no CSRF token
    r = client.post(
        f"/advisor/conversations/{thread}/reply", data={"csrf_token": token, "text": "您好，我是顾问。"}
    )
    assert r.status_code == 302
    assert live_chat.updates(WEB)["messages"][-1]["text"] == "您好，我是顾问。"
    live_chat.before_turn(WEB, "好的谢谢，我妈住文昌巷")
    transcript = client.get(f"/advisor/conversations/{thread}/transcript").get_data(as_text=True)
    assert "好的谢谢，我妈住文昌巷" in transcript and "顾问（wangli）" in transcript
    refused = close_page(client, thread, token, outcome="", notes="说了")
    assert "请选择处理结果" in refused
    with session_scope() as s:
        assert s.get(Handoff, thread).status == "claimed"
    done = close_page(client, thread, token, outcome="referred", notes="已转社区助餐点")
    assert "已处理完毕（已转介）" in done
    with session_scope() as s:
        h = s.get(Handoff, thread)
        assert (h.status, h.outcome, h.notes, h.closed_by) == (
            "closed",
            "referred",
            "已转社区助餐点",
            "wangli",
        )
        actions = (
            s.execute(
                select(AuditEntry.action).where(AuditEntry.actor.like("wangli%")).order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
    assert {"claim_handoff", "view_conversation", "live_reply", "close_handoff"} <= set(actions)
    assert live_chat.updates(WEB)["state"] == "closed"


def test_only_the_advisor_who_claimed_replies_or_closes(client, db_url):
    thread = web_handoff()
    claim_as(client, thread)
    other = second_client()
    page = other.get(f"/advisor/conversations/{thread}").get_data(as_text=True)
    assert 'id="reply-text"' not in page and 'name="outcome"' not in page
    token = csrf_token(other.get("/advisor/queue").get_data(as_text=True))
    other.post(f"/advisor/conversations/{thread}/reply", data={"csrf_token": token, "text": "插话"})
    other.post(
        f"/advisor/queue/{thread}/close",
        data={"csrf_token": token, "outcome": "resolved", "notes": "不是我的"},
    )
    with session_scope() as s:
        assert s.execute(select(ChatMessage).where(ChatMessage.author == "advisor")).first() is None
        assert s.get(Handoff, thread).status == "claimed"
    row = re.search(
        rf'data-handoff-id="{thread}".*?</tr>', other.get("/advisor/queue").get_data(as_text=True), re.S
    ).group(0)
    assert "wangli" in row and "button" not in row.split("操作")[-1]


def test_the_migration_goes_up_and_down(tmp_path):
    from alembic import command

    from bot.manage import alembic_config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0015_live_handoff")
    inspector = sa.inspect(sa.create_engine(url))
    assert "chat_messages" in inspector.get_table_names()
    assert {"outcome", "notes", "closed_at", "closed_by", "live_step", "callback_phone"} <= {
        c["name"] for c in inspector.get_columns("handoffs")
    }
    command.downgrade(cfg, "0014_call_voice")
    inspector = sa.inspect(sa.create_engine(url))
    assert "chat_messages" not in inspector.get_table_names()
    assert "outcome" not in {c["name"] for c in inspector.get_columns("handoffs")}


def test_a_fallback_alone_is_not_asked_for_a_callback(db_url, pin_clock):
    web_handoff("fallback")  # the bot offered a person; they may have said no
    pin_clock(LATER)
    assert live_chat.updates(WEB) == {"state": "waiting", "messages": []}
    web_handoff("request_human")  # ... then they asked
    assert live_chat.updates(WEB)["state"] == "callback"


def test_a_handoff_left_over_from_an_ended_thread_opens_its_own(db_url):
    thread = web_handoff()
    with session_scope() as s:
        live_chat.claim(s, thread, "wangli")
    emergency = handoff.record_safety_event(
        "emergency", sender_id=WEB, channel="web", phone=None, text="我妈摔倒了"
    )
    with session_scope() as s:
        live_chat.close(s, thread, "wangli", "resolved", "已处理")
    with session_scope() as s:
        assert s.get(Handoff, emergency).status == "open"  # never closed unseen
        assert live_chat.claim(s, emergency, "zhaomin")[1]
    assert live_chat.updates(WEB)["state"] == "live"
    with session_scope() as s:
        assert live_chat.reply(s, emergency, "zhaomin", "您好，我来跟进。").handoff_id == emergency
