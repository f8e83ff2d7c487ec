"""The register kept by hand in the advisor console: create and edit an elder, record that
she moved away or died (or undo it), and the advisors' worklist.

No Flask here: server/advisor/registry_views.py passes the submitted form as a mapping of
plain strings and shows the Chinese reasons this module returns. Every field is checked by
bot/registry/validate.py, the same checks as the district's file import; every change
writes its audit row in the caller's transaction (`session`), so nothing is half-written.

Inactive elders (moved, deceased) stay in the register for the record: they are not
recognised by their phone number (bot.models.people.elder_by_phone), cannot be booked
(bot.booking.ledger refuses them) and the check-in calls of a later issue must skip them too
(select only `Elder.status == "active"`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Container, Mapping

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot import audit, clock
from bot.text.masking import mask_phone
from bot.models import Community, Elder, Street
from bot.models.booking import Booking, CapacityWindow, EntitlementLedger
from bot.models.people import ELDER_STATUS_ZH, ELDER_STATUSES, elder_by_id_number
from bot.registry import validate as v
from bot.registry.elders import FLAGS, ensure_streets

log = logging.getLogger(__name__)

# Form field -> the Chinese label the reasons name (the same headers as the import file).
LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "联系电话",
    "street": "街道",
    "community": "社区",
    "address": "详细地址",
    "living_situation": "居住情况",
    "economic_status": "经济状况",
    "care_level": "能力等级",
    "emergency_contact_name": "紧急联系人",
    "emergency_contact_phone": "紧急联系人电话",
    "emergency_contact_relation": "与老人关系",
    "notes": "备注",
}
# yes/no facts: form field (the Elder attribute) -> (label, value for a new elder)
YES_NO_FACTS = {attr: (header, default) for header, (attr, default) in FLAGS.items()}
LABELS.update({attr: label for attr, (label, _default) in YES_NO_FACTS.items()})
# What an edit may change besides the form's own fields (the ID number sets both).
CHANGED_ZH = {**LABELS, "birth_date": "出生日期", "gender": "性别"}
NOTES_LIMIT = 500
STATUS_NOTE_LIMIT = 200
# Future visits are cancelled with this reason, written in each booking's history.
STATUS_CANCEL_REASON = {"moved": "老人已迁出：{note}", "deceased": "老人已去世：{note}"}


class ElderFormError(ValueError):
    """The form cannot be saved: `errors` maps form fields to Chinese reasons;
    `duplicate_of` is the id of the elder who already has this ID number."""

    def __init__(self, errors: Mapping[str, str], duplicate_of: int | None = None):
        super().__init__("; ".join(f"{k}: {r}" for k, r in errors.items()))
        self.errors = dict(errors)
        self.duplicate_of = duplicate_of


class StatusError(ValueError):
    """A status change that cannot be made; `message_zh` is for the advisor."""

    def __init__(self, message_zh: str):
        super().__init__(message_zh)
        self.message_zh = message_zh


@dataclass
class ParsedElder:
    values: dict[str, Any]  # Elder attribute -> clean value (street as its name under "street")
    id_number: str | None  # None: not given (an edit keeps the stored one)
    community: str | None


def parse_form(data: Mapping[str, str], *, area_code: str, new: bool) -> ParsedElder:
    """Checks every field with bot/registry/validate.py; ElderFormError with all reasons.

    On an edit (`new=False`) a blank ID number, phone or emergency phone means "unchanged"
    (the form never holds their stored values); on a new elder a blank yes/no fact takes
    the import's default."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def check(key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(data.get(key), *args, field=LABELS[key], **kwargs)
        except v.RowError as exc:
            errors[key] = exc.reason
            return None

    values["name"] = check("name", v.name)
    id_number = None
    if new or v.text(data.get("id_number")):
        parsed = check("id_number", v.id_number)
        if parsed:
            id_number, values["birth_date"], values["gender"] = parsed
    for key in ("phone", "emergency_contact_phone"):
        if new or v.text(data.get(key)):
            values[key] = check(key, v.phone, area_code)
    values["street"] = check("street", v.street)
    community = check("community", v.short_text, 64)
    values["address"] = check("address", v.short_text, 200, required=True)
    values["living_situation"] = check("living_situation", v.living_situation)
    values["economic_status"] = check("economic_status", v.economic_status)
    values["care_level"] = check("care_level", v.care_level)
    values["emergency_contact_name"] = check("emergency_contact_name", v.short_text, 32)
    values["emergency_contact_relation"] = check("emergency_contact_relation", v.short_text, 16)
    values["notes"] = check("notes", v.short_text, NOTES_LIMIT)
    for attr, (_label, default) in YES_NO_FACTS.items():
        if new or v.text(data.get(attr)):
            values[attr] = check(attr, v.yes_no, default=default)
    if errors:
        raise ElderFormError(errors)
    return ParsedElder(values, id_number, community)


