"""Bronze: every Kafka record of the telemetry topic, as it arrived, in a Delta table.

The Bronze table (``settings.table_uri("bronze", "events")``) is append-only: one row per Kafka
record, the value kept as text and never parsed or rejected here (Silver parses and validates).

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

Exactly once: Spark checkpoints the Kafka offsets of every micro-batch under
``<checkpoint_dir>/bronze_events``; the sink commits each batch to Delta with the txn
``(query id, batch id)`` and skips a batch whose id is already committed, so a batch replayed
after a crash never lands twice.

Start it from a notebook with :func:`start_bronze` (returns the ``StreamingQuery``) or
:func:`run_bronze_available_now` (ingests the backlog and returns), or from a shell with
``vehsim pipeline bronze``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from vehsim.config import Settings, load_settings
from vehsim.errors import VehsimError

log = logging.getLogger(__name__)

LAYER, TABLE = "bronze", "events"
QUERY_NAME = "bronze_events"
PARTITION_BY = ("ingest_date",)

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

Engine = Literal["python", "jvm"]
Sink = Literal["files", "foreach_batch"]

_JVM_CLASSES = {
    "Kafka connector (spark-sql-kafka-0-10)": "org.apache.spark.sql.kafka010.KafkaSourceProvider",
    "delta-spark": "io.delta.sql.DeltaSparkSessionExtension",
}
DELTA_SPARK_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


@dataclass(frozen=True)
class BronzeConfig:
    """How the Bronze stream runs.

    Attributes:
        trigger_s: Micro-batch interval [s] of a continuous run.
        available_now: Ingest what is in Kafka now, then stop.
        starting_offsets: ``earliest`` or ``latest``, for a query without a checkpoint.
        max_offsets_per_trigger: At most this many records per micro-batch (None: no cap).
        max_records_per_split: Records read by one Spark task; larger ranges are split.
        engine: ``python`` (Python Kafka source + delta-rs sink, works everywhere) or ``jvm``
            (Spark's built-in ``kafka`` and ``delta`` formats; needs their jars on the cluster).
        sink: ``files`` (executors write Parquet, the driver commits the file list) or
            ``foreach_batch`` (the driver collects each batch as Arrow and writes it).
        query_name: Spark query name; also names the checkpoint directory.
    """

    trigger_s: float = 1.0
    available_now: bool = False
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int | None = 500_000
    max_records_per_split: int = 50_000
    engine: Engine = "python"
    sink: Sink = "files"
    query_name: str = QUERY_NAME

    def __post_init__(self) -> None:
        if not self.trigger_s > 0:
            raise VehsimError(f"trigger interval must be > 0 s, got {self.trigger_s}")
        if self.starting_offsets not in ("earliest", "latest"):
            raise VehsimError(
                f"starting offsets must be 'earliest' or 'latest', got {self.starting_offsets!r}"
            )
        for name in ("max_offsets_per_trigger", "max_records_per_split"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise VehsimError(f"{name} must be >= 1, got {value}")
        if self.engine not in ("python", "jvm"):
            raise VehsimError(f"engine must be 'python' or 'jvm', got {self.engine!r}")
        if self.sink not in ("files", "foreach_batch"):
            raise VehsimError(f"sink must be 'files' or 'foreach_batch', got {self.sink!r}")


# --- locations and identity -------------------------------------------------------------------


def bronze_uri(settings: Settings) -> str:
    """URI of the Bronze table."""
    return settings.table_uri(LAYER, TABLE)


def checkpoint_path(settings: Settings, query_name: str = QUERY_NAME) -> Path:
    """The local checkpoint directory of the Bronze query."""
    return settings.checkpoint_dir / query_name


def query_id(checkpoint: Path) -> str:
    """The Spark query id stored in ``checkpoint`` (created there if the checkpoint is new).

    Spark keeps a query's id in ``<checkpoint>/metadata`` for the life of the checkpoint; it is
    the Delta txn app id, so a fresh checkpoint (batch ids from 0 again) gets a fresh app id.
    """
    metadata = checkpoint / "metadata"
    if metadata.is_file():
        return json.loads(metadata.read_text().splitlines()[0])["id"]
    checkpoint.mkdir(parents=True, exist_ok=True)
    new_id = str(uuid.uuid4())
    tmp = checkpoint / ".metadata.tmp"
    tmp.write_text(json.dumps({"id": new_id}) + "\n")
    tmp.replace(metadata)
    return new_id


def ensure_bronze_table(settings: Settings):
    """Create the Bronze table if it does not exist (``deltalake.DeltaTable``)."""
    from vehsim_pipelines import delta_io

    return delta_io.ensure_table(
        bronze_uri(settings),
        BRONZE_SCHEMA,
        PARTITION_BY,
        settings.lake_storage_options,
        name="bronze_events",
        description="Every Kafka record of the telemetry topic, unparsed (one row per record)",
        configuration={"delta.appendOnly": "true"},
    )


# --- the transform (pure) ---------------------------------------------------------------------


def bronze_frame(kafka_df):
    """Bronze rows from a DataFrame with Spark's Kafka columns (pure; no IO).

    Works on the built-in ``kafka`` source and on ``vehsim_kafka`` alike. ``ingest_ts`` is
    ``current_timestamp()``, which Spark fixes per micro-batch and checkpoints, so a replayed
    batch gets the same value.
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


def kafka_client_options(settings: Settings, bootstrap: str | None = None) -> dict[str, str]:
    """``kafka.*`` source options (bootstrap and security) from the settings."""
    from vehsim.stream.kafka_config import client_config

    options: dict[str, str] = {}
    for key, value in client_config(settings, bootstrap).items():
        if value is None:
            continue
        if key == "bootstrap_servers":
            value = ",".join(value)
        options["kafka." + key.replace("_", ".")] = str(value)
    return options


def _jvm_kafka_options(settings: Settings, bootstrap: str) -> dict[str, str]:
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
        options["kafka.sasl.jaas.config"] = (
            f'{module} required username="{settings.sasl_username}" '
            f'password="{settings.sasl_password}";'
        )
    if settings.ssl_cafile:
        options["kafka.ssl.truststore.location"] = settings.ssl_cafile
    return options


def read_kafka(spark, settings: Settings, config: BronzeConfig, checkpoint: Path):
    """The streaming DataFrame of the telemetry topic (Spark's Kafka columns)."""
    from vehsim.stream.broker import resolve_bootstrap

    bootstrap = resolve_bootstrap(settings)
    if config.engine == "jvm":
        reader = spark.readStream.format("kafka").options(**_jvm_kafka_options(settings, bootstrap))
        reader = reader.option("failOnDataLoss", "true")
    else:
        from vehsim_pipelines import kafka_source

        kafka_source.register(spark)
        reader = spark.readStream.format(kafka_source.SOURCE_NAME).options(
            **kafka_client_options(settings, bootstrap)
        )
        reader = reader.option("maxRecordsPerSplit", str(config.max_records_per_split))
        reader = reader.option("targetSplits", str(spark.sparkContext.defaultParallelism))
        reader = reader.option("checkpointLocation", str(checkpoint))
    reader = reader.option("subscribe", settings.telemetry_topic)
    reader = reader.option("startingOffsets", config.starting_offsets)
    if config.max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(config.max_offsets_per_trigger))
    return reader.load()


