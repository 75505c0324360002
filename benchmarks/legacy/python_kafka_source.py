"""A Kafka streaming source for Spark written as a Python data source (pyspark >= 4.1).

Kept for the benchmark only (``benchmarks/bench_bronze.py`` measures Spark's own Kafka source
against it): Bronze used it while Spark's Kafka connector could not be loaded here. It is no
longer part of the product; delete it with the comparison.

The JVM Kafka connector (``format("kafka")``) is the usual way to read Kafka from Spark; where
its jar cannot be loaded, this source offers the same shape over ``kafka-python``:

* rows have the connector's columns: ``key``, ``value`` (binary), ``topic``, ``partition``,
  ``offset``, ``timestamp``, ``timestampType``;
* the offset Spark checkpoints is ``{"<topic>": {"<partition>": <next offset>}}``, the same JSON
  the JVM connector writes;
* partitions are assigned directly (no consumer group, nothing committed to Kafka), so a restart
  resumes exactly from the checkpoint;
* ``read`` runs on executors and reads exactly the planned offset range, so a batch replayed after
  a crash yields the same records; large ranges are split into several Spark partitions.

Usage::

    spark.dataSource.register(KafkaDataSource)
    df = (spark.readStream.format("vehsim_kafka")
          .option("kafka.bootstrap.servers", "127.0.0.1:9092")
          .option("subscribe", "vehsim.telemetry")
          .option("startingOffsets", "earliest")
          .option("maxOffsetsPerTrigger", "100000")
          .load())

Options (case-insensitive):

``subscribe``
    Comma-separated topic names (required).
``kafka.<client setting>``
    Passed to kafka-python with dots turned into underscores, e.g. ``kafka.bootstrap.servers``
    (required), ``kafka.security.protocol``, ``kafka.sasl.mechanism``,
    ``kafka.sasl.plain.username``, ``kafka.sasl.plain.password``, ``kafka.ssl.cafile``,
    ``kafka.request.timeout.ms``.
``startingOffsets``
    ``earliest`` (default) or ``latest``; used only when the checkpoint has no offsets yet.
``maxOffsetsPerTrigger``
    Upper bound of records per micro-batch, shared among partitions by their lag (default: none).
``maxRecordsPerSplit``
    Offsets read by one Spark task at most (default 50,000); a larger range is split.
``targetSplits``
    Spread a large batch over at least this many tasks (default 1; set it to the number of
    cores that read). Batches under 10,000 records per task stay in one task.
``pollTimeoutMs``
    How long a task waits for records it knows exist before failing (default 120,000).
``client``
    Which Kafka client reads on executors: ``auto`` (default: confluent-kafka, i.e. librdkafka,
    when it is installed and every ``kafka.*`` setting has a librdkafka equivalent, else
    kafka-python), ``confluent-kafka`` or ``kafka-python``. librdkafka decodes records in C,
    several times faster than kafka-python; the driver always plans with kafka-python.
``failOnDataLoss``
    ``true`` (default): fail when planned offsets are no longer on the broker (retention, topic
    recreated). ``false``: log and continue from the earliest available offset.
``checkpointLocation``
    The query's checkpoint directory; lets ``maxOffsetsPerTrigger`` also apply to the first batch
    after a restart (pyspark 4.1 does not tell a source where the next batch starts).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition

from vehsim.errors import VehsimError

log = logging.getLogger(__name__)

SOURCE_NAME = "vehsim_kafka"

#: Same columns, names and order as Spark's built-in Kafka source.
SPARK_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, "
    "timestamp timestamp, timestampType int"
)
ARROW_SCHEMA = pa.schema(
    [
        ("key", pa.binary()),
        ("value", pa.binary()),
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("timestampType", pa.int32()),
    ]
)

DEFAULT_MAX_RECORDS_PER_SPLIT = 50_000
DEFAULT_MIN_RECORDS_PER_SPLIT = 10_000
DEFAULT_POLL_TIMEOUT_MS = 120_000
#: Records per Arrow batch handed to Spark by one task.
_ARROW_BATCH_ROWS = 10_000
#: Fetch sizes for executors: large enough for values near the producer's 1 MB request limit.
_FETCH_SETTINGS = {
    "max_partition_fetch_bytes": 8 * 1024 * 1024,
    "fetch_max_bytes": 64 * 1024 * 1024,
    "max_poll_records": 10_000,
}

Offsets = dict[str, dict[str, int]]

CLIENT_LIBRARIES = ("auto", "confluent-kafka", "kafka-python")
#: kafka-python setting -> librdkafka property, for the settings vehsim passes.
_RDKAFKA_NAMES = {
    "security_protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_plain_username": "sasl.username",
    "sasl_plain_password": "sasl.password",
    "ssl_cafile": "ssl.ca.location",
    "client_id": "client.id",
    "request_timeout_ms": "socket.timeout.ms",
    "metadata_max_age_ms": "metadata.max.age.ms",
    "connections_max_idle_ms": "connections.max.idle.ms",
}


class KafkaSourceError(VehsimError):
    """The Kafka source is misconfigured or the broker no longer has the planned records."""


@dataclass(frozen=True)
class SourceConfig:
    """Validated options of one Kafka source (picklable, shipped to executors)."""

    topics: tuple[str, ...]
    client: tuple[tuple[str, Any], ...]
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int | None = None
    max_records_per_split: int = DEFAULT_MAX_RECORDS_PER_SPLIT
    target_splits: int = 1
    poll_timeout_ms: int = DEFAULT_POLL_TIMEOUT_MS
    fail_on_data_loss: bool = True
    checkpoint_location: str | None = None
    client_library: str = "auto"

    @property
    def client_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.client)
        kwargs["bootstrap_servers"] = list(kwargs["bootstrap_servers"])
        return kwargs


def _positive_int(options: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = options.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise KafkaSourceError(f"option {name} must be a whole number >= 1, got {raw!r}")
    return value


def _client_setting(name: str, value: str) -> Any:
    if name == "bootstrap_servers":
        return tuple(host.strip() for host in value.split(",") if host.strip())
    if value.isdigit():
        return int(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def parse_options(options: Mapping[str, str]) -> SourceConfig:
    """Validate the source options (see the module docstring)."""
    lowered = {str(k).lower(): str(v) for k, v in options.items()}
    topics = tuple(t.strip() for t in lowered.get("subscribe", "").split(",") if t.strip())
    if not topics:
        raise KafkaSourceError("option subscribe is required: comma-separated topic names")
    client = {
        key[len("kafka.") :].replace(".", "_"): _client_setting(
            key[len("kafka.") :].replace(".", "_"), value
        )
        for key, value in lowered.items()
        if key.startswith("kafka.")
    }
    if not client.get("bootstrap_servers"):
        raise KafkaSourceError("option kafka.bootstrap.servers is required: host:port[,host:port]")
    starting = lowered.get("startingoffsets", "earliest").strip().lower()
    if starting not in ("earliest", "latest"):
        raise KafkaSourceError(
            f"option startingOffsets must be earliest or latest, got {starting!r}"
        )
    library = lowered.get("client", "auto").strip().lower()
    if library not in CLIENT_LIBRARIES:
        raise KafkaSourceError(
            f"option client must be one of {', '.join(CLIENT_LIBRARIES)}, got {library!r}"
        )
    fail = lowered.get("failondataloss", "true").strip().lower()
    if fail not in ("true", "false"):
        raise KafkaSourceError(f"option failOnDataLoss must be true or false, got {fail!r}")
    return SourceConfig(
        topics=topics,
        client=tuple(sorted(client.items())),
        starting_offsets=starting,
        max_offsets_per_trigger=_positive_int(lowered, "maxoffsetspertrigger", None),
        max_records_per_split=_positive_int(
            lowered, "maxrecordspersplit", DEFAULT_MAX_RECORDS_PER_SPLIT
        ),
        target_splits=_positive_int(lowered, "targetsplits", 1),
        poll_timeout_ms=_positive_int(lowered, "polltimeoutms", DEFAULT_POLL_TIMEOUT_MS),
        fail_on_data_loss=fail == "true",
        checkpoint_location=lowered.get("checkpointlocation") or None,
        client_library=library,
    )


# --- offset arithmetic (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class OffsetRange:
    """Records ``[start, end)`` of one topic-partition."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class KafkaSplit(InputPartition):
    """The offset ranges read by one Spark task, in order."""

    ranges: tuple[OffsetRange, ...]

    @property
    def size(self) -> int:
        return sum(r.size for r in self.ranges)


