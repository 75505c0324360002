"""The dashboard in a real browser: Voila serves notebooks/dashboard.ipynb, Chromium drives it.

Start the engine, raise the throttle, see engine speed and road speed rise on the gauges, brake,
stop the engine. Only 127.0.0.1 is reachable from the page, so everything shown renders offline.
Screenshots land in ``artifacts/``.
"""

from __future__ import annotations

import os

import pytest

from .browser import ARTIFACTS, gauge, launch, offline_only, wait_for

pytestmark = pytest.mark.integration

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the [dev] extra)")


@pytest.fixture(scope="module")
def local_dashboard(tmp_path_factory):
    """``vehsim dashboard``'s server on a free port, local mode (private home, no broker)."""
    from vehsim.ui.server import DashboardServer

    home = tmp_path_factory.mktemp("ui-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(home)
    with DashboardServer(env=env, log_path=home / "voila.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


def test_drive_the_car_from_the_dashboard(local_dashboard, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    blocked: list[str] = []
    offline_only(page, blocked)
    page.goto(local_dashboard.url)
    page.wait_for_selector(".vehsim-gauge-rpm .vehsim-value", timeout=90_000)
    assert page.text_content(".vehsim-mode-badge").strip() == "LOCAL"
    for name in ("rpm", "speed", "coolant", "fuel"):
        assert page.is_visible(f".vehsim-gauge-{name} .vehsim-value")
    assert gauge(page, "rpm") == 0 and gauge(page, "speed") == 0

    page.click(".vehsim-start-engine")
    wait_for(lambda: page.is_enabled(".vehsim-stop-engine"), 20, "the engine to start")
    wait_for(lambda: gauge(page, "rpm") > 300, 20, "idle engine speed")
    idle_rpm = gauge(page, "rpm")

    throttle = page.locator(".vehsim-throttle .noUi-handle")
    throttle.focus()
    for _ in range(10):  # the slider answers the keyboard: 10 x PageUp = 50 %
        page.keyboard.press("PageUp")
    wait_for(lambda: gauge(page, "rpm") > idle_rpm + 500, 20, "engine speed to rise")
    wait_for(lambda: gauge(page, "speed") > 20, 30, "road speed to rise")
    page.wait_for_timeout(4000)  # a few seconds of driving on the chart
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    fast = gauge(page, "speed")

    throttle.focus()
    page.keyboard.press("Home")
    brake = page.locator(".vehsim-brake .noUi-handle")
    brake.focus()
    for _ in range(8):
        page.keyboard.press("PageUp")
    wait_for(lambda: gauge(page, "speed") < fast - 10, 20, "the car to slow down")
    wait_for(lambda: gauge(page, "speed") < 1, 30, "the car to stop")

    page.click(".vehsim-stop-engine")
    wait_for(lambda: gauge(page, "rpm") == 0, 20, "the engine to stop")
    wait_for(lambda: page.is_enabled(".vehsim-start-engine"), 10, "start to be offered again")
    page.screenshot(path=str(ARTIFACTS / "dashboard-stopped.png"), full_page=True)
    assert all("fontawesome" in u or "font-awesome" in u for u in blocked), blocked
    page.close()