def jvm_connectors_available(spark) -> tuple[bool, str]:
    """Whether this Spark can load the Kafka connector and delta-spark (and if not, why)."""
    jvm = spark.sparkContext._jvm
    missing = []
    for label, class_name in _JVM_CLASSES.items():
        try:
            jvm.java.lang.Class.forName(
                class_name, False, jvm.java.lang.Thread.currentThread().getContextClassLoader()
            )
        except Exception:  # py4j wraps ClassNotFoundException
            missing.append(label)
    if missing:
        return False, f"the JVM classes of {' and '.join(missing)} are not on Spark's classpath"
    return True, "available"


# --- the query --------------------------------------------------------------------------------


def bronze_session(
    master: str | None = None, conf: Mapping[str, str] | None = None, engine: Engine = "python"
):
    """The SparkSession for Bronze (delta-spark settings added for the ``jvm`` engine)."""
    from vehsim_pipelines.session import build_spark

    extra = dict(DELTA_SPARK_CONF) if engine == "jvm" else {}
    # The stream prints its own progress lines; Spark's stage bars would interleave with them.
    extra["spark.ui.showConsoleProgress"] = "false"
    extra.update(conf or {})
    return build_spark("vehsim-bronze", master=master, conf=extra)


def _foreach_batch_writer(uri: str, app_id: str, storage: Mapping[str, str]) -> Callable:
    from vehsim_pipelines import delta_io

    def write(batch_df, batch_id: int) -> None:
        done = delta_io.committed_version(uri, app_id, storage)
        if done is not None and batch_id <= done:
            log.warning("batch %d of %s already committed; replay skipped", batch_id, app_id)
            return
        data = delta_io.conform(batch_df.toArrow(), BRONZE_SCHEMA)
        delta_io.guarded_append(uri, data, app_id, batch_id, PARTITION_BY, storage)

    return write


