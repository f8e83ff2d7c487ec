"""Console pages that act for an elder: policy search, eligibility, booking."""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot import audit, clock
from bot.db import session_scope
from bot.models import Street
from server.advisor import casework
from server.advisor.auth import actor, client_ip
from server.advisor.blueprint import bp
from server.advisor.forms import EligibilityForm
from server.advisor.views import load_elder

log = logging.getLogger(__name__)

STATUS_ZH = {"eligible": "符合", "not_eligible": "不符合", "unknown": "还需确认"}


@bp.app_template_filter("zh_eligibility")
def zh_eligibility(status: str) -> str:
    return STATUS_ZH.get(status, status)


@bp.app_template_filter("fact_label")
def fact_label(key: str) -> str:
    return casework.FACT_LABELS.get(key, key)


@bp.get("/policies")
def policies():
    query = (request.args.get("q") or "").strip()[:100]
    available, hits, failed = True, [], False
    if query:
        try:
            available, hits = casework.policy_search(query)
        except Exception:
            log.exception("console: policy search failed")
            failed = True
    return render_template("advisor/policies.html", query=query, hits=hits,
                           available=available, failed=failed)


def _bool_text(value) -> str:
    if value is None:
        return ""
    return "是" if value else "否"


def _street_choices(s) -> list[tuple[str, str]]:
    names = list(s.execute(select(Street.name).order_by(Street.id)).scalars())
    return [("", "不清楚")] + [(n, n) for n in names] + [("区外", "不在本区")]


@bp.route("/eligibility", methods=["GET", "POST"])
def eligibility():
    """Runs the engine on an elder's record (prefilled, adjustable) or on facts the advisor
    types in for a caller who has no record yet."""
    elder_id = request.values.get("elder_id", type=int)
    form = EligibilityForm()
    person = None
    with session_scope() as s:
        form.street.choices = _street_choices(s)
        if elder_id:
            person = load_elder(s, elder_id)
    results, error, run = None, None, False
    if request.method == "GET" and person is not None:
        facts = person.facts()
        form.elder_id.data = str(person.id)
        form.age.data = str(facts["age"])
        form.street.data = facts.get("street") or ""
        for key in ("economic_status", "care_level", "living_situation"):
            getattr(form, key).data = facts.get(key) or ""
        for key in ("hukou_local", "dementia", "special_family", "disability_certificate",
                    "veteran", "poverty_registered", "severe_disability_family"):
            getattr(form, key).data = _bool_text(facts.get(key))
        run = True
    elif form.validate_on_submit():
        run = True
    elif request.method == "POST":
        error = "表单已过期，请刷新页面再试。"
    if run:
        facts = {k: getattr(form, k).data for k in EligibilityForm.FACT_FIELDS}
        facts = {k: v for k, v in facts.items() if v not in (None, "")}
        try:
            results = casework.evaluate(facts)
        except ValueError as exc:  # the engine's FactError carries a Chinese message
            error = getattr(exc, "message_zh", None) or "有一项信息没看明白，请检查后再试。"
        if results is not None and person is not None:
            summary = ", ".join(f"{r.program_id}={r.status}" for r in results)
            audit.record(actor(), "eligibility_check", elder_id=person.id,
                         detail=summary[:900], ip=client_ip())
    if person is not None and results is None:
        # the page shows her facts from the record even when nothing was calculated
        audit.record(actor(), "view_elder_facts", elder_id=person.id, ip=client_ip())
    return render_template("advisor/eligibility.html", form=form, elder=person,
                           results=results, error=error,
                           engine_missing=run and results is None and error is None)


# --- booking on the elder's behalf -----------------------------------------------------

def _no_elder():
    return render_template("advisor/error.html", title="没有找到", message="没有这位老人的档案。"), 404


def _not_in_register(person):
    """Elders who moved away or died are not booked (bot.booking refuses them too)."""
    flash(f"{person.name}{person.status_zh}，不能再预约或改期。如是登记错了，请先在档案页恢复在册。", "error")
    return redirect(url_for("advisor.elder", elder_id=person.id))


def _no_booking_module(elder_id: int):
    flash("预约模块还没有接入。", "error")
    return redirect(url_for("advisor.elder", elder_id=elder_id))


def _around(day_text: str | None, part: str | None) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(day_text) if day_text else None
    except ValueError:
        day = None
    day = day or clock.today() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(14 if part == "pm" else 9))


@bp.get("/elders/<int:elder_id>/book")
def book_windows(elder_id: int):
    """The free windows nearest to the day the caller wants, each bookable with one click."""
    booking = casework.booking_module()
    service_code = (request.args.get("service") or "").strip()[:24]
    around = _around(request.args.get("day"), request.args.get("part"))
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is None:
            return _no_elder()
        if not person.active:
            return _not_in_register(person)
        # the page shows her address: a read of personal data
        audit.record(actor(), "view_booking_page", elder_id=elder_id, ip=client_ip(),
                     detail=f"book {service_code}".strip(), session=s)
        windows = []
        if booking is not None and service_code:
            windows = booking.available_windows(s, service_code, person.street_id, around, limit=5)
    services = casework.service_choices()
    service = next((x for x in services if x["code"] == service_code), None)
    return render_template("advisor/book.html", elder=person, services=services,
                           service=service, around=around, windows=windows,
                           part=request.args.get("part") or "am",
                           idempotency_key=uuid.uuid4().hex, available=booking is not None,
                           moving=None)