def total_records(start: Offsets, end: Offsets) -> int:
    """Offsets between ``start`` and ``end`` (partitions missing from ``start`` count from 0)."""
    return sum(
        max(0, pos - start.get(topic, {}).get(part, 0))
        for topic, parts in end.items()
        for part, pos in parts.items()
    )


def cap_offsets(start: Offsets, end: Offsets, max_records: int | None) -> Offsets:
    """Move ``end`` back so that about ``max_records`` lie between ``start`` and it.

    The budget is shared among partitions in proportion to their lag, rounded down, and each
    lagging partition gets at least one record (so the total may exceed ``max_records`` by at
    most the number of partitions); one busy partition cannot starve the others.
    """
    total = total_records(start, end)
    if max_records is None or total <= max_records:
        return {t: dict(p) for t, p in end.items()}
    capped: Offsets = {}
    for topic, parts in end.items():
        capped[topic] = {}
        for part, pos in parts.items():
            first = start.get(topic, {}).get(part, pos)
            lag = max(0, pos - first)
            share = min(lag, max(1, lag * max_records // total)) if lag else 0
            capped[topic][part] = first + share
    return capped


def plan_ranges(start: Offsets, end: Offsets, max_records: int) -> list[OffsetRange]:
    """Cut the offsets between ``start`` and ``end`` into ranges of at most ``max_records``.

    Partitions missing from ``start`` are skipped (the reader fills them in first).
    """
    ranges: list[OffsetRange] = []
    for topic in sorted(end):
        for part in sorted(end[topic], key=int):
            first = start.get(topic, {}).get(part)
            last = end[topic][part]
            if first is None or last <= first:
                continue
            for lo in range(first, last, max_records):
                ranges.append(OffsetRange(topic, int(part), lo, min(last, lo + max_records)))
    return ranges


def plan_splits(
    start: Offsets,
    end: Offsets,
    max_records_per_split: int,
    target_splits: int = 1,
    min_records_per_split: int = DEFAULT_MIN_RECORDS_PER_SPLIT,
) -> list[KafkaSplit]:
    """Group the offsets between ``start`` and ``end`` into Spark tasks.

    A large batch is spread over at least ``target_splits`` tasks (the cores that read), none
    over ``max_records_per_split`` records; a small batch (the steady state) becomes one task
    reading a little of every partition, which costs one consumer and writes one file instead of
    one per partition. Deterministic: the same offsets always give the same splits.
    """
    total = total_records(start, end)
    if total == 0:
        return []
    size = -(-total // max(1, target_splits))  # ceil
    size = min(max_records_per_split, max(min(min_records_per_split, max_records_per_split), size))
    splits: list[KafkaSplit] = []
    current: list[OffsetRange] = []
    filled = 0
    for piece in plan_ranges(start, end, size):
        if current and filled + piece.size > size:
            splits.append(KafkaSplit(tuple(current)))
            current, filled = [], 0
        current.append(piece)
        filled += piece.size
    if current:
        splits.append(KafkaSplit(tuple(current)))
    return splits


def checkpointed_end(checkpoint_location: str | None, committed: bool = False) -> Offsets | None:
    """End offsets of the newest batch in a Spark checkpoint (source 0), if any.

    Args:
        checkpoint_location: The query's checkpoint directory (local).
        committed: Only consider batches that Spark marked as committed (``commits/<id>``);
            otherwise the newest planned batch (``offsets/<id>``), committed or not.
    """
    if not checkpoint_location:
        return None
    root = Path(checkpoint_location.removeprefix("file:"))
    offsets_dir = root / "offsets"
    if not offsets_dir.is_dir():
        return None
    batch_ids = {int(p.name) for p in offsets_dir.iterdir() if p.name.isdigit()}
    if committed:
        commits_dir = root / "commits"
        done = (
            {int(p.name) for p in commits_dir.iterdir() if p.name.isdigit()}
            if commits_dir.is_dir()
            else set()
        )
        batch_ids &= done
    if not batch_ids:
        return None
    lines = (offsets_dir / str(max(batch_ids))).read_text().splitlines()
    # Line 0 is the log version ("v1"), line 1 the batch metadata, then one line per source.
    if len(lines) < 3 or lines[2].strip() in ("", "-"):
        return None
    return json.loads(lines[2])


def offsets_reached(reached: Offsets | None, target: Offsets, default: Offsets) -> bool:
    """Whether ``reached`` is at or past ``target`` in every partition.

    A partition missing from ``reached`` counts as being at its ``default`` offset (where the
    query would start it).
    """
    for topic, parts in target.items():
        for part, end in parts.items():
            at = (reached or {}).get(topic, {}).get(part, default.get(topic, {}).get(part, 0))
            if at < end:
                return False
    return True


# --- broker access ----------------------------------------------------------------------------


def _consumer(config: SourceConfig, **extra: Any):
    from kafka import KafkaConsumer

    return KafkaConsumer(
        **config.client_kwargs,
        group_id=None,
        enable_auto_commit=False,
        **extra,
    )


def _to_offsets(mapping: Mapping[Any, int]) -> Offsets:
    offsets: Offsets = {}
    for tp, pos in mapping.items():
        offsets.setdefault(tp.topic, {})[str(tp.partition)] = int(pos)
    return offsets


class KafkaStreamReader(DataSourceStreamReader):
    """Plans micro-batches on the driver and reads offset ranges on executors."""

    def __init__(self, config: SourceConfig):
        self.config = config
        self._driver_consumer = None
        self._last_end: Offsets | None = None

    def __getstate__(self) -> dict:
        return {"config": self.config, "_driver_consumer": None, "_last_end": None}

    # driver side

    def _client(self):
        if self._driver_consumer is None:
            self._driver_consumer = _consumer(self.config)
        return self._driver_consumer

    def _partitions(self) -> list:
        from kafka import TopicPartition

        consumer = self._client()
        found = []
        for topic in self.config.topics:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                raise KafkaSourceError(
                    f"topic {topic!r} does not exist on {self.config.client_kwargs['bootstrap_servers']}"
                    " (create it, e.g. with 'vehsim broker start', or fix the topic prefix)"
                )
            found += [TopicPartition(topic, p) for p in sorted(parts)]
        return found

    def _end_offsets(self) -> Offsets:
        from vehsim.stream.offsets import end_offsets

        return _to_offsets(end_offsets(self._client(), self._partitions()))

    def _beginning_offsets(self) -> Offsets:
        return _to_offsets(self._client().beginning_offsets(self._partitions()))

    def initialOffset(self) -> Offsets:
        if self.config.starting_offsets == "latest":
            return self._end_offsets()
        return self._beginning_offsets()

    def latestOffset(self) -> Offsets:
        end = self._end_offsets()
        start = self._last_end or checkpointed_end(self.config.checkpoint_location)
        if start is not None:
            self._check_no_rewind(start, end)
            end = cap_offsets(start, end, self.config.max_offsets_per_trigger)
        elif self.config.max_offsets_per_trigger is not None:
            # No batch planned yet: the first batch starts at initialOffset().
            end = cap_offsets(self.initialOffset(), end, self.config.max_offsets_per_trigger)
        self._last_end = end
        return end

    def _check_no_rewind(self, start: Offsets, end: Offsets) -> None:
        for topic, parts in start.items():
            for part, pos in parts.items():
                now = end.get(topic, {}).get(part)
                if now is not None and now < pos:
                    message = (
                        f"{topic}[{part}] ends at offset {now} but this query already read up to "
                        f"{pos}: the topic was deleted or recreated (a restarted embedded broker "
                        "loses its topics). Use a new checkpoint, or set failOnDataLoss=false to "
                        "continue from the broker's offsets"
                    )
                    if self.config.fail_on_data_loss:
                        raise KafkaSourceError(message)
                    log.warning("%s; continuing", message)
                    parts[part] = now

    def partitions(self, start: Offsets, end: Offsets) -> list[KafkaSplit]:
        missing = {
            topic: [p for p in parts if p not in start.get(topic, {})]
            for topic, parts in end.items()
        }
        if any(missing.values()):
            # Partitions added after the query started are read from their beginning.
            earliest = self._beginning_offsets()
            start = {t: dict(p) for t, p in start.items()}
            for topic, parts in missing.items():
                for part in parts:
                    start.setdefault(topic, {})[part] = earliest.get(topic, {}).get(part, 0)
        self._last_end = end
        return plan_splits(start, end, self.config.max_records_per_split, self.config.target_splits)

    def commit(self, end: Offsets) -> None:
        """Nothing to do: offsets live in the Spark checkpoint, never in a consumer group."""

    def stop(self) -> None:
        if self._driver_consumer is not None:
            self._driver_consumer.close()
            self._driver_consumer = None

    # executor side

    def read(self, partition: KafkaSplit) -> Iterator[pa.RecordBatch]:
        return read_split(self.config, partition)


def rdkafka_settings(config: SourceConfig) -> dict[str, Any] | None:
    """librdkafka properties equivalent to the ``kafka.*`` options (None if one has none)."""
    settings: dict[str, Any] = {
        "bootstrap.servers": ",".join(config.client_kwargs["bootstrap_servers"]),
        # Partitions are assigned, never subscribed: the group id is required but never joined.
        "group.id": "vehsim-kafka-source",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "error",
        # Read what kafka-python reads (Tansu's last stable offset is not the true end).
        "isolation.level": "read_uncommitted",
        "fetch.max.bytes": _FETCH_SETTINGS["fetch_max_bytes"],
        "max.partition.fetch.bytes": _FETCH_SETTINGS["max_partition_fetch_bytes"],
        "receive.message.max.bytes": _FETCH_SETTINGS["fetch_max_bytes"] + 1024 * 1024,
        # A task only reads records that exist: do not let the broker hold a fetch back.
        "fetch.wait.max.ms": 10,
        "log_level": 3,
    }
    for name, value in config.client:
        if name == "bootstrap_servers":
            continue
        if name not in _RDKAFKA_NAMES:
            return None
        settings[_RDKAFKA_NAMES[name]] = value
    return settings


def _use_rdkafka(config: SourceConfig) -> bool:
    if config.client_library == "kafka-python":
        return False
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        if config.client_library == "confluent-kafka":
            raise KafkaSourceError(
                "option client=confluent-kafka needs the confluent-kafka package"
            ) from None
        return False
    if rdkafka_settings(config) is None:
        if config.client_library == "confluent-kafka":
            names = sorted(
                n for n, _ in config.client if n not in _RDKAFKA_NAMES and n != "bootstrap_servers"
            )
            raise KafkaSourceError(
                f"option client=confluent-kafka: no librdkafka equivalent for {names}; "
                "use client=kafka-python"
            )
        return False
    return True


#: Consumers kept by a (reused) Python worker between tasks, one per source configuration.
_WORKER_CONSUMERS: dict[SourceConfig, Any] = {}


def _worker_consumer(config: SourceConfig):
    consumer = _WORKER_CONSUMERS.get(config)
    if consumer is None:
        if _use_rdkafka(config):
            from confluent_kafka import Consumer

            # Through logging, not stderr (librdkafka keeps retrying a broker that went away).
            consumer = Consumer(rdkafka_settings(config), logger=log)
        else:
            consumer = _consumer(config, auto_offset_reset="none", **_FETCH_SETTINGS)
        _WORKER_CONSUMERS[config] = consumer
    return consumer


def read_split(config: SourceConfig, split: KafkaSplit) -> Iterator[pa.RecordBatch]:
    """Yield the records of every range of ``split``, in order, as Arrow batches.

    The Kafka consumer is kept for the next task of the same worker (connecting costs more than
    a small batch); it is dropped after an error.
    """
    consumer = _worker_consumer(config)
    rdkafka = hasattr(consumer, "consume")
    try:
        partitions = {(r.topic, r.partition) for r in split.ranges}
        if rdkafka and split.size <= _ARROW_BATCH_ROWS and len(partitions) == len(split.ranges):
            # A small batch (the steady state): fetch from every partition at once.
            yield from read_small_split_rdkafka(config, split, consumer)
        else:
            read = read_range_rdkafka if rdkafka else read_range
            for offsets in split.ranges:
                yield from read(config, offsets, consumer)
        if rdkafka:
            consumer.unassign()  # no prefetching between tasks
    except BaseException:
        _WORKER_CONSUMERS.pop(config, None)
        consumer.close()
        raise


def _data_lost(config: SourceConfig, split: OffsetRange, position: int) -> None:
    if config.fail_on_data_loss:
        raise KafkaSourceError(
            f"{split.topic}[{split.partition}] offsets {position}..{split.end - 1} are "
            "no longer on the broker (retention or a recreated topic); set "
            "failOnDataLoss=false to skip them"
        )
    log.warning("%s[%d] lost offsets from %d", split.topic, split.partition, position)


def _stalled(config: SourceConfig, split: OffsetRange, position: int) -> KafkaSourceError:
    return KafkaSourceError(
        f"{split.topic}[{split.partition}]: planned offsets {split.start}..{split.end - 1}"
        f" but no record after {position} arrived within {config.poll_timeout_ms} ms"
    )


def _append_message(columns: _Columns, message) -> None:
    columns.keys.append(message.key())
    columns.values.append(message.value())
    columns.offsets.append(message.offset())
    kind, ts_ms = message.timestamp()
    # librdkafka: 0 not available, 1 create time, 2 log append time; Spark: 0 and 1.
    columns.timestamps_us.append(ts_ms * 1000 if kind and ts_ms >= 0 else None)
    columns.timestamp_types.append(kind - 1)


def _check_message_error(config: SourceConfig, message, split: OffsetRange, position: int) -> bool:
    """Whether ``message`` carries data (False: skip it); raises or logs a lost range."""
    error = message.error()
    if error is None:
        return True
    from confluent_kafka import KafkaError

    if error.code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE):
        _data_lost(config, split, position)
        raise _RangeLost
    if error.code() == KafkaError._PARTITION_EOF or not error.fatal():
        return False
    raise KafkaSourceError(f"{split.topic}[{split.partition}]: {error.str()}")


class _RangeLost(Exception):
    """Records of a range are gone from the broker and failOnDataLoss is false."""


def read_small_split_rdkafka(
    config: SourceConfig, split: KafkaSplit, consumer
) -> Iterator[pa.RecordBatch]:
    """Read a small split (one range per partition) with every partition assigned at once.

    Yields one Arrow batch per range, in the split's order, like reading range by range.
    """
    from confluent_kafka import TopicPartition

    ranges = {(r.topic, r.partition): r for r in split.ranges}
    columns = {key: _Columns(*key) for key in ranges}
    positions = {key: r.start for key, r in ranges.items() if r.end > r.start}
    consumer.assign([TopicPartition(t, p, positions[(t, p)]) for t, p in positions])
    last_progress = time.monotonic()
    while positions:
        wanted = min(sum(ranges[k].end - pos for k, pos in positions.items()), 10_000)
        messages = consumer.consume(wanted, 1.0)
        for message in messages:
            key = (message.topic(), message.partition())
            position = positions.get(key)
            if position is None:
                continue
            try:
                if not _check_message_error(config, message, ranges[key], position):
                    continue
            except _RangeLost:
                del positions[key]
                consumer.incremental_unassign([TopicPartition(*key)])
                continue
            offset = message.offset()
            if offset < position:
                continue
            if offset < ranges[key].end:
                _append_message(columns[key], message)
            if offset + 1 >= ranges[key].end:
                del positions[key]
                consumer.incremental_unassign([TopicPartition(*key)])
            else:
                positions[key] = offset + 1
        if messages:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > config.poll_timeout_ms / 1000:
            key = next(iter(positions))
            raise _stalled(config, ranges[key], positions[key])
    for r in split.ranges:
        if len(columns[(r.topic, r.partition)]):
            yield columns[(r.topic, r.partition)].flush()


def read_range_rdkafka(
    config: SourceConfig, split: OffsetRange, consumer
) -> Iterator[pa.RecordBatch]:
    """:func:`read_range` through a confluent-kafka ``Consumer`` (records decoded in C)."""
    from confluent_kafka import TopicPartition

    consumer.assign([TopicPartition(split.topic, split.partition, split.start)])
    columns = _Columns(split.topic, split.partition)
    keys, values, offsets = columns.keys, columns.values, columns.offsets
    stamps, kinds = columns.timestamps_us, columns.timestamp_types
    position, end = split.start, split.end
    last_progress = time.monotonic()
    while position < end:
        # Ask for no more than the range still lacks: consume() waits until it has as many
        # messages as asked for (or the timeout), and a range often ends at the topic's end.
        wanted = min(end - position, _FETCH_SETTINGS["max_poll_records"])
        messages = consumer.consume(wanted, 1.0)
        for message in messages:
            try:
                if not _check_message_error(config, message, split, position):
                    continue
            except _RangeLost:
                if len(columns):
                    yield columns.flush()
                return
            if message.partition() != split.partition or message.topic() != split.topic:
                continue
            offset = message.offset()
            if offset < position:
                continue
            if offset >= end:
                position = end
                break
            keys.append(message.key())
            values.append(message.value())
            offsets.append(offset)
            kind, ts_ms = message.timestamp()
            # librdkafka: 0 not available, 1 create time, 2 log append time; Spark: 0 and 1.
            stamps.append(ts_ms * 1000 if kind and ts_ms >= 0 else None)
            kinds.append(kind - 1)
            position = offset + 1
        if messages:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > config.poll_timeout_ms / 1000:
            raise _stalled(config, split, position)
        if len(columns) >= _ARROW_BATCH_ROWS:
            yield columns.flush()
            keys, values, offsets = columns.keys, columns.values, columns.offsets
            stamps, kinds = columns.timestamps_us, columns.timestamp_types
    if len(columns):
        yield columns.flush()


def read_range(config: SourceConfig, split: OffsetRange, consumer=None) -> Iterator[pa.RecordBatch]:
    """Yield the records of ``split`` (and only those) as Arrow batches of :data:`ARROW_SCHEMA`.

    Uses ``consumer`` if given (and leaves it open), else a consumer of its own.
    """
    from kafka import TopicPartition
    from kafka.errors import OffsetOutOfRangeError

    tp = TopicPartition(split.topic, split.partition)
    own = consumer is None
    if own:
        consumer = _consumer(config, auto_offset_reset="none", **_FETCH_SETTINGS)
    try:
        consumer.assign([tp])
        consumer.seek(tp, split.start)
        columns = _Columns(split.topic, split.partition)
        position = split.start
        last_progress = time.monotonic()
        while position < split.end:
            try:
                records = consumer.poll(timeout_ms=1000).get(tp, [])
            except OffsetOutOfRangeError:
                _data_lost(config, split, position)
                break
            for record in records:
                if record.offset >= split.end:
                    break
                if record.offset >= position:
                    columns.append(record)
            new_position = max(position, consumer.position(tp))
            if new_position > position:
                position = new_position
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > config.poll_timeout_ms / 1000:
                raise _stalled(config, split, position)
            if len(columns) >= _ARROW_BATCH_ROWS:
                yield columns.flush()
        if len(columns):
            yield columns.flush()
    finally:
        if own:
            consumer.close()


class _Columns:
    """Column buffers for records of one topic-partition."""

    def __init__(self, topic: str, partition: int):
        self.topic = topic
        self.partition = partition
        self._reset()

    def _reset(self) -> None:
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []
        self.offsets: list[int] = []
        self.timestamps_us: list[int | None] = []
        self.timestamp_types: list[int] = []

    def __len__(self) -> int:
        return len(self.offsets)

    def append(self, record) -> None:
        self.keys.append(record.key)
        self.values.append(record.value)
        self.offsets.append(record.offset)
        ts = record.timestamp
        self.timestamps_us.append(ts * 1000 if ts is not None and ts >= 0 else None)
        self.timestamp_types.append(
            record.timestamp_type if record.timestamp_type is not None else -1
        )

    def flush(self) -> pa.RecordBatch:
        n = len(self.offsets)
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array(self.keys, pa.binary()),
                pa.array(self.values, pa.binary()),
                pa.array([self.topic] * n, pa.string()),
                pa.array([self.partition] * n, pa.int32()),
                pa.array(self.offsets, pa.int64()),
                pa.array(self.timestamps_us, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
                pa.array(self.timestamp_types, pa.int32()),
            ],
            schema=ARROW_SCHEMA,
        )
        self._reset()
        return batch


class KafkaDataSource(DataSource):
    """``spark.readStream.format("vehsim_kafka")``: Kafka records with the connector's columns."""

    @classmethod
    def name(cls) -> str:
        return SOURCE_NAME

    def schema(self) -> str:
        return SPARK_SCHEMA

    def streamReader(self, schema) -> KafkaStreamReader:
        return KafkaStreamReader(parse_options(self.options))


def register(spark) -> None:
    """Make ``format("vehsim_kafka")`` available in ``spark``."""
    spark.dataSource.register(KafkaDataSource)
