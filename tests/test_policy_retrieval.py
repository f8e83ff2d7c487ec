"""Policy retrieval (bot/policy/search.py): exact words beat sound-alikes, the longest name
wins, scores stay calibrated, two-topic questions get both answers, group FAQs only for the
group, prices are never answered with a percentage, and the figures on the independent set
(benchmarks/policy_retrieval.py) stay above their floors."""

from __future__ import annotations

import shutil
import sys

import pytest

from bot.policy import kb as policy_kb
from bot.config import PROJECT_ROOT
from bot.policy.kb import load_kb
from bot.policy.search import SearchIndex, _prep, _Scored, _strip, has_price, is_price_question

POLICIES = PROJECT_ROOT / "policies"
DAY = "2026-11-23"
PERCENT = ("百分之", "%", "％")


@pytest.fixture(scope="module")
def kb():
    return load_kb(POLICIES, "demo_district")


def _ranked(kb, question: str) -> list[str]:
    return [s.program_id for s in kb._score(question)]


def _exactly_named(kb, question: str) -> set[str]:
    return {s.program_id for s in kb._score(question) if s.mentions}


# ---------------------------------------------------------------- exact beats sound-alike


def test_an_exact_name_beats_a_sound_alike(kb):
    """Issue: 计划生育特殊家庭 was answered about 医养结合 (家庭医生 heard in 特殊家庭有什么)."""
    question = "计划生育特殊家庭有什么优惠"
    ranked = _ranked(kb, question)
    expected = (
        "family_planning_special_families"
        if "family_planning_special_families" in kb.program_ids()
        else "basic_service_objects"
    )
    assert ranked[0] == expected
    answer = kb.answer(question, on=DAY)
    assert answer.program_id == expected and answer.program_id != "medical_care_integration"
    named = _exactly_named(kb, question)
    if "medical_care_integration" in ranked:
        below = ranked.index("medical_care_integration")
        assert all(ranked.index(pid) < below for pid in named)


def test_with_two_existing_programs_the_exact_keyword_wins(tmp_path):
    """Without the new program, 计划生育特殊家庭 is a keyword of basic_service_objects: it
    still beats the sound-alike 家庭医生 of medical_care_integration."""
    root = tmp_path / "policies"
    for region in ("national", "demo_district"):
        shutil.copytree(POLICIES / region, root / region, ignore=shutil.ignore_patterns("rules"))
    (root / "demo_district" / "programs" / "family_planning_special_families.yml").unlink(missing_ok=True)
    small = load_kb(root, "demo_district")
    ranked = _ranked(small, "计划生育特殊家庭有什么优惠")
    assert ranked[0] == "basic_service_objects"
    assert small.answer("计划生育特殊家庭有什么优惠", on=DAY).program_id != "medical_care_integration"


def test_a_program_heard_by_sound_only_ranks_below_an_exact_keyword(kb):
    # 时间因行 sounds like the alias 时间银行 (never written so); 吃饭 is meal_aid's keyword
    scored = kb._score("时间因行能不能管吃饭")
    ids = [s.program_id for s in scored]
    assert ids[0] == "meal_aid" and "time_bank" in ids
    time_bank = scored[ids.index("time_bank")]
    assert not time_bank.mentions and "sound" in time_bank.signals
    assert time_bank.score < scored[0].score
    # alone, the sound-alike is still found (ASR errors are tolerated)
    assert _ranked(kb, "时间因行是怎么回事")[0] == "time_bank"


# ---------------------------------------------------------------- longest name wins


def test_the_longest_exact_name_wins_over_a_shorter_one_inside_it(kb):
    # 居家养老服务收费 (service_prices) contains 居家养老服务 (gov_purchased_home_services)
    scored = kb._score("居家养老服务收费标准是什么")
    assert scored[0].program_id == "service_prices"
    gov = next((s for s in scored if s.program_id == "gov_purchased_home_services"), None)
    assert gov is None or not gov.mentions  # the shorter name inside is not evidence
    # 家庭养老床位 (family_care_beds) contains 床位 (a keyword of elder_care_institutions)
    scored = kb._score("家庭养老床位有多少张")
    assert scored[0].program_id == "family_care_beds"
    beds = next((s for s in scored if s.program_id == "elder_care_institutions"), None)
    assert beds is None or not beds.mentions


