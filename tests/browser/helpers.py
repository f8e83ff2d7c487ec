"""Launching Debian's Chromium (`make system-deps`) with Playwright's sync API, and saving
screenshots under test-output/screenshots/."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.stack import ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-output" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

PHONE = {"width": 390, "height": 844}  # an ordinary phone screen, CSS pixels
DESKTOP = {"width": 1280, "height": 900}


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: run `make system-deps` (as root) to install Debian's "
            "chromium for the browser tests"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed in this venv")


def screenshot(page, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def create_console_user(stack, username: str, password: str, role: str) -> None:
    """The real CLI against the stack's database (same path an operator takes)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "flask"),
            "--app",
            "server",
            "create-user",
            username,
            "--role",
            role,
        ],
        input=password + "\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=stack.env(),
        timeout=120,
    )
    if result.returncode != 0 and "exists" not in result.stderr:
        raise RuntimeError(f"create-user failed: {result.stderr[-2000:]}")


@contextmanager
def serve_flask(app):
    """The Flask app on a free local port in a thread, for browser tests of pages that need
    no Rasa (the API they call is fulfilled with page.route); yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def console_login(browser, stack, viewport: dict, username: str, password: str, *, bypass_csp: bool = False):
    """A new browser context logged in to the advisor console: (context, page on home).
    `bypass_csp` lets a test inject axe-core into pages whose CSP forbids it."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=bypass_csp)
    page = context.new_page()
    page.goto(stack.web_url + "/advisor/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button:has-text('登录')")
    page.wait_for_selector("h1:has-text('您好')")
    return context, page


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


# ---- accessibility gate: axe-core from npm, pinned in tests/browser/package-lock.json ----
AXE_JS = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, impacts=("serious", "critical"), context=None) -> list[dict]:
    """Runs axe-core on the page as it is now (or on `context`, a CSS selector) and returns
    the violations of the given impacts: [{id, impact, help, helpUrl, nodes: [...]}].
    Fails (never skips) when axe-core is not installed: `make install` installs it."""
    if not AXE_JS.exists():
        pytest.fail(
            f"{AXE_JS} is missing: run `make install` (it runs "
            "`npm ci --prefix tests/browser`; npm comes with `make system-deps`)"
        )
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("ctx => axe.run(ctx || document, {resultTypes: ['violations']})", context)
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe_violations(violations: list[dict]) -> str:
    """One paragraph per violation with the offending elements, for a failing assert."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            lines.append(
                f"    {' '.join(map(str, node['target']))}: "
                f"{node.get('failureSummary', '').replace(chr(10), ' ')[:300]}"
            )
    return "\n".join(lines)
