"""Policy facts live in one place (the policy pack), are verbatim from their documents,
carry the period of the plan that set them, and say so when that plan has ended.

Issue: "One source of truth for policy facts, correct against the documents, current as of
today". The eligibility rules and the booking ledger read the pack's parameters by name;
nothing else holds a number."""

from __future__ import annotations

import ast
import datetime as dt
import re

import pytest
import yaml

from bot.booking import ledger as booking
from bot.eligibility import rules as eligibility
from bot.policy import kb as policy_kb
from bot.config import PROJECT_ROOT
from bot.policy.kb import load_kb, spoken_section

POLICIES = PROJECT_ROOT / "policies"
SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
ENDED = "这是区里规划到2025年的目标"


@pytest.fixture(scope="module")
def kb():
    return load_kb(POLICIES, "demo_district")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _document_text(kb, citation) -> str:
    source = kb.sources[citation.document_id]
    for folder in (SEEDS, POLICIES / source.pack):
        path = folder / source.file
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise AssertionError(
        f"{citation.document_id}: file {source.file} found neither in the "
        f"seeds nor in policies/{source.pack}/"
    )


def _all_citations(kb):
    for program in kb.programs():
        yield program.id, program.citation
        for param in program.parameters.values():
            for value in param.values:
                yield f"{program.id}.{param.name}", value.citation
        for faq in program.faq:
            if faq.citation:
                yield f"{program.id} faq {faq.question}", faq.citation
    common = kb.programs()[0].common
    for param in common.values():
        for value in param.values:
            yield f"parameters.yml {param.name}", value.citation


def _yaml_quotes(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["quote"]] if isinstance(node.get("quote"), str) else []
        return found + [q for v in node.values() for q in _yaml_quotes(v)]
    if isinstance(node, list):
        return [q for v in node for q in _yaml_quotes(v)]
    return []


# ---------------------------------------------------------------- one home, verbatim


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed documents not found at {SEEDS}")
def test_every_quote_under_policies_is_verbatim_from_its_document(kb):
    """Every `quote:` in every YAML file under policies/ is found in the document it cites."""
    checked = set()
    for where, citation in _all_citations(kb):
        if citation.quote:
            assert _squash(citation.quote) in _squash(_document_text(kb, citation)), (
                f"{where}: quote not in {citation.file}: {citation.quote}"
            )
            checked.add(citation.quote)
    in_files = {
        q
        for path in POLICIES.rglob("*.yml")
        for q in _yaml_quotes(yaml.safe_load(path.read_text(encoding="utf-8")))
    }
    assert in_files - checked == set(), "quotes the loader does not read (so nobody checks)"
    assert len(checked) >= 40


def test_rule_files_hold_no_numbers_names_or_quotes():
    """The eligibility rules only name parameters; values, citations and names live in the
    policy pack (a second copy is how 2020 vs 2021 start dates crept in)."""
    rules = POLICIES / "demo_district" / "rules"
    for path in rules.glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert not {"parameters", "citation", "name", "documents"} & set(data), path


def test_no_policy_number_is_a_constant_in_code():
    """bot/booking/ledger.py once had FREE_CARE_HOURS_PER_MONTH; the ledger now reads the pack."""
    tree = ast.parse((PROJECT_ROOT / "bot" / "booking" / "ledger.py").read_text(encoding="utf-8"))
    names = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert not {n for n in names if n.startswith("FREE_CARE_") and n != "FREE_CARE_PROGRAM_ID"}


def test_the_rules_and_the_ledger_read_the_same_parameter(kb, pin_clock):
    for day in (dt.date(2024, 6, 1), dt.date(2026, 11, 23)):
        hours = kb.parameter("free_home_care_80plus", "hours_per_month", on=day)
        assert booking.free_care_policy(day).minutes_per_month == hours * 60
        result = next(
            r
            for r in eligibility.evaluate({"age": 85, "street": "五老村"}, on=day)
            if r.program_id == "free_home_care_80plus"
        )
        assert result.benefit.startswith(f"每月{hours}小时")


