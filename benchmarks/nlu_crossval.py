"""K-fold cross-validation of NLU pipelines on the training data (data/nlu/), with the
same strict metrics as benchmarks/nlu_accuracy.py, plus training time per fold.

    .venv/bin/python benchmarks/nlu_crossval.py --config config.yml --folds 5
    .venv/bin/python benchmarks/nlu_crossval.py --config benchmarks/configs/diet.yml --folds 3

Folds are stratified by intent (seeded). Each fold is trained in-process with
rasa.model_training.train_nlu into a temporary directory (never models/), then evaluated.
Why not `rasa test nlu --cross-validation`: its entity scores compare the gold offsets of
the raw text with the tokens of the normalised text (八十五 -> 85 shifts every offset), so
they are wrong for exactly the examples the normaliser exists for.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "config.yml"))
    ap.add_argument("--data", default=str(ROOT / "data/nlu"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    os.chdir(ROOT)  # the config's dictionary_path is relative to the project

    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    from nlu_accuracy import evaluate, examples_from_messages

    data = load_data(args.data)
    examples = data.intent_examples
    intents = [m.get("intent") for m in examples]
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    rows = []
    for k, (train_idx, test_idx) in enumerate(folds.split(examples, intents), 1):
        with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
            train = TrainingData(
                training_examples=[examples[i] for i in train_idx],
                entity_synonyms=data.entity_synonyms,
                regex_features=data.regex_features,
                lookup_tables=data.lookup_tables,
            )
            train_file = Path(tmp) / "train.yml"
            RasaYAMLWriter().dump(train_file, train)
            t0 = time.perf_counter()
            logging.disable(logging.WARNING)
            model = train_nlu(
                args.config, str(train_file), str(Path(tmp) / "out"), fixed_model_name=f"fold{k}"
            )
            train_s = time.perf_counter() - t0
            result = evaluate(model, examples_from_messages([examples[i] for i in test_idx]))
        rows.append(
            (result["intent_accuracy"], result["intent_macro_f1"], result["entity_span"]["f1"], train_s)
        )
        print(
            f"fold {k}: intent acc {rows[-1][0]:.3f}  macro-F1 {rows[-1][1]:.3f}  "
            f"entity F1 {rows[-1][2]:.3f}  train {train_s:.0f} s  "
            f"({len(test_idx)} test examples)",
            flush=True,
        )
    print(f"config           {args.config}")
    print(
        f"data             {args.data}: {len(examples)} examples, {len(set(intents))} intents, "
        f"{args.folds} folds"
    )
    for i, name in enumerate(("intent accuracy", "intent macro-F1", "entity F1 (span)", "train seconds")):
        values = [r[i] for r in rows]
        print(f"{name:16} {statistics.mean(values):.3f} ± {statistics.pstdev(values):.3f}")


if __name__ == "__main__":
    main()
