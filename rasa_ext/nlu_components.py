"""Custom Rasa NLU components, loaded by Rasa from config.yml; they wrap the pure functions
of bot/text/norm.py and bot/safety. Loading them also installs rasa_ext/runtime.py's patch
in the Rasa process (explicitly, below)."""

from __future__ import annotations

import difflib
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import safety
from bot.text.norm import normalize
from rasa_ext import runtime
from rasa_ext.person_names import find_names

# Every Rasa server process loads these components: the one place the patch is installed.
runtime.install()


def normalize_annotated(
    text: str, entities: List[Dict[Text, Any]] | None, fuzzy: bool = True
) -> tuple[str, List[Dict[Text, Any]]]:
    """Normalises an example and moves its entity spans along, so that a training example
    written 我[八十五](age)岁 is trained as 我[85](age)岁, exactly what inference sees.

    Each entity's text is normalised the same way and found again in the new text (the
    occurrence nearest to where it was). If one cannot be found (a conversion that needs
    context across the entity's edge), the example is normalised piece by piece instead,
    which keeps every span exact."""
    new_text = normalize(text, fuzzy=fuzzy)
    if not entities:
        return new_text, []
    if new_text == text:
        return text, [dict(e) for e in entities]
    moved = []
    ratio = len(new_text) / max(1, len(text))
    for entity in sorted(entities, key=lambda e: e["start"]):
        old_value = text[entity["start"] : entity["end"]]
        new_value = normalize(old_value, fuzzy=fuzzy)
        starts = [i for i in range(len(new_text)) if new_text.startswith(new_value, i)]
        if new_value and starts:
            expected = entity["start"] * ratio
            start = min(starts, key=lambda i: abs(i - expected))
            moved.append(_moved(entity, old_value, start, new_value))
            continue
        aligned = _align(text, new_text, entity["start"], entity["end"])
        if aligned is None:
            return _normalize_piecewise(text, entities, fuzzy)
        moved.append(_moved(entity, old_value, aligned[0], new_text[aligned[0] : aligned[1]]))
    spans = sorted((e["start"], e["end"]) for e in moved)
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        return _normalize_piecewise(text, entities, fuzzy)
    return new_text, moved


def _align(old: str, new: str, start: int, end: int) -> tuple[int, int] | None:
    """Maps the span old[start:end] onto new through a character alignment (我三岁 -> 我3岁:
    三 alone is not converted, in context it is). None when a span edge falls inside a
    rewritten block."""
    new_start = new_end = None
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if new_start is None and i1 <= start < i2 or (start == i1 == i2):
            new_start = j1 + (start - i1) if tag == "equal" else (j1 if start == i1 else None)
            if new_start is None:
                return None
        if new_start is not None and i1 < end <= i2:
            new_end = j1 + (end - i1) if tag == "equal" else (j2 if end == i2 else None)
            break
    if new_start is None or new_end is None or new_end <= new_start:
        return None
    return new_start, new_end


def _moved(entity: Dict[Text, Any], old_value: str, start: int, new_value: str) -> Dict:
    moved = dict(entity, start=start, end=start + len(new_value))
    if entity.get("value") in (None, old_value):
        moved["value"] = new_value  # 八十五 -> 85; a synonym value (低保户 -> 低保) stays
    return moved


def _normalize_piecewise(
    text: str, entities: List[Dict[Text, Any]], fuzzy: bool
) -> tuple[str, List[Dict[Text, Any]]]:
    pieces, moved, pos, out_len = [], [], 0, 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        if entity["start"] < pos:
            continue  # overlapping annotations: keep the first
        before = normalize(text[pos : entity["start"]], fuzzy=fuzzy)
        old_value = text[entity["start"] : entity["end"]]
        value = normalize(old_value, fuzzy=fuzzy) or old_value
        # keep the separating space that normalize() trims at the piece edges
        if before and text[pos : entity["start"]].endswith(" "):
            before += " "
        pieces.append(before)
        out_len += len(before)
        moved.append(_moved(entity, old_value, out_len, value))
        pieces.append(value)
        out_len += len(value)
        pos = entity["end"]
    pieces.append(normalize(text[pos:], fuzzy=fuzzy))
    return "".join(pieces), moved