def _hadoop_uri(uri: str, settings: Settings) -> str:
    """``abfs://container/path`` as the ``abfss://container@account.dfs...`` form Hadoop needs."""
    for scheme in ("abfs://", "az://"):
        if uri.startswith(scheme):
            account = settings.lake_storage_options.get("account_name")
            if not account:
                raise VehsimError(
                    "the jvm engine needs AZURE_STORAGE_ACCOUNT_NAME to address an ADLS Gen2 lake"
                )
            container, _, path = uri[len(scheme) :].partition("/")
            return f"abfss://{container}@{account}.dfs.core.windows.net/{path}"
    return uri


def start_bronze(
    spark=None,
    settings: Settings | None = None,
    config: BronzeConfig | None = None,
):
    """Start the Bronze stream and return its ``StreamingQuery`` (it runs in the background).

    Args:
        spark: SparkSession (default: :func:`bronze_session`).
        settings: vehsim settings (default: :func:`vehsim.config.load_settings`).
        config: How to run (default: 1 s micro-batches from the earliest offsets). With
            ``available_now`` use :func:`run_bronze_available_now` instead, which also stops.
    """
    settings = settings or load_settings()
    config = config or BronzeConfig()
    if config.available_now and config.engine == "jvm":
        trigger = {"availableNow": True}
    elif config.available_now:
        trigger = {"processingTime": "0 seconds"}
    else:
        trigger = {"processingTime": f"{config.trigger_s} seconds"}
    return _start(spark or bronze_session(engine=config.engine), settings, config, trigger)


def _start(spark, settings: Settings, config: BronzeConfig, trigger: Mapping[str, Any]):
    from vehsim_pipelines import delta_sink

    checkpoint = checkpoint_path(settings, config.query_name)
    uri = bronze_uri(settings)
    if config.engine == "jvm":
        available, reason = jvm_connectors_available(spark)
        if not available:
            raise VehsimError(f"engine 'jvm' cannot run here: {reason}; use engine 'python'")

    app_id = query_id(checkpoint)
    frame = bronze_frame(read_kafka(spark, settings, config, checkpoint))
    writer = (
        frame.writeStream.queryName(config.query_name)
        .option("checkpointLocation", str(checkpoint))
        .trigger(**trigger)
    )
    if config.engine == "jvm":
        writer = writer.format("delta").partitionBy(*PARTITION_BY)
        return writer.start(_hadoop_uri(uri, settings))
    ensure_bronze_table(settings)
    if config.sink == "foreach_batch":
        return writer.foreachBatch(
            _foreach_batch_writer(uri, app_id, dict(settings.lake_storage_options))
        ).start()
    delta_sink.register(spark)
    options = delta_sink.sink_options(uri, app_id, PARTITION_BY, settings.lake_storage_options)
    return writer.format(delta_sink.SINK_NAME).options(**options).start()


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


def _committed_batches(checkpoint: Path) -> int:
    commits = checkpoint / "commits"
    return sum(1 for p in commits.iterdir() if p.name.isdigit()) if commits.is_dir() else 0


