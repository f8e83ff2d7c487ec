"""The policy capability's caller-facing sentences (bot/policy/wording.yml): the frames the
knowledge base's answers are built from (bot/policy/kb.py); the programs' own wording is the
policy pack's. The code names keys: WORDING.text(key), WORDING.format(key, field=...)."""

from __future__ import annotations

from pathlib import Path

from bot.text.wording import Catalogue

WORDING = Catalogue(Path(__file__).with_name("wording.yml"))
