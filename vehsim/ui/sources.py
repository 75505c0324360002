"""Where the dashboard's telemetry comes from and where its commands go.

Two sources share one small interface, so the widgets never know which mode they are in:

- :class:`LocalSource` runs a :class:`vehsim.Simulator` inside the kernel (no broker);
- :class:`ConnectedSource` publishes commands to the Kafka commands topic and follows the
  telemetry topic (see :mod:`vehsim.ui.kafka_link`).

``poll(now_s)`` is called from the kernel's event loop a few dozen times a second and must
return at once: it gives back the telemetry samples that arrived (or were simulated) since the
previous call, as :class:`Sample` (simulated time and ``simulation.raw`` payload, user units).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from vehsim.errors import VehsimError

Command = Mapping[str, Any]


@dataclass(frozen=True)
class Sample:
    """One telemetry reading: simulated time [s] and the ``simulation.raw`` payload."""

    sim_time_s: float
    payload: Mapping[str, Any]
    vehicle_id: str = ""


class TelemetrySource(Protocol):
    mode: str

    def describe(self) -> str: ...

    def send(self, command: Command) -> None: ...

    def poll(self, now_s: float) -> list[Sample]: ...

    def notices(self) -> list[str]: ...

    def close(self) -> None: ...


class LocalSource:
    """The car simulated in this kernel, paced by the wall clock of the caller.

    Args:
        vehicle: name (or path) of a vehicle parameter file, or ready ``VehicleParams``;
            default the first shipped vehicle.
        simulator: a ready simulator (tests pass a stand-in); built from ``vehicle`` if omitted.
        payload: function ``(snapshot, index) -> payload``; default ``vehsim.telemetry.raw_payload``.
        dt_s: physics step of the simulator [s].
        max_catch_up_s: largest wall-clock gap simulated in one poll [s], so a stalled kernel
            does not make the car jump.
        seed: seed of the simulator.
    """

    mode = "local"

    def __init__(
        self,
        vehicle: Any = None,
        *,
        simulator: Any | None = None,
        payload: Callable[[Mapping[str, Any], int], Mapping[str, Any]] | None = None,
        parse_command: Callable[[Mapping[str, Any]], Any] | None = None,
        dt_s: float = 0.01,
        max_catch_up_s: float = 0.25,
        seed: int = 0,
    ):
        if simulator is None or payload is None or parse_command is None:
            import vehsim
            import vehsim.telemetry

            if simulator is None:
                params = vehicle if hasattr(vehicle, "name") else _load_vehicle(vehicle)
                vehicle = params.name
                self.params = params
                simulator = vehsim.Simulator([params], dt_s=dt_s, seed=seed, start="off")
            payload = payload or vehsim.telemetry.raw_payload
            parse_command = parse_command or vehsim.parse_command
        self.vehicle = str(vehicle or "vehicle")
        self.sim = simulator
        self.sim.set_driver(0, "commands")
        self._payload = payload
        self._parse = parse_command
        self.dt_s = float(getattr(simulator, "dt_s", dt_s))
        self.max_catch_up_s = max_catch_up_s
        self._steps = 0
        self._debt_s = 0.0
        self._last_now_s: float | None = None
        self._notices: list[str] = []

    params: Any = None

    def describe(self) -> str:
        return f"simulated in this kernel: {self.vehicle}"

    def cluster_hints(self) -> dict[str, Any]:
        """What the cluster should know about this vehicle: redline, gears, gearbox type."""
        if self.params is None:
            return {}
        return {
            "redline_rpm": float(self.params.values["max_speed_rpm"]),
            "max_gear": int(self.params.n_gears),
            "gearbox": str(self.params.gearbox_type),
        }

    def send(self, command: Command) -> None:
        """Apply a command at the next step; raises ``CommandError`` naming the bad field."""
        self.sim.apply(0, self._parse(dict(command)))

    def advance(self, duration_s: float) -> Sample:
        """Simulate ``duration_s`` seconds at once (as fast as possible) and return the reading."""
        steps = int(math.floor(duration_s / self.dt_s + 1e-9))
        if steps > 0:
            self.sim.advance(steps * self.dt_s)
            self._steps += steps
        return self.reading()

    @property
    def sim_time_s(self) -> float:
        """Simulated time since the source was opened [s]."""
        return self._steps * self.dt_s

    def reading(self) -> Sample:
        return Sample(self.sim_time_s, dict(self._payload(self.sim.snapshot(), 0)), self.vehicle)

    def poll(self, now_s: float) -> list[Sample]:
        """Simulate the wall time elapsed since the last poll, in whole physics steps."""
        if self._last_now_s is None:
            self._last_now_s = now_s
            return [self.reading()]
        elapsed_s = min(max(0.0, now_s - self._last_now_s), self.max_catch_up_s)
        self._last_now_s = now_s
        self._debt_s += elapsed_s
        steps = int(math.floor(self._debt_s / self.dt_s + 1e-9))
        if steps == 0:
            return []
        self._debt_s -= steps * self.dt_s
        self.sim.advance(steps * self.dt_s)
        self._steps += steps
        return [self.reading()]

    def pause(self) -> None:
        """Forget the wall clock, so time spent unwatched is not simulated afterwards."""
        self._last_now_s = None
        self._debt_s = 0.0

    def notices(self) -> list[str]:
        out, self._notices = self._notices, []
        return out

    def close(self) -> None:
        pass


def _load_vehicle(name: str | None):
    import vehsim

    if name is None:
        names = vehsim.list_vehicles()
        if not names:
            raise VehsimError("no vehicle parameter sets are installed; pass vehicle=...")
        name = names[0]
    return vehsim.load_vehicle(name)


class PacedQueue:
    """Readings that arrive in bursts, handed out one per display tick.

    Producers batch events, so telemetry sent at 30 Hz arrives two or three at a time. Taking
    one reading per tick spreads a burst over consecutive frames (smooth needles, at most a
    tick or two of extra delay); when more than ``max_backlog`` readings wait, the older ones
    are handed out together so the display never falls behind. Thread-safe: a follower thread
    pushes, the event loop pops.
    """

    def __init__(self, max_backlog: int = 3, maxlen: int = 4096):
        self.max_backlog = max_backlog
        self._items: deque[Sample] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def push(self, sample: Sample) -> None:
        with self._lock:
            self._items.append(sample)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def pop_due(self) -> list[Sample]:
        """The readings to show now: the oldest one, or all but the newest few on a backlog."""
        with self._lock:
            backlog = len(self._items)
            if backlog == 0:
                return []
            take = backlog - self.max_backlog + 1 if backlog > self.max_backlog else 1
            return [self._items.popleft() for _ in range(take)]