def run_bronze_available_now(
    spark=None,
    settings: Settings | None = None,
    config: BronzeConfig | None = None,
    on_progress: Callable[[dict], None] | None = None,
    poll_s: float = 0.2,
) -> BronzeRun:
    """Ingest everything that is in Kafka now into Bronze, then stop and return a summary.

    pyspark 4.1 runs ``Trigger.AvailableNow`` on a Python source as a single batch, which after
    a crash only replays the unfinished batch. So the end offsets are taken first and
    micro-batches (each at most ``max_offsets_per_trigger`` records) run back to back until the
    checkpoint has committed them all.
    """
    from dataclasses import replace

    from vehsim_pipelines import delta_io
    from vehsim_pipelines.kafka_source import checkpointed_end, offsets_reached, total_records

    settings = settings or load_settings()
    config = replace(config or BronzeConfig(), available_now=True)
    spark = spark or bronze_session(engine=config.engine)
    checkpoint = checkpoint_path(settings, config.query_name)
    started = time.monotonic()
    batches_before = _committed_batches(checkpoint)
    probe = TopicProbe(settings)
    try:
        target = probe.end_offsets()
        default = probe.beginning_offsets() if config.starting_offsets == "earliest" else target
    finally:
        probe.close()
    reached_before = checkpointed_end(str(checkpoint), committed=True) or default

    query = start_bronze(spark, settings, config)
    progress: list[dict] = []
    seen: set[int] = set()

    def collect() -> None:
        for item in query.recentProgress:
            if item["batchId"] not in seen:
                seen.add(item["batchId"])
                progress.append(item)
                if on_progress is not None and item.get("numInputRows", 0) > 0:
                    on_progress(item)

    try:
        while query.isActive:
            collect()
            if config.engine == "python" and offsets_reached(
                checkpointed_end(str(checkpoint), committed=True), target, default
            ):
                break
            query.awaitTermination(poll_s)
    finally:
        if query.isActive:
            query.stop()
    query.awaitTermination()  # raises the query's error, if it failed
    collect()
    reached = checkpointed_end(str(checkpoint), committed=True) or reached_before
    run = BronzeRun(
        batches=_committed_batches(checkpoint) - batches_before,
        records=total_records(reached_before, reached),
        duration_s=time.monotonic() - started,
        progress=progress,
    )
    uri = bronze_uri(settings)
    if config.engine == "python" and delta_io.table_exists(uri, settings.lake_storage_options):
        run.table_version = delta_io.load_table(uri, settings.lake_storage_options).version()
    return run


# --- progress ---------------------------------------------------------------------------------


def end_offsets_of(progress: Mapping[str, Any]) -> dict[str, dict[str, int]] | None:
    """The Kafka offsets a progress report says the query has reached (None if unknown)."""
    import ast

    try:
        sources = progress["sources"]
    except (KeyError, TypeError):
        return None
    if not sources:
        return None
    end = sources[0]["endOffset"]
    if isinstance(end, str):
        # JSON from the JVM; pyspark's progress objects hold the repr of a dict instead.
        try:
            end = json.loads(end)
        except ValueError:
            try:
                end = ast.literal_eval(end)
            except (ValueError, SyntaxError):
                return None
    return end if isinstance(end, dict) and end else None


class TopicProbe:
    """End offsets and lag of the telemetry topic, from one small driver-side consumer."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._consumer = None

    def _client(self):
        from kafka import KafkaConsumer

        from vehsim.stream.kafka_config import client_config

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

    def end_offsets(self) -> dict[str, dict[str, int]]:
        from vehsim.stream.offsets import true_end_offsets

        ends = true_end_offsets(self._client(), self._partitions())
        return {self.settings.telemetry_topic: {str(tp.partition): v for tp, v in ends.items()}}

    def beginning_offsets(self) -> dict[str, dict[str, int]]:
        firsts = self._client().beginning_offsets(self._partitions())
        return {self.settings.telemetry_topic: {str(tp.partition): v for tp, v in firsts.items()}}

    def lag(self, reached: Mapping[str, Mapping[str, int]] | None) -> int | None:
        """Records between ``reached`` and the end of the topic (None if unknown)."""
        from vehsim_pipelines.kafka_source import total_records

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
