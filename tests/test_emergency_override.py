"""The emergency phrase override: narrow phrases always become `emergency`, other text is
left to the classifier."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu_components import EmergencyPhraseOverride


def classify(text: str, intent: str = "inform") -> tuple[str, list[str]]:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.6},
                            "intent_ranking": [{"name": intent, "confidence": 0.6},
                                               {"name": "emergency", "confidence": 0.2}]})
    EmergencyPhraseOverride().process([message])
    return message.get("intent")["name"], [r["name"] for r in message.get("intent_ranking")]


@pytest.mark.parametrize("text", ["快打120", "帮我叫救护车", "赶紧拨119", "救命啊",
                                  "家里厨房着火了", "我爸叫不醒了"])
def test_emergency_phrases_override_any_intent(text):
    name, ranking = classify(text, intent="inform")
    assert name == "emergency" and ranking[0] == "emergency" and ranking.count("emergency") == 1


@pytest.mark.parametrize("text", ["120急救电话收费吗", "我上个月摔倒过，能申请什么", "高龄补贴多少钱",
                                  "/greet", "119是什么号码"])
def test_other_text_keeps_the_classifier_intent(text):
    assert classify(text, intent="ask_policy")[0] == "ask_policy"