def _community_id(session: Session, street: Street, name: str | None) -> int | None:
    if not name:
        return None
    found: int | None = session.execute(
        select(Community.id).where(Community.street_id == street.id, Community.name == name)
    ).scalar_one_or_none()
    if found is None:
        community = Community(street_id=street.id, name=name)
        session.add(community)
        session.flush()
        found = community.id
    return found


def _refuse_duplicate(session: Session, id_number: str, elder_id: int | None) -> None:
    other = elder_by_id_number(session, id_number)
    if other is not None and other.id != elder_id:
        raise ElderFormError({"id_number": "这个身份证号已经登记过了"}, duplicate_of=other.id)


def create_elder(
    session: Session,
    data: Mapping[str, str],
    actor: str,
    *,
    ip: str | None = None,
    area_code: str | None = None,
) -> Elder:
    """A new elder from the console form; ElderFormError (nothing written) when a field is
    wrong or the ID number is already registered."""
    from bot.config import get_settings

    parsed = parse_form(data, area_code=area_code or get_settings().local_area_code, new=True)
    assert parsed.id_number is not None  # parse_form requires it of a new elder
    _refuse_duplicate(session, parsed.id_number, None)
    values = dict(parsed.values)
    street = ensure_streets(session)[values.pop("street")]
    elder = Elder(
        **values, street_id=street.id, community_id=_community_id(session, street, parsed.community)
    )
    elder.set_id_number(parsed.id_number)
    session.add(elder)
    session.flush()
    given = [
        k for k in LABELS if k in ("id_number", "street", "community") or values.get(k) not in (None, "")
    ]
    # field names only: the audit never holds the values of ID, phone or address
    audit.record(
        actor, "create_elder", elder_id=elder.id, ip=ip, session=session, detail="fields: " + ", ".join(given)
    )
    log.info("console: elder %s created by %s", elder.id, actor)
    return elder


def update_elder(
    session: Session,
    elder_id: int,
    data: Mapping[str, str],
    actor: str,
    *,
    ip: str | None = None,
    area_code: str | None = None,
) -> list[str]:
    """Applies the edit form; returns the names of the changed fields (audited as
    `edit_elder` with the names only, never values). ElderFormError when a field is wrong;
    LookupError when there is no such elder."""
    from bot.config import get_settings

    elder = session.get(Elder, elder_id)
    if elder is None:
        raise LookupError(f"no elder {elder_id}")
    parsed = parse_form(data, area_code=area_code or get_settings().local_area_code, new=False)
    values = dict(parsed.values)
    street = ensure_streets(session)[values.pop("street")]
    values["street_id"] = street.id
    changed = [k for k, value in values.items() if getattr(elder, k) != value]
    if parsed.id_number is not None and parsed.id_number != elder.id_number:
        _refuse_duplicate(session, parsed.id_number, elder.id)
        elder.set_id_number(parsed.id_number)
        changed.insert(0, "id_number")
    community_id = _community_id(session, street, parsed.community)
    if community_id != elder.community_id:
        changed.append("community")
        elder.community_id = community_id
    for key in changed:
        if key in values:
            setattr(elder, key, values[key])
    changed = ["street" if k == "street_id" else k for k in changed]
    if changed:
        audit.record(
            actor,
            "edit_elder",
            elder_id=elder.id,
            ip=ip,
            session=session,
            detail="changed: " + ", ".join(changed),
        )
        log.info("console: elder %s edited by %s: %s", elder.id, actor, ", ".join(changed))
    return changed


def form_values(elder: Elder) -> dict[str, str]:
    """The edit form's initial values: everything but the ID number and the phone numbers,
    which the browser never receives in full (blank there means unchanged)."""
    out = {key: "" for key in LABELS}
    for key in (
        "name",
        "address",
        "living_situation",
        "economic_status",
        "care_level",
        "emergency_contact_name",
        "emergency_contact_relation",
        "notes",
    ):
        out[key] = getattr(elder, key) or ""
    out["street"] = elder.street.name if elder.street else ""
    out["community"] = elder.community.name if elder.community else ""
    for attr in YES_NO_FACTS:
        out[attr] = "是" if getattr(elder, attr) else "否"
    return out


# --- moved away, deceased, or back in the register ------------------------------------------


