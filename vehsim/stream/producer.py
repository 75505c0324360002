"""Publish events to Kafka through a durable spool: nothing lost, nothing sent twice.

:class:`EventPublisher` is the runtime's only way out to Kafka. ``publish(event)`` encodes the
event and returns at once; a sender thread appends every record to the
:class:`~vehsim.stream.spool.Spool` (``fsync``'d in groups) and then hands it to a kafka-python
producer (``acks=all``, idempotent, retries, batching, key = ``vehicle_id`` so one vehicle's
events stay in one partition, in order). Acknowledged records are marked in the spool.

When a send fails or times out (broker gone), the producer is aborted, the publisher goes
*offline* and keeps spooling; it probes the broker every ``retry_interval_s``, creates missing
topics when it answers, and replays every unacknowledged record in append order before sending
anything new. Records that were acknowledged individually are never sent again. A spool left
behind by an earlier run under the same ``VEHSIM_HOME`` is adopted and replayed first.

A record handed to a producer whose session ended without its acknowledgement may be stored
anyway (the broker wrote it, then crashed before answering). Before the replay, the publisher
therefore reads each partition it had such records in flight for, from the first offset they
could have taken (after the last acknowledgement seen before they were sent) to the current
end, and marks every one it finds there as acknowledged (:meth:`EventPublisher._confirm_stored`);
only the others are sent again. A new producer cannot do this by itself: the idempotent
producer's de-duplication ends with the producer session.

A record that can never be delivered — larger than :data:`MAX_RECORD_BYTES`, or refused by the
broker as too large — is *set aside*: written whole to a dead-letter file
(``<VEHSIM_HOME>/dead-letter/<spool name>.jsonl``, one JSON object per line with the reason) and
marked done in the spool, so it is never retried and never holds up the records behind it.
:attr:`PublisherStats.dead_lettered` counts them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim.events import encode_event, utc_now_iso
from vehsim.stream.broker import ensure_topics, resolve_bootstrap, tcp_reachable
from vehsim.stream.kafka_config import client_config
from vehsim.stream.offsets import end_offsets
from vehsim.stream.spool import Spool, SpoolRecord, orphaned_spools

# kafka-python (the [stream] extra) is imported inside the functions that use it, so that
# `import vehsim` and the offline commands work without it.

log = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"
CLOSED = "closed"

_STOP = object()

#: Largest record (key + value) the publisher hands to Kafka [bytes]. Below the producer's
#: ``max_request_size`` (1,000,000) with room for the batch framing, and below the broker's
#: default ``message.max.bytes`` (1,048,588). A larger record is set aside, not sent.
MAX_RECORD_BYTES = 990_000
DEAD_LETTER_DIR = "dead-letter"
#: Longest wait for a first answer from the broker when (re)connecting [ms]; kafka-python's
#: default of 30 s would make a failing handshake hold shutdown far past its bound.
CONNECT_TIMEOUT_MS = 5_000
#: Time a reconnect at shutdown may take at most (bootstrap, topics, limits) [s].
_CLOSE_GRACE_S = 5.0
#: Reconnects at most while closing (a broker that keeps failing sessions ends the attempt).
_SHUTDOWN_RECONNECTS = 5
#: Smallest batch_size the publisher learns from a broker's refusals [bytes].
_MIN_BATCH_BYTES = 1_024
_RECONNECT_BUDGET_S = 3 * CONNECT_TIMEOUT_MS / 1000
#: Room left in a topic's ``max.message.bytes`` for the record batch's own framing [bytes].
_BATCH_OVERHEAD_BYTES = 1_024
#: Longest time the check for records stored without acknowledgement may take [s]; past it the
#: reconnect counts as failed and is tried again (nothing is replayed unchecked).
CONFIRM_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PublisherStats:
    """Counters of an :class:`EventPublisher` (a consistent-enough snapshot for progress)."""

    state: str
    published: int  # events accepted by publish()
    acked: int  # records acknowledged by the broker (this run, including replays)
    pending: int  # spooled and not yet acknowledged (includes in flight)
    replayed: int  # records re-sent from the spool after an outage or adopted from a past run
    outages: int  # times the broker was found unreachable
    dead_lettered: int = 0  # records set aside in the dead-letter file, never to be sent
    confirmed: int = 0  # unacknowledged records found stored after an outage (not re-sent)


def producer_config(settings: Settings, bootstrap: str | None = None, **overrides) -> dict:
    """kafka-python ``KafkaProducer`` settings the runtime uses (and the benchmark compares)."""
    config = client_config(settings, bootstrap)
    request_timeout_ms = config.get("request_timeout_ms", 5_000)
    linger_ms = overrides.get("linger_ms", 20)
    config.update(
        acks="all",
        enable_idempotence=True,
        retries=2**31 - 1,  # bounded by delivery_timeout_ms
        linger_ms=linger_ms,
        batch_size=256 * 1024,
        max_request_size=1_000_000,
        request_timeout_ms=request_timeout_ms,
        delivery_timeout_ms=max(10_000, request_timeout_ms + linger_ms + 1_000),
        max_block_ms=10_000,
        bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
        allow_auto_create_topics=False,
    )
    config.update(overrides)
    return config


def spool_dir_name(run_id: str) -> str:
    """``<UTC start time>-<run id>``: sorting names sorts runs by age."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{run_id}"


