"""Intent and entity figures on sentences nobody trained on.

    .venv/bin/python benchmarks/nlu_independent.py [--model models/current.tar.gz] [--json out.json]
        [--set shared --set independent --set entities_dev]

Two sets, both written from the intent and entity definitions alone, never read into
data/nlu: ../shared/nlu-eval/corpus.tsv (932 lines; a second intent from
secondary_intents.tsv is accepted for two-request lines) and tests/nlu/independent.tsv
(566 lines, written by a helper who did not see the training data). A third set,
tests/nlu/entities_dev.yml (Rasa NLU format, written from DESIGN.md's entity definitions and
personas), is the entity development set: `--set entities_dev`. A fourth,
tests/nlu/intents_dev.tsv (columns text, intent; written from DESIGN.md's intent names and
personas before data/nlu was read), is the intent development set: `--set intents_dev`; tests/nlu/entities_dev2.yml (same
format and origin, with dialect and speech-recognition phrasings) is a second entity
development set: `--set entities_dev2`; its
per-intent table and confusions may be read and acted on (never train on its lines). Emergency, crisis and
scam lines are the safety layer's (benchmarks/safety_eval.py) and are left out here.

Per set: intent accuracy, macro-F1 (over the gold intents present), per-intent precision and
recall, the most frequent confusions, and entity F1 on (type, normalised value) pairs.
The model is parsed in-process with Rasa's Agent, as the server parses a message.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHARED = ROOT.parent / "shared" / "nlu-eval"
# Lines that happen to be word for word a training example (short ones: "查预约") are left
# out: they measure memory, not understanding. How many is printed.
SAFETY_INTENTS = {"emergency", "scam_report", "crisis", "safety_check", "safety_denial"}


def trained_texts() -> set[str]:
    import yaml

    texts = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                texts.add(_plain(line.lstrip("- ").strip()))
    return texts


def _plain(example: str) -> str:
    """A training example without its entity annotation: [85](age) -> 85."""
    import re

    return re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", lambda m: m.group(1) or m.group(2), example)


def unseen(rows: list[dict]) -> tuple[list[dict], int]:
    seen = trained_texts()
    kept = [r for r in rows if r["text"] not in seen]
    return kept, len(rows) - len(kept)


def load_shared() -> list[dict]:
    secondary: dict[str, str] = {}
    path = SHARED / "secondary_intents.tsv"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():  # text, intent, second
            parts = line.split("\t")
            if len(parts) >= 3 and not line.startswith("#"):
                secondary[parts[0]] = parts[2]
    rows = []
    for line in (SHARED / "corpus.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        intent, safety, text = parts[0], parts[1], parts[2]
        if safety != "none" or intent in SAFETY_INTENTS:
            continue
        entities = _entities(parts[3] if len(parts) > 3 else "")
        rows.append({"text": text, "intent": intent, "entities": entities, "also": secondary.get(text)})
    return rows


def load_independent(path: Path = ROOT / "tests" / "nlu" / "independent.tsv") -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["intent"] in SAFETY_INTENTS:
                continue
            rows.append(
                {
                    "text": row["text"],
                    "intent": row["intent"],
                    "entities": _entities(row.get("entities") or ""),
                    "also": None,
                }
            )
    return rows


def load_entities_dev(path: Path = ROOT / "tests" / "nlu" / "entities_dev.yml") -> list[dict]:
    """A set in Rasa NLU training-data format; an entity's gold value is its annotated
    value (the words as said unless the annotation gives one)."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().read(str(path))
    return [
        {
            "text": m.get("text"),
            "intent": m.get("intent"),
            "entities": [
                (e["entity"], str(e.get("value") or m.get("text")[e["start"] : e["end"]]))
                for e in m.get("entities") or []
            ],
            "also": None,
        }
        for m in data.training_examples
    ]


def load_entities_dev2() -> list[dict]:
    return load_entities_dev(ROOT / "tests" / "nlu" / "entities_dev2.yml")


def load_intents_dev() -> list[dict]:
    return load_independent(ROOT / "tests" / "nlu" / "intents_dev.tsv")


DEV_SETS = {"entities_dev", "entities_dev2", "intents_dev"}  # sets whose lines may be read
LOADERS = {
    "shared": load_shared,
    "independent": load_independent,
    "entities_dev": load_entities_dev,
    "entities_dev2": load_entities_dev2,
    "intents_dev": load_intents_dev,
}


def _entities(field: str) -> list[tuple[str, str]]:
    pairs = []
    for item in field.split(";"):
        if "=" in item:
            kind, value = item.split("=", 1)
            pairs.append((kind.strip(), value.strip()))
    return pairs


def _norm(value: str) -> str:
    from bot.text.norm import normalize

    return normalize(str(value), fuzzy=True).replace(" ", "")