def test_a_new_value_in_the_pack_changes_rules_answers_and_ledger(tmp_path, monkeypatch):
    """One edit, everywhere: a new min_age in the program file moves the eligibility result."""
    import shutil

    shutil.copytree(POLICIES, tmp_path / "policies")
    path = tmp_path / "policies" / "demo_district" / "programs" / "free_home_care_80plus.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    values = data["parameters"]["min_age"]["values"]
    values[-1]["effective_to"] = "2025-12-31"
    values.append(dict(values[-1], value=75, effective_from="2026-01-01"))
    values[-1].pop("effective_to")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    pack = eligibility.load_pack("demo_district", tmp_path / "policies")
    program = next(p for p in pack.programs if p.program_id == "free_home_care_80plus")
    facts = eligibility.derive({"age": 77, "street": "五老村"}, dt.date(2026, 11, 23), pack)
    assert eligibility._evaluate_program(pack, program, facts, dt.date(2026, 11, 23)).status == "eligible"
    assert eligibility._evaluate_program(pack, program, facts, dt.date(2025, 6, 1)).status == "not_eligible"


def test_a_rule_naming_an_unknown_parameter_or_assumption_is_refused(tmp_path):
    import shutil

    shutil.copytree(POLICIES, tmp_path / "policies")
    rules = tmp_path / "policies" / "demo_district" / "rules"
    path = rules / "free_home_care_80plus.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("param: min_age", "param: nope", 1), encoding="utf-8"
    )
    with pytest.raises(eligibility.RuleError, match="free_home_care_80plus.yml.*nope"):
        eligibility.load_pack("demo_district", tmp_path / "policies")
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("param: nope", "param: min_age")
        .replace(
            "- {fact: resident, op: is_true}",
            "- {fact: resident, op: is_true}\n    - {review: not_an_assumption}",
            1,
        ),
        encoding="utf-8",
    )
    with pytest.raises(eligibility.RuleError, match="not_an_assumption"):
        eligibility.load_pack("demo_district", tmp_path / "policies")


def test_a_program_may_not_redefine_a_shared_parameter(tmp_path):
    import shutil

    shutil.copytree(POLICIES, tmp_path / "policies")
    path = tmp_path / "policies" / "demo_district" / "programs" / "meal_aid.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("parameters", {})["elder_min_age"] = {
        "label": "x",
        "values": [
            {
                "value": 65,
                "unit": "周岁",
                "effective_from": "2021-01-01",
                "source": {"document": "district_plan_14th", "clause": "一"},
            }
        ],
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(policy_kb.PolicyPackError, match="elder_min_age"):
        load_kb(tmp_path / "policies", "demo_district")


# ---------------------------------------------------------------- validity of the plan


def test_the_plan_has_a_validity_period(kb):
    plan = kb.sources["district_plan_14th"]
    assert (plan.valid_from, plan.valid_to) == ("2021-01-01", "2025-12-31")
    assert plan.ended_on(dt.date(2026, 1, 1)) and not plan.ended_on(dt.date(2025, 12, 31))


def test_targets_of_the_ended_plan_are_said_as_such_only_after_it_ended(kb):
    question = "八十岁以上的老人每个月免费照料几个小时"
    during = kb.answer(question, on="2024-06-01")
    after = kb.answer(question, on="2026-11-23")
    assert during.program_id == after.program_id == "free_home_care_80plus"
    assert ENDED not in during.text and not during.plan_ended
    assert ENDED in after.text and after.plan_ended
    assert "不少于3" in after.text  # the document's 不少于 is kept
    entry = kb.program("free_home_care_80plus").as_dict(dt.date(2026, 11, 23))
    in_force = entry["parameters"]["hours_per_month"]["in_force"]
    assert in_force["target"] is True and in_force["plan_ended"] is True
    assert (
        kb.program("free_home_care_80plus").as_dict(dt.date(2025, 6, 1))["parameters"]["hours_per_month"][
            "in_force"
        ]["plan_ended"]
        is False
    )


def test_every_2025_goal_is_marked_as_a_target(kb):
    for program in kb.programs():
        for param in program.parameters.values():
            for value in param.values:
                if (
                    value.citation.quote
                    and "到2025年" in value.citation.quote
                    and value.effective_from.year == 2025
                ):
                    assert value.target, f"{program.id}.{param.name} is a 2025 goal"


def test_the_eligibility_api_marks_ended_targets(pin_clock):
    result = next(
        r
        for r in eligibility.evaluate({"age": 85, "street": "五老村"}, on=dt.date(2026, 11, 23))
        if r.program_id == "free_home_care_80plus"
    )
    assert result.plan_ended == ["hours_per_month"] and "2025年的目标" in result.benefit
    before = next(
        r
        for r in eligibility.evaluate({"age": 85, "street": "五老村"}, on=dt.date(2024, 6, 1))
        if r.program_id == "free_home_care_80plus"
    )
    assert before.plan_ended == [] and "目标" not in before.benefit


