"""One definition of each feature: the same simulated trace gives the same features through
Gold (Silver rows on Spark) and through the experiments' simulated table (pandas)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")

import vehsim  # noqa: E402
from vehsim import events  # noqa: E402
from vehsim import features as fx  # noqa: E402
from vehsim_experiments.datasets import (  # noqa: E402
    FEATURES,
    TARGETS,
    SimulationConfig,
    simulate_dataset,
    simulated_samples,
)
from vehsim_pipelines import gold, silver  # noqa: E402

CLOCK0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
#: Simulated seconds per wall-clock second of the run the events pretend to come from.
SPEEDUP = 10.0
CONFIG = SimulationConfig(
    vehicles=("compact-sedan",),
    cycles=("udds",),
    ambient_temps_c=(5.0,),
    starts=("cold",),
    payloads_kg=(0.0,),
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _events(samples: pd.DataFrame) -> list[str]:
    """``simulation.raw`` events of the samples, as a sped-up live run would emit them."""
    out = []
    for row in samples.to_dict("records"):
        t = float(row["sim_time_s"])
        payload = {
            name: (bool(row[name]) if kind is bool else kind(row[name]))
            for name, kind in events.RAW_PAYLOAD_FIELDS.items()
            if name in row
        }
        payload.update({"fuel_rate_lph": 0.0, "fuel_level_pct": 50.0})
        payload["accel_mps2"] = float(row["accel_mps2"])
        payload["sim_clock_utc"] = _iso(CLOCK0 + timedelta(seconds=t))
        event = events.make_event(
            events.SIMULATION_RAW,
            row["vehicle_id"],
            row["run_id"],
            int(row["seq"]),
            t,
            payload,
            emitted_at=_iso(CLOCK0 + timedelta(seconds=t / SPEEDUP)),
        )
        out.append(events.encode_event(event).decode())
    return out


@pytest.fixture(scope="module")
def trace():
    """A compact sedan's cold UDDS at 5 °C, as the experiments' simulated table drives it."""
    cfg = CONFIG.resolved()
    samples = simulated_samples(
        [vehsim.load_vehicle("compact-sedan")],
        ["compact-sedan-000"],
        vehsim.load_cycle("udds"),
        "udds|5|cold",
        ambient_temp_c=5.0,
        start="cold",
        dt_s=cfg.dt_s,
        seed=cfg.seed,
    )
    return samples


@pytest.fixture(scope="module")
def gold_minutes(spark, trace):
    rows = _events(trace)
    frame = spark.createDataFrame(
        [(value, "t", 0, i, 0) for i, value in enumerate(rows)],
        "raw_event string, topic string, partition int, offset long, bronze_version long",
    )
    telemetry = silver.telemetry_rows(silver.valid_events(silver.parse_events(frame)))
    minutes = gold.minutes(telemetry).cache()
    assert minutes.count() == int(np.ceil(len(trace) / 60))
    yield minutes
    minutes.unpersist()


def test_window_features_are_the_same_through_gold_and_pandas(gold_minutes, trace):
    vehicles = pd.DataFrame(
        [fx.vehicle_features("compact-sedan", vehsim.load_vehicle("compact-sedan").values)]
    )
    spark_vehicles = gold_minutes.sparkSession.createDataFrame(vehicles)
    got = gold.features(gold_minutes, spark_vehicles).toPandas().sort_values("window_start")
    clock = pd.Timestamp(CLOCK0).tz_convert(None)
    want = fx.window_features(fx.with_sim_clock(trace, clock), vehicles).sort_values("window_start")
    assert len(got) == len(want) > 20
    assert list(got["window_start"]) == list(want["window_start"])
    names = [n for n in (*fx.FEATURES, *fx.TARGETS) if n != "is_valid_example"]
    pd.testing.assert_frame_equal(
        got[names].reset_index(drop=True).astype(float),
        want[names].reset_index(drop=True).astype(float),
        rtol=1e-9,
        check_dtype=False,
    )
    assert list(got["is_valid_example"]) == list(want["is_valid_example"])


def test_gold_trip_is_the_experiments_drive(gold_minutes):
    """Gold's trip of the run has the simulated table's row: every feature and target."""
    (trip,) = gold.trips(gold_minutes).toPandas().to_dict("records")
    (drive,) = simulate_dataset(CONFIG).frame.to_dict("records")
    for name in (*FEATURES, *TARGETS):
        if name in fx.VEHICLE_FEATURES or name == "power_to_mass_w_per_kg":
            continue  # the vehicle dimension is joined in gold/features, not in trips
        assert trip[name] == pytest.approx(drive[name], rel=1e-9), name
    assert drive["cold_start"] == 1.0 and drive["ambient_temp_c"] == pytest.approx(5.0)


def test_trip_times_are_on_the_simulation_clock_in_a_sped_up_run(gold_minutes, trace):
    """Start and end of a trip are simulated times: 1369 s apart, as duration_s says, although
    the events were emitted within 137 wall-clock seconds."""
    (trip,) = gold.trips(gold_minutes).toPandas().to_dict("records")
    span_s = (trip["end_at"] - trip["start_at"]).total_seconds()
    assert trip["duration_s"] == pytest.approx(trace["sim_time_s"].iloc[-1])
    assert span_s == pytest.approx(trip["duration_s"], abs=1e-3)
    assert trip["start_at"] == pd.Timestamp(CLOCK0).tz_convert(None)


def test_runs_split_across_chunks_give_the_same_windows(trace, monkeypatch):
    """The per-run pass streams a partition in chunks cut between runs: any chunk size gives
    the rows of one pass over everything (no run is cut, none is lost)."""
    import pyarrow as pa

    clock = pd.Timestamp(CLOCK0)
    runs = []
    for k in range(3):
        part = trace.assign(vehicle_id=f"compact-sedan-00{k}", run_id=f"run-{k}")
        runs.append(part.iloc[: 200 + 150 * k])
    samples = pd.concat(runs, ignore_index=True)
    samples = samples.assign(event_time=clock + pd.to_timedelta(samples["sim_time_s"], unit="s"))
    samples["window_start"] = samples["event_time"].dt.floor("60s")
    samples["vehicle_model"] = None
    samples["driver_mode"] = "normal"
    table = pa.Table.from_pandas(samples[list(gold._SAMPLE_COLUMNS)], preserve_index=False)
    batches = table.to_batches(max_chunksize=97)
    whole = gold.window_rows(gold._naive_utc(table).to_pandas())
    for chunk_rows in (50, 300, 10_000):
        monkeypatch.setattr(gold, "CHUNK_ROWS", chunk_rows)
        got = pa.Table.from_batches(list(gold._runs_in_chunks(iter(batches)))).to_pandas()
        assert len(got) == len(whole)
        key = ["vehicle_id", "window_start"]
        a = got.sort_values(key).reset_index(drop=True)
        b = whole.sort_values(key).reset_index(drop=True)
        assert a["events"].tolist() == b["events"].tolist(), chunk_rows
        assert np.allclose(a["fuel_used_l"], b["fuel_used_l"]), chunk_rows
