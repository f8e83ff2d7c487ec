"""Security controls of the advisor console, with the Flask test client on a real (SQLite)
database: hashed passwords, CSRF, cookie flags, login lockout, roles on every route,
masking of ID and phone numbers, the audit log, and the create-user command."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from bot import audit
from bot.console_users import MAX_FAILURES, UserError, create_user
from bot.db import session_scope
from bot.models import Elder, Handoff
from bot.models.console import AdvisorUser, AuditEntry, LoginAttempt

ADVISOR_PW = "advisor-pass-2024"
ADMIN_PW = "admin-pass-2024"


@pytest.fixture
def app(db_url, monkeypatch):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    with session_scope(db_url) as s:
        create_user(s, "wangli", ADVISOR_PW, role="advisor", display_name="王丽")
        create_user(s, "boss", ADMIN_PW, role="admin")
    from server import create_app

    return create_app({"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str, ip: str = "10.0.0.1"):
    token = csrf_token(client.get("/advisor/login").get_data(as_text=True))
    return client.post(
        "/advisor/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def elder_id(name: str) -> int:
    with session_scope() as s:
        return s.execute(select(Elder.id).where(Elder.name == name)).scalar_one()


# --- passwords and login ------------------------------------------------------------------


def test_passwords_are_stored_only_as_salted_hashes(app):
    with session_scope() as s:
        users = s.execute(select(AdvisorUser)).scalars().all()
        hashes = {u.username: u.password_hash for u in users}
    assert ADVISOR_PW not in hashes["wangli"]
    assert hashes["wangli"].split(":")[0] in ("scrypt", "pbkdf2")
    with session_scope() as s:
        create_user(s, "twin", ADVISOR_PW)
        twin = s.execute(select(AdvisorUser.password_hash).where(AdvisorUser.username == "twin")).scalar_one()
    assert twin != hashes["wangli"], "same password must give a different (salted) hash"


def test_weak_passwords_and_bad_roles_are_refused(app):
    with session_scope() as s:
        with pytest.raises(UserError):
            create_user(s, "short", "abc123")
        with pytest.raises(UserError):
            create_user(s, "digits", "12345678901234")
        with pytest.raises(UserError):
            create_user(s, "root", "good-pass-1234", role="superuser")
        with pytest.raises(UserError):
            create_user(s, "WangLi", "good-pass-1234")  # names are case-insensitive


def test_login_and_logout(client):
    r = login(client, "wangli", ADVISOR_PW)
    assert r.status_code == 302 and r.headers["Location"].endswith("/advisor/")
    page = client.get("/advisor/").get_data(as_text=True)
    assert "王丽" in page
    r = client.post("/advisor/logout", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert client.get("/advisor/").status_code == 302


def test_wrong_password_is_refused_politely(client):
    r = login(client, "wangli", "not-the-password1")
    assert r.status_code == 401
    assert "用户名或密码不对" in r.get_data(as_text=True)
    assert client.get("/advisor/queue").status_code == 302


def test_login_lockout_after_repeated_failures(client):
    for _ in range(MAX_FAILURES):
        assert login(client, "wangli", "wrong-password-9", ip="10.0.0.7").status_code == 401
    # Even the right password is refused while locked, with a polite message.
    r = login(client, "wangli", ADVISOR_PW, ip="10.0.0.7")
    assert r.status_code == 429
    assert "5分钟后再试" in r.get_data(as_text=True)
    assert client.get("/advisor/queue").status_code == 302
    # The counter is per address and name: another address is not locked out ...
    assert login(client, "wangli", ADVISOR_PW, ip="10.0.0.8").status_code == 302
    client.post(
        "/advisor/logout", data={"csrf_token": csrf_token(client.get("/advisor/").get_data(as_text=True))}
    )
    # ... and once the failures are older than the window, the first address may try again.
    with session_scope() as s:
        s.execute(
            update(LoginAttempt).values(attempted_at=LoginAttempt.attempted_at - dt.timedelta(minutes=6))
        )
    assert login(client, "wangli", ADVISOR_PW, ip="10.0.0.7").status_code == 302


def test_deactivated_user_loses_access_at_once(client):
    login(client, "wangli", ADVISOR_PW)
    assert client.get("/advisor/queue").status_code == 200
    with session_scope() as s:
        s.execute(update(AdvisorUser).where(AdvisorUser.username == "wangli").values(active=False))
    assert client.get("/advisor/queue").status_code == 302


def test_open_redirect_after_login_is_refused(client):
    token = csrf_token(client.get("/advisor/login").get_data(as_text=True))
    r = client.post(
        "/advisor/login?next=https://evil.example/",
        data={"username": "wangli", "password": ADVISOR_PW, "csrf_token": token},
    )
    assert r.headers["Location"].endswith("/advisor/")


# --- CSRF and cookies -----------------------------------------------------------------------


def test_login_without_csrf_token_is_rejected(client):
    client.get("/advisor/login")
    r = client.post("/advisor/login", data={"username": "wangli", "password": ADVISOR_PW})
    assert r.status_code == 400
    assert client.get("/advisor/queue").status_code == 302


def test_state_changes_without_csrf_token_are_rejected(client):
    from bot.contact.handoff import create_handoff

    handoff_id = create_handoff("request_human", sender_id="web-x", channel="web")
    login(client, "wangli", ADVISOR_PW)
    r = client.post(f"/advisor/queue/{handoff_id}/claim")
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    r = client.post(f"/advisor/queue/{handoff_id}/claim", data={"csrf_token": "forged"})
    assert r.status_code == 400
    with session_scope() as s:
        assert s.get(Handoff, handoff_id).status == "open"
    # with the page's token the same request works
    token = csrf_token(client.get("/advisor/queue").get_data(as_text=True))
    r = client.post(f"/advisor/queue/{handoff_id}/claim", data={"csrf_token": token})
    assert r.status_code == 302
    with session_scope() as s:
        assert s.get(Handoff, handoff_id).claimed_by == "wangli"


def test_chat_api_is_not_affected_by_console_csrf(client):
    # The JSON API has no CSRF token: it must not be caught by the console's check.
    r = client.post("/api/chat", json={"sender": "s1", "message": ""})
    assert r.status_code == 200


def _set_cookie_headers(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_session_cookie_flags_local_profile(client):
    r = login(client, "wangli", ADVISOR_PW)
    cookie = next(c for c in _set_cookie_headers(r) if c.startswith("elder12349_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # local http profile: SESSION_COOKIE_SECURE unset


def test_session_cookie_secure_when_configured(db_url, monkeypatch):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    with session_scope(db_url) as s:
        create_user(s, "wangli", ADVISOR_PW)
    from server import create_app

    client = create_app({"TESTING": True}).test_client()
    r = login(client, "wangli", ADVISOR_PW)
    cookie = next(c for c in _set_cookie_headers(r) if c.startswith("elder12349_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookies_by_default_in_production_profile(monkeypatch):
    from server.advisor import cookie_secure_default

    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u:p@127.0.0.1/x")
    assert cookie_secure_default() is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")  # e.g. behind a plain-http test proxy
    assert cookie_secure_default() is False
    monkeypatch.delenv("SESSION_COOKIE_SECURE")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.db")
    assert cookie_secure_default() is False


def test_console_pages_are_not_cached_or_framed(client):
    login(client, "wangli", ADVISOR_PW)
    r = client.get("/advisor/queue")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


# --- roles on every route -------------------------------------------------------------------


def console_urls(app) -> list[tuple[str, str]]:
    """(method, url) of every console route, with sample path arguments."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/advisor") or rule.endpoint == "advisor.login":
            continue
        url = (
            rule.rule.replace("<int:elder_id>", "1")
            .replace("<int:handoff_id>", "1")
            .replace("<int:user_id>", "1")
            .replace("<reference>", "X1")
            .replace("<int:provider_id>", "1")
            .replace("<int:exception_id>", "1")
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url))
    return out


