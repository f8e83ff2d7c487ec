"""Console page of outbound care (外呼关怀, issue 21 point 5): how far the monthly check-in
campaign got for each member, the visit reminders of a day, and an advisor putting an elder
on the refusal list. The numbers come from bot/outreach/progress.py; the page shows names
and streets only, never a phone number."""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from bot import clock
from bot.db import session_scope
from bot.models import Elder
from bot.outreach import progress, rules
from bot.outreach.campaign import month_key, parse_month
from server.advisor.auth import actor, record
from server.advisor.blueprint import bp
from server.advisor.views import HANDOFF_KINDS_ZH, HANDOFF_STATUS_ZH

log = logging.getLogger(__name__)

PER_PAGE = 100
NOTE_MAX = 200
# The counts as the page lists them, and the table's order: what needs an advisor first.
COUNT_ORDER = ("reached", "needs_followup", "unreachable", "opted_out", "in_progress", "not_yet")
ATTENTION = {
    s: i
    for i, s in enumerate(("needs_followup", "unreachable", "in_progress", "not_yet", "reached", "opted_out"))
}
BAD_MONTH = "月份“{}”看不懂，请按“2026-11”这样的格式填写。下面显示的是本月（{}）。"
BAD_DAY = "日期“{}”看不懂，请按“2026-11-23”这样的格式填写。下面显示的是今天（{}）。"


def _month(raw: str | None, today: dt.date) -> tuple[dt.date, str | None]:
    """The month asked for (the first day), or this month and a message for the advisor."""
    if not raw or not raw.strip():
        return today.replace(day=1), None
    try:
        return parse_month(raw), None
    except ValueError:
        return today.replace(day=1), BAD_MONTH.format(raw[:20], month_key(today))


def _day(raw: str | None, today: dt.date) -> tuple[dt.date, str | None]:
    if not raw or not raw.strip():
        return today, None
    try:
        return dt.date.fromisoformat(raw.strip()), None
    except ValueError:
        return today, BAD_DAY.format(raw[:20], today.isoformat())


def task_label(kind: str | None) -> str:
    """What the queue calls the task (e.g. visit_needed: 请上门探访)."""
    return HANDOFF_KINDS_ZH.get(kind or "", kind or "任务")


@bp.get("/outreach")
def outreach():
    today = clock.today()
    month, month_error = _month(request.args.get("month"), today)
    day, day_error = _day(request.args.get("day"), today)
    state = request.args.get("state") or None
    if state not in progress.STATE_ZH:
        state = None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    with session_scope() as s:
        checkins = progress.checkin_progress(s, month)
        reminders = progress.reminder_progress(s, day)
        # names with reasons such as 低保 are personal data: who looked is recorded
        record(
            "view_outreach",
            session=s,
            detail=f"month={checkins.campaign} state={state or 'all'} page={page} "
            f"reminders={day.isoformat()}",
        )
    shown = sorted(checkins.in_state(state), key=lambda r: (ATTENTION[r.state], r.elder_id))
    pages = max(math.ceil(len(shown) / PER_PAGE), 1)
    page = min(page, pages)
    args = {"month": checkins.campaign, "day": day.isoformat()}
    return render_template(
        "advisor/outreach.html",
        checkins=checkins,
        reminders=reminders,
        rows=shown[(page - 1) * PER_PAGE : page * PER_PAGE],
        total=len(shown),
        page=page,
        pages=pages,
        state=state,
        args=args,
        month_error=month_error,
        day_error=day_error,
        count_order=COUNT_ORDER,
        state_zh=progress.STATE_ZH,
        task_label=task_label,
        task_status_zh=HANDOFF_STATUS_ZH,
        result_zh=progress.REMINDER_RESULT_ZH,
        channel_zh=progress.CHANNEL_ZH,
        this_month=month_key(today),
        today=today,
    )


@bp.post("/outreach/refuse/<int:elder_id>")
def refuse_outreach(elder_id: int):
    """An advisor heard (on the phone, from the family) that she does not want our calls."""
    note = (request.form.get("note") or "").strip()
    back_args: dict[str, Any] = {}
    month, _ = _month(request.form.get("month"), clock.today())
    back_args["month"] = month_key(month)
    if request.form.get("state") in progress.STATE_ZH:
        back_args["state"] = request.form["state"]
    back = redirect(url_for("advisor.outreach", **back_args))
    with session_scope() as s:
        elder = s.get(Elder, elder_id)
        if elder is None:
            flash("没有这位老人的档案。", "error")
            return back
        name = elder.name
        if not note:
            flash(f"请填写说明（例如谁、在什么时候说不要再打电话），再登记{name}不再联系。", "error")
            return back
        if rules.refused(s, elder_id, elder.phone):
            flash(f"{name}已经在拒绝联系名单上了，不会再收到外呼电话和提醒。", "info")
            return back
        rules.add_refusal(s, source="advisor", elder_id=elder_id, created_by=actor(), note=note[:NOTE_MAX])
        record("outreach_refusal", elder_id=elder_id, detail=note[:NOTE_MAX], session=s)
    log.info("outreach refusal by advisor=%s elder=%s", actor(), elder_id)
    flash(f"已登记：{name}不再接到问候电话、上门提醒电话和短信。", "success")
    return back
