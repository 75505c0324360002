"""Benchmark of the Bronze stream (Kafka -> Spark -> Delta) on an embedded broker started here.

1. Backlog ingestion: N telemetry events (default 1,000,000, about 1.2 GB: enough that the
   run's fixed costs, a query start and a commit per batch of a few seconds in all, do not
   decide the rate; at 200,000 they are about half of it) already in the topic (3 partitions) are read
   (a) by one raw kafka-python consumer and one confluent-kafka (librdkafka) consumer (assign,
   seek to the beginning, poll to the end: the baselines), (b) by ``run_bronze_available_now``
   into a fresh Bronze table (Spark's own Kafka source and delta-spark's sink: the product), and
   (c) by the previous Bronze source, a Python data source over kafka-python/librdkafka
   (``benchmarks/legacy``), into the same delta-spark sink. Reports events/s of each and the
   ratios (target >= 100,000 events/s into Bronze on 2 cores). The Spark session is warmed up
   on a small topic first, as a long-running stream is. Two ceilings are measured beside them:
   Spark's Kafka source alone (Bronze's columns into a ``noop`` sink), and the wall time of a
   small Delta append, plain and idempotent (as the streaming sink commits every batch).
2. Steady state: events produced at a fixed rate (default 2,000/s) while Bronze runs with a
   1 s trigger; for every event, the time from its Kafka timestamp (producer create time) to
   the moment a reader sees it in the Delta table (a poller watches the table every 50 ms).
   Reports p50/p95/max (target p95 <= 3 s).

Usage: ``python benchmarks/bench_bronze.py [--events N] [--rate-hz R] [--duration-s S]
[--trigger-s T] [--no-legacy] [--keep]``. Prints a table and, last, a one-line JSON
summary. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path


def _payloads(vehicles: int = 50) -> list[tuple[int, float, dict]]:
    """``simulation.raw`` payloads of a small fleet on UDDS (synthetic ones if that fails)."""
    import random

    import vehsim

    try:
        names = sorted(vehsim.list_vehicles())
        sim = vehsim.Simulator(
            [vehsim.load_vehicle(names[i % len(names)]) for i in range(vehicles)]
        )
        sim.set_driver(slice(None), "cycle:udds")
        out = []
        for _ in range(40):
            sim.advance(1.0)
            snapshot = sim.snapshot()
            out += [
                (i, sim.time_s, vehsim.telemetry.raw_payload(snapshot, i)) for i in range(vehicles)
            ]
        return out
    except Exception as exc:  # the benchmark is about transport; any JSON of the right size does
        print(f"note: simulation unavailable ({exc}); using synthetic payloads", file=sys.stderr)
        rng = random.Random(0)
        fields = ["speed_kmh", "accel_mps2", "engine_rpm", "torque_nm", "throttle_pct", "brake_pct",
                  "gear", "fuel_rate_gps", "fuel_used_g", "coolant_temp_c", "oil_temp_c",
                  "odometer_km", "brake_wear_frac", "tire_wear_frac", "battery_soc_pct"]  # fmt: skip
        return [
            (i, float(t), {f: round(rng.uniform(0, 100), 3) for f in fields})
            for t in range(40)
            for i in range(vehicles)
        ]


def _events(n: int) -> list[bytes]:
    """``n`` encoded telemetry events (a fleet's payloads, renumbered)."""
    from vehsim.events import SIMULATION_RAW, encode_event, make_event

    payloads = _payloads()
    run_id = str(uuid.uuid4())
    return [
        encode_event(make_event(SIMULATION_RAW, f"car-{i:03d}", run_id, k, t, payload))
        for k, (i, t, payload) in ((k, payloads[k % len(payloads)]) for k in range(n))
    ]


def _produce(settings, values: list[bytes]) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, batch_size=256 * 1024
    )
    start = time.perf_counter()
    for k, value in enumerate(values):
        producer.send(
            settings.telemetry_topic, value=value, partition=k % settings.telemetry_partitions
        )
    producer.flush()
    elapsed = time.perf_counter() - start
    producer.close()
    return len(values) / elapsed


