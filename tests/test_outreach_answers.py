"""Reading check-in answers (bot/outreach/answers.py): the order (safety first), negations,
and floors on the independent set benchmarks/data/checkin_answers.tsv (written from the
question texts and label definitions only; figures in benchmarks/RESULTS.md). The floors
only stop a change from making things worse; they are not targets."""

from __future__ import annotations

import pytest

from bot.outreach.answers import read_answer


@pytest.mark.parametrize(
    "question, text, kind, needs",
    [
        ("health", "身体硬朗着呢，没啥毛病", "fine", ()),
        ("health", "还行，就是膝盖疼，下楼费劲", "need", ("health_worse",)),
        ("health", "不疼了，好多了", "fine", ()),
        ("help", "不用麻烦你们，啥也不缺", "fine", ()),
        ("help", "想请个人每礼拜来帮我擦擦洗洗", "need", ("wants_service",)),
        ("help", "米吃完了，腿脚不便出不去买", "need", ("health_worse", "no_food")),
        ("visitor", "儿子上个星期天来过", "fine", ()),
        ("visitor", "谁也没来，冷冷清清的", "need", ("no_visitor",)),
        ("visitor", "以后不要再打电话来了", "opt_out", ()),
        ("health", "你帮我转人工吧", "human", ()),
        ("help", "嗯", "unclear", ()),
    ],
)
def test_reading(question, text, kind, needs):
    reading = read_answer(question, text)
    assert (reading.kind, reading.needs[: len(needs)]) == (kind, needs)


@pytest.mark.parametrize("text", ["我老伴刚才摔倒了叫不醒", "活着没意思，药我都攒好了", "家里煤气味很重"])
def test_danger_is_read_before_anything_else(text):
    # even an answer that also sounds like "stop calling" or a need goes to the safety path
    reading = read_answer("health", text + "，以后别打了")
    assert reading.kind == "danger" and reading.safety["kind"] in ("crisis", "emergency")


def test_independent_set_floors_cues_only():
    from benchmarks.checkin_answers import evaluate, load

    rows = load()
    f = evaluate(rows, [None] * len(rows))
    assert f["danger_recall"] >= 0.9
    assert f["need_as_fine"] / f["needs"] <= 0.12
    assert f["ordinary_asserted"] <= 2


@pytest.mark.e2e
def test_independent_set_floors_with_the_trained_classifier():
    from benchmarks.checkin_answers import evaluate, load
    from benchmarks.nlu_independent import parse_all
    from tests.stack import MODEL

    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it)")
    rows = load()
    f = evaluate(rows, parse_all(str(MODEL), [r["answer"] for r in rows]))
    assert f["danger_recall"] >= 0.95, "a danger answer must reach the safety layer"
    assert f["ordinary_asserted"] <= 3, "ordinary answers are asked about, not asserted"
    assert f["need_as_fine"] / f["needs"] <= 0.10
    assert f["accuracy_after_no"] >= 0.65
