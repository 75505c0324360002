"""Follow the telemetry topic from a background thread: latest event per vehicle, and a callback.

For dashboards in connected mode and for notebooks::

    follower = TelemetryFollower().start()
    ...
    follower.latest()            # {vehicle_id: latest simulation.raw event}
    follower.events_since(0)     # recent events of any type (bounded buffer)
    follower.close()

Partitions are assigned directly (no consumer group) and positioned with
:func:`vehsim.stream.offsets.end_offsets`, so it starts with the next event.
Malformed records are counted and skipped, never raised into the caller.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim.events import SIMULATION_RAW
from vehsim.stream.kafka_config import client_config
from vehsim.stream.offsets import end_offsets
from vehsim.stream.reader import LiveTopicReader

# kafka-python (the [stream] extra) is imported inside the functions that use it, so that
# `import vehsim` and the offline commands work without it.

log = logging.getLogger(__name__)


class TelemetryFollower(LiveTopicReader):
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

    thread_name = "vehsim-follow"

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
        settings = settings or load_settings()
        super().__init__(
            settings,
            bootstrap=bootstrap,
            topic=settings.telemetry_topic,
            from_beginning=from_beginning,
            poll_interval_s=0.05,
        )
        self.vehicle_ids = set(vehicle_ids) if vehicle_ids is not None else None
        self.run_id = run_id
        self.on_event = on_event
        self._lock = threading.Lock()
        self._latest: dict[str, dict[str, Any]] = {}
        self._recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=buffer_size)
        self._count = 0
        self.malformed = 0

    def start(self, wait_s: float = 10.0) -> TelemetryFollower:
        """Start the thread and wait up to ``wait_s`` until it is positioned on the topic."""
        return super().start(wait_s)

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

    def _handle(self, record) -> None:
        try:
            event = json.loads(record.value)
        except (TypeError, ValueError, RecursionError):  # deep nesting too: skip, never reconnect
            self.malformed += 1
            return
        if isinstance(event, dict):
            self._keep(event)
        else:
            self.malformed += 1


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
    from kafka import KafkaConsumer, TopicPartition

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
        ends = end_offsets(consumer, tps)
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
