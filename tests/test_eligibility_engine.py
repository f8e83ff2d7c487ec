"""The eligibility engine, rule-file checking, colloquial fact parsing and POST /api/eligibility."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.eligibility.rules import FactError, RuleError, evaluate, load_pack, relevant_missing_facts
from bot.text import facts

ON = dt.date(2026, 11, 23)
RULES = PROJECT_ROOT / "policies" / "demo_district" / "rules"


# --- colloquial answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,age,approximate",
    [
        ("八十五", 85, False),
        ("85", 85, False),
        ("八十五岁", 85, False),
        ("我妈今年八十三", 83, False),
        ("快九十了", 89, True),
        ("九十多岁", 90, True),
        ("一百零二岁", 102, False),
        ("虚岁八十六", 85, True),
        ("我今年六十五了", 65, False),
        ("一九三八年三月十二日出生", 88, False),
        ("1938年生的", 87, True),
        ("三八年生的", 87, True),
        ("她是1944年1月15号生的", 82, False),
    ],
)
def test_age_from_what_people_say(text, age, approximate):
    reading = facts.read_age(text, ON)
    assert reading is not None and (reading.age, reading.approximate) == (age, approximate)


@pytest.mark.parametrize("text", ["住在五老村12号", "不知道", "", "3楼", "好的"])
def test_no_age_where_there_is_none(text):
    assert facts.parse_age(text, ON) is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("吃低保的", "低保"),
        ("我们是低保户", "低保"),
        ("特困户", "特困"),
        ("五保户", "特困"),
        ("低保边缘", "低保边缘"),
        ("不是低保，有退休金", "普通"),
        ("都不是", "普通"),
        ("哦哟", None),
    ],
)
def test_economic_status(text, expected):
    assert facts.parse_economic_status(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("瘫在床上", "重度失能"),
        ("常年卧床", "重度失能"),
        ("坐轮椅", "中度失能"),
        ("半失能", "中度失能"),
        ("不能自己走", "中度失能"),
        ("拄拐杖", "轻度失能"),
        ("能自己走", "能力完好"),
        ("身体挺好的", "能力完好"),
        ("今天天气不错", None),
    ],
)
def test_care_level(text, expected):
    assert facts.parse_care_level(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("一个人住", "独居"),
        ("老伴走了，就她一个", "独居"),
        ("老两口", "空巢"),
        ("跟老伴住", "空巢"),
        ("跟儿子一起住", "与家人同住"),
        ("随便", None),
    ],
)
def test_living_situation(text, expected):
    assert facts.parse_living_situation(text) == expected


def test_yes_no_dementia_special_family_relation_street():
    assert facts.parse_yes_no("是的") is True and facts.parse_yes_no("不是") is False
    assert facts.parse_yes_no("没有") is False and facts.parse_yes_no("好，用吧") is True
    assert facts.parse_yes_no("八十五") is None
    assert facts.parse_dementia("有点老年痴呆") is True and facts.parse_dementia("脑子清楚得很") is False
    assert facts.parse_special_family("独生子女前几年去世了") is True
    assert facts.parse_special_family("不是计划生育特殊家庭") is False
    assert facts.parse_relation("我妈今年八十三") == "母亲" and facts.parse_relation("我自己") == "本人"
    assert (
        facts.parse_street("中华门街道") == "中华门"
        and facts.parse_street("住鼓楼区") == facts.OUTSIDE_DISTRICT
    )
    assert facts.parse_street("嗯") is None


def test_extract_facts_from_one_sentence():
    found = facts.extract_facts("我妈今年八十三，一个人住在五老村，吃低保的", ON)
    assert found == {"age": 83, "street": "五老村", "living_situation": "独居", "economic_status": "低保"}


# --- the engine ---------------------------------------------------------------------------


def test_results_have_reasons_with_citations_and_parameter_values():
    results = {r.program_id: r for r in evaluate({"age": 85, "street": "五老村"}, on=ON)}
    free = results["free_home_care_80plus"]
    assert free.status == "eligible"
    assert free.parameters == {"min_age": 80}
    texts = [r.text for r in free.reasons]
    assert "年龄85周岁，满80周岁" in texts and any("五老村" in t for t in texts)
    assert all("示范区养老服务发展" in r.citation for r in free.reasons)
    ltc = results["ltc_insurance"]
    assert ltc.status == "unknown" and ltc.missing == ["care_level"]
    assert "四(一)3" in ltc.citation


def test_parameter_changes_on_its_date_without_code():
    before = {r.program_id: r for r in evaluate({"age": 85, "street": "五老村"}, on=dt.date(2024, 12, 31))}
    after = {r.program_id: r for r in evaluate({"age": 85, "street": "五老村"}, on=dt.date(2025, 1, 1))}
    assert before["free_home_care_80plus"].benefit == "每月2小时免费照料"
    assert after["free_home_care_80plus"].benefit == "每月3小时免费照料"


def test_eligible_results_come_first():
    statuses = [r.status for r in evaluate({"age": 70, "street": "双塘", "care_level": "能力完好"}, on=ON)]
    order = {"eligible": 0, "unknown": 1, "not_eligible": 2}
    assert statuses == sorted(statuses, key=order.get)
    assert statuses[0] == "eligible" and "not_eligible" in statuses


def test_relevant_missing_facts_ask_only_what_still_matters():
    assert relevant_missing_facts({}, on=ON)[:2] == ["age", "street"]
    # outside the district nothing can change any more
    assert relevant_missing_facts({"street": "外地"}, on=ON) == []
    # a 76-year-old on 低保 with severe disability: only 建档立卡 (适老化改造) is still open
    done = {"age": 76, "street": "夫子庙", "economic_status": "低保", "care_level": "重度失能"}
    assert relevant_missing_facts(done, on=ON, include_tiers=False) == ["poverty_registered"]
    assert relevant_missing_facts({**done, "poverty_registered": False}, on=ON, include_tiers=False) == []
    # a centenarian is already 特惠: economic status only matters for 特困 programs
    # (建档立卡 decides nothing before the money question: it is asked once that is answered)
    assert relevant_missing_facts({"age": 102, "street": "中华门"}, on=ON, include_tiers=False) == [
        "economic_status",
        "care_level",
        "dementia",
    ]
    centenarian_on_dibao = {"age": 102, "street": "中华门", "economic_status": "低保"}
    assert "poverty_registered" in relevant_missing_facts(centenarian_on_dibao, on=ON, include_tiers=False)
    # a question no answer of which can change a result, the money question skipped, is not asked
    skipped = {"age": 86, "street": "夫子庙", "economic_status": facts.DONT_KNOW, "care_level": "能力完好"}
    assert "poverty_registered" not in relevant_missing_facts(skipped, on=ON, skip=["economic_status"])
    assert "street" not in relevant_missing_facts({"age": 80}, on=ON, skip=["street"])


def test_dont_know_counts_as_missing():
    results = {
        r.program_id: r
        for r in evaluate({"age": 85, "street": "五老村", "care_level": facts.DONT_KNOW}, on=ON)
    }
    assert results["ltc_insurance"].status == "unknown"


@pytest.mark.parametrize(
    "facts,field",
    [
        ({"age": "很老了"}, "age"),
        ({"age": True}, "age"),
        ({"economic_status": "有钱"}, "economic_status"),
        ({"dementia": "也许"}, "dementia"),
        ({"birth_date": "2099-01-01"}, "birth_date"),
        ({"shoe_size": 42}, "shoe_size"),
    ],
)
def test_unusable_facts_raise_a_fact_error_in_chinese(facts, field):
    with pytest.raises(FactError) as err:
        evaluate(facts, on=ON)
    assert err.value.key == field and err.value.message_zh


# --- rule files ---------------------------------------------------------------------------


def _copy_pack(tmp_path: Path) -> Path:
    shutil.copytree(RULES.parent.parent, tmp_path / "policies")
    return tmp_path / "policies" / "demo_district" / "rules"


def test_every_program_has_a_rule_file_with_a_citation():
    pack = load_pack()
    ids = {p.program_id for p in pack.programs}
    assert {
        "free_home_care_80plus",
        "basic_service_objects",
        "ltc_insurance",
        "caregiver_training",
        "tekun_support",
    } <= ids
    assert all(p.citation.clause and p.citation.title for p in pack.programs)
    assert all(p.name == pack.kb.program(p.program_id).name for p in pack.programs)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda s: s.replace('op: ">="', "op: bigger"), "eligible_when"),
        (lambda s: s.replace("param: min_age", "param: no_such_param"), "no_such_param"),
        (lambda s: s.replace("fact: age", "fact: shoe_size"), "shoe_size"),
        (lambda s: s.replace("program_id: free_home_care_80plus", "program_id: other"), "program_id"),
        (
            lambda s: s.replace("summary_rank: 10", "summary_rank: 10\nin_force: {from: 2025-13-01}"),
            "in_force",
        ),
    ],
)
def test_malformed_rule_file_names_file_and_field(tmp_path, edit, message):
    rules = _copy_pack(tmp_path)
    path = rules / "free_home_care_80plus.yml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_pack("demo_district", tmp_path / "policies")
    assert "free_home_care_80plus.yml" in str(err.value) and message in str(err.value)


# --- the HTTP API -------------------------------------------------------------------------


@pytest.fixture
def client():
    from server import create_app

    return create_app({"TESTING": True}).test_client()


def test_api_returns_results_per_program(client):
    r = client.post(
        "/api/eligibility", json={"facts": {"age": "八十五", "street": "五老村"}, "date": "2026-11-23"}
    )
    assert r.status_code == 200
    body = r.get_json()
    results = {x["program_id"]: x for x in body["results"]}
    assert results["free_home_care_80plus"]["status"] == "eligible"
    assert results["free_home_care_80plus"]["name"]
    assert results["ltc_insurance"]["status"] == "unknown"
    assert results["ltc_insurance"]["missing"] == ["care_level"]
    assert "四(一)3" in results["ltc_insurance"]["citation"]
    for item in body["results"]:
        assert set(item) >= {"program_id", "name", "status", "reasons", "missing", "citation", "hint"}
    assert body["relevant_missing_facts"][0] == "economic_status"


@pytest.mark.parametrize(
    "payload,code",
    [
        ("not json", "invalid_json"),
        ([1, 2], "invalid_json"),
        ({"facts": "85岁"}, "invalid_facts"),
        ({"facts": {"age": "很老"}}, "invalid_fact"),
        ({"facts": {}, "date": "明天"}, "invalid_date"),
        ({"facts": {"care_level": 3}}, "invalid_fact"),
        ({"facts": {"colour": "red"}}, "invalid_fact"),
    ],
)
def test_api_bad_input_is_a_chinese_400(client, payload, code):
    if isinstance(payload, str):
        r = client.post("/api/eligibility", data=payload, content_type="application/json")
    else:
        r = client.post("/api/eligibility", json=payload)
    assert r.status_code == 400
    body = r.get_json()
    assert body["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"])


def test_rule_ids_are_programs_of_the_knowledge_base():
    """Rules use the program ids of policies/demo_district/programs/ (written by the policy
    area); a rule for a program that is not described there would be a typo."""
    programs_dir = RULES.parent / "programs"
    if not programs_dir.is_dir():
        pytest.skip("policies/demo_district/programs/ not present")
    described = {p.stem for p in programs_dir.glob("*.yml")}
    assert {p.program_id for p in load_pack().programs} <= described


def test_a_self_correction_gives_the_corrected_age_and_a_dead_spouse_is_not_the_subject():
    day = dt.date(2026, 11, 23)
    said = "我一个人住在月牙湖，今年八十一，不对不对，八十二了，老伴走了好几年了，我能享受什么服务"
    assert facts.parse_age(said, day) == 82
    assert facts.parse_age("八十四，哦不，八十五", day) == 85
    assert facts.parse_age("八十四了，不对，生日还没过", day) == 84  # nothing after: the first
    assert facts.parse_relation(said) == "本人"
    assert facts.parse_relation("老伴去世了，帮我妈查查") == "母亲"
    assert facts.parse_relation("帮我老伴查查") == "老伴"
