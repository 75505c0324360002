"""Mild hybrid (``engine.hybrid: belt_starter_generator``): energy kept, driving unchanged.

The machine takes braking from the pads and gives it back at the crank (``physics/hybrid.py``).
Its invariants: the battery's charge moves exactly by what goes in and out at the stated
efficiencies and never leaves its window; the machine never takes more than the braking, nor
more than its power; blended braking leaves the car's motion bit for bit as it was; the energy
audit still closes; and the fuel it saves is what the work it gives back would have cost the
engine, so it saves most where the car brakes most (the city cycle against the highway's).
"""

import numpy as np
import pytest
import yaml

import vehsim
from vehsim.energy import audit_run, closure_error_frac
from vehsim.errors import ParameterError
from vehsim.layout import P, S
from vehsim.params import from_dict
from vehsim.testcar import generic_models, mild_hybrid


@pytest.fixture(scope="module")
def suv():
    """The compact SUV with stop-start only, and as a mild hybrid (the same stop-start)."""
    base = vehsim.load_vehicle("compact-suv").replace(idle_stop=1)
    return base, mild_hybrid(base)


def _drive(vehicles, cycle, dt_s=0.05, start="cold"):
    sim = vehsim.Simulator(list(vehicles), dt_s=dt_s, start=start)
    sim.set_driver(slice(None), vehsim.load_cycle(cycle))
    initial = sim.state.copy()
    records = sim.run_steps(int(round(vehsim.load_cycle(cycle).duration_s / dt_s)), 20)
    return sim, initial, records


@pytest.fixture(scope="module")
def udds(suv):
    return _drive(suv, "udds")


def test_the_generic_machine_is_the_vehicle_files_mild_hybrid(suv):
    _, hybrid = suv
    g = generic_models()["engine"]
    assert hybrid.submodel("hybrid") == "belt_starter_generator"
    assert hybrid["idle_stop"] == 1
    for key in ("bsg_power_w", "bsg_usable_energy_j", "bsg_efficiency"):
        assert hybrid[key] == g[key]
    # A file round trip keeps the variant; a conventional car's file does not name one.
    assert from_dict(yaml.safe_load(yaml.safe_dump(hybrid.to_dict()))) == hybrid
    assert "hybrid" not in vehsim.load_vehicle("compact-suv").to_dict()["engine"]


def test_the_battery_moves_by_what_goes_in_and_out_and_stays_in_its_window(suv, udds):
    _, hybrid = suv
    sim, initial, records = udds
    usable_j, eff = hybrid["bsg_usable_energy_j"], hybrid["bsg_efficiency"]
    assert initial[1, S["bsg_stored_j"]] == 0.0  # starts empty: gives back only what it stored
    stored = records[:, 1, S["bsg_stored_j"]]
    assert (stored >= 0.0).all() and (stored <= usable_j * (1 + 1e-12)).all()
    final = sim.state[1]
    charged_j = final[S["bsg_regen_work_j"]] * hybrid["efficiency"] * eff
    discharged_j = final[S["bsg_assist_work_j"]] / eff
    assert final[S["bsg_stored_j"]] - initial[1, S["bsg_stored_j"]] == pytest.approx(
        charged_j - discharged_j, rel=1e-9, abs=1e-3
    )
    # It worked both ways, many times over its window, and the conventional car has no battery.
    assert final[S["bsg_regen_work_j"]] > 2 * usable_j
    assert final[S["bsg_assist_work_j"]] > usable_j
    for column in ("bsg_stored_j", "bsg_regen_work_j", "bsg_assist_work_j"):
        assert sim.state[0, S[column]] == 0.0


def test_the_machine_takes_no_more_than_the_braking_nor_its_power(suv, udds):
    _, hybrid = suv
    sim, initial, records = udds
    final = sim.state[1]
    assert 0.0 < final[S["bsg_regen_work_j"]] < final[S["service_brake_work_j"]]
    # Between two records (1 s), the machine's shaft power never exceeds its rating.
    regen_w = np.diff(records[:, 1, S["bsg_regen_work_j"]]) / 1.0 * hybrid["efficiency"]
    assist_w = np.diff(records[:, 1, S["bsg_assist_work_j"]]) / 1.0
    assert regen_w.max() <= hybrid["bsg_power_w"] * (1 + 1e-9)
    assert assist_w.max() <= hybrid["bsg_power_w"] * (1 + 1e-9)
    # Regenerated power and assist both reach the rating somewhere on the UDDS.
    assert regen_w.max() > 0.9 * hybrid["bsg_power_w"]
    assert assist_w.max() > 0.9 * hybrid["bsg_power_w"]