def test_every_console_route_needs_a_login(app, client):
    urls = console_urls(app)
    assert len(urls) >= 15
    app.config["WTF_CSRF_ENABLED"] = False  # so POSTs reach the login check, not the CSRF one
    for method, url in urls:
        r = client.open(url, method=method)
        assert r.status_code == 302 and "/advisor/login" in r.headers["Location"], (method, url)


def test_admin_pages_refuse_advisors_and_allow_admins(app, client):
    admin_only = [
        ("GET", "/advisor/users"),
        ("POST", "/advisor/users"),
        ("GET", "/advisor/audit"),
        ("POST", "/advisor/users/1/active"),
        ("POST", "/advisor/users/1/password"),
    ]
    login(client, "wangli", ADVISOR_PW)
    app.config["WTF_CSRF_ENABLED"] = False
    for method, url in admin_only:
        r = client.open(url, method=method)
        assert r.status_code == 403 and "只有管理员" in r.get_data(as_text=True), (method, url)
    with session_scope() as s:
        assert s.execute(select(AdvisorUser).where(AdvisorUser.username == "wangli")).scalar_one().active
    app.config["WTF_CSRF_ENABLED"] = True
    admin = app.test_client()
    login(admin, "boss", ADMIN_PW)
    assert admin.get("/advisor/users").status_code == 200
    assert admin.get("/advisor/audit").status_code == 200