# ---------------------------------------------------------------- calibrated scores


def test_many_weak_signals_do_not_add_up_to_certainty(kb):
    """Seven keywords of one program, no name: the score is its best signal plus a small
    bounded bonus, below what naming the program gives."""
    many = kb._score("律师维权打官司赡养继承遗产调解")[0]
    named = kb._score("12348法律服务")[0]
    assert many.program_id == named.program_id == "legal_aid_12348"
    assert many.score <= 0.9 < named.score
    assert all(0.0 <= s.score < 1.0 for q in ("时间银行", "养老", "家庭养老床位") for s in kb._score(q))


# ---------------------------------------------------------------- two topics


def test_a_two_topic_question_gets_both_answers_in_the_order_asked(kb):
    answer = kb.answer("助餐点和老年大学怎么收费", on=DAY)
    assert answer.kind == "answer"
    assert answer.program_id == "meal_aid" and answer.also == ("elder_university",)
    assert answer.text.count("依据：") == 2
    meal = kb.answer("助餐点怎么收费", on=DAY).text
    assert answer.text.startswith(meal)
    assert answer.as_dict()["also"] == ["elder_university"]


def test_the_issue_example_answers_meal_aid_and_the_home_service_price(kb):
    answer = kb.answer("助餐和上门洗澡怎么收费", on=DAY)
    assert answer.kind == "answer" and answer.program_id == "meal_aid"
    assert answer.also == ("service_prices",)
    assert answer.text.count("依据：") == 2
    assert not any(p in answer.text for p in PERCENT)


def test_one_topic_with_an_incidental_keyword_of_another_is_one_answer(kb):
    answer = kb.answer("80岁以上的老人上门服务一个月有几个钟头", on=DAY)
    assert answer.program_id == "free_home_care_80plus" and answer.also == ()
    assert kb.answer("时间银行怎么参加", on=DAY).also == ()


# ---------------------------------------------------------------- group FAQs


def _group_faqs(kb):
    return [(p, f) for p in kb.programs() for f in p.faq if f.group]


def test_a_group_faq_is_never_served_to_a_caller_who_did_not_name_the_group(kb):
    pairs = _group_faqs(kb)
    assert pairs, "the packs have group FAQs (faq[].group)"
    for program, faq in pairs:
        rendered = policy_kb._render_or_fallback(program, faq.answer, policy_kb._day(DAY))
        words = sorted({_prep(w) for w in faq.group}, key=len, reverse=True)
        for phrasing in faq.phrasings:
            plain = _strip(_prep(phrasing), words)
            if any(w in plain for w in words) or len(plain) < 3:
                continue
            # asked about the program directly, and asked freely
            for answer in (kb.answer(plain, program=program.id, on=DAY), kb.answer(plain, on=DAY)):
                assert rendered not in answer.text, (program.id, plain, answer.text)
            chosen = SearchIndex.best_faq(program, plain, policy_kb.facet_of(plain))
            assert chosen is not faq, (program.id, plain)


def test_a_group_faq_is_served_to_a_caller_who_names_the_group(kb):
    program = kb.program("tekun_support")
    faq = next(f for f in program.faq if f.group and "养老院" in f.question)
    rendered = policy_kb._render_or_fallback(program, faq.answer, policy_kb._day(DAY))
    answer = kb.answer(faq.question, on=DAY)
    assert answer.program_id == "tekun_support" and rendered in answer.text


# ---------------------------------------------------------------- the flagship question


@pytest.mark.parametrize(
    "question",
    [
        "我妈85了，每个月免费上门服务几个钟头",
        "80岁以上的老人上门服务一个月有几个钟头",
        "八十多岁的老人每个月有几个钟头免费照料",
        "80岁以上老人每月免费上门服务几个小时",
        "我爸今年83了，政府每个月给几个钟头的免费服务",
    ],
)
def test_free_hours_for_people_over_80_are_answered_however_asked(kb, question):
    answer = kb.answer(question, on=DAY)
    assert answer.kind == "answer", answer
    assert answer.program_id == "free_home_care_80plus"
    assert "3小时" in answer.text and "不确定" not in answer.text


# ---------------------------------------------------------------- prices


