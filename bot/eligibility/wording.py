"""The eligibility capability's caller-facing sentences (bot/eligibility/wording.yml): what
the eligibility check says. The code names keys: WORDING.text(key), WORDING.format(key, ...)."""

from __future__ import annotations

from pathlib import Path

from bot.text.wording import Catalogue

WORDING = Catalogue(Path(__file__).with_name("wording.yml"))
