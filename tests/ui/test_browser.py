"""The dashboard in a real browser: Voila serves notebooks/dashboard.ipynb, Chromium drives it.

Pick a second car and find its spec sheet, start the engine, raise the throttle, see engine speed,
road speed, consumption and the trip distance rise, find the dials and the chart's labels equal
in every frame, brake, stop the engine. Only 127.0.0.1 is reachable from the page, and no request
may be refused or fail, so everything shown renders offline.
Screenshots land in ``artifacts/``.
"""

from __future__ import annotations

import os

import pytest

from .browser import ARTIFACTS, gauge, launch, offline_only, open_dashboard, wait_for

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


@pytest.fixture
def page(browser, request):
    """A page of the browser; on failure its screenshot goes to ``artifacts/<test>-failed.png``."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failed.png"), full_page=True)
    page.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


#: Reads the speed dial and the speed lane's label (and the engine speed pair) in one
#: animation frame, for ``frames`` frames in a row: what a screenshot of each frame would show.
SAME_FRAME_JS = """
async (frames) => {
  const text = (sel) => document.querySelector(sel)?.textContent?.trim();
  const pairs = [];
  for (let i = 0; i < frames; i++) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    pairs.push({
      speed_dial: text(".vehsim-gauge-speed .vehsim-value"),
      speed_label: text('.vehsim-chart-label[data-key="vehicle_speed_kph"] .vehsim-chart-value'),
      rpm_dial: text(".vehsim-gauge-rpm .vehsim-value"),
      rpm_label: text('.vehsim-chart-label[data-key="engine_rpm"] .vehsim-chart-value'),
    });
  }
  return pairs;
}
"""


def number(page, selector: str) -> float:
    return float(page.text_content(selector))


def test_drive_the_car_from_the_dashboard(local_dashboard, page):
    from vehsim.params import load_vehicle
    from vehsim.ui.vehicles import spec_sheet

    blocked: list[str] = []
    failed: list[str] = []
    offline_only(page, blocked, failed)
    page.set_viewport_size({"width": 1280, "height": 1500})  # the whole cluster in one screenshot
    open_dashboard(page, local_dashboard.url)
    assert page.text_content(".vehsim-mode-badge").strip() == "LOCAL"
    for name in ("rpm", "speed", "coolant", "fuel"):
        assert page.is_visible(f".vehsim-gauge-{name} .vehsim-value")
    for hook in (
        ".vehsim-readout-consumption",
        ".vehsim-trip",
        ".vehsim-wear-panel",
        ".vehsim-spec",
    ):
        assert page.is_visible(hook), hook
    # the clock moves once the kernel has compiled the simulation (~25 s on first use, more on
    # a loaded machine) and runs it
    clock = ".vehsim-status-clock"
    wait_for(lambda: page.text_content(clock) not in ("", "0:00.0"), 240, "the simulation")
    assert "compact-suv" in page.text_content(".vehsim-spec")

    # a second car, from the picker: its spec sheet replaces the first one's
    page.select_option(".vehsim-vehicle-picker select", label="pickup-v8")
    wait_for(
        lambda: page.text_content(".vehsim-spec .vehsim-spec-name").strip() == "pickup-v8",
        30,
        "the picked car's spec sheet",
    )
    spec = spec_sheet(load_vehicle("pickup-v8"))
    for key, _label, value, _unit in spec.lines():
        assert page.text_content(f".vehsim-spec-{key} .vehsim-value").strip() == value, key
    assert page.text_content(".vehsim-status-subtitle") == "simulated in this kernel: pickup-v8"
    assert gauge(page, "rpm") == 0 and gauge(page, "speed") == 0

    page.click(".vehsim-start-engine")
    wait_for(lambda: page.is_enabled(".vehsim-stop-engine"), 45, "the engine to start")
    wait_for(lambda: gauge(page, "rpm") > 300, 45, "idle engine speed")
    idle_rpm = gauge(page, "rpm")
    assert page.text_content(".vehsim-readout-consumption .vehsim-readout-unit") == "L/h"

    throttle = page.locator(".vehsim-throttle .noUi-handle")
    throttle.focus()
    for _ in range(5):  # the slider answers the keyboard: 5 x PageUp = 25 %
        page.keyboard.press("PageUp")
    wait_for(lambda: gauge(page, "rpm") > idle_rpm + 300, 20, "engine speed to rise")
    wait_for(lambda: gauge(page, "speed") > 20, 30, "road speed to rise")
    consumption = ".vehsim-readout-consumption .vehsim-value"
    assert page.text_content(".vehsim-readout-consumption .vehsim-readout-unit") == "L/100 km"
    trip = ".vehsim-trip-distance .vehsim-value"
    cruising = number(page, consumption)
    distance = number(page, trip)

    for _ in range(10):  # 75 %: more fuel per km than cruising at 25 %
        page.keyboard.press("PageUp")
    wait_for(lambda: number(page, consumption) > 1.2 * cruising, 10, "consumption to rise")
    wait_for(lambda: number(page, trip) > distance, 20, "the trip distance to grow")

    # one reading per quantity: dial and chart label agree in every frame while accelerating
    frames = page.evaluate(SAME_FRAME_JS, 45)
    for frame in frames:
        assert frame["speed_dial"] == frame["speed_label"], frame
        assert frame["rpm_dial"] == frame["rpm_label"], frame
    assert len({f["speed_dial"] for f in frames}) > 1  # the car was moving while we looked

    page.wait_for_timeout(3000)  # a few seconds of driving on the chart
    ARTIFACTS.mkdir(exist_ok=True)
    box = page.locator(".vehsim-dashboard").bounding_box()  # the README's screenshot
    margin = 16
    clip = {
        "x": max(0.0, box["x"] - margin),
        "y": max(0.0, box["y"] - margin),
        "width": box["width"] + 2 * margin,
        "height": box["height"] + 2 * margin,
    }
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), clip=clip)
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
    # nothing asked of another host (Voila's CDN links are gone), nothing failed or refused
    assert blocked == [], blocked
    assert failed == [], failed


@pytest.fixture(scope="module")
def connected_dashboard(kafka_broker, tmp_path_factory):
    """A car obeying the commands topic (``vehsim drive``) and the dashboard following it."""
    import dataclasses
    import signal
    import subprocess
    import sys
    import uuid

    from vehsim.stream.broker import ensure_topics
    from vehsim.ui.server import DashboardServer

    prefix = f"ui-browser-{uuid.uuid4().hex[:8]}."
    ensure_topics(
        dataclasses.replace(kafka_broker.settings, topic_prefix=prefix), kafka_broker.bootstrap
    )
    home = tmp_path_factory.mktemp("ui-connected-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env.update(
        VEHSIM_HOME=str(home),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=prefix,
    )
    drive = subprocess.Popen(
        [sys.executable, "-m", "vehsim.cli", "drive", "--vehicle", "compact-suv", "--driver", "commands",
         "--rate-hz", "20", "--quiet"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with DashboardServer(env=env, log_path=home / "voila.log") as server:
            yield server
    finally:
        drive.send_signal(signal.SIGINT)
        try:
            drive.wait(30)
        except subprocess.TimeoutExpired:
            drive.kill()
            drive.wait()


def test_connected_dashboard_commands_a_car_through_kafka(connected_dashboard, page):
    blocked: list[str] = []
    failed: list[str] = []
    offline_only(page, blocked, failed)
    open_dashboard(page, connected_dashboard.url)
    assert page.text_content(".vehsim-mode-badge").strip() == "CONNECTED"
    wait_for(
        lambda: "following vehicle" in page.text_content(".vehsim-status-subtitle"),
        60,
        "telemetry from the car",
    )
    page.click(".vehsim-start-engine")
    wait_for(lambda: gauge(page, "rpm") > 300, 30, "the engine to start through Kafka")
    throttle = page.locator(".vehsim-throttle .noUi-handle")
    throttle.focus()
    for _ in range(10):
        page.keyboard.press("PageUp")
    wait_for(lambda: gauge(page, "speed") > 10, 30, "road speed to rise")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-connected.png"), full_page=True)
    throttle.focus()
    page.keyboard.press("Home")
    page.click(".vehsim-stop-engine")
    wait_for(lambda: gauge(page, "rpm") == 0, 30, "the engine to stop")
    assert blocked == [] and failed == [], (blocked, failed)


def test_a_closed_dashboard_lets_its_kernel_be_culled(browser, tmp_path):
    """The page's heartbeats keep its kernel busy; once the tab closes the kernel goes idle."""
    psutil = pytest.importorskip("psutil")
    from vehsim.ui.server import DashboardServer

    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(tmp_path)
    server = DashboardServer(
        env=env, log_path=tmp_path / "voila.log", cull_idle_timeout_s=8, cull_interval_s=2
    )

    def kernels():
        alive = []
        for process in psutil.Process(server.proc.pid).children(recursive=True):
            try:
                if process.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(
                    process.cmdline()
                ):
                    alive.append(process)
            except psutil.Error:  # exited while we looked
                pass
        return alive

    with server:
        page = browser.new_page()
        open_dashboard(page, server.url)
        page.click(".vehsim-start-engine")
        page.wait_for_timeout(12_000)  # longer than the idle timeout: watched, so not culled
        assert len(kernels()) == 1
        page.close()
        wait_for(lambda: not kernels(), 120, "the closed page's kernel to be culled")
