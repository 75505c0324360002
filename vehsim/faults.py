"""The fault catalogue: injectable faults, their parameter columns, and fault specifications.

A fault acts on the physics of one vehicle from its onset time with a severity from 0 (healthy)
to 1 (fully developed). Each vehicle's parameter row holds ``fault_<name>_severity`` and
``fault_<name>_onset_s`` for every fault (``vehsim.layout.PARAM_COLUMNS``), so a fleet mixes
healthy and faulty cars in one compiled kernel; the effects are in ``vehsim/physics/`` (sizes
and sources in ``vehsim/physics/faults.py``), the monitors that may detect them in
``vehsim.diagnostics``. See ``docs/faults.md``.

Pure Python, no Numba: ``vehsim.layout`` reads this table without loading the kernel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from vehsim.errors import ParameterError


@dataclass(frozen=True)
class Fault:
    """One injectable fault.

    Attributes:
        name: its name in commands, scenario files and ``--fault``.
        effect: what it does to the car.
        code: the SAE J2012 code a monitor sets for it, or ``""`` when no monitor sees it.
        conditions: when the monitor can see it (empty when there is no code).
        source: where the mechanism is described.
    """

    name: str
    effect: str
    code: str
    conditions: str
    source: str


FAULTS: tuple[Fault, ...] = (
    Fault(
        "thermostat_stuck_open",
        "the thermostat passes coolant to the radiator from cold: slow warm-up, coolant stays "
        "below the regulating temperature in cool weather",
        "P0128",
        "cold start, ambient -7 to 35 °C, coolant still 11 °C below the thermostat's opening "
        "temperature when the fuel burnt is 1.3 times what a healthy warm-up needs",
        "CARB 13 CCR 1968.2(e)(10) thermostat monitoring; Bosch Automotive Handbook, engine cooling",
    ),
    Fault(
        "thermostat_stuck_closed",
        "the thermostat stays (partly) shut: the radiator gets little coolant, the engine "
        "overheats under load",
        "P0217",
        "coolant above 118 °C for 10 s while running",
        "Bosch Automotive Handbook, engine cooling; SAE J2012 P0217",
    ),
    Fault(
        "cooling_fan_failure",
        "the radiator fan gives no air flow: overheating at low speed, idling and in heat",
        "P0217",
        "coolant above 118 °C for 10 s while running (slow traffic, hot ambient)",
        "Bosch Automotive Handbook, engine cooling (fan duty at low vehicle speed)",
    ),
    Fault(
        "misfire_cylinder_1",
        "cylinder 1 misfires on a share of its cycles: torque loss, roughness, its fuel leaves "
        "unburned (more fuel per km)",
        "P0301",
        "engine running, more than 2 % of cylinder 1's firings missed in a 1000-revolution "
        "window, twice",
        "Heywood, Internal Combustion Engine Fundamentals (1988) §9.4; CARB 1968.2(e)(3)",
    ),
    Fault(
        "vacuum_leak",
        "unmetered air enters behind the air-flow sensor: lean mixture, positive fuel trim "
        "(largest at idle), lean beyond the trim limit",
        "P0171",
        "warm engine (closed loop), fuel trim above +25 % for 10 s",
        "CARB 1968.2(e)(6) fuel system monitoring; Heywood §7.2 and App. C (orifice flow)",
    ),
    Fault(
        "clogged_air_filter",
        "intake restriction: less full-load torque at high engine speed, part load unchanged",
        "",
        "",
        "Norman, Huff and West, ORNL/TM-2009/021 (2009)",
    ),
    Fault(
        "dragging_brake",
        "a caliper does not release: constant brake force, more fuel, brake heat and pad wear",
        "",
        "",
        "Bosch Automotive Handbook, braking systems",
    ),
    Fault(
        "underinflated_tyre",
        "one tyre at down to half its pressure: more rolling resistance and tyre wear (no TPMS "
        "is modelled, so no code)",
        "",
        "",
        "Schuring, Rubber Chem. Technol. 53 (1980); NHTSA FMVSS 138 regulatory impact analysis",
    ),
    Fault(
        "gearbox_slip",
        "the engaged clutch slips under load: engine speed above the gear's ratio, more fuel "
        "and heat",
        "P0730",
        "driveline locked in gear, pedal above 10 %, input speed above 1.3 x idle, "
        "engine speed 8 % above the gear's for 5 s, twice",
        "CARB 1968.2(e)(16) comprehensive components (transmission); Bosch Automotive "
        "Handbook, automatic transmissions",
    ),
    Fault(
        "coolant_sensor_stuck",
        "the coolant temperature sensor's reading stops following the coolant (frozen at "
        "severity 1); the physics stays healthy",
        "P0116",
        "engine running 300 s, reading below 70 °C and changed less than 0.05 °C in 300 s",
        "CARB 1968.2(e)(10.2) ECT sensor rationality",
    ),
    Fault(
        "speed_sensor_dropout",
        "the vehicle speed signal reads zero for a share of every 20 s; the physics stays healthy",
        "P0500",
        "driveline locked in gear at more than 1000 rpm input while the signal reads below "
        "1 km/h, for 3 s",
        "CARB 1968.2(e)(15) comprehensive components (vehicle speed sensor)",
    ),
)

FAULT_NAMES: tuple[str, ...] = tuple(f.name for f in FAULTS)
_BY_NAME = {f.name: f for f in FAULTS}


def severity_column(name: str) -> str:
    return f"fault_{name}_severity"


def onset_column(name: str) -> str:
    return f"fault_{name}_onset_s"


#: Parameter columns of every fault: severity and onset, in catalogue order.
FAULT_PARAM_COLUMNS: tuple[str, ...] = tuple(
    c for f in FAULTS for c in (severity_column(f.name), onset_column(f.name))
)


def fault(name: str) -> Fault:
    """The catalogue entry ``name``; an error lists the known faults."""
    if name not in _BY_NAME:
        raise ParameterError(f"unknown fault {name!r}; known faults: {', '.join(FAULT_NAMES)}")
    return _BY_NAME[name]


@dataclass(frozen=True)
class FaultSpec:
    """A fault to inject: which, how strong (0..1) and from when [s of simulated time]."""

    name: str
    severity: float = 1.0
    onset_s: float = 0.0

    def __post_init__(self) -> None:
        fault(self.name)
        if not (isinstance(self.severity, (int, float)) and 0.0 <= self.severity <= 1.0):
            raise ParameterError(
                f"fault {self.name}: severity must be from 0 to 1, got {self.severity!r}"
            )
        if not (isinstance(self.onset_s, (int, float)) and math.isfinite(self.onset_s)):
            raise ParameterError(
                f"fault {self.name}: onset_s must be a number, got {self.onset_s!r}"
            )
        if self.onset_s < 0.0:
            raise ParameterError(f"fault {self.name}: onset_s must be >= 0 s, got {self.onset_s!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "severity": self.severity, "onset_s": self.onset_s}


_SPEC = re.compile(r"^(?P<name>[a-z0-9_]+)(?::(?P<sev>[^@]+))?(?:@(?P<onset>.+))?$")


def parse_fault_spec(text: str) -> FaultSpec:
    """``NAME[:SEVERITY[@ONSET_S]]`` (also ``NAME@ONSET_S``) -> :class:`FaultSpec`."""
    m = _SPEC.match(text.strip())
    if not m:
        raise ParameterError(
            f"fault {text!r}: expected NAME[:SEVERITY[@ONSET_S]], e.g. vacuum_leak:0.5@120"
        )
    values = {}
    for key, group in (("severity", "sev"), ("onset_s", "onset")):
        if m.group(group) is not None:
            try:
                values[key] = float(m.group(group))
            except ValueError:
                raise ParameterError(
                    f"fault {text!r}: {key} must be a number, got {m.group(group)!r}"
                ) from None
    return FaultSpec(m.group("name"), **values)


def fault_spec_from_mapping(entry: Any, where: str = "fault") -> FaultSpec:
    """A fault from a mapping ``{name, severity?, onset_s?}`` (scenario files, commands)."""
    if isinstance(entry, str):
        return parse_fault_spec(entry)
    if not isinstance(entry, dict) or "name" not in entry:
        raise ParameterError(f"{where}: expected a mapping with 'name' (and severity, onset_s)")
    unknown = set(entry) - {"name", "severity", "onset_s"}
    if unknown:
        raise ParameterError(f"{where}: unknown field(s) {sorted(unknown)}")
    for key in ("severity", "onset_s"):
        if key in entry and (
            isinstance(entry[key], bool) or not isinstance(entry[key], (int, float))
        ):
            raise ParameterError(f"{where}.{key}: must be a number, got {entry[key]!r}")
    try:
        return FaultSpec(
            str(entry["name"]),
            float(entry.get("severity", 1.0)),
            float(entry.get("onset_s", 0.0)),
        )
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def random_faults(
    n_vehicles: int,
    seed: int,
    faulty_frac: float = 0.5,
    names: tuple[str, ...] = FAULT_NAMES,
    max_onset_s: float = 600.0,
) -> list[list[FaultSpec]]:
    """A seeded random assignment of faults to a fleet (for building data sets).

    Each vehicle is faulty with probability ``faulty_frac``; a faulty vehicle gets one fault
    drawn uniformly from ``names``, a severity uniform in 0.3..1 and an onset uniform in
    0..``max_onset_s``. The same seed gives the same assignment.
    """
    for name in names:
        fault(name)
    rng = np.random.default_rng(seed)
    out: list[list[FaultSpec]] = []
    for _ in range(n_vehicles):
        if rng.random() < faulty_frac:
            name = names[int(rng.integers(len(names)))]
            sev = round(float(rng.uniform(0.3, 1.0)), 3)
            onset = round(float(rng.uniform(0.0, max_onset_s)), 1)
            out.append([FaultSpec(name, sev, onset)])
        else:
            out.append([])
    return out