def test_a_price_question_is_not_answered_with_a_percentage(kb):
    answer = kb.answer("政府购买服务收费多少", on=DAY)
    assert answer.kind == "answer" and answer.program_id == "gov_purchased_home_services"
    assert "没有写" in answer.text
    assert not any(p in answer.text for p in PERCENT), answer.text


def test_no_program_answers_a_price_question_with_a_percentage(kb):
    for program in kb.programs():
        for question in (f"{program.short_name}怎么收费", f"{program.name}要不要钱"):
            answer = kb.answer(question, on=DAY)
            if answer.kind != "answer":
                continue
            assert not any(p in answer.text for p in PERCENT), (question, answer.text)
            if answer.program_id == program.id and not has_price(program):
                assert "没有写" in answer.text, (question, answer.text)


def test_a_price_of_a_home_service_goes_to_the_price_program(kb):
    if "service_prices" not in kb.program_ids():
        pytest.skip("no service_prices program in the pack")
    answer = kb.answer("居家养老服务的价钱是怎么定的", on=DAY)
    assert answer.program_id == "service_prices"
    assert not any(p in answer.text for p in PERCENT)


# ---------------------------------------------------------------- figures


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    import policy_retrieval

    return policy_retrieval


def test_the_independent_set_stays_above_its_floors(kb, bench):
    """Measured 2026-11-29 (benchmarks/RESULTS.md, "Policy retrieval: words and meaning
    agreeing"): precision 0.955, recall 0.776 at ANSWER_THRESHOLD 0.65 (0.971 / 0.687 the
    day before). The floors sit a little under, so a real regression fails and a reworded
    YAML answer does not. 0.956 / 0.797 after the dev5 round (issue 17, 2026-11-29)."""
    path = bench.SETS["independent"]
    if not path.exists():
        pytest.skip(f"{path} not found")
    figures = bench.evaluate(kb, bench.load(path), DAY, sweep=False)
    assert figures["rows"] >= 250
    assert figures["precision"] >= 0.945, figures
    assert figures["recall"] >= 0.78, figures
    assert figures["per_kind"]["none"]["answered"] <= 3, figures


def test_the_holdout_set_stays_above_its_floors(kb, bench):
    """Measured 2026-11-29 (benchmarks/RESULTS.md): precision 0.944, recall 0.843 (0.953 /
    0.748 the day before); 0.949 / 0.843 once benefits outside the pack got where to ask
    (issue 17); 0.945 / 0.851 after the dev5 round. Floors a little under; the set itself is
    never read row by row."""
    path = bench.SETS["holdout"]
    figures = bench.evaluate(kb, bench.load(path), DAY, sweep=False)
    assert figures["rows"] >= 250
    assert figures["precision"] >= 0.945, figures
    assert figures["recall"] >= 0.84, figures
    assert figures["per_kind"]["none"]["answered"] <= 4, figures


def test_the_second_dev_set_stays_above_its_floors(kb, bench):
    """dev2 (written from the seeds and program names before the aliases were read, then
    tuned on): precision 0.969, recall 0.935 on 2026-11-29 (0.951 / 0.870 before); 0.979 /
    0.935 once benefits outside the pack got where to ask (issue 17)."""
    figures = bench.evaluate(kb, bench.load(bench.SETS["dev2"]), DAY, sweep=False)
    assert figures["rows"] >= 200
    assert figures["precision"] >= 0.97, figures
    assert figures["recall"] >= 0.92, figures


def test_the_third_dev_set_stays_above_its_floors(kb, bench):
    """dev3 (issue 17: out-of-pack benefits, group + topic, ASR-garbled names; written before
    the aliases were read): precision 0.897, recall 0.934 before coverage.yml, 0.950 / 0.934
    after."""
    figures = bench.evaluate(kb, bench.load(bench.SETS["dev3"]), DAY, sweep=False)
    assert figures["rows"] >= 150
    assert figures["precision"] >= 0.945, figures
    assert figures["recall"] >= 0.92, figures
    assert figures["per_kind"]["none"]["answered"] <= 2, figures


# ---------------------------------------------------------------- benefits not covered


