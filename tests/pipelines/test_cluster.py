"""Acceptance: Kafka -> Bronze -> Silver -> Gold on a real Spark standalone cluster.

A master and two workers, each its own JVM started from pyspark's ``bin/spark-class``, run
``vehsim pipeline all --master spark://...``; every table then holds the rows a single-machine
(``local[2]``) run of the same Kafka records wrote, and the master and both workers show the
application's executors.
"""

from __future__ import annotations

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
from vehsim_pipelines.services import master_state  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _worker_state(web_url: str) -> dict:
    return master_state(web_url)  # a worker's web UI serves its state at /json/ as well


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
    (app,) = [a for a in state["completedapps"]]
    assert app["state"] == "FINISHED" and app["cores"] == 2, app
    for worker in state["workers"]:
        executors = _worker_state(worker["webuiaddress"])["finishedexecutors"]
        assert [e for e in executors if e["appid"] == app["id"]], (
            f"no executor of {app['id']} ran on worker {worker['id']}"
        )
