"""Custom Rasa NLU components. This module is the only part of bot/ that imports Rasa;
it is loaded by Rasa from config.yml and wraps the pure functions of bot/textnorm.py."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.textnorm import normalize


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class ChineseNormalizer(GraphComponent):
    """Rewrites the message text before tokenisation: half-width characters, no control
    characters, Chinese numerals as digits (八十五岁 -> 85岁), so that jieba tokens and
    entity spans are the same whether the caller said 八十五 or 85."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> "ChineseNormalizer":
        return cls()

    def _normalize_message(self, message: Message) -> None:
        text = message.get(TEXT)
        if not text or text.startswith("/"):
            return  # intent payloads from buttons stay untouched
        normalized = normalize(text)
        if normalized == text:
            return
        if message.get("entities"):
            return  # annotated training examples keep their spans
        message.set(TEXT, normalized)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize_message(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize_message(message)
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class TunedLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's LogisticRegressionClassifier with the regularisation strength `C` configurable:
    with 20+ intents the default C=1 spreads probability so thin that the fallback fires on
    clear sentences."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0}

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage,
                 resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))
