"""Dashboard responsiveness measured in a real browser, in local and connected mode.

For each mode this starts what the dashboard needs (connected: the embedded broker and
``vehsim drive --vehicle compact-suv --driver commands --rate-hz 30``), serves ``notebooks/dashboard.ipynb`` with
Voila, opens it in Chromium and measures, inside the page:

- gauge update rate: animation frames per second in which a dial (needle or readout) changed,
  while the car accelerates hard (80 % throttle; target >= 20 Hz), next to the browser's own frame rate in the
  same window (the ceiling) and the RPM dial alone;
- throttle-to-RPM delay: from the key press that moves the throttle slider (0 -> 100 %) at idle
  to the first frame where the RPM readout has moved 50 rpm (target <= 250 ms), median and
  90th percentile over several presses.

Usage: python benchmarks/bench_ui.py [--modes local,connected] [--presses 8] [--window-s 5]
Prints one line per measurement and a JSON summary as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The car in both modes: an 8-speed automatic (the dashboard notebook's default).
VEHICLE = "compact-suv"
TARGET_RATE_HZ = 20.0
TARGET_DELAY_MS = 250.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Installed in the page: every change of a dial (needle or readout, with the animation frame it
# fell in) and every key press.
PROBE_JS = """
() => {
  const probe = { changes: [], keys: [], frames: 0 };
  for (const dial of document.querySelectorAll('[class*="vehsim-gauge-"]')) {
    const gauge = dial.className.match(/vehsim-gauge-(\\w+)/)[1];
    const readout = dial.querySelector('.vehsim-value');
    new MutationObserver(() =>
      probe.changes.push([performance.now(), probe.frames, gauge, parseFloat(readout.textContent)])
    ).observe(dial, {
      childList: true, characterData: true, subtree: true,
      attributes: true, attributeFilter: ['transform'],
    });
  }
  document.addEventListener('keydown', () => probe.keys.push(performance.now()), true);
  const frame = () => { probe.frames++; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  window.__vehsimProbe = probe;
}
"""
#: A throttle step counts as visible once the RPM readout moved this far from its idle value.
VISIBLE_RPM_CHANGE = 50.0


@contextmanager
def connected_stack(env: dict[str, str]):
    """Embedded broker under the private VEHSIM_HOME, and one car obeying the commands topic."""
    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker

    broker = EmbeddedBroker(load_settings(env))
    broker.start()
    log_path = Path(env["VEHSIM_HOME"]) / "drive.log"
    with log_path.open("wb") as log:
        drive = subprocess.Popen(
            [sys.executable, "-m", "vehsim.cli", "drive", "--vehicle", VEHICLE, "--driver",
             "commands", "--rate-hz", "30", "--quiet"],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield
    except Exception:
        print(f"vehsim drive said:\n{log_path.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        drive.send_signal(signal.SIGINT)
        try:
            drive.wait(20)
        except subprocess.TimeoutExpired:
            drive.kill()
            drive.wait()
        broker.stop()


def gauge(page, name: str) -> float:
    return float(page.text_content(f".vehsim-gauge-{name} .vehsim-value"))


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def measure(page, presses: int, window_s: float) -> dict[str, float]:
    page.click(".vehsim-start-engine")
    wait_for(lambda: gauge(page, "rpm") > 300, 30, "the engine to idle")
    page.wait_for_timeout(2500)  # let idle settle
    page.evaluate(PROBE_JS)
    throttle = page.locator(".vehsim-throttle .noUi-handle")
    brake = page.locator(".vehsim-brake .noUi-handle")

    # Refresh rate while accelerating hard (80 %), after the launch (converter stall holds
    # the RPM at first).
    throttle.focus()
    for _ in range(16):
        page.keyboard.press("PageUp")
    page.wait_for_timeout(1500)
    t0, f0 = page.evaluate("() => [performance.now(), window.__vehsimProbe.frames]")
    page.wait_for_timeout(int(window_s * 1000))
    t1, f1 = page.evaluate("() => [performance.now(), window.__vehsimProbe.frames]")
    changes = page.evaluate("() => window.__vehsimProbe.changes")
    window = [c for c in changes if t0 <= c[0] <= t1]
    span_s = (t1 - t0) / 1000
    refresh_hz = len({c[1] for c in window}) / span_s
    rpm_hz = len({c[1] for c in window if c[2] == "rpm"}) / span_s
    frame_hz = (f1 - f0) / span_s

    def to_standstill() -> None:
        throttle.focus()
        page.keyboard.press("Home")
        brake.focus()
        page.keyboard.press("End")
        wait_for(lambda: gauge(page, "speed") == 0, 60, "the car to stop")
        page.keyboard.press("Home")
        throttle.focus()

    to_standstill()

    # Delay: from a throttle key press at idle to the first visible move of the RPM readout.
    delays_ms = []
    for _ in range(presses):
        page.wait_for_timeout(2500)
        idle = gauge(page, "rpm")
        page.keyboard.press("End")
        page.wait_for_timeout(1000)
        key_ms = page.evaluate("() => window.__vehsimProbe.keys.at(-1)")
        moved = page.evaluate(
            "([t, idle, d]) => window.__vehsimProbe.changes.filter("
            "c => c[2] === 'rpm' && c[0] >= t && Math.abs(c[3] - idle) >= d).map(c => c[0])",
            [key_ms, idle, VISIBLE_RPM_CHANGE],
        )
        if moved:
            delays_ms.append(moved[0] - key_ms)
        to_standstill()
    page.click(".vehsim-stop-engine")
    delays_ms.sort()
    return {
        "gauge_refresh_hz": round(refresh_hz, 1),
        "rpm_dial_hz": round(rpm_hz, 1),
        "browser_frame_hz": round(frame_hz, 1),
        "delay_median_ms": round(statistics.median(delays_ms), 1) if delays_ms else None,
        "delay_p90_ms": round(delays_ms[int(0.9 * (len(delays_ms) - 1))], 1) if delays_ms else None,
        "delay_samples": len(delays_ms),
    }


def run_mode(mode: str, presses: int, window_s: float, browser) -> dict[str, float]:
    from vehsim.ui.server import DashboardServer

    with (
        tempfile.TemporaryDirectory(prefix=f"vehsim-bench-ui-{mode}-") as home,
        ExitStack() as stack,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
        env["VEHSIM_HOME"] = home
        if mode == "connected":
            stack.enter_context(connected_stack(env))
        server = stack.enter_context(
            DashboardServer(env=env, notebook=REPO / "notebooks" / "dashboard.ipynb",
                            log_path=Path(home) / "voila.log")
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            page.goto(server.url)
            page.wait_for_selector(".vehsim-gauge-rpm .vehsim-value", timeout=120_000)
            badge = page.text_content(".vehsim-mode-badge").strip().lower()
            if badge != mode:
                raise RuntimeError(f"dashboard shows mode {badge!r}, expected {mode!r}")
            if mode == "connected":
                wait_for(
                    lambda: "following vehicle" in page.text_content(".vehsim-status-subtitle"),
                    60, "telemetry from the runtime",
                )  # fmt: skip
            return measure(page, presses, window_s)
        finally:
            page.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="local,connected")
    parser.add_argument("--presses", type=int, default=8, help="throttle presses per mode")
    parser.add_argument("--window-s", type=float, default=5.0, help="update-rate window [s]")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("bench_ui: needs Chromium (Debian package 'chromium')", file=sys.stderr)
        return 2
    results: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            for mode in args.modes.split(","):
                r = run_mode(mode, args.presses, args.window_s, browser)
                results[mode] = r
                rate_ratio = r["gauge_refresh_hz"] / TARGET_RATE_HZ
                print(
                    f"{mode:9s} gauge update rate {r['gauge_refresh_hz']:5.1f} Hz "
                    f"(RPM dial alone {r['rpm_dial_hz']:.1f} Hz; browser frames "
                    f"{r['browser_frame_hz']:.0f} Hz; {rate_ratio:.2f}x the "
                    f"{TARGET_RATE_HZ:.0f} Hz target)"
                )
                if r["delay_median_ms"] is not None:
                    print(
                        f"{mode:9s} throttle-to-RPM delay median {r['delay_median_ms']:.0f} ms, "
                        f"p90 {r['delay_p90_ms']:.0f} ms over {r['delay_samples']} presses "
                        f"(target <= {TARGET_DELAY_MS:.0f} ms: "
                        f"{r['delay_median_ms'] / TARGET_DELAY_MS:.2f}x of the budget)"
                    )
        finally:
            browser.close()
    summary = {
        "benchmark": "ui",
        "targets": {"gauge_rate_hz_min": TARGET_RATE_HZ, "delay_ms_max": TARGET_DELAY_MS},
        **results,
        "meets_targets": all(
            r["gauge_refresh_hz"] >= TARGET_RATE_HZ
            and r["delay_median_ms"] is not None
            and r["delay_median_ms"] <= TARGET_DELAY_MS
            for r in results.values()
        ),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
