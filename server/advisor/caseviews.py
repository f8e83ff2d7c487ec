"""Console pages that act for an elder: policy search, eligibility, booking."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot import clock
from bot.booking import ledger as booking
from bot.db import session_scope
from bot.text.facts import YES_NO_FACTS
from bot.text.masking import mask_phone
from bot.models import Street
from bot.registry.providers import WEEKDAYS_ZH
from server.advisor import casework
from server.advisor.auth import record
from server.advisor.blueprint import bp
from server.advisor.forms import CANCEL_REASONS, CancelForm, EligibilityForm
from server.advisor.views import load_elder

log = logging.getLogger(__name__)

STATUS_ZH = {"eligible": "符合", "not_eligible": "不符合", "unknown": "还需确认"}


@bp.app_template_filter("zh_eligibility")
def zh_eligibility(status: str) -> str:
    return STATUS_ZH.get(status, status)


@bp.app_template_filter("fact_label")
def fact_label(key: str) -> str:
    return casework.FACT_LABELS.get(key, key)


@bp.app_template_filter("weekday_zh")
def weekday_zh(value) -> str:
    """周一…周日 of a date or datetime (slots and visits are read with their weekday)."""
    return WEEKDAYS_ZH[value.weekday()] if value else ""


@bp.get("/policies")
def policies():
    query = (request.args.get("q") or "").strip()[:100]
    hits, failed = [], False
    if query:
        try:
            hits = casework.policy_search(query)
        except Exception:
            log.exception("console: policy search failed")
            failed = True
    return render_template("advisor/policies.html", query=query, hits=hits, failed=failed)


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
        for key in YES_NO_FACTS:
            getattr(form, key).data = _bool_text(facts.get(key))
        run = True
    elif form.validate_on_submit():
        run = True
    elif request.method == "POST":
        error = "表单已过期，请刷新页面再试。"
    if run:
        results, error = _evaluate_form(form)
        if results is not None and person is not None:
            summary = ", ".join(f"{r.program_id}={r.status}" for r in results)
            record("eligibility_check", elder_id=person.id, detail=summary[:900])
    if person is not None and results is None:
        # the page shows her facts from the record even when nothing was calculated
        record("view_elder_facts", elder_id=person.id)
    return render_template(
        "advisor/eligibility.html",
        form=form,
        elder=person,
        results=results,
        error=error,
        engine_missing=run and results is None and error is None,
        recipients=casework.sms_recipients(person) if person is not None else [],
    )


def _evaluate_form(form: EligibilityForm):
    """(results, Chinese error) for the facts on the form; ("不清楚" facts are left out)."""
    facts = {k: getattr(form, k).data for k in EligibilityForm.FACT_FIELDS}
    facts = {k: v for k, v in facts.items() if v not in (None, "")}
    try:
        return casework.evaluate(facts), None
    except ValueError as exc:  # the engine's FactError carries a Chinese message
        return None, getattr(exc, "message_zh", None) or "有一项信息没看明白，请检查后再试。"


def _posted_eligibility(elder_id: int):
    """The elder and the results for the facts posted from the results page (the print and
    SMS forms carry the facts the advisor calculated with), or an error response."""
    form = EligibilityForm()
    with session_scope() as s:
        form.street.choices = _street_choices(s)
        person = load_elder(s, elder_id)
    if person is None:
        return None, None, None, _no_elder()
    if not form.validate_on_submit():
        flash("表单已过期，请重新测算。", "error")
        return person, form, None, redirect(url_for("advisor.eligibility", elder_id=elder_id))
    results, error = _evaluate_form(form)
    if results is None:
        log.info(
            "eligibility print/sms for elder %s: no results (%s)",
            elder_id,
            "bad facts" if error else "engine missing",
        )
        flash(error or "资格测算模块还没有接入，请稍后再试。", "error")
        return person, form, None, redirect(url_for("advisor.eligibility", elder_id=elder_id))
    return person, form, results, None


@bp.post("/elders/<int:elder_id>/eligibility/print")
def eligibility_print(elder_id: int):
    """The result on a page of its own, laid out for paper (the print stylesheet)."""
    person, form, results, failed = _posted_eligibility(elder_id)
    if failed is not None:
        return failed
    record("view_eligibility_print", elder_id=elder_id)
    return render_template(
        "advisor/eligibility_print.html", elder=person, form=form, results=results, on=clock.today()
    )


@bp.post("/elders/<int:elder_id>/eligibility/sms")
def eligibility_sms(elder_id: int):
    """First POST: the confirmation (to whom, masked, and the exact text); reveal=yes shows
    the full number (audited); confirm=yes sends it through bot.contact.sms (outbox fallback)."""
    person, form, results, failed = _posted_eligibility(elder_id)
    if failed is not None:
        return failed
    to = (request.form.get("to") or "").strip()
    recipient = next((r for r in casework.sms_recipients(person) if r["key"] == to), None)
    if recipient is None:
        log.info("eligibility sms for elder %s: no mobile on file for %r", elder_id, to[:16])
        flash("请选择发给谁：只能发到登记过的老人本人或紧急联系人的手机。", "error")
        return redirect(url_for("advisor.eligibility", elder_id=elder_id))
    body = casework.eligibility_sms_text(results, recipient["who"])
    if request.form.get("confirm") != "yes":
        revealed = request.form.get("reveal") == "yes"
        if revealed:
            record(
                "reveal_phone",
                elder_id=elder_id,
                detail=f"eligibility sms to {to} {mask_phone(recipient['number'])}",
            )
        return render_template(
            "advisor/eligibility_sms.html",
            elder=person,
            form=form,
            recipient=recipient,
            body=body,
            revealed=revealed,
        )
    from bot.contact.sms import send_sms

    with session_scope() as s:
        outbox_id = send_sms(recipient["number"], body, session=s)
        if outbox_id is not None:
            record(
                "send_eligibility_sms",
                elder_id=elder_id,
                detail=f"to {to} {mask_phone(recipient['number'])} outbox {outbox_id}",
                session=s,
            )
    tail = recipient["number"][-4:]
    if outbox_id is None:
        log.info(
            "eligibility sms for elder %s to %s not sent (opted out or not on file)",
            elder_id,
            mask_phone(recipient["number"]),
        )
        flash(f"尾号{tail}的手机不能接收短信（可能已回复退订）。请电话告知结果。", "error")
    else:
        flash(f"测算结果已用短信发给{recipient['label']}（尾号{tail}）。", "success")
    return redirect(url_for("advisor.eligibility", elder_id=elder_id))


# --- booking on the elder's behalf -----------------------------------------------------


def _no_elder():
    return render_template("advisor/error.html", title="没有找到", message="没有这位老人的档案。"), 404


def _not_in_register(person):
    """Elders who moved away or died are not booked (bot.booking.ledger refuses them too)."""
    flash(f"{person.name}{person.status_zh}，不能再预约或改期。如是登记错了，请先在档案页恢复在册。", "error")
    return redirect(url_for("advisor.elder", elder_id=person.id))


def _bookable(s, elder_id: int):
    """The elder, and the page to show instead of booking for her (no such elder, or one no
    longer in the register), or None."""
    person = load_elder(s, elder_id)
    if person is None:
        return None, _no_elder()
    if not person.active:
        return person, _not_in_register(person)
    return person, None


def _booking_page_for(s, elder_id: int, detail: str):
    """`_bookable`, and the page's read recorded: a booking page shows her address (and the
    booking being moved), a read of personal data."""
    person, refusal = _bookable(s, elder_id)
    if refusal is None:
        record("view_booking_page", elder_id=elder_id, detail=detail, session=s)
    return person, refusal


def _active_visit(elder_id: int, reference: str):
    """The elder's booking still to come with this reference, or None."""
    return next((v for v in booking.list_bookings(elder_id) if v.reference == reference[:32]), None)


