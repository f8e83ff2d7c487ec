"""The channels' wording catalogue (server/wording.yml): every entry is used by the code that
says it, and a malformed entry stops the server at start-up with its name, not mid-call."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server import wording

SERVER = Path(wording.__file__).parent


def _code() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SERVER.rglob("*.py"))


def test_every_entry_of_the_catalogue_is_used():
    code = _code()
    unused = [
        f"{section}.{key}"
        for section, entries in wording._catalogue().items()
        for key in entries
        if not re.search(rf"""["']{re.escape(str(key))}["']""", code)
    ]
    assert not unused, f"entries of server/wording.yml no code reads: {unused}"


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    """Points the loader at a catalogue written by the test."""
    path = tmp_path / "wording.yml"

    def write(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        monkeypatch.setattr(wording, "CATALOGUE", path)
        wording._catalogue.cache_clear()

    yield write
    wording._catalogue.cache_clear()


def test_entries_of_the_wrong_shape_are_refused_by_name(catalogue):
    catalogue('voice: {ok: [好的]}\nwords: {"yes": 对, rating: [[满意, five]]}\n')
    with pytest.raises(ValueError, match="voice.ok"):
        wording.voice("ok")
    with pytest.raises(ValueError, match="words.yes"):
        wording.words("yes")
    with pytest.raises(ValueError, match="words.rating"):
        wording.scored_words("rating")
    with pytest.raises(KeyError, match="sms.busy"):
        wording.sms("busy")


def test_a_catalogue_that_is_not_sections_is_refused(catalogue):
    catalogue("- 好的\n")
    with pytest.raises(ValueError, match="sections"):
        wording.voice("ok")
