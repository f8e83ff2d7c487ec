"""Helpers for the browser tests: Debian's headless Chromium driven by Playwright."""
