"""Database set-up from the command line: `python -m bot.manage init` (migrate + demo data).

    python -m bot.manage migrate     # alembic upgrade heads
    python -m bot.manage demo        # load demo data if the database is empty
    python -m bot.manage init        # both
    python -m bot.manage retention [--days N] [--dry-run]   # delete personal data past its period

In the production profile (PostgreSQL, bot/profile.py) `init` only migrates and `demo`
refuses: demo people and accounts never reach a live database.
"""

from __future__ import annotations

import argparse
import logging
import sys

from alembic import command
from alembic.config import Config

from bot import profile
from bot.config import PROJECT_ROOT, get_settings
from bot.db import migration_engine
from bot.text.masking import install_log_masking, mask_text

log = logging.getLogger("bot.manage")


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["configure_logger"] = False
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def migrate(database_url: str | None = None) -> None:
    url = database_url or get_settings().database_url
    if url.startswith("sqlite:///"):
        get_settings().var_dir.mkdir(parents=True, exist_ok=True)
    with migration_engine(url):  # a long statement timeout while migrating only
        command.upgrade(alembic_config(url), "heads")
    log.info("database migrated: %s", _safe_url(url))


def _safe_url(url: str) -> str:
    # never print a password from a URL
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return mask_text(url)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_log_masking()
    parser = argparse.ArgumentParser(prog="python -m bot.manage")
    parser.add_argument("command", choices=["migrate", "demo", "init", "retention"])
    parser.add_argument("--days", type=int, help="retention period (default RETENTION_DAYS or 180)")
    parser.add_argument("--dry-run", action="store_true", help="retention: only count")
    args = parser.parse_args(argv)
    if args.command == "retention":
        from bot import retention

        print(
            retention.run(days=args.days, dry_run=args.dry_run).line()
            + (" (dry run)" if args.dry_run else "")
        )
        return 0
    from bot.demo import loader as demo

    if args.command == "demo" and profile.demo_refused():
        log.error(
            "refusing to load demo data: production profile (DATABASE_URL is PostgreSQL). "
            "Demo people and accounts never go into a live database "
            "(DEMO_DATA=allow only on a test/staging stack)."
        )
        return 2
    if args.command in ("migrate", "init"):
        migrate()
    if args.command in ("demo", "init"):
        if profile.demo_refused():
            log.info(
                "production profile (DATABASE_URL is PostgreSQL): demo data not loaded "
                "(load the real register of elders; create console accounts with "
                "`flask --app server create-user`)"
            )
        else:
            if profile.production_profile():
                log.warning("DEMO_DATA=allow: loading demo data into PostgreSQL (test/staging only)")
            demo.load_if_empty()
    return 0


if __name__ == "__main__":
    sys.exit(main())
