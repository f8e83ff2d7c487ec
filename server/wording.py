"""The channels' own caller-facing wording, read once from server/wording.yml: what the phone
line says, what the SMS number and the chat API answer by themselves, and the words that
read a caller's short answers. Rewording is an edit of the YAML; the code names keys."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE = Path(__file__).with_name("wording.yml")


@cache
def _catalogue() -> dict[str, dict[str, Any]]:
    with CATALOGUE.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{CATALOGUE}: expected sections of wording, got {type(data).__name__}")
    return data


def _entry(section: str, key: str) -> Any:
    try:
        return _catalogue()[section][key]
    except KeyError:
        raise KeyError(f"{CATALOGUE.name} has no {section}.{key}") from None


def text(section: str, key: str) -> str:
    """One sentence (or template with {fields}) of a section: voice, whisper, sms, chat."""
    value = _entry(section, key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{CATALOGUE.name}: {section}.{key} must be a sentence")
    return value


def voice(key: str) -> str:
    return text("voice", key)


def sms(key: str) -> str:
    return text("sms", key)


def chat(key: str) -> str:
    return text("chat", key)


def words(key: str) -> tuple[str, ...]:
    """A list of words callers say (words.KEY), in the catalogue's order."""
    value = _entry("words", key)
    if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
        raise ValueError(f"{CATALOGUE.name}: words.{key} must be a list of words")
    return tuple(value)


def keyed(section: str, key: str) -> dict[str, str]:
    """A mapping of keypad digits to words (voice.keypad_menu, words.yes_no_keys)."""
    value = _entry(section, key)
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{CATALOGUE.name}: {section}.{key} must map digits to words")
    return {str(digit): word for digit, word in value.items()}


def scored_words(key: str) -> tuple[tuple[str, int], ...]:
    """Words with a score (words.rating: [word, score] pairs), in the catalogue's order."""
    value = _entry("words", key)
    pairs: list[tuple[str, int]] = []
    for item in value if isinstance(value, list) else [None]:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], int)
        ):
            raise ValueError(f"{CATALOGUE.name}: words.{key} must be [word, score] pairs")
        pairs.append((item[0], item[1]))
    return tuple(pairs)
