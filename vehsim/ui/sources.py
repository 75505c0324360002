"""Where the dashboard's telemetry comes from and where its commands go.

Two sources share one interface, :class:`TelemetrySource`, so the widgets never know which
mode they are in:

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vehsim.commands import parse_command as vehsim_parse_command
from vehsim.errors import VehsimError
from vehsim.simulator import Simulator
from vehsim.telemetry import raw_payload
from vehsim.ui.advice import AdvicePanel
from vehsim.ui.dtc import NO_CODES, DiagnosticStatus, status_from_simulator
from vehsim.ui.scoring import LocalAdvisor
from vehsim.ui.vehicles import SpecSheet, VehicleChoices, spec_sheet, vehicle_params

Command = Mapping[str, Any]


@dataclass(frozen=True)
class Sample:
    """One telemetry reading: simulated time [s] and the ``simulation.raw`` payload."""

    sim_time_s: float
    payload: Mapping[str, Any]
    vehicle_id: str = ""


@dataclass(frozen=True)
class ClusterHints:
    """What the cluster should know about the car it shows (scales, gearbox, spec sheet).

    ``spec`` is ``None`` when the source does not know the car's parameters (a connected car
    whose ``vehicle_model`` is not a shipped vehicle).
    """

    redline_rpm: float = 6000.0
    max_gear: int = 6
    gearbox: str = ""
    spec: SpecSheet | None = None


def hints_for(params: Any) -> ClusterHints:
    """The hints of a vehicle parameter set."""
    return ClusterHints(
        redline_rpm=float(params.values["max_speed_rpm"]),
        max_gear=int(params.n_gears),
        gearbox=str(params.gearbox_type),
        spec=spec_sheet(params),
    )


@runtime_checkable
class TelemetrySource(Protocol):
    """Everything the dashboard asks of a source; local and connected mode both provide it."""

    #: ``"local"`` or ``"connected"`` (the badge).
    mode: str
    #: The car shown and commanded (``None`` before a connected source has seen one).
    vehicle_id: str | None

    @property
    def vehicle_choices(self) -> list[str]:
        """The cars the vehicle picker offers (local: the drivable ones; connected: those seen)."""
        ...

    def describe(self) -> str:
        """One line on where the telemetry comes from (the badge's tooltip)."""
        ...

    def cluster_hints(self) -> ClusterHints:
        """Scales, gearbox and spec sheet of the car shown now."""
        ...

    def send(self, command: Command) -> None:
        """Hand a driver command on; raises ``CommandError`` naming a bad field."""
        ...

    def poll(self, now_s: float) -> list[Sample]:
        """The readings due since the last call; returns at once."""
        ...

    def diagnostics(self) -> DiagnosticStatus:
        """The MIL and the stored trouble codes of the car shown, as of the last reading."""
        ...

    def advice(self) -> AdvicePanel:
        """The diagnosis and coaching panel of the car shown (:mod:`vehsim.ui.advice`)."""
        ...

    def notices(self) -> list[str]:
        """Messages for the title bar since the last call."""
        ...

    def follow(self, vehicle_id: str) -> None:
        """Show and command another car (one of :attr:`vehicle_choices`)."""
        ...

    def pause(self) -> None:
        """Nobody is watching: forget the wall clock until the next poll."""
        ...

    def close(self) -> None:
        """Release threads, connections and the simulator."""
        ...


class LocalSource:
    """The car simulated in this kernel, paced by the wall clock of the caller.

    Args:
        vehicle: the car to start with: a shipped vehicle's name, a vehicle file, a
            ``VehicleParams`` or an EPA Test Car List row; default the first shipped vehicle.
        vehicles: more cars for the picker, of the same kinds, besides the shipped ones.
        simulator_options: more keyword arguments for ``vehsim.Simulator`` (ambient
            temperature, a wear time scale, a saved state, ...), used for every car picked.
        make_simulator: ``(params) -> simulator``; default a ``vehsim.Simulator`` with the
            engine off (tests pass a stand-in).
        payload: function ``(snapshot, index) -> payload``; default ``vehsim.telemetry.raw_payload``.
        parse_command: command validator; default ``vehsim.parse_command``.
        dt_s: physics step of the simulator [s].
        max_catch_up_s: largest wall-clock gap simulated in one poll [s], so a stalled kernel
            does not make the car jump.
        seed: seed of the simulator.
        scorer: what scores the car's readings for the diagnosis and coaching panel: ``"auto"``
            the installed ``vehsim.scorers`` plug-in (the champion models in MLflow), a scorer,
            a function returning one, or ``None`` (see :class:`vehsim.ui.scoring.LocalAdvisor`).
    """

    mode = "local"

    def __init__(
        self,
        vehicle: Any = None,
        *,
        vehicles: Iterable[Any] = (),
        simulator_options: Mapping[str, Any] | None = None,
        make_simulator: Callable[[Any], Any] | None = None,
        payload: Callable[[Mapping[str, Any], int], Mapping[str, Any]] | None = None,
        parse_command: Callable[[Mapping[str, Any]], Any] | None = None,
        dt_s: float = 0.01,
        max_catch_up_s: float = 0.25,
        seed: int = 0,
        scorer: Any = "auto",
    ):
        self.choices = VehicleChoices(vehicles)
        if vehicle is None:
            if not self.choices.names:
                raise VehsimError("no vehicle parameter sets are installed; pass vehicle=...")
            first = self.choices.names[0]
        elif isinstance(vehicle, str) and vehicle in self.choices:
            first = vehicle
        else:
            first = self.choices.add(vehicle_params(vehicle))
        if make_simulator is None:
            options = {"dt_s": dt_s, "seed": seed, "start": "off", **(simulator_options or {})}

            def make_simulator(params):
                return Simulator([params], **options)

        self._make_simulator = make_simulator
        self._payload = payload or raw_payload
        self._parse = parse_command or vehsim_parse_command
        self.dt_s = float(dt_s)
        self.max_catch_up_s = max_catch_up_s
        self._notices: list[str] = []
        self.vehicle_id: str | None = None
        self.advisor = LocalAdvisor(scorer)
        self._start(first)

    def _start(self, name: str) -> None:
        """A new car ``name``: fresh simulator, engine off, clock at zero."""
        params = self.choices.params(name)
        sim = self._make_simulator(params)
        sim.set_driver(0, "commands")
        self.params = params
        self.sim = sim
        self.vehicle_id = name
        self.dt_s = float(getattr(sim, "dt_s", self.dt_s))
        self._steps = 0
        self._debt_s = 0.0
        self._last_now_s: float | None = None
        self.advisor.new_run(name)

    @property
    def vehicle(self) -> str:
        """The name of the car simulated now."""
        return str(self.vehicle_id)

    @property
    def vehicle_choices(self) -> list[str]:
        return self.choices.names

    def describe(self) -> str:
        return f"simulated in this kernel: {self.vehicle}"

    def cluster_hints(self) -> ClusterHints:
        """Redline, gears, gearbox type and spec sheet of the car simulated now."""
        return hints_for(self.params)

    def follow(self, vehicle_id: str) -> None:
        """Switch to another car: a new simulator from rest with the engine off.

        Raises:
            ParameterError: ``vehicle_id`` is not offered, or its parameter set does not load.
        """
        if vehicle_id == self.vehicle_id:
            return
        self._start(vehicle_id)

    def send(self, command: Command) -> None:
        """Apply a command at the next step; raises ``CommandError`` naming the bad field."""
        self.sim.apply(0, self._parse(dict(command)))

    def advance(self, duration_s: float) -> Sample:
        """Simulate ``duration_s`` seconds at once (as fast as possible) and return the reading."""
        steps = int(math.floor(duration_s / self.dt_s + 1e-9))
        if steps > 0:
            self.sim.advance(steps * self.dt_s)
            self._steps += steps
        return self._scored(self.reading())

    @property
    def sim_time_s(self) -> float:
        """Simulated time since this car started [s]."""
        return self._steps * self.dt_s

    def reading(self) -> Sample:
        return Sample(self.sim_time_s, dict(self._payload(self.sim.snapshot(), 0)), self.vehicle)

    def _scored(self, sample: Sample) -> Sample:
        """``sample``, after the advisor scored it (every reading the dashboard is given)."""
        self.advisor.offer(sample.sim_time_s, sample.payload)
        return sample

    def advice(self) -> AdvicePanel:
        """What the scorer said of this car run (:class:`vehsim.ui.scoring.LocalAdvisor`)."""
        return self.advisor.panel()

    def diagnostics(self) -> DiagnosticStatus:
        """The simulator's MIL and codes (``Simulator.dtc``), as of the last step."""
        dtc = getattr(self.sim, "dtc", None)
        return NO_CODES if dtc is None else status_from_simulator(dtc(0))

    def poll(self, now_s: float) -> list[Sample]:
        """Simulate the wall time elapsed since the last poll, in whole physics steps."""
        if self._last_now_s is None:
            self._last_now_s = now_s
            return [self._scored(self.reading())]
        elapsed_s = min(max(0.0, now_s - self._last_now_s), self.max_catch_up_s)
        self._last_now_s = now_s
        self._debt_s += elapsed_s
        steps = int(math.floor(self._debt_s / self.dt_s + 1e-9))
        if steps == 0:
            return []
        self._debt_s -= steps * self.dt_s
        self.sim.advance(steps * self.dt_s)
        self._steps += steps
        return [self._scored(self.reading())]

    def pause(self) -> None:
        """Forget the wall clock, so time spent unwatched is not simulated afterwards."""
        self._last_now_s = None
        self._debt_s = 0.0

    def notices(self) -> list[str]:
        out, self._notices = self._notices, []
        return out

    def close(self) -> None:
        self.advisor.close()


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
