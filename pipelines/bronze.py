"""Bronze: every Kafka record of the telemetry topic, as it arrived, in a Delta table.

The Bronze table (catalog entry :data:`vehsim_pipelines.catalog.BRONZE_EVENTS`) is append-only:
one row per Kafka record, the value kept as text and never parsed or rejected here (Silver
parses and validates).

=================  ===========  =================================================================
column             type         meaning
=================  ===========  =================================================================
``topic``          string       Kafka topic
``partition``      int          Kafka partition
``offset``         long         Kafka offset; (topic, partition, offset) is unique in Bronze
``kafka_ts``       timestamp    record timestamp (producer create time or broker append time)
``key``            string       record key as UTF-8 text (invalid bytes replaced by U+FFFD)
``raw_event``      string       record value as UTF-8 text (invalid bytes replaced by U+FFFD)
``key_bytes``      binary       the original key bytes, only when they are not valid UTF-8
``raw_event_bytes``  binary     the original value bytes, only when they are not valid UTF-8
``ingest_ts``      timestamp    when the micro-batch ran (the same for a replayed batch)
``ingest_date``    date         ``ingest_ts``'s UTC date; the partition column
=================  ===========  =================================================================

So the original bytes of any record are ``raw_event_bytes`` if it is set, else
``raw_event.encode("utf-8")`` (null for a null value); nothing is lost, and the common case
(vehsim's JSON events) costs no extra column data.

The stream is Spark's own: ``readStream.format("kafka")`` (spark-sql-kafka) into
``writeStream.format("delta")`` (delta-spark). Exactly once: Spark checkpoints the Kafka offsets
of every micro-batch under ``<checkpoint_dir>/bronze_events``, and the Delta sink commits each
batch with the transaction ``(query id, batch id)`` and skips a batch already committed, so a
batch replayed after a crash never lands twice.

Offsets that go backwards are never skipped silently. Before a query starts, the topic's end
offsets are compared with the checkpoint and the topic's id with the one the checkpoint was made
for; while it runs, Spark's ``failOnDataLoss`` stops it when offsets move back. Either way the
job ends with :class:`OffsetsRewound`, which says what happened and how to go on
(``reset_checkpoint``).

Start it from a notebook with :func:`start_bronze` (returns the ``StreamingQuery``) or
:func:`run_bronze_available_now` (ingests the backlog and returns), or from a shell with
``vehsim pipeline bronze``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from vehsim.config import Settings, load_settings
from vehsim.errors import RunFailure, VehsimError
from vehsim.stream.broker import resolve_bootstrap
from vehsim.stream.kafka_config import client_config
from vehsim_pipelines.catalog import BRONZE_EVENTS, Catalog
from vehsim_pipelines.session import build_spark

# pyspark, deltalake and kafka-python load inside the functions that use them: the table
# readers (original_value, ...) and `vehsim pipeline --help` import this module without them.

log = logging.getLogger(__name__)

QUERY_NAME = "bronze_events"
PARTITION_BY = BRONZE_EVENTS.partition_by
#: Written beside Spark's own files in the checkpoint: which topic incarnation it belongs to.
TOPIC_RECORD = "vehsim-topic.json"

BRONZE_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("kafka_ts", pa.timestamp("us", tz="UTC")),
        ("key", pa.string()),
        ("raw_event", pa.string()),
        ("key_bytes", pa.binary()),
        ("raw_event_bytes", pa.binary()),
        ("ingest_ts", pa.timestamp("us", tz="UTC")),
        ("ingest_date", pa.date32()),
    ]
)
#: The same columns as Spark DDL.
BRONZE_DDL = (
    "topic STRING, partition INT, offset BIGINT, kafka_ts TIMESTAMP, key STRING, "
    "raw_event STRING, key_bytes BINARY, raw_event_bytes BINARY, ingest_ts TIMESTAMP, "
    "ingest_date DATE"
)

Offsets = dict[str, dict[str, int]]


class OffsetsRewound(RunFailure):
    """The topic's offsets are behind the checkpoint, or the topic was recreated."""


