"""The live dashboard: instrument cluster, controls and rolling charts over one telemetry source.

The dashboard never blocks the kernel. A task on the kernel's asyncio loop polls the source
about 30 times a second and pushes the latest reading into the widgets; the control panel's
callbacks only hand commands to the source. The task idles while no view of the dashboard is
on screen (views send heartbeats), so a closed browser tab lets Voila cull the kernel.

Where it is displayed, the dashboard also leaves a still picture of itself
(:mod:`vehsim.ui.snapshot`, ``image/svg+xml`` beside the widget view): what an exported notebook
shows, since a page without a kernel cannot run the widgets. :meth:`Dashboard.stop` redraws that
picture in every output that shows the dashboard, and leaves the live views visibly stopped: a
STOPPED badge and every control disabled.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets as w

from vehsim.errors import VehsimError
from vehsim.ui.controls import Controls
from vehsim.ui.dtc import NO_CODES, DiagnosticStatus, status_from_payload
from vehsim.ui.mode import open_source
from vehsim.ui.panels import advice_html, dtc_html, spec_html, trip_html, wear_html
from vehsim.ui.readings import (
    DISPLAY_DECIMALS,
    LAMPS,
    live_consumption,
    number,
    quantize,
    warning_lights,
    wear_rows,
    wear_time_scale,
)
from vehsim.ui.snapshot import DialSpec, Snapshot, dashboard_svg, format_value
from vehsim.ui.sources import ClusterHints, LocalSource, Sample, TelemetrySource
from vehsim.ui.trip import TripComputer
from vehsim.ui.widgets import (
    Dial,
    GearIndicator,
    Reading,
    Readout,
    RollingChart,
    StatusBar,
    WarningLights,
)

log = logging.getLogger(__name__)


def chart_series(max_gear: int = 6) -> list[dict[str, Any]]:
    """Lanes of the rolling chart: payload field, label, unit, colour, axis range, decimals
    (the same as the dial of that quantity: :data:`~vehsim.ui.readings.DISPLAY_DECIMALS`)."""
    lanes = [
        ("vehicle_speed_kph", "Speed", "km/h", "#4cc2ff", 0, 200, False),
        ("engine_rpm", "Engine speed", "rpm", "#ff6a3d", 0, 7000, False),
        ("gear", "Gear", "", "#c9a7ff", 0, max(1, max_gear), True),
        ("throttle_pct", "Throttle", "%", "#38d39f", 0, 100, False),
        ("coolant_temp_c", "Coolant", "°C", "#ffb020", 0, 130, False),
    ]
    return [
        dict(
            key=key,
            label=label,
            unit=unit,
            color=color,
            min=lo,
            max=hi,
            decimals=DISPLAY_DECIMALS[key],
            step=step,
        )  # fmt: skip
        for key, label, unit, color, lo, hi, step in lanes
    ]


#: The lanes for a six-speed car (the dashboard fits the gear lane to the car it shows).
CHART_SERIES = chart_series()


#: The still picture's MIME type (an SVG document).
SNAPSHOT_MIMETYPE = "image/svg+xml"


def rpm_scale_max(redline_rpm: float) -> float:
    """The engine-speed dial's end: the first thousand above redline + 500 rpm."""
    return 1000.0 * math.ceil((redline_rpm + 500.0) / 1000.0)


