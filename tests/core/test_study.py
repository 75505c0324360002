"""Studies: a factorial study against single runs, payload and factor checks, local and global
sensitivity (Sobol indices of a model whose indices are known in closed form)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import vehsim
from vehsim.errors import ParameterError
from vehsim.study import (
    full_factorial,
    one_at_a_time,
    plot_tornado,
    run_study,
    sobol_indices,
)

DT_S = 0.1


@pytest.fixture(scope="module")
def factorial():
    design = full_factorial(
        {
            "cycle": ["udds", "hwfet"],
            "vehicle.mass_kg": [1300.0, 1550.0],
            "ambient_temp_c": [20.0, 30.0],
            "engine.friction_scale": [0.6, 0.8],
        }
    )
    return design, run_study(design, dt_s=DT_S)


def test_a_three_factor_study_on_two_cycles_equals_single_runs(factorial):
    design, runs = factorial
    assert len(runs) == len(design) == 16
    base = vehsim.load_vehicle("compact-sedan")
    for _, row in runs.iterrows():
        params = base.replace(
            mass_kg=row["vehicle.mass_kg"], friction_scale=row["engine.friction_scale"]
        )
        single = vehsim.simulate(
            params, row["cycle"], dt_s=DT_S, ambient_temp_c=row["ambient_temp_c"], start="hot"
        ).summary
        # The summary's figures are rounded (fuel to 10 µL): equal to the last digit.
        for key in ("fuel_l", "fuel_l_per_100km", "distance_km", "fuel_energy_mj", "wheel_work_mj"):
            assert row[key] == pytest.approx(single[key], rel=1e-6, abs=1e-5), (key, dict(row))
        assert row["param_hash"] == params.content_hash()
        assert row["base_param_hash"] == base.content_hash()


def test_the_tidy_frame_has_factors_results_and_hashes(factorial):
    design, runs = factorial
    for column in (*design.columns, "vehicle", "start", "fuel_l_per_100km", "fuel_j", "param_hash"):
        assert column in runs
    pd.testing.assert_frame_equal(
        runs[list(design.columns)].reset_index(drop=True), design, check_dtype=False
    )
    # 8 distinct parameter sets (mass x friction), each run's hash that of its own set
    assert runs["param_hash"].nunique() == 4
    assert runs["base_param_hash"].nunique() == 1
    heavier = runs.groupby("vehicle.mass_kg")["fuel_l_per_100km"].mean()
    assert heavier[1550.0] > heavier[1300.0]


def test_payload_adds_mass_and_rolling_resistance():
    runs = run_study(
        [{"payload_kg": 0.0}, {"payload_kg": 300.0}], dt_s=0.5, defaults={"cycle": "hwfet"}
    )
    base = vehsim.load_vehicle("compact-sedan")
    loaded = base.replace(
        mass_kg=base["mass_kg"] + 300.0,
        road_load_a_n=base["road_load_a_n"] * (base["mass_kg"] + 300.0) / base["mass_kg"],
    )
    assert runs["param_hash"].iloc[1] == loaded.content_hash()
    assert runs["fuel_l_per_100km"].iloc[1] > runs["fuel_l_per_100km"].iloc[0]


def test_a_mild_hybrid_study_saves_more_with_a_stronger_machine():
    """``mild_hybrid`` makes the vehicle one; its machine's power is a factor like any other."""
    runs = run_study(
        [
            {"mild_hybrid": False},
            {"mild_hybrid": True, "engine.bsg_power_w": 4000.0},
            {"mild_hybrid": True},
            {"mild_hybrid": True, "engine.bsg_power_w": 24000.0},
        ],
        dt_s=0.1,
        defaults={"cycle": "udds"},
    )
    fuel = runs["fuel_l_per_100km"].to_numpy()
    assert fuel[0] > fuel[1] > fuel[2] >= fuel[3]  # a stronger machine takes more braking
    assert runs["hybrid_j"].iloc[0] == 0.0 and (runs["hybrid_j"].iloc[1:] > 0).all()
    base = vehsim.load_vehicle("compact-sedan")
    assert runs["param_hash"].iloc[2] == vehsim.mild_hybrid(base).content_hash()
    assert runs["base_param_hash"].nunique() == 1
    with pytest.raises(ParameterError, match="mild_hybrid must be true or false"):
        run_study([{"mild_hybrid": "yes"}])
    with pytest.raises(ParameterError, match=r"bsg_power_w belongs to engine model"):
        run_study([{"engine.bsg_power_w": 8000.0}])


def test_bad_factors_are_named():
    with pytest.raises(ParameterError, match="unknown study factor 'mass'"):
        run_study([{"mass": 1}])
    with pytest.raises(ParameterError, match="engine.mass_kg.*vehicle.mass_kg"):
        run_study([{"engine.mass_kg": 1500.0}])
    with pytest.raises(ParameterError, match="mass_kg = 50 kg is out of range"):
        run_study([{"vehicle.mass_kg": 50.0}])
    with pytest.raises(ParameterError, match="study factor driver"):
        run_study([{"driver": "sleepy"}])


def test_one_at_a_time_ranks_factors_and_plots(tmp_path):
    oat = one_at_a_time(
        {"payload_kg": (0.0, 400.0), "wind_mps": (-1.0, 1.0)},
        baseline={"vehicle": "compact-suv"},
        cycles=["hwfet"],
        dt_s=0.5,
    )
    assert list(oat["factor"]) == ["payload_kg", "wind_mps"]  # 400 kg matters more than 1 m/s
    assert (oat["high_value"] > oat["low_value"]).all()
    plot_tornado(oat, path=tmp_path / "tornado.png")
    assert (tmp_path / "tornado.png").stat().st_size > 0


def _ishigami(x: pd.DataFrame, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    x1, x2, x3 = x["x1"], x["x2"], x["x3"]
    return (np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)).to_numpy()


def _ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """First-order and total indices of the Ishigami function in closed form (Ishigami and
    Homma 1990; Saltelli et al., *Global Sensitivity Analysis: The Primer*, 2008, §2.4)."""
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return [v1 / var, v2 / var, 0.0], [(v1 + v13) / var, v2 / var, v13 / var]


def test_sobol_indices_of_the_ishigami_function_are_recovered():
    pytest.importorskip("SALib")
    bounds = {name: (-math.pi, math.pi) for name in ("x1", "x2", "x3")}
    got = sobol_indices(_ishigami, bounds, n=4096, seed=1)
    s1, st = _ishigami_indices()
    # tolerance 0.05: Saltelli/Jansen estimators at N = 4096 are within about 0.02 of these
    np.testing.assert_allclose(got["S1"], s1, atol=0.05)
    np.testing.assert_allclose(got["ST"], st, atol=0.05)