#: Records per micro-batch at most, by default. Each batch pays a fixed cost (offsets, planning,
#: the idempotent Delta commit: 0.5-1 s on 2 cores), and its memory does not grow with its size
#: (Spark streams the records from Kafka into Parquet), so a backlog catches up fastest in few
#: large batches: on 2 cores, 2,000,000 events took 5 batches of 500,000 in 14.8-17.3 s and one
#: batch in 12.8-13.0 s (docs/bronze.md). The cap still bounds what a failed batch replays.
DEFAULT_MAX_OFFSETS_PER_TRIGGER = 2_000_000


@dataclass(frozen=True)
class BronzeConfig:
    """How the Bronze stream runs.

    Attributes:
        trigger_s: Micro-batch interval [s] of a continuous run.
        available_now: Ingest what is in Kafka now, then stop.
        starting_offsets: ``earliest`` or ``latest``, for a query without a checkpoint.
        max_offsets_per_trigger: At most this many records per micro-batch (None: no cap).
        query_name: Spark query name; also names the checkpoint directory.
    """

    trigger_s: float = 1.0
    available_now: bool = False
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int | None = DEFAULT_MAX_OFFSETS_PER_TRIGGER
    query_name: str = QUERY_NAME

    def __post_init__(self) -> None:
        if not self.trigger_s > 0:
            raise VehsimError(f"trigger interval must be > 0 s, got {self.trigger_s}")
        if self.starting_offsets not in ("earliest", "latest"):
            raise VehsimError(
                f"starting offsets must be 'earliest' or 'latest', got {self.starting_offsets!r}"
            )
        if self.max_offsets_per_trigger is not None and self.max_offsets_per_trigger < 1:
            raise VehsimError(
                f"max_offsets_per_trigger must be >= 1, got {self.max_offsets_per_trigger}"
            )


# --- locations --------------------------------------------------------------------------------


def bronze_uri(settings: Settings) -> str:
    """URI of the Bronze table for ``deltalake`` readers."""
    return Catalog(settings).uri(BRONZE_EVENTS)


def checkpoint_path(settings: Settings, query_name: str = QUERY_NAME) -> Path:
    """The checkpoint directory of the Bronze query."""
    return settings.checkpoint_dir / query_name


def query_id(checkpoint: Path) -> str | None:
    """The Spark query id kept in ``checkpoint`` (None before the query first ran).

    It is the app id of the Delta transactions the streaming sink commits, one per batch id.
    """
    metadata = checkpoint / "metadata"
    if not metadata.is_file():
        return None
    return json.loads(metadata.read_text().splitlines()[0])["id"]


def sql_path(path: str) -> str:
    """A table location as a Spark SQL identifier: ``delta.`path```."""
    return "delta.`" + path.replace("`", "``") + "`"


def create_bronze_table(spark, settings: Settings) -> None:
    """Create the empty Bronze table (columns, partitioning, properties) if it does not exist.

    Created before the stream's first batch so that its properties (append-only, change data
    feed for Silver's range reads) hold from version 0. Plain SQL, so that it runs the same on
    a Spark Connect session.
    """
    properties = ", ".join(
        f"'{key}' = '{value}'" for key, value in BRONZE_EVENTS.properties.items()
    )
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {sql_path(Catalog(settings).spark_path(BRONZE_EVENTS))} "
        f"({BRONZE_DDL}) USING delta PARTITIONED BY ({', '.join(PARTITION_BY)}) "
        f"COMMENT '{BRONZE_EVENTS.description}' TBLPROPERTIES ({properties})"
    )


# --- the transform (pure) ---------------------------------------------------------------------