# ---------------------------------------------------------------- citations


@pytest.mark.parametrize(
    "clause,spoken",
    [
        ("四(一)2", "第四部分第（一）条第2项"),
        ("一(四)", "第一部分第（四）条"),
        ("一(四)、四(一)2", "第一部分第（四）条和第四部分第（一）条第2项"),
        ("四(四)3【强化养老服务支撑】", "第四部分第（四）条第3项"),
        ("第二条", "第二条"),
    ],
)
def test_sections_are_spoken(clause, spoken):
    assert spoken_section(clause) == spoken


def test_the_citation_names_the_section_of_what_was_used(kb):
    answer = kb.answer("八十岁以上的老人每个月免费照料几个小时", on="2026-11-23")
    assert answer.citation.clause == "四(一)2"
    assert "第四部分第（一）条第2项" in answer.text
    assert answer.as_dict()["citation"]["section"] == "第四部分第（一）条第2项"


def test_study_findings_are_cited_as_studies(kb):
    study = next(c for c, _note in kb.program("gov_purchased_home_services").supporting)
    assert study.kind == "study" and "研究" in study.spoken() and "依据" not in study.spoken()


# ---------------------------------------------------------------- open readings

ON = dt.date(2026, 11, 23)
BASE = {
    "street": "五老村",
    "economic_status": "普通",
    "care_level": "能力完好",
    "dementia": False,
    "special_family": False,
    "disability_certificate": False,
    "poverty_registered": False,
    "severe_disability_family": False,
    "hukou_local": True,
    "veteran": False,
}


def _result(facts: dict, program: str):
    return next(r for r in eligibility.evaluate(facts, on=ON) if r.program_id == program)


def test_specific_object_alone_is_for_the_community_to_decide():
    """特定对象 = 失能失智空巢独居高龄老年人 (no punctuation): living alone at 65 is 特定 under
    one reading only, so no tier is claimed and the community decides."""
    alone_65 = _result({**BASE, "age": 65, "living_situation": "独居"}, "basic_service_objects")
    assert alone_65.tier is None and alone_65.review and "社区认定" in alone_65.review[0]
    alone_85 = _result({**BASE, "age": 85, "living_situation": "独居"}, "basic_service_objects")
    assert alone_85.tier == "特定" and not alone_85.review  # 高龄 + 独居: every reading
    family_70 = _result({**BASE, "age": 70, "living_situation": "与家人同住"}, "basic_service_objects")
    assert family_70.tier == "普惠"


def test_an_ordinary_85_year_old_is_not_refused_government_purchased_services():
    result = _result({**BASE, "age": 85, "living_situation": "与家人同住"}, "gov_purchased_home_services")
    assert result.status == "unknown" and result.review and result.missing == []
    outside = _result({**BASE, "age": 85, "street": "鼓楼区"}, "gov_purchased_home_services")
    assert outside.status == "not_eligible"  # the district's services need a district address


def test_special_difficulty_is_not_defined_by_the_plan():
    result = _result({**BASE, "age": 88, "living_situation": "独居"}, "special_difficulty_visits")
    assert result.status == "unknown" and result.review


def test_economic_hardship_without_a_certificate_is_for_the_community():
    result = _result(
        {
            **BASE,
            "age": 75,
            "economic_status": "经济困难",
            "care_level": "中度失能",
            "living_situation": "与家人同住",
        },
        "basic_service_objects",
    )
    assert result.tier is None and result.review


def test_poverty_registration_can_be_expressed():
    facts = {
        **BASE,
        "age": 82,
        "living_situation": "与家人同住",
        "economic_status": "低保",
        "poverty_registered": True,
    }
    assert _result(facts, "age_friendly_modification").status == "eligible"
    facts["poverty_registered"] = False
    assert _result(facts, "age_friendly_modification").status == "not_eligible"
    del facts["poverty_registered"]
    unknown = _result(facts, "age_friendly_modification")
    assert unknown.status == "unknown" and unknown.missing == ["poverty_registered"]


