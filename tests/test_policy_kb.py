"""The policy knowledge base: packs load and validate, parameters follow their effective
dates, retrieval tolerates paraphrase and ASR errors, answers cite their document and say
"not sure" (with a human offer) instead of guessing."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.policy import kb as policy_kb
from bot.policy import nlu as policy_nlu
from bot.config import PROJECT_ROOT
from bot.policy.kb import ANSWER_THRESHOLD, PolicyPackError, get_kb, load_kb

POLICIES = PROJECT_ROOT / "policies"
SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"

REQUIRED = {
    "free_home_care_80plus",
    "basic_service_objects",
    "gov_purchased_home_services",
    "family_care_beds",
    "ltc_insurance",
    "capacity_assessment",
    "age_friendly_modification",
    "meal_aid",
    "time_bank",
    "silver_advisors",
    "special_difficulty_visits",
    "legal_aid_12348",
    "tekun_support",
    "elder_university",
    "medical_care_integration",
    "hotline_12349",
    "caregiver_training",
    "home_community_pilot_reform",
}
VOICE_UNSAFE = re.compile(r"https?:|www\.|[%/+<>@#&*_=~|\\^$]")


@pytest.fixture(scope="module")
def kb():
    return load_kb(POLICIES, "demo_district")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---------------------------------------------------------------- loading and sources


def test_demo_district_extends_national_and_has_every_program(kb):
    assert kb.chain == ("demo_district", "national")
    assert REQUIRED <= set(kb.program_ids())
    assert kb.program("home_community_pilot_reform").pack == "national"
    assert kb.program("free_home_care_80plus").pack == "demo_district"
    national = load_kb(POLICIES, "national")
    assert set(national.program_ids()) == {"home_community_pilot_reform"}


def test_get_kb_uses_the_configured_region_and_caches(monkeypatch):
    policy_kb.clear_cache()
    monkeypatch.setenv("POLICY_REGION", "national")
    national = get_kb()
    assert national.region == "national" and get_kb() is national
    monkeypatch.setenv("POLICY_REGION", "demo_district")
    assert get_kb().region == "demo_district"
    policy_kb.clear_cache()


def test_gov_purchased_services_cite_the_three_studies_as_support(kb):
    program = kb.program("gov_purchased_home_services")
    files = {c.file[:3] for c, _note in program.supporting}
    assert files == {"000", "001", "002"}
    assert all(kb.sources[c.document_id].kind == "study" for c, _ in program.supporting)


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed documents not found at {SEEDS}")
def test_every_quote_is_verbatim_from_its_seed_document(kb):
    """Facts come from the seeds: every quoted clause must be found in the cited file."""
    checked = 0
    for program in kb.programs():
        citations = [program.citation] + [v.citation for p in program.parameters.values() for v in p.values]
        for citation in citations:
            seed = SEEDS / citation.file
            assert seed.is_file(), f"{program.id}: cites missing file {citation.file}"
            if citation.quote:
                assert _squash(citation.quote) in _squash(seed.read_text(encoding="utf-8")), (
                    f"{program.id}: quote not in {citation.file}: {citation.quote}"
                )
                checked += 1
    assert checked >= 30


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed documents not found at {SEEDS}")
def test_the_spam_string_of_document_004_is_never_copied(kb):
    seed = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    spam = seed.strip().splitlines()[0].strip()  # the page's first line is the junk name
    assert spam and spam not in "示范区"
    for path in [*POLICIES.glob("*/pack.yml"), *POLICIES.glob("*/programs/*.yml")]:
        assert spam not in path.read_text(encoding="utf-8"), path
    for program in kb.programs():
        for question in [program.name, *[f.question for f in program.faq]]:
            assert spam not in kb.answer(question).text
    assert kb.sources["district_plan_14th"].title.startswith("示范区")


# ---------------------------------------------------------------- effective dates


def test_hours_per_month_follow_their_effective_dates(kb):
    p = "free_home_care_80plus"
    assert kb.parameter(p, "hours_per_month", on=dt.date(2023, 6, 1)) == 2
    assert kb.parameter(p, "hours_per_month", on="2024-12-31") == 2
    assert kb.parameter(p, "hours_per_month", on="2025-01-01") == 3
    assert kb.parameter(p, "hours_per_month", on=dt.date(2026, 11, 23)) == 3
    assert kb.parameter(p, "hours_per_month", on="2019-06-01") is None  # no document yet
    assert kb.parameter(p, "hourly_rate_yuan", on="2026-11-23") == 20
    assert kb.parameter(p, "min_age", on="2026-11-23") == 80
    entry = kb.parameter_entry(p, "hours_per_month", on="2026-11-23")
    assert entry.qualifier == "不少于" and entry.citation.clause == "四(一)2"
    with pytest.raises(KeyError):
        kb.parameter(p, "no_such_parameter")
    with pytest.raises(KeyError):
        kb.parameter("no_such_program", "hours_per_month")


def test_today_comes_from_the_clock(kb, monkeypatch):
    monkeypatch.setenv("CLOCK_NOW", "2023-06-01")
    assert kb.parameter("free_home_care_80plus", "hours_per_month") == 2
    assert "每月免费照料2小时" in kb.answer("八十岁以上每个月免费照料几个小时").text
    monkeypatch.setenv("CLOCK_NOW", "2026-11-23")
    assert kb.parameter("free_home_care_80plus", "hours_per_month") == 3
    assert "不少于3小时" in kb.answer("八十岁以上每个月免费照料几个小时").text


def test_the_spoken_answer_changes_with_the_date(kb):
    question = "我妈八十五了，免费照料一个月有几个小时"
    before = kb.answer(question, on="2023-06-01")
    after = kb.answer(question, on="2026-11-23")
    assert before.program_id == after.program_id == "free_home_care_80plus"
    assert "2小时" in before.text and "3小时" not in before.text
    assert "不少于3小时" in after.text and "2025年" in after.text
    uni = "老年大学在哪儿上课呀"
    assert "部分街道" in kb.answer(uni, on="2021-06-01").text
    assert "学习点" not in kb.answer(uni, on="2021-06-01").text
    assert "所有社区" in kb.answer(uni, on="2026-11-23").text


@pytest.mark.parametrize("day", ["2022-06-01", "2024-06-30", "2025-01-01", "2026-11-23"])
def test_every_text_renders_with_values_in_force(kb, day):
    for program in kb.programs():
        rendered = program.as_dict(dt.date.fromisoformat(day))
        texts = [rendered["summary"], *rendered["benefits"], *[f["a"] for f in rendered["faq"]]]
        for text in texts:
            assert "{" not in text and "[[" not in text, (program.id, text)
            assert "还没有文件写明" not in text, (program.id, day, text)


# ---------------------------------------------------------------- retrieval


@pytest.mark.parametrize(
    "query,expected",
    [
        ("时间迎行是什么", "time_bank"),  # 银行 misheard
        ("实践银行怎么参加", "time_bank"),  # 时间 -> 实践
        ("银法顾问在哪找", "silver_advisors"),
        ("引发顾问能帮我干啥", "silver_advisors"),
        ("一样融合是怎么回事", "medical_care_integration"),
        ("家庭一生能上门吗", "medical_care_integration"),
        ("老年大雪怎么报名", "elder_university"),
        ("是老化改造谁家能做", "age_friendly_modification"),
        ("家庭养老窗位有补贴吗", "family_care_beds"),
        ("常护险去哪办", "ltc_insurance"),
        ("祝餐点在哪", "meal_aid"),
        ("一二三四八是干什么的", "legal_aid_12348"),
        ("幺二三四九几点有人接", "hotline_12349"),
        ("特会对象有哪些人", "basic_service_objects"),
        ("正府购买服务谁能享受", "gov_purchased_home_services"),
        ("高龄津帖一个月多少", "free_home_care_80plus"),
    ],
)
def test_search_tolerates_asr_errors(kb, query, expected):
    hits = kb.search(query)
    assert hits and hits[0].program_id == expected, [(h.program_id, h.score) for h in hits]
    assert hits[0].score >= ANSWER_THRESHOLD
    assert hits[0].citation.title and hits[0].answer.endswith(hits[0].citation.spoken())


@pytest.mark.parametrize(
    "query,expected",
    [
        ("我爸瘫在床上了，有没有管照护的保险", "ltc_insurance"),
        ("政府出钱请人上门照顾老人，有这回事吗", "gov_purchased_home_services"),
        ("我妈九十二了，我想学学怎么照顾她", "caregiver_training"),
        ("独居老人有没有人定期来看看", "special_difficulty_visits"),
        ("子女不赡养老人怎么办", "legal_aid_12348"),
        ("社区食堂一顿饭多少钱", "meal_aid"),
        ("八十岁以上的老人有什么政策", "free_home_care_80plus"),
        ("我家老人不想去养老院，在家能不能享受机构那样的服务", "family_care_beds"),
    ],
)
def test_search_understands_paraphrase(kb, query, expected):
    hits = kb.search(query)
    assert hits and hits[0].program_id == expected, [(h.program_id, h.score) for h in hits]
    assert kb.answer(query).program_id == expected


def test_search_ranks_and_limits(kb):
    hits = kb.search("家庭养老床位", limit=3)
    assert 1 <= len(hits) <= 3 and hits[0].program_id == "family_care_beds"
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert kb.search("", limit=3) == [] and kb.search("家庭养老床位", limit=0) == []


@pytest.mark.parametrize(
    "question",
    ["殡葬补贴怎么领", "老人坐公交车要不要钱", "残疾证去哪里办", "老年证在哪里办", "宠物狗要打什么疫苗"],
)
def test_out_of_pack_questions_get_an_honest_not_sure(kb, question):
    answer = kb.answer(question)
    assert answer.kind == "not_sure" and not answer.confident
    assert answer.confidence < ANSWER_THRESHOLD and answer.citation is None
    assert "不太确定" in answer.text and "人工" in answer.text
    assert "依据" not in answer.text


def test_a_question_with_no_topic_asks_which_program(kb):
    answer = kb.answer("我想问问养老政策")
    assert answer.kind == "clarify" and len(answer.suggestions) >= 3
    assert "哪一项" in answer.text and "转人工" in answer.text


# ---------------------------------------------------------------- answers


def test_answers_pick_the_aspect_asked_about(kb):
    assert "区政务中心" in kb.answer("长护险在哪申请").text
    assert "材料" in kb.answer("长护险要带什么材料").text
    assert "失能评估" in kb.answer("照护保险的流程是怎样的").text
    docs = kb.answer("那要带什么材料", context_program="ltc_insurance")
    assert docs.program_id == "ltc_insurance" and "材料" in docs.text
    assert kb.answer("特定对象是什么样的老人").text.startswith("特定对象是失能失智")


def test_program_argument_accepts_ids_aliases_and_normalised_forms(kb):
    assert kb.resolve_program("time_bank") == "time_bank"
    assert kb.resolve_program("长护险") == "ltc_insurance"
    assert kb.resolve_program("长期护理保险") == "ltc_insurance"
    assert kb.resolve_program("八十岁以上免费照料") == "free_home_care_80plus"
    assert kb.resolve_program("高龄补贴") == "free_home_care_80plus"
    assert kb.resolve_program("银法顾问") == "silver_advisors"
    assert kb.resolve_program("养老") is None and kb.resolve_program("") is None
    answer = kb.answer(program="family_care_beds")
    assert answer.program_id == "family_care_beds" and answer.confidence == 1.0


@pytest.mark.parametrize("program_id", sorted(REQUIRED))
def test_answers_are_short_spoken_and_cited(kb, program_id):
    program = kb.program(program_id)
    questions = [
        program.name,
        *[f.question for f in program.faq],
        f"{program.short_name}怎么申请",
        f"{program.short_name}要带什么材料",
    ]
    for question in questions:
        answer = kb.answer(question, on="2026-11-23")
        assert answer.program_id == program_id, (question, answer)
        # the program's document, or a study it rests on when an FAQ says so
        titles = {program.citation.title, *(c.title for c, _note in program.supporting)}
        assert answer.citation.title in titles
        assert answer.text.endswith(answer.citation.spoken()), answer.text
        assert not VOICE_UNSAFE.search(answer.text), answer.text
        assert len(answer.text) <= 200, answer.text


def test_nlu_vocabularies_are_in_step_with_their_sources(kb):
    """Program aliases, streets, service words and the dont_come phrase have one home each;
    the NLU data and the jieba dictionary are generated from them."""
    assert policy_nlu.stale(kb) == [], "run: python -m bot.policy.nlu"


def test_a_generated_block_is_rewritten_from_its_source_and_needs_its_markers(tmp_path):
    path = tmp_path / "lookups.yml"
    text = policy_nlu.LOOKUPS_FILE.read_text(encoding="utf-8")
    edited = text.replace("    - 五老村\n", "    - 五老村\n    - 乱加的街道\n", 1)
    assert "乱加的街道" in edited and policy_nlu.render_lookups(edited) == text  # a hand edit is undone
    broken = text.replace("# ---- end of generated: street ----\n", "")
    with pytest.raises(ValueError, match="markers of the generated block 'street'"):
        policy_nlu.render_lookups(broken, path)
    jieba_words = {line.split()[0] for line in policy_nlu.render_jieba().splitlines()}
    assert {"五老村", "红花", "中华门", "陪诊", "上门护理"} <= jieba_words


def test_every_program_entity_in_the_nlu_examples_resolves(kb):
    data = yaml.safe_load((PROJECT_ROOT / "data/nlu/policy.yml").read_text(encoding="utf-8"))
    examples = next(block["examples"] for block in data["nlu"] if block.get("intent") == "ask_policy")
    lines = [line[2:] for line in examples.splitlines() if line.startswith("- ")]
    assert len(lines) >= 40
    tagged = [m for line in lines for m in re.findall(r"\[([^\]]+)\]\(program\)", line)]
    assert len(tagged) >= 40
    for value in tagged:
        assert kb.resolve_program(value), value


# ---------------------------------------------------------------- malformed packs


@pytest.fixture
def pack_copy(tmp_path):
    """A private copy of the real packs to break."""
    root = tmp_path / "policies"
    for region in ("national", "demo_district"):
        shutil.copytree(POLICIES / region, root / region, ignore=shutil.ignore_patterns("rules"))
    return root


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _set_in(data, keys, value):
    for key in keys[:-1]:
        data = data[key]
    data[keys[-1]] = value


FREE = "demo_district/programs/free_home_care_80plus.yml"
LTC = "demo_district/programs/ltc_insurance.yml"


@pytest.mark.parametrize(
    "file,change,field",
    [
        (FREE, lambda d: d.pop("name"), "name"),
        (FREE, lambda d: d.update(aliases="高龄补贴"), "aliases"),
        (FREE, lambda d: d.update(colour="red"), "colour"),
        (
            FREE,
            lambda d: _set_in(
                d, ["parameters", "hours_per_month", "values", 1, "effective_from"], "2025/01/01"
            ),
            "parameters.hours_per_month.values[1].effective_from",
        ),
        (
            FREE,
            lambda d: _set_in(
                d, ["parameters", "hours_per_month", "values", 1, "effective_from"], "2025-02-30"
            ),
            "parameters.hours_per_month.values[1].effective_from",
        ),
        (
            FREE,
            lambda d: _set_in(
                d, ["parameters", "hours_per_month", "values", 0, "effective_to"], "2025-06-30"
            ),
            "parameters.hours_per_month.values",
        ),
        (
            FREE,
            lambda d: d["parameters"]["hours_per_month"]["values"][0].pop("value"),
            "parameters.hours_per_month.values[0].value",
        ),
        (FREE, lambda d: _set_in(d, ["source", "document"], "unknown_doc"), "source.document"),
        (FREE, lambda d: d.update(summary="每月{hours_per_mnth}小时"), "summary"),
        (FREE, lambda d: d["faq"][0].update(facet="gossip"), "faq[0].facet"),
        (FREE, lambda d: d.update(id="something_else"), "id"),
        (LTC, lambda d: d["aliases"].append("家庭床位"), "aliases[11]"),
        ("demo_district/pack.yml", lambda d: d.pop("sources"), "sources"),
        ("demo_district/pack.yml", lambda d: d["sources"][0].pop("issuer"), "sources[0].issuer"),
        ("demo_district/pack.yml", lambda d: d.update(extends="province_x"), "extends"),
    ],
)
def test_a_malformed_pack_names_the_file_and_the_field(pack_copy, file, change, field):
    path = pack_copy / file
    _edit(path, change)
    with pytest.raises(PolicyPackError) as err:
        load_kb(pack_copy, "demo_district")
    assert err.value.field == field
    assert Path(err.value.path).name == ("pack.yml" if file.endswith("pack.yml") else path.name)
    assert field in str(err.value) and Path(err.value.path).name in str(err.value)


def test_a_file_that_is_not_yaml_is_reported_with_its_line(pack_copy):
    path = pack_copy / FREE
    path.write_text("id: free_home_care_80plus\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyPackError) as err:
        load_kb(pack_copy, "demo_district")
    assert err.value.path == str(path) and err.value.field.startswith("line ")


def test_the_copied_pack_itself_is_valid(pack_copy):
    """Guards the test above: the copy only fails because of the change made to it."""
    assert REQUIRED <= set(load_kb(pack_copy, "demo_district").program_ids())


def test_unquoted_yaml_dates_are_accepted(pack_copy):
    path = pack_copy / FREE
    path.write_text(path.read_text(encoding="utf-8").replace('"2025-01-01"', "2025-01-01"), encoding="utf-8")
    kb = load_kb(pack_copy, "demo_district")
    assert kb.parameter("free_home_care_80plus", "hours_per_month", on="2025-01-01") == 3
