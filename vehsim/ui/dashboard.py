"""The live dashboard: instrument cluster, controls and rolling charts over one telemetry source.

The dashboard never blocks the kernel. A task on the kernel's asyncio loop polls the source
about 30 times a second and pushes the latest reading into the widgets; the control panel's
callbacks only hand commands to the source. The task idles while no view of the dashboard is
on screen (views send heartbeats), so a closed browser tab lets Voila cull the kernel.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import ipywidgets as w

from vehsim.errors import VehsimError
from vehsim.ui.controls import Controls
from vehsim.ui.readings import LAMPS, warning_lights
from vehsim.ui.sources import LocalSource, Sample, TelemetrySource
from vehsim.ui.widgets import Dial, GearIndicator, RollingChart, StatusBar, WarningLights

log = logging.getLogger(__name__)

#: Lanes of the rolling chart: payload field, label, unit, colour, axis range, decimals.
CHART_SERIES = [
    dict(key=key, label=label, unit=unit, color=color, min=lo, max=hi, decimals=decimals)
    for key, label, unit, color, lo, hi, decimals in [
        ("vehicle_speed_kph", "Speed", "km/h", "#4cc2ff", 0, 200, 1),
        ("engine_rpm", "Engine speed", "rpm", "#ff6a3d", 0, 7000, 0),
        ("throttle_pct", "Throttle", "%", "#38d39f", 0, 100, 0),
        ("coolant_temp_c", "Coolant", "°C", "#ffb020", 0, 130, 1),
    ]
]


class InstrumentCluster:
    """Four dials (engine speed, road speed, coolant, fuel), a gear indicator and warning lights."""

    def __init__(
        self, redline_rpm: float = 6000.0, max_rpm: float = 7000.0, max_speed_kph: float = 240.0
    ):
        self.rpm = Dial(
            label="Engine speed",
            unit="rpm",
            min=0,
            max=max_rpm,
            major_step=1000,
            minor_step=500,
            tick_label_scale=1000,
            zones=[[redline_rpm, max_rpm, "alarm"]],
            size_px=230,
        )
        self.rpm.add_class("vehsim-gauge-rpm")
        self.speed = Dial(
            label="Speed",
            unit="km/h",
            min=0,
            max=max_speed_kph,
            major_step=40,
            minor_step=10,
            size_px=230,
        )
        self.speed.add_class("vehsim-gauge-speed")
        self.coolant = Dial(
            label="Coolant",
            unit="°C",
            min=10,
            max=130,
            major_step=30,
            minor_step=10,
            decimals=0,
            zones=[[10, 60, "cold"], [105, 110, "warn"], [110, 130, "alarm"]],
            size_px=160,
        )
        self.coolant.add_class("vehsim-gauge-coolant")
        self.fuel = Dial(
            label="Fuel",
            unit="%",
            min=0,
            max=100,
            major_step=25,
            minor_step=12.5,
            decimals=0,
            zones=[[0, 10, "alarm"], [10, 20, "warn"]],
            size_px=160,
        )
        self.fuel.add_class("vehsim-gauge-fuel")
        self.gear = GearIndicator()
        self.gear.add_class("vehsim-gear-indicator")
        self.lights = WarningLights(lamps=LAMPS)
        self.lights.add_class("vehsim-warning-lights")
        center = w.VBox(
            [self.gear, self.lights],
            layout=w.Layout(align_items="center", justify_content="center", padding="0 6px"),
        )
        center.add_class("vehsim-cluster-center")
        self.widget = w.HBox(
            [self.coolant, self.rpm, center, self.speed, self.fuel],
            layout=w.Layout(justify_content="space-around", align_items="center", width="100%"),
        )
        self.widget.add_class("vehsim-cluster")
        self.widget.add_class("vehsim-panel")

    def show(self, payload: Mapping[str, Any]) -> None:
        """Display one ``simulation.raw`` payload."""
        self.rpm.show(_num(payload, "engine_rpm"))
        self.speed.show(_num(payload, "vehicle_speed_kph"))
        self.coolant.show(_num(payload, "coolant_temp_c"))
        self.fuel.show(_num(payload, "fuel_level_pct"))
        lit = warning_lights(payload)
        self.coolant.alarm = "overheat" in lit
        self.fuel.alarm = "low_fuel" in lit
        self.lights.show(lit)
        engine_on = bool(payload.get("engine_on"))
        gear = int(_num(payload, "gear"))
        if (self.gear.gear, self.gear.engine_on) != (gear, engine_on):
            self.gear.gear, self.gear.engine_on = gear, engine_on
        mode = payload.get("gear_mode")
        if isinstance(mode, str) and mode != self.gear.mode:
            self.gear.mode = mode


class Dashboard:
    """Cluster, controls and chart bound to a telemetry source, animated on the kernel's loop.

    Args:
        source: a :class:`LocalSource` or :class:`ConnectedSource`; chosen by
            :func:`vehsim.ui.open_source` (from the configuration) when omitted.
        vehicle: parameter set simulated in local mode when ``source`` is omitted (default:
            the first shipped vehicle).
        rate_hz: widget updates per second.
        chart_window_s: how much history the rolling chart shows [s].
        chart_rate_hz: chart samples per simulated second.
        unwatched_after_s: pause the updates when no view sent a heartbeat for this long;
            ``None`` keeps updating regardless (scripts, tests).
        autostart: start the update task on the running loop right away.
    """

    def __init__(
        self,
        source: TelemetrySource | None = None,
        *,
        vehicle: str | None = None,
        title: str = "vehsim · live vehicle",
        rate_hz: float = 30.0,
        chart_window_s: float = 180.0,
        chart_rate_hz: float = 10.0,
        unwatched_after_s: float | None = 5.0,
        autostart: bool = True,
    ):
        if source is None:
            from vehsim.ui.mode import open_source

            source = open_source(vehicle=vehicle)
        self.source = source
        self.rate_hz = rate_hz
        self.chart_period_s = 1.0 / chart_rate_hz
        self.unwatched_after_s = unwatched_after_s
        self.latest: Sample | None = None
        self._last_chart_t_s = float("-inf")
        self._last_heartbeat_s = float("-inf")
        self._task: asyncio.Task | None = None
        self.updates = 0

        self.status = StatusBar(title=title, mode=source.mode, mode_detail=source.describe())
        self.status.message = source.describe()
        self.status.on_msg(self._on_status_message)
        hints = getattr(source, "cluster_hints", dict)()
        redline_rpm = float(hints.get("redline_rpm", 6000.0))
        self.cluster = InstrumentCluster(
            redline_rpm=redline_rpm, max_rpm=1000.0 * math.ceil((redline_rpm + 500.0) / 1000.0)
        )
        self.cluster.gear.gearbox = str(hints.get("gearbox", ""))
        self.controls = Controls(
            self._on_user_command,
            max_gear=int(hints.get("max_gear", 6)),
            on_vehicle=self._on_vehicle_choice,
            stepped_gears=hints.get("gearbox") != "cvt",
        )
        self.chart = RollingChart(CHART_SERIES, window_s=chart_window_s)
        chart_title = w.HTML(f"Last {chart_window_s / 60:g} minutes")
        chart_title.add_class("vehsim-section-title")
        chart_panel = w.VBox([chart_title, self.chart], layout=w.Layout(width="100%"))
        chart_panel.add_class("vehsim-panel")
        self.widget = w.VBox(
            [self.status, self.cluster.widget, self.controls.widget, chart_panel],
            layout=w.Layout(width="100%"),
        )
        self.widget.add_class("vehsim-dashboard")
        self.widget.add_class(f"vehsim-mode-{source.mode}")
        if autostart:
            self.start()

    # -- notebook display -------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- commands ---------------------------------------------------------------------------
    def command(self, command: Mapping[str, Any]) -> None:
        """Issue a driver command from code; the controls move to match it.

        Raises:
            CommandError: the command is malformed or out of range (nothing is sent).
        """
        self.source.send(command)
        self.controls.reflect(command)
        self._note_gear_mode(command)

    def _on_user_command(self, command: Mapping[str, Any]) -> None:
        try:
            self.source.send(command)
        except VehsimError as exc:
            self.status.message = f"Command refused: {exc}"
            return
        self._note_gear_mode(command)

    def _on_vehicle_choice(self, vehicle_id: str) -> None:
        follow = getattr(self.source, "follow", None)
        if follow is not None:
            follow(vehicle_id)
            self.chart.reset()
            self._last_chart_t_s = float("-inf")
            self.status.mode_detail = self.source.describe()

    def _note_gear_mode(self, command: Mapping[str, Any]) -> None:
        # Telemetry may not carry the gearbox mode; the indicator then shows the last one set.
        if command.get("type") == "gear_mode" and command.get("value") in ("auto", "manual"):
            self.cluster.gear.mode = str(command["value"])

    # -- updates ----------------------------------------------------------------------------
    def show(self, sample: Sample) -> None:
        """Push one reading into every widget."""
        self.latest = sample
        self.cluster.show(sample.payload)
        self.controls.show_state(sample.payload)
        self.status.sim_time_s = round(sample.sim_time_s, 1)
        self._chart(sample)
        self.updates += 1

    def _chart(self, sample: Sample) -> None:
        t_s = sample.sim_time_s
        if t_s - self._last_chart_t_s >= self.chart_period_s - 1e-6 or t_s < self._last_chart_t_s:
            self._last_chart_t_s = t_s
            self.chart.append(t_s, sample.payload)

    def tick(self, now_s: float | None = None) -> bool:
        """Poll the source once and show what arrived; True when something was shown."""
        samples = self.source.poll(time.monotonic() if now_s is None else now_s)
        for note in self.source.notices():
            self.status.message = note
        seen = getattr(self.source, "vehicles_seen", None)
        if seen:
            self.controls.offer_vehicles(list(seen), getattr(self.source, "vehicle_id", None))
        if not samples:
            return False
        for sample in samples[:-1]:  # the gauges only need the newest; the chart keeps all
            self._chart(sample)
        self.show(samples[-1])
        return True

    def run_for(self, duration_s: float, sample_every_s: float = 0.1) -> Sample:
        """Simulate ``duration_s`` seconds at once (local mode), updating gauges and chart.

        For scripted notebooks: the call returns when the simulated time has passed.
        """
        if not isinstance(self.source, LocalSource):
            raise VehsimError("run_for needs local mode; in connected mode the car runs elsewhere")
        remaining = duration_s
        while remaining > 1e-9:
            step = min(sample_every_s, remaining)
            self.show(self.source.advance(step))
            remaining -= step
        self.chart.flush()
        return self.latest  # type: ignore[return-value]

    def history_frame(self):
        """The chart's history as a pandas DataFrame: ``sim_time_s`` and one column per lane."""
        import pandas as pd

        rows = [{"sim_time_s": t, **values} for t, values in self.chart.history]
        columns = ["sim_time_s", *(s["key"] for s in self.chart.series)]
        return pd.DataFrame(rows, columns=columns)

    @property
    def watched(self) -> bool:
        if self.unwatched_after_s is None:
            return True
        return time.monotonic() - self._last_heartbeat_s < self.unwatched_after_s

    def _on_status_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "heartbeat":
            self._last_heartbeat_s = time.monotonic()

    def start(self) -> None:
        """Start updating on the kernel's running asyncio loop (no-op when already running)."""
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop()
        self._task = loop.create_task(self._run())

    def stop(self) -> None:
        """Stop updating and release the source (broker connections, threads)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.source.close()

    async def _run(self) -> None:
        period_s = 1.0 / self.rate_hz
        next_s = time.monotonic()
        last_flush_s = next_s
        was_watched = False
        while True:
            now_s = time.monotonic()
            if self.watched:
                was_watched = True
                try:
                    self.tick(now_s)
                    if now_s - last_flush_s >= 0.2:
                        self.chart.flush()
                        last_flush_s = now_s
                except VehsimError as exc:
                    self.status.message = str(exc)
                except Exception:  # keep the dashboard alive; the log says what broke
                    log.exception("dashboard update failed")
            elif was_watched:
                was_watched = False
                pause = getattr(self.source, "pause", None)
                if pause is not None:
                    pause()
            next_s += period_s
            delay_s = next_s - time.monotonic()
            if delay_s < 0:
                next_s = time.monotonic()
                delay_s = 0
            await asyncio.sleep(delay_s if was_watched else max(delay_s, 0.25))


def _num(payload: Mapping[str, Any], key: str) -> float:
    value = payload.get(key)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0
