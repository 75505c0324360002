"""A tiny stand-in for ``vehsim.Simulator`` so widget tests do not depend on the physics.

Engine speed follows the throttle with a first-order lag, road speed follows engine speed in
one fixed gear, the coolant warms while the engine runs. Good enough to see gauges move.
"""

from __future__ import annotations

import numpy as np

from vehsim.errors import CommandError

_KINDS = {"start_engine", "stop_engine", "throttle", "brake", "gear_mode", "gear", "profile"}


def fake_parse(command: dict) -> dict:
    kind = command.get("type")
    if kind not in _KINDS:
        raise CommandError(
            f"command type must be one of {sorted(_KINDS)}, got {kind!r}", field="type"
        )
    if kind in ("throttle", "brake"):
        value = command.get("value")
        if not isinstance(value, int | float) or not 0 <= value <= 100:
            raise CommandError(f"{kind} value must be 0..100 %, got {value!r}", field="value")
    return dict(command)


class FakeSimulator:
    dt_s = 0.01

    def __init__(self):
        self.engine_on = False
        self.throttle_pct = 0.0
        self.brake_pct = 0.0
        self.rpm = 0.0
        self.speed_mps = 0.0
        self.coolant_temp_c = 20.0
        self.fuel_level_frac = 0.6
        self.time_s = 0.0
        self.driver = None

    def set_driver(self, index: int, driver: str) -> None:
        self.driver = driver

    def apply(self, index: int, command: dict) -> None:
        kind = command["type"]
        if kind == "start_engine":
            self.engine_on = True
        elif kind == "stop_engine":
            self.engine_on = False
        elif kind == "throttle":
            self.throttle_pct = float(command["value"])
        elif kind == "brake":
            self.brake_pct = float(command["value"])

    def advance(self, duration_s: float) -> None:
        steps = int(round(duration_s / self.dt_s))
        for _ in range(steps):
            target = (800.0 + 50.0 * self.throttle_pct) if self.engine_on else 0.0
            self.rpm += (target - self.rpm) * min(1.0, self.dt_s / 0.3)
            accel = (0.04 * self.throttle_pct if self.engine_on else 0.0) - 0.08 * self.brake_pct
            self.speed_mps = max(0.0, self.speed_mps + (accel - 0.02 * self.speed_mps) * self.dt_s)
            if self.engine_on:
                self.coolant_temp_c = min(92.0, self.coolant_temp_c + 0.5 * self.dt_s)
                self.fuel_level_frac -= 1e-6 * self.rpm * self.dt_s
            self.time_s += self.dt_s

    def snapshot(self) -> dict:
        return {
            "engine_on": np.array([self.engine_on]),
            "engine_speed_rpm": np.array([self.rpm]),
            "speed_mps": np.array([self.speed_mps]),
            "coolant_temp_c": np.array([self.coolant_temp_c]),
            "fuel_level_frac": np.array([self.fuel_level_frac]),
            "throttle_pct": np.array([self.throttle_pct]),
            "gear": np.array([1 if self.speed_mps > 0.1 else 0]),
        }


def fake_payload(snapshot: dict, index: int) -> dict:
    return {
        "engine_on": bool(snapshot["engine_on"][index]),
        "engine_rpm": float(snapshot["engine_speed_rpm"][index]),
        "vehicle_speed_kph": float(snapshot["speed_mps"][index]) * 3.6,
        "coolant_temp_c": float(snapshot["coolant_temp_c"][index]),
        "fuel_level_pct": float(snapshot["fuel_level_frac"][index]) * 100.0,
        "throttle_pct": float(snapshot["throttle_pct"][index]),
        "gear": int(snapshot["gear"][index]),
    }


def fake_source():
    from vehsim.ui.sources import LocalSource

    return LocalSource(
        "fake-car", simulator=FakeSimulator(), payload=fake_payload, parse_command=fake_parse
    )
