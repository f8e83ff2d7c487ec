"""Booking area: service types, providers, capacity windows, bookings with status history
and the monthly entitlement ledger (free care hours).

Integrity lives in the database, not in Python checks:
- a window's `booked` can never exceed its `capacity` (CHECK), and bot/booking/ledger.py claims a
  place with a conditional ``UPDATE ... SET booked = booked + 1 WHERE booked < capacity``
  whose rowcount says whether the place was won, so concurrent callers cannot overbook;
- a booking's `idempotency_key` is UNIQUE, so a retried request cannot book twice;
- the ledger cannot spend more free minutes than were granted (CHECK).
Durations and free time are whole minutes and money is in fen (integers: exact on both
SQLite and PostgreSQL, no Decimal round trips).

Where windows come from (bot/registry/capacity.py): each provider's weekly template
(`capacity_templates`, one row per weekday and half day) and the exceptions to it
(`capacity_exceptions`: public holidays, closures, extra places) are turned into windows a
few weeks ahead; the district's files set both (bot/registry/providers.py).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import relationship

from bot.models.base import Base, utcnow
from bot.models.people import phone_digits

PARTS_OF_DAY = ("上午", "下午")
BOOKING_STATUSES = ("booked", "cancelled", "done", "no_show")

provider_streets = Table(
    "provider_streets",
    Base.metadata,
    Column("provider_id", Integer, ForeignKey("providers.id"), primary_key=True),
    Column("street_id", Integer, ForeignKey("streets.id"), primary_key=True),
)

provider_services = Table(
    "provider_services",
    Base.metadata,
    Column("provider_id", Integer, ForeignKey("providers.id"), primary_key=True),
    Column("service_type_id", Integer, ForeignKey("service_types.id"), primary_key=True),
)


class ServiceType(Base):
    """助餐, 助洁, 助浴, ... with how long a visit takes and what it costs."""

    __tablename__ = "service_types"
    id = Column(Integer, primary_key=True)
    code = Column(String(24), nullable=False, unique=True)  # e.g. "bath"
    name = Column(String(16), nullable=False, unique=True)  # e.g. "助浴"
    duration_minutes = Column(Integer, nullable=False)
    price_fen = Column(Integer, nullable=False)  # price of one visit
    # Whether the monthly free care hours (政府购买服务) can pay for this service.
    uses_free_hours = Column(Boolean, nullable=False, default=True)
    description = Column(String(200))
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
    )


class Provider(Base):
    """A service organisation with the streets and service types it covers."""

    __tablename__ = "providers"
    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    phone = Column(String(20))
    contact_name = Column(String(32))  # 联系人 of the providers file
    active = Column(Boolean, nullable=False, default=True)
    streets = relationship("Street", secondary=provider_streets)
    service_types = relationship("ServiceType", secondary=provider_services)
    templates = relationship(
        "CapacityTemplate",
        back_populates="provider",
        cascade="all, delete-orphan",
        order_by="[CapacityTemplate.weekday, CapacityTemplate.part]",
    )

    def weekly_template(self) -> dict[tuple[int, str], int]:
        """(weekday 0 = Monday, 上午|下午) -> places; empty before a template was set."""
        return {(t.weekday, t.part): t.capacity for t in self.templates}


class CapacityTemplate(Base):
    """A provider's usual places for one weekday's half day; 0 = closed that half day."""

    __tablename__ = "capacity_templates"
    id = Column(Integer, primary_key=True)
    provider_id = Column(Integer, ForeignKey("providers.id"), nullable=False)
    weekday = Column(Integer, nullable=False)  # 0 = Monday ... 6 = Sunday (date.weekday())
    part = Column(String(4), nullable=False)  # 上午|下午
    capacity = Column(Integer, nullable=False)
    provider = relationship("Provider", back_populates="templates")
    __table_args__ = (
        UniqueConstraint(
            "provider_id", "weekday", "part", name="uq_capacity_templates_provider_weekday_part"
        ),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )


class CapacityException(Base):
    """An exception to the weekly templates on one day: a public holiday, a closure, or
    extra places (e.g. a weekend made a working day). `provider_id` NULL = every provider,
    `part` NULL = the whole day; `capacity` 0 = closed. The most specific one wins
    (bot/registry/capacity.py), and at most one exists per day, provider and part."""

    __tablename__ = "capacity_exceptions"
    id = Column(Integer, primary_key=True)
    provider_id = Column(Integer, ForeignKey("providers.id"), index=True)
    day = Column(Date, nullable=False, index=True)
    part = Column(String(4))  # 上午|下午, NULL = 全天
    capacity = Column(Integer, nullable=False, default=0)
    reason = Column(String(200), nullable=False)
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    provider = relationship("Provider")
    __table_args__ = (CheckConstraint("capacity >= 0", name="capacity_not_negative"),)


class CapacityWindow(Base):
    """A provider's half day (上午 8-12, 下午 13-17) with room for `capacity` visits."""

    __tablename__ = "capacity_windows"
    id = Column(Integer, primary_key=True)
    provider_id = Column(Integer, ForeignKey("providers.id"), nullable=False)
    day = Column(Date, nullable=False, index=True)
    part = Column(String(4), nullable=False)  # 上午|下午
    starts_at = Column(DateTime, nullable=False, index=True)  # local (Asia/Shanghai), naive
    ends_at = Column(DateTime, nullable=False)
    capacity = Column(Integer, nullable=False)
    booked = Column(Integer, nullable=False, default=0)
    provider = relationship("Provider")
    __table_args__ = (
        UniqueConstraint("provider_id", "starts_at", name="uq_capacity_windows_provider_start"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("booked >= 0", name="booked_not_negative"),
        CheckConstraint("booked <= capacity", name="booked_within_capacity"),
    )


class Booking(Base):
    __tablename__ = "bookings"
    id = Column(Integer, primary_key=True)
    reference = Column(String(12), nullable=False, unique=True)  # read out on the phone
    elder_id = Column(Integer, ForeignKey("elders.id"), nullable=False, index=True)
    service_type_id = Column(Integer, ForeignKey("service_types.id"), nullable=False)
    provider_id = Column(Integer, ForeignKey("providers.id"), nullable=False)
    window_id = Column(Integer, ForeignKey("capacity_windows.id"), nullable=False, index=True)
    address = Column(String(200), nullable=False)
    status = Column(String(12), nullable=False, default="booked")
    duration_minutes = Column(Integer, nullable=False)
    price_fen = Column(Integer, nullable=False)
    free_minutes_applied = Column(Integer, nullable=False, default=0)
    cost_fen = Column(Integer, nullable=False)  # what the elder pays after free hours
    entitlement_month = Column(String(7))  # YYYY-MM of the ledger row the free time came from
    channel = Column(String(16), nullable=False)  # web|voice|sms|console|api
    # Who gets this visit's notices (confirmation, changes, the evening-before reminder): the
    # elder, or the family contact on file when the person who booked proved their identity
    # with a code sent to that contact's phone (bot/identity.py).
    notify = Column(String(16), nullable=False, default="elder", server_default="elder")
    idempotency_key = Column(String(160), nullable=False, unique=True)
    # "elder:service:start" while active, NULL once cancelled: UNIQUE, so the database itself
    # refuses a second active booking of the same visit (active_visit_key below)
    active_visit = Column(String(64), unique=True)
    cancel_reason = Column(String(200))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    elder = relationship("Elder")
    service_type = relationship("ServiceType")
    provider = relationship("Provider")
    window = relationship("CapacityWindow")

    def notice_number(self, *, landline_ok: bool = False) -> str | None:
        """The number this visit's notices go to: the family contact when they booked for
        her; otherwise hers. An SMS needs a mobile: when hers is a landline, her family
        contact's mobile (None: nobody can be texted). `landline_ok`: a call may go to her
        landline (the evening-before reminder)."""
        from bot.contact.sms import notice_number_for  # the one rule for whose mobile gets an SMS

        elder = self.elder
        if self.notify == "family_contact" and elder.emergency_contact_phone:
            return cast(str, elder.emergency_contact_phone)
        if landline_ok and elder.phone:
            return cast(str, elder.phone)
        return notice_number_for(elder)[0]

    def to_family(self, number: str | None) -> bool:
        """Does a notice to `number` reach her family contact rather than her?"""
        digits = phone_digits(number)
        return (
            bool(digits)
            and digits == phone_digits(self.elder.emergency_contact_phone)
            and digits != phone_digits(self.elder.phone)
        )

    def greeting(self, number: str | None) -> str:
        """How a notice starts: the elder by name, or the family contact about her."""
        return "您好" if self.to_family(number) else f"{self.elder.name}您好"

    history = relationship(
        "BookingStatusHistory", order_by="BookingStatusHistory.id", back_populates="booking"
    )
    __table_args__ = (
        CheckConstraint("free_minutes_applied >= 0", name="free_minutes_not_negative"),
        CheckConstraint("cost_fen >= 0", name="cost_not_negative"),
    )


class BookingStatusHistory(Base):
    """Every change of a booking: created, rescheduled, cancelled, done."""

    __tablename__ = "booking_status_history"
    id = Column(Integer, primary_key=True)
    booking_id = Column(Integer, ForeignKey("bookings.id"), nullable=False, index=True)
    from_status = Column(String(12))
    to_status = Column(String(12), nullable=False)
    event = Column(String(16), nullable=False)  # created|rescheduled|cancelled|...
    channel = Column(String(16))
    note = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    booking = relationship("Booking", back_populates="history")


class EntitlementLedger(Base):
    """Free care minutes per elder and month: granted by policy, used by bookings,
    returned by cancellations. Left = granted - used + returned."""

    __tablename__ = "entitlement_ledger"
    id = Column(Integer, primary_key=True)
    elder_id = Column(Integer, ForeignKey("elders.id"), nullable=False)
    month = Column(String(7), nullable=False)  # YYYY-MM
    granted_minutes = Column(Integer, nullable=False, default=0)
    used_minutes = Column(Integer, nullable=False, default=0)
    returned_minutes = Column(Integer, nullable=False, default=0)
    policy_ref = Column(String(200))  # which rule and document granted it
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("elder_id", "month", name="uq_entitlement_ledger_elder_month"),
        CheckConstraint("granted_minutes >= 0", name="granted_not_negative"),
        CheckConstraint("used_minutes >= 0", name="used_not_negative"),
        CheckConstraint("returned_minutes >= 0", name="returned_not_negative"),
        CheckConstraint("returned_minutes <= used_minutes", name="returned_within_used"),
        CheckConstraint("used_minutes - returned_minutes <= granted_minutes", name="spent_within_granted"),
    )


# One exception per day, provider (NULL = all) and part (NULL = whole day): NULLs are distinct
# in a plain UNIQUE constraint, so the index is on the coalesced values (SQLite and PostgreSQL).
Index(
    "uq_capacity_exceptions_scope",
    CapacityException.day,
    func.coalesce(CapacityException.provider_id, 0),
    func.coalesce(CapacityException.part, ""),
    unique=True,
)


def active_visit_key(elder_id: int, service_type_id: int, starts_at: dt.datetime) -> str:
    return f"{elder_id}:{service_type_id}:{starts_at:%Y-%m-%dT%H:%M}"
