"""Injected faults: the catalogue, their input validation, and each fault's physical signature.

Every physical test compares a faulty compact sedan with its healthy twin on the same cycle,
start and ambient (severity 1, onset 0 unless said), so the difference is the fault's alone.
The codes each fault sets are in ``test_diagnostics.py``.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import vehsim
from vehsim.commands import parse_command
from vehsim.diagnostics import CODES
from vehsim.errors import CommandError, ParameterError
from vehsim.faults import (
    FAULT_NAMES,
    FAULTS,
    FaultSpec,
    parse_fault_spec,
    random_faults,
)
from vehsim.layout import S
from vehsim.scenario import parse_scenario

CAR = "compact-sedan"


@functools.cache
def run(cycle: str, fault: str | None, start: str = "hot", ambient_c: float = 20.0, onset_s=0.0):
    """(summary, 1 Hz telemetry) of the compact sedan with one fault at severity 1, or none."""
    faults = (FaultSpec(fault, 1.0, onset_s),) if fault else ()
    result = vehsim.simulate(
        vehsim.load_vehicle(CAR), cycle, start=start, ambient_temp_c=ambient_c, faults=faults
    )
    return result.summary, result.telemetry


# --- catalogue and validation ------------------------------------------------------------------
def test_catalogue_has_at_least_eight_faults_each_with_a_source_and_a_known_code():
    assert len(FAULTS) >= 8
    assert len(set(FAULT_NAMES)) == len(FAULT_NAMES)
    for f in FAULTS:
        assert f.effect and f.source, f.name
        assert f.code == "" or f.code in CODES, f.name
        assert bool(f.conditions) == bool(f.code), f.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vacuum_leak", FaultSpec("vacuum_leak", 1.0, 0.0)),
        ("vacuum_leak:0.5", FaultSpec("vacuum_leak", 0.5, 0.0)),
        ("vacuum_leak:0.5@120", FaultSpec("vacuum_leak", 0.5, 120.0)),
        ("vacuum_leak@30", FaultSpec("vacuum_leak", 1.0, 30.0)),
    ],
)
def test_fault_spec_parses(text, expected):
    assert parse_fault_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no_such_fault", "unknown fault 'no_such_fault'; known faults: thermostat_stuck_open"),
        ("vacuum_leak:1.5", "severity must be from 0 to 1, got 1.5"),
        ("vacuum_leak:-0.1", "severity must be from 0 to 1"),
        ("vacuum_leak:x", "severity must be a number"),
        ("vacuum_leak:0.5@-3", "onset_s must be >= 0 s"),
        ("Vacuum Leak", "expected NAME[:SEVERITY[@ONSET_S]]"),
    ],
)
def test_bad_fault_specs_say_what_is_wrong(text, message):
    with pytest.raises(ParameterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_fault_spec(text)


def test_fault_commands_validate_and_reject_with_a_reason():
    cmd = parse_command({"type": "inject_fault", "value": {"name": "vacuum_leak", "severity": 0.4}})
    assert cmd.fault_spec() == FaultSpec("vacuum_leak", 0.4, 0.0)
    assert json.loads(json.dumps(cmd.value)) == cmd.value, "echoed in driver.command as it is"
    assert cmd.to_dict() == {
        "type": "inject_fault",
        "value": {"name": "vacuum_leak", "severity": 0.4, "onset_s": 0.0},
    }
    assert parse_command({"type": "inject_fault", "value": "gearbox_slip:0.5@3"}).fault_spec() == (
        FaultSpec("gearbox_slip", 0.5, 3.0)
    )
    assert parse_command({"type": "clear_fault", "value": "all"}).value == "all"
    for value, reason in (
        ({"name": "flat_battery"}, "unknown_fault"),
        ({"name": "vacuum_leak", "severity": 2}, "out_of_range"),
        ({"name": "vacuum_leak", "severity": True}, "out_of_range"),
        ({"name": "vacuum_leak", "extra": 1}, "out_of_range"),
        (42, "wrong_type"),
    ):
        with pytest.raises(CommandError) as err:
            parse_command({"type": "inject_fault", "value": value})
        assert err.value.reason == reason, value
    with pytest.raises(CommandError) as err:
        parse_command({"type": "clear_fault", "value": "flat_battery"})
    assert err.value.reason == "unknown_fault"


def test_random_assignment_is_seeded_and_mixes_healthy_and_faulty_cars():
    a, b = random_faults(600, seed=7), random_faults(600, seed=7)
    assert a == b
    assert a != random_faults(600, seed=8)
    faulty = [specs for specs in a if specs]
    assert 240 < len(faulty) < 360
    assert {s[0].name for s in faulty} == set(FAULT_NAMES)
    assert all(0.3 <= s[0].severity <= 1.0 and 0 <= s[0].onset_s <= 600 for s in faulty)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a scenario must be a mapping"),
        ({"vehicles": []}, "vehicles must be a non-empty list"),
        ({"vehicles": [CAR], "cycle": "udds", "ambient": 5}, r"unknown field\(s\) \['ambient'\]"),
        ({"vehicles": [CAR]}, "cycle .* is required with driver: cycle"),
        ({"vehicles": [CAR], "driver": "robot"}, "driver must be one of"),
        ({"vehicles": [CAR], "driver": "profile", "profile": "eco"}, "duration_s is required"),
        ({"vehicles": [{"car": CAR}], "cycle": "udds"}, r"vehicles\[0\]: needs 'vehicle'"),
        (
            {"vehicles": [{"vehicle": CAR, "faults": [{"name": "x"}]}], "cycle": "udds"},
            r"vehicles\[0\].faults\[0\]: unknown fault 'x'",
        ),
        (
            {
                "vehicles": [CAR],
                "cycle": "udds",
                "faults": [{"name": "vacuum_leak", "severity": 3}],
            },
            r"faults\[0\]: fault vacuum_leak: severity must be from 0 to 1",
        ),
        ({"vehicles": [CAR], "cycle": "udds", "ambient_c": 90}, "ambient_c must be from -40 to 55"),
        ({"vehicles": [CAR], "cycle": "udds", "start": "warm"}, "start must be 'cold' or 'hot'"),
    ],
)
def test_malformed_scenarios_name_the_field(data, message):
    with pytest.raises(ParameterError, match=message):
        parse_scenario(data)


def test_shipped_scenario_example_is_valid():
    from importlib import resources

    from vehsim.scenario import load_scenario

    path = resources.files("vehsim").joinpath("data", "scenario-overheating-in-traffic.yaml")
    scenario = load_scenario(str(path))
    assert [v.faults for v in scenario.vehicles] == [
        (FaultSpec("thermostat_stuck_closed", 1.0, 120.0),),
        (),
    ]


# --- the simulator's fault API --------------------------------------------------------------
def test_faults_are_per_vehicle_parameters_and_healthy_cars_in_a_mixed_fleet_are_unchanged():
    car = vehsim.load_vehicle(CAR)
    alone = vehsim.Simulator([car], start="hot")
    alone.set_driver(0, "cycle:udds")
    alone.run_steps(30_000)
    mixed = vehsim.Simulator([car, car, car], start="hot")
    mixed.set_driver(slice(None), "cycle:udds")
    mixed.inject_fault(1, FaultSpec("misfire_cylinder_1", 1.0, 0.0))
    mixed.apply(2, {"type": "inject_fault", "value": {"name": "dragging_brake", "onset_s": 10}})
    assert [f.name for f in mixed.faults(1)] == ["misfire_cylinder_1"]
    assert mixed.faults(2) == [FaultSpec("dragging_brake", 1.0, 10.0)]
    mixed.run_steps(30_000)
    assert np.array_equal(mixed.state[0], alone.state[0]), "the healthy car is bit-identical"
    assert mixed.state[1, S["fuel_used_g"]] > alone.state[0, S["fuel_used_g"]]
    assert mixed.state[2, S["brake_energy_j"]] > alone.state[0, S["brake_energy_j"]]
    mixed.apply(2, {"type": "clear_fault", "value": "all"})
    assert mixed.faults(2) == []


def test_onset_delays_the_fault():
    summary, tel = run("udds", "misfire_cylinder_1", onset_s=600.0)
    assert tel.misfire_count[tel.time_s < 600.0].max() == 0.0
    assert tel.misfire_count.iloc[-1] > 0.0


# --- physical signatures ----------------------------------------------------------------------
def test_thermostat_stuck_open_slows_warm_up_and_keeps_the_coolant_cool():
    healthy, h = run("udds", None, "cold", 5.0)
    faulty, f = run("udds", "thermostat_stuck_open", "cold", 5.0)
    assert h.coolant_temp_c.max() > 85.0
    assert f.coolant_temp_c.max() < h.coolant_temp_c.max() - 10.0
    assert faulty["fuel_l"] > healthy["fuel_l"], "longer cold enrichment and colder oil"


def test_thermostat_stuck_closed_overheats():
    _, h = run("hwfet", None, "hot", 30.0)
    _, f = run("hwfet", "thermostat_stuck_closed", "hot", 30.0)
    assert h.coolant_temp_c.max() < 110.0
    assert f.coolant_temp_c.max() > 118.0


def test_fan_failure_runs_hotter_when_idling_in_heat():
    """Idling at 45 °C, brake held: the fan is needed, and without it the coolant runs hotter.

    Standing still the radiator only loses heat from its faces; the fan carries the cooling
    (``tests/core/test_fan_idle.py`` for the over-temperature code).
    """
    car = vehsim.load_vehicle(CAR)
    sim = vehsim.Simulator([car, car], start="hot", ambient_temp_c=45.0)
    sim.set_driver(slice(None), "commands")
    for i in (0, 1):
        sim.apply(i, {"type": "brake", "value": 30})  # standing still: no ram air
    sim.inject_fault(1, FaultSpec("cooling_fan_failure"))
    records = sim.run_steps(120_000, 100)
    coolant = records[:, :, S["coolant_temp_c"]]
    assert coolant[:, 1].max() > coolant[:, 0].max() + 1.0


def test_misfire_costs_fuel_and_counts_missed_firings():
    healthy, h = run("udds", None)
    faulty, f = run("udds", "misfire_cylinder_1")
    assert faulty["fuel_l"] > 1.2 * healthy["fuel_l"], "a quarter of the fuel leaves unburned"
    revolutions = f.engine_revolutions.iloc[-1]
    assert f.misfire_count.iloc[-1] == pytest.approx(revolutions / 2.0, rel=0.02)
    assert h.misfire_count.max() == 0.0


def test_vacuum_leak_drives_fuel_trim_up_most_at_idle():
    _, h = run("udds", None)
    _, f = run("udds", "vacuum_leak")
    assert h.fuel_trim_frac.abs().max() == 0.0
    idle = f[(f.speed_mps == 0.0) & (f.engine_state == 2)]
    cruise = f[f.speed_mps > 20.0]
    assert idle.fuel_trim_frac.median() == pytest.approx(0.25)
    assert 0.0 < cruise.fuel_trim_frac.median() < idle.fuel_trim_frac.median()


def test_clogged_air_filter_cuts_full_load_torque_at_high_speed():
    healthy, h = run("us06", None)
    faulty, f = run("us06", "clogged_air_filter")
    assert f.engine_torque_nm.max() < h.engine_torque_nm.max()
    assert faulty["time_outside_tolerance_s"] >= healthy["time_outside_tolerance_s"]


def test_dragging_brake_costs_fuel_heats_brakes_and_wears_pads():
    healthy, _ = run("udds", None)
    faulty, _ = run("udds", "dragging_brake")
    assert faulty["fuel_l"] > 1.05 * healthy["fuel_l"]
    assert faulty["brake_energy_mj"] > healthy["brake_energy_mj"] + 1.0
    assert faulty["brake_pad_wear_pct_delta"] > healthy["brake_pad_wear_pct_delta"]


def test_underinflated_tyre_costs_fuel_and_tread():
    healthy, _ = run("udds", None)
    faulty, _ = run("udds", "underinflated_tyre")
    assert faulty["fuel_l"] > healthy["fuel_l"]
    assert faulty["tyre_wear_pct_delta"] == pytest.approx(
        1.25 * healthy["tyre_wear_pct_delta"], rel=0.01
    )


def test_gearbox_slip_raises_engine_speed_above_the_gears():
    _, h = run("us06", None)
    _, f = run("us06", "gearbox_slip")

    def ratio(t):
        locked = t[
            (t.driveline_locked > 0.5) & (t.throttle_frac > 0.5) & (t.gearbox_input_rpm > 1500)
        ]
        return (locked.engine_speed_rpm / locked.gearbox_input_rpm).median()

    assert ratio(h) == pytest.approx(1.0, abs=1e-9)
    assert ratio(f) > 1.1


@pytest.mark.parametrize(
    ("fault", "column"),
    [
        ("coolant_sensor_stuck", "coolant_sensor_temp_c"),
        ("speed_sensor_dropout", "speed_sensor_mps"),
    ],
)
def test_sensor_faults_change_the_reading_not_the_car(fault, column):
    _, h = run("udds", None, "cold")
    _, f = run("udds", fault, "cold")
    physics = [c for c in h.columns if c not in ("coolant_sensor_temp_c", "speed_sensor_mps")]
    assert h[physics].equals(f[physics]), "the physics is healthy"
    assert not h[column].equals(f[column])
    if fault == "coolant_sensor_stuck":
        assert f[column].max() - f[column].min() < 0.5 < h[column].max() - h[column].min()
    else:
        moving = f.speed_mps > 5.0
        assert (f[column][moving] == 0.0).mean() == pytest.approx(1.0)


def test_fleet_api_builds_a_reproducible_labelled_data_set():
    """A seeded random assignment over a fleet: same seed, same rows; healthy rows set no code."""
    cars = [vehsim.load_vehicle(CAR)] * 12
    assignment = random_faults(len(cars), seed=3, max_onset_s=300.0)
    first = vehsim.simulate_fleet(cars, "udds", dt_s=0.01, start="hot", faults=assignment)
    again = vehsim.simulate_fleet(cars, "udds", dt_s=0.01, start="hot", faults=assignment)
    assert first.equals(again)
    assert [[f["name"] for f in row] for row in first["faults"]] == [
        [s.name for s in specs] for specs in assignment
    ]
    healthy = first[[not specs for specs in assignment]]
    assert len(healthy) and all(codes == [] for codes in healthy["dtc_confirmed"])


@pytest.mark.parametrize("fault", ["misfire_cylinder_1", "dragging_brake", "underinflated_tyre"])
def test_severity_scales_the_effect_between_healthy_and_full(fault):
    car = vehsim.load_vehicle(CAR)
    fuel = [
        vehsim.simulate(car, "udds", start="hot", faults=[FaultSpec(fault, s)]).summary["fuel_l"]
        for s in (0.0, 0.5, 1.0)
    ]
    assert fuel[0] < fuel[1] < fuel[2]
    assert fuel[1] - fuel[0] == pytest.approx(0.5 * (fuel[2] - fuel[0]), rel=0.25)
