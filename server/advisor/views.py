"""Console pages: home, handoff queue, elder lookup and record, user management, audit."""

from __future__ import annotations

import datetime as dt
import logging

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from bot import audit, identity
from bot.contact import live_chat
from bot.console_users import UserError, create_user, set_password
from bot.clock import today
from bot.db import session_scope
from bot.text.masking import mask_phone, mask_text
from bot.models import Elder, Handoff
from bot.models.console import AdvisorUser
from bot.models.identity import IdentityProof
from bot.models.live_chat import OUTCOMES
from bot.registry.crypto import id_lookup_hash
from server.advisor import casework
from server.advisor.auth import admin_required, record
from server.advisor.blueprint import bp
from server.advisor.conversation_views import conversation, queue_context, refused
from server.advisor.notes_views import case_file
from server.advisor.forms import NewUserForm
from server.advisor.history import conversation_history

log = logging.getLogger(__name__)

HANDOFF_KINDS_ZH = {
    "crisis": "心理危机",
    "emergency": "紧急求助",
    "scam": "疑似诈骗",
    "callback": "回电请求",
    "request_human": "要求转人工",
    "fallback": "机器人没听懂",
    "complaint": "投诉",
    "checkin_need": "问候电话发现需要",
    "visit_needed": "请上门探访",
    "reminder_missed": "提醒电话未接通",
    "sms_unsent": "短信未能发出",
}
HANDOFF_STATUS_ZH = {"open": "待认领", "claimed": "已认领", "closed": "已处理"}
CHANNELS_ZH = {"web": "网页", "voice": "电话", "sms": "短信", "console": "工作台"}


@bp.app_template_filter("zh_kind")
def zh_kind(kind: str) -> str:
    return HANDOFF_KINDS_ZH.get(kind, kind)


@bp.app_template_filter("zh_channel")
def zh_channel(channel: str | None) -> str:
    return CHANNELS_ZH.get(channel or "", channel or "—")


@bp.app_template_filter("zh_status")
def zh_status(status: str) -> str:
    return HANDOFF_STATUS_ZH.get(status, status)


@bp.app_template_filter("hm")
def hm(value) -> str:
    return value.strftime("%m-%d %H:%M") if value else ""


@bp.app_template_filter("china_time")
def china_time(value) -> str:
    """Stored times are naive UTC; advisors read Beijing time."""
    if not value:
        return ""
    import datetime as dt

    from bot.clock import CHINA_TZ

    return value.replace(tzinfo=dt.timezone.utc).astimezone(CHINA_TZ).strftime("%m-%d %H:%M")


@bp.app_template_filter("masked")
def masked(value: str | None) -> str:
    return mask_text(value)


METHODS_ZH = {"sms_code": "短信验证码", "caller_id": "来电号码"}


@bp.app_template_filter("proof_method")
def proof_method(method: str) -> str:
    return METHODS_ZH.get(method, method)


@bp.app_template_filter("audit_zh")
def audit_zh(action: str) -> str:
    return audit.ACTIONS_ZH.get(action, action)


@bp.get("/")
def home():
    context = queue_context(None)
    groups = context["groups"]
    open_count = sum(1 for g in groups if g.status == "open")
    return render_template(
        "advisor/home.html",
        open_count=open_count,
        urgent=context["alert"],
        groups=groups[:5],
        elders=context["elders"],
        alert=context["alert"],
    )


def _elders_by_id(s, ids) -> dict[int, Elder]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {e.id: e for e in s.execute(select(Elder).where(Elder.id.in_(ids))).scalars()}


@bp.get("/queue")
def queue(revealed: dict | None = None):
    """Grouped by conversation, filtered by ?show=, self-refreshing (conversation_views)."""
    return render_template("advisor/queue.html", **queue_context(request.args.get("show"), revealed))


@bp.post("/queue/<int:handoff_id>/claim")
def claim(handoff_id: int):
    """Claims the handoff and the rest of its conversation, then opens the conversation."""
    with session_scope() as s:
        # Conditional update: of two advisors clicking at once, exactly one gets it.
        handoff, claimed = live_chat.claim(s, handoff_id, current_user.username)
        if claimed and handoff is not None:  # claimed: the handoff exists
            record(
                "claim_handoff",
                elder_id=handoff.elder_id,
                detail=f"handoff {handoff_id} ({handoff.kind})",
                session=s,
            )
    if handoff is None:
        flash("没有找到这条记录。", "error")
    elif claimed:
        flash(f"已认领第{handoff_id}号：{zh_kind(handoff.kind)}。请尽快联系。", "success")
        return redirect(url_for("advisor.conversation", handoff_id=handoff_id))
    else:
        flash(f"第{handoff_id}号已经由 {handoff.claimed_by or '其他顾问'} 认领或处理了。", "info")
    return redirect(url_for("advisor.queue"))