def _raw_consume(settings, expected: int) -> float:
    """Events/s of one kafka-python consumer reading the whole topic."""
    from kafka import KafkaConsumer, TopicPartition

    from vehsim.stream.offsets import end_offsets

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=10_000,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    parts = [
        TopicPartition(settings.telemetry_topic, p) for p in range(settings.telemetry_partitions)
    ]
    ends = end_offsets(consumer, parts)
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    start = time.perf_counter()
    count = 0
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for records in consumer.poll(timeout_ms=1000).values():
            count += len(records)
    elapsed = time.perf_counter() - start
    consumer.close()
    if count != expected:
        print(f"warning: raw consumer read {count} events, expected {expected}", file=sys.stderr)
    return count / elapsed


def _raw_consume_rdkafka(settings, expected: int) -> float | None:
    """Events/s of one confluent-kafka (librdkafka) consumer reading the whole topic."""
    try:
        from confluent_kafka import Consumer, TopicPartition
    except ImportError:
        return None
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "bench",
            "enable.auto.commit": False,
            "isolation.level": "read_uncommitted",
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.assign(
        [
            TopicPartition(settings.telemetry_topic, p, 0)
            for p in range(settings.telemetry_partitions)
        ]
    )
    start = time.perf_counter()
    count = 0
    while count < expected and time.perf_counter() - start < 120:
        count += sum(1 for m in consumer.consume(10_000, 0.5) if m.error() is None)
    elapsed = time.perf_counter() - start
    consumer.close()
    return count / elapsed


def _summary(records: int, duration_s: float, progress: list[dict]) -> dict:
    batch_s = sum(p["durationMs"]["triggerExecution"] for p in progress if p["numInputRows"]) / 1000
    return {
        "events": records,
        "batches": sum(1 for p in progress if p["numInputRows"]),
        "wall_s": duration_s,
        "events_per_s": records / duration_s if duration_s else float("nan"),
        "batch_s": batch_s,
        "events_per_batch_s": records / batch_s if batch_s else float("nan"),
    }


def _spark_source_alone(spark, settings, events: int) -> float:
    """Events/s of Spark's Kafka source reading the backlog into a sink that does nothing
    (``noop``) with Bronze's columns: the ceiling of any Bronze on this source (best of two)."""
    from vehsim_pipelines import bronze

    best = float("inf")
    for _ in range(2):
        frame = (
            spark.read.format("kafka")
            .options(**bronze.kafka_options(settings, settings.kafka_bootstrap))
            .option("subscribe", settings.telemetry_topic)
            .load()
        )
        start = time.perf_counter()
        bronze.bronze_frame(frame).write.format("noop").mode("overwrite").save()
        best = min(best, time.perf_counter() - start)
    return events / best


def _commit_costs(spark, work: Path, commits: int = 8) -> dict:
    """Median wall time of a Delta append of 10 rows, plain and idempotent (``txnAppId`` and
    ``txnVersion``, as the streaming sink commits every batch): the second looks up the table's
    transactions, which rebuilds the table state from its log on every commit."""
    frame = spark.range(10).selectExpr("id", "repeat('x', 1000) AS raw_event")
    out = {}
    for name in ("plain", "idempotent"):
        path = str(work / f"commit-{name}")
        times = []
        for k in range(commits):
            writer = frame.write.format("delta").mode("append")
            if name == "idempotent":
                writer = writer.option("txnAppId", "bench").option("txnVersion", k)
            start = time.perf_counter()
            writer.save(path)
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times[1:])
    return out


def _bronze_backlog(spark, settings) -> dict:
    from vehsim_pipelines import bronze

    run = bronze.run_bronze_available_now(spark, settings, bronze.BronzeConfig())
    return _summary(run.records, run.duration_s, run.progress)


