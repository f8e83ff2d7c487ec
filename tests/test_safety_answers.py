"""The answer to the safety question ("现在是不是有人有危险？"): a yes runs that kind's answer;
an answer that names something else ("就是漏水") is not a yes, whatever the classifier says."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionSafetyConfirmed
from bot.text.facts import names_a_topic, names_something_else


def tracker(asked_about: str, answer: str, suspected: str) -> Tracker:
    latest = {"text": answer, "intent": {"name": "affirm", "confidence": 0.87}, "entities": []}
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": asked_about, "parse_data": {}},
        {"event": "action", "name": "action_safety_check"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": answer, "parse_data": latest},
    ]
    return Tracker(
        "unit-safety", {"safety_suspected": suspected}, latest, events, False, None, {}, "action_listen"
    )


def said(t: Tracker) -> str:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSafetyConfirmed().run(dispatcher, t, {}))
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


@pytest.mark.parametrize(
    "answer, other",
    [
        ("就是漏水", True),
        ("只是想问问", True),
        ("就是隔壁装修太吵了", True),
        ("就是", False),
        ("就是就是！", False),
        ("是的", False),
        ("对，就是", False),
        ("嗯嗯", False),
    ],
)
def test_an_answer_that_says_what_it_is_is_not_a_yes(answer, other):
    assert names_something_else(answer) is other


def test_just_a_leak_is_no_emergency(db_url):
    reply = said(tracker("楼上一直在漏水，物业也不管", "就是漏水", "emergency"))
    # no emergency: the leak itself is answered (policies/national/referrals.yml: 12345)
    assert "120" not in reply.replace("12345", "") and "12345" in reply


def test_a_plain_yes_still_gets_120(db_url):
    assert "120" in said(tracker("我妈刚才突然站不住了", "是的", "emergency"))


def test_a_crisis_keeps_its_yes(db_url):
    # "就是心里难受" to "您是不是很难受…？" is a yes: the crisis answer stays with the person
    assert "12356" in said(tracker("唉，我真是绝望了", "就是心里难受", "crisis"))


@pytest.mark.parametrize(
    "answer, topic",
    [
        ("是房子的事", True),
        ("是关于遗产的问题", True),
        ("我就是想问问", True),
        ("就是心里难受", False),
        ("是的", False),
        ("是啊，难受", False),
    ],
)
def test_an_answer_that_names_a_topic(answer, topic):
    assert names_a_topic(answer) is topic


def test_a_topic_is_no_yes_to_the_crisis_question(db_url):
    reply = said(tracker("老头子走了，家里的事找谁问问", "是房子的事", "crisis"))
    assert "12356" not in reply and "想办什么事" in reply
