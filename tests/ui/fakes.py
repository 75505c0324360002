"""Stand-ins so widget tests do not depend on the physics or on a broker.

:class:`FakeSimulator`: engine speed follows the throttle with a first-order lag, road speed
follows engine speed in one fixed gear, the coolant warms while the engine runs, fuel flows with
engine speed and throttle, the odometer counts, parts wear. Good enough to see gauges move.
Diagnostics can be set by hand (``sim.codes``, ``sim.mil_on``).

:class:`FakeFleet`: a connected source whose cars and readings the test sets.

Both conform to :class:`vehsim.ui.sources.TelemetrySource` (``test_protocol.py`` checks).
"""

from __future__ import annotations

import numpy as np

from vehsim.errors import CommandError
from vehsim.ui.advice import NO_ADVICE, AdvicePanel
from vehsim.ui.dtc import NO_CODES, DiagnosticStatus
from vehsim.ui.sources import ClusterHints, Sample

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

    def __init__(self, params=None):
        self.params = params
        self.engine_on = False
        self.throttle_pct = 0.0
        self.brake_pct = 0.0
        self.rpm = 0.0
        self.speed_mps = 0.0
        self.coolant_temp_c = 20.0
        self.fuel_level_frac = 0.6
        self.fuel_used_l = 0.0
        self.fuel_rate_lph = 0.0
        self.odometer_m = 0.0
        self.time_s = 0.0
        self.driver = None
        self.mil_on = False
        self.codes: dict[str, list[str]] = {"confirmed": [], "pending": []}

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
            self.fuel_rate_lph = (
                0.6 + 0.0004 * self.rpm * (1.0 + self.throttle_pct / 25.0)
                if self.engine_on
                else 0.0
            )
            if self.engine_on:
                self.coolant_temp_c = min(92.0, self.coolant_temp_c + 0.5 * self.dt_s)
            self.fuel_used_l += self.fuel_rate_lph * self.dt_s / 3600.0
            self.fuel_level_frac = 0.6 - self.fuel_used_l / 50.0
            self.odometer_m += self.speed_mps * self.dt_s
            self.time_s += self.dt_s

    def dtc(self, index: int) -> dict:
        return {"mil_on": self.mil_on, **self.codes}

    def snapshot(self) -> dict:
        return {
            "engine_on": np.array([self.engine_on]),
            "engine_speed_rpm": np.array([self.rpm]),
            "speed_mps": np.array([self.speed_mps]),
            "coolant_temp_c": np.array([self.coolant_temp_c]),
            "fuel_level_frac": np.array([self.fuel_level_frac]),
            "throttle_pct": np.array([self.throttle_pct]),
            "gear": np.array([1 if self.speed_mps > 0.1 else 0]),
            "fuel_rate_lph": np.array([self.fuel_rate_lph]),
            "fuel_used_l": np.array([self.fuel_used_l]),
            "odometer_m": np.array([self.odometer_m]),
            "time_s": np.array([self.time_s]),
        }


def fake_payload(snapshot: dict, index: int) -> dict:
    odometer_km = float(snapshot["odometer_m"][index]) / 1e3
    return {
        "engine_on": bool(snapshot["engine_on"][index]),
        "engine_rpm": float(snapshot["engine_speed_rpm"][index]),
        "vehicle_speed_kph": float(snapshot["speed_mps"][index]) * 3.6,
        "coolant_temp_c": float(snapshot["coolant_temp_c"][index]),
        "fuel_level_pct": float(snapshot["fuel_level_frac"][index]) * 100.0,
        "throttle_pct": float(snapshot["throttle_pct"][index]),
        "gear": int(snapshot["gear"][index]),
        "fuel_rate_lph": float(snapshot["fuel_rate_lph"][index]),
        "fuel_used_l": float(snapshot["fuel_used_l"][index]),
        "odometer_km": odometer_km,
        # wear grows with distance so tests can see it move
        "engine_wear_pct": 0.01 * odometer_km,
        "gearbox_wear_pct": 0.005 * odometer_km,
        "brake_pad_wear_pct": 0.02 * odometer_km,
        "tyre_wear_pct": 0.015 * odometer_km,
        "oil_life_pct": 100.0 - 0.05 * odometer_km,
    }


def fake_source(vehicle: str = "compact-sedan", vehicles=()):
    """A local source over the stand-in simulator; the picker offers the shipped vehicles
    (their parameters give scales and spec sheet; the physics stays fake)."""
    from vehsim.ui.sources import LocalSource

    return LocalSource(
        vehicle,
        vehicles=vehicles,
        make_simulator=FakeSimulator,
        payload=fake_payload,
        parse_command=fake_parse,
        scorer=None,  # no plug-in looked up: the widgets' tests need no models
    )


class FakeFleet:
    """A connected source: the test sets ``vehicle_choices``, queues readings with
    :meth:`publish`, diagnostics in ``codes`` and advice panels in ``panels``; commands land in
    ``sent``."""

    mode = "connected"

    def __init__(self, vehicles=("car-a",), hints: ClusterHints | None = None):
        self.vehicle_choices: list[str] = list(vehicles)
        self.vehicle_id: str | None = self.vehicle_choices[0] if vehicles else None
        self.followed: list[str] = []
        self.sent: list[dict] = []
        self.codes: dict[str, DiagnosticStatus] = {}
        self.panels: dict[str, AdvicePanel] = {}
        self.hints = hints or ClusterHints()
        self.paused = 0
        self._queue: list[Sample] = []

    def describe(self) -> str:
        return f"following {self.vehicle_id}"

    def cluster_hints(self) -> ClusterHints:
        return self.hints

    def send(self, command) -> None:
        self.sent.append(dict(command))

    def publish(self, sim_time_s: float, payload: dict, vehicle_id: str | None = None) -> None:
        self._queue.append(Sample(sim_time_s, payload, vehicle_id or self.vehicle_id or ""))

    def poll(self, now_s: float) -> list[Sample]:
        out = [s for s in self._queue if s.vehicle_id == self.vehicle_id]
        self._queue = []
        return out

    def diagnostics(self) -> DiagnosticStatus:
        return self.codes.get(self.vehicle_id or "", NO_CODES)

    def advice(self) -> AdvicePanel:
        return self.panels.get(self.vehicle_id or "", NO_ADVICE)

    def notices(self) -> list[str]:
        return []

    def follow(self, vehicle_id: str) -> None:
        self.vehicle_id = vehicle_id
        self.followed.append(vehicle_id)

    def pause(self) -> None:
        self.paused += 1

    def close(self) -> None:
        pass
