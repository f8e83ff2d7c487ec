"""Hedged negation in eligibility answers (issue 15): "应该不算低保吧", "好像不是吧" are stored
as *not* (or unknown), never as the positive; "不清楚" stays unknown."""

from __future__ import annotations

import pytest

from actions.eligibility import unhedged
from bot.text.facts import DONT_KNOW
from tests.test_eligibility_actions import pinned_today, tracker, validate  # noqa: F401


@pytest.mark.parametrize(
    "text, plain",
    [
        ("应该不算低保吧", "不是低保"),
        ("好像不是低保吧", "不是低保"),
        ("算不上特困", "不是低保"),
        ("应该不算", "不是"),
        ("不是特困，是低保边缘", "不是低保，是低保边缘"),
        ("应该是低保吧", "应该是低保吧"),  # no negation: left alone
        ("不清楚", "不清楚"),
    ],
)
def test_unhedged(text, plain):
    assert unhedged(text) == plain


@pytest.mark.parametrize("text", ["应该不算低保吧", "好像不是低保吧", "算不上特困户"])
def test_a_hedged_no_is_never_stored_as_the_status(text):
    slots, said, _ = validate(tracker(text=text, requested="elig_economic_status"))
    assert slots["elig_economic_status"] == "普通"
    assert not any((s or "").startswith("好的，低保") for s in said)


def test_the_same_status_said_plainly_is_still_read():
    slots, _, _ = validate(tracker(text="是低保户", requested="elig_economic_status"))
    assert slots["elig_economic_status"] == "低保"


@pytest.mark.parametrize("text", ["应该不算吧", "好像不是"])
def test_a_hedged_no_to_a_yes_no_question_is_no(text):
    slots, _, _ = validate(tracker(text=text, requested="elig_special_family"))
    assert slots["elig_special_family"] is False


def test_dont_know_stays_unknown():
    slots, _, _ = validate(tracker(text="这个不清楚", requested="elig_special_family"))
    assert slots["elig_special_family"] == DONT_KNOW


# ----- facts said up front, in clauses of a longer sentence ---------------------------------

from actions.eligibility import facts_said  # noqa: E402


@pytest.mark.parametrize(
    "text, fact, value",
    [
        ("我爸今年九十二岁，住夫子庙，一个人住，家里条件一般，他能享受什么服务", "economic_status", "普通"),
        ("我妈八十，走路得拄拐", "care_level", "轻度失能"),
        ("他住五老村，应该不算低保吧", "economic_status", "普通"),
    ],
)
def test_a_fact_in_a_clause_of_its_own_is_kept(text, fact, value):
    assert facts_said(text)[fact] == value


def test_a_clause_without_its_cue_is_not_read():
    assert "economic_status" not in facts_said("身体还行，住五老村")


def test_a_money_fact_said_with_the_age_is_not_asked_again():
    slots, said, _ = validate(tracker(text="九十了，家里条件一般", requested="elig_age"))
    assert slots["elig_age"] == 90 and slots["elig_economic_status"] == "普通"
    assert slots["requested_slot"] != "elig_economic_status"