def bronze_frame(kafka_df):
    """Bronze rows from a DataFrame with Spark's Kafka columns (pure; no IO).

    ``ingest_ts`` is ``current_timestamp()``, which Spark fixes per micro-batch and
    checkpoints, so a replayed batch gets the same value.
    """
    from pyspark.sql import functions as F

    def text(column: str):
        return F.make_valid_utf8(F.col(column).cast("string"))

    def bytes_if_not_text(column: str):
        return F.when(~F.is_valid_utf8(F.col(column).cast("string")), F.col(column))

    ingest_ts = F.current_timestamp()
    return kafka_df.select(
        F.col("topic"),
        F.col("partition").cast("int").alias("partition"),
        F.col("offset").cast("long").alias("offset"),
        F.col("timestamp").alias("kafka_ts"),
        text("key").alias("key"),
        text("value").alias("raw_event"),
        bytes_if_not_text("key").alias("key_bytes"),
        bytes_if_not_text("value").alias("raw_event_bytes"),
        ingest_ts.alias("ingest_ts"),
        F.to_date(ingest_ts).alias("ingest_date"),
    )


def original_value(row: Mapping[str, Any]) -> bytes | None:
    """The Kafka value bytes of a Bronze row (dict), exactly as produced."""
    if row.get("raw_event_bytes") is not None:
        return bytes(row["raw_event_bytes"])
    return None if row.get("raw_event") is None else row["raw_event"].encode("utf-8")


# --- reading Kafka ----------------------------------------------------------------------------


def kafka_options(settings: Settings, bootstrap: str) -> dict[str, str]:
    """``kafka.*`` options of Spark's Kafka source (bootstrap and security) from the settings.

    The SASL password only ever travels inside ``kafka.sasl.jaas.config``, which
    ``spark.sql.redaction.options.regex`` keeps out of plans and logs.
    """
    options = {
        "kafka.bootstrap.servers": bootstrap,
        "kafka.security.protocol": settings.security_protocol,
    }
    if settings.security_protocol.startswith("SASL"):
        module = (
            "org.apache.kafka.common.security.plain.PlainLoginModule"
            if settings.sasl_mechanism == "PLAIN"
            else "org.apache.kafka.common.security.scram.ScramLoginModule"
        )
        options["kafka.sasl.mechanism"] = settings.sasl_mechanism or "PLAIN"
        username = (settings.sasl_username or "").replace("\\", "\\\\").replace('"', '\\"')
        password = (settings.sasl_password or "").replace("\\", "\\\\").replace('"', '\\"')
        options["kafka.sasl.jaas.config"] = (
            f'{module} required username="{username}" password="{password}";'
        )
    if settings.ssl_cafile:
        options["kafka.ssl.truststore.type"] = "PEM"
        options["kafka.ssl.truststore.location"] = settings.ssl_cafile
    if bootstrap.split(",")[0].strip().endswith(".servicebus.windows.net:9093"):
        # Azure Event Hubs' recommended client settings (see docs/kafka.md).
        options["kafka.request.timeout.ms"] = "60000"
        options["kafka.session.timeout.ms"] = "30000"
        options["kafka.metadata.max.age.ms"] = "180000"
        options["kafka.connections.max.idle.ms"] = "180000"
    return options


def read_kafka(spark, settings: Settings, config: BronzeConfig):
    """The streaming DataFrame of the telemetry topic (Spark's Kafka columns)."""
    reader = (
        spark.readStream.format("kafka")
        .options(**kafka_options(settings, resolve_bootstrap(settings)))
        .option("subscribe", settings.telemetry_topic)
        .option("startingOffsets", config.starting_offsets)
        # Offsets that move backwards (a recreated topic, records deleted before they were
        # read) stop the query instead of being skipped.
        .option("failOnDataLoss", "true")
    )
    if config.max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(config.max_offsets_per_trigger))
    return reader.load()


# --- checkpoint against topic -----------------------------------------------------------------


def checkpointed_offsets(checkpoint: Path, committed: bool = True) -> Offsets | None:
    """The Kafka end offsets of the newest (committed) batch in a Spark checkpoint.

    Spark writes ``offsets/<batch>`` (planned) and ``commits/<batch>`` (done); the offsets file's
    last line is the source's offset JSON, ``{"topic": {"0": 123, ...}}``.
    """
    offsets_dir, commits_dir = checkpoint / "offsets", checkpoint / "commits"
    if not offsets_dir.is_dir():
        return None
    batches = sorted((int(p.name) for p in offsets_dir.iterdir() if p.name.isdigit()), reverse=True)
    if committed:
        done = (
            {int(p.name) for p in commits_dir.iterdir() if p.name.isdigit()}
            if (commits_dir.is_dir())
            else set()
        )
        batches = [b for b in batches if b in done]
    for batch in batches:
        lines = (offsets_dir / str(batch)).read_text().strip().splitlines()
        try:
            offsets = json.loads(lines[-1])
        except (IndexError, ValueError):
            continue
        if isinstance(offsets, dict):
            return {t: {str(p): int(o) for p, o in ps.items()} for t, ps in offsets.items()}
    return None


