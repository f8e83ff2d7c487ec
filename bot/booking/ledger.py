"""Booking home-care visits: find the elder, offer windows, book, list, cancel, reschedule,
and the monthly free-care-hours ledger.

Every write is one transaction (booking + capacity claim + ledger + status history + SMS
outbox row, or nothing). Capacity is claimed with a conditional UPDATE whose rowcount says
whether the place was won (PostgreSQL re-checks the WHERE after a concurrent update; SQLite
serialises writers), backed by a CHECK constraint; a UNIQUE idempotency key makes retried
requests return the first result instead of booking twice.

Callers (actions/, server/) pass plain values and get dataclasses back; the messages in the
results are short spoken Mandarin for the person on the line.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field, replace
from typing import Any, cast

from sqlalchemy import and_, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot import clock
from bot.db import retry_on_lock, session_scope
from bot.text.masking import mask_phone
from bot.models import Elder, Street
from bot.models.people import elder_by_phone
from bot.models.booking import (
    Booking,
    BookingStatusHistory,
    CapacityWindow,
    EntitlementLedger,
    Provider,
    ServiceType,
    active_visit_key,
    provider_services,
    provider_streets,
)
from bot.contact.sms import note_sms_unsent, send_sms
from bot.text.timeparse import say_window, say_window_with_hours
from bot.booking.wording import WORDING

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------
# Policy: free care hours for people aged 80 and over. The numbers live once, in the policy
# pack (policies/<region>/programs/free_home_care_80plus.yml: min_age, hours_per_month,
# hourly_rate_yuan, each with its clause); the ledger reads them for the day of the visit.
FREE_CARE_PROGRAM_ID = "free_home_care_80plus"


@dataclass(frozen=True)
class FreeCarePolicy:
    min_age: int
    minutes_per_month: int
    rate_fen_per_hour: int
    source: str


def free_care_policy(on: dt.date) -> FreeCarePolicy:
    """The free-care parameters in force on a date, from the policy pack. A pack without
    them for that day is a configuration error (PolicyPackError), never a silent default."""
    from bot.policy import kb as policy_kb

    kb = policy_kb.get_kb()
    entries = {
        name: kb.parameter_entry(FREE_CARE_PROGRAM_ID, name, on)
        for name in ("min_age", "hours_per_month", "hourly_rate_yuan")
    }
    missing = [name for name, entry in entries.items() if entry is None]
    if missing:
        raise policy_kb.PolicyPackError(
            kb.program(FREE_CARE_PROGRAM_ID).path,
            "parameters",
            f"no value in force on {on} for {', '.join(missing)}",
        )
    found = {name: entry for name, entry in entries.items() if entry is not None}  # all of them
    hours = found["hours_per_month"]
    return FreeCarePolicy(
        min_age=int(found["min_age"].value),
        minutes_per_month=int(round(float(hours.value) * 60)),
        rate_fen_per_hour=int(round(float(found["hourly_rate_yuan"].value) * 100)),
        source=f"{hours.citation.title} {hours.citation.clause}".strip()[:150],
    )


# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class WindowOption:
    start: dt.datetime
    end: dt.datetime
    free_places: int

    @property
    def part(self) -> str:
        return "上午" if self.start.hour < 12 else "下午"

    @property
    def spoken(self) -> str:
        return say_window(self.start)

    @property
    def short(self) -> str:
        """What a caller can say or tap to choose it: 11月26日上午."""
        return f"{self.start.month}月{self.start.day}日{self.part}"


@dataclass
class BookingResult:
    ok: bool
    code: str  # booked|duplicate|rescheduled|unchanged|full|past|unknown_service|...
    message: str
    reference: str | None = None
    booking_id: int | None = None
    window_start: dt.datetime | None = None
    service_name: str | None = None
    elder_name: str | None = None
    address: str | None = None
    free_minutes_applied: int = 0
    cost_fen: int | None = None
    alternatives: list[WindowOption] = field(default_factory=list)
    sms_outbox_id: int | None = None

    @property
    def cost_yuan_text(self) -> str:
        return yuan(self.cost_fen or 0)


@dataclass(frozen=True)
class BookingView:
    reference: str
    elder_id: int
    service_name: str
    window_start: dt.datetime
    status: str
    address: str
    free_minutes_applied: int
    cost_fen: int
    provider_name: str
    booked_seq: int = 0  # the order bookings were made in ("刚才约的那个" is the highest)

    @property
    def spoken(self) -> str:
        return f"{say_window(self.window_start)}的{self.service_name}"


@dataclass(frozen=True)
class CancelResult:
    ok: bool
    code: str  # cancelled|already_cancelled|not_found|too_late
    message: str
    reference: str | None = None
    minutes_returned: int = 0

    @property
    def hours_returned(self) -> float:
        return self.minutes_returned / 60


@dataclass(frozen=True)
class EntitlementSummary:
    elder_id: int
    month: str
    granted_minutes: int
    used_minutes: int
    returned_minutes: int

    @property
    def left_minutes(self) -> int:
        return self.granted_minutes - self.used_minutes + self.returned_minutes

    @property
    def granted_hours(self) -> float:
        return self.granted_minutes / 60

    @property
    def used_hours(self) -> float:
        return (self.used_minutes - self.returned_minutes) / 60

    @property
    def left_hours(self) -> float:
        return self.left_minutes / 60


class BookingError(Exception):
    """Raised for programming errors (bad arguments); callers' mistakes are results."""


