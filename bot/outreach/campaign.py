"""The monthly check-in campaign's definition: who is called, within which limits.

One home: `policies/<region>/outreach.yml` (`monthly_checkin`). The plan asks for a monthly
visit or call to 特殊困难老人 but does not say who they are, so the list of registry fields
that puts an elder in the campaign is the district's operating decision, kept in that file
with the program it serves (`basis_program`; the program holds the clause and the quote). This module reads and checks it and answers two
questions: is this elder in the campaign, and why (for the operator's lines and the console).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import get_settings
from bot.models import Elder

CAMPAIGN_FILE = "outreach.yml"
_FIELDS = {"living_situation", "care_level", "special_family", "economic_status"}
# How a condition reads in an operator's line / the console ("why is she called").
_FIELD_LABELS = {"special_family": "计划生育特殊家庭"}


class CampaignConfigError(ValueError):
    """outreach.yml is missing or malformed (the message names the file and the key)."""


@dataclass(frozen=True)
class Condition:
    field: str
    values: tuple[Any, ...] | None = None  # `in`
    is_value: bool | None = None  # `is`

    def holds(self, elder: Elder) -> bool:
        value = getattr(elder, self.field)
        if self.values is not None:
            return value in self.values
        return bool(value) is self.is_value

    def label(self, elder: Elder) -> str:
        if self.values is not None:
            return str(getattr(elder, self.field))
        return _FIELD_LABELS.get(self.field, self.field)


@dataclass(frozen=True)
class CheckinCampaign:
    any_of: tuple[Condition, ...]
    max_attempts_per_day: int
    max_attempts_per_month: int
    unanswered_attempts_for_visit: int
    basis_program: str  # the policy pack's program the campaign serves (its citation)

    def reasons(self, elder: Elder) -> list[str]:
        """Why this elder is in the campaign (empty: she is not)."""
        return [c.label(elder) for c in self.any_of if c.holds(elder)]

    def members(self, session: Session) -> list[tuple[Elder, list[str]]]:
        """Active elders in the campaign with their reasons, by id."""
        elders = (
            session.execute(select(Elder).where(Elder.status == "active").order_by(Elder.id)).scalars().all()
        )
        return [(e, why) for e in elders if (why := self.reasons(e))]


def _positive_int(raw: dict[str, Any], key: str, path: Path) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CampaignConfigError(f"{path}: monthly_checkin.{key} must be a positive integer")
    return value


def parse_campaign(data: dict[str, Any], path: Path) -> CheckinCampaign:
    raw = (data or {}).get("monthly_checkin")
    if not isinstance(raw, dict):
        raise CampaignConfigError(f"{path}: monthly_checkin is missing")
    conditions = []
    for i, item in enumerate(raw.get("any_of") or []):
        if not isinstance(item, dict) or item.get("field") not in _FIELDS:
            raise CampaignConfigError(
                f"{path}: monthly_checkin.any_of[{i}].field must be one of {sorted(_FIELDS)}"
            )
        if "in" in item and isinstance(item["in"], list) and item["in"]:
            conditions.append(Condition(item["field"], values=tuple(item["in"])))
        elif isinstance(item.get("is"), bool):
            conditions.append(Condition(item["field"], is_value=item["is"]))
        else:
            raise CampaignConfigError(
                f"{path}: monthly_checkin.any_of[{i}] needs `in: [...]` or `is: true|false`"
            )
    if not conditions:
        raise CampaignConfigError(f"{path}: monthly_checkin.any_of is empty")
    basis = raw.get("basis_program")
    if not isinstance(basis, str) or not basis:
        raise CampaignConfigError(f"{path}: monthly_checkin.basis_program must name a program")
    return CheckinCampaign(
        any_of=tuple(conditions),
        max_attempts_per_day=_positive_int(raw, "max_attempts_per_day", path),
        max_attempts_per_month=_positive_int(raw, "max_attempts_per_month", path),
        unanswered_attempts_for_visit=_positive_int(raw, "unanswered_attempts_for_visit", path),
        basis_program=basis,
    )


@lru_cache(maxsize=4)
def _load(path: str) -> CheckinCampaign:
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignConfigError(f"{file}: not found") from None
    except yaml.YAMLError as exc:
        raise CampaignConfigError(f"{file}: not valid YAML ({exc})") from None
    return parse_campaign(data, file)


def checkin_campaign() -> CheckinCampaign:
    settings = get_settings()
    return _load(str(Path(settings.policies_dir) / settings.policy_region / CAMPAIGN_FILE))


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(text: str) -> dt.date:
    """ "2026-11" -> 2026-11-01; ValueError otherwise."""
    year, _, month = text.strip().partition("-")
    if not (len(year) == 4 and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        raise ValueError(f"{text!r} is not a month YYYY-MM")
    return dt.date(int(year), int(month), 1)
