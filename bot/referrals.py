"""Referrals: where a caller is sent for what this line does not handle (pensions → 12333,
medical insurance → 12393, city services → 12345, hospital registration → our own escort
service). The numbers, sentences and sources live in policies/national/referrals.yml; this
module loads and checks that file and finds the referral a message needs.

Pure Python, no Rasa (tests/test_referrals.py)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REFERRALS_PATH = Path(__file__).resolve().parent.parent / "policies" / "national" / "referrals.yml"


@dataclass(frozen=True)
class Referral:
    id: str
    cues: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]
    say: str | None  # the sentence, or None when `program` answers instead
    program: str | None  # a policy-pack program whose answer is said
    offer: dict[str, Any] | None  # {"intent", "service_type", "title"}: one of our own services
    source: dict[str, Any] | None

    def matches(self, text: str) -> bool:
        return any(p.search(text) for p in self.cues) and not any(p.search(text) for p in self.unless)


class ReferralFileError(ValueError):
    """The referral file is malformed: raised at load time, never on a caller."""


def _check(raw: dict[str, Any], index: int) -> None:
    where = f"{REFERRALS_PATH.name} referral #{index} ({raw.get('id')!r})"
    if not raw.get("id") or not raw.get("cues"):
        raise ReferralFileError(f"{where}: needs an id and cues")
    if bool(raw.get("say")) == bool(raw.get("program")):
        raise ReferralFileError(f"{where}: needs exactly one of say / program")
    if raw.get("say"):
        source = raw.get("source") or {}
        if not source.get("title") or not source.get("section"):
            raise ReferralFileError(f"{where}: a sentence needs a source with title and section")
    offer = raw.get("offer")
    if offer is not None and not {"intent", "title"} <= set(offer):
        raise ReferralFileError(f"{where}: offer needs intent and title")


@functools.lru_cache(maxsize=2)
def load(path: Path = REFERRALS_PATH) -> tuple[Referral, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for i, item in enumerate(raw.get("referrals") or []):
        _check(item, i)
        try:
            cues = tuple(re.compile(c) for c in item["cues"])
            unless = tuple(re.compile(c) for c in item.get("unless") or ())
        except re.error as exc:
            raise ReferralFileError(f"referral {item['id']!r}: bad pattern: {exc}") from exc
        out.append(
            Referral(
                id=item["id"],
                cues=cues,
                unless=unless,
                say=item.get("say"),
                program=item.get("program"),
                offer=item.get("offer"),
                source=item.get("source"),
            )
        )
    ids = [r.id for r in out]
    if len(ids) != len(set(ids)):
        raise ReferralFileError(f"{path.name}: duplicate referral ids")
    return tuple(out)


def find(text: str | None) -> Referral | None:
    """The first referral whose cues the (normalised) message matches, or None."""
    text = re.sub(r"\s+", "", text or "")
    if not text:
        return None
    return next((r for r in load() if r.matches(text)), None)


def offer_payload(referral: Referral) -> str | None:
    """The button payload of the referral's own-service offer (Rasa's /intent{json})."""
    if not referral.offer:
        return None
    import json

    entities = {k: v for k, v in referral.offer.items() if k not in ("intent", "title")}
    intent: str = referral.offer["intent"]
    return "/" + intent + (json.dumps(entities, ensure_ascii=False) if entities else "")