def total_records(start: Offsets | None, end: Offsets) -> int:
    """Records between two offset maps (partitions missing from ``start`` count from 0)."""
    start = start or {}
    return sum(
        max(0, int(o) - int(start.get(t, {}).get(p, 0)))
        for t, ps in end.items()
        for p, o in ps.items()
    )


def check_topic(settings: Settings, checkpoint: Path, probe: TopicProbe | None = None) -> None:
    """Stop with :class:`OffsetsRewound` when the topic is behind the checkpoint or recreated.

    Records the topic's id in the checkpoint the first time (a checkpoint is only valid for the
    topic incarnation it was made on).
    """
    own = probe is None
    probe = probe or TopicProbe(settings)
    try:
        topic_id = probe.topic_id()
        ends = probe.end_offsets()
    finally:
        if own:
            probe.close()
    record_path = checkpoint / TOPIC_RECORD
    reached = checkpointed_offsets(checkpoint, committed=False)
    topic = settings.telemetry_topic
    if record_path.is_file():
        recorded = json.loads(record_path.read_text())
        if topic_id and recorded.get("topic_id") and recorded["topic_id"] != topic_id:
            raise OffsetsRewound(
                f"topic {topic!r} was deleted and created again since the checkpoint "
                f"{checkpoint} was made (topic id {recorded['topic_id']} then, {topic_id} "
                "now): its offsets start over, so continuing would skip or repeat records. "
                + _how_to_go_on()
            )
    behind = []
    for partition, offset in ((reached or {}).get(topic) or {}).items():
        end = ends.get(topic, {}).get(partition)
        if end is None or end < offset:
            behind.append(f"partition {partition}: checkpoint at {offset}, topic ends at {end}")
    if behind:
        raise OffsetsRewound(
            f"topic {topic!r} ends before the offsets the checkpoint {checkpoint} has already "
            f"read ({'; '.join(behind)}): the topic was recreated or the broker lost its log, "
            "and new records at those offsets would be skipped. " + _how_to_go_on()
        )
    checkpoint.mkdir(parents=True, exist_ok=True)
    if not record_path.is_file() or (
        topic_id and json.loads(record_path.read_text()).get("topic_id") != topic_id
    ):
        tmp = checkpoint / (TOPIC_RECORD + ".tmp")
        tmp.write_text(json.dumps({"topic": topic, "topic_id": topic_id}) + "\n")
        tmp.replace(record_path)


def _how_to_go_on() -> str:
    return (
        "To ingest the topic as it is now, start a new checkpoint: 'vehsim pipeline bronze "
        "--reset-checkpoint' (the old one is kept beside it; Bronze keeps every row it holds)."
    )


def reset_checkpoint(settings: Settings, query_name: str = QUERY_NAME) -> Path | None:
    """Move the query's checkpoint aside (kept, renamed with a time stamp); returns its new path."""
    checkpoint = checkpoint_path(settings, query_name)
    if not checkpoint.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = checkpoint.with_name(f"{checkpoint.name}.replaced-{stamp}")
    shutil.move(str(checkpoint), str(target))
    return target


def rewound_error(exc: BaseException, checkpoint: Path) -> OffsetsRewound | None:
    """The Spark error of a query that met offsets moving backwards, as a clear one."""
    text = str(exc)
    markers = ("was changed from", "some data may have been lost", "data loss", "cannot fetch")
    if any(m in text.lower() for m in markers):
        reason = next((ln for ln in text.splitlines() if ln.startswith("Reason:")), "")
        first = (reason or next((ln for ln in text.splitlines() if ln.strip()), text))[:400]
        return OffsetsRewound(
            f"the Bronze stream stopped: offsets of the topic moved backwards while it ran "
            f"(Spark: {first}). Checkpoint {checkpoint}. " + _how_to_go_on()
        )
    return None


