"""Review tables: validation points named, the worst cars, a spread sample, cold-start penalty."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vehsim.analysis import (
    cold_start_study,
    spread_sample,
    warmup_time_s,
    with_make_and_model,
    worst_cars,
)
from vehsim.errors import ParameterError
from vehsim.testcar import COL_FTP, COL_ID, COL_MAKE, COL_MODEL, calibration_frame


def test_spread_sample_takes_one_car_per_make_across_the_economy_range():
    cars = calibration_frame()
    sample = spread_sample(cars, 8)
    assert len(sample) == 8
    makes = sample[COL_MAKE].str.strip().str.casefold()
    assert makes.is_unique  # no two Bugatti Chirons
    ftp = sample[COL_FTP]
    assert ftp.min() == cars[COL_FTP].min() and ftp.is_monotonic_increasing
    assert ftp.max() > cars[COL_FTP].quantile(0.9)
    assert spread_sample(cars, 8).equals(sample)  # deterministic
    assert len(spread_sample(cars, 500)) == len(cars)
    with pytest.raises(ParameterError, match="n >= 1"):
        spread_sample(cars, 0)


def _results():
    return pd.DataFrame(
        {
            "test_vehicle_id": ["A1", "B2", "C3"],
            "ftp_mpg_epa": [20.0, 30.0, 40.0],
            "ftp_mpg_pred": [21.0, 24.0, 40.4],
            "ftp_error_pct": [5.0, -20.0, 1.0],
            "hwfe_mpg_epa": [30.0, 40.0, 50.0],
            "hwfe_mpg_pred": [30.3, 40.0, 56.0],
            "hwfe_error_pct": [1.0, 0.0, 12.0],
        }
    )


def test_results_get_make_and_model_and_the_worst_cars_come_first():
    cars = pd.DataFrame(
        {
            COL_ID: ["A1", "B2", "C3", "C3"],
            COL_MAKE: [" Alpha", "Beta", "Gamma", "Gamma"],
            COL_MODEL: ["One", "Two ", "Three", "Three AWD"],
        }
    )
    named = with_make_and_model(_results(), cars)
    assert named["label"].tolist() == ["Alpha One", "Beta Two", "Gamma Three"]
    worst = worst_cars(named, n=2)
    assert worst["model"].tolist() == ["Two", "Three"]
    assert worst["worst_abs_error_pct"].tolist() == [20.0, 12.0]
    assert list(worst.columns)[:3] == ["make", "model", "test_vehicle_id"]


def test_warmup_time_is_the_first_sample_at_the_warm_temperature():
    t = np.arange(5.0)
    assert warmup_time_s(t, [20, 40, 70, 69, 80], 70.0) == 2.0
    assert math.isnan(warmup_time_s(t, [20, 30, 40, 50, 60], 70.0))
    with pytest.raises(ParameterError, match="shape"):
        warmup_time_s(t, [1, 2], 70.0)


def test_cold_start_costs_more_and_warms_slower_on_a_colder_day():
    frame = cold_start_study(["compact-sedan"], [-7.0, 20.0], cycle="udds")
    cold_day, mild_day = frame.iloc[0], frame.iloc[1]
    assert (frame["cold_start_penalty_pct"] > 0).all()
    assert (frame["extra_fuel_ml"] > 0).all()
    assert cold_day["cold_start_penalty_pct"] > mild_day["cold_start_penalty_pct"]
    assert cold_day["warmup_time_s"] > mild_day["warmup_time_s"] > 0
    # the penalty matches the two runs' figures
    expected = 100 * (cold_day["fuel_cold_l_per_100km"] / cold_day["fuel_hot_l_per_100km"] - 1)
    assert cold_day["cold_start_penalty_pct"] == pytest.approx(expected)
