"""Models of the advisor console: advisor accounts, login attempts and the audit log."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Text

from bot.models.base import Base, utcnow

ROLES = ("advisor", "admin")


class AdvisorUser(Base):
    """A person who may log in to the console. Only a werkzeug password hash is stored."""

    __tablename__ = "advisor_users"
    __table_args__ = (CheckConstraint("role IN ('advisor', 'admin')", name="role"),)
    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64))
    password_hash = Column(String(256), nullable=False)
    role = Column(String(16), nullable=False, default="advisor")
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_login_at = Column(DateTime)

    @property
    def is_admin(self) -> bool:
        return cast(bool, self.role == "admin")

    @property
    def label(self) -> str:
        return cast(str, self.display_name or self.username)


class LoginAttempt(Base):
    """Failed console logins, counted per client address and user name for the lockout."""

    __tablename__ = "console_login_attempts"
    id = Column(Integer, primary_key=True)
    ip = Column(String(64), nullable=False)
    username = Column(String(64), nullable=False)
    attempted_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class AuditEntry(Base):
    """Who viewed or changed which elder's record (and other sensitive console actions).

    `detail` never holds a full ID or phone number (bot.text.masking.mask_text)."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(32), nullable=False)
    elder_id = Column(Integer, ForeignKey("elders.id"), index=True)
    detail = Column(Text)
    ip = Column(String(64))