@pytest.mark.parametrize(
    "question",
    [
        "高龄津贴每个月发多少",
        "九十岁老人的高龄补贴去哪里申请",
        "百岁老人长寿金多少钱",
        "残疾人两项补贴怎么申请",
        "独生子女父母奖励费一年多少",
    ],
)
def test_a_benefit_outside_the_pack_is_not_answered_by_a_program_sharing_a_word(kb, question):
    answer = kb.answer(question, on=DAY)
    assert answer.kind == "not_covered", answer
    assert answer.program_id is None and answer.citation is None
    benefit = kb._not_covered(question, None, kb._score(question))[0]
    assert benefit is not None and answer.text == benefit.spoken(kb.coverage.reply)
    assert benefit.name in answer.text and benefit.where in answer.text


def test_a_benefit_outside_the_pack_is_not_answered_even_when_the_nlu_names_it_a_program(kb):
    answer = kb.answer("八十岁以上的老人每个月有多少高龄补贴", program="高龄补贴", on=DAY)
    assert answer.kind == "not_covered", answer
    # a bare button (no words said) still answers the program the name resolves to
    assert kb.answer("", program="免费照料", on=DAY).kind == "answer"


def test_a_program_named_beside_a_benefit_outside_the_pack_answers_and_says_where_to_ask(kb):
    answer = kb.answer("高龄津贴和家庭养老床位能一起享受吗", on=DAY)
    assert answer.kind == "answer" and answer.program_id == "family_care_beds", answer
    assert answer.text.endswith(kb.coverage.not_covered[0].spoken(kb.coverage.reply))


def test_pension_and_medical_insurance_say_the_referral_sentence_from_its_one_home(kb):
    from bot import referrals

    says = {r.id: r.say for r in referrals.load()}
    assert kb.answer("今年养老金调整涨多少", on=DAY).text == says["pension"]
    assert kb.answer("住院报销能报百分之几", on=DAY).text == says["medical_insurance"]
    # medical insurance inside an elder-care institution is the pack's own topic
    assert kb.answer("养老机构能不能刷医保卡", on=DAY).program_id == "elder_care_institutions"


def test_a_coverage_entry_naming_an_unknown_referral_stops_loading(tmp_path):
    shutil.copytree(POLICIES, tmp_path / "policies")
    path = tmp_path / "policies" / "demo_district" / "coverage.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("referral: pension", "referral: no_such_office"),
        encoding="utf-8",
    )
    with pytest.raises(policy_kb.PolicyPackError, match="no_such_office"):
        load_kb(tmp_path / "policies", "demo_district")


# ---------------------------------------------------------------- words and meaning


class _Meaning:
    """A stand-in for bot.policy.meaning.MeaningIndex: fixed similarities."""

    def __init__(self, sims: dict[str, float]):
        self.sims = sims

    def similarities(self, _query: str) -> dict[str, float]:
        return dict(self.sims)


def _top_score(kb, question: str, pid: str) -> float:
    return next(s.score for s in kb._score(question) if s.program_id == pid)


def test_a_keyword_the_meaning_agrees_with_counts_more_than_one_it_does_not(kb, monkeypatch):
    """A keyword alone in a question the program's texts hardly explain is discounted as a
    likely coincidence, unless what the whole question means points at the same program."""
    question = "一键呼救的手环政府发吗"
    pid = "smart_elder_care"
    others = [p for p in kb.program_ids() if p != pid]
    # barely alike, but clearly the most alike: the meaning signal itself is small
    agree = _Meaning({pid: 0.905, others[0]: 0.85, others[1]: 0.84})
    disagree = _Meaning({others[0]: 0.905, pid: 0.85, others[1]: 0.84})
    monkeypatch.setattr(kb._index, "meaning", agree)
    agreed = _top_score(kb, question, pid)
    monkeypatch.setattr(kb._index, "meaning", disagree)
    alone = _top_score(kb, question, pid)
    assert agreed >= alone + 0.1


