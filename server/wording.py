"""The channels' own caller-facing wording, read once from server/wording.yml: what the phone
line says, what the SMS number and the chat API answer by themselves, and the words that
read a caller's short answers. Rewording is an edit of the YAML; the code names keys. The
loader is bot.text.wording.Catalogue, as for every capability's catalogue."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.text.wording import Catalogue

CATALOGUE = Path(__file__).with_name("wording.yml")


@cache
def _catalogue() -> Catalogue:
    return Catalogue(CATALOGUE)


def text(section: str, key: str) -> str:
    """One sentence (or template with {fields}) of a section: voice, whisper, sms, chat,
    http_error."""
    return _catalogue().text(f"{section}.{key}")


def voice(key: str) -> str:
    return text("voice", key)


def sms(key: str) -> str:
    return text("sms", key)


def chat(key: str) -> str:
    return text("chat", key)


def words(key: str) -> tuple[str, ...]:
    """A list of words callers say (words.KEY), in the catalogue's order."""
    return _catalogue().words(f"words.{key}")


def keyed(section: str, key: str) -> dict[str, str]:
    """A mapping of keypad digits to words (voice.keypad_menu, words.yes_no_keys)."""
    return _catalogue().keyed(f"{section}.{key}")


def scored_words(key: str) -> tuple[tuple[str, int], ...]:
    """Words with a score (words.rating: [word, score] pairs), in the catalogue's order."""
    value = _catalogue().entry(f"words.{key}")
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