def test_admin_creates_a_user_with_the_form(client):
    login(client, "boss", ADMIN_PW)
    token = csrf_token(client.get("/advisor/users").get_data(as_text=True))
    r = client.post(
        "/advisor/users",
        data={
            "csrf_token": token,
            "username": "zhaomin",
            "display_name": "赵敏",
            "role": "advisor",
            "password": "zhao-min-2024x",
        },
    )
    assert r.status_code == 302
    fresh = client.application.test_client()
    assert login(fresh, "zhaomin", "zhao-min-2024x").status_code == 302
    with session_scope() as s:
        assert s.execute(
            select(AuditEntry).where(AuditEntry.action == "create_user", AuditEntry.actor == "boss")
        ).first()


def test_admin_resets_a_forgotten_password(client):
    login(client, "boss", ADMIN_PW)
    with session_scope() as s:
        wangli = s.execute(select(AdvisorUser).where(AdvisorUser.username == "wangli")).scalar_one()
        wangli_id, old_hash = wangli.id, wangli.password_hash
    page = client.get("/advisor/users").get_data(as_text=True)
    assert "重设密码" in page
    weak = client.post(
        f"/advisor/users/{wangli_id}/password",
        follow_redirects=True,
        data={"csrf_token": csrf_token(page), "password": "12345"},
    )
    assert "密码至少需要" in weak.get_data(as_text=True)
    with session_scope() as s:
        assert s.get(AdvisorUser, wangli_id).password_hash == old_hash
    done = client.post(
        f"/advisor/users/{wangli_id}/password",
        follow_redirects=True,
        data={"csrf_token": csrf_token(page), "password": "wang-li-new-2025"},
    )
    assert "密码已重设" in done.get_data(as_text=True)
    missing = client.post(
        "/advisor/users/999999/password",
        follow_redirects=True,
        data={"csrf_token": csrf_token(page), "password": "wang-li-new-2025"},
    )
    assert "没有这个账号" in missing.get_data(as_text=True)
    fresh = client.application.test_client()
    assert login(fresh, "wangli", ADVISOR_PW).status_code == 401  # the old one no longer works
    assert login(fresh, "wangli", "wang-li-new-2025").status_code == 302
    with session_scope() as s:
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == "reset_password")).scalars().all()
        assert [(e.actor, e.detail) for e in entries] == [("boss", "wangli")]  # never the password


# --- masking and the audit log ----------------------------------------------------------------


def test_elder_lookup_shows_id_and_phone_masked(client):
    login(client, "wangli", ADVISOR_PW)
    for query in ("张桂兰", "13800000001", "320119193803120027", "0027"):
        page = client.get("/advisor/elders", query_string={"q": query}).get_data(as_text=True)
        assert "张桂兰" in page, query
        assert "**************0027" in page and "138****0001" in page
        assert "320119193803120027" not in page.replace(f'value="{query}"', "")
        assert "13800000001" not in page.replace(f'value="{query}"', "")


def test_elder_page_masks_and_audits_every_view(client):
    login(client, "wangli", ADVISOR_PW)
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/elders/{zhang}").get_data(as_text=True)
    assert "**************0027" in page and "138****0001" in page
    assert "320119193803120027" not in page and "13800000001" not in page
    client.get(f"/advisor/elders/{zhang}")
    with session_scope() as s:
        views = (
            s.execute(
                select(AuditEntry).where(AuditEntry.elder_id == zhang, AuditEntry.action == "view_elder")
            )
            .scalars()
            .all()
        )
    assert len(views) == 2 and {v.actor for v in views} == {"wangli"}
    assert all(v.ip == "127.0.0.1" for v in views)  # the address of each request