class EventPublisher:
    """Durable, ordered, asynchronous publisher of vehsim events to one topic.

    Args:
        settings: Resolved settings (topic names, security); default :func:`load_settings`.
        run_id: Identifier of the run; names the spool directory.
        bootstrap: Kafka bootstrap servers; default: resolved from settings.
        topic: Topic of :meth:`publish`; default ``settings.telemetry_topic``.
        spool_root: Parent of spool directories; default ``settings.spool_dir``.
        retry_interval_s: How often an unreachable broker is probed.
        adopt_orphans: Replay spools left behind by earlier runs first.
        producer_overrides: Extra ``KafkaProducer`` keyword arguments.

    Use as a context manager or call :meth:`start` and :meth:`close`.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        run_id: str,
        bootstrap: str | None = None,
        topic: str | None = None,
        spool_root: Path | None = None,
        retry_interval_s: float = 1.0,
        adopt_orphans: bool = True,
        producer_overrides: Mapping[str, Any] | None = None,
    ):
        self.settings = settings or load_settings()
        self.run_id = run_id
        if bootstrap is None:
            bootstrap = resolve_bootstrap(self.settings)
        self.bootstrap = bootstrap
        self.topic = topic or self.settings.telemetry_topic
        self.spool_root = Path(spool_root or self.settings.spool_dir)
        self.retry_interval_s = retry_interval_s
        self.adopt_orphans = adopt_orphans
        self.producer_overrides = dict(producer_overrides or {})

        # publish() appends here (deque.append is atomic); the sender thread pops.
        self._queue: deque = deque()
        # (spool index, kafka future, topic, key, value, lowest offset it can take), send order
        self._in_flight: deque = deque()
        # (topic, partition) -> offset after the last acknowledgement seen (or the partition's
        # end when the session began): a record sent now lands at or after it
        self._floors: dict[tuple[str, int], int] = {}
        # records handed to a producer whose session ended before their acknowledgement:
        # (topic, partition) -> lowest offset they can have taken; and the spool index they
        # all lie below
        self._unconfirmed: dict[tuple[str, int], int] = {}
        self._unconfirmed_through = 0
        self._partitions: dict[tuple[str, bytes], int] = {}  # per producer session
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._closed = threading.Event()
        self._close_timeout_s = 30.0
        self._spool: Spool | None = None
        self._producer = None
        self._state = OFFLINE
        self._sent_through = 0  # records below this were handed to the current producer
        self._replay: Iterator[SpoolRecord] | None = None
        self._next_probe = 0.0
        self._published = 0
        self._acked = 0
        self._replayed = 0
        self._outages = 0
        self._error: BaseException | None = None
        self._last_progress = time.monotonic()
        self.stall_check_s = 2.0
        self.spool_path = self.spool_root / spool_dir_name(run_id)
        self.max_record_bytes = MAX_RECORD_BYTES
        self.dead_letter_path = (
            Path(self.settings.home) / DEAD_LETTER_DIR / f"{self.spool_path.name}.jsonl"
        )
        self._dead_lettered = 0
        self._confirmed = 0
        self._next_probe_now = False
        self._connect_failures: set[str] = set()
        self._refused_once: set[int] = set()  # spool indices the broker refused as too large
        self._batch_cap: int | None = None  # batch_size learned from such refusals [bytes]

    # -- public API ----------------------------------------------------------------------------
    def start(self) -> EventPublisher:
        """Open the spool, adopt orphaned spools and start the sender thread."""
        if self._thread is not None:
            return self
        self._spool = Spool(self.spool_path)
        if self.adopt_orphans:
            self._adopt_orphans()
        self._sent_through = self._spool.acked_through
        if self._spool.pending_count:
            self._replay = self._spool.pending()
        self._thread = threading.Thread(target=self._run, name="vehsim-publisher", daemon=True)
        self._thread.start()
        return self

    def publish(self, event: Mapping[str, Any]) -> None:
        """Queue one event (encoded now, keyed by its ``vehicle_id``); never blocks on Kafka."""
        self.publish_raw(event["vehicle_id"].encode(), encode_event(event))

    def publish_raw(self, key: bytes, value: bytes, topic: str | None = None) -> None:
        """Queue one already-encoded record."""
        if self._closing.is_set():
            raise RuntimeError("publisher is closed")
        self._published += 1
        self._queue.append((topic or self.topic, key, value))

    def stats(self) -> PublisherStats:
        spool = self._spool
        pending = spool.pending_count if spool is not None else 0
        pending += len(self._queue)
        return PublisherStats(
            self._state,
            self._published,
            self._acked,
            pending,
            self._replayed,
            self._outages,
            self._dead_lettered,
            self._confirmed,
        )

    def close(self, timeout_s: float = 30.0) -> PublisherStats:
        """Send what can be sent within ``timeout_s``, keep the rest in the spool, stop.

        Returns the final stats; ``pending > 0`` means records stay spooled for the next run.
        """
        if self._thread is None:
            return self.stats()
        self._close_timeout_s = timeout_s
        self._closing.set()
        self._queue.append(_STOP)
        # The thread may be inside a blocking client call that ignores the deadline; past it
        # plus a grace period, leave it (a daemon) with the spool as it is: fsync'd, replayed
        # by the next run.
        self._thread.join(timeout_s + _CLOSE_GRACE_S)
        if self._thread.is_alive():
            log.warning(
                "publisher did not stop within %.0f s; unsent records stay in %s",
                timeout_s + _CLOSE_GRACE_S,
                self.spool_path,
            )
            self._thread = None
            return self.stats()
        self._thread = None
        if self._error is not None:
            raise self._error
        return self.stats()

    def __enter__(self) -> EventPublisher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sender thread -------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # surfaced by close()
            log.exception("publisher thread failed; records stay in %s", self.spool_path)
            self._error = exc
        finally:
            self._shutdown()

    def _loop(self) -> None:
        stopping = False
        last_commit = time.monotonic()
        while True:
            batch, stopping = self._drain(stopping)
            if batch:
                first = self._spool.append(batch)
                self._spool.sync()
                if self._state == ONLINE and self._replay is None and first == self._sent_through:
                    self._send_batch(first, batch)
            self._collect()
            if self._state == OFFLINE and time.monotonic() >= self._next_probe:
                self._try_reconnect()
            if self._state == ONLINE and self._replay is not None:
                self._replay_some(20_000)
            now = time.monotonic()
            if self._state == ONLINE and now - self._last_progress > self.stall_check_s:
                self._check_stall(now)
            if now - last_commit > 0.2:
                self._spool.commit_acks()
                last_commit = now
            if stopping:
                return

    def _drain(self, stopping: bool) -> tuple[list, bool]:
        busy = self._replay is not None and self._state == ONLINE
        if not self._queue and not busy:
            time.sleep(0.005)  # cheaper than a lock per published event; linger is 20 ms anyway
        batch = []
        pop = self._queue.popleft
        try:
            while len(batch) < 10_000:
                item = pop()
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)
        except IndexError:
            pass
        return batch, stopping

    def _send_batch(self, first: int, batch: list) -> None:
        for offset, (topic, key, value) in enumerate(batch):
            if not self._send(first + offset, topic, key, value):
                return
        self._sent_through = first + len(batch)

    def _send(self, index: int, topic: str, key: bytes, value: bytes) -> bool:
        size = len(key) + len(value)
        if size > self.max_record_bytes:
            self._set_aside(
                index, topic, key, value,
                f"record is {size} bytes; at most {self.max_record_bytes} are sent",
            )  # fmt: skip
            return True
        try:
            partition = self._partitions.get((topic, key))
            if partition is None:  # the default partitioner's choice, hashed once per key
                from kafka.partitioner.default import murmur2

                partitions = sorted(self._producer.partitions_for(topic))
                partition = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
                self._partitions[(topic, key)] = partition
            # A topic other than the telemetry topic has no floor known: 0 (read all) is safe.
            floor = self._floors.get((topic, partition), 0)
            future = self._producer.send(topic, value=value, key=key, partition=partition)
        except Exception as exc:  # buffer full for too long, metadata unavailable, ...
            if _too_large(exc):
                self._set_aside(index, topic, key, value, f"the producer refused it: {exc}")
                return True
            self._go_offline(exc)
            return False
        self._in_flight.append((index, future, topic, key, value, floor))
        return True

    def _set_aside(self, index: int, topic: str, key: bytes, value: bytes, reason: str) -> None:
        """Write a record that can never be delivered to the dead-letter file; mark it done.

        The line holds the whole record (value as UTF-8 text, undecodable bytes replaced) so that
        nothing is lost; it is synced before the spool forgets the record.
        """
        line = {
            "set_aside_at": utc_now_iso(),
            "reason": reason,
            "topic": topic,
            "key": key.decode("utf-8", "replace"),
            "spool": self.spool_path.name,
            "spool_index": index,
            "value_bytes": len(value),
            "value": value.decode("utf-8", "replace"),
        }
        self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_letter_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._spool.ack(index)
        self._dead_lettered += 1
        log.error(
            "record %d (%d bytes, key %r) set aside in %s: %s",
            index,
            len(value),
            line["key"][:80],
            self.dead_letter_path,
            reason,
        )

    def _collect(self, everything: bool = False) -> None:
        """Mark finished sends in the spool: acknowledged ones as done; a failure ends the session.

        Futures are checked in send order and the scan stops at the first unfinished one (acks
        of other partitions wait a moment; cheaper than a callback per record). With
        ``everything`` (after an abort, when all are finished) the whole list is settled.
        """
        spool = self._spool
        in_flight = self._in_flight
        floors = self._floors
        failure = None
        progressed = False
        while in_flight:
            index, future, topic, key, value, floor = in_flight[0]
            if not future.is_done:
                if not everything:
                    break
                in_flight.popleft()
                self._suspect(index, topic, key, floor)
                continue
            in_flight.popleft()
            if future.succeeded():
                spool.ack(index)
                self._acked += 1
                progressed = True
                meta = future.value
                tp = (topic, meta.partition)
                if meta.offset >= floors.get(tp, 0):
                    floors[tp] = meta.offset + 1
                continue
            self._suspect(index, topic, key, floor)
            if failure is None:  # later failures follow from the first (the session is over)
                failure = (index, future.exception, topic, key, value)
        if progressed:
            self._last_progress = time.monotonic()
        if failure is not None and self._state == ONLINE:
            index, exc, topic, key, value = failure
            if _too_large(exc):
                self._on_refused_as_too_large(index, exc, topic, key, value)
            self._go_offline(exc, index)

    def _suspect(self, index: int, topic: str, key: bytes, floor: int) -> None:
        """Remember a record sent without acknowledgement: it may be stored all the same."""
        tp = (topic, self._partitions.get((topic, key), -1))
        known = self._unconfirmed.get(tp)
        self._unconfirmed[tp] = floor if known is None else min(known, floor)
        self._unconfirmed_through = max(self._unconfirmed_through, index + 1)

    def _on_refused_as_too_large(self, index, exc, topic, key, value) -> None:
        """The broker refused a batch as too large (its limit, unknown to us, is lower).

        An idempotent producer fails everything after such a refusal, so only the first failed
        record is considered. The first time, the next session's batches are capped below its
        size, so it is sent alone; refused again alone, it is too large by itself and is set
        aside. A batch of small records that was too large just gets smaller batches.
        """
        size = len(key) + len(value)
        if index in self._refused_once:
            self._set_aside(index, topic, key, value, f"the broker refused it: {exc}")
            self._refused_once.discard(index)
        else:
            self._refused_once.add(index)
            cap = max(_MIN_BATCH_BYTES, size - 1)
            self._batch_cap = cap if self._batch_cap is None else min(self._batch_cap, cap)
        self._next_probe_now = True

    def _check_stall(self, now: float) -> None:
        """Records in flight without an ack for a while and the broker refuses connections:
        it is gone, so stop waiting for the delivery timeout and start spooling now."""
        self._last_progress = now
        in_flight = self._sent_through > self._spool.acked_through and self._spool.pending_count
        if in_flight and not self._broker_reachable():
            self._go_offline(ConnectionError(f"broker at {self.bootstrap} refuses connections"))

    def _go_offline(self, exc: BaseException, index: int | None = None) -> None:
        self._outages += 1
        where = f" (record {index})" if index is not None else ""
        log.warning(
            "Kafka send failed%s: %s; spooling to %s and retrying every %.0f s",
            where,
            exc,
            self.spool_path,
            self.retry_interval_s,
        )
        self._abort_producer()
        self._state = OFFLINE
        self._replay = None
        delay = 0.0 if self._next_probe_now else self.retry_interval_s
        self._next_probe_now = False
        self._next_probe = time.monotonic() + delay

    def _abort_producer(self) -> None:
        """Stop the producer now, failing whatever it has not sent or not heard back about.

        ``KafkaProducer.close(timeout=0)`` flushes first and raises while records are pending,
        so the I/O thread is force-closed directly (kafka-python has no public abort); it fails
        every incomplete batch. Then every send is settled: acknowledged ones are marked, the
        rest stay pending in the spool for the replay.
        """
        producer, self._producer = self._producer, None
        if producer is not None:
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                sender.force_close()
                sender.join(10)
            try:
                producer.close(timeout=0)
            except Exception as exc:  # a broken producer may complain on close; it is gone anyway
                log.debug("closing aborted producer: %s", exc)
        state, self._state = self._state, OFFLINE  # settling must not recurse into _go_offline
        self._collect(everything=True)
        self._state = state

    def _broker_reachable(self) -> bool:
        return tcp_reachable(self.bootstrap)

    def _report_connect_failure(self, exc: BaseException) -> None:
        """Say once per distinct failure why the broker, which answers TCP, cannot be used."""
        text = (
            str(exc) if str(exc).startswith(type(exc).__name__) else f"{type(exc).__name__}: {exc}"
        )
        if text in self._connect_failures:
            log.info("broker at %s not ready yet: %s", self.bootstrap, text)
            return
        self._connect_failures.add(text)
        hint = ""
        protocol = self.settings.security_protocol
        if protocol != "PLAINTEXT":
            who = f", mechanism {self.settings.sasl_mechanism}, user {self.settings.sasl_username}"
            hint = (
                f" The broker accepts TCP connections but the Kafka handshake failed with security "
                f"protocol {protocol}{who if protocol.startswith('SASL') else ''}: check "
                "VEHSIM_KAFKA_SECURITY_PROTOCOL and VEHSIM_KAFKA_SASL_* (authentication refused, "
                "or the listener speaks another protocol); 'vehsim -v' shows the client's log."
            )
        log.warning(
            "cannot use the broker at %s: %s; spooling and retrying every %.0f s.%s",
            self.bootstrap,
            text,
            self.retry_interval_s,
            hint,
        )

    def _try_reconnect(self) -> None:
        from kafka import KafkaAdminClient, KafkaProducer

        self._next_probe = time.monotonic() + self.retry_interval_s
        if not self._broker_reachable():
            return
        try:
            # A bounded first contact: a broker that answers TCP but not Kafka (wrong security
            # protocol, failed SASL) costs CONNECT_TIMEOUT_MS, not the client's 30 s default.
            admin = KafkaAdminClient(
                **client_config(self.settings, self.bootstrap),
                bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
            )
            try:
                ensure_topics(
                    self.settings, self.bootstrap, connect_timeout_s=CONNECT_TIMEOUT_MS / 1000
                )
                limit = _topic_message_limit(admin, self.topic)
            finally:
                admin.close()
            # Before anything is sent again: which unacknowledged records are stored already,
            # and where this session's records can land at the earliest.
            self._confirm_stored()
            config = producer_config(self.settings, self.bootstrap, **self.producer_overrides)
            self._fit_to_topic_limit(config, limit)
            self._producer = KafkaProducer(**config)
            self._partitions.clear()
        except Exception as exc:
            self._report_connect_failure(exc)
            self._abort_producer()
            return
        self._connect_failures.clear()
        self._state = ONLINE
        self._last_progress = time.monotonic()
        self._sent_through = self._spool.acked_through
        if self._spool.pending_count or self._spool.end_index > self._sent_through:
            self._replay = self._spool.pending()
            log.info(
                "connected to %s; replaying %d spooled record(s)",
                self.bootstrap,
                self._spool.pending_count,
            )
        else:
            self._sent_through = self._spool.end_index
            log.info("connected to %s", self.bootstrap)

    def _confirm_stored(self) -> None:
        """Mark as acknowledged every unacknowledged record that the topic holds already.

        A record whose session ended without its acknowledgement (broker crash, network cut,
        abort) may have been written. Each partition such records were sent to is read from the
        lowest offset they could have taken — after the last acknowledgement seen before they
        were sent — to its end now, and a pending record below the highest index sent that
        matches a stored one (same topic, key and value bytes; a vehsim event's value holds its
        unique ``event_id``) is marked acknowledged instead of being sent again. The read is
        bounded by what was in flight (at most the producer's buffer).

        The same pass sets this session's floors: the end of every telemetry partition.

        Raises:
            Exception: the broker did not answer, or the read took longer than
                :data:`CONFIRM_TIMEOUT_S`; the reconnect fails and is tried again later.
        """
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import TopicAuthorizationFailedError

        consumer = KafkaConsumer(
            **client_config(self.settings, self.bootstrap),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
            request_timeout_ms=10_000,
            fetch_max_wait_ms=100,
        )
        try:
            consumer.topics()  # fresh metadata
            topics = {self.topic} | {topic for topic, _ in self._unconfirmed}
            tps = [
                TopicPartition(topic, p)
                for topic in sorted(topics)
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            ends = {(tp.topic, tp.partition): end for tp, end in end_offsets(consumer, tps).items()}
            if self._unconfirmed:
                try:
                    found = self._stored_digests(consumer, ends)
                except TopicAuthorizationFailedError as exc:
                    log.warning(
                        "cannot read %s to check which unacknowledged records it holds (%s); "
                        "replaying them all, readers remove duplicates by event_id",
                        sorted(topics),
                        exc,
                    )
                    found = {}
                self._confirm_from(found)
            self._floors = {tp: end for tp, end in ends.items() if tp[0] == self.topic}
        finally:
            consumer.close()

    def _stored_digests(self, consumer, ends: dict[tuple[str, int], int]) -> dict[bytes, int]:
        """Digests (with counts) of the records in each suspect partition's window."""
        from kafka import TopicPartition

        windows = {}
        for (topic, partition), floor in self._unconfirmed.items():
            for tp, end in ends.items():
                # the partition the record went to; every partition when it is not known
                if tp[0] != topic or partition not in (-1, tp[1]):
                    continue
                # an end below the floor: the topic was recreated, its offsets start over
                start = floor if floor <= end else 0
                if start < end:
                    windows[tp] = min(windows.get(tp, start), start)
        found: dict[bytes, int] = {}
        if not windows:
            return found
        assigned = {TopicPartition(*tp): start for tp, start in windows.items()}
        consumer.assign(list(assigned))
        for tp, start in assigned.items():
            consumer.seek(tp, start)
        remaining = {tp: ends[(tp.topic, tp.partition)] for tp in assigned}
        deadline = time.monotonic() + CONFIRM_TIMEOUT_S
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"reading back {len(assigned)} partition(s) took over {CONFIRM_TIMEOUT_S:.0f} s"
                )
            for tp, records in consumer.poll(timeout_ms=500).items():
                end = remaining.get(tp)
                for record in records:
                    if end is not None and record.offset < end:
                        digest = _digest(tp.topic, record.key or b"", record.value or b"")
                        found[digest] = found.get(digest, 0) + 1
            for tp in list(remaining):
                if consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
        return found

    def _confirm_from(self, found: dict[bytes, int]) -> None:
        """Acknowledge the pending records sent before whose digest ``found`` holds."""
        confirmed = 0
        if found:
            for record in self._spool.pending():
                if record.index >= self._unconfirmed_through:
                    break
                digest = _digest(record.topic, record.key, record.value)
                count = found.get(digest, 0)
                if count:
                    found[digest] = count - 1
                    self._spool.ack(record.index)
                    confirmed += 1
        self._spool.commit_acks()
        self._unconfirmed.clear()
        self._unconfirmed_through = 0
        self._confirmed += confirmed
        self._acked += confirmed
        if confirmed:
            log.info(
                "%d record(s) sent before the outage were stored without acknowledgement; "
                "they are not sent again",
                confirmed,
            )

    def _fit_to_topic_limit(self, config: dict, limit: int | None) -> None:
        """Keep records and batches under the topic's ``max.message.bytes`` when it is smaller
        than the defaults: a record above it is set aside before sending, and no batch of small
        records can exceed it (the client's split-and-retry of a refused batch is not relied on).
        """
        if self._batch_cap is not None:
            config["batch_size"] = min(config.get("batch_size", self._batch_cap), self._batch_cap)
        if limit is None:
            return
        usable = max(1, limit - _BATCH_OVERHEAD_BYTES)
        self.max_record_bytes = min(MAX_RECORD_BYTES, usable)
        config["batch_size"] = min(config.get("batch_size", usable), usable)

    def _replay_some(self, limit: int) -> None:
        """Send up to ``limit`` spooled records; end the replay when it reaches the spool's end."""
        sent = 0
        for record in self._replay:
            if not self._send(record.index, record.topic, record.key, record.value):
                return
            self._replayed += 1
            self._sent_through = record.index + 1
            sent += 1
            if sent >= limit:
                return
        self._replay = None
        self._sent_through = self._spool.end_index

    def _adopt_orphans(self) -> None:
        for path in orphaned_spools(self.spool_root, exclude=self.spool_path):
            try:
                orphan = Spool(path)
            except Exception as exc:
                log.warning("cannot adopt spool %s: %s", path, exc)
                continue
            moved = 0
            chunk = []
            for record in orphan.pending():
                chunk.append((record.topic, record.key, record.value))
                if len(chunk) >= 10_000:
                    self._spool.append(chunk)
                    moved += len(chunk)
                    chunk = []
            if chunk:
                self._spool.append(chunk)
                moved += len(chunk)
            self._spool.sync()
            for record in list(orphan.pending()):
                orphan.ack(record.index)
            orphan.close(remove_if_empty=True)
            if moved:
                log.info("adopted %d unsent record(s) from %s; they go first", moved, path)

    def _drain_until(self, deadline: float) -> None:
        """Send everything spooled before ``deadline``: replay, flush, settle; after a failed
        session (e.g. a record the broker refused) reconnect and go on, while time allows."""
        attempts = 0
        while self._spool.pending_count and time.monotonic() < deadline:
            if self._state == OFFLINE:
                # a reconnect can take CONNECT_TIMEOUT_MS and more: only when there is time
                if attempts >= _SHUTDOWN_RECONNECTS or (
                    deadline - time.monotonic() <= _RECONNECT_BUDGET_S
                ):
                    return
                attempts += 1
                time.sleep(max(0.0, min(self._next_probe, deadline) - time.monotonic()))
                self._try_reconnect()
                continue
            while self._replay is not None and self._state == ONLINE:
                if time.monotonic() >= deadline:
                    return
                self._replay_some(20_000)
                self._collect()
            if self._state != ONLINE:
                continue
            try:
                self._producer.flush(timeout=max(0.0, deadline - time.monotonic()))
            except Exception as exc:
                log.warning("flush at shutdown incomplete: %s", exc)
                return
            self._collect()
            if self._state == ONLINE and self._replay is None:
                return  # all sent and settled; what is pending now could not be sent

    def _shutdown(self) -> None:
        """Flush what is in flight (bounded), persist acks, close the spool."""
        deadline = time.monotonic() + self._close_timeout_s
        try:
            if self._error is None:
                self._drain_until(deadline)
            self._abort_producer()  # after a complete flush this only settles the sends
        finally:
            self._state = CLOSED
            if self._spool is not None:
                pending = self._spool.pending_count
                self._spool.close(remove_if_empty=True)
                if pending:
                    log.warning(
                        "%d record(s) not acknowledged stay in %s; the next run replays them",
                        pending,
                        self.spool_path,
                    )
            self._closed.set()