def _legacy_backlog(spark, settings, expected: int) -> dict:
    """The previous Bronze source (a Python data source) into the same Delta sink."""
    import python_kafka_source as legacy  # benchmarks/legacy, on the path from main()

    from vehsim_pipelines import bronze
    from vehsim_pipelines.catalog import BRONZE_EVENTS, Catalog

    legacy.register(spark)
    bronze.create_bronze_table(spark, settings)
    checkpoint = settings.checkpoint_dir / "legacy"
    started = time.monotonic()
    query = (
        bronze.bronze_frame(
            spark.readStream.format(legacy.SOURCE_NAME)
            .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
            .option("subscribe", settings.telemetry_topic)
            .option("startingOffsets", "earliest")
            .option("maxOffsetsPerTrigger", str(bronze.DEFAULT_MAX_OFFSETS_PER_TRIGGER))
            .option("maxRecordsPerSplit", "50000")
            .option("targetSplits", str(os.cpu_count() or 2))
            .option("checkpointLocation", str(checkpoint))
            .load()
        )
        .writeStream.format("delta")
        .partitionBy(*bronze.PARTITION_BY)
        .option("checkpointLocation", str(checkpoint))
        .trigger(processingTime="0 seconds")
        .start(Catalog(settings).spark_path(BRONZE_EVENTS))
    )
    progress: dict[int, dict] = {}
    try:
        while query.isActive and sum(p["numInputRows"] for p in progress.values()) < expected:
            query.awaitTermination(0.2)
            for p in query.recentProgress:
                progress[p["batchId"]] = p
    finally:
        query.stop()
    return _summary(
        sum(p["numInputRows"] for p in progress.values()),
        time.monotonic() - started,
        list(progress.values()),
    )


