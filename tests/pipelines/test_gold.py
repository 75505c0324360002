"""Gold: totals equal a recomputation from Silver, MERGE upserts, late events, restart safety."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")

from lakehouse_data import BASE_TIME, BronzeWriter, telemetry_event  # noqa: E402

from vehsim_pipelines import gold, jobs, lake  # noqa: E402


@pytest.fixture
def settings(vehsim_env):
    from vehsim.config import load_settings

    return load_settings()


def _fleet(vehicles=("compact-sedan-000", "pickup-v8-001"), seqs=range(150)):
    return [telemetry_event(v, f"run-{v}", s) for v in vehicles for s in seqs]


def _run_all(spark, settings, **kwargs):
    return jobs.run_silver(spark, settings, progress=None), jobs.run_gold(
        spark, settings, progress=None, **kwargs
    )


def _recompute_from_silver(settings):
    """Distance, fuel and events per vehicle run straight from Silver rows (plain Python)."""
    rows = lake.read_table(settings.table_uri("silver", "telemetry")).to_pylist()
    runs = {}
    for row in rows:
        runs.setdefault((row["vehicle_id"], row["run_id"]), []).append(row)
    totals = {}
    for key, items in runs.items():
        items.sort(key=lambda r: r["seq"])
        totals[key] = {
            "events": len(items),
            "distance_km": items[-1]["odometer_km"] - items[0]["odometer_km"],
            "fuel_used_l": items[-1]["fuel_used_l"] - items[0]["fuel_used_l"],
            "duration_s": items[-1]["sim_time_s"] - items[0]["sim_time_s"],
        }
    return totals


def test_gold_totals_equal_recomputation_from_silver_and_features_are_usable(spark, settings):
    BronzeWriter(settings.table_uri("bronze", "events")).append_events(_fleet())
    _run_all(spark, settings)
    expected = _recompute_from_silver(settings)
    trips = {
        (t["vehicle_id"], t["run_id"]): t
        for t in lake.read_table(settings.table_uri("gold", "trips")).to_pylist()
    }
    minutes = lake.read_table(settings.table_uri("gold", "vehicle_minute")).to_pylist()
    assert set(trips) == set(expected)
    for key, want in expected.items():
        got = trips[key]
        in_windows = [m for m in minutes if (m["vehicle_id"], m["run_id"]) == key]
        for name in ("distance_km", "fuel_used_l", "duration_s"):
            assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-9), name
            assert sum(m[name] for m in in_windows) == pytest.approx(want[name], rel=1e-9, abs=1e-9)
        assert got["events"] == want["events"] == sum(m["events"] for m in in_windows)
        assert len(in_windows) == math.ceil(150 / 60), "1 Hz for 150 s spans 3 minutes"
        assert got["fuel_l_per_100km"] == pytest.approx(
            want["fuel_used_l"] / want["distance_km"] * 100
        )

    # the feature table carries what the experiments read
    features = lake.read_table(settings.table_uri("gold", "features")).to_pylist()
    required = {
        "mean_speed_mps",
        "max_speed_mps",
        "distance_km",
        "stops_per_km",
        "idle_frac",
        "standing_frac",
        "pke_mps2",
        "ambient_temp_c",
        "cold_start",
        "mass_kg",
        "displacement_l",
        "rated_power_w",
        "power_to_mass_w_per_kg",
        "fuel_l_per_100km",
        "brake_pad_wear_pct_per_100km",
        "engine_wear_pct_per_100km",
    }
    assert required <= set(features[0])
    valid = [f for f in features if f["is_valid_example"]]
    assert valid
    for f in valid:
        assert 0 < f["fuel_l_per_100km"] < 100
        assert f["engine_wear_pct_per_100km"] >= 0
        assert 0 <= f["idle_frac"] <= 1
    sedan = [f for f in features if f["vehicle"] == "compact-sedan"]
    assert sedan, "the vehicle model is taken from the vehicle id"
    import vehsim

    expected_mass = vehsim.load_vehicle("compact-sedan").values["mass_kg"]
    assert sedan[0]["mass_kg"] == pytest.approx(expected_mass), "joined from the parameter file"


def test_vehicle_minute_values_by_hand(spark):
    rows = [telemetry_event("car-000", "r", s) for s in range(0, 61)]
    from lakehouse_data import encode

    frame = spark.createDataFrame(
        [(encode(e), "t", 0, i, 0) for i, e in enumerate(rows)],
        "raw_event string, topic string, partition int, offset long, bronze_version long",
    )
    from vehsim_pipelines import silver

    tel = silver.telemetry_rows(silver.valid_events(silver.parse_events(frame)))
    minutes = gold.minutes(tel)
    first = gold.vehicle_minute(minutes).orderBy("window_start").collect()[0]
    # events 0..59 fall in the first minute; increments 1..59 belong to it (0 has none)
    assert first["events"] == 60
    assert first["duration_s"] == pytest.approx(59.0)
    assert first["distance_km"] == pytest.approx(59 * 0.01)
    assert first["fuel_used_l"] == pytest.approx(59 * 0.002)
    assert first["fuel_l_per_100km"] == pytest.approx(0.002 / 0.01 * 100)
    assert first["speed_kph_max"] == 60.0
    assert first["coolant_temp_c_max"] == pytest.approx(20.0 + 59 * 0.5)
    gear_time = sum(first[gold.gear_column(g)] for g in range(-1, 13))
    assert gear_time == pytest.approx(first["duration_s"]), "every second is spent in some gear"
    # 2 km/h per s up and 4 km/h per s down (0.56 and 1.1 m/s²) are gentle
    assert first["harsh_accel_count"] == 0 and first["harsh_brake_count"] == 0


def test_late_event_within_watermark_updates_its_window_beyond_is_counted(spark, settings):
    bronze = BronzeWriter(settings.table_uri("bronze", "events"))
    events = [telemetry_event("car-000", "run-1", s) for s in range(0, 200)]
    late_seq, too_late_seq = 150, 30
    bronze.append_events([e for e in events if e["seq"] not in (late_seq, too_late_seq)])
    _run_all(spark, settings, watermark_s=90)
    window = (BASE_TIME + timedelta(seconds=120)).replace(tzinfo=None)

    def window_events(start_s):
        rows = lake.read_table(settings.table_uri("gold", "vehicle_minute")).to_pylist()
        start = BASE_TIME + timedelta(seconds=start_s)
        return next(r["events"] for r in rows if r["window_start"] == start)

    assert window_events(120) == 59 and window_events(0) == 59
    bronze.append_events([events[late_seq], events[too_late_seq]])
    _, (run,) = _run_all(spark, settings, watermark_s=90)
    assert window_events(120) == 60, "the late event inside the watermark updated its window"
    assert window_events(0) == 59, "the window closed by the watermark stayed as it was"
    assert run.late_events_dropped == 1
    (trip,) = lake.read_table(settings.table_uri("gold", "trips")).to_pylist()
    assert trip["events"] == 200, "trips always cover every Silver event of the run"
    assert window is not None


def test_second_run_with_no_new_data_changes_no_table_version(spark, settings):
    BronzeWriter(settings.table_uri("bronze", "events")).append_events(_fleet(seqs=range(70)))
    _run_all(spark, settings)
    before = jobs.table_summary(settings)
    silver_runs, gold_runs = _run_all(spark, settings)
    assert silver_runs == [] and gold_runs == []
    assert jobs.table_summary(settings) == before


class _Crash(RuntimeError):
    pass


@pytest.mark.parametrize("crash_after", ["gold/trips"])
def test_crash_mid_gold_then_rerun_equals_uninterrupted_run(
    spark, tmp_path, monkeypatch, crash_after
):
    from vehsim.config import load_settings

    def lake_settings(name):
        monkeypatch.setenv("VEHSIM_HOME", str(tmp_path / name))
        return load_settings()

    clean, crashed = lake_settings("clean"), lake_settings("crashed")
    first = _fleet(seqs=range(0, 90))
    second = _fleet(seqs=range(90, 130))
    for s in (clean, crashed):
        BronzeWriter(s.table_uri("bronze", "events")).append_events(first)
        jobs.run_silver(spark, s, progress=None)
    jobs.run_gold(spark, clean, progress=None)

    def crash(table):
        if table == crash_after:
            raise _Crash(table)

    with pytest.raises(_Crash):
        jobs.run_gold(spark, crashed, progress=None, on_commit=crash)
    for s in (clean, crashed):
        writer = BronzeWriter(s.table_uri("bronze", "events"))
        writer.next_offset = len(first)
        writer.append_events(second)
        jobs.run_silver(spark, s, progress=None)
    jobs.run_gold(spark, clean, progress=None)
    jobs.run_gold(spark, crashed, progress=None)
    for table, keys in (
        ("vehicle_minute", gold.WINDOW_KEYS),
        ("trips", gold.TRIP_KEYS),
        ("features", gold.WINDOW_KEYS),
    ):
        a = lake.read_table(clean.table_uri("gold", table)).to_pylist()
        b = lake.read_table(crashed.table_uri("gold", table)).to_pylist()

        def key(r, keys=keys):
            return tuple(str(r[k]) for k in keys)

        assert sorted(a, key=key) == sorted(b, key=key), table
