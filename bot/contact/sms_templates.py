"""The SMS template catalogue (sms_templates.yml): for each kind of message, its wording as
registered with a mainland provider and the names of its parameters. The provider's
template codes differ per account: SMS_TEMPLATE_CODE_<KIND> sets them (bot/config.py);
the file's codes are placeholders.

`checked(kind, params)` is how a message's parameters are held to the catalogue: every
`send_sms(..., template=(kind, params))` goes through it whichever sender is configured,
so a caller whose parameters do not fit fails in the tests and not at the provider."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

TEMPLATES_PATH = Path(__file__).with_name("sms_templates.yml")
PLACEHOLDER_CODE_PREFIX = "SMS_DEMO_"
GENERIC = "generic"
# The kinds the hotline sends; a deployment's own catalogue must have them all.
KINDS = (
    "booking_confirmed",
    "booking_cancelled",
    "booking_rescheduled",
    "visit_reminder",
    "identity_code",
    GENERIC,
)
_VARIABLE = re.compile(r"\$\{(\w+)\}")
_LEADING_SIGNATURE = re.compile(r"^\s*【[^】]{1,20}】\s*")


class TemplateError(ValueError):
    """A message that does not fit the catalogue, or a catalogue that is not usable."""


@dataclass(frozen=True)
class SmsTemplate:
    kind: str
    label: str  # what it is, in Chinese, for the advisor's screen
    code: str  # the provider's template code (TemplateCode); SMS_DEMO_… until configured
    params: tuple[str, ...]
    text: str  # the wording registered with the provider, ${param} for each parameter

    def render(self, params: Mapping[str, str]) -> str:
        """The text the provider will send (without its 【signature】)."""
        return _VARIABLE.sub(lambda m: params[m.group(1)], self.text)


def file_problems(templates: Mapping[str, SmsTemplate]) -> list[str]:
    """What a provider would refuse, or the hotline would miss, in a catalogue."""
    problems = [f"kind {kind} is missing" for kind in KINDS if kind not in templates]
    if GENERIC in templates and len(templates[GENERIC].params) != 1:
        problems.append(f"{GENERIC}: must take exactly one parameter (the whole text)")
    for kind, t in templates.items():
        used = _VARIABLE.findall(t.text)
        if not t.code:
            problems.append(f"{kind}: no template code")
        if sorted(set(used)) != sorted(t.params):
            problems.append(f"{kind}: the text uses {sorted(set(used))}, params are {sorted(t.params)}")
        if "}${" in t.text:
            problems.append(f"{kind}: two variables side by side")
        if not _VARIABLE.sub("", t.text).strip():
            problems.append(f"{kind}: the text is only variables")
        if "【" in t.text or "】" in t.text:
            problems.append(f"{kind}: 【】 in the text (the provider adds the signature)")
    return problems


def load(path: Path | str) -> dict[str, SmsTemplate]:
    """A catalogue file's templates by kind; TemplateError when it is unreadable or has
    file_problems()."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        templates = {
            kind: SmsTemplate(
                kind=kind,
                label=str(entry["label"]),
                code=str(entry["code"]),
                params=tuple(entry.get("params") or ()),
                text=str(entry["text"]),
            )
            for kind, entry in (data.get("templates") or {}).items()
        }
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise TemplateError(f"SMS template catalogue {path} is not readable: {exc!r}") from exc
    problems = file_problems(templates)
    if problems:
        raise TemplateError(f"SMS template catalogue {path}: " + "; ".join(problems))
    return templates


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, SmsTemplate]:
    """The hotline's templates by kind (bot/sms_templates.yml)."""
    return load(TEMPLATES_PATH)


def template_for(kind: str) -> SmsTemplate:
    try:
        return catalogue()[kind]
    except KeyError:
        raise TemplateError(f"no SMS template of kind {kind!r}") from None


def checked(kind: str, params: Mapping[str, object]) -> dict[str, str]:
    """The parameters as the provider takes them (every value a string), or TemplateError
    when a name is missing or unknown or a value is empty."""
    template = template_for(kind)
    missing = [name for name in template.params if name not in params]
    unknown = sorted(name for name in params if name not in template.params)
    empty = [
        name
        for name in template.params
        if name in params and (params[name] is None or not str(params[name]).strip())
    ]
    if missing or unknown or empty:
        raise TemplateError(f"SMS template {kind}: missing {missing}, unknown {unknown}, empty {empty}")
    return {name: str(params[name]).strip() for name in template.params}


@functools.lru_cache(maxsize=1)
def signature() -> str:
    """What the hotline's own full texts begin with (sms_templates.yml's `signature`)."""
    try:
        data = yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8")) or {}
        return str(data["signature"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise TemplateError(f"SMS template catalogue {TEMPLATES_PATH}: no signature ({exc!r})") from exc


def full_text(kind: str, params: Mapping[str, object]) -> str:
    """The whole text of a message of `kind` (the outbox body): the signature, then the
    template's wording with its parameters, so the wording registered with the provider
    and the text sent otherwise are one."""
    return signature() + template_for(kind).render(checked(kind, params))


def without_signature(body: str) -> str:
    """The text without a leading 【signature】 (the provider adds its own)."""
    return _LEADING_SIGNATURE.sub("", body, count=1).strip()


def generic_params(body: str) -> dict[str, str]:
    """A message that has no template of its own, as the generic template's one parameter."""
    (name,) = template_for(GENERIC).params
    return {name: without_signature(body)}
