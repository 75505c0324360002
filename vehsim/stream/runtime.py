"""The live runtime behind ``vehsim drive``: a fleet simulated in (scaled) real time on Kafka.

One loop owns time. Every telemetry tick (``1 / rate_hz`` simulated seconds) it

1. applies the driver commands received since the previous tick (echoing each as a
   ``driver.command`` event, or emitting ``command.rejected`` with the reason),
2. advances the physics by one tick in its own fixed steps (``dt_s``),
3. emits ``engine.started`` / ``engine.stopped`` on engine transitions, one
   ``diagnostic.dtc`` event per change of a trouble code (``Simulator.drain_dtc_changes``) and
   one ``simulation.raw`` event per vehicle (with the MIL and the stored codes),
4. sleeps until the wall clock catches up with ``sim_time / speedup`` (no sleep when
   ``speedup`` is infinite).

Events leave through an :class:`~vehsim.stream.producer.EventPublisher` (durable spool, then
Kafka); commands arrive through a :class:`~vehsim.stream.commands.CommandListener` thread.
``seq`` counts every event of one vehicle in one run from 0 without gaps.

The class is importable so that notebooks and the dashboard can run a fleet in-process::

    runtime = DriveRuntime(DriveConfig(vehicles=["compact-sedan"], driver="commands"))
    threading.Thread(target=runtime.run, daemon=True).start()
    runtime.submit_command({"type": "start_engine"}, vehicle_id=runtime.vehicle_ids[0])
    runtime.stop()
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import vehsim
from vehsim.config import Settings, load_settings
from vehsim.errors import CommandError, ConfigError
from vehsim.events import (
    BROADCAST_VEHICLE_ID,
    COMMAND_REJECTED,
    DIAGNOSTIC_DTC,
    DRIVER_COMMAND,
    ENGINE_STARTED,
    ENGINE_STOPPED,
    SIMULATION_RAW,
    excerpt,
    make_event,
    utc_iso,
    utc_now_iso,
    value_excerpt,
)
from vehsim.faults import FaultSpec
from vehsim.labels import append_labels, fault_label
from vehsim.layout import S
from vehsim.stream.broker import resolve_bootstrap, tcp_reachable
from vehsim.stream.commands import CommandListener, IncomingCommand, decode_command
from vehsim.stream.producer import EventPublisher

log = logging.getLogger(__name__)

_ENGINE_COMMANDS = {"start_engine": True, "stop_engine": False}
#: Commands answered per tick at most; more wait for the next ticks (10 Hz: 5,000/s).
MAX_COMMANDS_PER_TICK = 500
#: Longest ``message`` of a ``command.rejected`` event [characters].
MAX_MESSAGE_CHARS = 500


@dataclass
class DriveConfig:
    """What to simulate and how fast.

    Attributes:
        vehicles: Vehicle parameter-set names (or paths), one per simulated car.
        vehicle_ids: Identifiers used on the wire; default ``<name>-<index:03d>``.
        driver: ``"cycle:<name>"``, ``"profile:<eco|normal|aggressive>"`` or ``"commands"``.
        speedup: Simulated seconds per wall second; ``math.inf`` runs as fast as possible.
        duration_s: Simulated duration; ``None`` runs until :meth:`DriveRuntime.stop`.
        rate_hz: Telemetry events per vehicle per simulated second.
        dt_s: Physics step [s].
        seed: Seed of the simulation's random generators.
        ambient_temp_c: Ambient temperature [°C].
        start: ``"off"`` (engine off until the driver or a command starts it), ``"cold"`` or
            ``"hot"`` (engine temperatures at ambient or warm, as in ``vehsim.simulate``).
        faults: Per vehicle, the faults injected from the start (onsets in simulated seconds
            from the start of the run); ``None``: every car healthy.
        label_source: What ground-truth fault labels of the start faults say they came from
            (``"drive"`` for ``--fault``, ``"scenario"`` for ``--scenario``).
    """

    vehicles: Sequence[str]
    vehicle_ids: Sequence[str] | None = None
    driver: str = "cycle:udds"
    speedup: float = 1.0
    duration_s: float | None = None
    rate_hz: float = 10.0
    dt_s: float = 0.01
    seed: int = 0
    ambient_temp_c: float = 20.0
    start: str = "off"
    faults: Sequence[Sequence[FaultSpec]] | None = None
    label_source: str = "drive"

    def __post_init__(self) -> None:
        if not self.vehicles:
            raise ConfigError("drive needs at least one vehicle")
        if not (math.isfinite(self.rate_hz) and 0.1 <= self.rate_hz <= 100):
            raise ConfigError(f"rate_hz must be from 0.1 to 100 Hz, got {self.rate_hz!r}")
        if not (self.speedup > 0):
            raise ConfigError(f"speedup must be > 0 (or 'max'), got {self.speedup!r}")
        if self.duration_s is not None and not (
            math.isfinite(self.duration_s) and self.duration_s >= 0
        ):
            raise ConfigError(f"duration_s must be a number >= 0 s, got {self.duration_s!r}")
        if self.vehicle_ids is None:
            self.vehicle_ids = [f"{name}-{i:03d}" for i, name in enumerate(self.vehicles)]
        if len(self.vehicle_ids) != len(self.vehicles):
            raise ConfigError("vehicle_ids must name every vehicle once")
        if len(set(self.vehicle_ids)) != len(self.vehicle_ids) or BROADCAST_VEHICLE_ID in set(
            self.vehicle_ids
        ):
            raise ConfigError(
                f"vehicle_ids must be unique and must not be {BROADCAST_VEHICLE_ID!r}"
            )
        if self.start not in ("off", "cold", "hot"):
            raise ConfigError(f"start must be 'off', 'cold' or 'hot', got {self.start!r}")
        if self.faults is not None:
            if len(self.faults) != len(self.vehicles):
                raise ConfigError(
                    f"faults: need one list per vehicle ({len(self.vehicles)}), "
                    f"got {len(self.faults)}"
                )
            for specs in self.faults:
                for spec in specs:
                    if not isinstance(spec, FaultSpec):
                        raise ConfigError(f"faults: expected FaultSpec objects, got {spec!r}")


def config_from_scenario(scenario, **overrides: Any) -> DriveConfig:
    """A :class:`DriveConfig` from a :class:`vehsim.scenario.Scenario`: its vehicles and their
    faults, driver, ambient, start, step and seed; a profile scenario's ``duration_s``.
    ``overrides`` (``speedup``, ``rate_hz``, ``duration_s``, ``vehicle_ids``, ...) win."""
    if scenario.driver == "cycle":
        driver = f"cycle:{scenario.cycle}"
    else:
        driver = f"profile:{scenario.profile}"
    values: dict[str, Any] = {
        "vehicles": [v.vehicle for v in scenario.vehicles],
        "driver": driver,
        "duration_s": scenario.duration_s,
        "dt_s": scenario.dt_s,
        "seed": scenario.seed,
        "ambient_temp_c": scenario.ambient_c,
        "start": scenario.start,
        "faults": [list(v.faults) for v in scenario.vehicles],
        "label_source": "scenario",
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DriveConfig(**values)


@dataclass
class DriveProgress:
    """Progress of a run, passed to the progress callback and returned by :meth:`DriveRuntime.run`."""

    run_id: str
    sim_time_s: float
    wall_s: float
    events: int
    acked: int
    pending: int
    replayed: int
    outages: int
    publisher_state: str
    commands_applied: int
    commands_rejected: int
    cpu_s: float = 0.0
    lag_s: float = 0.0  # how far the simulation is behind its real-time target [wall s]
    dead_lettered: int = 0  # events set aside as undeliverable (see EventPublisher)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s > 0 else 0.0

    def line(self) -> str:
        return (
            f"t_sim={self.sim_time_s:9.1f}s events={self.events} acked={self.acked} "
            f"spooled={self.pending} rate={self.events_per_s:.0f}/s kafka={self.publisher_state}"
            f" lag={self.lag_s:.2f}s"
            + (f" set_aside={self.dead_lettered}" if self.dead_lettered else "")
        )


class DriveRuntime:
    """A fleet simulation publishing events and obeying commands, paced to the wall clock.

    Args:
        config: What to simulate.
        settings: Resolved settings; default :func:`vehsim.config.load_settings`.
        bootstrap: Kafka bootstrap servers; default: resolved from settings.
        run_id: Identifier of this run (default: a new UUID).
        publisher: An event sink with ``start()``, ``publish(event)``, ``stats()`` and
            ``close(timeout_s)`` (default: an :class:`EventPublisher`).
        listen: Read the commands topic (default True).
        progress: Called with a :class:`DriveProgress` every ``progress_interval_s`` wall seconds.
    """

    def __init__(
        self,
        config: DriveConfig,
        settings: Settings | None = None,
        *,
        bootstrap: str | None = None,
        run_id: str | None = None,
        publisher=None,
        listen: bool = True,
        progress: Callable[[DriveProgress], None] | None = None,
        progress_interval_s: float = 1.0,
    ):
        self.config = config
        self.settings = settings or load_settings()
        self.run_id = run_id or str(uuid.uuid4())
        self.vehicle_ids = list(config.vehicle_ids)
        self._index = {vid: i for i, vid in enumerate(self.vehicle_ids)}
        loaded = {name: vehsim.load_vehicle(name) for name in dict.fromkeys(config.vehicles)}
        params = [loaded[name] for name in config.vehicles]
        self.sim = vehsim.Simulator(
            params,
            dt_s=config.dt_s,
            seed=config.seed,
            ambient_temp_c=config.ambient_temp_c,
            start=config.start,
        )
        self.sim.set_driver(slice(None), config.driver)
        for i, specs in enumerate(config.faults or ()):
            for spec in specs:
                self.sim.inject_fault(i, spec)
        self._raw_payload = vehsim.telemetry.raw_payload
        if bootstrap is None and (publisher is None or listen):
            bootstrap = resolve_bootstrap(self.settings)
        self.bootstrap = bootstrap
        if publisher is None:
            publisher = EventPublisher(self.settings, run_id=self.run_id, bootstrap=bootstrap)
        self.publisher = publisher
        self.listener = None
        if listen:
            self.listener = CommandListener(self.settings, bootstrap=bootstrap)
        self.progress = progress
        self.progress_interval_s = progress_interval_s

        n = len(self.vehicle_ids)
        self._seq = dict.fromkeys([*self.vehicle_ids, BROADCAST_VEHICLE_ID], 0)
        self._engine_on = [False] * n
        self._engine_cause: list[tuple[bool, str] | None] = [None] * n  # (wanted on, command_id)
        self._local_commands: list[IncomingCommand] = []
        self._local_lock = threading.Lock()
        self._stop = threading.Event()
        self._events = 0
        self.commands_applied = 0
        self.commands_rejected = 0
        self._wall0 = 0.0
        self._cpu0 = 0.0
        self._sim0 = 0.0
        self._clock0 = datetime.now(UTC)
        self._lag_s = 0.0
        self.labels_written = 0
        self._speedup_request: float | None = None

    # -- control from other threads --------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to end after the current tick (safe from signal handlers and threads)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def submit_command(self, command: dict[str, Any], vehicle_id: str) -> str:
        """Queue a command for the next tick without Kafka (in-process use); returns its id."""
        command_id = str(uuid.uuid4())
        incoming = IncomingCommand(vehicle_id, command_id, dict(command))
        with self._local_lock:
            self._local_commands.append(incoming)
        return command_id

    def submit_message(self, value: bytes | str) -> None:
        """Queue a raw commands-topic message for the next tick, as if read from Kafka
        (checked by :func:`~vehsim.stream.commands.decode_command`; for in-process use)."""
        incoming = decode_command(value)
        with self._local_lock:
            self._local_commands.append(incoming)

    def set_speedup(self, speedup: float) -> None:
        """Change the pace from the next tick on (``math.inf``: as fast as possible); e.g. run
        a car sped up until a fault has set its code, then in real time to read it."""
        if not speedup > 0:
            raise ConfigError(f"speedup must be > 0 (or math.inf), got {speedup!r}")
        self.config.speedup = speedup
        self._speedup_request = float(speedup)

    @property
    def commands_ready(self) -> bool:
        """True once the commands topic is being read (commands sent from now on are seen)."""
        return self.listener is None or self.listener.ready

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> DriveProgress:
        """Run until ``duration_s`` of simulated time or :meth:`stop`; flush; return the totals."""
        tick_s = 1.0 / self.config.rate_hz
        duration_s = self.config.duration_s
        speedup = self.config.speedup
        self.publisher.start()
        if self.listener is not None:
            # Wait (briefly) to be positioned on the commands topic, unless Kafka is away.
            self.listener.start(wait_s=10.0 if tcp_reachable(self.bootstrap) else 0.0)
        self._wall0 = time.monotonic()
        self._cpu0 = time.process_time()
        self._sim0 = self.sim.time_s
        # The simulation's clock: wall time at the start of the run minus the simulated time
        # already done, so that sim_clock_utc = clock0 + sim_time_s.
        self._clock0 = datetime.now(UTC) - timedelta(seconds=self.sim.time_s)
        self._label_start_faults()
        next_progress = self._wall0 + self.progress_interval_s
        pace_wall0, pace_sim0 = self._wall0, self._sim0  # where the pacing counts from
        try:
            while not self._stop.is_set():
                if self._speedup_request is not None:
                    speedup, self._speedup_request = self._speedup_request, None
                    pace_wall0, pace_sim0 = time.monotonic(), self.sim.time_s
                elapsed_sim = self.sim.time_s - self._sim0
                if duration_s is not None and elapsed_sim >= duration_s - 1e-9:
                    break
                step_s = tick_s if duration_s is None else min(tick_s, duration_s - elapsed_sim)
                self._apply_commands()
                self.sim.advance(step_s)
                self._emit_dtc_changes()
                self._emit_tick()
                now = time.monotonic()
                if math.isfinite(speedup):
                    target = pace_wall0 + (self.sim.time_s - pace_sim0) / speedup
                    self._lag_s = max(0.0, now - target)
                    if target > now:
                        self._stop.wait(target - now)
                if self.progress is not None and now >= next_progress:
                    self.progress(self.snapshot_progress())
                    next_progress = now + self.progress_interval_s
        finally:
            self._finish()
        return self.snapshot_progress()

    def _finish(self) -> None:
        if self.listener is not None:
            self.listener.close(timeout_s=1.0)  # a listener stuck connecting is a daemon
        # Commands that arrived before shutdown are answered, so none is silently dropped.
        self._apply_commands(limit=None)
        self._final_stats = self.publisher.close(timeout_s=30.0)

    def snapshot_progress(self) -> DriveProgress:
        stats = getattr(self, "_final_stats", None) or self.publisher.stats()
        return DriveProgress(
            run_id=self.run_id,
            sim_time_s=self.sim.time_s - self._sim0,
            wall_s=time.monotonic() - self._wall0,
            events=self._events,
            acked=stats.acked,
            pending=stats.pending,
            replayed=stats.replayed,
            outages=stats.outages,
            publisher_state=stats.state,
            commands_applied=self.commands_applied,
            commands_rejected=self.commands_rejected,
            cpu_s=time.process_time() - self._cpu0,
            lag_s=self._lag_s,
            dead_lettered=stats.dead_lettered,
        )

    # -- events ----------------------------------------------------------------------------------
    def _emit(
        self, event_type: str, vehicle_id: str, payload: dict, emitted_at: str | None
    ) -> None:
        seq = self._seq[vehicle_id]
        event = make_event(
            event_type,
            vehicle_id,
            self.run_id,
            seq,
            self.sim.time_s,
            payload,
            emitted_at=emitted_at,
        )
        self.publisher.publish(event)  # encodes first: an event it refuses takes no seq
        self._seq[vehicle_id] = seq + 1
        self._events += 1

    def _emit_dtc_changes(self) -> None:
        """One ``diagnostic.dtc`` event per change of a code's status since the last tick."""
        emitted_at = utc_now_iso()
        for change in self.sim.drain_dtc_changes():
            payload = change.payload()
            # the simulation's clock at the change, as telemetry carries it: in a sped-up run
            # the lake places a code on the car's timeline, not on the wall clock
            payload["sim_clock_utc"] = utc_iso(self._clock0 + timedelta(seconds=change.time_s))
            self._emit(DIAGNOSTIC_DTC, self.vehicle_ids[change.vehicle], payload, emitted_at)

    # -- ground-truth labels -----------------------------------------------------------------------
    def _write_labels(self, items: list[tuple[int, FaultSpec]], source: str) -> None:
        """Record which vehicle has which fault (``vehsim.labels``), beside the event stream.

        Labels are the experiments' truth; the events never carry them. A label that cannot
        be written is logged, not fatal: the run and its events stay as they are.
        """
        if not items:
            return

        try:
            labels = [
                fault_label(self.run_id, self.vehicle_ids[i], spec, source, self._clock0)
                for i, spec in items
            ]
            append_labels(labels, self.settings.home)
            self.labels_written += len(labels)
        except Exception:
            log.exception("fault labels of run %s could not be written", self.run_id)

    def _label_start_faults(self) -> None:
        items = [(i, spec) for i, specs in enumerate(self.config.faults or ()) for spec in specs]
        self._write_labels(items, self.config.label_source)

    def _label_command(self, command, targets: list[int], had: dict[int, list[str]]) -> None:
        """Labels of an applied ``inject_fault`` / ``clear_fault``: the fault from its onset,
        or severity 0 from now for each fault ``had`` (per target, before the command) that
        the clear repaired."""
        items: list[tuple[int, FaultSpec]] = []
        for i in targets:
            now_s = float(self.sim.state[i, S["time_s"]])
            if command.type == "inject_fault":
                spec = command.fault_spec()
                items.append((i, FaultSpec(spec.name, spec.severity, now_s + spec.onset_s)))
            else:
                names = [n for n in had.get(i, ()) if command.value in ("all", n)]
                items += [(i, FaultSpec(name, 0.0, now_s)) for name in names]
        self._write_labels(items, "command")

    def _emit_tick(self) -> None:
        snapshot = self.sim.snapshot()
        emitted_at = utc_now_iso()
        sim_clock = utc_iso(self._clock0 + timedelta(seconds=self.sim.time_s))
        for i, vehicle_id in enumerate(self.vehicle_ids):
            payload = self._raw_payload(snapshot, i)
            payload["sim_clock_utc"] = sim_clock
            on = payload["engine_on"]
            if on != self._engine_on[i]:
                self._engine_on[i] = on
                cause = self._engine_cause[i]
                by_command = cause is not None and cause[0] == on
                self._emit(
                    ENGINE_STARTED if on else ENGINE_STOPPED,
                    vehicle_id,
                    {
                        "cause": "command" if by_command else "driver",
                        "command_id": cause[1] if by_command else None,
                    },
                    emitted_at,
                )
                if by_command:
                    self._engine_cause[i] = None
            self._emit(SIMULATION_RAW, vehicle_id, payload, emitted_at)

    # -- commands --------------------------------------------------------------------------------
    def _apply_commands(self, limit: int | None = MAX_COMMANDS_PER_TICK) -> None:
        """Answer the commands received since the last tick, at most ``limit`` per tick (a flood
        waits for later ticks instead of stretching this one and stalling telemetry)."""
        incoming = self.listener.drain(limit) if self.listener is not None else []
        room = None if limit is None else max(0, limit - len(incoming))
        with self._local_lock:
            taken = self._local_commands[:room] if room is not None else self._local_commands
            incoming.extend(taken)
            del self._local_commands[: len(taken)]
        for command in incoming:
            try:
                self._apply_one(command)
            except Exception as exc:  # no command may end the run: answer it and go on
                log.exception("command %s could not be handled", command.command_id)
                self._reject(
                    command,
                    "command",
                    "internal_error",
                    f"the runtime could not handle this command ({type(exc).__name__})",
                )

    def _apply_one(self, incoming: IncomingCommand) -> None:
        vehicle_id = incoming.vehicle_id
        if vehicle_id is None or vehicle_id == BROADCAST_VEHICLE_ID:
            targets = list(range(len(self.vehicle_ids)))
        elif vehicle_id in self._index:
            targets = [self._index[vehicle_id]]
        else:
            log.debug(
                "command %s is for a vehicle not in this run: %r",
                incoming.command_id,
                excerpt(vehicle_id, 80),
            )
            return
        if incoming.error is not None:
            self._reject(incoming, *incoming.error)
            return
        try:
            command = vehsim.parse_command(incoming.command)
        except CommandError as exc:
            field_name, reason = exc.field or "command", exc.reason or "invalid"
            self._reject(incoming, field_name, reason, str(exc), targets=targets)
            return
        had = {i: [f.name for f in self.sim.faults(i)] for i in targets}
        refused = self._apply_to_all(command, targets)
        if refused is not None:
            self._reject(incoming, *refused, targets=targets)
            return
        command_id = incoming.command_id or str(uuid.uuid4())
        self.commands_applied += 1
        if command.type in ("inject_fault", "clear_fault"):
            self._label_command(command, targets, had)
        log.info("applied %s to %s (%s)", command.to_dict(), vehicle_id, command_id)
        for i in targets:
            if command.type in _ENGINE_COMMANDS:
                self._engine_cause[i] = (_ENGINE_COMMANDS[command.type], command_id)
            self._emit(
                DRIVER_COMMAND,
                self.vehicle_ids[i],
                {"command_id": command_id, "type": command.type, "value": command.value},
                None,
            )

    def _apply_to_all(self, command, targets: list[int]) -> tuple[str, str, str] | None:
        """Apply ``command`` to every target or to none; ``(field, reason, message)`` if none.

        A command can be valid for one car and not another (``gear 7`` on a 2-gear car), so the
        targets' inputs are saved first and restored when any of them refuses.
        """
        saved = self.sim.inputs[targets].copy()
        for i in targets:
            try:
                self.sim.apply(i, command)
            except Exception as exc:
                self.sim.inputs[targets] = saved
                if isinstance(exc, CommandError):
                    field_name, reason = exc.field or "command", exc.reason or "invalid"
                else:
                    log.exception("applying %s to %s failed", command, self.vehicle_ids[i])
                    field_name, reason = "command", "internal_error"
                message = str(exc) if isinstance(exc, CommandError) else type(exc).__name__
                if len(targets) > 1:
                    message = (
                        f"not applied to any of the {len(targets)} vehicles: "
                        f"{self.vehicle_ids[i]} refused it: {message}"
                    )
                return field_name, reason, message
        return None

    def _reject(
        self,
        incoming: IncomingCommand,
        field_name: str,
        reason: str,
        message: str,
        *,
        targets: list[int] | None = None,
    ) -> None:
        """Answer a command with ``command.rejected``: on each target's stream when the command
        reached vehicles of this run (a refused broadcast: every one), else once under ``"*"``.

        The payload holds excerpts only (:func:`~vehsim.events.value_excerpt`), so a rejection
        stays small whatever was received.
        """
        self.commands_rejected += 1
        log.warning(
            "rejected command %s for %s: %s",
            excerpt(str(incoming.command_id), 80),
            excerpt(str(incoming.vehicle_id), 80),
            excerpt(message),
        )
        command = incoming.command if isinstance(incoming.command, dict) else {}
        kind = command.get("type")
        payload = {
            "command_id": None if incoming.command_id is None else excerpt(incoming.command_id),
            "type": None if kind is None else value_excerpt(str(kind)),
            "value": value_excerpt(command.get("value")),
            "field": excerpt(str(field_name)),
            "reason": excerpt(str(reason)),
            "message": excerpt(str(message), MAX_MESSAGE_CHARS),
            "raw": None if incoming.raw is None else excerpt(incoming.raw),
        }
        if targets is not None:
            streams = [self.vehicle_ids[i] for i in targets]
        elif incoming.vehicle_id in self._index:
            streams = [incoming.vehicle_id]
        else:
            streams = [BROADCAST_VEHICLE_ID]
        for vehicle_id in streams:
            self._emit(COMMAND_REJECTED, vehicle_id, payload, None)


def fleet(n: int, vehicle: str | None = None) -> list[str]:
    """Vehicle names for ``n`` cars: ``vehicle`` repeated, or every known vehicle in turn."""
    if n < 1:
        raise ConfigError(f"the number of vehicles must be >= 1, got {n}")
    if vehicle is not None:
        vehsim.load_vehicle(vehicle)  # fail early with the loader's message
        return [vehicle] * n
    names = sorted(vehsim.list_vehicles())
    if not names:
        raise ConfigError("no vehicle parameter sets are installed")
    return [names[i % len(names)] for i in range(n)]