def _to_bookings(elder_id: int):
    """Back to the bookings part of the elder's page."""
    return redirect(url_for("advisor.elder", elder_id=elder_id) + "#booking")


def _no_such_visit(elder_id: int):
    flash("没有查到这个还有效的预约。", "error")
    return _to_bookings(elder_id)


def _not_made(what: str, elder_id: int, result) -> None:
    """The ledger said no: logged, and its Chinese reason shown to the advisor."""
    log.info("console %s not made: elder=%s code=%s", what, elder_id, result.code)
    flash(result.message, "error")


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
    service_code = (request.args.get("service") or "").strip()[:24]
    around = _around(request.args.get("day"), request.args.get("part"))
    with session_scope() as s:
        person, refusal = _booking_page_for(s, elder_id, f"book {service_code}".strip())
        if refusal is not None:
            return refusal
        windows = []
        if service_code:
            windows = booking.available_windows(s, service_code, person.street_id, around, limit=5)
    hours = casework.entitlements(elder_id)
    services = casework.service_choices()
    service = next((x for x in services if x["code"] == service_code), None)
    return render_template(
        "advisor/book.html",
        elder=person,
        services=services,
        service=service,
        around=around,
        windows=windows,
        part=request.args.get("part") or "am",
        idempotency_key=uuid.uuid4().hex,
        moving=None,
        entitlements=hours,
    )