class InstrumentCluster:
    """Four dials (engine speed, road speed, coolant, fuel), a gear indicator and warning
    lights, all bound to one :class:`~vehsim.ui.widgets.Reading`."""

    def __init__(
        self,
        reading: Reading | None = None,
        redline_rpm: float = 6000.0,
        max_rpm: float = 7000.0,
        max_speed_kph: float = 240.0,
    ):
        self.reading = reading if reading is not None else Reading()
        bound = dict(reading=self.reading)
        self.rpm = Dial(
            **bound,
            key="engine_rpm",
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
            **bound,
            key="vehicle_speed_kph",
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
            **bound,
            key="coolant_temp_c",
            label="Coolant",
            unit="°C",
            min=10,
            max=130,
            major_step=30,
            minor_step=10,
            zones=[[10, 60, "cold"], [105, 110, "warn"], [110, 130, "alarm"]],
            size_px=160,
        )
        self.coolant.add_class("vehsim-gauge-coolant")
        self.fuel = Dial(
            **bound,
            key="fuel_level_pct",
            label="Fuel",
            unit="%",
            min=0,
            max=100,
            major_step=25,
            minor_step=12.5,
            zones=[[0, 10, "alarm"], [10, 20, "warn"]],
            size_px=160,
        )
        self.fuel.add_class("vehsim-gauge-fuel")
        for dial in self.dials:
            dial.decimals = DISPLAY_DECIMALS[dial.key]
        self.gear = GearIndicator(**bound)
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

    @property
    def dials(self) -> list[Dial]:
        return [self.rpm, self.speed, self.coolant, self.fuel]

    def resolution(self, key: str) -> float:
        """The finest step a view of ``key`` can show: its printed digit, or a needle's
        1/1000 of the scale when that is finer (needles move smoothly between digits)."""
        step = 10.0 ** -DISPLAY_DECIMALS.get(key, 0)
        for dial in self.dials:
            if dial.key == key:
                return min(step, (dial.max - dial.min) / 1000.0 or step)
        return step

    def configure(self, hints: ClusterHints) -> None:
        """Fit the scales and the gear indicator to a car."""
        top = rpm_scale_max(hints.redline_rpm)
        with self.rpm.hold_sync():
            self.rpm.max = top
            self.rpm.zones = [[hints.redline_rpm, top, "alarm"]]
        self.gear.gearbox = hints.gearbox

    def show_lamps(self, payload: Mapping[str, Any], mil_on: bool) -> None:
        """Light the lamps (and the coolant and fuel dials' alarms) for this reading."""
        lit = warning_lights(payload, mil_on=mil_on)
        if self.coolant.alarm != ("overheat" in lit):
            self.coolant.alarm = "overheat" in lit
        if self.fuel.alarm != ("low_fuel" in lit):
            self.fuel.alarm = "low_fuel" in lit
        self.lights.show(lit)
        mode = payload.get("gear_mode")
        if isinstance(mode, str) and mode != self.gear.mode:
            self.gear.mode = mode


def _html(css: str) -> w.HTML:
    widget = w.HTML()
    widget.add_class(css)
    return widget


def _section(title: str, *children: w.Widget, css: str = "", flex: str = "1 1 0") -> w.VBox:
    caption = w.HTML(title)
    caption.add_class("vehsim-section-title")
    box = w.VBox([caption, *children], layout=w.Layout(flex=flex, min_width="0"))
    box.add_class("vehsim-panel")
    if css:
        box.add_class(css)
    return box


