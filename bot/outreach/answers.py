"""Reading an elder's answer on an outbound call: danger first, then a wish to stop the
calls, a person, and the needs a check-in looks for.

The order is the hotline's: the safety layer (bot/safety) reads every answer before
anything else, with the same classifier ranking the hotline gives it (Rasa's /model/parse,
passed in by the caller); an answer it finds dangerous, or is unsure about, goes to the
conversation exactly as a hotline message would. Only then are the check-in's cues read
(bot/outreach/script.yml): reassuring or negated words are removed first ("没啥不舒服的",
"不需要"), then the needs are looked for, the question's own need first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import yaml

from bot import safety
from bot.text.norm import clean

SCRIPT_PATH = Path(__file__).with_name("script.yml")
NEEDS = ("health_worse", "no_food", "wants_service", "no_visitor")
# The need each question is about, read first.
QUESTION_NEED = {"health": "health_worse", "help": "wants_service", "visitor": "no_visitor"}
# Classifier intents that mean a wish for a service or a question for an advisor.
SERVICE_INTENTS = {"book_service", "ask_policy", "check_eligibility"}
SURE = 0.6  # classifier confidence taken at its word for affirm / deny / a service
DANGER_KINDS = {"crisis", "emergency", "scam", "unsure"}


@lru_cache(maxsize=1)
def script() -> dict[str, Any]:
    return cast("dict[str, Any]", yaml.safe_load(SCRIPT_PATH.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _cues() -> dict[str, re.Pattern[str]]:
    return {
        name: re.compile("|".join(f"(?:{p})" for p in patterns))
        for name, patterns in script()["cues"].items()
    }


@dataclass(frozen=True)
class Reading:
    kind: str  # danger | opt_out | human | need | fine | unclear
    needs: tuple[str, ...] = ()  # for kind "need", the question's own need first
    safety: dict[str, Any] = field(default_factory=dict)  # the safety layer's assessment
    intent: str | None = None  # the classifier's intent when it is sure (SURE), else None


def _intent(parse: dict[str, Any] | None) -> tuple[str | None, float, dict[str, float]]:
    if not parse:
        return None, 0.0, {}
    intent = parse.get("intent") or {}
    ranking = {
        r.get("name"): float(r.get("confidence") or 0.0)
        for r in parse.get("intent_ranking") or []
        if r.get("name")
    }
    return intent.get("name"), float(intent.get("confidence") or 0.0), ranking


def read_reminder_reply(text: str) -> str | None:
    """What an answer to a reminder call asks for: cancel | change | confirm | None."""
    cues = _cues()
    for kind, cue in (
        ("cancel", "reminder_cancel"),
        ("change", "reminder_change"),
        ("confirm", "reminder_confirm"),
    ):
        if cues[cue].search(text or ""):
            return kind
    return None


def read_answer(
    question: str | None, text: str | None, parse: dict[str, Any] | None = None, *, safety_first: bool = True
) -> Reading:
    reading = _read_answer(question, text, parse, safety_first)
    intent, confidence, _ = _intent(parse)
    return replace(reading, intent=intent if confidence >= SURE else None)


def _read_answer(
    question: str | None, text: str | None, parse: dict[str, Any] | None, safety_first: bool
) -> Reading:
    """What an answer to `question` (health | help | visitor; None for a reminder call)
    says. `parse` is Rasa's /model/parse result for the text, when Rasa answered.
    `safety_first=False` only once the safety layer's own question has been answered."""
    flat = re.sub(r"\s+", "", clean(text or "", 500))
    if not flat:
        return Reading("unclear")
    intent, confidence, ranking = _intent(parse)
    if safety_first:
        assessment = safety.assess(flat, intent, confidence if intent else 1.0, ranking=ranking or None)
        if assessment.kind in DANGER_KINDS:
            return Reading("danger", safety=assessment.as_dict())
    cues = _cues()
    if cues["opt_out"].search(flat):
        return Reading("opt_out")
    if cues["human"].search(flat) or (intent == "request_human" and confidence >= SURE):
        return Reading("human")
    if question is None:
        return Reading("unclear")
    rest = cues["reassure"].sub("，", flat)
    reassured = rest != flat
    found = [need for need in NEEDS if cues[need].search(rest)]
    if question == "visitor" and "no_visitor" not in found and cues["visited"].search(rest):
        reassured = True
    sure = confidence >= SURE
    if sure and intent in SERVICE_INTENTS and "wants_service" not in found:
        found.append("wants_service")
    if question == "visitor" and not found and not reassured and sure and intent == "deny":
        found.append("no_visitor")
    if found:
        own = QUESTION_NEED.get(question)
        ordered = ([own] if own in found else []) + [n for n in found if n != own]
        return Reading("need", needs=tuple(ordered))
    if (
        reassured
        or (sure and intent in {"affirm", "thank", "greet"})
        or (question == "help" and sure and intent == "deny")
    ):
        return Reading("fine")
    return Reading("unclear")