def _digest(topic: str, key: bytes, value: bytes) -> bytes:
    """A record's identity for :meth:`EventPublisher._confirm_stored` (16 bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for part in (topic.encode(), key, value):
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return h.digest()


def _too_large(exc: BaseException | None) -> bool:
    """True for the Kafka errors that say a record (or a batch of one) is too large."""
    from kafka import errors

    return isinstance(exc, errors.MessageSizeTooLargeError | errors.RecordListTooLargeError)


def _topic_message_limit(admin, topic: str) -> int | None:
    """The topic's ``max.message.bytes``, or None when the broker does not tell."""
    from kafka.admin import ConfigResource, ConfigResourceType

    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        value = _find_config(described, "max.message.bytes")
        return int(value) if value is not None else None
    except Exception as exc:  # not allowed, not supported (Event Hubs), not there yet
        log.debug("cannot read max.message.bytes of %s: %s", topic, exc)
        return None


def _find_config(described: Any, name: str) -> str | None:
    """The value of config ``name`` anywhere in a ``describe_configs`` answer (its shape
    differs between kafka-python versions: nested dicts or response objects)."""
    if isinstance(described, dict):
        if name in described:
            entry = described[name]
            return entry.get("value") if isinstance(entry, dict) else entry
        for value in described.values():
            found = _find_config(value, name)
            if found is not None:
                return found
    elif isinstance(described, list | tuple):
        for value in described:
            found = _find_config(value, name)
            if found is not None:
                return found
    return None
