"""Driver controls as ipywidgets: engine start/stop, throttle and brake, gear mode, profile.
(The vehicle picker sits in the dashboard's header, beside the spec sheet it changes.)

Every control turns a user action into one driver command dict (the shape
``vehsim.parse_command`` accepts) and hands it to a callback; the controls never talk to a
simulator or a broker themselves, so the same panel drives local and connected mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as w

from vehsim.commands import PROFILE_NAMES

Command = dict[str, object]
#: The driver profiles the command parser accepts (one list, so the dropdown never offers a
#: profile the car refuses).
PROFILES: tuple[str, ...] = tuple(PROFILE_NAMES)
GEAR_MODES = ("auto", "manual")


class Controls:
    """The control panel. ``on_command`` receives each command the user issues;
    ``stepped_gears=False`` (a CVT) disables the manual gearbox controls."""

    def __init__(
        self,
        on_command: Callable[[Command], None],
        max_gear: int = 6,
        stepped_gears: bool = True,
    ):
        self._emit = on_command
        self._quiet = False
        self.max_gear = max_gear
        self.start = w.Button(description="Start engine", layout=w.Layout(width="130px"))
        self.start.add_class("vehsim-start-engine")
        self.stop = w.Button(
            description="Stop engine", layout=w.Layout(width="130px"), disabled=True
        )
        self.stop.add_class("vehsim-stop-engine")
        slider_layout = w.Layout(width="100%")
        style = {"description_width": "64px"}
        self.throttle = w.IntSlider(
            0, 0, 100, 1, description="Throttle", layout=slider_layout, style=style
        )
        self.throttle.add_class("vehsim-throttle")
        self.brake = w.IntSlider(
            0, 0, 100, 1, description="Brake", layout=slider_layout, style=style
        )
        self.brake.add_class("vehsim-brake")
        self.gear_mode = w.ToggleButtons(
            options=[("Auto", "auto"), ("Manual", "manual")], value="auto"
        )
        self.gear_mode.style.button_width = "80px"
        self.gear_mode.add_class("vehsim-gear-mode")
        self.stepped_gears = stepped_gears
        self.gear_mode.disabled = not stepped_gears  # a CVT has no gears to hold
        self.gear_down = w.Button(
            description="Gear −", layout=w.Layout(width="80px"), disabled=True
        )
        self.gear_down.add_class("vehsim-gear-down")
        self.gear_up = w.Button(description="Gear +", layout=w.Layout(width="80px"), disabled=True)
        self.gear_up.add_class("vehsim-gear-up")
        self.profile = w.Dropdown(
            options=[(p.capitalize(), p) for p in PROFILES],
            value="normal",
            layout=w.Layout(width="150px"),
        )
        self.profile.add_class("vehsim-profile")
        self._gear = 0

        self.start.on_click(lambda _b: self._send({"type": "start_engine"}))
        self.stop.on_click(lambda _b: self._send({"type": "stop_engine"}))
        self.throttle.observe(self._on_value("throttle"), names="value")
        self.brake.observe(self._on_value("brake"), names="value")
        self.gear_mode.observe(self._on_gear_mode, names="value")
        self.profile.observe(self._on_value("profile"), names="value")
        self.gear_down.on_click(lambda _b: self._shift(-1))
        self.gear_up.on_click(lambda _b: self._shift(+1))

        def caption(text: str) -> w.HTML:
            label = w.HTML(text)
            label.add_class("vehsim-section-title")
            return label

        engine = w.VBox([caption("Engine"), w.HBox([self.start, self.stop])])
        pedals = w.VBox(
            [caption("Pedals"), self.throttle, self.brake],
            layout=w.Layout(flex="1 1 auto", min_width="320px"),
        )
        gearbox = w.VBox(
            [caption("Gearbox"), self.gear_mode, w.HBox([self.gear_down, self.gear_up])]
        )
        driver = w.VBox([caption("Driver profile"), self.profile])
        self.widget = w.HBox(
            [engine, pedals, gearbox, driver],
            layout=w.Layout(
                justify_content="space-between", align_items="flex-start", width="100%"
            ),
        )
        self.widget.add_class("vehsim-controls")
        self.widget.add_class("vehsim-panel")

    def show_state(self, payload: Mapping[str, object]) -> None:
        """Reflect telemetry in the controls (which buttons make sense right now)."""
        engine_on = bool(payload.get("engine_on"))
        if self.start.disabled != engine_on:
            self.start.disabled = engine_on
        if self.stop.disabled == engine_on:
            self.stop.disabled = not engine_on
        gear = payload.get("gear")
        if isinstance(gear, int | float):
            self._gear = int(gear)

    def disable(self) -> None:
        """Grey out every control: the dashboard no longer drives a car."""
        for control in (
            self.start,
            self.stop,
            self.throttle,
            self.brake,
            self.gear_mode,
            self.gear_down,
            self.gear_up,
            self.profile,
        ):
            control.disabled = True

    def configure(self, max_gear: int, stepped_gears: bool) -> None:
        """Fit the gearbox controls to another car."""
        self.max_gear = max_gear
        self.stepped_gears = stepped_gears
        self.gear_mode.disabled = not stepped_gears
        self._enable_gear_buttons(stepped_gears and self.gear_mode.value == "manual")

    def reset_inputs(self) -> None:
        """Pedals released, automatic gearbox, normal profile (a new car), without sending."""
        self._quiet = True
        try:
            self.throttle.value = 0
            self.brake.value = 0
            self.gear_mode.value = "auto"
            self.profile.value = "normal"
        finally:
            self._quiet = False
        self._enable_gear_buttons(False)
        self._gear = 0

    def reflect(self, command: Mapping[str, object]) -> None:
        """Move the controls to match a command issued from code, without sending it again."""
        kind, value = command.get("type"), command.get("value")
        self._quiet = True
        try:
            if kind == "throttle":
                self.throttle.value = int(round(float(value)))  # type: ignore[arg-type]
            elif kind == "brake":
                self.brake.value = int(round(float(value)))  # type: ignore[arg-type]
            elif kind == "gear_mode" and value in GEAR_MODES:
                self.gear_mode.value = value
                self._enable_gear_buttons(value == "manual")
            elif kind == "profile" and value in PROFILES:
                self.profile.value = value
        finally:
            self._quiet = False

    def _send(self, command: Command) -> None:
        if not self._quiet:
            self._emit(command)

    def _on_value(self, kind: str):
        def handler(change):
            self._send({"type": kind, "value": change["new"]})

        return handler

    def _on_gear_mode(self, change) -> None:
        self._enable_gear_buttons(change["new"] == "manual")
        self._send({"type": "gear_mode", "value": change["new"]})

    def _enable_gear_buttons(self, manual: bool) -> None:
        self.gear_down.disabled = not manual
        self.gear_up.disabled = not manual

    def _shift(self, step: int) -> None:
        target = min(self.max_gear, max(1, self._gear + step))
        self._gear = target
        self._send({"type": "gear", "value": target})
