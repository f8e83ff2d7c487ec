"""A performance fix inside the Rasa server process (imported by bot/nlu_components.py,
the only project code Rasa loads).

Rasa 3.6 checks every action-server response with `jsonschema.validate(result, spec)`,
which re-checks the schema itself and builds a new Draft 2020-12 validator on every call.
Profiled with py-spy under benchmarks/load.py this was about a third of the Rasa server's
CPU per turn. We validate against the same schema with one validator built once. The
schema uses only type/properties/items/required/oneOf/const, which Draft 7 checks the same
way and faster; the error raised and its message are the same as Rasa's own.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    import jsonschema
    from rasa.core.actions import action as rasa_action
    from rasa.shared.constants import DOCS_BASE_URL

    spec = rasa_action.RemoteAction.action_response_format_spec()
    jsonschema.Draft7Validator.check_schema(spec)
    validator = jsonschema.Draft7Validator(spec)

    def _validate_action_result(self, result):  # same contract as RemoteAction's own
        error = jsonschema.exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    rasa_action.RemoteAction._validate_action_result = _validate_action_result
    _installed = True
    log.info("action-result validation uses one prebuilt Draft 7 validator")
