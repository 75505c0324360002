"""Helpers for the browser tests: Debian Chromium through Playwright, reading the gauges."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("needs Chromium (Debian package 'chromium'; make system-deps)")
    return path


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


def offline_only(page, blocked: list[str], failed: list[str] | None = None) -> None:
    """Refuse every request that does not go to the dashboard on 127.0.0.1 (record it in
    ``blocked``); record in ``failed`` every request that failed (blocked ones included) or
    was answered with an HTTP error."""

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.route("**/*", route)
    if failed is not None:
        page.on("requestfailed", lambda request: failed.append(f"failed: {request.url}"))
        page.on(
            "response",
            lambda response: (
                failed.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )


#: How long a dashboard may take to render. Voila answers the page only once its kernel has
#: started and run the notebook, which takes seconds on an idle machine and has taken over
#: 30 s (Playwright's default navigation timeout) on a loaded two-core one.
DASHBOARD_LOAD_TIMEOUT_MS = 120_000


def open_dashboard(page, url: str) -> None:
    """Navigate to the dashboard at ``url`` and wait for its engine speed dial to show."""
    page.goto(url, timeout=DASHBOARD_LOAD_TIMEOUT_MS)
    page.wait_for_selector(".vehsim-gauge-rpm .vehsim-value", timeout=DASHBOARD_LOAD_TIMEOUT_MS)


def gauge(page, name: str) -> float:
    """The number shown by gauge ``name`` (rpm, speed, coolant, fuel)."""
    return float(page.text_content(f".vehsim-gauge-{name} .vehsim-value"))


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