@dataclass
class StatusChange:
    elder_id: int
    old_status: str
    new_status: str
    cancelled: int = 0  # future visits cancelled
    minutes_returned: int = 0  # free care time given back to the ledger

    @property
    def status_zh(self) -> str:
        return ELDER_STATUS_ZH[self.new_status]


def set_status(
    session: Session, elder_id: int, status: str, note: str | None, actor: str, *, ip: str | None = None
) -> StatusChange:
    """Records that an elder moved away or died (or is active again, to undo a mistake),
    with a required note and the time from the clock. Leaving the register cancels every
    visit booked for the future through bot.booking.ledger (places and free hours are given back;
    the reason is in each booking's history); past visits are left alone. Cancelled visits
    are not restored when she is marked active again. All in the caller's transaction."""
    from bot.booking import ledger as booking

    if status not in ELDER_STATUSES:
        raise StatusError("请选择在册、已迁出或已去世。")
    note = " ".join((note or "").split())
    if not note:
        raise StatusError("请填写说明（例如迁往何处、去世日期或信息来源）。")
    if len(note) > STATUS_NOTE_LIMIT:
        raise StatusError(f"说明太长了（最多{STATUS_NOTE_LIMIT}个字）。")
    elder = session.get(Elder, elder_id)
    if elder is None:
        raise LookupError(f"no elder {elder_id}")
    if elder.status == status:
        raise StatusError(f"这位老人的状态已经是“{ELDER_STATUS_ZH[status]}”了。")
    change = StatusChange(elder.id, elder.status, status)
    elder.status = status
    elder.status_note = note
    elder.status_changed_at = clock.utcnow_naive()
    if status != "active":
        # No text message to the phone of someone who has died; one who moved is told.
        results = booking.cancel_future_bookings(
            session,
            elder.id,
            STATUS_CANCEL_REASON[status].format(note=note)[:200],
            channel="console",
            notify=status == "moved",
        )
        done = [r for r in results if r.ok and r.code == "cancelled"]
        change.cancelled = len(done)
        change.minutes_returned = sum(r.minutes_returned for r in done)
    audit.record(
        actor,
        "set_elder_status",
        elder_id=elder.id,
        ip=ip,
        session=session,
        detail=f"{change.old_status} -> {status}; cancelled {change.cancelled} future bookings",
    )
    log.info(
        "console: elder %s status %s -> %s by %s, %s bookings cancelled",
        elder.id,
        change.old_status,
        status,
        actor,
        change.cancelled,
    )
    return change


# --- the worklist ---------------------------------------------------------------------------

WORKLIST_STATUSES = (*ELDER_STATUSES, "all")


@dataclass(frozen=True)
class WorklistFilters:
    """What an advisor looks for; None = no condition. `unused_free_hours`: entitled to
    free care time this month and none of it used (net of returns); `no_booking_days`: no
    visit (other than cancelled ones) from that many days ago on, future ones included."""

    street: str | None = None
    min_age: int | None = None
    living_situation: str | None = None
    care_level: str | None = None
    economic_status: str | None = None
    status: str = "active"
    unused_free_hours: bool = False
    no_booking_days: int | None = None

    def describe(self) -> str:
        """For the audit: the filters only, never who was found."""
        parts = [
            f"{k}={val}"
            for k, val in (
                ("status", self.status),
                ("street", self.street),
                ("min_age", self.min_age),
                ("living_situation", self.living_situation),
                ("care_level", self.care_level),
                ("economic_status", self.economic_status),
                ("unused_free_hours", "yes" if self.unused_free_hours else None),
                ("no_booking_days", self.no_booking_days),
            )
            if val is not None
        ]
        return " ".join(parts)


@dataclass(frozen=True)
class WorklistRow:
    elder_id: int
    name: str
    phone_masked: str
    street: str
    age: int
    status: str
    living_situation: str
    care_level: str

    @property
    def status_zh(self) -> str:
        return ELDER_STATUS_ZH.get(self.status, self.status)


@dataclass
class WorklistPage:
    rows: list[WorklistRow] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def born_on_or_before(age: int, on: dt.date) -> dt.date:
    """The latest birth date of someone at least `age` on `on` (clock.age_on's rule; a
    29 February birthday counts from 28 February in other years)."""
    year = on.year - age
    day = min(on.day, calendar.monthrange(year, on.month)[1])
    return dt.date(year, on.month, day)


