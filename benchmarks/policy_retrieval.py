"""Policy retrieval figures: precision, recall and the not-sure rate of KnowledgeBase.answer.

    .venv/bin/python benchmarks/policy_retrieval.py [--set dev|dev2|dev3|dev4|dev5|independent|holdout|both|all]
                                                    [--errors] [--no-meaning]
                                                    [--json] [--on 2026-11-23]

Sets, same columns (question, expected, kind):
- `dev`: benchmarks/data/policy_dev.tsv, written by the retrieval developer from the program
  files; read while the algorithm was developed (a tuned figure). `--errors` lists its
  misses row by row.
- `dev2`: benchmarks/data/policy_dev2.tsv, a second development set (2026-11-29) written from
  the seed documents and the program names only, before the aliases, keywords and FAQ wording
  were read, and committed before any tuning on it. `--errors` lists its misses; once tuned on
  it is optimistic too.
- `dev3`: benchmarks/data/policy_dev3.tsv, a third development set (2026-11-29) written from the
  seed documents and common elder-care questions before the aliases were read: out-of-pack
  benefits (高龄津贴, 养老金, 医保报销 ...), group + topic questions and ASR-garbled program
  names. `--errors` lists its misses.
- `dev4`: benchmarks/data/policy_dev4.tsv, a fourth development set (2026-11-29, issue 17) written
  from the program names, the seed documents and the personas, committed before tuning: colloquial
  and dialect words, relatives asking, ASR-garbled names, group, cost and two-topic questions,
  benefits the pack does not cover and ordinary non-policy messages. `--errors` lists its misses.
- `dev5`: benchmarks/data/policy_dev5.tsv, a fifth development set (2026-11-29, issue 17, 236 rows)
  written from the program ids and the seed documents before the code, aliases, keywords, FAQ and
  earlier sets' rows were read, and committed before tuning: elders over 80, relatives, northern and
  Jiang-Huai dialect, unpunctuated speech-recognition text with sound-alike characters, cost, group
  + topic and two-topic questions, and 44 `none` rows (benefits the pack does not cover, booking
  requests, chit-chat). `--errors` lists its misses.
- `independent`: benchmarks/data/policy_questions.tsv, written by someone who never saw the
  aliases. Only its totals are looked at: it picks the threshold and reports the figures;
  its rows are never printed (no --errors for it), never read to add aliases or wording.

expected is a program id, two ids joined by | (a two-topic question) or `none` (nothing in
the packs answers it); kind is single, two_topic, group or none.

- precision: correct answers / answers given (kind "answer"). An answer is correct when
  every program it covers (program_id and `also`) is expected; any answer to a `none` row
  is wrong.
- recall: rows answered correctly / rows with an expected program. For two_topic rows a
  clarify or not-sure offering an expected program also counts, and so does a correct
  answer about one of the two ("both" counts the answers covering both).
- not-sure rate: rows answered "not sure" (with or without a suggested program) / rows.
- recall with suggestion: as recall, also counting a not-sure answer whose one suggested
  program ("您是想问……吗？") is the expected one (the caller only has to say yes).
- sweep: precision and recall when ANSWER_THRESHOLD is each of 0.40 .. 0.90 (the suggest
  threshold kept at or under it).

The date is pinned (answers depend on the parameters in force on the day asked).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.policy import kb as policy_kb  # noqa: E402

DATE = "2026-11-23"
REGION = "demo_district"
SETS = {
    "dev": ROOT / "benchmarks" / "data" / "policy_dev.tsv",
    "dev2": ROOT / "benchmarks" / "data" / "policy_dev2.tsv",
    "dev3": ROOT / "benchmarks" / "data" / "policy_dev3.tsv",
    "dev4": ROOT / "benchmarks" / "data" / "policy_dev4.tsv",
    "dev5": ROOT / "benchmarks" / "data" / "policy_dev5.tsv",
    "independent": ROOT / "benchmarks" / "data" / "policy_questions.tsv",
    # a second set written by a helper from the program names and target groups only
    # (2026-11-28, before the meaning signal was measured); never read, totals only
    "holdout": ROOT / "benchmarks" / "data" / "policy_holdout.tsv",
}
# the sets whose misses may be listed row by row (the others: totals only)
READABLE = ("dev", "dev2", "dev3", "dev4", "dev5")
SWEEP = [round(0.40 + 0.05 * i, 2) for i in range(11)]


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        expected = (row["expected"] or "").strip()
        row["expected_set"] = (
            frozenset() if expected in ("", "none") else frozenset(e.strip() for e in expected.split("|"))
        )
    return rows


@contextlib.contextmanager
def thresholds(answer: float | None = None, suggest: float | None = None):
    old = policy_kb.ANSWER_THRESHOLD, policy_kb.SUGGEST_THRESHOLD
    try:
        if answer is not None:
            policy_kb.ANSWER_THRESHOLD = answer
            policy_kb.SUGGEST_THRESHOLD = min(old[1], answer) if suggest is None else suggest
        yield
    finally:
        policy_kb.ANSWER_THRESHOLD, policy_kb.SUGGEST_THRESHOLD = old


def judge(row: dict, answer: policy_kb.Answer) -> dict:
    expected = row["expected_set"]
    covered = {answer.program_id, *getattr(answer, "also", ())} if answer.kind == "answer" else set()
    offered = {pid for pid, _name in answer.suggestions}
    answered = answer.kind == "answer"
    correct = answered and bool(covered) and covered <= expected
    hit = correct
    if row["kind"] == "two_topic" and not answered and offered & expected:
        hit = True
    return {
        "answered": answered,
        "correct": correct,
        "hit": bool(expected) and hit,
        "suggested": bool(expected) and not hit and answer.kind == "not_sure" and bool(offered & expected),
        "both": answered and len(expected) > 1 and expected <= covered,
        "not_sure": answer.kind == "not_sure",
        "covered": sorted(covered),
        "offered": sorted(offered),
        "kind": answer.kind,
        "confidence": round(answer.confidence, 3),
    }


def _figures(rows: list[dict], results: list[dict]) -> dict:
    answered = sum(r["answered"] for r in results)
    correct = sum(r["correct"] for r in results)
    with_program = sum(1 for row in rows if row["expected_set"])
    hits = sum(r["hit"] for r in results)
    return {
        "rows": len(rows),
        "answered": answered,
        "correct": correct,
        "precision": round(correct / answered, 3) if answered else 1.0,
        "recall": round(hits / with_program, 3) if with_program else 1.0,
        "not_sure_rate": round(sum(r["not_sure"] for r in results) / len(rows), 3) if rows else 0.0,
        "recall_with_suggestion": round((hits + sum(r["suggested"] for r in results)) / with_program, 3)
        if with_program
        else 1.0,
        "clarify": sum(r["kind"] == "clarify" for r in results),
    }


def run(kb: policy_kb.KnowledgeBase, rows: list[dict], on: str = DATE) -> list[dict]:
    return [judge(row, kb.answer(row["question"], on=on)) for row in rows]


def evaluate(kb: policy_kb.KnowledgeBase, rows: list[dict], on: str = DATE, sweep: bool = True) -> dict:
    """The figures of one set at the configured thresholds, per kind, and the sweep."""
    results = run(kb, rows, on)
    out = _figures(rows, results)
    out["threshold"] = policy_kb.ANSWER_THRESHOLD
    out["suggest_threshold"] = policy_kb.SUGGEST_THRESHOLD
    kinds = sorted({row["kind"] for row in rows})
    out["per_kind"] = {}
    for kind in kinds:
        pairs = [(row, r) for row, r in zip(rows, results) if row["kind"] == kind]
        out["per_kind"][kind] = _figures([p[0] for p in pairs], [p[1] for p in pairs])
        if kind == "two_topic":
            out["per_kind"][kind]["both"] = sum(p[1]["both"] for p in pairs)
    if sweep:
        out["sweep"] = []
        for t in SWEEP:
            with thresholds(t):
                fig = _figures(rows, run(kb, rows, on))
            out["sweep"].append(
                {
                    "threshold": t,
                    "precision": fig["precision"],
                    "recall": fig["recall"],
                    "not_sure_rate": fig["not_sure_rate"],
                    "answered": fig["answered"],
                }
            )
    out["_results"] = results
    return out


def _print(name: str, path: Path, fig: dict) -> None:
    print(f"\n== {name}: {path.relative_to(ROOT)} ({fig['rows']} rows)")
    print(f"threshold {fig['threshold']} (suggest {fig['suggest_threshold']}), date {DATE}")
    print(
        f"precision {fig['precision']:.3f} ({fig['correct']}/{fig['answered']} answers)  "
        f"recall {fig['recall']:.3f}  not-sure rate {fig['not_sure_rate']:.3f}  "
        f"clarify {fig['clarify']}"
    )
    print(
        f"recall counting a not-sure that suggests the right program "
        f'("您是想问……吗？"): {fig["recall_with_suggestion"]:.3f}'
    )
    print("\n| kind | rows | answered | correct | precision | recall | not sure |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, k in fig["per_kind"].items():
        extra = f" (both: {k['both']})" if "both" in k else ""
        print(
            f"| {kind} | {k['rows']} | {k['answered']} | {k['correct']} | "
            f"{k['precision']:.3f} | {k['recall']:.3f}{extra} | {k['not_sure_rate']:.3f} |"
        )
    if "sweep" in fig:
        print("\n| threshold | precision | recall | not sure | answered |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for s in fig["sweep"]:
            mark = " *" if abs(s["threshold"] - fig["threshold"]) < 1e-9 else ""
            print(
                f"| {s['threshold']:.2f}{mark} | {s['precision']:.3f} | {s['recall']:.3f} | "
                f"{s['not_sure_rate']:.3f} | {s['answered']} |"
            )


def _print_errors(rows: list[dict], results: list[dict]) -> None:
    print("\nerrors:")
    for row, r in zip(rows, results):
        wrong_answer = r["answered"] and not r["correct"]
        missed = bool(row["expected_set"]) and not r["hit"]
        partial = row["kind"] == "two_topic" and r["hit"] and not r["both"]
        if wrong_answer or missed or partial:
            tag = "WRONG" if wrong_answer else ("MISS" if missed else "ONE OF TWO")
            got = r["covered"] or (f"{r['kind']} {r['offered']}" if r["offered"] else r["kind"])
            print(f"  {tag:10} {row['question']}  expected {row['expected']}  got {got} ({r['confidence']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        choices=["dev", "dev2", "dev3", "dev4", "dev5", "independent", "holdout", "both", "all"],
        default="all",
        help="both = dev and independent; all = every set",
    )
    parser.add_argument(
        "--errors",
        action="store_true",
        help="list the misses of the dev sets (never the independent or holdout set's)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--on", default=DATE, help="the day the questions are asked")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument(
        "--no-meaning",
        action="store_true",
        help="lexical signals only (bot/policy/meaning.py off), for comparison",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("CLOCK_NOW", args.on)
    kb = policy_kb.load_kb(ROOT / "policies", REGION)
    if args.no_meaning:
        kb._index.meaning = None
    names = {"both": ["dev", "independent"], "all": list(SETS)}.get(args.set, [args.set])
    report: dict = {
        "date": args.on,
        "region": REGION,
        "programs": len(kb.program_ids()),
        "threshold": policy_kb.ANSWER_THRESHOLD,
        "suggest_threshold": policy_kb.SUGGEST_THRESHOLD,
        "sets": {},
    }
    for name in names:
        path = SETS[name]
        if not path.exists():
            print(f"{path} not found", file=sys.stderr)
            continue
        rows = load(path)
        fig = evaluate(kb, rows, args.on, sweep=not args.no_sweep)
        results = fig.pop("_results")
        report["sets"][name] = fig
        if not args.json:
            _print(name, path, fig)
            if args.errors and name in READABLE:
                _print_errors(rows, results)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