def test_the_meaning_decides_between_two_programs_named_in_characters():
    named = (object(),)
    first = _Scored("subsistence_relief", 0.9, "低保", {}, named)  # type: ignore[arg-type]
    second = _Scored("meal_aid", 0.8, "吃饭", {}, named)  # type: ignore[arg-type]
    scored = [first, second]
    SearchIndex._meaning_decides(scored, {"meal_aid": 0.95, "subsistence_relief": 0.93})
    assert [s.program_id for s in scored] == ["meal_aid", "subsistence_relief"]
    assert scored[0].score == 0.9 and scored[1].score == 0.8
    # a meaning that barely leads, or leads elsewhere, changes nothing
    for sims in ({"meal_aid": 0.95, "subsistence_relief": 0.945}, {"hotline_12349": 0.95, "meal_aid": 0.93}):
        first = _Scored("subsistence_relief", 0.9, "低保", {}, named)  # type: ignore[arg-type]
        second = _Scored("meal_aid", 0.85, "吃饭", {}, named)  # type: ignore[arg-type]
        scored = [first, second]
        SearchIndex._meaning_decides(scored, sims)
        assert scored == [first, second] and first.score == 0.9
    # a clear score lead is kept whatever the meaning says
    first = _Scored("subsistence_relief", 0.95, "低保", {}, named)  # type: ignore[arg-type]
    second = _Scored("meal_aid", 0.7, "吃饭", {}, named)  # type: ignore[arg-type]
    scored = [first, second]
    SearchIndex._meaning_decides(scored, {"meal_aid": 0.97, "subsistence_relief": 0.90})
    assert scored[0].program_id == "subsistence_relief"


@pytest.mark.parametrize(
    "question, price",
    [
        ("政府花钱买服务给老人上门，哪些人能享受", False),
        ("政府出钱请人上门照顾老人是怎么回事", False),
        ("上门服务要自己花钱吗", True),
        ("政府补一部分，剩下的上门服务收费多少", True),
    ],
)
def test_the_government_paying_is_not_the_caller_paying(question, price):
    assert is_price_question(_prep(question)) is price


# ---------------------------------------------------------------- who asks, what is asked


def test_the_group_words_come_from_the_packs_group_faqs_and_their_synonyms(kb):
    words = kb._index.group_words
    assert {"低保", "特困", "失独", "失能"} <= words  # faq `group:` of the pack
    assert {"瘫痪", "五保"} <= words  # everyday synonyms of 卧床, 特困 (_SAME)
    index = kb._index
    group_terms = {t.text for t in index.terms if index._is_group_term(t)}
    assert "失独老人" in group_terms and "80岁" in group_terms
    assert not any(index._is_group_term(t) for t in index.terms if t.text in ("失能人员照护保险", "养老院"))


@pytest.mark.parametrize(
    "question, topic, group",
    [
        ("我是吃低保的，家里厕所想装个扶手", "age_friendly_modification", "subsistence_relief"),
        ("特困人员家里想装扶手有补助吗", "age_friendly_modification", "tekun_support"),
    ],
)
def test_the_topic_asked_answers_before_the_callers_group(kb, monkeypatch, question, topic, group):
    """低保 / 特困 say who asks, the handrail what is asked: the topic answers, when the
    meaning of the whole question agrees; when it does not, the words alone decide as before."""
    others = [p for p in kb.program_ids() if p not in (topic, group)]
    monkeypatch.setattr(kb._index, "meaning", _Meaning({topic: 0.95, group: 0.93, others[0]: 0.90}))
    answer = kb.answer(question, on=DAY)
    assert answer.kind == "answer" and answer.program_id == topic
    monkeypatch.setattr(kb._index, "meaning", _Meaning({group: 0.95, topic: 0.93, others[0]: 0.90}))
    assert _ranked(kb, question)[0] == group


def test_a_topic_the_groups_own_program_speaks_of_stays_with_the_group(kb, monkeypatch):
    """A place in a home is what 特困 support gives: 五保户 + 养老院 stays with 特困供养
    (the meaning leaning to the home, too little for `_meaning_decides`)."""
    question = "五保户老人能集中住到养老院吗"
    sims = {"elder_care_institutions": 0.935, "tekun_support": 0.93, "meal_aid": 0.9}
    monkeypatch.setattr(kb._index, "meaning", _Meaning(sims))
    assert _ranked(kb, question)[0] == "tekun_support"