def test_revealing_the_full_phone_is_a_post_and_is_audited(client):
    login(client, "wangli", ADVISOR_PW)
    zhang = elder_id("张桂兰")
    page = client.get(f"/advisor/elders/{zhang}").get_data(as_text=True)
    r = client.post(f"/advisor/elders/{zhang}/phone", data={"csrf_token": csrf_token(page)})
    assert "13800000001" in r.get_data(as_text=True)
    assert "320119193803120027" not in r.get_data(as_text=True)
    with session_scope() as s:
        assert s.execute(
            select(AuditEntry).where(AuditEntry.elder_id == zhang, AuditEntry.action == "reveal_phone")
        ).first()


def test_audit_details_never_hold_full_numbers(app):
    audit.record("wangli", "search_elders", detail="q=13800000001 id 320119193803120027")
    with session_scope() as s:
        detail = s.execute(select(AuditEntry.detail).order_by(AuditEntry.id.desc())).scalars().first()
    assert "13800000001" not in detail and "320119193803120027" not in detail


def test_search_terms_are_audited_masked(client):
    login(client, "wangli", ADVISOR_PW)
    client.get("/advisor/elders", query_string={"q": "13800000002"})
    with session_scope() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "search_elders")).scalar_one()
    assert entry.actor == "wangli" and "138****0002" in entry.detail


# --- the handoff queue --------------------------------------------------------------------------


def test_queue_puts_emergencies_first_and_escapes_text(client):
    from bot.contact.handoff import create_handoff, record_safety_event

    create_handoff(
        "request_human", sender_id="web-a", channel="web", summary="<script>alert(1)</script>转人工"
    )
    create_handoff("callback", sender_id="call-b", channel="voice", phone="13800000002")
    record_safety_event(
        "emergency", sender_id="call-c", channel="voice", phone="13800000003", text="我摔倒了起不来"
    )
    login(client, "wangli", ADVISOR_PW)
    page = client.get("/advisor/queue").get_data(as_text=True)
    kinds = re.findall(r'<tr class="kind-(\w+) status-open"', page)
    assert kinds == ["emergency", "callback", "request_human"]
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "13800000002" not in page and "138****0002" in page
    assert "李建国" in page  # the callback is linked to the persona by phone


def test_a_handoff_can_be_claimed_only_once(app):
    from bot.contact.handoff import create_handoff

    handoff_id = create_handoff("request_human", sender_id="web-z", channel="web")
    first, second = app.test_client(), app.test_client()
    login(first, "wangli", ADVISOR_PW)
    login(second, "boss", ADMIN_PW)
    for c in (first, second):
        token = csrf_token(c.get("/advisor/queue").get_data(as_text=True))
        c.post(f"/advisor/queue/{handoff_id}/claim", data={"csrf_token": token})
    with session_scope() as s:
        handoff = s.get(Handoff, handoff_id)
        assert (handoff.status, handoff.claimed_by) == ("claimed", "wangli")
        claims = s.execute(select(AuditEntry).where(AuditEntry.action == "claim_handoff")).scalars().all()
    assert [c.actor for c in claims] == ["wangli"]
    page = second.get("/advisor/queue").get_data(as_text=True)
    assert "已认领" in page


# --- the create-user command and the demo accounts ---------------------------------------------


def test_create_user_command_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Liu.Fang", "--role", "admin"], input="liu-fang-pass-77\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert login(client, "liu.fang", "liu-fang-pass-77").status_code == 302
    assert client.get("/advisor/users").status_code == 200  # admin role was given
    weak = runner.invoke(args=["create-user", "weak"], input="123\n")
    assert weak.exit_code != 0 and "密码至少需要" in weak.output


def test_demo_accounts_only_from_environment(tmp_path, monkeypatch):
    from bot.demo import loader as demo
    from bot.manage import migrate

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("DEMO_ADVISOR_PASSWORD", "demo-advisor-2024")
    migrate(url)
    demo.load_if_empty(url)
    with session_scope(url) as s:
        names = set(s.execute(select(AdvisorUser.username)).scalars())
    assert names == {"advisor"}


def test_the_public_development_key_is_refused_off_localhost(monkeypatch, db_url):
    from server import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("WEB_BIND", "127.0.0.1")
    assert create_app() is not None  # a demo on this machine only
    monkeypatch.setenv("WEB_BIND", "0.0.0.0")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "a-long-random-secret-for-this-test-only")
    assert create_app() is not None