class ConfiguredComponent(GraphComponent):
    """A component built from its configuration alone (defaults overlaid by config.yml):
    nothing trained, nothing persisted. Subclasses read what they need in __init__."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = config

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ConfiguredComponent":
        return cls({**cls.get_default_config(), **config})


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class ChineseNormalizer(ConfiguredComponent):
    """Rewrites the message text before tokenisation: half-width characters, no control
    characters, Chinese numerals as digits (八十五岁 -> 85岁), domain terms misheard by ASR
    corrected by pinyin (赚人工 -> 转人工), so that jieba tokens and entity spans are the
    same whether the caller said 八十五 or 85. Annotated training examples are normalised
    too, with their entity spans recomputed (normalize_annotated)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"fuzzy_terms": True}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.fuzzy = bool(config.get("fuzzy_terms", True))

    def _normalize_message(self, message: Message) -> None:
        text = message.get(TEXT)
        if not text or text.startswith("/"):
            return  # intent payloads from buttons stay untouched
        entities = message.get(ENTITIES)
        new_text, new_entities = normalize_annotated(text, entities, fuzzy=self.fuzzy)
        if new_text == text:
            return
        message.set(TEXT, new_text)
        if entities:
            message.set(ENTITIES, new_entities)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize_message(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize_message(message)
        return messages


def lookups_with_synonyms(
    lookup_tables: List[Dict[Text, Any]],
    synonyms: Dict[Text, Text],
    entities: List[Text],
    min_length: int = 3,
    min_lengths: Dict[Text, int] | None = None,
) -> List[Dict[Text, Any]]:
    """The lookup tables with, for each of `entities`, every synonym (吃低保 -> 低保) whose
    canonical value is in that entity's table added to it, so that the words are listed once
    (data/nlu/lookups.yml's synonyms) and found by the lookup as well as mapped. Synonyms
    shorter than min_length (or the entity's own in min_lengths) are left out (一般: a
    common word in other senses; a service's 送饭 is not), and so
    is one whose negation is itself listed (能自理 inside 完全不能自理: the lookup would
    read the negated words as the positive; the CRF reads them in context). Every
    table is ordered longest entry first: Rasa joins it into one alternation whose first
    matching alternative wins (低保边缘 before 低保)."""
    tables = []
    for table in lookup_tables:
        elements = table.get("elements")
        if not isinstance(elements, list):
            tables.append(table)
            continue
        elements = list(dict.fromkeys(elements))
        if table.get("name") in entities:
            canonical = set(elements)
            shortest = (min_lengths or {}).get(table["name"], min_length)
            elements += [
                variant
                for variant, value in synonyms.items()
                if value in canonical and len(variant) >= shortest and variant not in elements
            ]
            words = set(elements) | set(synonyms)
            elements = [e for e in elements if not any("不" + e in w for w in words)]
        tables.append({**table, "elements": sorted(elements, key=len, reverse=True)})
    return tables


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class LookupsFromSynonyms(ConfiguredComponent):
    """Before the featurizers and the regex extractor are trained: extends the lookup tables
    of the configured entities with their synonyms (lookups_with_synonyms)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "entities": ["care_level", "economic_status", "living_situation", "service_type", "program"],
            "min_length": 3,
            "min_lengths": {"service_type": 2},
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.entities = list(config["entities"])
        self.min_length = int(config["min_length"])
        self.min_lengths = {k: int(v) for k, v in (config.get("min_lengths") or {}).items()}

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        training_data.lookup_tables = lookups_with_synonyms(
            training_data.lookup_tables,
            training_data.entity_synonyms,
            self.entities,
            self.min_length,
            self.min_lengths,
        )
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class TunedLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's LogisticRegressionClassifier with the regularisation strength `C` configurable:
    with 20+ intents the default C=1 spreads probability so thin that the fallback fires on
    clear sentences."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0}

    def __init__(
        self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class PersonNameExtractor(ConfiguredComponent):
    """person_name where a name is plausible (rasa_ext/person_names.py: a surname from
    rasa_ext/surnames.txt after a naming cue, before one, or in a clause of its own)."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue
            found = [
                dict(name, entity="person_name", extractor=type(self).__name__) for name in find_names(text)
            ]
            if found:
                message.set(ENTITIES, (message.get(ENTITIES) or []) + found, add_to_output=True)
        return messages


EXACT_EXTRACTORS = ("RegexEntityExtractor", PersonNameExtractor.__name__)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EntityOverlapResolver(ConfiguredComponent):
    """Runs after the CRF and the regex/lookup extractors: keeps one entity per span (the
    CRF and the lookup tables often find the same 五老村), and drops an entity overlapping
    a kept one (the lookup's 助餐 inside 助餐点), so that slots get one clean value."""

    @staticmethod
    def resolve(entities: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
        # regex/lookup and name matches first (their spans are exact by construction; the
        # CRF's can run one token long: 下午3点来), then the longest
        def rank(e):
            return (e.get("extractor") not in EXACT_EXTRACTORS, -(e["end"] - e["start"]), e["start"])

        kept: List[Dict[Text, Any]] = []
        for entity in sorted(entities, key=rank):
            if any(k["start"] < entity["end"] and entity["start"] < k["end"] for k in kept):
                continue
            kept.append(entity)
        return sorted(kept, key=lambda e: e["start"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES)
            if entities and len(entities) > 1:
                message.set(ENTITIES, self.resolve(entities), add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SiblingIntents(ConfiguredComponent):
    """After FallbackClassifier: a message it refused only because two sibling intents tie
    ("我爸瘫在床上了，长护险的流程是什么": ask_policy 0.48, check_eligibility 0.49) is not
    a misunderstanding. It goes to the intent that handles both (`to`): the eligibility
    check starts with the cited policy answer when the base is sure
    (actions/eligibility.py)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "pairs": [{"intents": ["ask_policy", "check_eligibility"], "to": "check_eligibility"}],
            "threshold": 0.35,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.pairs = [(frozenset(p["intents"]), p["to"]) for p in config["pairs"]]
        self.threshold = float(config["threshold"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != "nlu_fallback":
                continue
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != "nlu_fallback"
            ][:2]
            if (
                len(ranking) < 2
                or min(r.get(PREDICTED_CONFIDENCE_KEY, 0.0) for r in ranking) < self.threshold
            ):
                continue
            names = frozenset(r.get(INTENT_NAME_KEY) for r in ranking)
            for pair, to in self.pairs:
                if names == pair:
                    chosen = next(r for r in ranking if r.get(INTENT_NAME_KEY) == to)
                    message.set(
                        INTENT,
                        {INTENT_NAME_KEY: to, PREDICTED_CONFIDENCE_KEY: chosen.get(PREDICTED_CONFIDENCE_KEY)},
                        add_to_output=True,
                    )
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyLayer(ConfiguredComponent):
    """Last in the pipeline: bot.safety reads every message and its answer replaces the
    classifier's for the high-stakes readings (crisis, emergency, scam), for a question
    when unsure (`safety_check`) and for a caller correcting a wrong reading
    (`safety_denial`). A classifier's emergency or scam guess without a concrete cue is
    not kept: the next ordinary intent is used, or nlu_fallback when that one is weak.
    The assessment is added to the parse data as `safety` for the actions.

    With `meaning_net: true` a message the cues find nothing in is read once more by
    bot.safety.meaning (sentence meaning against danger and ordinary prototypes), which can
    only turn it into the one safety question; its encoder and prototypes load at start-up."""

    KIND_INTENT = {
        "crisis": "crisis",
        "emergency": "emergency",
        "scam": "scam_report",
        "unsure": "safety_check",
        "denial": "safety_denial",
        "privacy": "privacy_request",
    }

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"fallback_threshold": 0.3, "meaning_net": False}

    def __init__(self, config: Dict[Text, Any]) -> None:
        safety.load_cues()  # a malformed cue file fails at start-up, not on a caller
        super().__init__(config)
        self.fallback_threshold = float(config.get("fallback_threshold", 0.3))
        self.meaning_net = bool(config.get("meaning_net", False))
        if self.meaning_net:
            from bot.safety import meaning

            meaning.load_net()  # the encoder and the prototypes, once, before the first caller

    def _set_top(self, message: Message, name: str, confidence: float) -> None:
        top = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue  # button payloads say what they are
            intent = message.get(INTENT) or {}
            name = intent.get(INTENT_NAME_KEY)
            ranking = message.get(INTENT_RANKING_KEY) or []
            if name == "nlu_fallback":  # judge the classifier's own best guess
                best: Dict[str, Any] = next(
                    (r for r in ranking if r.get(INTENT_NAME_KEY) != "nlu_fallback"), {}
                )
                name, confidence = best.get(INTENT_NAME_KEY), best.get(PREDICTED_CONFIDENCE_KEY, 0.0)
            else:
                confidence = intent.get(PREDICTED_CONFIDENCE_KEY, 0.0)
            scores = {r.get(INTENT_NAME_KEY): float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for r in ranking}
            found = safety.assess(text, name, float(confidence or 0.0), ranking=scores)
            if found.kind == "none" and self.meaning_net and not safety.another_office(text):
                from bot.safety import meaning

                found = meaning.ask(text) or found
            message.set("safety", found.as_dict(), add_to_output=True)
            if found.kind in self.KIND_INTENT:
                self._set_top(message, self.KIND_INTENT[found.kind], 1.0)
            elif intent.get(INTENT_NAME_KEY) in safety.SAFETY_INTENTS or name in safety.SAFETY_INTENTS:
                ordinary = [
                    r
                    for r in ranking
                    if r.get(INTENT_NAME_KEY) not in safety.SAFETY_INTENTS
                    and r.get(INTENT_NAME_KEY) != "nlu_fallback"
                ]
                if ordinary and ordinary[0].get(PREDICTED_CONFIDENCE_KEY, 0.0) >= self.fallback_threshold:
                    self._set_top(
                        message, ordinary[0][INTENT_NAME_KEY], ordinary[0][PREDICTED_CONFIDENCE_KEY]
                    )
                else:
                    self._set_top(message, "nlu_fallback", 1.0 - float(confidence or 0.0))
        return messages
