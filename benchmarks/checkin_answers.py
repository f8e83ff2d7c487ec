"""How well check-in answers are read (bot/outreach/answers.py), on a set written from the
question texts and label definitions alone (benchmarks/data/checkin_answers.tsv; never
trained or tuned on line by line).

    .venv/bin/python benchmarks/checkin_answers.py [--no-nlu]

Prints the accuracy of the main label, per label recall, and the two figures that matter
most: every `danger` answer must reach the safety path, and no ordinary answer should.
With --no-nlu the cues are read without the classifier's ranking.
"""

from __future__ import annotations

import argparse
import collections
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "benchmarks" / "data" / "checkin_answers.tsv"


def load() -> list[dict]:
    lines = [ln for ln in DATA.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def predicted(reading) -> str:
    if reading.kind == "need":
        return reading.needs[0]
    return {"fine": "none", "human": "wants_service"}.get(reading.kind, reading.kind)


def evaluate(rows: list[dict], parses: list) -> dict:
    """The figures for `rows` read with these classifier results (None: cues only)."""
    from bot.outreach.answers import read_answer

    confusion = collections.Counter()
    per_label = collections.defaultdict(lambda: [0, 0])
    asserted = collections.Counter()  # (gold is danger, the layer asserted rather than asked)
    after_no = 0  # right once an "unsure" safety question is answered "no" (the call goes on)
    for row, parse in zip(rows, parses):
        reading = read_answer(row["question"], row["answer"], parse)
        guess = predicted(reading)
        if guess == "danger":
            asserted[(row["label"] == "danger", reading.safety.get("kind") != "unsure")] += 1
        final = guess
        if guess == "danger" and reading.safety.get("kind") == "unsure" and row["label"] != "danger":
            final = predicted(read_answer(row["question"], row["answer"], parse, safety_first=False))
        after_no += final == row["label"]
        confusion[(row["label"], guess)] += 1
        per_label[row["label"]][0] += guess == row["label"]
        per_label[row["label"]][1] += 1
    total = sum(n for _, n in per_label.values())
    need_gold = {k for k in per_label if k not in ("none", "danger", "unclear")}
    return {
        "total": total,
        "accuracy": sum(ok for ok, _ in per_label.values()) / total,
        "accuracy_after_no": after_no / total,
        "per_label": {k: tuple(v) for k, v in per_label.items()},
        "danger_recall": confusion[("danger", "danger")] / per_label["danger"][1],
        "danger_asserted": asserted[(True, True)],
        "danger_asked": asserted[(True, False)],
        "ordinary_to_safety": sum(v for (g, p), v in confusion.items() if p == "danger" and g != "danger"),
        "ordinary_asserted": asserted[(False, True)],
        "ordinary_asked": asserted[(False, False)],
        "ordinary": total - per_label["danger"][1],
        "need_as_fine": sum(v for (g, p), v in confusion.items() if g in need_gold and p == "none"),
        "needs": sum(per_label[k][1] for k in need_gold),
        "confusion": confusion,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    ap.add_argument("--no-nlu", action="store_true")
    args = ap.parse_args()
    rows = load()
    parses = [None] * len(rows)
    if not args.no_nlu:
        from benchmarks.nlu_independent import parse_all

        parses = parse_all(args.model, [r["answer"] for r in rows])
    f = evaluate(rows, parses)
    print(
        f"check-in answers: {f['total']} rows, main label accuracy {f['accuracy']:.3f}"
        f"{' (no NLU)' if args.no_nlu else ''}; after a safety question answered 'no' "
        f"on ordinary answers: {f['accuracy_after_no']:.3f}"
    )
    for label, (ok, n) in sorted(f["per_label"].items()):
        print(f"  {label:14s} recall {ok / n:.3f} ({ok}/{n})")
    n_danger = f["per_label"]["danger"][1]
    print(
        f"danger reaches the safety path: {f['danger_recall']:.3f} of {n_danger} "
        f"(asserted {f['danger_asserted']}, asked {f['danger_asked']})"
    )
    print(
        f"ordinary answers sent to the safety path: {f['ordinary_to_safety']}/{f['ordinary']} "
        f"(asserted {f['ordinary_asserted']}, asked {f['ordinary_asked']})"
    )
    print(
        f"a need read as 'fine' (a task not made): {f['need_as_fine']}/{f['needs']} = "
        f"{f['need_as_fine'] / f['needs']:.3f}"
    )
    print("confusions (gold -> guess: count):")
    for (gold, guess), v in sorted(f["confusion"].items(), key=lambda kv: -kv[1]):
        if gold != guess:
            print(f"  {gold} -> {guess}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
