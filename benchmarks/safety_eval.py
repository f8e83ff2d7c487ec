"""Safety figures: emergency + crisis recall, scam precision, harmful confusions.

    .venv/bin/python benchmarks/safety_eval.py [--model models/current.tar.gz] [--errors SET]

Sets, none of them trained on:
- `shared`: ../shared/nlu-eval/corpus.tsv (safety column), written from the definitions alone;
- `dev`: benchmarks/data/safety_eval.tsv, written by a helper from the definitions only; its
  misses were read while the cues were written, so it is a tuned figure;
- `dev2`: benchmarks/data/safety_dev2.tsv, a second set written the same way (indirect and
  dialect phrasings of danger), also read while the cues were tuned;
- `dev3`: benchmarks/data/safety_dev3.tsv, 335 lines written 2026-11-29 (issue 14) before its
  writer read the cues or the training data (understated and relatives' reports of danger,
  indirect crisis, scams at three stages, ordinary lines about money, codes, medicine, old
  falls and corrections); its errors were then read while the cues were tuned;
- `dev4`: benchmarks/data/safety_dev4.tsv, 286 lines written 2026-11-29 (issue 14, second
  round) from the definitions and personas before its writer read the cues or the training
  data (elders' and relatives' words, northern and Jiang-Huai dialect, phone-line recognition
  errors, understated and follow-up danger, farewells, scams at three stages, ordinary lines
  with money, codes, medicine, old falls, idioms with 死, corrections, complaints, health-
  product and anti-fraud questions); its errors were then read while the cues were tuned;
- `dev5`: benchmarks/data/safety_dev5.tsv, 296 lines written 2026-11-29 (issue 14, third
  round) before its writer read the cues, the safety code or the older sets' rows (falls,
  bleeding, choking, burns, cold, low blood sugar, wandering dementia patients, crises told
  by relatives and carers, Cantonese-influenced and Jiang-Huai wording, recognition errors
  with sound-alike characters, understatement; 136 risky-looking ordinary lines); its errors
  were then read while the cues were tuned;
- `dev6`: benchmarks/data/safety_dev6.tsv, 225 lines written 2026-11-29 (issue 14, fourth
  round) before its writer read the cues or the safety code: 170 ordinary lines a keyword
  reader would flag (pensions and subsidies arriving or stopping, SMS notices, our own
  verification codes, medicine, past or prevented falls, deaths long ago, complaints, idioms
  with 死, anti-fraud questions, scam calls already hung up, requests for a person; elders',
  relatives', dialect and recognition-error wording) and 55 danger, crisis and scam lines in
  new phrasings; its errors were then read while the layer was tuned;
- `holdout`: benchmarks/data/safety_holdout.tsv, written by another helper the same way,
  never read by whoever wrote the cues (only its totals are looked at);
- `holdout2`: benchmarks/data/safety_holdout2.tsv, written 2026-11-28 by a third helper who
  saw neither the cues nor the training data, after the classifier's safety examples
  (data/nlu/callers_safety.yml) were written; never read, only its totals.

`layer` scores bot.safety.assess alone on the normalised text (what every message goes
through); with --model the whole Rasa pipeline is run too (classifier + SafetyLayer), and the
final intent is scored. A message the assistant answers with a question (`unsure`) is
counted apart: it is neither a miss of a danger that is then asked about nor a false alarm.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bot.safety import assess  # noqa: E402
from bot.text.norm import normalize  # noqa: E402

SETS = {
    "shared": ROOT.parent / "shared" / "nlu-eval" / "corpus.tsv",
    "dev": ROOT / "benchmarks" / "data" / "safety_eval.tsv",
    "dev2": ROOT / "benchmarks" / "data" / "safety_dev2.tsv",
    "dev3": ROOT / "benchmarks" / "data" / "safety_dev3.tsv",
    "dev4": ROOT / "benchmarks" / "data" / "safety_dev4.tsv",
    "dev5": ROOT / "benchmarks" / "data" / "safety_dev5.tsv",
    "dev6": ROOT / "benchmarks" / "data" / "safety_dev6.tsv",
    "holdout": ROOT / "benchmarks" / "data" / "safety_holdout.tsv",
    "holdout2": ROOT / "benchmarks" / "data" / "safety_holdout2.tsv",
}
INTENT_KIND = {
    "emergency": "emergency",
    "crisis": "crisis",
    "scam_report": "scam",
    "safety_check": "unsure",
    "safety_denial": "none",
}


def load(name: str) -> list[tuple[str, str]]:
    """(text, gold kind) pairs; gold is crisis | emergency | scam | none."""
    path = SETS[name]
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8") as f:
        if name == "shared":
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.rstrip("\n").split("\t")
                rows.append((parts[2], parts[1]))
        else:
            for row in csv.DictReader(f, delimiter="\t"):
                label = row["label"].strip()
                rows.append((row["text"].strip(), "none" if label == "ordinary" else label))
    return rows


def score(pairs: list[tuple[str, str]]) -> dict:
    """pairs: (gold, predicted kind). Figures the issue's targets are stated in."""
    danger = [p for g, p in pairs if g in ("crisis", "emergency")]
    scam_gold = [p for g, p in pairs if g == "scam"]
    ordinary = [p for g, p in pairs if g == "none"]
    predicted_scam = [g for g, p in pairs if p == "scam"]
    return {
        "lines": len(pairs),
        "danger": len(danger),
        "danger_recall": sum(p in ("crisis", "emergency") for p in danger) / max(1, len(danger)),
        "danger_recall_or_asked": sum(p in ("crisis", "emergency", "unsure") for p in danger)
        / max(1, len(danger)),
        "danger_told_scam": sum(p == "scam" for p in danger),
        "crisis_as_crisis": sum(p == "crisis" for g, p in pairs if g == "crisis"),
        "crisis": sum(g == "crisis" for g, _ in pairs),
        "scam": len(scam_gold),
        "scam_recall": sum(p == "scam" for p in scam_gold) / max(1, len(scam_gold)),
        "scam_recall_or_asked": sum(p in ("scam", "unsure") for p in scam_gold) / max(1, len(scam_gold)),
        "scam_precision": sum(g == "scam" for g in predicted_scam) / max(1, len(predicted_scam)),
        "ordinary": len(ordinary),
        "ordinary_told_scam": sum(p == "scam" for p in ordinary),
        "ordinary_told_danger": sum(p in ("crisis", "emergency") for p in ordinary),
        "ordinary_asked": sum(p == "unsure" for p in ordinary),
    }