def test_a_name_partly_said_in_its_own_characters_is_not_a_mishearing(kb):
    """养老服务 said exactly is part of a name (养老服务APP), not that name misheard; 实间银行
    for 时间银行 is a mishearing."""
    from bot.policy.search import _heard_otherwise, _match_form

    terms = {t.text: t for t in kb._index.terms}
    app = next(t for text, t in terms.items() if text.startswith("养老服务") and text.endswith("app"))
    assert not _heard_otherwise("养老服务是", app)
    assert _heard_otherwise("实间银行", terms[_match_form("时间银行")])
    ranked = kb._score("居家养老服务是谁出的钱")
    assert all(s.signals.get("sound", 0.0) == 0.0 for s in ranked if s.program_id == app.program_id)


@pytest.mark.parametrize("said, age", [("过了80", 80), ("满了90", 90), ("80好几了", 80), ("百岁了", 100)])
def test_an_age_said_colloquially_reaches_the_age_keywords(kb, said, age):
    from bot.policy.search import _match_form

    mentions = kb._index._mentions(_match_form(f"我家老人{said}"))
    reached = {int(m.term.text.rstrip("周岁")) for m in mentions if m.term.text.endswith("岁")}
    assert 80 in reached and max(reached) <= age


def test_the_fourth_dev_set_stays_above_its_floors(kb, bench):
    """dev4 (issue 17: colloquial, dialect, relatives, ASR, group, cost, two-topic, not
    covered and non-policy messages; written before tuning): precision 0.932, recall 0.839
    before; 0.938 / 0.844 after the topic-over-group and partial-name changes; 0.958 / 0.883
    after the dev5 round (2026-11-29)."""
    figures = bench.evaluate(kb, bench.load(bench.SETS["dev4"]), DAY, sweep=False)
    assert figures["rows"] >= 200
    assert figures["precision"] >= 0.95, figures
    assert figures["recall"] >= 0.87, figures
    assert figures["per_kind"]["none"]["answered"] <= 2, figures


def test_the_fifth_dev_set_stays_above_its_floors(kb, bench):
    """dev5 (issue 17, 236 rows written from the program ids and the seeds before the code
    or the aliases were read): precision 0.939, recall 0.875 before tuning; 0.950 / 0.896
    after the corroboration, sound, price-phrasing, meaning-weight and topic changes
    (2026-11-29)."""
    figures = bench.evaluate(kb, bench.load(bench.SETS["dev5"]), DAY, sweep=False)
    assert figures["rows"] >= 180
    assert figures["precision"] >= 0.94, figures
    assert figures["recall"] >= 0.88, figures
    assert figures["per_kind"]["none"]["answered"] <= 3, figures


def test_a_phrasing_that_asks_a_price_is_no_paraphrase_of_one_that_does_not(kb):
    """An FAQ phrasing asking what something costs is evidence only for a question that
    asks a price too."""
    priced = next(s for s in kb._score("护工上门一小时多少钱") if s.program_id == "service_prices")
    assert "faq" in priced.signals
    unpriced = [s for s in kb._score("护工上门一小时怎么安排") if s.program_id == "service_prices"]
    assert all("faq" not in s.signals for s in unpriced)


@pytest.mark.parametrize("question", ["上门保洁一次收多少", "请人到家理发什么价"])
def test_colloquial_price_words_ask_a_price(question):
    assert is_price_question(_prep(question))


@pytest.mark.parametrize(
    "question, expected", [("康复辅居在哪借", "assistive_devices"), ("照户保险怎么申请", "ltc_insurance")]
)
def test_a_name_heard_in_full_by_sound_is_answered(kb, question, expected):
    """Every syllable of a name of three or more heard with other characters (ASR) is no
    coincidence: the program answers, not only "您是想问……吗"."""
    answer = kb.answer(question, on=DAY)
    assert answer.kind == "answer" and answer.program_id == expected, answer


def test_a_generic_question_is_not_answered_on_its_meaning_alone(kb):
    answer = kb.answer("我想打听一下养老方面的政策", on=DAY)
    assert answer.kind != "answer", answer


def test_a_third_topic_joins_only_by_its_name(kb):
    three = kb.answer("老年大学、时间银行和助餐点都在哪", on=DAY)
    assert {three.program_id, *three.also} == {"elder_university", "time_bank", "meal_aid"}
    # 上门服务 is also a keyword of the government-bought services: no third topic
    two = kb.answer("80岁免费上门服务和上门服务的价格", on=DAY)
    assert {two.program_id, *two.also} == {"free_home_care_80plus", "service_prices"}
