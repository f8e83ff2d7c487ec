"""Issue 20, "answer, then offer to act", through POST /api/chat with the real Rasa, action
and web servers (fixture `stack`): a policy answer ends with what to do next, a price
question is answered and offers the booking (which then starts with the service known),
every closed-choice button of the eligibility check is understood, and 先不办了 leaves a
form. The phone line keeps its spoken questions, without buttons."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from actions.eligibility import answer_buttons
from bot.text.facts import DISTRICT_STREETS
from tests.stack import latest_code

pytestmark = pytest.mark.e2e

STOP = "先不办了"
ZHANG = "13800000001"  # 张桂兰, a demo elder with a registered mobile
SUMMARY_MARKS = ("根据您说的情况", "要住在示范区")


def titles(replies: list[dict]) -> list[str]:
    return [b["title"] for r in replies for b in r.get("buttons") or []]


def joined(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def bookings(stack) -> int:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as c:
            return c.execute(text("select count(*) from bookings")).scalar_one()
    finally:
        engine.dispose()


def test_a_policy_answer_ends_with_the_next_steps(stack, sender):
    replies = stack.chat(sender, "老年人助餐点是什么")
    assert "助餐" in joined(replies) and "依据：《" in joined(replies)
    assert titles(replies) == ["帮我预约", "我能享受吗", "转人工"]
    check = stack.press(sender, replies, "我能享受吗")
    assert "能享受哪些" in joined(check) and "岁数" in joined(check)


def test_a_price_question_is_answered_then_the_booking_starts_with_the_service(stack, sender):
    replies = stack.chat(sender, "上门洗澡要自己出钱吗")
    said = joined(replies)
    assert "收费" in said and "依据：《" in said
    assert "名字" not in said and "哪一种服务" not in said  # no booking question
    assert titles(replies) == ["帮我预约", "转人工"]
    who = stack.press(sender, replies, "帮我预约")
    assert "哪位老人" in joined(who) and STOP in titles(who)
    assert "哪一种服务" not in joined(who)  # 助浴 came with the button
    code = stack.chat_text(sender, f"老人的手机号是{ZHANG}")
    assert "验证码" in code
    when = stack.chat(sender, latest_code(stack.database_url, ZHANG))
    assert "哪一天" in joined(when)
    offered = [t for t in titles(when) if t != STOP]
    assert offered and titles(when)[-1] == STOP
    read_back = stack.press(sender, when, offered[0])
    assert "上门地址是" in joined(read_back), joined(read_back)
    assert titles(read_back)[-1] == STOP
    before = bookings(stack)
    left = stack.press(sender, read_back, STOP)
    assert "先不约了" in joined(left)
    assert bookings(stack) == before  # nothing written


@pytest.mark.parametrize(
    "question,service", [("助浴多少钱", "助浴"), ("上门理发收费吗", "上门理发"), ("助餐免费吗", "助餐")]
)
def test_price_questions_offer_the_booking_of_the_service_asked_about(stack, sender, question, service):
    """However the classifier reads them (a policy question or a booking), price questions
    get a cited answer and 帮我预约 for that service, never a booking question."""
    replies = stack.chat(sender, question)
    said = joined(replies)
    assert "依据：《" in said and "名字" not in said and "哪位老人" not in said, said
    book = next(b for r in replies for b in r.get("buttons") or [] if b["title"] == "帮我预约")
    who = stack.chat(sender, book["payload"])
    assert "哪位老人" in joined(who) and "哪一种服务" not in joined(who), joined(who)


def _one_check(stack, sender: str, pick: int) -> list[tuple[tuple[str, ...], str]]:
    """An eligibility check answered only by buttons, pressing the `pick`-th answer of each
    question (wrapping). Returns (the answers offered, the one pressed) per question."""
    # ages on both sides of 80 ask different questions (the 80+ programs need fewer)
    age = ("七十六", "八十五", "六十八")[pick % 3]
    replies = stack.chat(sender, f"我今年{age}了，帮我查查能享受什么")
    pressed: list[tuple[tuple[str, ...], str]] = []
    for _ in range(16):
        said = joined(replies)
        if any(mark in said for mark in SUMMARY_MARKS):
            return pressed
        offered = tuple(t for t in titles(replies) if t != STOP)
        assert offered and titles(replies)[-1] == STOP, said
        title = offered[pick % len(offered)]
        pressed.append((offered, title))
        replies = stack.press(sender, replies, title)
        assert "没听清" not in joined(replies) and "没听明白" not in joined(replies), (title, joined(replies))
    raise AssertionError(f"no result after {len(pressed)} questions: {pressed}")


def test_every_closed_choice_button_is_understood_by_the_eligibility_check(stack):
    pressed: dict[tuple[str, ...], set[str]] = {}
    for pick in range(len(DISTRICT_STREETS)):
        for offered, title in _one_check(stack, f"buttons-{pick}", pick):
            pressed.setdefault(offered, set()).add(title)
    # the questions a web check reaches (the rules ask living situation, family and the
    # like only in rarer cases: tests/test_eligibility_actions.py reads all their buttons)
    expected = {
        answer_buttons(slot)
        for slot in ("elig_street", "elig_economic_status", "elig_care_level", "elig_dementia")
    }
    assert expected <= set(pressed), sorted(pressed)
    for offered, chosen in pressed.items():
        assert chosen == set(offered), (offered, chosen)  # every answer pressed at least once


def test_stop_leaves_the_eligibility_check(stack, sender):
    question = stack.chat(sender, "我能享受什么")
    assert "岁数" in joined(question) and titles(question) == [STOP]
    left = stack.press(sender, question, STOP)
    assert "先不办了" in joined(left) and "岁数" not in joined(left)
    after = stack.chat_text(sender, "八十五")  # no longer an answer to the form
    assert "85岁" not in after


def test_the_phone_keeps_its_spoken_questions_without_buttons(stack, sender):
    meta = {"channel": "voice"}
    answer = stack.bridge_turn(sender, "上门洗澡要自己出钱吗", meta)
    assert "收费" in joined(answer) and not titles(answer)
    question = stack.bridge_turn(sender + "-check", "我能享受什么", meta)
    assert "岁数" in joined(question) and not titles(question)


def test_the_result_is_a_plain_list_and_why_comes_on_demand(stack, sender):
    replies = stack.chat(sender, "我今年八十五了，帮我查查能享受什么")
    for _ in range(16):
        if any(mark in joined(replies) for mark in SUMMARY_MARKS):
            break
        offered = [t for t in titles(replies) if t != STOP]
        replies = stack.press(sender, replies, offered[0])
    result = next(r for r in replies if "根据您说的情况" in (r.get("text") or ""))
    lines = result["text"].split("\n")
    assert lines[0].startswith("根据您说的情况，您可以享受这") and lines[1].startswith("1. ")
    assert titles([result])[:3] == ["为什么能享受第1项", "为什么能享受第2项", "为什么能享受第3项"]
    first = lines[1].removeprefix("1. ")
    why = joined(stack.press(sender, [result], "为什么能享受第1项"))
    assert why.startswith(first) and "因为" in why and "85周岁" in why and "依据是《" in why
    # the offer still stands after the explanation
    sms = joined(stack.chat(sender, "发短信给我"))
    assert "手机号" in sms or "尾号" in sms, sms


def test_a_side_question_inside_the_check_is_answered_and_the_check_goes_on(stack, sender):
    first = joined(stack.chat(sender, "我今年八十五了，帮我查查能享受什么"))
    assert "哪个街道" in first, first
    side = stack.chat(sender, "老年人助餐点是什么")
    said = joined(side)
    assert "助餐" in said and "我们接着刚才的问题" in said and "哪个街道" in said, said
    assert "没听清" not in said
    goes_on = joined(stack.press(sender, side, DISTRICT_STREETS[0]))
    assert "岁数" not in goes_on and "多大" not in goes_on  # the age is still known
