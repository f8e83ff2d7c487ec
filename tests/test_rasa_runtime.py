"""The action-result validation installed in the Rasa process (rasa_ext/runtime.py) accepts
and rejects exactly what Rasa's own jsonschema.validate does, with the same error message,
and only on the pinned Rasa version."""

from __future__ import annotations

import logging

import jsonschema
import pytest
import rasa
from rasa.core.actions.action import RemoteAction

from rasa_ext import runtime

GOOD = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "x", "value": 1, "timestamp": None}],
        "responses": [{"text": "您好"}],
    },
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
    assert runtime.install() is True
    fast = RemoteAction._validate_action_result
    assert fast.__module__ == "rasa_ext.runtime"
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


def test_the_installed_rasa_is_the_pinned_one():
    assert rasa.__version__ == runtime.PINNED_RASA_VERSION


def test_another_rasa_version_is_left_unpatched(monkeypatch, caplog):
    """The patch replaces a private method of one Rasa version: on any other it refuses."""
    monkeypatch.setattr(rasa, "__version__", "3.6.22")
    monkeypatch.setattr(runtime, "_installed", False)
    monkeypatch.setattr(RemoteAction, "_validate_action_result", lambda self, result: "rasa's own")
    with caplog.at_level(logging.WARNING, logger=runtime.__name__):
        assert runtime.install() is False
    assert RemoteAction._validate_action_result(None, {}) == "rasa's own"
    assert "Rasa 3.6.22 is not the pinned 3.6.21" in caplog.text
