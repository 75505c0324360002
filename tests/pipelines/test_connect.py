"""Acceptance: the jobs driven over Spark Connect, as a notebook would drive them.

A Spark Connect server with vehsim's connectors (``vehsim_pipelines.services.ConnectServer``)
runs on 127.0.0.1; a client whose session is ``VEHSIM_SPARK_REMOTE=sc://...`` (or
``--remote``) runs Bronze available-now, then Silver and Gold. The client starts no JVM: the
server reads Kafka and writes the tables. Every table then holds the rows a single-machine run
of the same Kafka records wrote, and is readable by ``deltalake``.

The client runs in a child process: a Spark Connect session switches pyspark's functions to
Connect mode for the whole process, which the other tests' local session must not see.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")
pytest.importorskip("kafka", reason="needs the [stream] extra")
pytest.importorskip("grpc", reason="a Spark Connect client needs pyspark[connect] (grpcio)")

from spark_services import (  # noqa: E402
    assert_same_lake,
    connect_server,  # noqa: E402, F401 (a fixture)
    lake_env,
    lake_rows,
    produce_input,
    run_reference,
    vehsim,
)

from vehsim.config import load_settings  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.timeout(1200)
def test_bronze_silver_gold_over_spark_connect_equal_the_single_machine_run(
    spark,
    lake_settings,
    connect_server,  # noqa: F811
    tmp_path,
):
    records = produce_input(lake_settings)

    client_home = tmp_path / "connect-client"
    env = lake_env(lake_settings, client_home, VEHSIM_SPARK_REMOTE=connect_server.url)
    bronze = vehsim(["pipeline", "bronze", "--available-now"], env)
    assert f"done: {records:,} records" in bronze.stderr, bronze.stderr[-3000:]

    # The same client by the command-line option; Bronze finds nothing new.
    env.pop("VEHSIM_SPARK_REMOTE")
    refine = vehsim(["pipeline", "all", "--remote", connect_server.url], env)
    assert "bronze: 0 records" in refine.stderr, refine.stderr[-3000:]

    run_reference(spark, lake_settings)
    expected = lake_rows(lake_settings)
    assert len(expected["bronze/events"]) == records
    assert expected["silver/telemetry"] and expected["gold/vehicle_minute"]
    assert_same_lake(expected, lake_rows(load_settings(env)))
