"""The handoff queue grouped by conversation, and the page of one conversation.

- The queue shows one row per conversation (handoffs of one sender id), led by its most
  urgent kind, with how long it has waited; tasks without a conversation (outbound care,
  an SMS that could not be sent) stay one row each. A filter (?show=emergency|crisis|scam|
  callback) narrows it; the rows refresh themselves every REFRESH_SECONDS (static/advisor/
  live.js fetches the fragment) and an emergency or a crisis raises an alert.
- /advisor/conversations/<handoff_id>: the bot conversation (the tracker store, via
  history.py) and the live thread with the advisor (bot/contact/live_chat.py), oldest first and
  masked; the advisor who claimed it replies into the person's web chat and closes it with
  an outcome and notes (the close form posts to views.close).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.contact import live_chat
from bot.clock import CHINA_TZ
from bot.db import session_scope
from bot.text.masking import mask_text
from bot.models import Elder, Handoff
from bot.models.base import utcnow
from bot.models.live_chat import OUTCOMES
from server.advisor.auth import record
from server.advisor.blueprint import bp
from server.advisor.history import conversation_history

log = logging.getLogger(__name__)

URGENT_KINDS = ("crisis", "emergency")
# ?show= value -> (label, the kinds it keeps; None keeps all)
QUEUE_FILTERS = {
    "all": ("全部", None),
    "emergency": ("紧急", ("emergency",)),
    "crisis": ("危机", ("crisis",)),
    "scam": ("诈骗", ("scam",)),
    "callback": ("回电", ("callback",)),
}
REFRESH_SECONDS = 15
TRANSCRIPT_REFRESH_SECONDS = 5
SPEAKERS_ZH = {"user": "对方", "bot": "机器人", "person": "对方", "advisor": "顾问", "system": "系统"}


@dataclass
class QueueGroup:
    """The handoffs of one conversation in the queue, most urgent first."""

    items: list[Handoff]
    now: dt.datetime

    @property
    def lead(self) -> Handoff:
        return self.items[0]

    @property
    def others(self) -> list[Handoff]:
        return self.items[1:]

    @property
    def since(self) -> dt.datetime:
        return min(h.created_at for h in self.items)

    @property
    def waited_minutes(self) -> int:
        return max(int((self.now - self.since).total_seconds() // 60), 0)

    @property
    def status(self) -> str:
        return "open" if any(h.status == "open" for h in self.items) else "claimed"

    @property
    def holder(self) -> str | None:
        """The advisor who holds the conversation (claimed any of it)."""
        return next((h.claimed_by for h in self.items if h.status == "claimed"), None)

    @property
    def urgent(self) -> bool:
        return any(h.kind in URGENT_KINDS and h.status == "open" for h in self.items)

    @property
    def phone_item(self) -> Handoff | None:
        return next((h for h in self.items if h.phone), None)

    @property
    def elder_id(self) -> int | None:
        return next((h.elder_id for h in self.items if h.elder_id), None)

    @property
    def open_item(self) -> Handoff | None:
        return next((h for h in self.items if h.status == "open"), None)

    @property
    def live_step(self) -> str | None:
        return next((h.live_step for h in self.items if h.live_step), None)


def queue_groups(s, show: str | None = None, limit: int = 200) -> list[QueueGroup]:
    """Open and claimed handoffs grouped by conversation, the most urgent group first."""
    rows = s.execute(
        select(Handoff)
        .where(Handoff.status.in_(("open", "claimed")))
        .order_by(Handoff.priority, Handoff.created_at, Handoff.id)
        .limit(limit)
    ).scalars()
    by_key: dict[str, list[Handoff]] = {}
    for h in rows:  # most urgent first, so each group's first item leads it
        by_key.setdefault(f"s:{h.sender_id}" if h.sender_id else f"h:{h.id}", []).append(h)
    now = utcnow()
    groups = [QueueGroup(items, now) for items in by_key.values()]
    kinds = QUEUE_FILTERS.get(show or "all", QUEUE_FILTERS["all"])[1]
    if kinds:
        groups = [g for g in groups if any(h.kind in kinds for h in g.items)]
    return groups


def elders_of(s, groups: list[QueueGroup]) -> dict[int, Elder]:
    ids = {h.elder_id for g in groups for h in g.items if h.elder_id}
    if not ids:
        return {}
    return {e.id: e for e in s.execute(select(Elder).where(Elder.id.in_(ids))).scalars()}


def queue_context(show: str | None, revealed: dict | None = None) -> dict:
    """What queue.html and its self-refreshing fragment show."""
    show = show if show in QUEUE_FILTERS else "all"
    with session_scope() as s:
        everything = queue_groups(s)
        groups = queue_groups(s, show) if show != "all" else everything
        elders = elders_of(s, groups)
        s.expunge_all()
    alert = [g for g in everything if g.urgent]
    return {
        "groups": groups,
        "elders": elders,
        "revealed": revealed or {},
        "show": show,
        "filters": QUEUE_FILTERS,
        "alert": alert,
        "refresh_seconds": REFRESH_SECONDS,
    }


@bp.get("/queue/rows")
def queue_rows():
    """The queue's rows and alert, fetched every REFRESH_SECONDS by live.js."""
    return render_template("advisor/_queue_live.html", **queue_context(request.args.get("show")))


