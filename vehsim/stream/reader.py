"""A background thread that follows a Kafka topic from its end (or beginning), across outages.

The command listener and the telemetry follower both read a topic live with partitions
assigned directly (no consumer group: nothing to share, and no group join to wait for), keep
their positions, reconnect when the broker comes back, and start a recreated topic (deleted and
created again, so its offsets restart at 0) from its beginning. They differ only in what they
do with each record.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim.stream.broker import resolve_bootstrap
from vehsim.stream.kafka_config import client_config
from vehsim.stream.offsets import end_offsets

# kafka-python (the [stream] extra) is imported inside the functions that use it, so that
# `import vehsim` and the offline commands work without it.

log = logging.getLogger(__name__)

#: How long the broker may hold a fetch on an idle topic [ms]. A person's command should reach
#: the car within a frame or two, so live readers ask often (small, cheap requests).
LIVE_FETCH_MAX_WAIT_MS = 20


class LiveTopicReader:
    """Base class: subclasses implement :meth:`_handle` for each record.

    Args:
        settings: Resolved settings; default :func:`load_settings`.
        bootstrap: Kafka bootstrap servers; default: resolved from settings.
        topic: Topic to follow.
        from_beginning: Read what is already on the topic (default: only new records).
        poll_interval_s: Longest wait of one poll when nothing arrives.
    """

    thread_name = "vehsim-reader"

    def __init__(
        self,
        settings: Settings | None,
        *,
        bootstrap: str | None,
        topic: str,
        from_beginning: bool,
        poll_interval_s: float = 0.1,
    ):
        self.settings = settings or load_settings()
        if bootstrap is None:
            bootstrap = resolve_bootstrap(self.settings)
        self.bootstrap = bootstrap
        self.topic = topic
        self.from_beginning = from_beginning
        self.poll_interval_s = poll_interval_s
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._positions: dict[int, int] = {}

    def start(self, wait_s: float = 0.0):
        """Start the thread; wait up to ``wait_s`` until it is positioned on the topic."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
        if wait_s:
            self._ready.wait(wait_s)
        return self

    @property
    def ready(self) -> bool:
        """True once partitions are assigned and positioned (new records will be seen)."""
        return self._ready.is_set()

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _handle(self, record: Any) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as exc:  # broker away, topic missing: retry
                log.info("%s: %s; retrying", self.thread_name, exc)
                self._stop.wait(1.0)

    def _consume(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            **client_config(self.settings, self.bootstrap),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            bootstrap_timeout_ms=5_000,
            fetch_max_wait_ms=LIVE_FETCH_MAX_WAIT_MS,
            request_timeout_ms=10_000,
        )
        try:
            partitions = None
            while not partitions and not self._stop.is_set():
                consumer.topics()  # refresh metadata
                partitions = consumer.partitions_for_topic(self.topic)
                if not partitions:
                    self._stop.wait(0.5)
            if not partitions:
                return
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            ends = end_offsets(consumer, tps)
            for tp in tps:
                if tp.partition in self._positions:  # reconnect: continue where we were,
                    position = self._positions[tp.partition]
                    # unless the topic was recreated (its offsets start again at 0)
                    consumer.seek(tp, position if position <= ends[tp] else 0)
                else:
                    consumer.seek(tp, 0 if self.from_beginning else ends[tp])
                self._positions[tp.partition] = consumer.position(tp)
            self._ready.set()
            while not self._stop.is_set():
                for _tp, records in consumer.poll(
                    timeout_ms=int(self.poll_interval_s * 1000)
                ).items():
                    for record in records:
                        self._positions[record.partition] = record.offset + 1
                        try:
                            self._handle(record)
                        except Exception:  # a handler's bug skips one record, not a reconnect
                            log.exception(
                                "%s: handling record %d of %s[%d] failed; skipped",
                                self.thread_name,
                                record.offset,
                                self.topic,
                                record.partition,
                            )
        finally:
            consumer.close()
