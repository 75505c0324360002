"""Energy audit: the chain from fuel to road closes on every shipped vehicle and cycle."""

from __future__ import annotations

import numpy as np
import pytest

import vehsim
from vehsim.energy import LOSSES, audit_run, closure_error_frac, plot_energy_audit
from vehsim.study import full_factorial, run_study


@pytest.fixture(scope="module")
def audits():
    """Every shipped vehicle on every shipped cycle, cold and hot, one fleet (dt 0.1 s)."""
    design = full_factorial(
        {
            "vehicle": vehsim.list_vehicles(),
            "cycle": vehsim.list_cycles(),
            "start": ["cold", "hot"],
        }
    )
    return run_study(design, dt_s=0.1)


def test_the_audit_closes_within_one_percent_on_every_vehicle_and_cycle(audits):
    for _, run in audits.iterrows():
        label = f"{run['vehicle']} on {run['cycle']} ({run['start']})"
        assert closure_error_frac(run) < 0.01, label
        fuel = run["fuel_j"]
        # The two measured balances: engine (MEPs against torques), wheels (forces against work).
        assert abs(run["engine_balance_j"]) < 1e-6 * fuel, label
        assert abs(run["wheel_balance_j"]) < 1e-6 * fuel, label


def test_every_stage_is_smaller_than_the_one_before(audits):
    for _, run in audits.iterrows():
        label = f"{run['vehicle']} on {run['cycle']} ({run['start']})"
        assert run["fuel_j"] > run["indicated_j"] > run["brake_j"] > run["engine_out_j"], label
        assert run["engine_out_j"] >= run["wheel_j"] > 0, label
        for key in ("combustion_loss_j", "friction_j", "pumping_j", "accessories_j", "aero_j"):
            assert run[key] > 0, (label, key)
        assert run["driveline_j"] >= 0, label  # no driveline makes energy
        assert run["climate_j"] == 0.0, label  # 20 °C, no sun: the A/C is off
        # Indicated efficiency cannot beat the Willans line's (cold enrichment only lowers it).
        eta = vehsim.load_vehicle(run["vehicle"])["eta_indicated"]
        assert run["indicated_j"] <= eta * run["fuel_j"] * (1 + 1e-9), label
        # Flat cycles: no net grade work; the car ends at rest.
        assert abs(run["grade_j"]) < 1e-9 * run["fuel_j"], label
        assert abs(run["kinetic_j"]) < 1e-3 * run["fuel_j"], label


def test_the_audit_closes_on_a_grade_and_with_sun(tmp_path):
    runs = run_study(
        [
            {"cycle": "hwfet", "grade_frac": 0.04},
            {"cycle": "hwfet", "grade_frac": -0.02},
            {"cycle": "udds", "ambient_temp_c": 35.0, "solar_load_wpm2": 850.0},
        ],
        dt_s=0.1,
    )
    for _, run in runs.iterrows():
        assert closure_error_frac(run) < 0.01
    assert runs["grade_j"].iloc[0] > 0 > runs["grade_j"].iloc[1]
    assert runs["climate_j"].iloc[2] > 0
    plot_energy_audit(runs.assign(run=["+4 %", "-2 %", "35 °C sun"]), path=tmp_path / "audit.png")
    assert (tmp_path / "audit.png").stat().st_size > 0


def test_audit_run_names_its_losses():
    audit = audit_run("compact-sedan", "us06", dt_s=0.2)
    assert {key for key, _ in LOSSES} <= set(audit)
    assert audit["vehicle"] == "compact-sedan" and audit["cycle"] == "us06"
    assert np.isfinite(audit["residual_j"])