# -- one conversation ---------------------------------------------------------------------------


@dataclass
class Line:
    at: dt.datetime  # aware, China time
    speaker: str  # user|bot|person|advisor|system
    text: str
    advisor: str | None = None

    @property
    def speaker_zh(self) -> str:
        label = SPEAKERS_ZH.get(self.speaker, self.speaker)
        return f"{label}（{self.advisor}）" if self.advisor else label


def transcript(s, handoff: Handoff) -> tuple[list[Line], bool]:
    """The bot conversation and the live thread, oldest first, masked; and whether the
    tracker store could be read."""
    if not handoff.sender_id:
        return [], True
    history = conversation_history(None, [handoff.sender_id])
    lines = [Line(m.at, m.speaker, m.text) for m in history.messages]
    for m in live_chat.thread_messages(s, handoff.sender_id):
        if m.author == "person" and m.via_bot and history.available:
            continue  # the bot answered it too: it is in the tracker store already
        at = m.created_at.replace(tzinfo=dt.timezone.utc).astimezone(CHINA_TZ)
        lines.append(Line(at, m.author, mask_text(m.text), m.advisor))
    lines.sort(key=lambda line: line.at)
    return lines, history.available


def _conversation_context(handoff_id: int) -> dict | None:
    with session_scope() as s:
        handoff = s.get(Handoff, handoff_id)
        if handoff is None:
            return None
        items = live_chat.group(s, handoff)
        thread = (
            (live_chat.active_thread(s, handoff.sender_id) or live_chat.latest_thread(s, handoff.sender_id))
            if handoff.sender_id
            else None
        )
        lines, available = transcript(s, handoff)
        elder = s.get(Elder, handoff.elder_id) if handoff.elder_id else None
        mine = handoff.status == "claimed" and handoff.claimed_by == current_user.username
        s.expunge_all()
    return {
        "handoff": handoff,
        "items": items,
        "thread": thread,
        "lines": lines,
        "history_available": available,
        "elder": elder,
        "mine": mine,
        "can_reply": mine and thread is not None and thread.live_step == "live",
        "outcomes": OUTCOMES,
        "refresh_seconds": TRANSCRIPT_REFRESH_SECONDS,
        "group": QueueGroup(items, utcnow()),
    }


def refused(what: str, handoff_id: int, exc: live_chat.LiveChatError) -> None:
    """bot.contact.live_chat said no (not the advisor's, closed already…): logged and shown."""
    log.info("%s refused: handoff=%s advisor=%s: %s", what, handoff_id, current_user.username, exc)
    flash(str(exc), "error")


@bp.get("/conversations/<int:handoff_id>")
def conversation(handoff_id: int, revealed_phone: str | None = None):
    context = _conversation_context(handoff_id)
    if context is None:
        abort(404)
    handoff = context["handoff"]
    record("view_conversation", elder_id=handoff.elder_id, detail=f"handoff {handoff_id}")
    return render_template("advisor/conversation.html", revealed_phone=revealed_phone, **context)


@bp.get("/conversations/<int:handoff_id>/transcript")
def conversation_transcript(handoff_id: int):
    """The transcript part, fetched every few seconds by live.js (the reply box is outside
    it, so typing is never interrupted)."""
    context = _conversation_context(handoff_id)
    if context is None:
        abort(404)
    return render_template("advisor/_transcript.html", **context)


@bp.post("/conversations/<int:handoff_id>/reply")
def reply(handoff_id: int):
    text = request.form.get("text") or ""
    try:
        with session_scope() as s:
            message = live_chat.reply(s, handoff_id, current_user.username, text)
            handoff = s.get(Handoff, handoff_id)
            record(
                "live_reply",
                elder_id=handoff.elder_id,
                detail=f"handoff {handoff_id} message {message.id} ({len(message.text)} chars)",
                session=s,
            )
    except live_chat.LiveChatError as exc:
        refused("console reply", handoff_id, exc)
    return redirect(url_for("advisor.conversation", handoff_id=handoff_id) + "#reply")


LIVE_STEPS_ZH = {
    "waiting": "等顾问接入",
    "live": "顾问在对话中",
    "callback_phone": "在登记回电号码",
    "callback_confirm": "在确认回电号码",
    "callback_time": "在登记回电时间",
    "callback": "已登记回电",
    "closed": "已结束",
    "left": "对方不办了",
}


@bp.app_template_filter("live_step_zh")
def live_step_zh(step: str | None) -> str:
    return LIVE_STEPS_ZH.get(step or "", step or "")
