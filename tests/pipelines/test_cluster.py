"""Acceptance: Kafka -> Bronze -> Silver -> Gold on a real Spark standalone cluster.

A master and two workers, each its own JVM started from pyspark's ``bin/spark-class``, run
``vehsim pipeline all --master spark://...``; every table then holds the rows a single-machine
(``local[2]``) run of the same Kafka records wrote, and the master and both workers show the
application's executors. Gold's per-run pass runs ``vehsim.features`` in the executors' Python
workers, so equal Gold tables also show that the executors run an interpreter with vehsim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")
pytest.importorskip("kafka", reason="needs the [stream] extra")

from spark_services import (  # noqa: E402
    assert_same_lake,
    lake_env,
    lake_rows,
    produce_input,
    run_reference,
    spark_cluster,  # noqa: E402, F401 (a fixture)
    vehsim,
)

from vehsim.config import load_settings  # noqa: E402
from vehsim_pipelines import class_archive  # noqa: E402
from vehsim_pipelines.services import (  # noqa: E402
    CONNECT_CLASS,
    MASTER_CLASS,
    ClusterRecord,
    ConnectServer,
    DaemonRecord,
    LocalCluster,
    master_state,
)
from vehsim_pipelines.session import connect_server_command  # noqa: E402


def _worker_state(web_url: str) -> dict:
    return master_state(web_url)  # a worker's web UI serves its state at /json/ as well


# --- without a JVM --------------------------------------------------------------------------


def test_connect_server_command_binds_loopback_and_carries_the_connectors():
    from vehsim_pipelines.session import connector_jars

    command = connect_server_command(15999, master="spark://127.0.0.1:7077", driver_memory="1g")
    assert command[0].endswith("bin/spark-submit") and CONNECT_CLASS in command
    assert command[command.index("--master") + 1] == "spark://127.0.0.1:7077"
    assert command[command.index("--jars") + 1] == ",".join(connector_jars())
    conf = dict(command[i + 1].split("=", 1) for i, arg in enumerate(command) if arg == "--conf")
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert conf["spark.connect.grpc.binding.port"] == "15999"
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert command[-1] == "spark-internal"


def test_a_record_whose_process_is_gone_is_no_running_service(tmp_path):
    settings = load_settings({"VEHSIM_HOME": str(tmp_path)})
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    cluster = LocalCluster(settings)
    record = ClusterRecord(
        host="127.0.0.1",
        master=DaemonRecord("master", gone.pid, 1, 2, "master.log"),
        workers=(),
        cores_per_worker=1,
        memory_per_worker="1g",
        started_at=0.0,
    )
    cluster.layout.root.mkdir(parents=True)
    cluster.layout.cluster_record.write_text(json.dumps(asdict(record)))
    assert cluster.status() is None
    assert cluster.stop() is False and not cluster.layout.cluster_record.exists()
    # This very process is alive but is not a Spark master: its pid in a record is not taken.
    own = DaemonRecord("master", os.getpid(), 1, 2, "master.log")
    cluster.layout.cluster_record.write_text(json.dumps(asdict(record) | {"master": asdict(own)}))
    assert MASTER_CLASS not in open(f"/proc/{os.getpid()}/cmdline").read()
    assert cluster.status() is None
    assert ConnectServer(settings).status() is None


# --- on a cluster -----------------------------------------------------------------------------


@pytest.mark.timeout(1200)
def test_pipeline_on_a_standalone_cluster_equals_the_single_machine_run(
    spark,
    lake_settings,
    spark_cluster,  # noqa: F811
    tmp_path,
):
    records = produce_input(lake_settings)

    run_reference(spark, lake_settings)
    expected = lake_rows(lake_settings)
    assert len(expected["bronze/events"]) == records
    assert expected["silver/telemetry"] and expected["gold/vehicle_minute"]

    cluster_home = tmp_path / "cluster-home"
    env = lake_env(lake_settings, cluster_home)
    vehsim(["pipeline", "all", "--master", spark_cluster.master_url], env)
    assert_same_lake(expected, lake_rows(load_settings(env)))

    state = master_state(spark_cluster.web_url)
    assert state["aliveworkers"] == 2
    # the master and workers run on the drivers' classpath and start from their class archive
    archive = class_archive.build()
    for daemon in (spark_cluster.master, *spark_cluster.workers):
        maps = Path(f"/proc/{daemon.pid}/maps").read_text()
        assert str(archive) in maps, f"{daemon.name} does not map {archive}"
    (app,) = [a for a in state["completedapps"]]
    assert app["state"] == "FINISHED" and app["cores"] == 2, app
    for worker in state["workers"]:
        executors = _worker_state(worker["webuiaddress"])["finishedexecutors"]
        assert [e for e in executors if e["appid"] == app["id"]], (
            f"no executor of {app['id']} ran on worker {worker['id']}"
        )