# ---------------------------------------------------------------------------------------
# Small helpers


def yuan(fen: int) -> str:
    return f"{fen // 100}元" if fen % 100 == 0 else f"{fen / 100:.2f}元"


def hours_text(minutes: int) -> str:
    if minutes % 60 == 0:
        return f"{minutes // 60}小时"
    if minutes == 30:
        return "半小时"
    return f"{minutes // 60}个半小时" if minutes % 60 == 30 else f"{minutes}分钟"


def now_local() -> dt.datetime:
    return clock.now().replace(tzinfo=None)


def month_key(day: dt.date | dt.datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_last_day(month: str) -> dt.date:
    year, mon = int(month[:4]), int(month[5:7])
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def find_elder(
    session: Session,
    phone: str | None = None,
    name: str | None = None,
    id_last4: str | None = None,
    phone_last4: str | None = None,
) -> Elder | None:
    """The elder with this phone number, or with this name and ID-number ending, or with
    this name and registered phone's last four digits (one match only, else None)."""
    if phone:
        elder = elder_by_phone(session, phone)
        if elder is not None:
            return elder
    if name and phone_last4 and len(phone_last4.strip()) == 4:
        found = (
            session.execute(
                select(Elder)
                .where(
                    Elder.name == name.strip(),
                    Elder.phone_last4 == phone_last4.strip(),
                    Elder.status == "active",
                )
                .limit(2)
            )
            .scalars()
            .all()
        )
        return found[0] if len(found) == 1 else None
    if name and id_last4:
        last4 = id_last4.strip().upper()
        if len(last4) != 4:
            return None
        matches = (
            session.execute(
                select(Elder)
                .where(Elder.name == name.strip(), Elder.id_number_last4 == last4, Elder.status == "active")
                .limit(2)
            )
            .scalars()
            .all()
        )
        return matches[0] if len(matches) == 1 else None
    return None


def elder_names_in(session: Session, text: str | None) -> list[str]:
    """The names of registered elders that appear in `text` (longest first). Used only to
    notice that a caller now means someone else; nothing about them is said."""
    flat = (text or "").strip()
    if len(flat) < 2:
        return []
    names = (
        session.execute(
            select(Elder.name).where(
                Elder.status == "active",
                func.length(Elder.name) >= 2,
                literal(flat).contains(Elder.name),  # SQLite and PostgreSQL alike
            )
        )
        .scalars()
        .all()
    )
    return sorted(set(names), key=len, reverse=True)


def service_by_code_or_name(session: Session, code_or_name: str | None) -> ServiceType | None:
    if not code_or_name:
        return None
    return cast(
        "ServiceType | None",
        session.execute(
            select(ServiceType).where((ServiceType.code == code_or_name) | (ServiceType.name == code_or_name))
        ).scalar_one_or_none(),
    )


def service_names(session: Session) -> list[str]:
    return list(session.execute(select(ServiceType.name).order_by(ServiceType.id)).scalars())


def _street_id(session: Session, street: int | Street | str) -> int | None:
    if isinstance(street, int):
        return street
    if isinstance(street, Street):
        return cast("int | None", street.id)
    return cast(
        "int | None", session.execute(select(Street.id).where(Street.name == street)).scalar_one_or_none()
    )


def _covering_windows(street_id: int, service_id: int) -> Select:
    """SELECT of the capacity windows of active providers serving this street and service."""
    return (
        select(CapacityWindow)
        .join(Provider, Provider.id == CapacityWindow.provider_id)
        .join(
            provider_streets,
            and_(provider_streets.c.provider_id == Provider.id, provider_streets.c.street_id == street_id),
        )
        .join(
            provider_services,
            and_(
                provider_services.c.provider_id == Provider.id,
                provider_services.c.service_type_id == service_id,
            ),
        )
        .where(Provider.active.is_(True))
    )


def available_windows(
    session: Session,
    service_code: str,
    street: int | Street | str,
    around: dt.datetime,
    limit: int = 3,
    *,
    days: int = 21,
) -> list[WindowOption]:
    """The free windows nearest to `around` (not in the past) for a service in a street;
    several providers' places at the same time are added up."""
    service = service_by_code_or_name(session, service_code)
    street_id = _street_id(session, street)
    if service is None or street_id is None:
        return []
    earliest = max(now_local(), around - dt.timedelta(days=days))
    rows = (
        session.execute(
            _covering_windows(street_id, service.id).where(
                CapacityWindow.starts_at > earliest,
                CapacityWindow.starts_at <= around + dt.timedelta(days=days),
                CapacityWindow.booked < CapacityWindow.capacity,
            )
        )
        .scalars()
        .all()
    )
    by_start: dict[dt.datetime, WindowOption] = {}
    for w in rows:
        free = w.capacity - w.booked
        prev = by_start.get(w.starts_at)
        by_start[w.starts_at] = WindowOption(w.starts_at, w.ends_at, free + (prev.free_places if prev else 0))
    options = sorted(by_start.values(), key=lambda o: (abs((o.start - around).total_seconds()), o.start))
    return sorted(options[:limit], key=lambda o: o.start)


def window_is_free(
    session: Session, service_code: str, street: int | Street | str, start: dt.datetime
) -> bool:
    """Whether some provider of the street still has a place for the service at `start`."""
    service = service_by_code_or_name(session, service_code)
    street_id = _street_id(session, street)
    if service is None or street_id is None or start <= now_local():
        return False
    return (
        session.execute(
            _covering_windows(street_id, service.id)
            .where(CapacityWindow.starts_at == start, CapacityWindow.booked < CapacityWindow.capacity)
            .limit(1)
        ).first()
        is not None
    )


def _ensure_ledger(session: Session, elder: Elder, month: str) -> EntitlementLedger:
    """The elder's ledger row for a month, created with the policy grant if missing and
    locked FOR UPDATE (PostgreSQL) so concurrent bookings spend the same hours once."""
    policy = free_care_policy(dt.date(int(month[:4]), int(month[5:7]), 1))
    entitled = clock.age_on(elder.birth_date, _month_last_day(month)) >= policy.min_age
    granted = policy.minutes_per_month if entitled else 0
    dialect = session.get_bind().dialect.name
    values = dict(
        elder_id=elder.id,
        month=month,
        granted_minutes=granted,
        used_minutes=0,
        returned_minutes=0,
        policy_ref=f"{FREE_CARE_PROGRAM_ID}: {policy.source}",
        created_at=clock.utcnow_naive(),
        updated_at=clock.utcnow_naive(),
    )
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - other databases are not supported by the project
        raise BookingError(f"unsupported database {dialect}")
    session.execute(
        dialect_insert(EntitlementLedger)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["elder_id", "month"])
    )
    return cast(
        "EntitlementLedger",
        session.execute(
            select(EntitlementLedger)
            .where(EntitlementLedger.elder_id == elder.id, EntitlementLedger.month == month)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one(),
    )


def _ledger_left(row: EntitlementLedger) -> int:
    return cast(int, row.granted_minutes - row.used_minutes + row.returned_minutes)


def _apply_free_time(
    session: Session, elder: Elder, service: ServiceType, start: dt.datetime
) -> tuple[int, int, str | None]:
    """Spends free minutes for a visit; returns (free minutes, cost in fen, month)."""
    policy = free_care_policy(start.date())
    if not service.uses_free_hours:
        return 0, service.price_fen, None
    month = month_key(start)
    row = _ensure_ledger(session, elder, month)
    free = max(0, min(_ledger_left(row), service.duration_minutes))
    if free:
        row.used_minutes = row.used_minutes + free
    cost = max(0, service.price_fen - free * policy.rate_fen_per_hour // 60)
    return free, cost, month


def _return_free_time(session: Session, booking: Booking) -> int:
    if not booking.free_minutes_applied or not booking.entitlement_month:
        return 0
    row = _ensure_ledger(session, booking.elder, booking.entitlement_month)
    row.returned_minutes = row.returned_minutes + booking.free_minutes_applied
    returned: int = booking.free_minutes_applied
    booking.free_minutes_applied = 0
    return returned


def quote(session: Session, elder: Elder, service: ServiceType, start: dt.datetime) -> tuple[int, int]:
    """(free minutes, cost in fen) a booking would get now, without writing anything."""
    if not service.uses_free_hours:
        return 0, service.price_fen
    summary = _summary(session, elder, month_key(start))
    free = max(0, min(summary.left_minutes, service.duration_minutes))
    policy = free_care_policy(start.date())
    return free, max(0, service.price_fen - free * policy.rate_fen_per_hour // 60)


def _claim_place(
    session: Session, street_id: int, service_id: int, start: dt.datetime
) -> CapacityWindow | None:
    """Takes one place in a window starting at `start`; None when every provider is full."""
    candidates = (
        session.execute(
            _covering_windows(street_id, service_id)
            .where(CapacityWindow.starts_at == start, CapacityWindow.booked < CapacityWindow.capacity)
            .order_by((CapacityWindow.capacity - CapacityWindow.booked).desc(), CapacityWindow.id)
        )
        .scalars()
        .all()
    )
    window: CapacityWindow
    for window in candidates:
        won = session.execute(
            update(CapacityWindow)
            .where(CapacityWindow.id == window.id, CapacityWindow.booked < CapacityWindow.capacity)
            .values(booked=CapacityWindow.booked + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            session.refresh(window)
            return window
    return None


def _release_place(session: Session, window_id: int) -> None:
    session.execute(
        update(CapacityWindow)
        .where(CapacityWindow.id == window_id, CapacityWindow.booked > 0)
        .values(booked=CapacityWindow.booked - 1)
        .execution_options(synchronize_session=False)
    )


def _new_reference(session: Session) -> str:
    for _ in range(20):
        ref = f"{secrets.randbelow(900000) + 100000}"
        if session.execute(select(Booking.id).where(Booking.reference == ref)).first() is None:
            return ref
    raise BookingError("could not find a free booking reference")


def _history(
    session: Session,
    booking: Booking,
    event: str,
    from_status: str | None,
    channel: str | None,
    note: str | None = None,
) -> None:
    session.add(
        BookingStatusHistory(
            booking_id=booking.id,
            from_status=from_status,
            to_status=booking.status,
            event=event,
            channel=channel,
            note=note,
        )
    )


def _result(booking: Booking, code: str, message: str, **extra: Any) -> BookingResult:
    return BookingResult(
        ok=True,
        code=code,
        message=message,
        reference=booking.reference,
        booking_id=booking.id,
        window_start=booking.window.starts_at,
        service_name=booking.service_type.name,
        elder_name=booking.elder.name,
        address=booking.address,
        free_minutes_applied=booking.free_minutes_applied,
        cost_fen=booking.cost_fen,
        **extra,
    )


def _cost_sentence(free_minutes: int, cost_fen: int) -> str:
    if free_minutes and not cost_fen:
        return WORDING.format("ledger.cost_all_free", hours=hours_text(free_minutes))
    if free_minutes:
        return WORDING.format("ledger.cost_free_hours", hours=hours_text(free_minutes), cost=yuan(cost_fen))
    return WORDING.format("ledger.cost", cost=yuan(cost_fen))


def _booked_message(b: Booking) -> str:
    return WORDING.format(
        "ledger.booked",
        reference=b.reference,
        name=b.elder.name,
        service=b.service_type.name,
        when=say_window_with_hours(b.window.starts_at),
        cost=_cost_sentence(b.free_minutes_applied, b.cost_fen),
    )


def _notify(s: Session, b: Booking, kind: str, returned_minutes: int = 0) -> int | None:
    """Texts the visit's notice (booking_confirmed | booking_rescheduled | booking_cancelled)
    to whoever gets its notices (Booking.notice_number), in the caller's transaction, as
    full text and as the provider template's parameters (bot/sms_templates.yml). When
    nobody can be texted (a landline and no family mobile) the advisor gets a note to tell
    her by phone. Returns the outbox row id."""
    number = b.notice_number()
    if not number:
        note_sms_unsent(b.elder_id, kind, booking_reference=b.reference, session=s)
        return None
    greeting = b.greeting(number)
    whom = b.elder.name if b.to_family(number) else WORDING.text("you")
    service, ref = b.service_type.name, b.reference
    if kind == "booking_cancelled":
        back = (
            WORDING.format("sms.free_hours_returned", hours=hours_text(returned_minutes))
            if returned_minutes
            else ""
        )
        text = WORDING.format(
            "sms.cancelled",
            greeting=greeting,
            whom=whom,
            time=say_window(b.window.starts_at),
            service=service,
            reference=ref,
            returned="，" + back if back else "",
        )
        params = {
            "greeting": greeting,
            "whom": whom,
            "time": say_window(b.window.starts_at),
            "service": service,
            "reference": ref,
            "returned": back or WORDING.text("sms.no_free_hours"),
        }
    else:
        time, cost = (
            say_window_with_hours(b.window.starts_at),
            _cost_sentence(b.free_minutes_applied, b.cost_fen),
        )
        what = WORDING.format("sms.booked_for" if kind == "booking_confirmed" else "sms.moved_for", whom=whom)
        said = dict(greeting=greeting, what=what, service=service, when=time, reference=ref, cost=cost)
        text = WORDING.format("sms.visit", address=b.address, **said)
        params = {
            "greeting": greeting,
            "whom": whom,
            "service": service,
            "time": time,
            "address": b.address or WORDING.text("sms.registered_address"),
            "reference": ref,
            "cost": cost,
        }
    return send_sms(number, text, related_booking_id=b.id, session=s, template=(kind, params))


def same_visit_booked(
    session: Session, elder_id: int, service_id: int, window_start: dt.datetime
) -> Booking | None:
    """The elder's active booking of this service in this window, if there is one."""
    return cast(
        "Booking | None",
        session.execute(
            select(Booking)
            .join(CapacityWindow, CapacityWindow.id == Booking.window_id)
            .where(
                Booking.elder_id == elder_id,
                Booking.service_type_id == service_id,
                Booking.status == "booked",
                CapacityWindow.starts_at == window_start,
            )
        )
        .scalars()
        .first(),
    )


def already_message(b: Booking) -> str:
    return WORDING.format(
        "ledger.already_booked",
        name=b.elder.name,
        time=say_window(b.window.starts_at),
        service=b.service_type.name,
        reference=b.reference,
    )


def _full_message(start: dt.datetime, alternatives: list[WindowOption]) -> str:
    if not alternatives:
        return WORDING.format("ledger.full_none_near", time=say_window(start))
    options = "；".join(f"{i}，{o.spoken}" for i, o in enumerate(alternatives, 1))
    return WORDING.format("ledger.full", time=say_window(start), options=options)


# ---------------------------------------------------------------------------------------
# Public API

NOTIFY_CHOICES = ("elder", "family_contact")


def book(
    elder_id: int,
    service_code: str,
    window_start: dt.datetime,
    channel: str,
    idempotency_key: str,
    address: str | None = None,
    *,
    notify: str = "elder",
    database_url: str | None = None,
) -> BookingResult:
    """Books one visit. Exactly once per idempotency key: a retry returns the first result.
    `notify` "family_contact": the visit's notices go to the family contact on file (the
    person who booked proved their identity through that contact's phone)."""
    if not idempotency_key:
        raise BookingError("idempotency_key is required")
    if notify not in NOTIFY_CHOICES:
        raise BookingError(f"notify must be one of {NOTIFY_CHOICES}")
    try:
        return retry_on_lock(
            "booking",
            _book,
            elder_id,
            service_code,
            window_start,
            channel,
            idempotency_key,
            address,
            database_url,
            notify,
        )
    except IntegrityError:
        # A concurrent request committed first: with the same key (answer with its booking,
        # if it is the same visit), or for the same visit with another key (already booked).
        with session_scope(database_url) as s:
            existing = s.execute(
                select(Booking).where(Booking.idempotency_key == idempotency_key)
            ).scalar_one_or_none()
            if existing is not None:
                return _answer_for_key(existing, elder_id, service_code, window_start, s)
            service = service_by_code_or_name(s, service_code)
            same = same_visit_booked(s, elder_id, service.id, window_start) if service else None
            if same is None:
                raise
            log.info(
                "booking refused by the database: elder=%s already has ref=%s start=%s",
                elder_id,
                same.reference,
                window_start.isoformat(),
            )
            return replace(_result(same, "already_booked", already_message(same)), ok=False)


def _answer_for_key(
    existing: Booking, elder_id: int, service_code: str, window_start: dt.datetime, s: Session
) -> BookingResult:
    """A stored idempotency key answers only for the same elder, service and time; anything
    else under a used key is refused (never a false "预约好了" for another visit)."""
    service = service_by_code_or_name(s, service_code)
    if (
        existing.elder_id == elder_id
        and service is not None
        and existing.service_type_id == service.id
        and existing.window.starts_at == window_start
    ):
        log.info("booking retry answered from idempotency key, ref=%s", existing.reference)
        return _result(existing, "duplicate", _booked_message(existing))
    log.error(
        "idempotency key reused for another visit: ref=%s elder=%s/%s start=%s/%s",
        existing.reference,
        existing.elder_id,
        elder_id,
        existing.window.starts_at.isoformat(),
        window_start.isoformat(),
    )
    return BookingResult(False, "key_conflict", WORDING.text("ledger.key_conflict"))


def _book(
    elder_id: int,
    service_code: str,
    window_start: dt.datetime,
    channel: str,
    idempotency_key: str,
    address: str | None,
    database_url: str | None,
    notify: str = "elder",
) -> BookingResult:
    with session_scope(database_url) as s:
        existing = s.execute(
            select(Booking).where(Booking.idempotency_key == idempotency_key)
        ).scalar_one_or_none()
        if existing is not None:
            return _answer_for_key(existing, elder_id, service_code, window_start, s)
        elder = s.get(Elder, elder_id)
        if elder is None:
            return BookingResult(False, "unknown_elder", WORDING.text("ledger.unknown_elder"))
        if not elder.active:  # moved away or deceased (bot/registry/console.py set_status)
            log.info("booking refused: elder=%s status=%s", elder.id, elder.status)
            return BookingResult(False, "inactive_elder", WORDING.text("ledger.inactive_elder"))
        service = service_by_code_or_name(s, service_code)
        if service is None:
            names = "、".join(service_names(s))
            return BookingResult(
                False, "unknown_service", WORDING.format("ledger.unknown_service", names=names)
            )
        if window_start <= now_local():
            return BookingResult(False, "past", WORDING.format("ledger.past", time=say_window(window_start)))
        same = same_visit_booked(s, elder.id, service.id, window_start)
        if same is not None:
            # A caller who forgot the first call must not get (and pay for) a second visit.
            log.info(
                "booking refused: elder=%s already has ref=%s for service=%s start=%s",
                elder.id,
                same.reference,
                service.code,
                window_start.isoformat(),
            )
            return replace(_result(same, "already_booked", already_message(same)), ok=False)
        window = _claim_place(s, elder.street_id, service.id, window_start)
        if window is None:
            alternatives = available_windows(s, service.code, elder.street_id, window_start)
            log.info(
                "booking full: service=%s start=%s elder=%s alternatives=%d",
                service.code,
                window_start.isoformat(),
                elder.id,
                len(alternatives),
            )
            return BookingResult(
                False,
                "full",
                _full_message(window_start, alternatives),
                window_start=window_start,
                service_name=service.name,
                elder_name=elder.name,
                alternatives=alternatives,
            )
        free, cost, month = _apply_free_time(s, elder, service, window_start)
        booking = Booking(
            reference=_new_reference(s),
            elder_id=elder.id,
            elder=elder,
            service_type_id=service.id,
            service_type=service,
            provider_id=window.provider_id,
            window_id=window.id,
            window=window,
            address=(address or elder.address or "").strip()[:200],
            status="booked",
            duration_minutes=service.duration_minutes,
            price_fen=service.price_fen,
            free_minutes_applied=free,
            cost_fen=cost,
            entitlement_month=month,
            channel=channel,
            notify=notify,
            idempotency_key=idempotency_key,
            active_visit=active_visit_key(elder.id, service.id, window_start),
        )
        s.add(booking)
        s.flush()
        _history(s, booking, "created", None, channel)
        sms_id = _notify(s, booking, "booking_confirmed")
        log.info(
            "booked ref=%s elder=%s service=%s start=%s free_min=%s cost_fen=%s phone=%s",
            booking.reference,
            elder.id,
            service.code,
            window_start.isoformat(),
            free,
            cost,
            mask_phone(elder.phone),
        )
        return _result(booking, "booked", _booked_message(booking), sms_outbox_id=sms_id)


def _view(b: Booking) -> BookingView:
    return BookingView(
        reference=b.reference,
        elder_id=b.elder_id,
        service_name=b.service_type.name,
        window_start=b.window.starts_at,
        status=b.status,
        address=b.address,
        free_minutes_applied=b.free_minutes_applied,
        cost_fen=b.cost_fen,
        provider_name=b.provider.name,
        booked_seq=b.id or 0,
    )


def list_bookings(
    elder_id: int, upcoming_only: bool = True, *, database_url: str | None = None
) -> list[BookingView]:
    """The elder's bookings, soonest first; upcoming_only: booked and not yet started."""
    with session_scope(database_url) as s:
        query = (
            select(Booking)
            .join(CapacityWindow, CapacityWindow.id == Booking.window_id)
            .where(Booking.elder_id == elder_id)
            .order_by(CapacityWindow.starts_at, Booking.id)
        )
        if upcoming_only:
            query = query.where(Booking.status == "booked", CapacityWindow.starts_at > now_local())
        return [_view(b) for b in s.execute(query).scalars().all()]


def _own_booking(s: Session, reference: str, elder_id: int) -> Booking | None:
    booking: Booking | None = s.execute(
        select(Booking).where(Booking.reference == str(reference).strip()).with_for_update()
    ).scalar_one_or_none()
    if booking is None or booking.elder_id != elder_id:
        return None  # someone else's booking is "not found" for this caller
    return booking


def cancel(
    reference: str,
    elder_id: int,
    reason: str | None = None,
    *,
    channel: str = "api",
    database_url: str | None = None,
) -> CancelResult:
    """Cancels a booking, frees its place and gives its free hours back to the month."""
    return retry_on_lock("booking", _cancel, reference, elder_id, reason, channel, database_url)


def _cancel(
    reference: str, elder_id: int, reason: str | None, channel: str, database_url: str | None
) -> CancelResult:
    with session_scope(database_url) as s:
        booking = _own_booking(s, reference, elder_id)
        if booking is None:
            return CancelResult(False, "not_found", WORDING.text("ledger.cancel_not_found"), reference)
        return _cancel_booking(s, booking, reason, channel)


def _cancel_booking(
    s: Session, booking: Booking, reason: str | None, channel: str, notify: bool = True
) -> CancelResult:
    """Cancels one locked booking in the caller's transaction: frees its place, returns its
    free minutes, notes the reason in its history and (when `notify`) texts the elder."""
    reference = booking.reference
    if booking.status == "cancelled":
        return CancelResult(True, "already_cancelled", WORDING.text("ledger.already_cancelled"), reference)
    if booking.status != "booked" or booking.window.starts_at <= now_local():
        return CancelResult(False, "too_late", WORDING.text("ledger.cancel_too_late"), reference)
    _release_place(s, booking.window_id)
    returned = _return_free_time(s, booking)
    booking.status = "cancelled"
    booking.active_visit = None
    booking.cancel_reason = (reason or "")[:200] or None
    _history(s, booking, "cancelled", "booked", channel, reason)
    back = WORDING.format("ledger.free_hours_returned", hours=hours_text(returned)) if returned else ""
    if notify:
        _notify(s, booking, "booking_cancelled", returned)
    log.info("cancelled ref=%s elder=%s returned_min=%s", booking.reference, booking.elder_id, returned)
    return CancelResult(
        True,
        "cancelled",
        WORDING.format(
            "ledger.cancelled",
            time=say_window(booking.window.starts_at),
            service=booking.service_type.name,
            returned=back,
        ),
        booking.reference,
        returned,
    )


def cancel_future_bookings(
    session: Session, elder_id: int, reason: str, *, channel: str, notify: bool = True
) -> list[CancelResult]:
    """Cancels every visit of the elder that is booked and has not started yet, in the
    caller's transaction (bot/registry/console.py: an elder who moved away or died), with
    the same effects as `cancel` for each; visits already started or past are left alone."""
    bookings = (
        session.execute(
            select(Booking)
            .join(CapacityWindow, CapacityWindow.id == Booking.window_id)
            .where(
                Booking.elder_id == elder_id,
                Booking.status == "booked",
                CapacityWindow.starts_at > now_local(),
            )
            .order_by(CapacityWindow.starts_at, Booking.id)
            .with_for_update(of=Booking)
        )
        .scalars()
        .all()
    )
    return [_cancel_booking(session, b, reason, channel, notify) for b in bookings]


def reschedule(
    reference: str,
    elder_id: int,
    new_window_start: dt.datetime,
    *,
    channel: str = "api",
    database_url: str | None = None,
) -> BookingResult:
    """Moves a booking to another window (all or nothing); free hours follow the month."""
    try:
        return retry_on_lock(
            "booking", _reschedule, reference, elder_id, new_window_start, channel, database_url
        )
    except IntegrityError:
        # another request gave her this same visit meanwhile (the active_visit constraint)
        log.info(
            "reschedule refused by the database: ref=%s start=%s already booked",
            reference,
            new_window_start.isoformat(),
        )
        return BookingResult(
            False, "already_booked", WORDING.format("ledger.already_there", time=say_window(new_window_start))
        )


def _reschedule(
    reference: str, elder_id: int, new_start: dt.datetime, channel: str, database_url: str | None
) -> BookingResult:
    with session_scope(database_url) as s:
        booking = _own_booking(s, reference, elder_id)
        if booking is None or booking.status != "booked":
            return BookingResult(False, "not_found", WORDING.text("ledger.reschedule_not_found"))
        old_start = booking.window.starts_at
        if old_start <= now_local():
            return BookingResult(False, "too_late", WORDING.text("ledger.reschedule_too_late"))
        if new_start == old_start:
            return _result(
                booking, "unchanged", WORDING.format("ledger.unchanged", time=say_window(old_start))
            )
        if new_start <= now_local():
            return BookingResult(False, "past", WORDING.format("ledger.past", time=say_window(new_start)))
        same = same_visit_booked(s, booking.elder_id, booking.service_type_id, new_start)
        if same is not None:  # moving onto a visit the elder already has would make two
            return replace(_result(same, "already_booked", already_message(same)), ok=False)
        old_window_id = booking.window_id
        # Lock the old window first in id order with the new one (PostgreSQL) so two
        # reschedules in opposite directions cannot deadlock.
        s.execute(select(CapacityWindow.id).where(CapacityWindow.id == old_window_id).with_for_update())
        window = _claim_place(s, booking.elder.street_id, booking.service_type_id, new_start)
        if window is None:
            alternatives = available_windows(s, booking.service_type.code, booking.elder.street_id, new_start)
            return BookingResult(
                False,
                "full",
                _full_message(new_start, alternatives),
                reference=booking.reference,
                window_start=new_start,
                service_name=booking.service_type.name,
                elder_name=booking.elder.name,
                alternatives=alternatives,
            )
        _release_place(s, old_window_id)
        if month_key(old_start) != month_key(new_start):
            _return_free_time(s, booking)
            free, cost, month = _apply_free_time(s, booking.elder, booking.service_type, new_start)
            booking.free_minutes_applied, booking.cost_fen, booking.entitlement_month = free, cost, month
        booking.window_id, booking.window, booking.provider_id = window.id, window, window.provider_id
        booking.active_visit = active_visit_key(booking.elder_id, booking.service_type_id, new_start)
        note = f"{old_start.isoformat()} -> {new_start.isoformat()}"
        _history(s, booking, "rescheduled", "booked", channel, note)
        _notify(s, booking, "booking_rescheduled")
        log.info("rescheduled ref=%s elder=%s %s", booking.reference, elder_id, note)
        return _result(
            booking,
            "rescheduled",
            WORDING.format(
                "ledger.rescheduled",
                service=booking.service_type.name,
                when=say_window_with_hours(new_start),
                reference=booking.reference,
                cost=_cost_sentence(booking.free_minutes_applied, booking.cost_fen),
            ),
        )


def _summary(s: Session, elder: Elder, month: str) -> EntitlementSummary:
    row = s.execute(
        select(EntitlementLedger).where(
            EntitlementLedger.elder_id == elder.id, EntitlementLedger.month == month
        )
    ).scalar_one_or_none()
    if row is not None:
        return EntitlementSummary(
            elder.id, month, row.granted_minutes, row.used_minutes, row.returned_minutes
        )
    policy = free_care_policy(dt.date(int(month[:4]), int(month[5:7]), 1))
    entitled = clock.age_on(elder.birth_date, _month_last_day(month)) >= policy.min_age
    return EntitlementSummary(elder.id, month, policy.minutes_per_month if entitled else 0, 0, 0)


def entitlement_summary(
    elder_id: int, month: str | dt.date | None = None, *, database_url: str | None = None
) -> EntitlementSummary:
    """Free care time granted, used (net of returns) and left for a month (default: now)."""
    if month is None:
        month = month_key(clock.today())
    elif isinstance(month, (dt.date, dt.datetime)):
        month = month_key(month)
    with session_scope(database_url) as s:
        elder = s.get(Elder, elder_id)
        if elder is None:
            raise BookingError(f"no elder {elder_id}")
        return _summary(s, elder, month)


def ensure_month_grants(session: Session, month: str) -> int:
    """Creates the month's ledger rows (policy grant) for every elder; returns how many
    elders are entitled. Idempotent (ON CONFLICT DO NOTHING)."""
    entitled = 0
    for elder in session.execute(select(Elder)).scalars():
        row = _ensure_ledger(session, elder, month)
        entitled += row.granted_minutes > 0
    return entitled


def count_bookings(session: Session, **filters: Any) -> int:
    query = select(func.count(Booking.id))
    for key, value in filters.items():
        query = query.where(getattr(Booking, key) == value)
    return cast(int, session.execute(query).scalar_one())