def test_blended_braking_leaves_the_drive_as_it_was_and_spares_the_pads(udds):
    """The driver brakes as hard as before and the machine takes its share from the pads.

    The motion is not bit for bit the same: burning less fuel, the engine warms more slowly,
    and its friction and the idle it holds follow its temperature; the trace is the same to a
    few millimetres per second.
    """
    sim, _, records = udds
    speed_diff = np.abs(records[:, 0, S["speed_mps"]] - records[:, 1, S["speed_mps"]])
    assert speed_diff.max() < 0.01
    assert records[-1, 1, S["odometer_m"]] == pytest.approx(
        records[-1, 0, S["odometer_m"]], rel=1e-4
    )
    conventional, hybrid = sim.state
    assert hybrid[S["brake_energy_j"]] < 0.7 * conventional[S["brake_energy_j"]]
    assert hybrid[S["brake_pad_wear_frac"]] < conventional[S["brake_pad_wear_frac"]]
    assert hybrid[S["fuel_used_g"]] < conventional[S["fuel_used_g"]]


def test_the_fuel_saved_is_what_the_work_given_back_would_have_cost(suv, udds):
    """Willans line: at a given speed, fuel grows with brake work at 1 / eta_indicated.

    The assist lowers the engine's load, which raises its throttling a little at part load,
    so the saving is somewhat less than the assist's work over the indicated efficiency.
    """
    _, hybrid = suv
    sim, _, _ = udds
    conventional, mild = sim.state
    saved_j = conventional[S["fuel_energy_j"]] - mild[S["fuel_energy_j"]]
    willans_j = mild[S["bsg_assist_work_j"]] / hybrid["eta_indicated"]
    assert 0.7 * willans_j < saved_j < 1.05 * willans_j


def test_it_saves_most_where_the_car_brakes_most(suv, udds):
    sim_udds, _, _ = udds
    sim_hw, _, _ = _drive(suv, "hwfet", start="hot")

    def saving(sim):
        return 1.0 - sim.state[1, S["fuel_used_g"]] / sim.state[0, S["fuel_used_g"]]

    assert saving(sim_udds) > 2 * saving(sim_hw) > 0.0


def test_the_audit_closes_with_the_machine(suv):
    _, hybrid = suv
    for cycle in ("udds", "us06"):
        audit = audit_run(hybrid, cycle, dt_s=0.1)
        assert closure_error_frac(audit) < 0.01, cycle
        assert abs(audit["engine_balance_j"]) < 1e-6 * audit["fuel_j"], cycle
        assert audit["hybrid_j"] > 0.0, cycle  # conversion losses outweigh the charge change
        assert audit["brakes_j"] > 0.0, cycle


def test_a_machine_field_needs_the_variant_and_the_variant_its_fields():
    doc = vehsim.load_vehicle("compact-suv").to_dict()
    with pytest.raises(ParameterError, match=r"engine\.bsg_power_w belongs to engine model"):
        from_dict({**doc, "engine": {**doc["engine"], "bsg_power_w": 12000.0}})
    with pytest.raises(ParameterError, match=r"engine\.bsg_power_w is missing"):
        from_dict({**doc, "engine": {**doc["engine"], "hybrid": "belt_starter_generator"}})
    hybrid = mild_hybrid(vehsim.load_vehicle("compact-suv")).to_dict()
    hybrid["engine"]["bsg_efficiency"] = 1.2
    with pytest.raises(ParameterError, match=r"engine\.bsg_efficiency = 1\.2 - is out of range"):
        from_dict(hybrid)
    with pytest.raises(ParameterError, match=r"engine\.hybrid must be one of \['none'"):
        from_dict({**doc, "engine": {**doc["engine"], "hybrid": "full"}})


def test_test_cars_named_mild_hybrids_get_the_machine():
    rows = vehsim.testcar.calibration_frame()
    built = {
        row["Represented Test Veh Model"]: vehsim.vehicle_from_testcar(row)
        for _, row in rows.iterrows()
    }
    assert built["1500 HFE 4X2"].submodel("hybrid") == "belt_starter_generator"
    assert built["Velar MHEV"].submodel("hybrid") == "belt_starter_generator"
    assert built["1500 2WD"].submodel("hybrid") == "none"
    sim = vehsim.Simulator([built["1500 HFE 4X2"], built["1500 2WD"]], dt_s=0.1)
    assert sim.params[0, P["bsg_power_w"]] > 0.0 == sim.params[1, P["bsg_power_w"]]


def test_simulate_mild_hybrid_reports_what_the_machine_did(capsys):
    """``vehsim simulate --mild-hybrid``: the vehicle with the generic machine, and its figures."""
    import json

    from vehsim.cli import main

    argv = ["simulate", "--vehicle", "compact-suv", "--cycle", "udds", "--dt-s", "0.1", "-q"]
    assert main([*argv, "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*argv, "--mild-hybrid", "--format", "json"]) == 0
    hybrid = json.loads(capsys.readouterr().out)
    assert "bsg_regen_mj" not in plain
    assert hybrid["vehicle"] == "compact-suv-mild-hybrid"
    assert 0.0 < hybrid["bsg_assist_mj"] < hybrid["bsg_regen_mj"]
    assert hybrid["fuel_l_per_100km"] < plain["fuel_l_per_100km"]
    assert hybrid["brake_energy_mj"] < plain["brake_energy_mj"]
    assert main(["simulate", "--scenario", "x.yaml", "--mild-hybrid"]) == 2
    assert "--mild-hybrid" in capsys.readouterr().err  # a scenario file holds its vehicles
