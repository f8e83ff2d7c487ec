"""Thanks that also say there is nothing more end the conversation; plain thanks ask
whether there is anything else (actions/core.py ActionThank)."""

from __future__ import annotations

import pytest

from actions.core import ActionThank
from tests.test_misunderstood_referral import _run  # the one tracker builder for core actions


def _responses(text: str) -> list:
    messages, _ = _run(text, action=ActionThank, intent="thank")
    return [m.get("response") for m in messages]


@pytest.mark.parametrize(
    "said", ["没有了，谢谢", "没事了，谢谢你啊姑娘", "就这些，多谢多谢", "没别的了，麻烦你了谢谢"]
)
def test_thanks_that_say_nothing_more_say_goodbye(said):
    assert _responses(said) == ["utter_goodbye"]


@pytest.mark.parametrize("said", ["谢谢", "太感谢你了", "好的，谢谢你"])
def test_plain_thanks_ask_whether_there_is_anything_else(said):
    assert _responses(said) == ["utter_thank"]
