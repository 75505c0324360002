"""Which cars the dashboard can drive, and the spec sheet of the one it shows.

Local mode offers the shipped vehicles plus any the notebook passes in: a vehicle file, a
parameter set, or a row of the EPA Test Car List (a mapping or a pandas row). Connected mode
names the car from the ``vehicle_model`` payload field and shows its spec sheet when that is a
shipped vehicle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vehsim.errors import ParameterError
from vehsim.params import VehicleParams, from_dict, list_vehicles, load_vehicle
from vehsim.testcar import COL_ID, vehicle_from_testcar


@dataclass(frozen=True)
class SpecSheet:
    """The car's headline figures, in the units a spec sheet uses."""

    name: str
    rated_power_kw: float
    mass_kg: float
    displacement_l: float
    gears: int
    gearbox: str
    max_engine_speed_rpm: float

    def lines(self) -> list[tuple[str, str, str, str]]:
        """``(key, label, value, unit)`` per figure, as the header prints them."""
        gears = "CVT" if self.gearbox == "cvt" else f"{self.gears}-speed {self.gearbox}"
        return [
            ("power", "Rated power", f"{self.rated_power_kw:.0f}", "kW"),
            ("mass", "Mass", f"{self.mass_kg:.0f}", "kg"),
            ("displacement", "Displacement", f"{self.displacement_l:.1f}", "L"),
            ("gears", "Gears", gears, ""),
            ("max-rpm", "Max engine speed", f"{self.max_engine_speed_rpm:.0f}", "rpm"),
        ]


def spec_sheet(params: VehicleParams) -> SpecSheet:
    """The spec sheet of a parameter set (SI values converted once, here)."""
    return SpecSheet(
        name=params.name,
        rated_power_kw=params.values["rated_power_w"] / 1e3,
        mass_kg=params.values["mass_kg"],
        displacement_l=params.values["displacement_l"],
        gears=params.n_gears,
        gearbox=params.gearbox_type,
        max_engine_speed_rpm=params.values["max_speed_rpm"],
    )


def vehicle_params(item: Any) -> VehicleParams:
    """A parameter set from what a notebook may pass: a shipped name or a vehicle file path,
    ``VehicleParams``, a vehicle document (mapping), or an EPA Test Car List row (a mapping or
    pandas row with a ``Test Vehicle ID``).

    Raises:
        ParameterError: the item is none of these, or does not validate (the field is named).
    """
    if isinstance(item, VehicleParams):
        return item
    if isinstance(item, str | Path):
        return load_vehicle(item)
    row = item.to_dict() if hasattr(item, "to_dict") and not isinstance(item, Mapping) else item
    if isinstance(row, Mapping):
        if COL_ID in row:
            return vehicle_from_testcar(row)
        return from_dict(dict(row), "vehicle passed to the dashboard")
    raise ParameterError(
        "a dashboard vehicle must be a shipped vehicle name, a vehicle file, VehicleParams, "
        f"or an EPA Test Car List row; got {type(item).__name__}"
    )


class VehicleChoices:
    """The cars offered by the local picker: shipped ones (loaded when picked) and extras.

    Names are unique: an extra whose name is taken gets ``" (2)"``, ``" (3)"``... appended.
    """

    def __init__(self, extras: Iterable[Any] = (), shipped: Iterable[str] | None = None):
        self._params: dict[str, VehicleParams | None] = {
            name: None for name in (list_vehicles() if shipped is None else shipped)
        }
        for item in extras:
            self.add(vehicle_params(item))

    def add(self, params: VehicleParams) -> str:
        """Offer ``params``; returns the name it is offered under."""
        name, k = params.name, 2
        while name in self._params and self._params[name] is not params:
            name, k = f"{params.name} ({k})", k + 1
        self._params[name] = params
        return name

    @property
    def names(self) -> list[str]:
        return list(self._params)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def params(self, name: str) -> VehicleParams:
        """The parameter set offered as ``name``."""
        if name not in self._params:
            raise ParameterError(f"no vehicle {name!r} to pick; offered: {', '.join(self._params)}")
        if self._params[name] is None:
            self._params[name] = load_vehicle(name)
        return self._params[name]  # type: ignore[return-value]


def shipped_spec_sheet(model: str) -> SpecSheet | None:
    """The spec sheet of the shipped vehicle ``model``, ``None`` for any other name."""
    if model not in list_vehicles():
        return None
    return spec_sheet(load_vehicle(model))
