"""Regression: the kernel's results, bit for bit, against hashes recorded from a trusted kernel.

Every shipped vehicle on every standard cycle, cold and hot start, at the default step: the
SHA-256 of the final state and of the 1 Hz telemetry must equal the hashes in
``golden_hashes.json``. Three fleet runs add what single cycle runs do not reach: a mixed fleet
(every vehicle on its own cycle, in one kernel call), seeded profile drivers and a commands
driver (manual gears, stop, restart).

Hashes cover the state columns named in the file, in that order, so a new state column (a new
submodel's state) leaves them unchanged; a column that disappears fails the test. A change of
results must be deliberate: rewrite the file with ``python tests/core/test_golden.py --write``
and explain the difference in the commit that makes it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import vehsim
from vehsim.layout import S

GOLDEN_PATH = Path(__file__).with_name("golden_hashes.json")
STARTS = ("cold", "hot")
DT_S = 0.01


def _digest(values: np.ndarray, columns: list[str]) -> str:
    """SHA-256 of ``values[..., S[c]]`` for every column ``c``, as little-endian float64."""
    digest = hashlib.sha256()
    for name in columns:
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(values[..., S[name]], dtype="<f8").tobytes())
    return digest.hexdigest()


def cycle_run(vehicle: str, cycle: str, start: str) -> tuple[np.ndarray, np.ndarray]:
    """Final state row and 1 Hz records of one vehicle driving one cycle (as ``simulate``)."""
    sim = vehsim.Simulator([vehsim.load_vehicle(vehicle)], dt_s=DT_S, start=start)
    sim.set_driver(0, f"cycle:{cycle}")
    duration_s = vehsim.load_cycle(cycle).duration_s
    records = sim.run_steps(int(round(duration_s / DT_S)), int(round(1.0 / DT_S)))
    return sim.state[0].copy(), records[:, 0, :]


def mixed_fleet_run() -> np.ndarray:
    """Every (vehicle, cycle) pair in one fleet, one kernel call, dt 0.1 s, cold start."""
    pairs = [(v, c) for v in vehsim.list_vehicles() for c in vehsim.list_cycles()]
    sim = vehsim.Simulator([vehsim.load_vehicle(v) for v, _ in pairs], dt_s=0.1, start="cold")
    for i, (_, c) in enumerate(pairs):
        sim.set_driver(i, f"cycle:{c}")
    sim.run_steps(18_000)
    return sim.state.copy()


def profile_fleet_run() -> np.ndarray:
    """Every vehicle with every profile driver, seeded, 900 s at dt 0.05 s."""
    vehicles = [vehsim.load_vehicle(v) for v in vehsim.list_vehicles()]
    fleet = [v for v in vehicles for _ in range(3)]
    sim = vehsim.Simulator(fleet, dt_s=0.05, seed=11, start="cold", ambient_temp_c=-7.0)
    for i, profile in enumerate(("eco", "normal", "sport") * len(vehicles)):
        sim.set_driver(i, f"profile:{profile}")
    sim.run_steps(18_000)
    return sim.state.copy()


def commands_run() -> np.ndarray:
    """Every vehicle on commands: start, pull away, manual gears, brake to a stop, restart."""
    vehicles = [vehsim.load_vehicle(v) for v in vehsim.list_vehicles()]
    sim = vehsim.Simulator(vehicles, dt_s=0.01, start="off", wind_mps=3.0, altitude_m=1500.0)
    sim.set_driver(slice(None), "commands")
    script = (
        (0.5, {"type": "start_engine"}),
        (2.0, {"type": "throttle", "value": 45}),
        (8.0, {"type": "throttle", "value": 100}),
        (4.0, {"type": "gear_mode", "value": "manual"}),
        (0.0, {"type": "gear", "value": 2}),
        (3.0, {"type": "throttle", "value": 0}),
        (5.0, {"type": "gear_mode", "value": "auto"}),
        (0.0, {"type": "brake", "value": 60}),
        (20.0, {"type": "stop_engine"}),
        (2.0, {"type": "start_engine"}),
        (5.0, {"type": "brake", "value": 0}),
        (0.0, {"type": "throttle", "value": 20}),
    )
    for wait_s, command in script:
        sim.advance(wait_s)
        for i in range(sim.n_vehicles):
            sim.apply(i, command)
    sim.set_environment(slice(None), grade_frac=0.06)
    sim.advance(30.0)
    return sim.state.copy()


FLEET_RUNS = {
    "mixed_fleet": mixed_fleet_run,
    "profiles": profile_fleet_run,
    "commands": commands_run,
}


def compute(columns: list[str]) -> dict[str, str]:
    hashes = {}
    for vehicle in vehsim.list_vehicles():
        for cycle in vehsim.list_cycles():
            for start in STARTS:
                final, records = cycle_run(vehicle, cycle, start)
                key = f"{vehicle}/{cycle}/{start}"
                hashes[f"{key}/state"] = _digest(final, columns)
                hashes[f"{key}/telemetry"] = _digest(records, columns)
    for name, run in FLEET_RUNS.items():
        hashes[f"{name}/state"] = _digest(run(), columns)
    return hashes


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN_PATH.read_text())


def test_golden_covers_every_shipped_vehicle_and_cycle(golden):
    keys = set(golden["hashes"])
    for vehicle in vehsim.list_vehicles():
        for cycle in vehsim.list_cycles():
            for start in STARTS:
                assert f"{vehicle}/{cycle}/{start}/state" in keys
    assert set(golden["state_columns"]) <= set(S), "a hashed state column disappeared"


def test_results_equal_the_golden_hashes_bit_for_bit(golden):
    got = compute(golden["state_columns"])
    changed = sorted(k for k, h in golden["hashes"].items() if got.get(k) != h)
    assert not changed, f"{len(changed)} of {len(golden['hashes'])} results changed: {changed}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/core/test_golden.py --write")
    from vehsim.layout import STATE_COLUMNS

    columns = list(STATE_COLUMNS)
    doc = {
        "about": "SHA-256 of results per run; see tests/core/test_golden.py",
        "dt_s": DT_S,
        "state_columns": columns,
        "hashes": compute(columns),
    }
    GOLDEN_PATH.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(doc['hashes'])} hashes to {GOLDEN_PATH}")
