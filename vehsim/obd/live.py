"""One car of a live run (``vehsim drive``), seen through Kafka, as the OBD-II port needs it.

:class:`LiveView` follows the telemetry topic for one ``vehicle_id``
(:class:`vehsim.stream.follow.TelemetryFollower`, from the topic's end): the latest
``simulation.raw`` payload answers mode 01, 03 and 07 (it carries the MIL, the stored codes and
the controller's readings, see ``vehsim.telemetry``), and the freeze frame comes from the
``diagnostic.dtc`` events. Mode 04 sends a ``clear_dtc`` command to the car, so the codes are
cleared in the simulation too; until the car has applied it (its ``driver.command`` echo),
the port already answers as a cleared ECU would.

The freeze frame is known from the ``diagnostic.dtc`` event that stored it: a port opened after
that event answers mode 02 with "no freeze frame" (PID 02 = 0000) until the next code is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim.events import COMMAND_REJECTED, DIAGNOSTIC_DTC, DRIVER_COMMAND, SIMULATION_RAW
from vehsim.stream.broker import resolve_bootstrap
from vehsim.stream.commands import CommandSender
from vehsim.stream.follow import TelemetryFollower

log = logging.getLogger(__name__)

#: How long the port answers "cleared" for a clear_dtc the car has not confirmed [wall s]; after
#: that the car's own telemetry speaks again (the car may not be running).
CLEAR_OVERRIDE_S = 30.0
#: Controller fields a payload of an older run may lack, and the physical field to use instead
#: (or a fixed value).
_FALLBACKS: dict[str, Any] = {
    "coolant_sensor_temp_c": "coolant_temp_c",
    "speed_sensor_kph": "vehicle_speed_kph",
    "fuel_trim_pct": 0.0,
    "engine_load_pct": 0.0,
    "engine_run_time_s": 0.0,
    "mil_on": False,
    "mil_distance_km": 0.0,
    "dtc_confirmed": [],
    "dtc_pending": [],
}


class LiveView:
    """The latest state of ``vehicle_id`` on the telemetry topic; mode 04 as a command.

    Args:
        vehicle_id: the car (as in the events and commands).
        settings: configuration (topics, security); default :func:`load_settings`.
        bootstrap: ``host:port``; default ``VEHSIM_KAFKA_BOOTSTRAP`` or the embedded broker.
    """

    def __init__(
        self, vehicle_id: str, settings: Settings | None = None, *, bootstrap: str | None = None
    ):
        self.vehicle_id = vehicle_id
        self.settings = settings or load_settings()
        self.bootstrap = bootstrap or resolve_bootstrap(self.settings)
        self._lock = threading.Lock()
        self._payload: dict[str, Any] | None = None
        self._run_id: str | None = None
        self._frame: tuple[str, dict[str, float]] | None = None
        self._clearing: tuple[str, float] | None = None  # (command_id, wall time sent)
        self._sender = None
        self._follower = TelemetryFollower(
            self.settings,
            bootstrap=self.bootstrap,
            vehicle_ids=[vehicle_id],
            on_event=self._on_event,
            buffer_size=16,
        )

    def start(self, wait_s: float = 10.0) -> LiveView:
        """Start following; wait up to ``wait_s`` until positioned on the topic."""
        self._follower.start(wait_s)
        return self

    @property
    def ready(self) -> bool:
        return self._follower.ready

    @property
    def sim_time_s(self) -> float | None:
        """Simulated time of the latest telemetry event [s], None before the first."""
        with self._lock:
            return None if self._payload is None else self._payload["_sim_time_s"]

    # -- the view ----------------------------------------------------------------------------
    def payload(self) -> Mapping[str, Any] | None:
        with self._lock:
            if self._payload is None:
                return None
            payload = dict(self._payload)
            clearing = self._clearing
        if clearing is not None:
            if time.monotonic() - clearing[1] > CLEAR_OVERRIDE_S:
                with self._lock:
                    self._clearing = None
            else:
                payload.update(mil_on=False, mil_distance_km=0.0, dtc_confirmed=[], dtc_pending=[])
        return payload

    def freeze_frame(self) -> tuple[str, Mapping[str, float]] | None:
        with self._lock:
            return None if self._clearing is not None else self._frame

    def clear_codes(self) -> None:
        with self._lock:
            if self._sender is None:
                self._sender = CommandSender(self.settings, bootstrap=self.bootstrap)
            sender = self._sender
        message = sender.send(self.vehicle_id, "clear_dtc")
        with self._lock:
            self._clearing = (message["command_id"], time.monotonic())
            self._frame = None

    def close(self) -> None:
        self._follower.close()
        with self._lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            sender.close()

    # -- events ------------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event_type")
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return
        with self._lock:
            if kind == SIMULATION_RAW:
                if event.get("run_id") != self._run_id:  # a new run of this id: a new car
                    self._run_id = event.get("run_id")
                    self._frame = None
                self._payload = _with_fallbacks(payload, event.get("sim_time_s"))
            elif kind == DIAGNOSTIC_DTC:
                frame = payload.get("freeze_frame")
                code = payload.get("code")
                stored = payload.get("status") in ("pending", "confirmed")
                if stored and self._frame is None and isinstance(frame, dict) and code:
                    self._frame = (str(code), dict(frame))
            elif kind in (DRIVER_COMMAND, COMMAND_REJECTED):
                if payload.get("type") == "clear_dtc" and kind == DRIVER_COMMAND:
                    self._frame = None  # whoever sent it, the car's codes are gone
                if self._clearing is not None and payload.get("command_id") == self._clearing[0]:
                    self._clearing = None  # the car has answered: its telemetry speaks again


def _with_fallbacks(payload: Mapping[str, Any], sim_time_s: Any) -> dict[str, Any]:
    out = dict(payload)
    for name, fallback in _FALLBACKS.items():
        if name not in out:
            out[name] = out.get(fallback, 0.0) if isinstance(fallback, str) else fallback
    out["_sim_time_s"] = sim_time_s
    return out
