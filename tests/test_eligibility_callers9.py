"""Readings that dev_scripts9 (callers nobody tuned on, again) showed missing: a guess said
together with "don't know" is unknown, never the value guessed; an age said as a range
(七八十岁) decides only what the whole range decides and otherwise asks the birth date;
Jiang-Huai 没得 is 没有; 低保 with a negation around it is not 低保; a bare 困难 is 经济困难;
不是痴呆 is no dementia; an exact age does not make the form ask the birth date. New
phrasings, not the scripts' sentences."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.eligibility import collected_facts, facts_said, is_unsure_about
from bot.eligibility import rules
from bot.text import facts
from tests.test_eligibility_actions import pinned_today, tracker, validate  # noqa: F401

DAY = dt.date(2026, 11, 23)


# --- a guess with "don't know" is unknown ----------------------------------------------------


@pytest.mark.parametrize(
    "text, slot",
    [
        ("大概是普通的吧，具体我真说不准", "elig_economic_status"),
        ("好像是吃低保 我不太确定", "elig_economic_status"),
        ("可能算困难户吧 这个我也拿不准", "elig_economic_status"),
        ("估计能自己走吧 我好久没去看她了 不太清楚", "elig_care_level"),
        ("可能有点糊涂了吧 我也不太知道", "elig_dementia"),
        ("应该有残疾证吧 心里没数", "elig_disability_certificate"),
    ],
)
def test_a_guess_said_with_dont_know_is_unknown(text, slot, pinned_today):  # noqa: F811
    slots, said, _ = validate(tracker(text=text, requested=slot))
    assert slots[slot] == facts.DONT_KNOW
    assert any("跳过" in (s or "") for s in said)


@pytest.mark.parametrize(
    "text, slot, value",
    [
        ("普通家庭，有退休金", "elig_economic_status", "普通"),
        ("她吃低保好几年了", "elig_economic_status", "低保"),
        ("能自己走，就是慢一点", "elig_care_level", "能力完好"),
        ("应该不是特困吧", "elig_economic_status", "普通"),
    ],
)
def test_an_answer_without_dont_know_is_still_read(text, slot, value, pinned_today):  # noqa: F811
    slots, _, _ = validate(tracker(text=text, requested=slot))
    assert slots[slot] == value


@pytest.mark.parametrize("text", ["我也不太清楚", "这个说不准", "拿不准", "心里没数", "不大知道"])
def test_more_ways_of_not_knowing(text):
    assert facts.is_dont_know(text)


def test_unsure_needs_a_dont_know():
    assert not is_unsure_about("应该是普通家庭吧")
    assert is_unsure_about("应该是普通家庭吧，说不好")


# --- ages said as a range -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, low, high",
    [
        ("她六七十岁", 60, 79),
        ("我舅舅八九十了", 80, 99),
        ("老人家八十七八了", 87, 88),
        ("七十至八十岁之间", 70, 80),
        ("大概85到90岁", 85, 90),
    ],
)
def test_a_range_is_read_as_its_ends(text, low, high):
    reading = facts.read_age(text, DAY)
    assert reading is not None and reading.approximate
    assert (reading.age, reading.upper) == (low, high)


@pytest.mark.parametrize("text", ["房子是四五十年代盖的", "在这条街住了六七十年", "一个月六七十块"])
def test_numbers_that_are_not_ages_are_no_range(text):
    reading = facts.read_age(text, DAY)
    assert reading is None or reading.upper is None


def _status(facts_: dict, program: str) -> str:
    return next(r.status for r in rules.evaluate(facts_, on=DAY) if r.program_id == program)


def test_a_range_across_a_threshold_decides_nothing_and_asks_the_birth_date():
    said = {"age": 70, "age_approximate": True, "age_upper": 89, "street": "光华路"}
    assert _status(said, "free_home_care_80plus") == "unknown"
    assert "birth_date" in rules.relevant_missing_facts(said, on=DAY, programs=["free_home_care_80plus"])
    # the whole range is 60 or over: the 60+ programs are decided
    assert _status(said, "meal_aid") == "eligible"


def test_a_range_on_one_side_of_a_threshold_decides():
    below = {"age": 60, "age_approximate": True, "age_upper": 79, "street": "秦虹"}
    assert _status(below, "free_home_care_80plus") == "not_eligible"
    above = {"age": 80, "age_approximate": True, "age_upper": 99, "street": "秦虹"}
    assert _status(above, "free_home_care_80plus") == "eligible"
    assert _status(above, "caregiver_training") != "eligible"  # 90 is inside the range


def test_a_birth_date_replaces_a_range():
    said = {"age": 70, "age_approximate": True, "age_upper": 89, "birth_date": "1944-02-01", "street": "双塘"}
    assert _status(said, "free_home_care_80plus") == "eligible"


def test_a_range_answer_is_kept_and_the_birth_date_asked(pinned_today):  # noqa: F811
    slots, said, _ = validate(
        tracker(slots={"elig_street": "双塘", "elig_who": "您母亲"}, text="七八十了吧", requested="elig_age")
    )
    assert slots["elig_age"] == 70 and slots["elig_age_approximate"] == 89
    assert "70到89岁" in said[0]
    assert slots["requested_slot"] == "elig_birth_date"


def test_a_range_in_the_opening_is_a_range(pinned_today):  # noqa: F811
    found = facts_said("我公公七八十岁 住红花 有什么补贴")
    assert found["age"] == 70 and found["age_upper"] == 89
    t = tracker(slots={"elig_age": 70, "elig_age_approximate": 89})
    assert collected_facts(t)["age_upper"] == 89


def test_the_api_takes_a_range():
    assert rules.normalize_facts({"age": 70, "age_upper": 89, "age_approximate": True})["age_upper"] == 89
    with pytest.raises(rules.FactError):
        rules.normalize_facts({"age_upper": "很老"})


def test_an_exact_age_does_not_make_the_form_ask_the_birth_date(pinned_today):  # noqa: F811
    # a check about one program with nothing else to ask: the validated age clears the
    # birth-date slot, which is no question to ask
    t = tracker(
        slots={"elig_street": "朝天宫", "elig_who": "您父亲"}, text="他1943年6月出生", requested="elig_age"
    )
    t.events[:0] = [
        {"event": "user", "text": "我爸住朝天宫，每月免费照料能不能享受"},
        {"event": "action", "name": "action_eligibility_start"},
    ]
    slots, _, _ = validate(t)
    assert slots["elig_age"] == 83
    assert slots["requested_slot"] != "elig_birth_date"


# --- words ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, status",
    [
        ("日子还过得去 没得低保", "普通"),
        ("屋里头困难 没得低保", "经济困难"),
        ("低保报上去了还没批", "普通"),
        ("家里比较困难，可低保没评上", "经济困难"),
        ("我们不算困难", None),
        ("困难得很", "经济困难"),
        ("没有困难", "普通"),
    ],
)
def test_dialect_and_negated_dibao(text, status):
    from actions.eligibility import unhedged

    got = facts.parse_economic_status(unhedged(text))
    assert got == (status or "普通")


def test_meide_is_no_for_yes_no_questions(pinned_today):  # noqa: F811
    slots, _, _ = validate(tracker(text="没得", requested="elig_disability_certificate"))
    assert slots["elig_disability_certificate"] is False


@pytest.mark.parametrize("text", ["她不是老年痴呆，就是记性差点", "应该不算失智吧", "算不上痴呆"])
def test_not_dementia(text, pinned_today):  # noqa: F811
    slots, _, _ = validate(tracker(text=text, requested="elig_dementia"))
    assert slots["elig_dementia"] is False


def test_a_free_sentence_keeps_hardship_without_dibao(pinned_today):  # noqa: F811
    found = facts_said("我外婆八十二了，住中华门，家里困难，低保一直没批下来")
    assert found["economic_status"] == "经济困难"


# --- "can she have X?" with facts about her is a check ------------------------------------


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("我婆婆八十三了，住光华路，那个家庭养老床位能不能申请", True),
        ("我爸九十一 住红花 我们家里人能参加护理培训吗", True),
        ("家庭养老床位可以申请吗", False),  # nobody's facts: the policy answer
        ("我妈八十了，住双塘，家庭养老床位怎么申请", False),  # how, not whether
        ("我爸八十五了，住五老村，我想问问养老床位是什么", False),  # no "can she"
    ],
)
def test_wants_check(text, wanted, pinned_today):  # noqa: F811
    from actions.eligibility import wants_check

    assert wants_check(text) is wanted


def test_a_policy_question_whether_she_can_starts_the_check(pinned_today):  # noqa: F811
    import asyncio

    from rasa_sdk import Tracker
    from rasa_sdk.events import FollowupAction
    from rasa_sdk.executor import CollectingDispatcher

    from actions.policy import ActionAnswerPolicy

    text = "我婆婆八十三了，住光华路，那个家庭养老床位能不能申请"
    t = Tracker(
        sender_id="elig9",
        slots={"channel": "web"},
        latest_message={"text": text, "intent": {"name": "ask_policy", "confidence": 0.9}, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerPolicy().run(dispatcher, t, {}))
    assert FollowupAction("eligibility_form") in events
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["elig_age"] == 83 and slots["elig_street"] == "光华路"
    assert any("帮您查查" in (m.get("text") or "") for m in dispatcher.messages)


def test_the_question_that_started_the_check_from_a_policy_answer_is_its_opening():
    from rasa_sdk import Tracker

    from actions.eligibility import opening_text

    question = "我婆婆八十三了，住光华路，家庭养老床位能不能申请"
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": question},
        {"event": "action", "name": "action_answer_policy"},
        {"event": "slot", "name": "elig_age", "value": 83},
        {"event": "action", "name": "eligibility_form"},
        {"event": "active_loop", "name": "eligibility_form"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "普通家庭"},
        {"event": "action", "name": "eligibility_form"},
    ]
    t = Tracker(
        "elig9", {}, {"text": "普通家庭"}, events, False, None, {"name": "eligibility_form"}, "action_listen"
    )
    assert opening_text(t) == question


@pytest.mark.parametrize("text", ["我姨妈七十多了", "帮我大爷问问"])
def test_aunts_and_uncles_are_asked_about_as_the_elder(text):
    assert facts.parse_relation(text) == "亲友"


def test_a_dibao_not_granted_names_no_program(pinned_today):  # noqa: F811
    from bot.eligibility.focus import asked_programs

    assert asked_programs("我外公八十了，家里困难，低保一直没批，他能享受啥") == []


def test_a_guess_in_the_opening_with_dont_know_is_not_taken(pinned_today):  # noqa: F811
    found = facts_said("我外婆八十七了 住秦虹 可能是吃低保的吧 我不太清楚")
    assert found["age"] == 87 and found["street"] == "秦虹"
    assert "economic_status" not in found
    # said plainly beside a don't-know about something else, it stays
    assert facts_said("我外婆八十七了，吃低保的，身体怎么样我说不好")["economic_status"] == "低保"


@pytest.mark.parametrize(
    "text, age", [("我舅舅九十二 一个人住", 92), ("老太太八十一一个人过日子", 81), ("七十五一般家庭", 75)]
)
def test_an_age_run_into_a_word_without_punctuation(text, age):
    assert facts.parse_age(text, DAY) == age


@pytest.mark.parametrize("text", ["一般吧，我不太清楚", "普通吧 具体说不好"])
def test_a_ba_guess_with_dont_know_is_unknown(text, pinned_today):  # noqa: F811
    slots, _, _ = validate(tracker(text=text, requested="elig_economic_status"))
    assert slots["elig_economic_status"] == facts.DONT_KNOW


# --- a check that a safety question interrupted goes on after "no" ---------------------------


def _after_safety_question(opening: str, answer: str, intent: str):
    from rasa_sdk import Tracker

    events = [
        {"event": "action", "name": "action_listen"},
        {
            "event": "user",
            "text": opening,
            "parse_data": {
                "intent": {"name": "safety_check", "confidence": 1.0},
                "intent_ranking": [
                    {"name": "safety_check", "confidence": 1.0},
                    {"name": "scam_report", "confidence": 0.5},
                    {"name": "check_eligibility", "confidence": 0.3},
                ],
            },
        },
        {"event": "action", "name": "action_safety_check"},
        {"event": "slot", "name": "safety_suspected", "value": "scam"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": answer, "parse_data": {"intent": {"name": intent, "confidence": 0.7}}},
    ]
    return Tracker(
        "elig9-safety",
        {"safety_suspected": "scam", "channel": "web"},
        {"text": answer, "intent": {"name": intent, "confidence": 0.7}, "entities": []},
        events,
        False,
        None,
        {},
        "action_listen",
    )


@pytest.mark.parametrize(
    "answer, intent, action",
    [("不是，没人找我要钱", "deny", "confirmed"), ("没有没有，我只是想问问政策", "ask_policy", "policy")],
)
def test_no_to_the_safety_question_goes_on_with_the_check(answer, intent, action, pinned_today):  # noqa: F811
    import asyncio

    from rasa_sdk.events import FollowupAction
    from rasa_sdk.executor import CollectingDispatcher

    from actions.policy import ActionAnswerPolicy
    from actions.safety import ActionSafetyConfirmed

    t = _after_safety_question("我老伴不在了 我今年九十了 住在秦虹那边 我这岁数有啥照顾没有", answer, intent)
    runner = ActionSafetyConfirmed() if action == "confirmed" else ActionAnswerPolicy()
    dispatcher = CollectingDispatcher()
    events = asyncio.run(runner.run(dispatcher, t, {}))
    assert FollowupAction("eligibility_form") in events
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["elig_age"] == 90 and slots["elig_street"] == "秦虹"
    assert slots["safety_suspected"] is None


def test_a_yes_to_the_safety_question_is_not_taken_as_a_check(pinned_today):  # noqa: F811
    import asyncio

    from rasa_sdk.events import FollowupAction
    from rasa_sdk.executor import CollectingDispatcher

    from actions.safety import ActionSafetyConfirmed

    t = _after_safety_question("我今年九十了 住在秦虹 有啥照顾", "是的，有人让我转钱", "affirm")
    events = asyncio.run(ActionSafetyConfirmed().run(CollectingDispatcher(), t, {}))
    assert FollowupAction("eligibility_form") not in events


def test_a_check_said_with_check_words_and_an_age_goes_on_whatever_the_ranking(pinned_today):  # noqa: F811
    import asyncio

    from rasa_sdk.events import FollowupAction
    from rasa_sdk.executor import CollectingDispatcher

    from actions.safety import ActionSafetyConfirmed

    t = _after_safety_question("我八十六了 一个人住 有什么补贴能领", "不是不是", "deny")
    t.events[1]["parse_data"] = {"intent": {"name": "safety_check", "confidence": 1.0}}
    events = asyncio.run(ActionSafetyConfirmed().run(CollectingDispatcher(), t, {}))
    assert FollowupAction("eligibility_form") in events


def test_the_opening_of_a_check_a_safety_question_interrupted_is_the_first_message():
    from rasa_sdk import Tracker

    from actions.eligibility import opening_text

    first = "我今年九十了 住在秦虹 有啥照顾"
    for via in (["action_safety_confirmed"], ["action_answer_policy"]):
        events = [
            {"event": "user", "text": first},
            {"event": "action", "name": "action_safety_check"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "没有没有，我就是问问政策"},
            *({"event": "action", "name": name} for name in via),
            {"event": "action", "name": "eligibility_form"},
            {"event": "active_loop", "name": "eligibility_form"},
        ]
        t = Tracker("elig9", {}, {}, events, False, None, {"name": "eligibility_form"}, "action_listen")
        assert opening_text(t) == first
