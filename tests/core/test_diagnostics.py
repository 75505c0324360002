"""On-board diagnostics: each fault's code confirmed in time, no code on healthy cars, MIL rules.

Detection conditions and times are those of ``docs/faults.md``; runs are the compact sedan at
severity 1, onset 0, the default step.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import vehsim
from vehsim import events
from vehsim.cli import main
from vehsim.diagnostics import CODES, MIL_OFF_DRIVE_CYCLES, Diagnostics
from vehsim.faults import FAULTS, FaultSpec
from vehsim.layout import S

from .test_faults import run

#: fault -> (cycle, start, ambient [°C], latest confirmation [s of the run])
DETECTION = {
    "thermostat_stuck_open": ("udds", "cold", 5.0, 1300.0),
    "thermostat_stuck_closed": ("hwfet", "hot", 30.0, 765.0),
    "misfire_cylinder_1": ("udds", "hot", 20.0, 300.0),
    "vacuum_leak": ("udds", "hot", 20.0, 300.0),
    "gearbox_slip": ("us06", "hot", 20.0, 300.0),
    "coolant_sensor_stuck": ("udds", "cold", 20.0, 700.0),
    "speed_sensor_dropout": ("udds", "hot", 20.0, 300.0),
}
NO_CODE = [f.name for f in FAULTS if not f.code]


def _confirmation_time_s(fault: str, cycle: str, start: str, ambient_c: float) -> tuple:
    sim = vehsim.Simulator(
        [vehsim.load_vehicle("compact-sedan")], start=start, ambient_temp_c=ambient_c
    )
    sim.set_driver(0, f"cycle:{cycle}")
    sim.inject_fault(0, FaultSpec(fault, 1.0, 0.0))
    duration_s = vehsim.load_cycle(cycle).duration_s
    sim.run_steps(int(round(duration_s / sim.dt_s)), 100)
    confirmed = [c for c in sim.dtc_log if c.status == "confirmed"]
    return confirmed, sim


@pytest.mark.parametrize("fault", sorted(DETECTION))
def test_fault_sets_its_code_within_the_documented_time(fault):
    cycle, start, ambient_c, latest_s = DETECTION[fault]
    code = next(f.code for f in FAULTS if f.name == fault)
    confirmed, sim = _confirmation_time_s(fault, cycle, start, ambient_c)
    assert [c.code for c in confirmed] == [code]
    assert confirmed[0].time_s <= latest_s
    assert sim.dtc(0)["mil_on"] is True
    frame = sim.dtc(0)["freeze_frame"]
    assert frame is not None and frame["time_s"] <= confirmed[0].time_s
    pending = [c for c in sim.dtc_log if c.status == "pending"]
    assert pending[0].time_s < confirmed[0].time_s, "pending before confirmed"
    healthy, _ = run(cycle, None, start, ambient_c)
    assert healthy["dtc_confirmed"] == [] and healthy["dtc_pending"] == []


@pytest.mark.parametrize("fault", NO_CODE)
def test_faults_no_monitor_sees_set_no_code(fault):
    for cycle in ("udds", "us06"):
        summary, _ = run(cycle, fault)
        assert summary["dtc_confirmed"] == [] and summary["dtc_pending"] == [], cycle


@pytest.mark.parametrize("start", ["cold", "hot"])
@pytest.mark.parametrize("ambient_c", [20.0, 5.0])
def test_no_code_on_any_healthy_vehicle_cycle_and_start(start, ambient_c):
    """False-positive rate 0: every shipped vehicle on every standard cycle, one fleet."""
    pairs = [(v, c) for v in vehsim.list_vehicles() for c in vehsim.list_cycles()]
    sim = vehsim.Simulator(
        [vehsim.load_vehicle(v) for v, _ in pairs], start=start, ambient_temp_c=ambient_c
    )
    for i, (_, c) in enumerate(pairs):
        sim.set_driver(i, f"cycle:{c}")
    longest_s = max(vehsim.load_cycle(c).duration_s for c in vehsim.list_cycles())
    sim.run_steps(int(round(longest_s / sim.dt_s)), 100)
    assert sim.dtc_log == [], [(pairs[c.vehicle], c.code, c.status) for c in sim.dtc_log]


@pytest.mark.parametrize(("ambient_c", "start"), [(-7.0, "cold"), (35.0, "hot")])
def test_no_code_with_seeded_profile_drivers_in_cold_and_heat(ambient_c, start):
    """Every vehicle with every profile driver for 30 minutes sets no code either."""
    vehicles = [vehsim.load_vehicle(v) for v in vehsim.list_vehicles()]
    fleet = [v for v in vehicles for _ in range(3)]
    sim = vehsim.Simulator(fleet, seed=11, start=start, ambient_temp_c=ambient_c)
    for i, profile in enumerate(("eco", "normal", "aggressive") * len(vehicles)):
        sim.set_driver(i, f"profile:{profile}")
    sim.run_steps(180_000, 100)
    assert sim.dtc_log == []


def test_misfire_code_and_mil_follow_the_drive_cycle_rules():
    """Confirmed -> MIL on; repaired: off after three fault-free drive cycles; mode 04 clears."""
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")], start="hot")
    sim.set_driver(0, "cycle:udds")
    sim.inject_fault(0, FaultSpec("misfire_cylinder_1"))
    sim.run_steps(30_000, 100)
    assert sim.dtc(0)["confirmed"] == ["P0301"] and sim.dtc(0)["mil_on"]
    sim.clear_fault(0)
    for cycle in range(MIL_OFF_DRIVE_CYCLES):
        assert sim.dtc(0)["mil_on"], f"still on before fault-free cycle {cycle + 1}"
        sim.apply(0, {"type": "stop_engine"})
        sim.run_steps(100, 100)  # key off: the drive cycle ends
        sim.apply(0, {"type": "start_engine"})
        sim.set_driver(0, "cycle:udds")
        sim.run_steps(30_000, 100)
    sim.apply(0, {"type": "stop_engine"})
    sim.run_steps(100, 100)
    assert not sim.dtc(0)["mil_on"]
    assert sim.dtc(0)["confirmed"] == ["P0301"], "the code stays stored until cleared"
    assert sim.dtc_log[-1].status == "mil_off"
    sim.clear_dtc(0)
    assert sim.dtc(0) == {
        "mil_on": False,
        "confirmed": [],
        "pending": [],
        "freeze_frame": None,
        "freeze_frame_code": None,
    }


def test_pending_code_that_passes_a_drive_cycle_is_erased():
    state = np.zeros((1, len(S)))
    params = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")]).params
    diag = Diagnostics(params, np.array([20.0]))
    state[0, S["engine_state"]] = 2
    state[0, S["coolant_sensor_temp_c"]] = 125.0  # over temperature for 10 s: pending
    for t in range(12):
        state[0, S["time_s"]] = t
        changes = diag.update(state, np.array([True]))
    assert diag.codes(0, 1) == ["P0217"] and changes == []
    state[0, S["coolant_sensor_temp_c"]] = 90.0
    for t in range(12, 30):
        state[0, S["time_s"]] = t
        diag.update(state, np.array([True]))
    assert diag.codes(0, 1) == ["P0217"], "not erased while the drive cycle lasts"
    assert diag.update(state, np.array([False])) == [], "it failed in this drive cycle"
    for t in range(30, 60):  # the next drive cycle: the monitor runs and passes
        state[0, S["time_s"]] = t
        diag.update(state, np.array([True]))
    ended = diag.update(state, np.array([False]))
    assert [(c.code, c.status) for c in ended] == [("P0217", "cleared")]
    assert diag.codes(0, 1) == []


def test_dtc_events_follow_the_schema():
    _, sim = _confirmation_time_s("vacuum_leak", "udds", "hot", 20.0)
    changes = sim.drain_dtc_changes()
    assert [c.status for c in changes] == ["pending", "confirmed"]
    assert sim.drain_dtc_changes() == []
    for seq, change in enumerate(changes):
        event = events.make_event(
            events.DIAGNOSTIC_DTC, "car-000", "run-1", seq, change.time_s, change.payload()
        )
        assert events.schema_errors(event) == [], event
    assert changes[0].payload()["description"] == CODES["P0171"].description
    bad = events.make_event(
        events.DIAGNOSTIC_DTC, "car-000", "run-1", 0, 1.0, {**changes[0].payload(), "code": "X1"}
    )
    assert events.schema_errors(bad)


def test_simulate_command_line_reports_p0128_only_with_the_fault(capsys):
    argv = ["simulate", "--vehicle", "compact-sedan", "--cycle", "udds", "--start", "cold"]
    argv += ["--ambient-c", "5", "--format", "json", "--quiet"]
    assert main([*argv, "--fault", "thermostat_stuck_open"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dtc_confirmed"] == ["P0128"]
    assert summary["faults"] == [{"name": "thermostat_stuck_open", "severity": 1.0, "onset_s": 0.0}]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dtc_confirmed"] == [] and summary["faults"] == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("flat_battery", "unknown fault 'flat_battery'"),
        ("vacuum_leak:1.2", "severity must be from 0 to 1"),
    ],
)
def test_simulate_command_line_rejects_bad_faults(capsys, fault, message):
    argv = ["simulate", "--vehicle", "compact-sedan", "--cycle", "udds", "--fault", fault]
    assert main(argv) != 0
    assert message in capsys.readouterr().err


def test_scenario_command_line(capsys, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "vehicles:\n  - vehicle: compact-sedan\n    faults: [vacuum_leak]\n  - compact-sedan\n"
        "cycle: udds\nstart: hot\n"
    )
    assert main(["simulate", "--scenario", str(scenario), "--format", "json", "--quiet"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["dtc_confirmed"] for x in lines] == [["P0171"], []]
    scenario.write_text("vehicles: compact-sedan\n")
    assert main(["simulate", "--scenario", str(scenario)]) != 0
    assert "vehicles must be a non-empty list" in capsys.readouterr().err


def test_faults_command_lists_the_catalogue(capsys):
    assert main(["faults", "--format", "json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == [f.name for f in FAULTS]
    assert {r["code"] for r in rows} >= {"P0128", "P0217", "P0301", "P0171", "P0730", "-"}