@bp.post("/elders/<int:elder_id>/book")
def book(elder_id: int):
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
        person, refusal = _bookable(s, elder_id)
        if refusal is not None:
            return refusal
    # The idempotency key was made when the page was shown: a double click or a resent
    # form returns the first booking instead of booking twice.
    result = booking.book(
        elder_id,
        service_code,
        window_start,
        channel="console",
        idempotency_key=f"console:{current_user.username}:{key}",
    )
    if result.ok:
        record(
            "book",
            elder_id=elder_id,
            detail=f"{result.reference} {service_code} {window_start.isoformat()} ({result.code})",
        )
        when = result.window_start.strftime("%m月%d日 %H:%M") if result.window_start else ""
        cost = f"，自付{result.cost_yuan_text}" if result.cost_fen else "，不用付费"
        first = "预约成功" if result.code == "booked" else "这个预约刚才已经做好了"
        flash(
            f"{first}：{result.service_name or ''} {when}，预约号 {result.reference}{cost}。已给老人发短信。",
            "success",
        )
        return _to_bookings(elder_id)
    _not_made("booking", elder_id, result)
    return redirect(
        url_for(
            "advisor.book_windows",
            elder_id=elder_id,
            service=service_code,
            day=window_start.date().isoformat(),
        )
    )


@bp.get("/elders/<int:elder_id>/bookings/<reference>/cancel")
def cancel_confirm(elder_id: int, reference: str):
    """Before a visit is cancelled: which one, and why (a common reason or the advisor's
    words). Nothing is written here."""
    visit = _active_visit(elder_id, reference)
    if visit is None:
        return _no_such_visit(elder_id)
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is None:
            return _no_elder()
        # the page shows her booking: a read of personal data
        record("view_booking_page", elder_id=elder_id, detail=f"cancel {visit.reference}", session=s)
    return render_template(
        "advisor/cancel_booking.html", elder=person, visit=visit, form=CancelForm(), reasons=CANCEL_REASONS
    )


@bp.post("/elders/<int:elder_id>/bookings/<reference>/cancel")
def cancel_booking(elder_id: int, reference: str):
    form = CancelForm()
    reason = form.reason() if form.validate_on_submit() else None
    if reason is None:
        log.info(
            "console cancel refused: elder=%s ref=%s without a reason (%s)",
            elder_id,
            reference[:32],
            sorted(form.errors) or "no reason",
        )
        flash("请选择或写下取消原因，再确认取消。", "error")
        return redirect(url_for("advisor.cancel_confirm", elder_id=elder_id, reference=reference[:32]))
    result = booking.cancel(reference[:32], elder_id, reason, channel="console")
    if result.ok:
        record("cancel_booking", elder_id=elder_id, detail=f"{reference} ({result.code}) {reason}")
    flash(result.message, "success" if result.ok else "error")
    return _to_bookings(elder_id)


@bp.get("/elders/<int:elder_id>/bookings/<reference>/reschedule")
def reschedule_windows(elder_id: int, reference: str):
    """The free windows for the booking's service near the day the caller now wants."""
    moving = _active_visit(elder_id, reference)
    if moving is None:
        return _no_such_visit(elder_id)
    around = _around(request.args.get("day"), request.args.get("part"))
    with session_scope() as s:
        person, refusal = _booking_page_for(s, elder_id, f"reschedule {moving.reference}")
        if refusal is not None:
            return refusal
        service = booking.service_by_code_or_name(s, moving.service_name)
        windows = (
            booking.available_windows(s, service.code, person.street_id, around, limit=6)
            if service is not None
            else []
        )
        windows = [w for w in windows if w.start != moving.window_start][:5]  # not where it is
        shown = {"code": service.code, "name": service.name} if service is not None else None
    return render_template(
        "advisor/book.html",
        elder=person,
        services=[],
        service=shown,
        around=around,
        windows=windows,
        part=request.args.get("part") or "am",
        idempotency_key="",
        moving=moving,
        entitlements=casework.entitlements(elder_id),
    )


@bp.post("/elders/<int:elder_id>/bookings/<reference>/reschedule")
def reschedule_booking(elder_id: int, reference: str):
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
        record(
            "reschedule_booking",
            elder_id=elder_id,
            detail=f"{reference} -> {new_start.isoformat()} ({result.code})",
        )
        flash(result.message + ("已给老人发短信。" if result.code == "rescheduled" else ""), "success")
        return _to_bookings(elder_id)
    _not_made("reschedule", elder_id, result)
    if result.code == "not_found":
        return _to_bookings(elder_id)
    return redirect(
        url_for(
            "advisor.reschedule_windows",
            elder_id=elder_id,
            reference=reference,
            day=new_start.date().isoformat(),
        )
    )
