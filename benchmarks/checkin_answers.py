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


def main() -> int:
    from bot.outreach.answers import read_answer

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    ap.add_argument("--no-nlu", action="store_true")
    args = ap.parse_args()
    rows = load()
    parses = [None] * len(rows)
    if not args.no_nlu:
        from benchmarks.nlu_independent import parse_all

        parses = parse_all(args.model, [r["answer"] for r in rows])
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
    total = sum(per_label[k][1] for k in per_label)
    right = sum(per_label[k][0] for k in per_label)
    print(f"check-in answers: {total} rows, main label accuracy {right / total:.3f}"
          f"{' (no NLU)' if args.no_nlu else ''}; after a safety question answered 'no' "
          f"on ordinary answers: {after_no / total:.3f}")
    for label, (ok, n) in sorted(per_label.items()):
        print(f"  {label:14s} recall {ok / n:.3f} ({ok}/{n})")
    danger_n = per_label["danger"][1]
    danger_hit = confusion[("danger", "danger")]
    false_danger = sum(v for (gold, guess), v in confusion.items() if guess == "danger" and gold != "danger")
    ordinary = total - danger_n
    print(f"danger reaches the safety path: {danger_hit}/{danger_n} = {danger_hit / danger_n:.3f}")
    print(f"ordinary answers sent to the safety path: {false_danger}/{ordinary} = {false_danger / ordinary:.3f}"
          f" (asserted {asserted[(False, True)]}, asked {asserted[(False, False)]})")
    print(f"danger answers: asserted {asserted[(True, True)]}, asked {asserted[(True, False)]}")
    need_gold = {k for k in per_label if k not in ("none", "danger", "unclear")}
    missed = sum(v for (gold, guess), v in confusion.items() if gold in need_gold and guess in ("none",))
    n_need = sum(per_label[k][1] for k in need_gold)
    print(f"a need read as 'fine' (a task not made): {missed}/{n_need} = {missed / n_need:.3f}")
    print("confusions (gold -> guess: count):")
    for (gold, guess), v in sorted(confusion.items(), key=lambda kv: -kv[1]):
        if gold != guess:
            print(f"  {gold} -> {guess}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