@pytest.mark.parametrize("said,age", [("虚岁八十一", 80), ("八十岁左右", 80), ("快八十了", 79)])
def test_an_approximate_age_at_a_threshold_asks_for_the_birth_date(said, age):
    from bot.text import facts as factlib

    reading = factlib.read_age(said, ON)
    assert reading.age == age and reading.approximate
    facts = {"age": reading.age, "age_approximate": True, "street": "五老村"}
    result = _result(facts, "free_home_care_80plus")
    assert result.status == "unknown" and result.missing == ["birth_date"]
    assert eligibility.relevant_missing_facts(facts, on=ON)[0] == "birth_date"
    far = _result({"age": 85, "age_approximate": True, "street": "五老村"}, "free_home_care_80plus")
    assert far.status == "eligible"  # 八十五左右 is 80+ under any reading


def test_the_spoken_summary_says_what_the_community_decides():
    from bot.eligibility.summary import spoken_summary

    results = eligibility.evaluate({**BASE, "age": 65, "living_situation": "独居"}, on=ON)
    text = spoken_summary(results)
    assert "社区认定" in text and "特定对象。" not in text


def test_a_family_that_says_it_is_ordinary_is_not_asked_about_poverty_registration():
    facts = {**BASE, "age": 88, "care_level": "轻度失能", "living_situation": "独居"}
    del facts["poverty_registered"]
    assert _result(facts, "age_friendly_modification").status == "not_eligible"
    assert "poverty_registered" not in eligibility.relevant_missing_facts(facts, on=ON)


def test_severe_disability_family_is_used_when_said_but_never_asked():
    facts = {**BASE, "age": 70, "living_situation": "与家人同住"}
    del facts["severe_disability_family"]
    assert "severe_disability_family" not in eligibility.relevant_missing_facts(facts, on=ON)
    from bot.text import facts as factlib

    said = factlib.extract_facts("我老伴是重度残疾，一级的", ON)
    assert said["severe_disability_family"] is True
    assert _result({**facts, **said}, "severe_disability_families").status == "eligible"


# ---------------------------------------------------------------- every program, five ways

# Two more wordings per program beside the three of tests/test_policy_e2e.py (written by hand
# after reading the programs, so a regression test, not a measurement: the measured figures
# are benchmarks/policy_retrieval.py on benchmarks/data/policy_questions.tsv).
PARAPHRASES = [
    ("free_home_care_80plus", "俺娘八十三了，每个月能有几个钟头免费照顾"),
    ("free_home_care_80plus", "满了八十岁，政府给的免费照料有多少时间"),
    ("basic_service_objects", "普惠对象是什么意思"),
    ("basic_service_objects", "基本养老服务对象分哪几种"),
    ("gov_purchased_home_services", "政府购买服务的比例有多少"),
    ("family_care_beds", "家庭养老床位要怎么认定"),
    ("ltc_insurance", "长期护理保险能报多少"),
    ("ltc_insurance", "重度失能了有没有护理保险"),
    ("capacity_assessment", "能力评估到哪里去做"),
    ("capacity_assessment", "老人的能力和需求评估是干嘛用的"),
    ("age_friendly_modification", "家里装扶手防滑这些适老化改造有补贴吗"),
    ("age_friendly_modification", "老小区的无障碍改造什么时候弄"),
    ("meal_aid", "助餐点是不是每个社区都有"),
    ("time_bank", "年轻时做志愿者存的时间，老了能换服务吗"),
    ("time_bank", "养老服务时间银行在哪里注册"),
    ("silver_advisors", "有没有人能给我讲讲养老政策，银发顾问在哪"),
    ("silver_advisors", "社区的养老顾问能帮什么忙"),
    ("special_difficulty_visits", "特殊困难老人有人定期探访吗"),
    ("special_difficulty_visits", "谁算特殊困难老人"),
    ("legal_aid_12348", "老年人维权有没有绿色通道"),
    ("tekun_support", "特困老人有什么救助"),
    ("tekun_support", "五保户分散供养有人照顾吗"),
    ("elder_university", "老年大学今年招生吗"),
    ("elder_university", "社区里有老年大学学习点吗"),
    ("medical_care_integration", "社区医院能给失能老人建健康档案吗"),
    ("medical_care_integration", "医养结合具体有什么服务"),
    ("hotline_12349", "12349这个电话是干什么的"),
    ("hotline_12349", "养老热线能帮老人办什么事"),
    ("caregiver_training", "失能老人的家属能学护理吗"),
    ("caregiver_training", "照顾老人的培训要钱吗"),
    ("home_community_pilot_reform", "居家和社区养老服务改革试点是哪年开始的"),
    ("home_community_pilot_reform", "国家的养老改革试点有几批"),
    ("day_care_centers", "日间照料中心是做什么的"),
    ("day_care_centers", "老人白天能去社区的照料中心待着吗"),
    ("elder_care_institutions", "养老机构有没有医保"),
    ("elder_care_institutions", "区里养老机构床位够不够"),
    ("assistive_devices", "老人的康复辅具在哪里能配"),
    ("assistive_devices", "康复辅具配置站点有几个"),
    ("mental_care", "老人心理健康有人关心吗"),
    ("mental_care", "社区有没有心理讲座"),
    ("smart_elder_care", "智慧养老有什么用"),
    ("smart_elder_care", "紧急呼叫系统是干啥的"),
    ("mutual_aid", "互助小组是什么"),
    ("family_planning_special_families", "独生子女去世了，我们老两口有什么保障"),
    ("family_planning_special_families", "计划生育特殊家庭老人有什么待遇"),
    ("severe_disability_families", "重度残疾人家庭能得到什么帮助"),
    ("severe_disability_families", "重度残疾人家庭帮扶是什么"),
    ("subsistence_relief", "低保一个月能领多少"),
    ("subsistence_relief", "临时救助怎么申请"),
    ("hospice_care", "临终关怀哪里有"),
    ("hospice_care", "安宁疗护什么人能做"),
    ("service_prices", "居家养老上门服务怎么收费"),
    ("gov_purchased_home_services", "政府购买的上门服务是给哪些老人的"),
    ("family_care_beds", "家庭养老床位签约以后有什么服务"),
    ("meal_aid", "社区老年食堂在哪"),
    ("legal_aid_12348", "子女不给赡养费，老人能找律师帮忙吗"),
    ("mutual_aid", "社区有没有老人互助的活动"),
    ("service_prices", "上门服务一个小时多少钱"),
    ("free_home_care_80plus", "过了八十岁政府是不是派人上门免费照料"),
]


