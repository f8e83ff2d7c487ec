"""The console blueprint and the checks that run before and after every console request."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

bp = Blueprint("advisor", __name__, url_prefix="/advisor")

# Endpoints reachable without a login (everything else needs one).
PUBLIC_ENDPOINTS = {"advisor.login"}


@bp.before_request
def protect_console():
    """Every console route: CSRF on state-changing requests, then a logged-in user."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get("WTF_CSRF_ENABLED", True):
        from server.advisor import csrf

        csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        from server.advisor import login_manager

        return login_manager.unauthorized()
    return None


@bp.after_request
def harden(response):
    # Pages carry personal data: never cached, never framed, no third-party scripts.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
    )
    return response


@bp.app_errorhandler(CSRFError)
def csrf_failed(err):
    if not request.path.startswith("/advisor"):
        return {"error": "请求已过期，请刷新页面后再试。", "code": "csrf_failed"}, 400
    return render_template(
        "advisor/error.html", title="页面已过期", message="页面已过期或来源不明，请返回刷新页面后再试一次。"
    ), 400


def forbidden():
    return render_template(
        "advisor/error.html", title="没有权限", message="这个页面只有管理员可以使用。如需开通，请联系管理员。"
    ), 403
