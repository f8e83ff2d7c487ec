"""Console pages that keep the register: new elder, edit, moved away / deceased (with a
confirmation step) and the worklist. The rules live in bot/registry/console.py."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for

from bot.booking import ledger as booking
from bot.db import session_scope
from bot.text.facts import DISTRICT_STREETS
from bot.models.people import CARE_LEVELS, ECONOMIC_STATUSES, ELDER_STATUS_ZH, LIVING_SITUATIONS
from bot.registry import console
from server.advisor.auth import actor, client_ip, record
from server.advisor.blueprint import bp
from server.advisor.forms import ElderForm
from server.advisor.views import load_elder

log = logging.getLogger(__name__)

PER_PAGE = 50


def _form(**kwargs) -> ElderForm:
    form = ElderForm(**kwargs)
    form.street.choices = [("", "请选择")] + [(n, n) for n in DISTRICT_STREETS]
    return form


def _no_elder():
    return render_template("advisor/error.html", title="没有找到", message="没有这位老人的档案。"), 404


def _submitted() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in console.LABELS}


def _render_form(
    form: ElderForm, errors: dict, *, elder=None, duplicate_of: int | None = None, status: int = 200
):
    return render_template(
        "advisor/elder_form.html",
        form=form,
        errors=errors,
        elder=elder,
        duplicate_of=duplicate_of,
        labels=console.LABELS,
    ), status


@bp.route("/elders/new", methods=["GET", "POST"])
def new_elder():
    form = _form()
    if request.method == "POST":
        if not form.validate_on_submit():  # only the CSRF token is checked by the form
            return _render_form(form, {"_": "表单已过期，请刷新页面再试。"}, status=400)
        try:
            with session_scope() as s:
                elder = console.create_elder(s, _submitted(), actor(), ip=client_ip())
                elder_id, name = elder.id, elder.name
        except console.ElderFormError as exc:
            return _render_form(form, exc.errors, duplicate_of=exc.duplicate_of)
        flash(f"已新增老人档案：{name}。", "success")
        return redirect(url_for("advisor.elder", elder_id=elder_id))
    return _render_form(form, {})


@bp.route("/elders/<int:elder_id>/edit", methods=["GET", "POST"])
def edit_elder(elder_id: int):
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is None:
            return _no_elder()
        if request.method == "GET":
            # the form shows her address and facts: a read of personal data
            record("view_elder", elder_id=elder_id, detail="edit form", session=s)
            form = _form(data=console.form_values(person))
            return _render_form(form, {}, elder=person)
    form = _form()
    if not form.validate_on_submit():
        return _render_form(form, {"_": "表单已过期，请刷新页面再试。"}, elder=person, status=400)
    try:
        with session_scope() as s:
            changed = console.update_elder(s, elder_id, _submitted(), actor(), ip=client_ip())
    except console.ElderFormError as exc:
        return _render_form(form, exc.errors, elder=person, duplicate_of=exc.duplicate_of)
    if changed:
        names = "、".join(console.CHANGED_ZH.get(k, k) for k in changed)
        flash(f"已保存{person.name}的档案，改动了：{names}。", "success")
    else:
        flash("没有改动，档案保持原样。", "info")
    return redirect(url_for("advisor.elder", elder_id=elder_id))


@bp.post("/elders/<int:elder_id>/status")
def elder_status(elder_id: int):
    """First POST: the confirmation page (what will happen, nothing written yet);
    the POST from that page with confirm=yes: the change."""
    status = (request.form.get("status") or "").strip()
    note = (request.form.get("note") or "").strip()
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is None:
            return _no_elder()
    back = redirect(url_for("advisor.elder", elder_id=elder_id) + "#status")
    if status not in ELDER_STATUS_ZH or status == person.status:
        flash("请选择要登记的新状态。", "error")
        return back
    if not note:
        flash("请填写说明（例如迁往何处、去世日期或信息来源），再登记。", "error")
        return back
    if request.form.get("confirm") != "yes":
        upcoming = booking.list_bookings(elder_id) if status != "active" else []
        return render_template(
            "advisor/elder_status.html",
            elder=person,
            status=status,
            status_zh=ELDER_STATUS_ZH[status],
            note=note,
            upcoming=upcoming,
        )
    try:
        with session_scope() as s:
            change = console.set_status(s, elder_id, status, note, actor(), ip=client_ip())
    except console.StatusError as exc:
        flash(exc.message_zh, "error")
        return back
    if status == "active":
        flash(f"已恢复{person.name}为在册。之前取消的预约不会自动恢复，如需服务请重新预约。", "success")
    else:
        hours = f"，退回免费时长{change.minutes_returned / 60:g}小时" if change.minutes_returned else ""
        done = (
            f"取消了{change.cancelled}个以后的预约{hours}" if change.cancelled else "以后没有需要取消的预约"
        )
        flash(f"已登记{person.name}为{change.status_zh}，{done}。", "success")
    return back


@bp.get("/worklist")
def worklist():
    filters, errors = console.parse_filters(request.args)
    page = request.args.get("page", 1, type=int) or 1
    with session_scope() as s:
        result = console.worklist(s, filters, actor(), page=page, per_page=PER_PAGE, ip=client_ip())
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "advisor/worklist.html",
        filters=filters,
        errors=errors,
        result=result,
        args=args,
        streets=DISTRICT_STREETS,
        statuses=ELDER_STATUS_ZH,
        vocab={
            "living_situation": LIVING_SITUATIONS,
            "care_level": CARE_LEVELS,
            "economic_status": ECONOMIC_STATUSES,
        },
    )
