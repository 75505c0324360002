"""Fixtures and helpers for running the lake's jobs somewhere else than the test's own session.

- :func:`spark_cluster`: a standalone cluster (a master and two workers, each its own JVM) on
  127.0.0.1, started with :class:`vehsim_pipelines.services.LocalCluster` and stopped after the
  module;
- :func:`connect_server`: a Spark Connect server with vehsim's connectors on 127.0.0.1;
- :func:`produce_input`: the same Kafka records for every run of a test (valid telemetry of two
  vehicles over several minutes, every kind of bad event, duplicates);
- :func:`run_reference`: Kafka -> Bronze -> Silver -> Gold in the test's own ``local[2]``
  session (the single-machine run);
- :func:`vehsim`: the ``vehsim`` command line in a child process, whose Spark driver is its own;
- :func:`lake_rows` / :func:`assert_same_lake`: every table's rows, without the columns that
  record when something ran, and their comparison.

Import the fixtures into a test module (``from spark_services import spark_cluster``).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lakehouse_data import bad_event_corpus, encode, telemetry_event

from vehsim.config import Settings, load_settings

#: Columns that say when a job ran (wall clock), not what it computed: they differ between any
#: two runs on the same input.
WALL_CLOCK_COLUMNS = frozenset(
    {
        "ingest_ts",
        "ingest_date",
        "started_at",
        "finished_at",
        "duration_s",
        "freshness_s",
        "ingest_lag_p50_s",
        "ingest_lag_max_s",
    }
)
#: Floating-point sums may add up in another order on another partitioning [relative].
FLOAT_REL_TOL = 1e-9
VEHICLES = ("cluster-car-000", "cluster-car-001")
#: Telemetry events per vehicle at 1 Hz: several Gold minutes per trip.
EVENTS_PER_VEHICLE = 200
#: How long one ``vehsim`` command may take [s] (a cluster job on 2 busy cores: minutes).
COMMAND_TIMEOUT_S = 600


def _service_settings(home: Path) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(home)
    return load_settings(env)


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    """A running standalone cluster: master and two workers of 1 core and 1 GiB each."""
    pytest.importorskip("pyspark", reason="needs the [spark] extra")
    from vehsim_pipelines.services import LocalCluster

    cluster = LocalCluster(_service_settings(tmp_path_factory.mktemp("spark-cluster")))
    record = cluster.start(workers=2, cores_per_worker=1, memory_per_worker="1g")
    yield record
    cluster.stop()


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """A running Spark Connect server (its Spark on ``local[2]``) with vehsim's connectors."""
    pytest.importorskip("pyspark", reason="needs the [spark] extra")
    from vehsim_pipelines.services import ConnectServer

    server = ConnectServer(_service_settings(tmp_path_factory.mktemp("spark-connect")))
    record = server.start(master="local[2]")
    yield record
    server.stop()


def produce_input(settings: Settings) -> int:
    """Send the test's records to the telemetry topic, keyed by vehicle, round-robin over its
    partitions; returns how many."""
    from kafka import KafkaProducer

    values: list[tuple[bytes, bytes | None]] = []
    for vehicle in VEHICLES:
        for seq in range(EVENTS_PER_VEHICLE):
            event = encode(telemetry_event(vehicle, "cluster-run", seq))
            values.append((vehicle.encode(), event.encode()))
    for item in bad_event_corpus():
        values.append((b"corpus-car-000", None if item.value is None else item.value.encode()))
    values.append((VEHICLES[0].encode(), values[0][1]))  # a duplicate in another partition
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=20)
    try:
        for i, (key, value) in enumerate(values):
            producer.send(
                settings.telemetry_topic,
                key=key,
                value=value,
                partition=i % settings.telemetry_partitions,
            )
        producer.flush()
    finally:
        producer.close()
    return len(values)


def run_reference(spark, settings: Settings) -> None:
    """Kafka -> Bronze -> Silver -> Gold in the test's own session, as ``vehsim pipeline all``
    runs them."""
    from vehsim_pipelines import bronze, jobs

    bronze.run_bronze_available_now(spark, settings, bronze.BronzeConfig())
    jobs.run_silver(spark, settings, progress=None)
    jobs.run_gold(spark, settings, progress=None)


def lake_env(settings: Settings, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``vehsim`` child process: its own home (lake, checkpoints), the
    test's broker and topics, loopback only."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VEHSIM_", "SPARK_")) or k == "SPARK_SUBMIT_OPTS"
    }
    env.update(
        VEHSIM_HOME=str(home),
        VEHSIM_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
        VEHSIM_TOPIC_PREFIX=settings.topic_prefix,
        VEHSIM_JARS_DIR=os.environ["VEHSIM_JARS_DIR"],
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        # Spark otherwise picks the first non-loopback interface for what it does not bind to
        # spark.driver.host.
        SPARK_LOCAL_IP="127.0.0.1",
    )
    if env.get("SPARK_SUBMIT_OPTS"):  # a cluster's executors get the drivers' JVM flags
        env["VEHSIM_SPARK_CONF"] = f"spark.executor.extraJavaOptions={env['SPARK_SUBMIT_OPTS']}"
    env.update(extra)
    return env


def vehsim(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``vehsim ARGS`` in a child process; fail the test with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"vehsim {' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stderr[-6000:]}\n{result.stdout[-2000:]}"
        )
    return result


def lake_rows(settings: Settings) -> dict[str, list[dict]]:
    """Every catalog table's rows (wall-clock columns left out), in a stable order."""
    from deltalake import DeltaTable

    from vehsim_pipelines.catalog import ALL_TABLES, Catalog

    lakehouse = Catalog(settings)
    tables: dict[str, list[dict]] = {}
    for table in ALL_TABLES:
        uri = lakehouse.uri(table)
        if not Path(uri).exists():
            tables[table.id] = []
            continue
        rows = DeltaTable(uri).to_pyarrow_table().to_pylist()
        rows = [{k: v for k, v in r.items() if k not in WALL_CLOCK_COLUMNS} for r in rows]
        tables[table.id] = sorted(rows, key=lambda r, key=table.key: _order(r, key))
    return tables


def _order(row: dict, key: tuple[str, ...]) -> tuple:
    """The table's key columns first, so that a float's last digit never reorders rows."""
    columns = [k for k in key if k in row] + sorted(k for k in row if k not in key)
    return tuple((row[k] is None, str(row[k])) for k in columns)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=FLOAT_REL_TOL, abs_tol=1e-12)
    return a == b


def lake_differences(expected: dict[str, list[dict]], actual: dict[str, list[dict]]) -> list[str]:
    """What differs between two lakes' rows, one line per table (floats to
    :data:`FLOAT_REL_TOL`)."""
    problems = []
    for table_id in sorted(set(expected) | set(actual)):
        want, got = expected.get(table_id, []), actual.get(table_id, [])
        if len(got) != len(want):
            problems.append(f"{table_id}: {len(got)} rows, expected {len(want)}")
            continue
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if g.keys() != w.keys():
                problems.append(f"{table_id}: columns {sorted(g)}, expected {sorted(w)}")
                break
            differ = {k: (g[k], w[k]) for k in w if not _same(g[k], w[k])}
            if differ:
                problems.append(f"{table_id} row {i}: (got, expected) {differ}")
                break
    return problems


def assert_same_lake(expected: dict[str, list[dict]], actual: dict[str, list[dict]]) -> None:
    """Every table holds the same rows."""
    problems = lake_differences(expected, actual)
    assert not problems, "\n".join(problems)
