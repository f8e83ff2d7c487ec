"""Eligibility conversations through POST /api/chat with the real Rasa, action and web
servers (fixture `stack`): on behalf of a parent, in Chinese numerals, a caller known by
phone number, and re-asking after an answer that cannot be used."""

from __future__ import annotations

import re

import cn2an
import pytest
from sqlalchemy import create_engine, text

from bot.demo import loader as demo
from bot.clock import age_on, today

pytestmark = pytest.mark.e2e

SUMMARY_MARK = "根据您说的情况"
# Which answer to give to which question (matched on words of the question).
QUESTION_WORDS = {
    "age": "岁数",
    "street": "街道",
    "economic": "经济",
    "care": "身体怎么样",
    "dementia": "失智",
    "living": "一个人住",
    "special": "计划生育",
    "disability": "残疾证",
    "poverty": "建档立卡",
    "birth": "出生",
}


def persona(name: str) -> dict:
    return next(p for p in demo.PERSONAS if p["name"] == name)


def spoken_age(name: str) -> str:
    """The persona's age today in Chinese numerals, as an elder says it (八十八)."""
    return cn2an.an2cn(age_on(persona(name)["birth_date"], today()))


def converse(stack, sender, first: str, answers: dict[str, str], metadata=None, max_turns=10):
    """Says `first`, then answers each question by its topic until the summary comes.
    Returns (every reply text, the topics asked, the summary text)."""
    said = [stack.chat_text(sender, first, metadata)]
    asked: list[str] = []
    for _ in range(max_turns):
        last = said[-1]
        if SUMMARY_MARK in last or "要住在示范区" in last:
            return said, asked, last
        topic = next((t for t, word in QUESTION_WORDS.items() if word in last.splitlines()[-1]), None)
        assert topic is not None, f"unexpected reply: {last!r}"
        assert topic in answers, f"asked about {topic} which should not matter: {last!r}"
        asked.append(topic)
        said.append(stack.chat_text(sender, answers[topic], metadata))
    raise AssertionError(f"no summary after {max_turns} turns: {said}")


def test_on_behalf_of_a_father_with_low_income_and_severe_disability(stack, sender):
    """李建国's son asks for his father (低保, 瘫在床上)."""
    age = spoken_age("李建国")
    said, asked, summary = converse(
        stack,
        sender,
        f"我爸今年{age}了，他能享受什么补贴",
        {
            "street": "住夫子庙",
            "economic": "吃低保的",
            "care": "瘫在床上好几年了",
            "dementia": "没有",
            "living": "跟我们一起住",
            "special": "不是",
            "disability": "有",
            "poverty": "不是",
        },
    )
    assert "您父亲" in said[0]  # the questions speak about the father
    assert "age" not in asked  # the age was in the first sentence
    assert asked[:3] == ["street", "economic", "care"]
    assert "失能照护保险" in summary
    # the plan names no entry conditions for government-purchased services: 社区认定
    assert "政府购买居家养老服务" in summary and "社区认定" in summary
    # 76: not yet 80, so the free care hours are not among the benefits listed (one per
    # line on a screen; "年满80周岁后…" may follow as a hint)
    benefits = [line for line in summary.splitlines() if re.match(r"\d+\. ", line)]
    assert benefits and not any("免费照料" in line for line in benefits)
    assert "poverty" in asked  # 低保 + 失能: 建档立卡 decides the home modification
    assert "特惠" in summary
    assert "短信" in said[-1] or "短信" in "".join(said[-1:])


def test_chinese_numerals_for_a_centenarian(stack, sender):
    """王秀英 answers in Chinese numerals (一百零二岁); numbers are read back."""
    age_words = spoken_age("王秀英") + "岁"
    age_digits = str(age_on(persona("王秀英")["birth_date"], today()))
    said, asked, summary = converse(
        stack,
        sender,
        "我想问问我能享受什么",
        {
            "age": age_words,
            "street": "中华门街道",
            "economic": "普通家庭，有退休金",
            "care": "走不动了，要人扶着坐轮椅",
            "dementia": "没有，脑子清楚",
            "living": "跟儿子住",
            "special": "不是",
            "disability": "没有",
        },
    )
    assert asked[0] == "age"
    assert any(f"{age_digits}岁" in s for s in said[1:3]), said  # read back in digits
    assert "免费照料" in summary and "小时" in summary
    assert "特惠" in summary  # a centenarian is a 特惠 object
    assert "失能照护保险" not in summary.split("另外")[0]
    assert "重度失能" in summary  # the hint: an assessment of 重度失能 opens the insurance


