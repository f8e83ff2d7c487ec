"""The trained model against the held-out file (tests/nlu/heldout.yml, never trained on).

Floors sit below the measured figures (benchmarks/RESULTS.md) so that a real regression
fails and run-to-run noise does not. RASA_MODEL picks a model other than models/current.
"""

import sys
from pathlib import Path

import pytest

from tests.stack import MODEL

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"


@pytest.fixture(scope="module")
def result():
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it)")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from nlu_accuracy import evaluate, load_examples

    return evaluate(str(MODEL), load_examples(HELDOUT))


def test_heldout_file_covers_every_intent_and_entity_of_the_contract():
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    text = HELDOUT.read_text()
    intents = {block["intent"] for block in yaml.safe_load(text)["nlu"]}
    contract = {
        "greet",
        "goodbye",
        "affirm",
        "deny",
        "thank",
        "inform",
        "repeat",
        "request_human",
        "out_of_scope",
        "bot_challenge",
        "ask_policy",
        "check_eligibility",
        "book_service",
        "query_booking",
        "cancel_booking",
        "reschedule_booking",
        "complaint",
        "emergency",
        "scam_report",
    }
    assert contract <= intents
    for entity in domain["entities"]:
        assert f"]({entity}" in text, f"held-out has no example of entity {entity}"


def test_heldout_is_never_training_data():
    from rasa.shared.nlu.training_data.loading import load_data

    train = {m.get("text") for m in load_data(str(ROOT / "data" / "nlu")).intent_examples}
    held = {m.get("text") for m in load_data(str(HELDOUT)).intent_examples}
    assert not train & held, f"held-out examples found in data/nlu: {sorted(train & held)[:5]}"


def test_intent_accuracy_and_macro_f1(result):
    assert result["intent_accuracy"] >= 0.85, result["errors"]
    assert result["intent_macro_f1"] >= 0.85, result["errors"]


def test_entity_f1(result):
    assert result["entity_span"]["f1"] >= 0.80, result["errors"]


def test_safety_intents_are_not_missed(result):
    """An emergency or a scam taken for something else is the worst error we can make."""
    for intent in ("emergency", "scam_report", "request_human"):
        assert result["per_intent_f1"][intent] >= 0.85, (intent, result["errors"])
