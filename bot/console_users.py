"""Advisor accounts of the console: creation, password checks and the login lockout.

Passwords are stored only as werkzeug hashes (scrypt/pbkdf2 with salt). The lockout
counts failed logins per client address and user name in the database, so it holds
across web workers and restarts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.models.base import utcnow
from bot.models.console import ROLES, AdvisorUser, LoginAttempt

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_FAILURES = 5
LOCKOUT_WINDOW = dt.timedelta(minutes=5)
# Checked against when the user name is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


class UserError(ValueError):
    """A user-management request that cannot be done; `message_zh` is for the screen."""

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh = message_zh


@dataclass(frozen=True)
class LoginResult:
    user_id: int | None = None
    locked: bool = False

    @property
    def ok(self) -> bool:
        return self.user_id is not None


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def validate_password(password: str) -> None:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"密码至少需要{MIN_PASSWORD_LENGTH}位。",
            f"password shorter than {MIN_PASSWORD_LENGTH} characters",
        )
    if password.isdigit() or password.isalpha():
        raise UserError("密码请同时包含字母和数字。", "password must mix letters and digits")


def create_user(
    session: Session, username: str, password: str, role: str = "advisor", display_name: str | None = None
) -> AdvisorUser:
    username = normalize_username(username)
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise UserError("用户名只能用字母、数字、下划线，最长64位。", f"invalid username {username!r}")
    if role not in ROLES:
        raise UserError("角色只能是 advisor 或 admin。", f"invalid role {role!r}")
    validate_password(password)
    if session.execute(select(AdvisorUser.id).where(AdvisorUser.username == username)).first():
        raise UserError("这个用户名已经有了。", f"username {username!r} exists")
    user = AdvisorUser(
        username=username,
        password_hash=generate_password_hash(password),
        role=role,
        display_name=(display_name or "").strip() or None,
        active=True,
    )
    session.add(user)
    session.flush()
    log.info("console user created username=%s role=%s", username, role)
    return user


def set_password(session: Session, user: AdvisorUser, password: str) -> None:
    validate_password(password)
    user.password_hash = generate_password_hash(password)


def recent_failures(session: Session, ip: str, username: str) -> int:
    since = utcnow() - LOCKOUT_WINDOW
    return cast(
        int,
        session.execute(
            select(func.count(LoginAttempt.id)).where(
                LoginAttempt.ip == ip,
                LoginAttempt.username == normalize_username(username)[:64],
                LoginAttempt.attempted_at >= since,
            )
        ).scalar_one(),
    )


def authenticate(session: Session, username: str, password: str, ip: str) -> LoginResult:
    """Checks a login. After MAX_FAILURES failures within LOCKOUT_WINDOW from the same
    address for the same name, refuses without checking the password."""
    name = normalize_username(username)[:64]
    if recent_failures(session, ip, name) >= MAX_FAILURES:
        log.warning("console login locked out username=%s ip=%s", name, ip)
        return LoginResult(locked=True)
    user = session.execute(select(AdvisorUser).where(AdvisorUser.username == name)).scalar_one_or_none()
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not valid or not user.active:
        session.add(LoginAttempt(ip=ip, username=name))
        log.info("console login failed username=%s ip=%s", name, ip)
        return LoginResult()
    session.execute(delete(LoginAttempt).where(LoginAttempt.ip == ip, LoginAttempt.username == name))
    # Old rows of other names are only clutter: keep the table small.
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < utcnow() - dt.timedelta(days=1)))
    user.last_login_at = utcnow()
    return LoginResult(user_id=user.id)
