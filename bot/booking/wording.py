"""The booking capability's caller-facing sentences (bot/booking/wording.yml): what the
booking forms and the ledger's results say. The code names keys: WORDING.text(key),
WORDING.format(key, field=...)."""

from __future__ import annotations

from pathlib import Path

from bot.text.wording import Catalogue

WORDING = Catalogue(Path(__file__).with_name("wording.yml"))