def test_every_program_answers_at_least_five_paraphrases(kb):
    from tests.test_policy_e2e import CASES

    asked: dict[str, set[str]] = {}
    for program, question in [*PARAPHRASES, *((p, q) for p, q, _fact in CASES)]:
        answer = kb.answer(question, on="2026-11-23")
        assert answer.program_id == program, (question, answer.program_id, answer.kind)
        asked.setdefault(program, set()).add(question)
    assert set(asked) == set(kb.program_ids())
    assert all(len(questions) >= 5 for questions in asked.values()), {
        p: len(q) for p, q in asked.items() if len(q) < 5
    }


def test_retrieval_does_not_depend_on_what_else_changed_jieba(kb, monkeypatch):
    """Rasa's tokenizer loads the NLU's user dictionary into jieba's global tokenizer when a
    model is loaded in the same process; retrieval must give the same answer either way
    (a whole-suite run once answered differently from the file alone)."""
    import jieba

    question = "居家养老上门服务怎么收费"
    alone = kb.answer(question, on="2026-11-23").program_id
    changed = jieba.Tokenizer()
    for word in ("居家养老", "上门服务", "养老上门", "服务收费", "居家养老上门服务"):
        changed.add_word(word, freq=100000)
    for name in ("lcut", "lcut_for_search", "tokenize", "cut", "cut_for_search"):
        monkeypatch.setattr(jieba, name, getattr(changed, name))
    monkeypatch.setattr(jieba, "dt", changed)
    assert kb.answer(question, on="2026-11-23").program_id == alone == "service_prices"


def test_a_chat_turn_does_not_stat_every_policy_file(monkeypatch):
    """get_kb is called on every policy and eligibility turn: the files are compared at most
    once per RELOAD_CHECK_SECONDS, not on every call."""
    policy_kb.clear_cache()
    calls = []
    real = policy_kb._signature
    monkeypatch.setattr(policy_kb, "_signature", lambda root: calls.append(root) or real(root))
    first = policy_kb.get_kb()
    for _ in range(20):
        assert policy_kb.get_kb() is first
        eligibility.load_pack()
    assert len(calls) == 1
    policy_kb.clear_cache()
