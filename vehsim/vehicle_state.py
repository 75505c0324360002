"""A vehicle's lasting state: what carries over from one drive to the next, as a validated file.

A drive ends with a car that has covered distance, worn its engine, gearbox, brake pads and tyres,
aged its oil and used fuel; the next drive can start from there (``vehsim simulate --state FILE``,
``vehsim drive --state FILE``, ``Simulator(..., state=...)``), or from a worn car written by hand.
Temperatures and the driver are not carried over: a new drive starts after a soak.

The file is JSON::

    {"format": "vehsim.vehicle_state", "version": 1, "vehicle": "pickup-v8",
     "units": {"odometer_m": "m", "engine_wear_frac": "1", ...},
     "state": {"odometer_m": 12034.5, "engine_wear_frac": 0.0012, ...}}

Numbers are written with Python's shortest round-trip repr, so a saved state restores bit for bit.
Every field is checked on load (present, a finite number, in range, in the unit the file names).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vehsim.errors import ParameterError

FORMAT = "vehsim.vehicle_state"
VERSION = 1

#: Field -> (unit, minimum, maximum); the maximum of the fuel level is the vehicle's tank.
FIELDS: dict[str, tuple[str, float, float]] = {
    "odometer_m": ("m", 0.0, 1e10),
    "engine_wear_frac": ("1", 0.0, 1.0),
    "gearbox_wear_frac": ("1", 0.0, 1.0),
    "brake_pad_wear_frac": ("1", 0.0, 1.0),
    "tyre_wear_frac": ("1", 0.0, 1.0),
    "oil_life_frac": ("1", 0.0, 1.0),
    "fuel_level_l": ("L", 0.0, 1e3),
}
#: The kernel state columns a state sets directly (the fuel level sets the tank's initial fill).
STATE_COLUMNS_SET: tuple[str, ...] = tuple(f for f in FIELDS if f != "fuel_level_l")


@dataclass(frozen=True)
class VehicleState:
    """What a car carries from one drive to the next (SI units, fractions of life)."""

    odometer_m: float = 0.0
    engine_wear_frac: float = 0.0
    gearbox_wear_frac: float = 0.0
    brake_pad_wear_frac: float = 0.0
    tyre_wear_frac: float = 0.0
    oil_life_frac: float = 1.0
    fuel_level_l: float | None = None  # None: a full tank
    vehicle: str | None = None  # the vehicle it was saved from (checked on restore)

    def to_dict(self) -> dict[str, Any]:
        """The file's document."""
        values = asdict(self)
        return {
            "format": FORMAT,
            "version": VERSION,
            "vehicle": self.vehicle,
            "units": {f: unit for f, (unit, _, _) in FIELDS.items()},
            "state": {f: values[f] for f in FIELDS if values[f] is not None},
        }

    def save(self, path: str | Path) -> Path:
        """Write the state to ``path`` as JSON (atomically: a crash leaves the old file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        tmp.replace(path)
        return path


def state_from_dict(doc: Any, origin: str = "vehicle state") -> VehicleState:
    """Validate a state document (as :meth:`VehicleState.to_dict` writes it)."""
    if not isinstance(doc, dict):
        raise ParameterError(f"{origin}: a vehicle state must be a JSON object")
    if doc.get("format") != FORMAT:
        raise ParameterError(f"{origin}: 'format' must be {FORMAT!r}, got {doc.get('format')!r}")
    if doc.get("version") != VERSION:
        raise ParameterError(
            f"{origin}: unsupported version {doc.get('version')!r} (this vehsim reads {VERSION})"
        )
    unknown = set(doc) - {"format", "version", "vehicle", "units", "state"}
    if unknown:
        raise ParameterError(f"{origin}: unknown field(s) {sorted(unknown)}")
    vehicle = doc.get("vehicle")
    if vehicle is not None and not (isinstance(vehicle, str) and vehicle.strip()):
        raise ParameterError(f"{origin}: 'vehicle' must be a vehicle name or null")
    units, state = doc.get("units"), doc.get("state")
    if not isinstance(units, dict) or not isinstance(state, dict):
        raise ParameterError(f"{origin}: 'units' and 'state' must be objects")
    extra = set(state) - set(FIELDS)
    if extra:
        raise ParameterError(
            f"{origin}: unknown state field(s) {sorted(extra)}; known: {list(FIELDS)}"
        )
    values: dict[str, float] = {}
    for name, (unit, lo, hi) in FIELDS.items():
        if name not in state:
            if name == "fuel_level_l":
                continue
            raise ParameterError(f"{origin}: state.{name} is missing (a number in {unit})")
        if units.get(name) != unit:
            raise ParameterError(
                f"{origin}: units.{name} must be {unit!r}, got {units.get(name)!r}"
            )
        value = state[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{origin}: state.{name} must be a number, got {value!r}")
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ParameterError(
                f"{origin}: state.{name} = {value!r} {unit} is out of range ({lo:g} to {hi:g})"
            )
        values[name] = float(value)
    return VehicleState(**values, vehicle=vehicle)


def load_state(path: str | Path) -> VehicleState:
    """Read and validate a state file."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"vehicle state file {path} does not exist")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: not valid JSON ({exc})") from exc
    return state_from_dict(doc, str(path))
