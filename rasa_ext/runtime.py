"""A performance fix inside the Rasa server process, installed explicitly by `install()`:
rasa_ext/nlu_components.py calls it when Rasa loads the NLU components (the project code
every Rasa server process loads).

Rasa 3.6 checks every action-server response with `jsonschema.validate(result, spec)`,
which re-checks the schema itself and builds a new Draft 2020-12 validator on every call.
Profiled with py-spy under benchmarks/load.py this was about a third of the Rasa server's
CPU per turn. We validate against the same schema with one validator built once. The
schema uses only type/properties/items/required/oneOf/const, which Draft 7 checks the same
way and faster; the error raised and its message are the same as Rasa's own.

The patch replaces a private method, so it is made for one Rasa version only
(PINNED_RASA_VERSION, the one the Makefile installs): on any other version install() logs
a warning and leaves Rasa as it is.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
PINNED_RASA_VERSION = "3.6.21"
_installed = False


def install() -> bool:
    """Installs the validator once per process; True when it is in place, False when the
    installed Rasa is not the pinned version (nothing patched)."""
    global _installed
    if _installed:
        return True
    import rasa

    if rasa.__version__ != PINNED_RASA_VERSION:
        log.warning(
            "Rasa %s is not the pinned %s: action-result validation left as Rasa's own",
            rasa.__version__,
            PINNED_RASA_VERSION,
        )
        return False
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
    return True
