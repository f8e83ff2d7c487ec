"""Intent accuracy, intent macro-F1 and entity F1 of a trained model on the held-out file.

    .venv/bin/python benchmarks/nlu_accuracy.py [--model models/current.tar.gz]
        [--data tests/nlu/heldout.yml] [--errors] [--json out.json]

The model is loaded in-process with Rasa's Agent and every example is parsed as the server
would parse it. Gold entity spans are moved through the same normalisation the pipeline
applies (rasa_ext.nlu_components.normalize_annotated: 八十五 -> 85), then compared exactly:
an entity counts as correct when type, start and end all match (strict, span-level F1;
`rasa test nlu` reports a token-level F1, which is more lenient and cannot see through the
normaliser's change of offsets). A second figure compares (type, value) after synonyms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def load_examples(path: Path) -> list[dict]:
    from rasa.shared.nlu.training_data.loading import load_data

    return examples_from_messages(load_data(str(path)).intent_examples)


def examples_from_messages(messages) -> list[dict]:
    """Gold examples with their entity spans moved through the pipeline's normalisation."""
    from rasa_ext.nlu_components import normalize_annotated

    examples = []
    for message in messages:
        text = message.get("text")
        entities = message.get("entities") or []
        norm_text, norm_entities = normalize_annotated(text, entities)
        examples.append(
            {"text": text, "intent": message.get("intent"), "norm_text": norm_text, "entities": norm_entities}
        )
    return examples


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def quiet() -> None:
    """Rasa logs every parse through structlog at debug level: keep the figures readable."""
    import structlog

    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def evaluate(model: str, examples: list[dict]) -> dict:
    from rasa.core.agent import Agent
    from sklearn.metrics import accuracy_score, f1_score

    quiet()

    agent = Agent.load(model)

    async def parse_all():
        return [await agent.parse_message(ex["text"]) for ex in examples]

    t0 = time.perf_counter()
    parsed = asyncio.run(parse_all())
    parse_ms = (time.perf_counter() - t0) * 1000 / max(1, len(examples))

    gold_intents = [ex["intent"] for ex in examples]
    pred_intents = [p["intent"]["name"] if p.get("intent") else None for p in parsed]
    span = Counter()
    value = Counter()
    errors = []
    for ex, p, pred_intent in zip(examples, parsed, pred_intents):
        gold_spans = {(e["entity"], e["start"], e["end"]) for e in ex["entities"]}
        pred_spans = {(e["entity"], e["start"], e["end"]) for e in p.get("entities", [])}
        span["tp"] += len(gold_spans & pred_spans)
        span["fp"] += len(pred_spans - gold_spans)
        span["fn"] += len(gold_spans - pred_spans)
        gold_values = {(e["entity"], str(e.get("value"))) for e in ex["entities"]}
        pred_values = {(e["entity"], str(e.get("value"))) for e in p.get("entities", [])}
        value["tp"] += len(gold_values & pred_values)
        value["fp"] += len(pred_values - gold_values)
        value["fn"] += len(gold_values - pred_values)
        if pred_intent != ex["intent"] or gold_spans != pred_spans:
            errors.append(
                {
                    "text": ex["text"],
                    "normalised": p.get("text"),
                    "intent": ex["intent"],
                    "predicted": pred_intent,
                    "confidence": round(p["intent"].get("confidence", 0), 3),
                    "missing": sorted(gold_spans - pred_spans),
                    "extra": sorted(pred_spans - gold_spans),
                }
            )
    labels = sorted(set(gold_intents))
    per_intent = f1_score(gold_intents, pred_intents, labels=labels, average=None, zero_division=0)
    return {
        "model": model,
        "examples": len(examples),
        "intents": len(labels),
        "intent_accuracy": accuracy_score(gold_intents, pred_intents),
        "intent_macro_f1": f1_score(
            gold_intents, pred_intents, labels=labels, average="macro", zero_division=0
        ),
        "entity_span": dict(zip(("precision", "recall", "f1"), f1(**span))),
        "entity_value": dict(zip(("precision", "recall", "f1"), f1(**value))),
        "entity_count": span["tp"] + span["fn"],
        "parse_ms_mean": parse_ms,
        "per_intent_f1": dict(zip(labels, map(float, per_intent))),
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.environ.get("RASA_MODEL", str(ROOT / "models/current.tar.gz")))
    ap.add_argument("--data", default=str(ROOT / "tests/nlu/heldout.yml"))
    ap.add_argument("--errors", action="store_true", help="list every misclassified example")
    ap.add_argument("--json", help="also write the full result here")
    args = ap.parse_args()
    logging.disable(logging.WARNING)

    result = evaluate(args.model, load_examples(Path(args.data)))
    print(f"model            {result['model']}")
    print(
        f"held-out         {args.data}: {result['examples']} examples, {result['intents']} intents, "
        f"{result['entity_count']} entities"
    )
    print(f"intent accuracy  {result['intent_accuracy']:.3f}")
    print(f"intent macro-F1  {result['intent_macro_f1']:.3f}")
    es, ev = result["entity_span"], result["entity_value"]
    print(f"entity F1 (span) {es['f1']:.3f}  (P {es['precision']:.3f}, R {es['recall']:.3f})")
    print(f"entity F1 (value){ev['f1']:.3f}  (P {ev['precision']:.3f}, R {ev['recall']:.3f})")
    print(f"parse time       {result['parse_ms_mean']:.1f} ms/message (in-process)")
    weak = {k: round(v, 2) for k, v in result["per_intent_f1"].items() if v < 0.95}
    if weak:
        print(f"intents < 0.95   {weak}")
    if args.errors:
        for e in result["errors"]:
            print("  ", json.dumps(e, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
