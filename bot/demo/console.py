"""Demo console accounts, only from the environment (no password is ever committed).

DEMO_ADVISOR_PASSWORD set -> user `advisor` (role advisor, 演示顾问);
DEMO_ADMIN_PASSWORD set   -> user `admin` (role admin, 演示管理员).
Unset -> no account; create one with `flask --app server create-user NAME --role admin`.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot.config import get_settings
from bot.console_users import UserError, create_user
from bot.demo.loader import register_loader

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = (
    ("DEMO_ADVISOR_PASSWORD", "advisor", "advisor", "演示顾问"),
    ("DEMO_ADMIN_PASSWORD", "admin", "admin", "演示管理员"),
)


def demo_password(env_name: str) -> str:
    """The password set in DEMO_ADVISOR_PASSWORD / DEMO_ADMIN_PASSWORD ("" when unset):
    each is the Settings field named after its variable."""
    return str(getattr(get_settings(), env_name.lower()))


@register_loader
def load_console_users(session: Session) -> None:
    for env_name, username, role, display_name in DEMO_ACCOUNTS:
        password = demo_password(env_name)
        if not password:
            log.info("demo console user %s not created: %s is not set", username, env_name)
            continue
        try:
            with session.begin_nested():
                create_user(session, username, password, role=role, display_name=display_name)
        except UserError as exc:
            log.warning("demo console user %s not created: %s", username, exc)