# --- the query --------------------------------------------------------------------------------


def bronze_session(
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    remote: str | None = None,
    settings: Settings | None = None,
):
    """The SparkSession for Bronze (``remote``: a Spark Connect URL, as in ``build_spark``;
    ``settings``: whose lake's credentials the session carries, default the environment's)."""
    return build_spark("vehsim-bronze", master=master, conf=conf, remote=remote, lake=settings)


def start_bronze(spark=None, settings: Settings | None = None, config: BronzeConfig | None = None):
    """Start the Bronze stream and return its ``StreamingQuery`` (it runs in the background).

    Args:
        spark: SparkSession (default: :func:`bronze_session`).
        settings: vehsim settings (default: :func:`vehsim.config.load_settings`).
        config: How to run (default: 1 s micro-batches from the earliest offsets). With
            ``available_now`` the query stops by itself once the backlog is in; prefer
            :func:`run_bronze_available_now`, which also waits and reports.

    Raises:
        OffsetsRewound: the topic is behind the checkpoint, or was recreated.
    """
    settings = settings or load_settings()
    config = config or BronzeConfig()
    spark = spark or bronze_session(settings=settings)
    checkpoint = checkpoint_path(settings, config.query_name)
    check_topic(settings, checkpoint)
    create_bronze_table(spark, settings)
    if config.available_now:
        trigger: dict[str, Any] = {"availableNow": True}
    else:
        trigger = {"processingTime": f"{config.trigger_s} seconds"}
    return (
        bronze_frame(read_kafka(spark, settings, config))
        .writeStream.queryName(config.query_name)
        .format("delta")
        .outputMode("append")
        .partitionBy(*PARTITION_BY)
        .option("checkpointLocation", str(checkpoint))
        .trigger(**trigger)
        .start(Catalog(settings).spark_path(BRONZE_EVENTS))
    )


@dataclass
class BronzeRun:
    """Summary of a finished (available-now) Bronze run."""

    batches: int = 0
    records: int = 0
    duration_s: float = 0.0
    table_version: int | None = None
    progress: list[dict] = field(default_factory=list, repr=False)

    @property
    def records_per_s(self) -> float:
        return self.records / self.duration_s if self.duration_s > 0 else 0.0


def run_bronze_available_now(
    spark=None,
    settings: Settings | None = None,
    config: BronzeConfig | None = None,
    on_progress: Callable[[dict], None] | None = None,
    poll_s: float = 0.5,
) -> BronzeRun:
    """Ingest everything that is in Kafka now into Bronze, then stop and return a summary.

    ``Trigger.AvailableNow`` on Spark's Kafka source takes the end offsets once and runs
    micro-batches of at most ``max_offsets_per_trigger`` records until it reaches them.

    Raises:
        OffsetsRewound: offsets behind the checkpoint or a recreated topic (before or while
            running): nothing is skipped silently.
    """
    settings = settings or load_settings()
    config = replace(config or BronzeConfig(), available_now=True)
    spark = spark or bronze_session(settings=settings)
    checkpoint = checkpoint_path(settings, config.query_name)
    started = time.monotonic()
    query = start_bronze(spark, settings, config)
    progress: list[dict] = []
    seen: set[int] = set()

    def collect() -> None:
        for item in map(progress_dict, query.recentProgress):
            if item["batchId"] not in seen:
                seen.add(item["batchId"])
                progress.append(item)
                if on_progress is not None and item.get("numInputRows", 0) > 0:
                    on_progress(item)

    try:
        while query.isActive:
            collect()
            query.awaitTermination(poll_s)
    finally:
        if query.isActive:
            query.stop()
    try:
        query.awaitTermination()  # raises the query's error, if it failed
    except Exception as exc:
        rewound = rewound_error(exc, checkpoint)
        if rewound is not None:
            raise rewound from exc
        raise
    collect()
    run = BronzeRun(
        batches=len(progress),  # a replayed batch counts, though its rows were committed before
        records=sum(int(p.get("numInputRows", 0)) for p in progress),
        duration_s=time.monotonic() - started,
        progress=progress,
    )
    run.table_version = table_version(spark, settings)
    return run


