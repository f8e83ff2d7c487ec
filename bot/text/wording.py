"""Catalogues of caller-facing wording: one YAML file per capability (bot/booking/wording.yml,
bot/eligibility/wording.yml, bot/policy/wording.yml, bot/outreach/wording.yml,
bot/text/wording.yml, actions/wording.yml, server/wording.yml) holds the sentences;
the Python names keys and fills the `{fields}`. Rewording is an edit of the YAML.

A key is a dotted path through the file's sections ("confirm.which_part_wrong"). The file is
read once, at the first lookup, and kept; a missing key or an entry of the wrong shape raises
with the file's name and the key, so a typo shows up in the first test that says it."""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml


def fields_of(template: str) -> set[str]:
    """The `{field}` names a sentence leaves to the code ("{a}，{b}" -> {"a", "b"})."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Catalogue(Mapping[str, Any]):
    """The wording of one YAML file, by key; a mapping of its top-level sections."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._data: dict[str, Any] | None = None

    def _loaded(self) -> dict[str, Any]:
        if self._data is None:
            with self.path.open(encoding="utf-8") as f:
                data = yaml.safe_load(f)
            if not isinstance(data, dict):
                raise ValueError(f"{self.path}: expected sections of wording, got {type(data).__name__}")
            self._data = data
        return self._data

    def __getitem__(self, section: str) -> Any:
        return self._loaded()[section]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def entry(self, key: str) -> Any:
        """The raw entry under a dotted key."""
        value: Any = self._loaded()
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(f"{self.path.name} has no {key}")
            value = value[part]
        return value

    def text(self, key: str) -> str:
        """One sentence, or a template whose `{fields}` the caller fills (see `format`)."""
        value = self.entry(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{self.path.name}: {key} must be a sentence")
        return value

    def format(self, key: str, **fields: object) -> str:
        """A template with every one of its `{fields}` filled, and no others given."""
        return self.template(key, *fields).format(**fields)

    def template(self, key: str, *fields: str) -> str:
        """A template kept to be filled later (a reply given as data), checked to have exactly
        the `fields` named."""
        value = self.text(key)
        if fields_of(value) != set(fields):
            raise KeyError(
                f"{self.path.name}: {key} has the fields {sorted(fields_of(value))}, "
                f"the code gives {sorted(fields)}"
            )
        return value

    def words(self, key: str) -> tuple[str, ...]:
        """A list of words (button titles, words callers say), in the catalogue's order."""
        value = self.entry(key)
        if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
            raise ValueError(f"{self.path.name}: {key} must be a list of words")
        return tuple(value)

    def keyed(self, key: str) -> dict[str, str]:
        """A mapping of names (keypad digits, slots) to words."""
        value = self.entry(key)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ValueError(f"{self.path.name}: {key} must map names to words")
        return {str(name): word for name, word in value.items()}

    def leaf_keys(self) -> list[str]:
        """The dotted key of every sentence and word list (the entries of a `keyed` mapping
        are listed one by one: a key used as a whole covers them)."""
        found: list[str] = []

        def walk(prefix: str, value: Any) -> None:
            if not isinstance(value, dict):
                found.append(prefix)
                return
            for name, inner in value.items():
                walk(f"{prefix}.{name}" if prefix else str(name), inner)

        walk("", self._loaded())
        return found