@bp.post("/queue/<int:handoff_id>/close")
def close(handoff_id: int):
    """Closes the advisor's handoff (and the rest of the conversation they hold) with an
    outcome and notes; a live web chat ends and the bot takes over."""
    outcome = request.form.get("outcome") or ""
    try:
        with session_scope() as s:
            items = live_chat.close(
                s, handoff_id, current_user.username, outcome, request.form.get("notes") or ""
            )
            for item in items:
                record(
                    "close_handoff",
                    elder_id=item.elder_id,
                    detail=f"handoff {item.id}: {OUTCOMES[outcome]}",
                    session=s,
                )
    except live_chat.LiveChatError as exc:
        refused("close", handoff_id, exc)
        return redirect(url_for("advisor.conversation", handoff_id=handoff_id))
    flash(f"第{handoff_id}号已处理完毕（{OUTCOMES[outcome]}）。", "success")
    return redirect(url_for("advisor.queue"))


@bp.post("/queue/<int:handoff_id>/phone")
def reveal_handoff_phone(handoff_id: int):
    """A callback needs the full number: shown once, on request, and audited."""
    with session_scope() as s:
        handoff = s.get(Handoff, handoff_id)
        if handoff is None or not handoff.phone:
            flash("这条记录没有电话号码。", "error")
            return redirect(url_for("advisor.queue"))
        record(
            "reveal_phone",
            elder_id=handoff.elder_id,
            detail=f"handoff {handoff_id} phone {mask_phone(handoff.phone)}",
            session=s,
        )
        phone = handoff.phone
    if request.form.get("back") == "conversation":
        return conversation(handoff_id, revealed_phone=phone)
    return queue(revealed={handoff_id: phone})


def find_elders(s, query: str, limit: int = 50) -> list[Elder]:
    """By name (part of it), phone (full, or at least the last 4 digits) or ID number
    (full, or the last 4 characters)."""
    q = query.strip().replace(" ", "")
    if not q:
        return []
    digits = q.upper()
    stmt = select(Elder).options(selectinload(Elder.street))
    if digits.rstrip("X").isdigit() and len(digits) >= 4:
        if len(digits) == 18 or (len(digits) > 11 and digits.endswith("X")):
            stmt = stmt.where(Elder.id_number_hash == id_lookup_hash(digits))
        elif len(digits) == 11:
            stmt = stmt.where(Elder.phone == digits)
        elif len(digits) == 4:
            stmt = stmt.where(or_(Elder.phone_last4 == digits, Elder.id_number_last4 == digits))
        else:
            stmt = stmt.where(Elder.phone.like(f"%{digits}"))
    else:
        stmt = stmt.where(Elder.name.like(f"%{q[:32]}%"))
    return list(s.execute(stmt.order_by(Elder.name, Elder.id).limit(limit)).scalars())


@bp.get("/elders")
def elders():
    query = (request.args.get("q") or "").strip()[:40]
    results: list[Elder] = []
    if query:
        with session_scope() as s:
            results = find_elders(s, query)
            record("search_elders", detail=f"q={query} results={len(results)}", session=s)
    return render_template("advisor/elders.html", query=query, results=results)


def load_elder(s, elder_id: int) -> Elder | None:
    return s.execute(
        select(Elder)
        .options(selectinload(Elder.street), selectinload(Elder.community))
        .where(Elder.id == elder_id)
    ).scalar_one_or_none()


