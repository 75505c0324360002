"""vehsim.features: one definition per feature, checked by hand; windows add up to the drive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehsim import features as fx


def _trace() -> pd.DataFrame:
    """A hand-made 1 Hz drive: stand 10 s (engine off 5 s), 0 -> 10 m/s in 10 s, cruise 10 s,
    brake hard to 0 in 2 s, stand 10 s; coolant warms by 2 °C/s from 40 °C."""
    speed_mps = np.concatenate(
        [np.zeros(10), np.linspace(1, 10, 10), np.full(10, 10.0), [5.0, 0.0], np.zeros(10)]
    )
    n = len(speed_mps)
    time_s = np.arange(n, dtype=float)
    step_m = np.concatenate([[0.0], 0.5 * (speed_mps[1:] + speed_mps[:-1])])
    return pd.DataFrame(
        {
            "vehicle_id": "car-001",
            "run_id": "r",
            "seq": np.arange(n),
            "sim_time_s": time_s,
            "vehicle_speed_kph": speed_mps * 3.6,
            "engine_on": time_s >= 5,
            "engine_rpm": np.where(time_s >= 5, 800.0 + 300.0 * speed_mps, 0.0),
            "gear": np.where(speed_mps > 0, 1, 0),
            "coolant_temp_c": 40.0 + 2.0 * time_s,
            "odometer_km": 1000.0 + np.cumsum(step_m) / 1e3,
            "fuel_used_l": 0.01 * time_s,
            "ambient_temp_c": 20.0,
        }
    )


def test_drive_features_by_hand():
    (f,) = fx.drive_features(_trace()).to_dict("records")
    n = 42
    assert f["events"] == n and f["duration_s"] == n - 1
    distance_m = (0.5 + 49.5) + 100.0 + 7.5 + 2.5  # 0 -> 1 -> 10 m/s, cruise, brake
    assert f["distance_km"] == pytest.approx(distance_m / 1e3)
    assert f["mean_speed_mps"] == pytest.approx(distance_m / (n - 1))
    assert f["max_speed_mps"] == pytest.approx(10.0)
    # one stop (the halt at t=31); the start standing is not a stop
    assert f["stops_per_km"] == pytest.approx(1 / (distance_m / 1e3))
    # standing intervals start at t=0..9 and t=31..40: 10 + 10 s; idling: engine on from t=5
    assert f["standing_frac"] == pytest.approx(20 / (n - 1))
    assert f["idle_frac"] == pytest.approx(15 / (n - 1))
    # v² rises from 0 to 100 once
    assert f["pke_mps2"] == pytest.approx(100 / distance_m)
    # -5 m/s² twice in a row is one harsh braking episode
    assert f["harsh_brake_count"] == 1 and f["harsh_accel_count"] == 0
    # coolant is below 70 °C for t < 15: engine on from 5 -> 10 s cold of 36 s running
    assert f["cold_engine_frac"] == pytest.approx(10 / 36)
    assert f["cold_start"] == 1.0
    assert f["fuel_l_per_100km"] == pytest.approx(0.01 * (n - 1) / (distance_m / 1e3) * 100)
    gear_time = sum(f[fx.gear_time_column(g)] for g in fx.GEARS)
    assert gear_time == pytest.approx(f["duration_s"]), "every second is spent in some gear"
    assert f["gear_1_frac"] == pytest.approx(21 / (n - 1))  # intervals starting at t=10..30
    assert f["ambient_temp_c"] == 20.0 and np.isnan(f["throttle_pct_mean"]), "unknown stays null"
    assert f["vehicle_model"] == "car"


def test_windows_merge_into_the_drive():
    samples = fx.with_sim_clock(_trace(), pd.Timestamp("2026-11-27 12:00:30"))
    windows = fx.window_sums(samples)
    assert list(windows["window_start"]) == [
        pd.Timestamp("2026-11-27 12:00:00"),
        pd.Timestamp("2026-11-27 12:01:00"),
    ]
    merged = fx.span_features(fx.merge_spans(windows, ["vehicle_id", "run_id"]))
    drive = fx.drive_features(samples)
    names = [*fx.AGGREGATES, *fx.RATIOS, "cold_start", "speed_std_mps", "start_at", "end_at"]
    pd.testing.assert_frame_equal(
        merged[names].reset_index(drop=True), drive[names].reset_index(drop=True), rtol=1e-12
    )


def test_drives_are_kept_apart_and_sorted_by_seq():
    one = _trace()
    two = _trace().assign(vehicle_id="car-002", fuel_used_l=lambda d: 0.02 * d["sim_time_s"])
    both = pd.concat([two, one]).sample(frac=1.0, random_state=0)  # shuffled
    out = fx.drive_features(both).set_index("vehicle_id")
    alone = fx.drive_features(one).iloc[0]
    assert out.loc["car-001", "fuel_used_l"] == pytest.approx(alone["fuel_used_l"])
    assert out.loc["car-002", "fuel_used_l"] == pytest.approx(2 * alone["fuel_used_l"])
    assert out.loc["car-001", "stop_count"] == 1, "no stop is counted across the drives' seam"


def test_thresholds_have_units_and_the_modes_are_deterministic():
    assert fx.HARSH_ACCEL_MPS2 == pytest.approx(0.3 * 9.80665)
    samples = _trace().assign(driver_mode=["eco"] * 21 + ["sport"] * 21)
    (f,) = fx.drive_features(samples).to_dict("records")
    assert f["driver_profile"] == "eco", "a tie goes to the first name in sort order"
    assert fx.driving_style(np.array([1.0, 10.0, 50.0, np.nan])).tolist() == [
        "calm",
        "moderate",
        "aggressive",
        None,
    ]
    with pytest.raises(ValueError, match="vehicle_speed_kph"):
        fx.drive_features(pd.DataFrame({"sim_time_s": [0.0]}))
