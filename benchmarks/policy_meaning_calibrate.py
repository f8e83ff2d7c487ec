"""Sets the meaning signal's constants (bot/policy/search.py MEANING_*) on the dev set only.

    .venv/bin/python benchmarks/policy_meaning_calibrate.py

The dev set (benchmarks/data/policy_dev.tsv) was read while the FAQ variants were written,
so here the meaning index is built WITHOUT the FAQ variants (the programs' names, aliases,
summaries, benefits and FAQ questions only): a dev question is then not found through a
variant written from it. Prints dev precision / recall at the answer threshold for each
setting of the grid, best first among those with precision >= 0.95. The independent sets
are not read here.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bot.policy import kb as policy_kb  # noqa: E402
from bot.policy import search as policy_search  # noqa: E402
from bot.policy.meaning import MeaningIndex  # noqa: E402
from policy_retrieval import DATE, REGION, SETS, _figures, load, run  # noqa: E402


def main() -> int:
    kb = policy_kb.get_kb(REGION)
    rows = load(SETS["dev"])
    index = kb._index
    plain = MeaningIndex(kb.programs(), variants=False)
    memo: dict[str, dict] = {}

    def similarities(query: str):
        if query not in memo:
            memo[query] = MeaningIndex.similarities(plain, query)
        return memo[query]

    plain.similarities = similarities  # type: ignore[method-assign]
    index.meaning = None
    off = _figures(rows, run(kb, rows, DATE))
    print(f"meaning off: precision {off['precision']} recall {off['recall']}")
    index.meaning = plain
    results = []
    for weight, lo, hi, top in itertools.product(
        (0.80, 0.85, 0.90), (0.90, 0.92), (0.96, 0.98), (0.02, 0.03, 0.04, 0.06)
    ):
        policy_search.MEANING_WEIGHT, policy_search.MEANING_LO = weight, lo
        policy_search.MEANING_HI, policy_search.MEANING_LEAD = hi, top
        f = _figures(rows, run(kb, rows, DATE))
        results.append((f["precision"] >= 0.95, f["recall"], f["precision"], weight, lo, hi, top))
    results.sort(reverse=True)
    for ok, recall, precision, weight, lo, hi, top in results[:12]:
        print(
            f"weight {weight} lo {lo} hi {hi} lead {top}: precision {precision} recall {recall}"
            f"{'' if ok else '  (precision < 0.95)'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
