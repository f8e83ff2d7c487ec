"""Streets, communities and elders (with the facts eligibility uses)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Session, joinedload, relationship, validates

from bot.clock import age_on
from bot.text.masking import mask_phone
from bot.models.base import Base, utcnow

# Allowed values of the fact columns (the eligibility engine uses the same words).
ECONOMIC_STATUSES = ("普通", "低保边缘", "低保", "特困")
# An elder's place in the registry: only `active` elders are recognised by their phone
# number, booked or called; the others stay for the record (bookings, audit).
ELDER_STATUSES = ("active", "moved", "deceased")
ELDER_STATUS_ZH = {"active": "在册", "moved": "已迁出", "deceased": "已去世"}
CARE_LEVELS = ("能力完好", "轻度失能", "中度失能", "重度失能")
LIVING_SITUATIONS = ("独居", "空巢", "与家人同住")


class Street(Base):
    __tablename__ = "streets"
    id = Column(Integer, primary_key=True)
    name = Column(String(32), nullable=False, unique=True)
    inside_city_wall = Column(Boolean, nullable=False, default=False)
    communities = relationship("Community", back_populates="street")


class Community(Base):
    __tablename__ = "communities"
    id = Column(Integer, primary_key=True)
    street_id = Column(Integer, ForeignKey("streets.id"), nullable=False)
    name = Column(String(64), nullable=False)
    street = relationship("Street", back_populates="communities")


class Elder(Base):
    __tablename__ = "elders"
    id = Column(Integer, primary_key=True)
    name = Column(String(32), nullable=False, index=True)
    birth_date = Column(Date, nullable=False)
    gender = Column(String(4))
    # Not unique: an old couple often shares one landline (elder_by_phone then asks who).
    phone = Column(String(20), index=True)
    # Derived from `phone` (set by _set_phone below): the console finds "尾号1234" by index.
    phone_last4 = Column(String(4), index=True)
    # The full ID number only encrypted (bot/registry/crypto.py); found by its keyed hash;
    # the last four characters in clear for "name + last four" checks and masked display.
    id_number_cipher = Column(Text)
    id_number_hash = Column(String(64), unique=True)
    id_number_last4 = Column(String(4), index=True)
    street_id = Column(Integer, ForeignKey("streets.id"), nullable=False)
    community_id = Column(Integer, ForeignKey("communities.id"))
    address = Column(String(200))
    hukou_local = Column(Boolean, nullable=False, default=True)
    economic_status = Column(String(8), nullable=False, default="普通")
    care_level = Column(String(8), nullable=False, default="能力完好")
    dementia = Column(Boolean, nullable=False, default=False)
    living_situation = Column(String(8), nullable=False, default="与家人同住")
    special_family = Column(Boolean, nullable=False, default=False)  # 计划生育特殊家庭
    disability_certificate = Column(Boolean, nullable=False, default=False)
    veteran = Column(Boolean, nullable=False, default=False)
    emergency_contact_name = Column(String(32))
    emergency_contact_phone = Column(String(20))
    emergency_contact_relation = Column(String(16))
    notes = Column(Text)
    status = Column(String(12), nullable=False, default="active", server_default="active")
    status_note = Column(String(200))
    status_changed_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    street = relationship("Street")
    community = relationship("Community")

    @property
    def age(self) -> int:
        return age_on(self.birth_date)

    @validates("phone")  # type: ignore[untyped-decorator]  # SQLAlchemy 1.4 is untyped
    def _set_phone(self, _key: str, value: str | None) -> str | None:
        self.phone_last4 = phone_digits(value)[-4:] or None
        return value

    @property
    def active(self) -> bool:
        return cast(bool, self.status == "active")

    @property
    def status_zh(self) -> str:
        return cast(str, ELDER_STATUS_ZH.get(self.status, self.status))

    def set_id_number(self, id_number: str) -> None:
        from bot.registry import crypto

        self.id_number_cipher = crypto.encrypt_id(id_number)
        self.id_number_hash = crypto.id_lookup_hash(id_number)
        self.id_number_last4 = crypto.id_last4(id_number)

    @property
    def id_number(self) -> str | None:
        """The full number, decrypted: only for a person entitled to it (audited by the caller)."""
        from bot.registry import crypto

        return crypto.decrypt_id(self.id_number_cipher)

    @property
    def id_number_masked(self) -> str:
        """Only the last four characters: the rest is not stored in clear."""
        return ("*" * 14 + self.id_number_last4) if self.id_number_last4 else ""

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def facts(self) -> dict[str, Any]:
        """The facts the eligibility engine reads (same keys as the conversation collects)."""
        return {
            "birth_date": self.birth_date.isoformat(),
            "age": self.age,
            "street": self.street.name if self.street else None,
            "hukou_local": self.hukou_local,
            "economic_status": self.economic_status,
            "care_level": self.care_level,
            "dementia": self.dementia,
            "living_situation": self.living_situation,
            "special_family": self.special_family,
            "disability_certificate": self.disability_certificate,
            "veteran": self.veteran,
            # not in the registry (bot.text.facts.FACT_KEYS): the conversation asks when it matters
            "poverty_registered": None,
            "severe_disability_family": None,
        }


def phone_digits(phone: str | None) -> str:
    """The last 11 digits of a number as callers and channels give it (+86 138-0000-0001)."""
    return "".join(ch for ch in phone or "" if ch.isdigit())[-11:]


def is_mobile(phone: str | None) -> bool:
    """A mainland mobile number (SMS can reach it; a landline cannot)."""
    digits = phone_digits(phone)
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def elder_by_phone(session: Session, phone: str | None) -> Elder | None:
    """The one active elder registered with this phone number (how known callers are
    recognised); None when nobody, or more than one person (a shared landline), has it."""
    digits = phone_digits(phone)
    if len(digits) < 7:
        return None
    found = (
        session.execute(
            select(Elder)
            .options(joinedload(Elder.street))
            .where(Elder.phone == digits, Elder.status == "active")
            .limit(2)
        )
        .unique()
        .scalars()
        .all()
    )
    return found[0] if len(found) == 1 else None


def elder_by_id_number(session: Session, id_number: str) -> Elder | None:
    from bot.registry import crypto

    return cast(
        "Elder | None",
        session.execute(
            select(Elder).where(Elder.id_number_hash == crypto.id_lookup_hash(id_number))
        ).scalar_one_or_none(),
    )
