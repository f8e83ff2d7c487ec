"""The case file's notes and follow-up tasks (bot/models/casefile.py): adding them from the
elder's page, marking a task done, and the tasks due today or overdue on the home page.

Every write is audited in its own transaction. A note's text is internal: it never goes
into the log or the audit row (they say that a note was added and how long it is)."""

from __future__ import annotations

import datetime as dt
import logging

from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import clock
from bot.db import session_scope
from bot.models import Elder
from bot.models.base import newest_for_elder, utcnow
from bot.models.casefile import CaseNote, FollowUpTask
from server.advisor.auth import record
from server.advisor.blueprint import bp
from server.advisor.forms import FollowUpForm, NoteForm

log = logging.getLogger(__name__)

NOTES_SHOWN = 50
DONE_SHOWN = 10
DUE_SHOWN = 30
FOLLOW_UP_HORIZON_DAYS = 366  # a due date further away is a typing mistake


def case_file(s: Session, elder_id: int) -> dict:
    """The elder's notes (newest first), open tasks (soonest due first) and the last tasks
    done, for the elder's page."""
    notes = newest_for_elder(s, CaseNote, elder_id, NOTES_SHOWN, at=CaseNote.created_at)
    open_tasks = list(
        s.execute(
            select(FollowUpTask)
            .where(FollowUpTask.elder_id == elder_id, FollowUpTask.done_at.is_(None))
            .order_by(FollowUpTask.due_on, FollowUpTask.id)
        ).scalars()
    )
    done = list(
        s.execute(
            select(FollowUpTask)
            .where(FollowUpTask.elder_id == elder_id, FollowUpTask.done_at.is_not(None))
            .order_by(FollowUpTask.done_at.desc(), FollowUpTask.id.desc())
            .limit(DONE_SHOWN)
        ).scalars()
    )
    return {"notes": notes, "open_tasks": open_tasks, "done_tasks": done, "today": clock.today()}


@bp.app_template_global()
def follow_ups_due() -> list[dict]:
    """Open tasks due today or earlier, every advisor's (the hotline works as one team),
    oldest due first, each with its elder's name: the home page's 今天要跟进."""
    today = clock.today()
    with session_scope() as s:
        rows = s.execute(
            select(FollowUpTask, Elder.name)
            .join(Elder, Elder.id == FollowUpTask.elder_id)
            .where(FollowUpTask.done_at.is_(None), FollowUpTask.due_on <= today)
            .order_by(FollowUpTask.due_on, FollowUpTask.id)
            .limit(DUE_SHOWN)
        ).all()
        return [
            {
                "id": t.id,
                "elder_id": t.elder_id,
                "elder_name": name,
                "title": t.title,
                "due_on": t.due_on,
                "overdue": t.due_on < today,
                "created_by": t.created_by,
            }
            for t, name in rows
        ]


def _back(elder_id: int):
    return redirect(url_for("advisor.elder", elder_id=elder_id) + "#casefile")


def _form_errors(form) -> str:
    return (
        "".join(e for errors in form.errors.values() for e in errors if isinstance(e, str))
        or "表单已过期，请刷新页面再试。"
    )


@bp.post("/elders/<int:elder_id>/notes")
def add_note(elder_id: int):
    form = NoteForm()
    if not form.validate_on_submit():
        log.info("case note refused for elder %s: %s", elder_id, sorted(form.errors))
        flash(_form_errors(form), "error")
        return _back(elder_id)
    body = form.body.data.strip()
    with session_scope() as s:
        if s.get(Elder, elder_id) is None:
            flash("没有这位老人的档案。", "error")
            return redirect(url_for("advisor.elders"))
        note = CaseNote(elder_id=elder_id, author=current_user.username, body=body)
        s.add(note)
        s.flush()
        record("add_case_note", elder_id=elder_id, detail=f"note {note.id} ({len(body)} chars)", session=s)
    flash("备注已保存。", "success")
    return _back(elder_id)


@bp.post("/elders/<int:elder_id>/follow-ups")
def add_follow_up(elder_id: int):
    form = FollowUpForm()
    if not form.validate_on_submit():
        log.info("follow-up refused for elder %s: %s", elder_id, sorted(form.errors))
        message = (
            "请选择截止日期。"
            if "due_on" in form.errors and form.due_on.raw_data and form.due_on.raw_data[0]
            else _form_errors(form)
        )
        flash(message, "error")
        return _back(elder_id)
    due = form.due_on.data
    today = clock.today()
    if due < today or due > today + dt.timedelta(days=FOLLOW_UP_HORIZON_DAYS):
        log.info(
            "follow-up refused for elder %s: due %s outside %s..+%sd",
            elder_id,
            due.isoformat(),
            today.isoformat(),
            FOLLOW_UP_HORIZON_DAYS,
        )
        flash("截止日期要在今天到一年之内，请重新选择。", "error")
        return _back(elder_id)
    with session_scope() as s:
        if s.get(Elder, elder_id) is None:
            flash("没有这位老人的档案。", "error")
            return redirect(url_for("advisor.elders"))
        task = FollowUpTask(
            elder_id=elder_id, title=form.title.data.strip(), due_on=due, created_by=current_user.username
        )
        s.add(task)
        s.flush()
        record("add_follow_up", elder_id=elder_id, detail=f"task {task.id} due {due.isoformat()}", session=s)
    flash(f"已添加跟进事项，截止 {due.month}月{due.day}日。", "success")
    return _back(elder_id)


@bp.post("/elders/<int:elder_id>/follow-ups/done")
def complete_follow_up(elder_id: int):
    task_id = request.form.get("task_id", type=int)
    if task_id is None:
        log.info("follow-up done for elder %s without a task id", elder_id)
        flash("没有找到这条跟进事项，请刷新页面再试。", "error")
        return _back(elder_id)
    with session_scope() as s:
        # Conditional update: two advisors ticking the same task record it once.
        done = s.execute(
            update(FollowUpTask)
            .where(
                FollowUpTask.id == task_id, FollowUpTask.elder_id == elder_id, FollowUpTask.done_at.is_(None)
            )
            .values(done_at=utcnow(), done_by=current_user.username)
        ).rowcount
        if done:
            record("complete_follow_up", elder_id=elder_id, detail=f"task {task_id}", session=s)
    if done:
        flash("跟进事项已标记为完成。", "success")
    else:
        log.info("follow-up %s of elder %s not open (done already or not hers)", task_id, elder_id)
        flash("这条跟进事项已经完成了，或者不属于这位老人。", "info")
    return _back(elder_id)