def score(rows: list[dict], parsed: list[dict]) -> dict:
    gold_counts, pred_counts, correct = Counter(), Counter(), Counter()
    confusions: Counter = Counter()
    ent_tp = ent_fp = ent_fn = 0
    by_type: dict = defaultdict(Counter)
    for row, p in zip(rows, parsed):
        predicted = (p.get("intent") or {}).get("name") or "nlu_fallback"
        gold = row["intent"]
        ok = predicted == gold or (row["also"] and predicted == row["also"])
        gold_counts[gold] += 1
        pred_counts[predicted] += 1
        if ok:
            correct[gold] += 1
        else:
            confusions[(gold, predicted)] += 1
        gold_e = [(k, _norm(v)) for k, v in row["entities"]]
        # a prediction is right when its canonical value (母亲) or the words it covers (妈)
        # are the gold value: the corpora annotate values as they appear in the text
        said = p.get("text") or ""
        pred_e = []
        for e in p.get("entities") or []:
            if not e.get("entity") or str(e.get("entity")).startswith("safety"):
                continue
            forms = {_norm(e.get("value", ""))}
            if isinstance(e.get("start"), int) and isinstance(e.get("end"), int):
                forms.add(_norm(said[e["start"] : e["end"]]))
            pred_e.append((e["entity"], forms))
        unmatched = list(pred_e)
        for kind, value in gold_e:
            hit = next((i for i, (k, forms) in enumerate(unmatched) if k == kind and value in forms), None)
            if hit is None:
                ent_fn += 1
                by_type[kind]["fn"] += 1
            else:
                ent_tp += 1
                by_type[kind]["tp"] += 1
                unmatched.pop(hit)
        for kind, _forms in unmatched:
            ent_fp += 1
            by_type[kind]["fp"] += 1
    per_intent = {}
    for intent in sorted(gold_counts):
        recall = correct[intent] / gold_counts[intent]
        precision = correct[intent] / pred_counts[intent] if pred_counts[intent] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {
            "n": gold_counts[intent],
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
        }
    precision_e = ent_tp / (ent_tp + ent_fp) if ent_tp + ent_fp else 0.0
    recall_e = ent_tp / (ent_tp + ent_fn) if ent_tp + ent_fn else 0.0
    return {
        "lines": len(rows),
        "intent_accuracy": round(sum(correct.values()) / max(1, len(rows)), 3),
        "intent_macro_f1": round(sum(v["f1"] for v in per_intent.values()) / max(1, len(per_intent)), 3),
        "entity_precision": round(precision_e, 3),
        "entity_recall": round(recall_e, 3),
        "entity_f1": round(2 * precision_e * recall_e / (precision_e + recall_e), 3)
        if precision_e + recall_e
        else 0.0,
        "per_intent": per_intent,
        "per_entity": {kind: _prf(c["tp"], c["fp"], c["fn"]) for kind, c in sorted(by_type.items())},
        "confusions": [[g, p, n] for (g, p), n in confusions.most_common(15)],
    }


def _prf(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": tp + fn, "precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def parse_all(model: str, texts: list[str]) -> list[dict]:
    """Parses every text with the model in-process, as the server parses a message."""
    from rasa.core.agent import Agent

    import structlog

    saved_structlog, saved_disable = structlog.get_config(), logging.root.manager.disable
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.disable(logging.INFO)  # Rasa's debug lines would print the evaluation sentences
    try:
        agent = Agent.load(model)

        async def run():
            return [await agent.parse_message(t) for t in texts]

        return asyncio.run(run())
    finally:  # the tests call this in-process: leave logging as it was
        logging.disable(saved_disable)
        structlog.configure(**saved_structlog)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    ap.add_argument("--json", help="write all figures here")
    ap.add_argument(
        "--set",
        action="append",
        choices=sorted(LOADERS),
        dest="sets",
        help="which set(s) to score (repeatable); default shared and independent",
    )
    ap.add_argument(
        "--errors",
        action="store_true",
        help="print the misclassified lines and entity mismatches of the development sets (never of the held-out ones)",
    )
    args = ap.parse_args()
    sets = {name: LOADERS[name]() for name in (args.sets or ["shared", "independent"])}
    figures = {}
    for name, rows in sets.items():
        rows, dropped = unseen(rows)
        print(f"{name}: {dropped} lines left out (word for word a training example)")
        parsed = parse_all(args.model, [r["text"] for r in rows])
        fig = score(rows, parsed)
        figures[name] = fig
        if args.errors and name in DEV_SETS:
            for row, p in zip(rows, parsed):
                intent = p.get("intent") or {}
                if intent.get("name") != row["intent"]:
                    print(
                        f"   ERR {row['intent']} -> {intent.get('name')} {intent.get('confidence', 0):.2f} {row['text']}"
                    )
                said = p.get("text") or ""
                got = [
                    (e["entity"], str(e.get("value")), said[e["start"] : e["end"]] if "start" in e else "")
                    for e in p.get("entities") or []
                    if e.get("entity") and not str(e["entity"]).startswith("safety")
                ]
                gold = sorted(row["entities"])
                if sorted((k, _norm(v)) for k, v in gold) != sorted((k, _norm(w or v)) for k, v, w in got):
                    print(f"   ENT {row['text']}  gold={gold}  got={got}")
        print(
            f"{name:12s} lines={fig['lines']:4d} intent accuracy {fig['intent_accuracy']:.3f} "
            f"macro-F1 {fig['intent_macro_f1']:.3f} entity P/R/F1 {fig['entity_precision']:.3f}/"
            f"{fig['entity_recall']:.3f}/{fig['entity_f1']:.3f}"
        )
        worst = sorted(fig["per_intent"].items(), key=lambda kv: kv[1]["f1"])[:6]
        print(
            "   weakest intents: "
            + ", ".join(
                f"{k} {v['f1']:.2f} (P {v['precision']:.2f} R {v['recall']:.2f}, n={v['n']})"
                for k, v in worst
            )
        )
        print(
            "   top confusions (gold -> predicted): "
            + ", ".join(f"{g}->{p} {n}" for g, p, n in fig["confusions"][:8])
        )
        print(
            "   entities by type: "
            + ", ".join(
                f"{k} {v['f1']:.2f} (P {v['precision']:.2f} R {v['recall']:.2f}, n={v['n']})"
                for k, v in fig["per_entity"].items()
            )
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