@bp.post("/elders/<int:elder_id>/book")
def book(elder_id: int):
    booking = casework.booking_module()
    if booking is None:
        return _no_booking_module(elder_id)
    service_code = (request.form.get("service") or "").strip()[:24]
    key = (request.form.get("idempotency_key") or "").strip()[:64]
    try:
        window_start = dt.datetime.fromisoformat(request.form.get("window_start") or "")
    except ValueError:
        window_start = None
    if not service_code or window_start is None or not key:
        flash("预约信息不完整，请重新选择时间。", "error")
        return redirect(url_for("advisor.book_windows", elder_id=elder_id, service=service_code))
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is None:
            return _no_elder()
        if not person.active:
            return _not_in_register(person)
    # The idempotency key was made when the page was shown: a double click or a resent
    # form returns the first booking instead of booking twice.
    result = booking.book(elder_id, service_code, window_start, channel="console",
                          idempotency_key=f"console:{current_user.username}:{key}")
    if result.ok:
        audit.record(actor(), "book", elder_id=elder_id, ip=client_ip(),
                     detail=f"{result.reference} {service_code} {window_start.isoformat()} "
                            f"({result.code})")
        when = result.window_start.strftime("%m月%d日 %H:%M") if result.window_start else ""
        cost = f"，自付{result.cost_yuan_text}" if result.cost_fen else "，不用付费"
        first = "预约成功" if result.code == "booked" else "这个预约刚才已经做好了"
        flash(f"{first}：{result.service_name or ''} {when}，预约号 {result.reference}{cost}。"
              "已给老人发短信。", "success")
        return redirect(url_for("advisor.elder", elder_id=elder_id) + "#booking")
    log.info("console booking not made: elder=%s code=%s", elder_id, result.code)
    flash(result.message, "error")
    return redirect(url_for("advisor.book_windows", elder_id=elder_id, service=service_code,
                            day=window_start.date().isoformat()))


@bp.post("/elders/<int:elder_id>/bookings/<reference>/cancel")
def cancel_booking(elder_id: int, reference: str):
    booking = casework.booking_module()
    if booking is None:
        return _no_booking_module(elder_id)
    reason = (request.form.get("reason") or "").strip()[:200] or "顾问代为取消"
    result = booking.cancel(reference[:32], elder_id, reason, channel="console")
    if result.ok:
        audit.record(actor(), "cancel_booking", elder_id=elder_id, ip=client_ip(),
                     detail=f"{reference} ({result.code}) {reason}")
    flash(result.message, "success" if result.ok else "error")
    return redirect(url_for("advisor.elder", elder_id=elder_id) + "#booking")


@bp.get("/elders/<int:elder_id>/bookings/<reference>/reschedule")
def reschedule_windows(elder_id: int, reference: str):
    """The free windows for the booking's service near the day the caller now wants."""
    booking = casework.booking_module()
    if booking is None:
        return _no_booking_module(elder_id)
    moving = next((v for v in booking.list_bookings(elder_id) if v.reference == reference[:32]), None)
    if moving is None:
        flash("没有查到这个还有效的预约。", "error")
        return redirect(url_for("advisor.elder", elder_id=elder_id) + "#booking")
    around = _around(request.args.get("day"), request.args.get("part"))
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is None:
            return _no_elder()
        if not person.active:
            return _not_in_register(person)
        # the page shows her address and the booking: a read of personal data
        audit.record(actor(), "view_booking_page", elder_id=elder_id, ip=client_ip(),
                     detail=f"reschedule {moving.reference}", session=s)
        service = booking.service_by_code_or_name(s, moving.service_name)
        windows = booking.available_windows(s, service.code, person.street_id, around, limit=6) \
            if service is not None else []
        windows = [w for w in windows if w.start != moving.window_start][:5]  # not where it is
        service = {"code": service.code, "name": service.name} if service is not None else None
    return render_template("advisor/book.html", elder=person, services=[], service=service,
                           around=around, windows=windows, part=request.args.get("part") or "am",
                           idempotency_key="", available=True, moving=moving)


@bp.post("/elders/<int:elder_id>/bookings/<reference>/reschedule")
def reschedule_booking(elder_id: int, reference: str):
    booking = casework.booking_module()
    if booking is None:
        return _no_booking_module(elder_id)
    try:
        new_start = dt.datetime.fromisoformat(request.form.get("window_start") or "")
    except ValueError:
        new_start = None
    if new_start is None:
        flash("改期信息不完整，请重新选择时间。", "error")
        return redirect(url_for("advisor.reschedule_windows", elder_id=elder_id, reference=reference))
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is not None and not person.active:
            return _not_in_register(person)
    # Moving twice to the same window is harmless: the second answer is "unchanged".
    result = booking.reschedule(reference[:32], elder_id, new_start, channel="console")
    if result.ok:
        audit.record(actor(), "reschedule_booking", elder_id=elder_id, ip=client_ip(),
                     detail=f"{reference} -> {new_start.isoformat()} ({result.code})")
        flash(result.message + ("已给老人发短信。" if result.code == "rescheduled" else ""), "success")
        return redirect(url_for("advisor.elder", elder_id=elder_id) + "#booking")
    log.info("console reschedule not made: elder=%s code=%s", elder_id, result.code)
    flash(result.message, "error")
    if result.code == "not_found":
        return redirect(url_for("advisor.elder", elder_id=elder_id) + "#booking")
    return redirect(url_for("advisor.reschedule_windows", elder_id=elder_id, reference=reference,
                            day=new_start.date().isoformat()))
