"""Trouble codes through the lake: diagnostic.dtc events land in silver/events with their payload;
gold/diagnostics keeps one row per vehicle and code, built incrementally and exactly once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")

from lakehouse_data import BASE_TIME, BronzeWriter, event_id, telemetry_event  # noqa: E402

from vehsim import events  # noqa: E402
from vehsim_pipelines import jobs, lake  # noqa: E402

FRAME = {"coolant_temp_c": 61.5, "engine_speed_rpm": 1850.0, "vehicle_speed_kph": 42.0}


@pytest.fixture
def settings(vehsim_env):
    from vehsim.config import load_settings

    return load_settings()


def dtc_event(
    vehicle: str, run: str, seq: int, code: str, status: str, frame=None, start=BASE_TIME
) -> dict:
    """A ``diagnostic.dtc`` event ``seq`` seconds into a run that began at ``start``."""
    return events.make_event(
        events.DIAGNOSTIC_DTC,
        vehicle,
        run,
        seq,
        float(seq),
        {
            "code": code,
            "description": "Coolant thermostat below regulating temperature",
            "status": status,
            "mil_on": status == "confirmed",
            "sim_time_s": float(seq),
            "freeze_frame": frame,
        },
        event_id=event_id(vehicle, run, seq),
        emitted_at=(start + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )


def _diagnostics(settings) -> dict:
    rows = lake.read_table(settings.table_uri("gold", "diagnostics")).to_pylist()
    return {(r["vehicle_id"], r["code"]): r for r in rows}


@pytest.mark.slow  # two Silver + Gold rounds and a third that finds nothing
def test_codes_land_in_silver_and_gold_keeps_one_row_per_vehicle_and_code(spark, settings):
    car, other = "compact-sedan-000", "pickup-v8-001"
    bronze = BronzeWriter(settings.table_uri("bronze", "events"))
    first = [telemetry_event(car, "run-1", s) for s in range(0, 40) if s not in (10, 30)]
    first += [
        dtc_event(car, "run-1", 10, "P0128", "pending"),
        dtc_event(car, "run-1", 30, "P0128", "confirmed", FRAME),
    ]
    bronze.append_events(first)
    jobs.run_silver(spark, settings, progress=None)
    (gold_run,) = jobs.run_gold(spark, settings, progress=None)

    silver_rows = lake.read_table(settings.table_uri("silver", "events")).to_pylist()
    dtc_rows = sorted(
        (r for r in silver_rows if r["event_type"] == events.DIAGNOSTIC_DTC), key=lambda r: r["seq"]
    )
    assert [(r["dtc_code"], r["dtc_status"], r["mil_on"]) for r in dtc_rows] == [
        ("P0128", "pending", "false"),
        ("P0128", "confirmed", "true"),
    ]
    assert json.loads(dtc_rows[1]["freeze_frame"]) == FRAME, "the freeze frame as JSON text"
    assert float(dtc_rows[1]["dtc_sim_time_s"]) == 30.0

    row = _diagnostics(settings)[(car, "P0128")]
    assert row["status"] == "confirmed" and row["mil_on"] is True
    assert row["first_seen_sim_time_s"] == 10.0 and row["last_seen_sim_time_s"] == 30.0
    assert row["first_seen_at"] == BASE_TIME + timedelta(seconds=10)
    assert row["first_confirmed_at"] == BASE_TIME + timedelta(seconds=30)
    assert row["confirmed_count"] == 1 and row["events"] == 2
    assert json.loads(row["freeze_frame"]) == FRAME
    assert row["first_seen_run_id"] == row["last_seen_run_id"] == "run-1"
    versions = {t: v["version"] for t, v in jobs.table_summary(settings).items() if v}

    # A later range: the code is cleared in a second run, another car sets a code. The
    # existing row is updated (not duplicated), the new pair is added.
    bronze.append_events(
        [
            dtc_event(car, "run-2", 5, "P0128", "cleared", start=BASE_TIME + timedelta(hours=1)),
            telemetry_event(other, "run-3", 0),
            dtc_event(other, "run-3", 1, "P0301", "pending"),
        ]
    )
    jobs.run_silver(spark, settings, progress=None)
    jobs.run_gold(spark, settings, progress=None)
    rows = _diagnostics(settings)
    assert set(rows) == {(car, "P0128"), (other, "P0301")}
    row = rows[(car, "P0128")]
    assert row["status"] == "cleared" and row["mil_on"] is False
    assert row["first_seen_run_id"] == "run-1" and row["last_seen_run_id"] == "run-2"
    assert row["events"] == 3 and json.loads(row["freeze_frame"]) == FRAME, "frame kept"
    assert rows[(other, "P0301")]["status"] == "pending"

    # Nothing new: no table changes version (exactly once, like every Gold table).
    before = jobs.table_summary(settings)
    assert jobs.run_silver(spark, settings, progress=None) == []
    assert jobs.run_gold(spark, settings, progress=None) == []
    assert jobs.table_summary(settings) == before
    assert versions["gold/diagnostics"] < before["gold/diagnostics"]["version"]
    assert gold_run.vehicle_runs == 1
