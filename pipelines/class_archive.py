"""The class-data archive of Spark's driver JVMs: built once, mapped by every driver after.

A Spark driver loads and verifies some 17,000 classes (Spark, Scala, Hadoop, Delta) before its
first job. A HotSpot class-data-sharing archive holds them parsed and verified
(:mod:`vehsim.jvm`, *Class-data archives*): measured on a two-core machine, a session that
writes and reads a small Delta table took 15.4-15.7 driver CPU seconds instead of 21.4-21.7
(Java 17, four runs interleaved; ``docs/lakehouse.md``, *Performance*).

``vehsim spark class-archive`` (run by ``make jars``) writes it with one training run: the
Silver and Gold jobs on a few minutes of two simulated cars, so the archive holds what the jobs
load (JSON parsing, Delta's appends, ``MERGE``, change-feed reads, window aggregates), in a
driver JVM started with ``-XX:ArchiveClassesAtExit``. :func:`vehsim_pipelines.session.build_spark`
and the Spark Connect server then start their drivers with it, as do the master, workers and
executors of a cluster on this machine (same classpath); without it they start as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vehsim import jvm
from vehsim.errors import VehsimError
from vehsim_pipelines.session import CLASS_ARCHIVE, class_archive_location, connector_jars

#: The training drive: cars, simulated seconds and events per second per car.
TRAINING_VEHICLES = 2
TRAINING_DURATION_S = 240.0
TRAINING_RATE_HZ = 2.0


def training_bronze_rows(
    n_vehicles: int = TRAINING_VEHICLES,
    duration_s: float = TRAINING_DURATION_S,
    rate_hz: float = TRAINING_RATE_HZ,
) -> list[dict]:
    """Bronze rows of a short city drive, as the Bronze job lands the runtime's events."""
    from vehsim import events, telemetry
    from vehsim.params import load_vehicle
    from vehsim.simulator import Simulator

    sim = Simulator([load_vehicle("compact-sedan")] * n_vehicles, start="hot")
    sim.set_driver(slice(None), "cycle:udds")
    clock0 = datetime(2026, 1, 1, tzinfo=UTC)
    vehicle_ids = [f"train-{i}" for i in range(n_vehicles)]
    rows: list[dict] = []
    for tick in range(int(duration_s * rate_hz)):
        sim.advance(1.0 / rate_hz)
        snapshot = sim.snapshot()
        at = clock0 + timedelta(seconds=sim.time_s)
        for i, vehicle_id in enumerate(vehicle_ids):
            payload = telemetry.raw_payload(snapshot, i)
            payload["sim_clock_utc"] = events.utc_iso(at)
            event = events.make_event(
                events.SIMULATION_RAW,
                vehicle_id,
                "train-run",
                tick,
                sim.time_s,
                payload,
                emitted_at=events.utc_iso(at),
            )
            rows.append(
                {
                    "topic": "vehsim.telemetry",
                    "partition": 0,
                    "offset": len(rows),
                    "kafka_ts": at,
                    "key": vehicle_id,
                    "raw_event": events.encode_event(event).decode(),
                    "key_bytes": None,
                    "raw_event_bytes": None,
                    "ingest_ts": at,
                    "ingest_date": at.date(),
                }
            )
    return rows


def train(home: Path, java_options: str) -> None:
    """One Silver and Gold run on a fresh lake under ``home``, in a driver with
    ``java_options``; the driver JVM exits with this process."""
    from vehsim.config import load_settings
    from vehsim_pipelines import jobs
    from vehsim_pipelines.bronze import bronze_uri, create_bronze_table
    from vehsim_pipelines.session import build_spark

    settings = load_settings({"VEHSIM_HOME": str(home)})
    spark = build_spark(
        "vehsim-class-archive",
        master="local[2]",
        conf={"spark.driver.extraJavaOptions": java_options},
        lake=settings,
    )
    create_bronze_table(spark, settings)
    bronze = spark.table(f"delta.`{bronze_uri(settings)}`")
    spark.createDataFrame(training_bronze_rows(), bronze.schema).write.format("delta").mode(
        "append"
    ).save(bronze_uri(settings))
    jobs.run_silver(spark, settings, progress=None)
    jobs.run_gold(spark, settings, progress=None)
    spark.stop()
    # pyspark's driver JVM exits when its standard input closes; it writes the archive first
    gateway = spark.sparkContext._gateway
    gateway.proc.stdin.close()
    gateway.proc.wait(timeout=600)


def build(rebuild: bool = False) -> Path:
    """The driver's class-data archive, written by a training run unless it exists.

    Raises:
        VehsimError: no Java, or the training run failed or wrote no archive.
        JarsUnavailable: the connector jars are not cached and Maven could not fetch them.
    """
    connector_jars()  # fetched first: the archive is named after them
    java, dirs = class_archive_location()
    if java is None:
        raise VehsimError("no Java found (JAVA_HOME or java on PATH) to build the archive for")

    def run_training(options: list[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="vehsim-class-archive-") as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_SPARK")}
            env["VEHSIM_HOME"] = home
            # the JVM writes the archive as it exits, after the training's own Python has
            # stopped the session: a fresh interpreter, so that nothing else holds the JVM
            result = subprocess.run(
                [sys.executable, "-m", "vehsim_pipelines.class_archive", home, " ".join(options)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
                raise VehsimError(f"the class-data archive's training run failed:\n{tail}")

    return jvm.build_class_archive(CLASS_ARCHIVE, java, dirs, run_training, rebuild=rebuild)


if __name__ == "__main__":  # the training run of :func:`build`: HOME JAVA_OPTIONS
    train(Path(sys.argv[1]), sys.argv[2])
