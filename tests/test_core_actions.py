"""Thanks that also say there is nothing more end the conversation; plain thanks ask
whether there is anything else (actions/core.py ActionThank)."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.core import ActionThank


def _responses(text: str) -> list:
    latest = {"text": text, "intent": {"name": "thank", "confidence": 0.9}, "entities": [], "metadata": {}}
    tracker = Tracker(
        "unit-thank",
        {},
        latest,
        [{"event": "user", "text": text, "parse_data": latest}],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionThank().run(dispatcher, tracker, {}))
    return [m.get("response") for m in dispatcher.messages]


@pytest.mark.parametrize(
    "said", ["没有了，谢谢", "没事了，谢谢你啊姑娘", "就这些，多谢多谢", "没别的了，麻烦你了谢谢"]
)
def test_thanks_that_say_nothing_more_say_goodbye(said):
    assert _responses(said) == ["utter_goodbye"]


@pytest.mark.parametrize("said", ["谢谢", "太感谢你了", "好的，谢谢你"])
def test_plain_thanks_ask_whether_there_is_anything_else(said):
    assert _responses(said) == ["utter_thank"]