def layer_predictions(rows):
    return [(gold, assess(normalize(text)).kind, text) for text, gold in rows]


def model_predictions(rows, model: str):
    from benchmarks.nlu_independent import parse_all

    parsed = parse_all(model, [text for text, _ in rows])
    return [
        (gold, INTENT_KIND.get((p.get("intent") or {}).get("name") or "", "none"), text)
        for (text, gold), p in zip(rows, parsed)
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="also run the whole Rasa pipeline of this model")
    ap.add_argument("--errors", choices=sorted(SETS), help="print this set's errors (each run)")
    ap.add_argument(
        "--sets",
        help="comma-separated set names to score (default: all); keeps tuning runs off the held-out sets",
    )
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    figures = {}
    wanted = args.sets.split(",") if args.sets else list(SETS)
    if args.errors and args.errors.startswith("holdout"):
        ap.error("held-out sets are scored as totals only")
    for name in wanted:
        rows = load(name)
        if not rows:
            print(f"{name}: {SETS[name]} not found, skipped")
            continue
        runs = [("layer", layer_predictions(rows))]
        if args.model:
            runs.append(("model", model_predictions(rows, args.model)))
        for how, preds in runs:
            fig = score([(g, p) for g, p, _ in preds])
            figures[f"{name}/{how}"] = fig
            print(
                f"{name:8s} {how:5s} lines={fig['lines']:4d}  danger recall "
                f"{fig['danger_recall']:.3f} (asked incl. {fig['danger_recall_or_asked']:.3f}, "
                f"n={fig['danger']}, told scam {fig['danger_told_scam']})  crisis as crisis "
                f"{fig['crisis_as_crisis']}/{fig['crisis']}  scam precision "
                f"{fig['scam_precision']:.3f} recall {fig['scam_recall']:.3f} (asked incl. "
                f"{fig['scam_recall_or_asked']:.3f}, n={fig['scam']})  "
                f"ordinary told scam {fig['ordinary_told_scam']}, told danger "
                f"{fig['ordinary_told_danger']}, asked {fig['ordinary_asked']} "
                f"(n={fig['ordinary']})"
            )
            if args.errors == name:
                for gold, pred, text in preds:
                    if gold != pred:
                        print(f"   {how:5s} {gold:9s} -> {pred:9s} {text}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
