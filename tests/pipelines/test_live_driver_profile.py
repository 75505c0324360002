"""Acceptance (issue 16): a live drive through Kafka -> Bronze -> Silver -> Gold fills
``gold/trips.driver_profile`` and ``vehicle_model`` from the payload fields the runtime emits."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")
pytest.importorskip("kafka", reason="needs the [stream] extra")

from vehsim_pipelines import bronze, jobs, lake  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_live_drive_fills_driver_profile_and_vehicle_model_in_gold_trips(spark, lake_settings):
    from vehsim.stream.runtime import DriveConfig, DriveRuntime

    runtime = DriveRuntime(
        DriveConfig(
            vehicles=["compact-sedan"],
            driver="profile:sport",
            speedup=math.inf,
            duration_s=150.0,
            rate_hz=2.0,
        ),
        lake_settings,
    )
    final = runtime.run()
    assert final.pending == 0 and final.acked == final.events

    bronze.run_bronze_available_now(spark, lake_settings, bronze.BronzeConfig())
    jobs.run_silver(spark, lake_settings, progress=None)
    jobs.run_gold(spark, lake_settings, progress=None)

    telemetry = lake.read_table(lake_settings.table_uri("silver", "telemetry")).to_pylist()
    mine = [row for row in telemetry if row["run_id"] == runtime.run_id]
    assert mine and {row["driver_mode"] for row in mine} == {"sport"}

    trips = lake.read_table(lake_settings.table_uri("gold", "trips")).to_pylist()
    (trip,) = [t for t in trips if t["run_id"] == runtime.run_id]
    assert trip["driver_profile"] == "sport"
    assert trip["vehicle_model"] == "compact-sedan"
