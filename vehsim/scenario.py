"""Scenario files: vehicles, driver, environment and faults of a run, as validated YAML data.

Example (``vehsim/data/scenario-overheating-in-traffic.yaml``)::

    name: overheating-in-traffic
    vehicles:
      - vehicle: compact-sedan
        faults:
          - {name: thermostat_stuck_closed, severity: 1.0, onset_s: 120}
      - vehicle: compact-sedan          # a healthy twin (or just the name)
    driver: cycle                       # cycle or profile
    cycle: hwfet                        # with driver: cycle (a shipped name or a CSV path)
    # profile: normal                   # with driver: profile (eco, normal, sport)
    # duration_s: 1800                  # with driver: profile [s]; a cycle's own otherwise
    ambient_c: 30
    start: hot                          # cold or hot
    dt_s: 0.01
    seed: 0
    faults: []                          # faults every vehicle gets

Fault onsets count from the start of the run [s]. Errors name the field and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import vehsim
from vehsim.errors import ParameterError
from vehsim.faults import FaultSpec, fault_spec_from_mapping
from vehsim.physics.driver import PROFILE_ALIASES, PROFILE_NAMES
from vehsim.simulator import Simulator, _diagnostic_summary, summarize

_TOP_FIELDS = {
    "name",
    "description",
    "vehicles",
    "driver",
    "cycle",
    "profile",
    "duration_s",
    "ambient_c",
    "start",
    "dt_s",
    "seed",
    "faults",
}
_VEHICLE_FIELDS = {"vehicle", "faults"}
DRIVERS = ("cycle", "profile")
MAX_VEHICLES = 10_000


@dataclass(frozen=True)
class ScenarioVehicle:
    vehicle: str
    faults: tuple[FaultSpec, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    vehicles: tuple[ScenarioVehicle, ...]
    driver: str = "cycle"
    cycle: str | None = None
    profile: str | None = None
    duration_s: float | None = None
    ambient_c: float = 20.0
    start: str = "cold"
    dt_s: float = 0.01
    seed: int = 0
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _number(data: dict, key: str, where: str, lo: float, hi: float, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{where}: {key} must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(f"{where}: {key} must be from {lo:g} to {hi:g}, got {value!r}")
    return float(value)


def _faults(entries: Any, where: str) -> tuple[FaultSpec, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ParameterError(f"{where}: must be a list of faults")
    return tuple(fault_spec_from_mapping(e, f"{where}[{k}]") for k, e in enumerate(entries))


def parse_scenario(data: Any, origin: str = "scenario") -> Scenario:
    """A :class:`Scenario` from parsed YAML; :class:`ParameterError` names the wrong field."""
    if not isinstance(data, dict):
        raise ParameterError(f"{origin}: a scenario must be a mapping of fields")
    unknown = set(data) - _TOP_FIELDS
    if unknown:
        raise ParameterError(
            f"{origin}: unknown field(s) {sorted(map(str, unknown))}; allowed: {sorted(_TOP_FIELDS)}"
        )
    vehicles = data.get("vehicles")
    if not isinstance(vehicles, list) or not vehicles:
        raise ParameterError(f"{origin}: vehicles must be a non-empty list")
    if len(vehicles) > MAX_VEHICLES:
        raise ParameterError(f"{origin}: vehicles: at most {MAX_VEHICLES}, got {len(vehicles)}")
    common = _faults(data.get("faults"), f"{origin}: faults")
    parsed = []
    for k, entry in enumerate(vehicles):
        where = f"{origin}: vehicles[{k}]"
        if isinstance(entry, str):
            entry = {"vehicle": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("vehicle"), str):
            raise ParameterError(f"{where}: needs 'vehicle' (a shipped name or a YAML path)")
        extra = set(entry) - _VEHICLE_FIELDS
        if extra:
            raise ParameterError(f"{where}: unknown field(s) {sorted(map(str, extra))}")
        own = _faults(entry.get("faults"), f"{where}.faults")
        parsed.append(ScenarioVehicle(entry["vehicle"], common + own))
    driver = data.get("driver", "cycle")
    if driver not in DRIVERS:
        raise ParameterError(f"{origin}: driver must be one of {list(DRIVERS)}, got {driver!r}")
    cycle = data.get("cycle")
    profile = data.get("profile")
    duration = None
    if driver == "cycle":
        if not isinstance(cycle, str):
            raise ParameterError(
                f"{origin}: cycle (a name or CSV path) is required with driver: cycle"
            )
    else:
        if profile not in (*PROFILE_NAMES, *PROFILE_ALIASES):
            raise ParameterError(
                f"{origin}: profile must be one of {list(PROFILE_NAMES)} with driver: profile, "
                f"got {profile!r}"
            )
        if "duration_s" not in data:
            raise ParameterError(f"{origin}: duration_s is required with driver: profile")
        duration = _number(data, "duration_s", origin, 1.0, 86_400.0, 0.0)
    start = data.get("start", "cold")
    if start not in ("cold", "hot"):
        raise ParameterError(f"{origin}: start must be 'cold' or 'hot', got {start!r}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"{origin}: seed must be a whole number >= 0, got {seed!r}")
    name = data.get("name", origin)
    return Scenario(
        name=str(name),
        vehicles=tuple(parsed),
        driver=driver,
        cycle=cycle if driver == "cycle" else None,
        profile=profile if driver == "profile" else None,
        duration_s=duration,
        ambient_c=_number(data, "ambient_c", origin, -40.0, 55.0, 20.0),
        start=start,
        dt_s=_number(data, "dt_s", origin, 0.001, 1.0, 0.01),
        seed=seed,
        description=str(data.get("description", "")),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"scenario {path}: cannot read it ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"scenario {path}: not valid YAML ({exc})") from None
    return parse_scenario(data, f"scenario {path.name}")


def run_scenario(scenario: Scenario) -> list[dict[str, Any]]:
    """Run a scenario; one summary per vehicle (with ``faults`` and the codes set)."""
    vehicles = [vehsim.load_vehicle(v.vehicle) for v in scenario.vehicles]
    sim = Simulator(
        vehicles,
        dt_s=scenario.dt_s,
        seed=scenario.seed,
        ambient_temp_c=scenario.ambient_c,
        start=scenario.start,
    )
    if scenario.driver == "cycle":
        cycle = vehsim.load_cycle(scenario.cycle)
        sim.set_driver(slice(None), cycle)
        duration_s, driver = cycle.duration_s, cycle.name
    else:
        sim.set_driver(slice(None), f"profile:{scenario.profile}")
        duration_s, driver = float(scenario.duration_s), f"profile:{scenario.profile}"
    for i, v in enumerate(scenario.vehicles):
        for spec in v.faults:
            sim.inject_fault(i, spec)
    initial = sim.state.copy()
    sim.run_steps(int(round(duration_s / scenario.dt_s)), max(int(round(1.0 / scenario.dt_s)), 1))
    return [
        {
            "scenario": scenario.name,
            "vehicle": vehicles[i].name,
            "driver": driver,
            "dt_s": scenario.dt_s,
            "seed": scenario.seed,
            "start": scenario.start,
            **summarize(sim.state[i], initial[i], scenario.ambient_c),
            **_diagnostic_summary(sim, i),
        }
        for i in range(sim.n_vehicles)
    ]