class _TableWatcher(threading.Thread):
    """Records, for every row that appears in the table, when it became visible."""

    def __init__(self, uri: str, period_s: float = 0.05):
        super().__init__(daemon=True)
        self.uri = uri
        self.period_s = period_s
        self.stop_event = threading.Event()
        self.latencies_s: list[float] = []
        self.rows = 0

    def run(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from deltalake import DeltaTable

        table = DeltaTable(self.uri)
        known = set(pa.table(table.get_add_actions(flatten=True))["path"].to_pylist())
        version = table.version()
        while not self.stop_event.is_set():
            time.sleep(self.period_s)
            table.update_incremental()
            if table.version() == version:
                continue
            seen_s = time.time()
            version = table.version()
            paths = set(pa.table(table.get_add_actions(flatten=True))["path"].to_pylist())
            for path in sorted(paths - known):
                ts = pq.read_table(Path(self.uri) / path, columns=["kafka_ts"])["kafka_ts"]
                # Spark may write INT96 (read as ns): normalise to microseconds first.
                micros = ts.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
                self.latencies_s += [seen_s - us / 1e6 for us in micros]
                self.rows += len(micros)
            known = paths


def _paced_producer(settings, values: list[bytes], rate_hz: float, stop: threading.Event) -> int:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    period_s = 1.0 / rate_hz
    start = time.monotonic()
    sent = 0
    while not stop.is_set() and sent < len(values):
        due = start + sent * period_s
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        producer.send(
            settings.telemetry_topic,
            value=values[sent],
            partition=sent % settings.telemetry_partitions,
        )
        sent += 1
    producer.flush()
    producer.close()
    return sent


def _steady_state(spark, settings, rate_hz: float, duration_s: float, trigger_s: float) -> dict:
    from vehsim.stream.broker import ensure_topics
    from vehsim_pipelines import bronze

    ensure_topics(settings)
    query = bronze.start_bronze(spark, settings, bronze.BronzeConfig(trigger_s=trigger_s))
    try:
        # Wait for the first (slow) batch so that the measurement sees the running stream.
        _produce(settings, _events(30))
        deadline = time.monotonic() + 120
        while (
            not (query.lastProgress and query.lastProgress["numInputRows"])
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        watcher = _TableWatcher(bronze.bronze_uri(settings))
        watcher.start()
        values = _events(int(rate_hz * duration_s))
        stop = threading.Event()
        t0 = time.monotonic()
        sent = _paced_producer(settings, values, rate_hz, stop)
        produce_s = time.monotonic() - t0
        deadline = time.monotonic() + 60
        while watcher.rows < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        watcher.stop_event.set()
        watcher.join(10)
        batches = [p for p in query.recentProgress if p["numInputRows"]]
    finally:
        query.stop()
    phases = {}
    for key in (
        "latestOffset",
        "queryPlanning",
        "walCommit",
        "addBatch",
        "commitOffsets",
        "triggerExecution",
    ):
        values = [p["durationMs"].get(key, 0) for p in batches]
        phases[key] = statistics.median(values) / 1000 if values else float("nan")
    lat = sorted(watcher.latencies_s)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")

    return {
        "rate_hz": rate_hz,
        "achieved_rate_hz": sent / produce_s,
        "events": sent,
        "seen": watcher.rows,
        "p50_s": pct(0.50),
        "p95_s": pct(0.95),
        "max_s": lat[-1] if lat else float("nan"),
        "mean_s": statistics.fmean(lat) if lat else float("nan"),
        "batch_phases_median_s": phases,
        "rows_per_batch_median": statistics.median([p["numInputRows"] for p in batches])
        if batches
        else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate-hz", type=float, default=2_000.0)
    parser.add_argument("--duration-s", type=float, default=30.0)
    parser.add_argument("--trigger-s", type=float, default=1.0)
    parser.add_argument("--no-legacy", action="store_true", help="skip the previous source")
    parser.add_argument(
        "--keep", action="store_true", help="keep the broker's log and the lakes (gigabytes)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # The previous source's module must import in Spark's Python workers too.
    legacy_dir = str(Path(__file__).resolve().parent / "legacy")
    sys.path.insert(0, legacy_dir)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [legacy_dir, os.environ.get("PYTHONPATH")])
    )

    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker, ensure_topics
    from vehsim_pipelines import bronze

    work = Path(tempfile.mkdtemp(prefix="bench-bronze-"))
    base = load_settings({"VEHSIM_HOME": str(work / "home")})
    broker = EmbeddedBroker(base)
    record = broker.start()
    try:

        def settings_for(name: str):
            return replace(
                base,
                kafka_bootstrap=record.bootstrap,
                topic_prefix=f"{name}.",
                lake_uri=str(work / name / "lake"),
                checkpoint_dir=work / name / "checkpoints",
            )

        backlog = settings_for("backlog")
        ensure_topics(backlog)
        print(f"generating {args.events:,} telemetry events ...", file=sys.stderr)
        values = _events(args.events)
        mean_bytes = statistics.fmean(len(v) for v in values)
        produce_eps = _produce(backlog, values)
        raw_eps = max(_raw_consume(backlog, args.events) for _ in range(2))
        rdkafka_eps = _raw_consume_rdkafka(backlog, args.events)

        t0 = time.monotonic()
        spark = bronze.bronze_session()
        session_s = time.monotonic() - t0
        warm = settings_for("warmup")
        ensure_topics(warm)
        _produce(warm, values[:5_000])
        t0 = time.monotonic()
        bronze.run_bronze_available_now(spark, warm)
        cold_s = time.monotonic() - t0

        source_eps = _spark_source_alone(spark, backlog, args.events)
        commit_s = _commit_costs(spark, work)
        results = {}
        for name in ("spark-kafka", *(() if args.no_legacy else ("legacy-python",))):
            target = replace(backlog, lake_uri=str(work / f"backlog-{name}" / "lake"),
                             checkpoint_dir=work / f"backlog-{name}" / "checkpoints")  # fmt: skip
            if name == "spark-kafka":
                results[name] = _bronze_backlog(spark, target)
            else:
                results[name] = _legacy_backlog(spark, target, args.events)

        steady = _steady_state(
            spark, settings_for("steady"), args.rate_hz, args.duration_s, args.trigger_s
        )
        spark.stop()
    finally:
        broker.stop()
        if args.keep:
            print(f"kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nBronze benchmark ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    print(
        f"  backlog: {args.events:,} events of {mean_bytes:.0f} B, 3 partitions (produced at {produce_eps:,.0f}/s)"
    )
    print(f"  raw kafka-python consume (baseline)   {raw_eps:>10,.0f} events/s")
    if rdkafka_eps:
        print(f"  raw confluent-kafka consume           {rdkafka_eps:>10,.0f} events/s")
    print(f"  Spark's Kafka source alone (no sink)  {source_eps:>10,.0f} events/s")
    labels = {
        "spark-kafka": "Bronze: Spark Kafka source -> delta",
        "legacy-python": "previous Python source -> delta   ",
    }
    for name, r in results.items():
        print(
            f"  {labels[name]}   {r['events_per_s']:>10,.0f} events/s "
            f"({r['events_per_s'] / raw_eps:.2f}x raw; {r['batches']} batch(es), "
            f"{r['events_per_batch_s']:,.0f}/s inside batches)"
        )
    if "legacy-python" in results:
        ratio = results["spark-kafka"]["events_per_s"] / results["legacy-python"]["events_per_s"]
        print(f"  Spark's Kafka source / previous Python source: {ratio:.2f}x")
    print(f"  Spark session start {session_s:.1f} s; first run (cold JIT) {cold_s:.1f} s")
    print(
        f"  Delta append of 10 rows: plain {commit_s['plain']:.2f} s, idempotent "
        f"(txnAppId/txnVersion, as every streaming batch) {commit_s['idempotent']:.2f} s"
    )
    print(
        f"  steady state at {steady['achieved_rate_hz']:,.0f} events/s, trigger {args.trigger_s} s: "
        f"event-to-Bronze latency p50 {steady['p50_s']:.2f} s, p95 {steady['p95_s']:.2f} s, "
        f"max {steady['max_s']:.2f} s ({steady['seen']:,}/{steady['events']:,} events seen)"
    )
    print(
        f"  median batch ({steady['rows_per_batch_median']:,.0f} rows): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in steady["batch_phases_median_s"].items())
    )
    best = results["spark-kafka"]["events_per_s"]
    print(
        f"  targets: backlog >= 100,000 events/s: {best:,.0f}; p95 <= 3 s: {steady['p95_s']:.2f} s"
    )
    summary = {
        "benchmark": "bronze",
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "backlog_events": args.events,
        "event_bytes": round(mean_bytes),
        "raw_consume_events_per_s": round(raw_eps),
        "raw_rdkafka_consume_events_per_s": round(rdkafka_eps) if rdkafka_eps else None,
        "spark_source_alone_events_per_s": round(source_eps),
        "delta_commit_s": {k: round(v, 3) for k, v in commit_s.items()},
        "bronze_events_per_s": {k: round(r["events_per_s"]) for k, r in results.items()},
        "bronze_vs_raw": {k: round(r["events_per_s"] / raw_eps, 3) for k, r in results.items()},
        "session_start_s": round(session_s, 2),
        "cold_first_run_s": round(cold_s, 2),
        "steady_rate_hz": round(steady["achieved_rate_hz"]),
        "latency_p50_s": round(steady["p50_s"], 3),
        "latency_p95_s": round(steady["p95_s"], 3),
        "latency_max_s": round(steady["max_s"], 3),
        "steady_batch_phases_s": {
            k: round(v, 3) for k, v in steady["batch_phases_median_s"].items()
        },
        "target_backlog_met": best >= 100_000,
        "target_latency_met": steady["p95_s"] <= 3.0,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
