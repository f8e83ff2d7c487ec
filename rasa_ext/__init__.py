"""Rasa-side extensions: the code Rasa itself loads inside the Rasa server process.

- nlu_components.py: the NLU components named in config.yml (normaliser, tuned classifier,
  entity resolver, sibling intents, the safety layer), wrapping the pure functions of bot/.
- nlu_dense.py: the experimental e5 sentence featurizer (benchmarks/configs/dense*.yml).
- tracker_store.py: Rasa's SQL tracker store with a checked per-process cache (loaded from
  var/endpoints.yml, written by scripts/render_endpoints.py).
- runtime.py: a performance patch inside the Rasa process, for the pinned Rasa version only.

These modules import Rasa; bot/ never imports them, and neither do server/ or actions/
(import contracts in pyproject.toml, checked by `make lint`).
"""
