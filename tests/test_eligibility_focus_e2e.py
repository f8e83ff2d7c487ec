"""Eligibility and out-of-scope conversations through POST /api/chat with the real stack
(fixture `stack`): the program asked about is answered first, a fact the caller does not
know ends in 请社区认定, and another office's matter gets that office with its number.
Phrasings written for this file."""

from __future__ import annotations

import pytest

from tests.test_eligibility_e2e import QUESTION_WORDS

pytestmark = pytest.mark.e2e

RESULT_MARKS = ("您问的", "根据您说的情况", "要住在示范区")


def converse(stack, sender, first: str, answers: dict[str, str], max_turns: int = 10):
    """Says `first`, then answers each question by its topic until the result comes.
    Returns (every reply text, the result text)."""
    said = [stack.chat_text(sender, first)]
    for _ in range(max_turns):
        last = said[-1]
        if any(mark in last for mark in RESULT_MARKS):
            return said, last
        topic = next((t for t, word in QUESTION_WORDS.items() if word in last.splitlines()[-1]), None)
        assert topic is not None and topic in answers, f"unexpected reply: {last!r}"
        said.append(stack.chat_text(sender, answers[topic]))
    raise AssertionError(f"no result after {max_turns} turns: {said}")


EVERYDAY = {
    "economic": "普普通通的家庭",
    "care": "自己能走",
    "dementia": "没有",
    "living": "跟老伴两个人",
    "special": "不是",
    "disability": "没有",
    "poverty": "不是",
}


def test_the_free_care_asked_about_comes_before_the_list(stack, sender):
    said, result = converse(
        stack, sender, "我外婆今年八十六，住红花，每月那几个小时的免费照料她享受得了吗", EVERYDAY
    )
    first = next(line for line in result.split("\n") if line.startswith("您问的"))
    assert first.startswith("您问的高龄免费照料，您") and "可以享受" in first, result
    assert "另外，您" in result and "还可以享受" in result
    # age and street decide it: nothing else is asked, and it is not listed a second time
    assert len(said) == 1
    assert "免费照料" not in result[result.index("另外") :]


def test_care_insurance_for_a_father_who_needs_a_hand_is_not_yet(stack, sender):
    said, result = converse(
        stack,
        sender,
        "打听一下长护险，我父亲七十八了，住双塘，要人扶着才走得动，他能不能用",
        EVERYDAY,
    )
    assert result.index("您问的失能照护保险，按您说的情况，您父亲现在还不能享受") < result.index("另外"), (
        result
    )
    assert "重度失能" in result and "评估" in result


def test_a_neighbour_asking_about_tekun_is_sent_to_the_community(stack, sender):
    """'能不能评上特困' is the question, not a fact: the money question is asked, and 不清楚
    leaves the answer to the community."""
    first = stack.chat_text(sender, "我是她邻居，楼下的老太太八十一了，住光华路，一个人，她能不能评上特困")
    assert "特困" not in first.split("我记下了")[-1].split("。")[0]  # not recorded as her status
    said, result = converse(
        stack,
        sender,
        "没听她说过，不清楚",
        {**EVERYDAY, "economic": "不清楚", "special": "不清楚", "disability": "不清楚"},
    )
    assert 0 <= result.find("您问的特困救助供养") < result.index("另外"), result
    assert "请社区" in result


def test_money_owed_by_a_relative_is_a_legal_aid_matter(stack, sender):
    reply = stack.chat_text(sender, "我外甥女借钱不还，这种事该去找谁")
    assert "12348" in reply, reply
    assert "岁数" not in reply  # no eligibility questions


def test_an_expired_id_card_goes_to_the_police_station(stack, sender):
    reply = stack.chat_text(sender, "我爸的身份证到期了，去哪换")
    assert "派出所" in reply, reply


def test_after_a_no_to_the_safety_question_the_matter_gets_its_referral(stack, sender):
    """A bill or a card can sound like trouble; once the caller says no, the matter asked
    about is answered (the office that handles it), not dropped."""
    reply = stack.chat_text(sender, "燃气公司打电话说我家欠了燃气费，叫我尽快交上，去哪里交")
    if "我想问您一句" in reply:
        reply = stack.chat_text(sender, "没有没有")
    assert "12345" in reply or "燃气公司" in reply, reply
    reply = stack.chat_text(sender, "老伴的医保卡插进去读不出来了，好像坏了，到哪修")
    if "我想问您一句" in reply:
        reply = stack.chat_text(sender, "不是，没人有危险")
    assert "12393" in reply, reply