class Dashboard:
    """Cluster, controls and chart bound to a telemetry source, animated on the kernel's loop.

    Args:
        source: a :class:`LocalSource` or :class:`ConnectedSource`; chosen by
            :func:`vehsim.ui.open_source` (from the configuration) when omitted.
        vehicle: the car simulated in local mode when ``source`` is omitted: a shipped
            vehicle's name, a vehicle file, ``VehicleParams`` or an EPA Test Car List row
            (default: the first shipped vehicle).
        vehicles: more cars for the local vehicle picker (same kinds as ``vehicle``).
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
        vehicle: Any = None,
        vehicles: Iterable[Any] = (),
        title: str = "vehsim · live vehicle",
        rate_hz: float = 30.0,
        chart_window_s: float = 180.0,
        chart_rate_hz: float = 10.0,
        unwatched_after_s: float | None = 5.0,
        autostart: bool = True,
    ):
        if source is None:
            source = open_source(vehicle=vehicle, vehicles=vehicles)
        self.source = source
        self.rate_hz = rate_hz
        self.chart_period_s = 1.0 / chart_rate_hz
        self.unwatched_after_s = unwatched_after_s
        self.latest: Sample | None = None
        self.trip = TripComputer()
        self.diagnostic_status: DiagnosticStatus = NO_CODES
        self._last_chart_t_s = float("-inf")
        self._last_heartbeat_s = float("-inf")
        self._task: asyncio.Task | None = None
        self._shown_vehicle: tuple[str, Any] | None = None
        self._displays: list[Any] = []  # IPython display handles of the outputs showing it
        self.stopped = False
        self.updates = 0

        self.status = StatusBar(title=title, mode=source.mode, mode_detail=source.describe())
        self.status.message = source.describe()
        self.status.on_msg(self._on_status_message)
        self.hints = source.cluster_hints()

        #: The reading on screen: every dial, readout and chart label shows its values.
        self.reading = Reading()
        self.picker = w.Dropdown(options=[], layout=w.Layout(width="220px"))
        self.picker.add_class("vehsim-vehicle-picker")
        self.picker.add_class("vehsim-vehicle")
        self._picking = False
        self.picker.observe(self._on_vehicle_choice, names="value")
        self.spec = _html("vehsim-spec")
        self._picker_box = w.VBox([self.picker], layout=w.Layout(flex="0 0 auto"))
        self._picker_box.add_class("vehsim-picker-box")
        self.header = w.HBox(
            [self._picker_box, self.spec], layout=w.Layout(align_items="center", width="100%")
        )
        self.header.add_class("vehsim-header")
        self.header.add_class("vehsim-panel")

        self.cluster = InstrumentCluster(
            self.reading,
            redline_rpm=self.hints.redline_rpm,
            max_rpm=rpm_scale_max(self.hints.redline_rpm),
        )
        self.consumption = Readout(
            reading=self.reading,
            key="consumption",
            unit_key="consumption_unit",
            label="Consumption",
            unit="L/h",
            decimals=DISPLAY_DECIMALS["consumption"],
        )
        self.consumption.add_class("vehsim-readout-consumption")
        self.trip_panel = _html("vehsim-trip-figures")
        self.trip_reset = w.Button(description="Reset trip", layout=w.Layout(width="110px"))
        self.trip_reset.add_class("vehsim-trip-reset")
        self.trip_reset.on_click(lambda _b: self.reset_trip())
        self.wear_panel = _html("vehsim-wear-figures")
        self.dtc_panel = _html("vehsim-dtc-list")
        self.advice_panel = _html("vehsim-advice-rows")
        info = w.HBox(
            [
                _section("Now", self.consumption, css="vehsim-now", flex="0 0 190px"),
                _section("Trip", self.trip_panel, self.trip_reset, css="vehsim-trip"),
                _section("Wear", self.wear_panel, css="vehsim-wear-panel"),
                _section("Diagnostics", self.dtc_panel, css="vehsim-dtc"),
                _section("Diagnosis and coaching", self.advice_panel, css="vehsim-advice"),
            ],
            layout=w.Layout(width="100%"),
        )
        info.add_class("vehsim-info")
        self.controls = Controls(
            self._on_user_command,
            max_gear=self.hints.max_gear,
            stepped_gears=self.hints.gearbox != "cvt",
        )
        self.chart = RollingChart(
            chart_series(self.hints.max_gear),
            window_s=chart_window_s,
            reading=self.reading,
            lane_px=66,
        )
        chart_title = w.HTML(f"Last {chart_window_s / 60:g} minutes")
        chart_title.add_class("vehsim-section-title")
        chart_panel = w.VBox([chart_title, self.chart], layout=w.Layout(width="100%"))
        chart_panel.add_class("vehsim-panel")
        self.widget = w.VBox(
            [
                self.status,
                self.header,
                self.cluster.widget,
                info,
                self.controls.widget,
                chart_panel,
            ],
            layout=w.Layout(width="100%"),
        )
        self.widget.add_class("vehsim-dashboard")
        self.widget.add_class(f"vehsim-mode-{source.mode}")
        self._configure(self.hints)
        self._offer_vehicles()
        self._show_panels(None)
        if autostart:
            self.start()

    # -- notebook display -------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        """The widget view, and the still picture for front ends without widgets."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle[SNAPSHOT_MIMETYPE] = dashboard_svg(self.snapshot())
        return bundle

    def _ipython_display_(self) -> None:
        # Shown through a display handle, so that stop() can redraw the picture in place.
        from IPython.display import display

        handle = display(self._repr_mimebundle_(), raw=True, display_id=True)
        if handle is not None:
            self._displays.append(handle)

    def snapshot(self) -> Snapshot:
        """What the still picture shows: title bar, dials, readouts and the chart's history."""
        values = self.reading.values
        consumption = format_value(values.get("consumption"), DISPLAY_DECIMALS["consumption"])
        figures = self.trip.figures
        readouts = [
            ("Consumption", consumption, str(values.get("consumption_unit", ""))),
            ("Throttle", format_value(values.get("throttle_pct"), 0), "%"),
        ]
        if figures is not None:
            readouts.append(("Trip", format_value(figures.distance_km, 2), "km"))
        gear = values.get("gear")
        return Snapshot(
            title=self.status.title,
            subtitle=self.status.message,
            badge="STOPPED" if self.stopped else self.source.mode.upper(),
            sim_time_s=self.status.sim_time_s,
            dials=[
                DialSpec(
                    key=d.key,
                    label=d.label,
                    unit=d.unit,
                    min=d.min,
                    max=d.max,
                    major_step=d.major_step,
                    decimals=d.decimals,
                    zones=[tuple(z) for z in d.zones],
                    tick_label_scale=d.tick_label_scale,
                    radius_px=0.35 * d.size_px,
                )
                for d in (
                    self.cluster.coolant,
                    self.cluster.rpm,
                    self.cluster.speed,
                    self.cluster.fuel,
                )
            ],
            values=dict(values),
            gear_text=str(gear) if isinstance(gear, int) and gear > 0 else "N",
            readouts=readouts,
            lanes=list(self.chart.series),
            history=self.chart.history,
            window_s=self.chart.window_s,
        )

    # -- commands ---------------------------------------------------------------------------
    def command(self, command: Mapping[str, Any]) -> None:
        """Issue a driver command from code; the controls move to match it.

        Raises:
            CommandError: the command is malformed or out of range (nothing is sent).
            VehsimError: the dashboard is stopped.
        """
        self._check_running()
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

    def _on_vehicle_choice(self, change) -> None:
        if self._picking or not change["new"]:
            return
        self.pick_vehicle(change["new"])

    def pick_vehicle(self, vehicle_id: str) -> None:
        """Show (and, in local mode, simulate from rest) another car; the chart, the trip and
        the pedals start over. A car that cannot be loaded is reported in the title bar."""
        try:
            self.source.follow(vehicle_id)
        except VehsimError as exc:
            self.status.message = f"Vehicle not switched: {exc}"
            self._offer_vehicles()
            return
        self.status.mode_detail = self.source.describe()
        self.status.message = self.source.describe()
        self._start_over()

    def _start_over(self) -> None:
        self.chart.reset()
        self._last_chart_t_s = float("-inf")
        self.trip.reset()
        self.latest = None
        self.reading.show({})
        if self.source.mode == "local":
            self.controls.reset_inputs()
        self._shown_vehicle = None
        self._configure(self.source.cluster_hints())
        self._offer_vehicles()

    def reset_trip(self) -> None:
        """Start a new trip from the reading on screen."""
        self.trip.reset()
        if self.latest is not None:
            self.trip.update(self.latest.sim_time_s, self.latest.payload)
        self.trip_panel.value = trip_html(self.trip.figures)

    def _configure(self, hints: ClusterHints) -> None:
        """Fit scales, gear controls, chart and header to the car shown."""
        self.hints = hints
        self.cluster.configure(hints)
        self.controls.configure(hints.max_gear, hints.gearbox != "cvt")
        series = chart_series(hints.max_gear)
        if series != self.chart.series:
            self.chart.series = series
        self.spec.value = spec_html(hints.spec, self.source.vehicle_id or "")

    def _offer_vehicles(self) -> None:
        """The picker lists the source's cars and shows once there is a choice."""
        choices = list(self.source.vehicle_choices)
        current = self.source.vehicle_id
        self._picking = True
        try:
            if list(self.picker.options) != choices:
                self.picker.options = choices
            value = current if current in choices else None
            if self.picker.value != value:
                self.picker.value = value
        finally:
            self._picking = False
        shown = "flex" if len(choices) > 1 else "none"
        if self.picker.layout.display != shown:
            self.picker.layout.display = shown
            self._picker_box.layout.display = shown

    def _note_gear_mode(self, command: Mapping[str, Any]) -> None:
        # Telemetry may not carry the gearbox mode; the indicator then shows the last one set.
        if command.get("type") == "gear_mode" and command.get("value") in ("auto", "manual"):
            self.cluster.gear.mode = str(command["value"])

    # -- updates ----------------------------------------------------------------------------
    def display_values(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """What the bound views show for one payload: each quantity on the grid its views can
        tell apart (so an invisible change sends nothing), the consumption and its unit."""
        values: dict[str, Any] = {}
        for key in (
            "engine_rpm",
            "vehicle_speed_kph",
            "coolant_temp_c",
            "fuel_level_pct",
            "throttle_pct",
        ):
            value = number(payload, key)
            if value is not None:
                values[key] = quantize(value, self.cluster.resolution(key))
        gear = number(payload, "gear")
        values["gear"] = int(gear) if gear is not None else 0
        values["engine_on"] = bool(payload.get("engine_on"))
        consumption = live_consumption(
            number(payload, "fuel_rate_lph"), number(payload, "vehicle_speed_kph")
        )
        if consumption is not None:
            values["consumption"] = quantize(
                consumption.value, self.cluster.resolution("consumption")
            )
            values["consumption_unit"] = consumption.unit
        return values

    def show(self, sample: Sample) -> None:
        """Push one reading into every widget."""
        self.latest = sample
        payload = sample.payload
        self.reading.show(self.display_values(payload))
        self.diagnostic_status = status_from_payload(payload) or self.source.diagnostics()
        self.cluster.show_lamps(payload, self.diagnostic_status.mil_on)
        self.controls.show_state(payload)
        self.status.sim_time_s = round(sample.sim_time_s, 1)
        self.trip.update(sample.sim_time_s, payload)
        self._show_panels(payload)
        self._chart(sample)
        self.updates += 1

    def _show_panels(self, payload: Mapping[str, Any] | None) -> None:
        """Trip, wear, codes, diagnosis and coaching; each panel's markup is sent only when its
        text changed."""
        for panel, markup in (
            (self.trip_panel, trip_html(self.trip.figures)),
            (self.wear_panel, wear_html(wear_rows(payload or {}), wear_time_scale(payload or {}))),
            (self.dtc_panel, dtc_html(self.diagnostic_status)),
            (self.advice_panel, advice_html(self.source.advice())),
        ):
            if panel.value != markup:
                panel.value = markup

    def _chart(self, sample: Sample) -> None:
        t_s = sample.sim_time_s
        if t_s - self._last_chart_t_s >= self.chart_period_s - 1e-6 or t_s < self._last_chart_t_s:
            self._last_chart_t_s = t_s
            self.chart.append(t_s, sample.payload)

    def _follow_the_car(self, sample: Sample) -> None:
        """Refit the cluster when the car behind the readings changed (connected mode: another
        vehicle, or its ``vehicle_model`` became known)."""
        shown = (sample.vehicle_id, sample.payload.get("vehicle_model"))
        if shown != self._shown_vehicle:
            self._shown_vehicle = shown
            hints = self.source.cluster_hints()
            if hints != self.hints:
                self._configure(hints)

    def tick(self, now_s: float | None = None) -> bool:
        """Poll the source once and show what arrived; True when something was shown."""
        samples = self.source.poll(time.monotonic() if now_s is None else now_s)
        for note in self.source.notices():
            self.status.message = note
        if list(self.picker.options) != list(self.source.vehicle_choices):
            self._offer_vehicles()
        if not samples:
            return False
        self._follow_the_car(samples[-1])
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
        self._check_running()
        remaining = duration_s
        while remaining > 1e-9:
            step = min(sample_every_s, remaining)
            sample = self.source.advance(step)
            self._follow_the_car(sample)
            self.show(sample)
            remaining -= step
        self.chart.flush()
        return self.latest  # type: ignore[return-value]

    def history_frame(self):
        """The chart's history as a pandas DataFrame: ``sim_time_s`` and one column per lane."""
        import pandas as pd  # the dashboard's kernel never needs it unless asked for a table

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
        """Stop updating and release the source (broker connections, threads).

        The views stay on screen, visibly stopped: the badge says STOPPED, every control is
        disabled, and the still picture in every output showing the dashboard is redrawn with
        the last reading. Stopping twice does nothing more.
        """
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.stopped:
            return
        self.stopped = True
        self.source.close()
        self.chart.flush()
        self.controls.disable()
        self.picker.disabled = True
        self.trip_reset.disabled = True
        self.status.running = False
        self.status.message = (
            "stopped: this dashboard no longer drives a car; run it again to drive"
        )
        self.widget.add_class("vehsim-stopped")
        for handle in self._displays:
            handle.update(self._repr_mimebundle_(), raw=True)

    def _check_running(self) -> None:
        if self.stopped:
            raise VehsimError("the dashboard is stopped; create a new Dashboard to drive again")

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
                self.source.pause()
            next_s += period_s
            delay_s = next_s - time.monotonic()
            if delay_s < 0:
                next_s = time.monotonic()
                delay_s = 0
            await asyncio.sleep(delay_s if was_watched else max(delay_s, 0.25))
