"""Outreach's written wording (bot/outreach/wording.yml): the visit reminder SMS. What the
outbound calls say is bot/outreach/script.yml. The code names keys: WORDING.format(key, ...)."""

from __future__ import annotations

from pathlib import Path

from bot.text.wording import Catalogue

WORDING = Catalogue(Path(__file__).with_name("wording.yml"))
