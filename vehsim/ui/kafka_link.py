"""Connected mode: commands go to the Kafka commands topic, gauges follow the telemetry topic.

The kernel never waits on the network: :class:`vehsim.stream.follow.TelemetryFollower` reads
telemetry on its own thread (partitions assigned directly, positioned at their true end, so no
consumer-group join delays the first reading) and a daemon thread publishes commands through
:class:`vehsim.stream.commands.CommandSender`; :meth:`ConnectedSource.poll` only drains what the
follower queued. The car itself runs elsewhere, e.g. ``vehsim drive --driver commands``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from vehsim.commands import parse_command
from vehsim.config import Settings, load_settings
from vehsim.errors import VehsimError
from vehsim.events import DIAGNOSTIC_DTC, DIAGNOSTIC_PREDICTION, DRIVER_COACHING, make_command
from vehsim.params import list_vehicles, load_vehicle
from vehsim.stream.broker import resolve_bootstrap
from vehsim.stream.commands import CommandSender
from vehsim.stream.follow import TelemetryFollower
from vehsim.ui.advice import NO_ADVICE, AdvicePanel, apply_advice_event
from vehsim.ui.dtc import NO_CODES, DiagnosticStatus, apply_dtc_event
from vehsim.ui.sources import ClusterHints, Command, PacedQueue, Sample, hints_for

log = logging.getLogger(__name__)

_RETRY_S = 2.0


class ConnectedSource:
    """Follow one vehicle's telemetry on Kafka and send it driver commands.

    Args:
        settings: configuration (topics, security); default :func:`vehsim.config.load_settings`.
        vehicle_id: vehicle to follow and command; ``None`` adopts the first vehicle seen.
        bootstrap: ``host:port``; default ``VEHSIM_KAFKA_BOOTSTRAP`` or the embedded broker.
        buffer_size: readings kept between two polls (older ones are dropped).
        max_backlog: readings allowed to wait for display before the older ones are skipped.
    """

    mode = "connected"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        vehicle_id: str | None = None,
        bootstrap: str | None = None,
        buffer_size: int = 4096,
        max_backlog: int = 3,
    ):
        self.settings = settings or load_settings()
        self.bootstrap = bootstrap or resolve_bootstrap(self.settings)
        self.vehicle_id = vehicle_id
        self.received = 0
        self.skipped = 0
        #: Every vehicle seen on the telemetry topic, in order of appearance.
        self.vehicles_seen: list[str] = [vehicle_id] if vehicle_id else []
        self._samples = PacedQueue(max_backlog, maxlen=buffer_size)
        #: Per vehicle: the ``vehicle_model`` its payloads name, its trouble codes, and what
        #: ``vehsim score`` said of it.
        self._models: dict[str, str] = {}
        self._dtc: dict[str, DiagnosticStatus] = {}
        self._advice: dict[str, AdvicePanel] = {}
        self._hints: dict[str, ClusterHints] = {}
        self._notices: deque[str] = deque(maxlen=32)
        self._commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._follower = TelemetryFollower(
            self.settings, bootstrap=self.bootstrap, on_event=self._handle, buffer_size=64
        ).start(wait_s=0)
        self._publisher = threading.Thread(
            target=self._publish, name="vehsim-ui-commands", daemon=True
        )
        self._publisher.start()
        self._note(f"waiting for telemetry on {self.settings.telemetry_topic} at {self.bootstrap}")

    # -- the source interface ---------------------------------------------------------------
    @property
    def vehicle_choices(self) -> list[str]:
        return list(self.vehicles_seen)

    def cluster_hints(self) -> ClusterHints:
        """Scales and spec sheet of the followed car, when its ``vehicle_model`` is a shipped
        vehicle (the payload names the model, not its parameters); defaults otherwise."""
        model = self._models.get(self.vehicle_id or "")
        if model is None:
            return ClusterHints()
        if model not in self._hints:
            known = model in list_vehicles()
            self._hints[model] = hints_for(load_vehicle(model)) if known else ClusterHints()
        return self._hints[model]

    def diagnostics(self) -> DiagnosticStatus:
        """The followed car's MIL and codes, rebuilt from its ``diagnostic.dtc`` events."""
        return self._dtc.get(self.vehicle_id or "", NO_CODES)

    def advice(self) -> AdvicePanel:
        """The followed car's diagnosis and coaching, from ``vehsim score``'s events."""
        return self._advice.get(self.vehicle_id or "", NO_ADVICE)

    def pause(self) -> None:
        """Nothing to pause: the car runs elsewhere, and the paced queue skips a backlog."""

    def describe(self) -> str:
        who = f"vehicle {self.vehicle_id}" if self.vehicle_id else "the first vehicle seen"
        return f"following {who} on {self.settings.telemetry_topic} at {self.bootstrap}"

    def send(self, command: Command) -> None:
        """Validate ``command`` and queue it for the commands topic (returns at once).

        Raises:
            CommandError: the command is malformed or out of range.
            VehsimError: no vehicle has been seen yet, so there is no one to address.
        """
        parse_command(dict(command))  # refuse bad input here, with the field named
        if not self.vehicle_id:
            raise VehsimError(
                f"no vehicle seen on {self.settings.telemetry_topic} yet; start one with "
                "'vehsim drive --driver commands'"
            )
        self._commands.put(make_command(self.vehicle_id, command["type"], command.get("value")))

    def poll(self, now_s: float) -> list[Sample]:
        """Readings due now, paced one per tick (see :class:`vehsim.ui.sources.PacedQueue`)."""
        return self._samples.pop_due()

    def notices(self) -> list[str]:
        out = []
        while self._notices:
            out.append(self._notices.popleft())
        return out

    def follow(self, vehicle_id: str) -> None:
        """Follow (and command) another vehicle from now on."""
        if vehicle_id != self.vehicle_id:
            self.vehicle_id = vehicle_id
            self._samples.clear()
            self._note(f"following vehicle {vehicle_id}")

    def wait_following(self, timeout_s: float = 20.0) -> bool:
        """Block until the follower is positioned on the telemetry topic (for scripts, tests)."""
        self._follower.start(wait_s=timeout_s)
        return self._follower.ready

    def close(self) -> None:
        self._stop.set()
        self._follower.close()
        self._publisher.join(timeout=3.0)

    # -- threads ----------------------------------------------------------------------------
    def _note(self, message: str) -> None:
        log.info("%s", message)
        self._notices.append(message)

    def _handle(self, event: dict[str, Any]) -> None:
        """Called on the follower's thread with each decoded event."""
        kind, vehicle_id = event.get("event_type"), event.get("vehicle_id")
        if not isinstance(vehicle_id, str):
            self.skipped += 1
            return
        if kind == "simulation.raw":
            if vehicle_id not in self.vehicles_seen:
                self.vehicles_seen.append(vehicle_id)
            if self.vehicle_id is None:
                self.vehicle_id = vehicle_id
                self._note(f"following vehicle {vehicle_id}")
            payload = event.get("payload")
            if isinstance(payload, Mapping) and isinstance(payload.get("vehicle_model"), str):
                self._models[vehicle_id] = payload["vehicle_model"]
            if vehicle_id == self.vehicle_id and isinstance(payload, Mapping):
                self.received += 1
                self._samples.push(
                    Sample(float(event.get("sim_time_s", 0.0)), event["payload"], vehicle_id)
                )
        elif kind == DIAGNOSTIC_DTC and isinstance(event.get("payload"), Mapping):
            status = self._dtc.get(vehicle_id, NO_CODES)
            self._dtc[vehicle_id] = apply_dtc_event(status, event["payload"])
        elif kind in (DIAGNOSTIC_PREDICTION, DRIVER_COACHING):
            panel = self._advice.get(vehicle_id, NO_ADVICE)
            self._advice[vehicle_id] = apply_advice_event(panel, event)
        elif kind == "command.rejected" and vehicle_id == self.vehicle_id:
            payload = event.get("payload") or {}
            self._note(f"Command refused by the car: {payload.get('message', payload)}")

    def _publish(self) -> None:
        sender = None
        while not self._stop.is_set():
            try:
                message = self._commands.get(timeout=0.2)
            except queue.Empty:
                continue
            while not self._stop.is_set():
                try:
                    if sender is None:
                        sender = CommandSender(self.settings, bootstrap=self.bootstrap)
                    sender.send_message(message)
                    break
                except Exception as exc:  # keep the command; try again when the broker answers
                    self._note(f"command not sent yet ({exc}); retrying")
                    if sender is not None:
                        sender.close()
                        sender = None
                    self._stop.wait(_RETRY_S)
        if sender is not None:
            sender.close()