@bp.route("/elders/<int:elder_id>", methods=["GET"])
def elder(elder_id: int, full_phone: str | None = None, full_family_phone: str | None = None):
    """The case file: what matters now (open handoffs, next visits, free hours this month
    and next, last contact, emergency contact), then the record, notes and follow-up tasks,
    then the conversations (her own and those of relatives who proved they act for her)."""
    with session_scope() as s:
        person = load_elder(s, elder_id)
        if person is None:
            return render_template(
                "advisor/error.html", title="没有找到", message="没有这位老人的档案。"
            ), 404
        record("view_elder", elder_id=elder_id, session=s)
        handoffs = list(
            s.execute(
                select(Handoff)
                .where(Handoff.elder_id == elder_id)
                .order_by(Handoff.created_at.desc())
                .limit(20)
            ).scalars()
        )
        open_handoffs = list(
            s.execute(
                select(Handoff)
                .where(Handoff.elder_id == elder_id, Handoff.status.in_(("open", "claimed")))
                .order_by(Handoff.priority, Handoff.created_at, Handoff.id)
            ).scalars()
        )
        trail = audit.for_elder(s, elder_id, limit=10)
        proofs = identity.proofs_for(s, elder_id, limit=10)
        proof_by_sender: dict[str, IdentityProof] = {}
        for proof in s.execute(
            select(IdentityProof)
            .where(IdentityProof.elder_id == elder_id)
            .order_by(IdentityProof.at.desc())
            .limit(50)
        ).scalars():
            proof_by_sender.setdefault(proof.sender_id, proof)
        facts = person.facts()
        notes = case_file(s, elder_id)
    history = conversation_history(person.phone, [h.sender_id for h in handoffs] + list(proof_by_sender))
    with session_scope() as s:
        contact = casework.last_contact(s, person, history)
    booking_info = casework.booking_overview(elder_id)
    return render_template(
        "advisor/elder.html",
        elder=person,
        facts=facts,
        handoffs=handoffs,
        open_handoffs=open_handoffs,
        trail=trail,
        proofs=proofs,
        proof_by_sender=proof_by_sender,
        history=history,
        last_contact=contact,
        booking=booking_info,
        casefile=notes,
        full_phone=full_phone,
        full_family_phone=full_family_phone,
        tomorrow=(today() + dt.timedelta(days=1)).isoformat(),
        services=casework.service_choices(),
    )


@bp.post("/elders/<int:elder_id>/phone")
def reveal_elder_phone(elder_id: int):
    """Her full number, or her family contact's (which=family): shown once, audited."""
    family = request.form.get("which") == "family"
    with session_scope() as s:
        person = s.get(Elder, elder_id)
        if person is None:
            return redirect(url_for("advisor.elders"))
        record("reveal_phone", elder_id=elder_id, detail="family contact" if family else None, session=s)
        phone = person.emergency_contact_phone if family else person.phone
    if family:
        return elder(elder_id, full_family_phone=phone)
    return elder(elder_id, full_phone=phone)


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            with session_scope() as s:
                user = create_user(
                    s,
                    form.username.data,
                    form.password.data,
                    role=form.role.data,
                    display_name=form.display_name.data,
                )
                record("create_user", detail=f"{user.username} ({user.role})", session=s)
            flash(f"已新建账号 {user.username}。", "success")
            return redirect(url_for("advisor.users"))
        except UserError as exc:
            flash(exc.message_zh, "error")
    with session_scope() as s:
        accounts = list(s.execute(select(AdvisorUser).order_by(AdvisorUser.username)).scalars())
    return render_template("advisor/users.html", form=form, accounts=accounts)


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_user_active(user_id: int):
    with session_scope() as s:
        user = s.get(AdvisorUser, user_id)
        if user is None or user.id == current_user.id:
            flash("不能停用自己的账号。", "error")
            return redirect(url_for("advisor.users"))
        user.active = not user.active
        record("set_user_active", detail=f"{user.username} active={user.active}", session=s)
        flash(f"账号 {user.username} 已{'启用' if user.active else '停用'}。", "success")
    return redirect(url_for("advisor.users"))


@bp.post("/users/<int:user_id>/password")
@admin_required
def reset_password(user_id: int):
    """An administrator sets a new password for an account (someone forgot theirs)."""
    with session_scope() as s:
        user = s.get(AdvisorUser, user_id)
        if user is None:
            flash("没有这个账号。", "error")
            return redirect(url_for("advisor.users"))
        try:
            set_password(s, user, request.form.get("password") or "")
        except UserError as exc:
            log.info("password reset refused for %s: %s", user.username, exc)
            flash(exc.message_zh, "error")
            return redirect(url_for("advisor.users"))
        record("reset_password", detail=user.username, session=s)
        flash(f"账号 {user.username} 的密码已重设，请当面或电话告诉本人。", "success")
    return redirect(url_for("advisor.users"))


@bp.get("/audit")
@admin_required
def audit_log():
    with session_scope() as s:
        entries = audit.recent(s, limit=200)
        elders = _elders_by_id(s, [e.elder_id for e in entries])
    return render_template("advisor/audit.html", entries=entries, elders=elders)