def table_version(spark, settings: Settings) -> int | None:
    """The Bronze table's current version (None if it does not exist yet)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    catalog = Catalog(settings)
    try:
        return DeltaTable(
            catalog.uri(BRONZE_EVENTS), storage_options=catalog.storage_options()
        ).version()
    except TableNotFoundError:
        return None


# --- progress ---------------------------------------------------------------------------------


def progress_dict(progress: Mapping[str, Any]) -> dict[str, Any]:
    """A micro-batch's progress report as a plain dict whose ``numInputRows`` is set.

    A Spark Connect client parses the reports from the server's JSON, which leaves the total
    ``numInputRows`` out (None); the sources' own counts add up to it.
    """
    item = dict(progress)
    if item.get("numInputRows") is None:
        item["numInputRows"] = sum(
            int(source.get("numInputRows") or 0) for source in item.get("sources") or []
        )
    return item


def end_offsets_of(progress: Mapping[str, Any]) -> Offsets | None:
    """The Kafka offsets a progress report says the query has reached (None if unknown)."""
    try:
        sources = progress["sources"]
    except (KeyError, TypeError):
        return None
    if not sources:
        return None
    end = sources[0].get("endOffset")
    if isinstance(end, str):
        try:
            end = json.loads(end)
        except ValueError:
            return None
    return end if isinstance(end, dict) and end else None


class TopicProbe:
    """End offsets, topic id and lag of the telemetry topic, from one small driver-side client."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._consumer = None

    def _client(self):
        from kafka import KafkaConsumer

        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **client_config(self.settings), group_id=None, enable_auto_commit=False
            )
        return self._consumer

    def _partitions(self) -> list:
        from kafka import TopicPartition

        topic = self.settings.telemetry_topic
        parts = self._client().partitions_for_topic(topic)
        if not parts:
            raise VehsimError(
                f"topic {topic!r} does not exist (start the broker with 'vehsim broker start' "
                "or check VEHSIM_TOPIC_PREFIX)"
            )
        return [TopicPartition(topic, p) for p in sorted(parts)]

    def end_offsets(self) -> Offsets:
        ends = self._client().end_offsets(self._partitions())
        return {self.settings.telemetry_topic: {str(tp.partition): v for tp, v in ends.items()}}

    def topic_id(self) -> str | None:
        """The topic's id (Kafka >= 2.8 brokers), None when the broker does not say."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(**client_config(self.settings))
        try:
            described = admin.describe_topics([self.settings.telemetry_topic])
        finally:
            admin.close()
        for item in described or []:
            value = item.get("topic_id") if isinstance(item, dict) else None
            if value and str(value).strip("0-") != "":
                return str(value)
        return None

    def lag(self, reached: Mapping[str, Mapping[str, int]] | None) -> int | None:
        """Records between ``reached`` and the end of the topic (None if unknown)."""
        if reached is None:
            return None
        try:
            ends = self.end_offsets()
        except Exception as exc:  # a progress line must never stop the stream
            log.debug("lag probe failed: %s", exc)
            return None
        return total_records(
            {t: {p: int(o) for p, o in ps.items()} for t, ps in reached.items()}, ends
        )

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def describe_progress(progress: Mapping[str, Any], total_rows: int, lag: int | None) -> str:
    """One line for a finished micro-batch."""
    rows = int(progress.get("numInputRows", 0))
    rate = progress.get("processedRowsPerSecond") or 0.0
    duration_ms = (progress.get("durationMs") or {}).get("triggerExecution", 0)
    lag_text = "?" if lag is None else f"{lag:,}"
    return (
        f"bronze: batch {progress.get('batchId')}: {rows:,} rows in {duration_ms / 1000:.1f} s "
        f"({rate:,.0f} rows/s) | total {total_rows:,} rows | lag {lag_text} records"
    )