def test_known_caller_on_the_phone_line_uses_stored_facts_and_sends_sms(stack, sender):
    """张桂兰 calls from her registered number (the bridge passes the carrier's caller ID);
    she accepts the stored facts."""
    meta = {"phone": "+8613800000001", "channel": "voice"}
    say = lambda msg: "\n".join(r.get("text") or "" for r in stack.bridge_turn(sender, msg, meta))  # noqa: E731
    offer = say("我能享受什么补贴")
    assert "张桂兰" in offer and "五老村" in offer
    assert spoken_age("张桂兰") not in offer  # digits in the text ...
    assert str(age_on(persona("张桂兰")["birth_date"], today())) + "岁" in offer  # ... read back
    summary = say("好的")
    assert SUMMARY_MARK in summary
    assert "每月3小时免费照料" in summary if today().year >= 2025 else "每月2小时" in summary
    if today().year >= 2026:
        assert "这是区里规划到2025年的目标" in summary  # the 十四五 plan has ended
    # lives alone at 88: 特定 under every reading; the visits are for the community to decide
    assert "特定对象" in summary and "特殊困难老人每月探访" in summary and "社区认定" in summary
    assert "岁数" not in summary and "街道" not in summary.split(SUMMARY_MARK)[0]
    done = say("发短信给我")
    assert "尾号0001" in done
    engine = create_engine(stack.database_url)
    with engine.connect() as c:
        body = c.execute(
            text("select body from sms_outbox where to_number = :n order by id desc limit 1"),
            {"n": "+8613800000001"},
        ).scalar_one()
    assert "免费照料" in body and "张桂兰" in body


def test_known_caller_can_decline_stored_facts(stack, sender):
    """陈志明's number is known, but he wants to answer himself."""
    meta = {"phone": "13800000004", "channel": "voice"}
    offer = "\n".join(r.get("text") or "" for r in stack.bridge_turn(sender, "帮我查查我符合什么条件", meta))
    assert "陈志明" in offer
    first_question = "\n".join(r.get("text") or "" for r in stack.bridge_turn(sender, "不用", meta))
    assert "岁数" in first_question


def test_a_web_visitor_claiming_a_number_is_not_offered_anyones_facts(stack, sender):
    offer = stack.chat_text(sender, "我能享受什么补贴", {"phone": "13800000001"})
    assert "张桂兰" not in offer and "五老村" not in offer and "岁数" in offer


def test_unusable_answer_is_asked_again_then_a_human_is_offered(stack, sender):
    stack.chat_text(sender, "我能享受什么")
    first_miss = stack.chat(sender, "蓝色的")
    texts = "\n".join(r["text"] for r in first_miss)
    assert "没听清楚" in texts and "八十五岁" in texts and "岁数" in texts
    second_miss = stack.chat(sender, "今天天气真好")
    texts = "\n".join(r["text"] for r in second_miss)
    assert "转人工" in texts
    assert any(b["title"] == "转人工" for r in second_miss for b in r["buttons"])
    # a usable answer after all: the conversation goes on with the next question
    going_on = stack.chat_text(sender, "八十五")
    assert "85岁" in going_on and "街道" in going_on


def test_human_during_the_form(stack, sender):
    stack.chat_text(sender, "我妈能享受什么")
    replies = stack.chat(sender, "转人工")
    assert any((r.get("custom") or {}).get("action") == "handoff" for r in replies), replies


def test_mother_said_in_the_first_sentence_and_sms_only_to_a_number_on_file(stack, sender):
    """A daughter without a registered number asks for her mother (我妈今年八十三，一个人住);
    the result goes by SMS only to a number on file, never to any number typed in."""
    said, asked, summary = converse(
        stack,
        sender,
        "我妈今年八十三，一个人住，能享受什么补贴",
        {
            "street": "月牙湖",
            "economic": "低保边缘",
            "care": "能自己走",
            "dementia": "没有",
            "special": "不是",
            "disability": "没有",
            "poverty": "不是",
        },
    )
    assert "您母亲83岁" in said[0] and "独居" in said[0]
    assert "age" not in asked and "living" not in asked
    assert "每月3小时免费照料" in summary or "每月2小时免费照料" in summary
    assert "特惠" in summary  # 低保边缘 is a 特惠 object
    ask_number = stack.chat_text(sender, "好的")
    assert "手机号码" in ask_number
    refused = stack.chat_text(sender, "一三九一二三四五六七八")
    assert "登记过" in refused and "尾号5678" not in refused
    engine = create_engine(stack.database_url)
    with engine.connect() as c:
        assert (
            c.execute(text("select count(*) from sms_outbox where to_number = '+8613912345678'")).scalar_one()
            == 0
        )
    assert "还有别的事" in refused  # the conversation goes on


def test_repeat_during_the_form_says_the_question_again(stack, sender):
    question = stack.chat_text(sender, "我能享受什么")
    assert "岁数" in question
    again = stack.chat_text(sender, "再说一遍")
    assert "岁数" in again
    assert "街道" in stack.chat_text(sender, "七十岁")


def test_an_approximate_age_at_80_asks_the_birth_month(stack, sender):
    """虚岁八十一 could be 79 or 80 周岁: the assistant asks the year and month of birth
    instead of guessing the 80+ programs either way."""
    first = stack.chat_text(sender, "我妈虚岁八十一，能享受什么补贴")
    assert "80岁左右" in first and "出生" in first.splitlines()[-1], first
    said, asked, summary = converse(
        stack,
        sender,
        "一九四五年五月",
        {
            "street": "双塘",
            "economic": "普通",
            "care": "能自己走",
            "dementia": "没有",
            "living": "跟女儿住",
            "special": "不是",
            "disability": "没有",
        },
    )
    assert "81周岁" in said[0]
    assert "免费照料" in summary
