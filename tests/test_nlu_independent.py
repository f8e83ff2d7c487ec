"""The trained model on sentences nobody trained on (benchmarks/nlu_independent.py): the
shared corpus, tests/nlu/independent.tsv and the entity development set
tests/nlu/entities_dev.yml, and the two newer development sets intents_dev.tsv and
entities_dev2.yml. Floors sit just under the measured figures
(benchmarks/RESULTS.md): they are far from the targets of issue 15 and only stop a change
from making understanding worse unnoticed."""

from __future__ import annotations

import pytest

from tests.stack import MODEL

pytestmark = pytest.mark.e2e

# Raised on 2026-11-29 (evening) after NLU round 6 (benchmarks/RESULTS.md), measured 0.821 /
# 0.825, 0.915 / 0.850 and entity F1 0.903; the two newer development sets (one tuned on)
# measured intent accuracy 0.944 and entity F1 0.821.
FLOORS = {
    "shared": {"intent_accuracy": 0.80, "entity_f1": 0.81},
    "independent": {"intent_accuracy": 0.90, "entity_f1": 0.84},
    "entities_dev": {"entity_f1": 0.89},
    "intents_dev": {"intent_accuracy": 0.93},
    "entities_dev2": {"entity_f1": 0.81},
}


@pytest.fixture(scope="module")
def figures():
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it)")
    from benchmarks.nlu_independent import LOADERS, parse_all, score, unseen

    out = {}
    for name in FLOORS:
        rows, _ = unseen(LOADERS[name]())
        if rows:
            out[name] = score(rows, parse_all(str(MODEL), [r["text"] for r in rows]))
    return out


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_understanding_does_not_get_worse(figures, name):
    if name not in figures:
        pytest.skip(f"{name} set not present")
    for key, floor in FLOORS[name].items():
        assert figures[name][key] >= floor, (name, key, figures[name][key])


def test_lines_a_model_was_trained_on_are_not_scored():
    from benchmarks.nlu_independent import _plain, load_independent, trained_texts, unseen

    assert _plain("我妈[八十五](age)岁，住[五老村](street)") == "我妈八十五岁，住五老村"
    kept, dropped = unseen(load_independent())
    assert dropped < 100 and not {r["text"] for r in kept} & trained_texts()
