"""Launching Debian's Chromium (`make system-deps`) with Playwright's sync API, and saving
screenshots under test-output/screenshots/."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-output" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]

PHONE = {"width": 390, "height": 844}   # an ordinary phone screen, CSS pixels
DESKTOP = {"width": 1280, "height": 900}


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make system-deps` (as root) to install Debian's "
                    "chromium for the browser tests")
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
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "server",
                             "create-user", username, "--role", role],
                            input=password + "\n", text=True, capture_output=True,
                            cwd=ROOT, env=stack.env(), timeout=120)
    if result.returncode != 0 and "exists" not in result.stderr:
        raise RuntimeError(f"create-user failed: {result.stderr[-2000:]}")


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()
