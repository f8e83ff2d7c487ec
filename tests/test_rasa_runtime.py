"""The action-result validation installed in the Rasa process accepts and rejects exactly
what Rasa's own jsonschema.validate does, with the same error message."""
from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_runtime

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": None}],
     "responses": [{"text": "您好"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "a"}]},
]
BAD = [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": ["not an object"]},
    {"events": [{"event": "slot"}]},  # slot without a name
    [],
]


@pytest.fixture(scope="module")
def validate():
    rasa_runtime.install()
    fast = RemoteAction._validate_action_result
    assert fast.__module__ == "bot.rasa_runtime"
    return lambda result: fast(RemoteAction("x", None), result)


def rasa_verdict(result) -> bool:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        return True
    except jsonschema.ValidationError:
        return False


@pytest.mark.parametrize("result", GOOD)
def test_valid_results_pass(validate, result):
    assert rasa_verdict(result) is True
    assert validate(result) is True


@pytest.mark.parametrize("result", BAD)
def test_invalid_results_raise_the_same_error(validate, result):
    assert rasa_verdict(result) is False
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        validate(result)
