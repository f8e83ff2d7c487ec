"""Console login and roles: hashed passwords (bot.console_users), Flask-Login sessions,
a per-address-and-name lockout after repeated failures, and the admin-only decorator."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_user, logout_user

from bot import audit
from bot.console_users import LOCKOUT_WINDOW, authenticate
from bot.db import session_scope
from bot.models.console import AdvisorUser
from server.advisor import login_manager
from server.advisor.blueprint import bp, forbidden
from server.advisor.forms import LoginForm

log = logging.getLogger(__name__)

LOCKED_MESSAGE = (
    f"登录失败次数太多，为了账号安全，请{int(LOCKOUT_WINDOW.total_seconds() // 60)}"
    "分钟后再试。如果忘记了密码，请联系管理员。"
)


@dataclass
class ConsoleUser(UserMixin):
    id: int
    username: str
    role: str
    label: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    # Read on every request, so a deactivated account loses access at once.
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    with session_scope() as s:
        user = s.get(AdvisorUser, uid)
        if user is None or not user.active:
            return None
        return ConsoleUser(user.id, user.username, user.role, user.label)


def client_ip() -> str:
    return (request.remote_addr or "unknown")[:64]


def actor() -> str:
    return current_user.username if current_user.is_authenticated else "anonymous"


def record(action: str, **fields) -> None:
    """The console's audit row (bot.audit.record): this advisor, from this address; `fields`
    are its elder_id, detail and session."""
    audit.record(actor(), action, ip=client_ip(), **fields)


def admin_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_admin:
            log.warning("console admin page refused user=%s path=%s", actor(), request.path)
            return forbidden()
        return view(*args, **kwargs)

    return wrapped


def _safe_next(target: str | None) -> str:
    # Only paths inside the console: no open redirect to another site.
    if (
        target
        and target.startswith("/advisor/")
        and not urlsplit(target).netloc
        and not target.startswith("//")
    ):
        return target
    return url_for("advisor.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("advisor.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        with session_scope() as s:
            result = authenticate(s, form.username.data, form.password.data, client_ip())
        if result.locked:
            flash(LOCKED_MESSAGE, "error")
            status = 429
        elif result.ok:
            user = load_user(str(result.user_id))
            session.clear()  # a fresh session on login: no fixation
            login_user(user)
            session.permanent = True
            audit.record(user.username, "login", ip=client_ip())
            return redirect(_safe_next(request.args.get("next")))
        else:
            flash("用户名或密码不对，请再试一次。", "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("advisor/login.html", form=form), status


@bp.post("/logout")
def logout():
    record("logout")
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("advisor.login"))
