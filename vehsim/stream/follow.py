"""Follow the telemetry topic from a background thread: latest event per vehicle, and a callback.

For dashboards in connected mode and for notebooks::

    follower = TelemetryFollower().start()
    ...
    follower.latest()            # {vehicle_id: latest simulation.raw event}
    follower.events_since(0)     # recent events of any type (bounded buffer)
    follower.close()

Partitions are assigned directly (no consumer group) and positioned with
:func:`vehsim.stream.offsets.true_end_offsets`, so it starts with the next event on any broker.
Malformed records are counted and skipped, never raised into the caller.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim.events import SIMULATION_RAW
from vehsim.stream.commands import LIVE_FETCH_MAX_WAIT_MS

log = logging.getLogger(__name__)


class TelemetryFollower:
    """Reads the telemetry topic continuously and keeps the latest state of every vehicle.

    Args:
        settings: Resolved settings; default :func:`load_settings`.
        bootstrap: Kafka bootstrap servers; default: resolved from settings.
        from_beginning: Start at the beginning of the topic instead of its end.
        vehicle_ids: Keep only these vehicles (default: all).
        run_id: Keep only events of this run (default: all runs).
        on_event: Called from the follower thread with each decoded event (keep it short; to
            touch widgets use ``loop.call_soon_threadsafe``).
        buffer_size: How many recent events :meth:`events_since` can return.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        bootstrap: str | None = None,
        from_beginning: bool = False,
        vehicle_ids: Iterable[str] | None = None,
        run_id: str | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        buffer_size: int = 10_000,
    ):
        self.settings = settings or load_settings()
        if bootstrap is None:
            from vehsim.stream.broker import resolve_bootstrap

            bootstrap = resolve_bootstrap(self.settings)
        self.bootstrap = bootstrap
        self.topic = self.settings.telemetry_topic
        self.from_beginning = from_beginning
        self.vehicle_ids = set(vehicle_ids) if vehicle_ids is not None else None
        self.run_id = run_id
        self.on_event = on_event
        self._lock = threading.Lock()
        self._latest: dict[str, dict[str, Any]] = {}
        self._recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=buffer_size)
        self._count = 0
        self.malformed = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._positions: dict[int, int] = {}

    def start(self, wait_s: float = 10.0) -> TelemetryFollower:
        """Start the thread and wait up to ``wait_s`` until it is positioned on the topic."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vehsim-follow", daemon=True)
            self._thread.start()
        if wait_s:
            self._ready.wait(wait_s)
        return self

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def count(self) -> int:
        """Events kept so far (after filters)."""
        return self._count

    def latest(self) -> dict[str, dict[str, Any]]:
        """``{vehicle_id: latest simulation.raw event}`` (a copy)."""
        with self._lock:
            return dict(self._latest)

    def events_since(self, count: int) -> tuple[int, list[dict[str, Any]]]:
        """Events kept after the first ``count`` (those still buffered), and the new count."""
        with self._lock:
            return self._count, [e for n, e in self._recent if n >= count]

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> TelemetryFollower:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _keep(self, event: dict[str, Any]) -> None:
        if self.vehicle_ids is not None and event.get("vehicle_id") not in self.vehicle_ids:
            return
        if self.run_id is not None and event.get("run_id") != self.run_id:
            return
        with self._lock:
            self._recent.append((self._count, event))
            self._count += 1
            if event.get("event_type") == SIMULATION_RAW:
                self._latest[event["vehicle_id"]] = event
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("telemetry follower callback failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as exc:
                log.info("telemetry follower: %s; retrying", exc)
                self._stop.wait(1.0)

    def _consume(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from vehsim.stream.kafka_config import client_config
        from vehsim.stream.offsets import true_end_offsets

        consumer = KafkaConsumer(
            **client_config(self.settings, self.bootstrap),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            bootstrap_timeout_ms=5_000,
            fetch_max_wait_ms=LIVE_FETCH_MAX_WAIT_MS,
        )
        try:
            partitions = None
            while not partitions and not self._stop.is_set():
                consumer.topics()
                partitions = consumer.partitions_for_topic(self.topic)
                if not partitions:
                    self._stop.wait(0.5)
            if not partitions:
                return
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            ends = true_end_offsets(consumer, tps)
            for tp in tps:
                if tp.partition in self._positions:
                    position = self._positions[tp.partition]
                    consumer.seek(tp, position if position <= ends[tp] else 0)
                else:
                    consumer.seek(tp, 0 if self.from_beginning else ends[tp])
                self._positions[tp.partition] = consumer.position(tp)
            self._ready.set()
            while not self._stop.is_set():
                for _tp, records in consumer.poll(timeout_ms=50).items():
                    for record in records:
                        self._positions[record.partition] = record.offset + 1
                        try:
                            event = json.loads(record.value)
                        except (TypeError, ValueError):
                            self.malformed += 1
                            continue
                        if isinstance(event, dict):
                            self._keep(event)
                        else:
                            self.malformed += 1
        finally:
            consumer.close()


def read_topic(
    settings: Settings | None = None,
    *,
    bootstrap: str | None = None,
    topic: str | None = None,
    timeout_s: float = 30.0,
) -> list[tuple[int, int, bytes | None, bytes]]:
    """Every record now in ``topic`` (default: telemetry), as ``(partition, offset, key, value)``.

    Reads each partition from its beginning up to its true end offset (for notebooks, checks
    and tests; a live view uses :class:`TelemetryFollower`).

    Raises:
        TimeoutError: the records up to the end offsets could not be read in ``timeout_s``.
    """
    import time

    from kafka import KafkaConsumer, TopicPartition

    from vehsim.stream.kafka_config import client_config
    from vehsim.stream.offsets import true_end_offsets

    settings = settings or load_settings()
    topic = topic or settings.telemetry_topic
    consumer = KafkaConsumer(
        **client_config(settings, bootstrap), enable_auto_commit=False, fetch_max_wait_ms=100
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        ends = true_end_offsets(consumer, tps)
        starts = consumer.beginning_offsets(tps)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        out = []
        todo = {tp for tp in tps if starts[tp] < ends[tp]}
        deadline = time.monotonic() + timeout_s
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} up to {ends} in {timeout_s} s")
            for tp, records in consumer.poll(timeout_ms=200).items():
                for r in records:
                    if r.offset < ends[tp]:
                        out.append((tp.partition, r.offset, r.key, r.value))
                if consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
        return out
    finally:
        consumer.close()