def parse_filters(args: Mapping[str, str]) -> tuple[WorklistFilters, dict[str, str]]:
    """The worklist's filters from the page's query string; a value that makes no sense is
    left out and its Chinese reason returned under its field."""
    from bot.text.facts import DISTRICT_STREETS
    from bot.models.people import CARE_LEVELS, ECONOMIC_STATUSES, LIVING_SITUATIONS

    errors: dict[str, str] = {}

    def pick(key: str, allowed: Container[str]) -> str | None:
        value = v.text(args.get(key))
        if value and value not in allowed:
            errors[key] = "请从列表中选择"
            return None
        return value or None

    def whole(key: str, low: int, high: int, reason: str) -> int | None:
        value = v.text(args.get(key))
        if not value:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            errors[key] = reason
            return None
        return int(value)

    status = v.text(args.get("status")) or "active"
    if status not in WORKLIST_STATUSES:
        errors["status"] = "请从列表中选择"
        status = "active"
    filters = WorklistFilters(
        street=pick("street", DISTRICT_STREETS),
        min_age=whole("min_age", 0, 130, "请填写0到130之间的整数"),
        living_situation=pick("living_situation", LIVING_SITUATIONS),
        care_level=pick("care_level", CARE_LEVELS),
        economic_status=pick("economic_status", ECONOMIC_STATUSES),
        status=status,
        unused_free_hours=v.text(args.get("unused_free_hours")) in ("1", "on", "yes"),
        no_booking_days=whole("no_booking_days", 1, 3650, "请填写1到3650之间的天数"),
    )
    return filters, errors


def _conditions(f: WorklistFilters, today: dt.date) -> tuple[list[Any], Any]:
    """The WHERE clauses: every condition a column comparison or one correlated EXISTS, so
    the list is one query whatever the size of the register."""
    from bot.booking import ledger as booking

    conds = []
    if f.status != "all":
        conds.append(Elder.status == f.status)
    if f.street:
        conds.append(Street.name == f.street)
    if f.min_age is not None:
        conds.append(Elder.birth_date <= born_on_or_before(f.min_age, today))
    for column, value in (
        (Elder.living_situation, f.living_situation),
        (Elder.care_level, f.care_level),
        (Elder.economic_status, f.economic_status),
    ):
        if value:
            conds.append(column == value)
    ledger = None
    if f.unused_free_hours:
        month = booking.month_key(today)
        # as bot.booking.ledger grants it: aged min_age by the month's last day
        policy = booking.free_care_policy(today.replace(day=1))
        last_day = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        ledger = aliased(EntitlementLedger)
        conds.append(
            or_(
                and_(
                    ledger.id.is_not(None),
                    ledger.granted_minutes > 0,
                    ledger.used_minutes == ledger.returned_minutes,
                ),
                and_(ledger.id.is_(None), Elder.birth_date <= born_on_or_before(policy.min_age, last_day)),
            )
        )
        ledger = (ledger, and_(ledger.elder_id == Elder.id, ledger.month == month))
    if f.no_booking_days is not None:
        since = dt.datetime.combine(today - dt.timedelta(days=f.no_booking_days), dt.time())
        conds.append(
            ~exists(
                select(Booking.id)
                .join(CapacityWindow, CapacityWindow.id == Booking.window_id)
                .where(
                    Booking.elder_id == Elder.id,
                    Booking.status != "cancelled",
                    CapacityWindow.starts_at >= since,
                )
            )
        )
    return conds, ledger


def worklist(
    session: Session,
    filters: WorklistFilters,
    actor: str,
    *,
    page: int = 1,
    per_page: int = 50,
    ip: str | None = None,
) -> WorklistPage:
    """One page of the elders matching all filters (by street, then name), and how many
    match in all: two queries, however many elders there are. Audited as `worklist`."""
    today = clock.today()
    conds, ledger = _conditions(filters, today)
    base = select(Elder.id).join(Street, Street.id == Elder.street_id)
    if ledger is not None:
        base = base.outerjoin(*ledger)
    base = base.where(*conds)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    result = WorklistPage(total=total, per_page=per_page)
    result.page = min(max(1, page), result.pages)
    rows = session.execute(
        base.with_only_columns(
            Elder.id,
            Elder.name,
            Elder.phone,
            Street.name,
            Elder.birth_date,
            Elder.status,
            Elder.living_situation,
            Elder.care_level,
        )
        .order_by(Street.id, Elder.name, Elder.id)
        .offset((result.page - 1) * per_page)
        .limit(per_page)
    ).all()
    result.rows = [
        WorklistRow(r[0], r[1], mask_phone(r[2]), r[3], clock.age_on(r[4], today), r[5], r[6], r[7])
        for r in rows
    ]
    audit.record(
        actor,
        "worklist",
        ip=ip,
        session=session,
        detail=f"{filters.describe()} page={result.page} matches={total}",
    )
    return result
