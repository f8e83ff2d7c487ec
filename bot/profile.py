"""Which profile this deployment runs in, and what the production profile refuses.

The production profile is README's one switch: the service database (DATABASE_URL) is
PostgreSQL. The embedded default (SQLite under var/) is for development and demos.

In the production profile the demo data is refused: the five demo personas (fixed, public
ID and phone numbers: anyone who read the README could "prove" to be them) and the demo
console accounts (`advisor` / `admin`, created from DEMO_*_PASSWORD):
- `python -m bot.manage init` migrates and does not load them (it says so in its log);
  `python -m bot.manage demo` refuses;
- the web server refuses to start while the database holds them or DEMO_ADVISOR_PASSWORD /
  DEMO_ADMIN_PASSWORD is set, with one clear operator log line saying what to remove.
`DEMO_DATA=allow` lifts this for a test or staging stack on PostgreSQL (the end-to-end
tests set it); it is never set on a live line, and start-up logs a warning when it is.
"""

from __future__ import annotations

import logging

from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError

from bot.config import get_settings

log = logging.getLogger(__name__)

DEMO_PASSWORD_VARS = ("DEMO_ADVISOR_PASSWORD", "DEMO_ADMIN_PASSWORD")


class DemoDataRefused(RuntimeError):
    """The production profile found demo data or demo accounts."""


def production_profile(database_url: str | None = None) -> bool:
    """True when the service database is PostgreSQL (README: the production profile)."""
    return (database_url or get_settings().database_url).startswith("postgresql")


def demo_data_allowed() -> bool:
    """DEMO_DATA=allow: a test or staging stack on PostgreSQL may hold the demo data."""
    return get_settings().demo_data_allowed


def demo_refused(database_url: str | None = None) -> bool:
    return production_profile(database_url) and not demo_data_allowed()


def demo_leftovers(database_url: str | None = None) -> list[str]:
    """What of the demo data is in this database or environment (English, no personal data):
    e.g. ["5 demo people", "demo account 'advisor'", "DEMO_ADMIN_PASSWORD is set"]."""
    from bot.demo.console import DEMO_ACCOUNTS, demo_password
    from bot.db import get_engine, session_scope
    from bot.demo.loader import PERSONAS
    from bot.models import Elder
    from bot.models.console import AdvisorUser

    found = [f"{name} is set" for name in DEMO_PASSWORD_VARS if demo_password(name)]
    tables = set(inspect(get_engine(database_url)).get_table_names())
    with session_scope(database_url) as s:
        if "elders" in tables:
            from bot.registry.crypto import id_lookup_hash

            hashes = [id_lookup_hash(p["id_number"]) for p in PERSONAS]
            phones = [p["phone"] for p in PERSONAS]
            people = (
                s.execute(select(Elder.id).where(Elder.id_number_hash.in_(hashes) | Elder.phone.in_(phones)))
                .scalars()
                .all()
            )
            if people:
                found.append(f"{len(people)} demo people")
        if "advisor_users" in tables:
            for _env, username, _role, display_name in DEMO_ACCOUNTS:
                if s.execute(
                    select(AdvisorUser.id).where(
                        AdvisorUser.username == username, AdvisorUser.display_name == display_name
                    )
                ).first():
                    found.append(f"demo account '{username}'")
    return found


def check_start_up(database_url: str | None = None) -> None:
    """Raises DemoDataRefused (after one clear log line for the operator) when the
    production profile finds demo data; a database that does not answer is not refused
    here (the health check reports it)."""
    if not production_profile(database_url):
        return
    if demo_data_allowed():
        log.warning(
            "DEMO_DATA=allow in the production profile: demo people and accounts are "
            "accepted. Never set this on a live line."
        )
        return
    try:
        leftovers = demo_leftovers(database_url)
    except SQLAlchemyError as exc:
        log.warning("production profile: could not check the database for demo data (%s)", type(exc).__name__)
        return
    if leftovers:
        message = (
            "refusing to start: production profile (DATABASE_URL is PostgreSQL) with demo "
            f"data: {', '.join(leftovers)}. Remove the demo people and accounts (and "
            "unset DEMO_*_PASSWORD), or set DEMO_DATA=allow on a test/staging stack only."
        )
        log.critical(message)
        raise DemoDataRefused(message)
