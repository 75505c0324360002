"""Climate control: the power an automatic A/C draws from the engine, from ambient and sun.

A steady-state heat balance of the cabin at its set point: heat leaks in through the shell and
the fresh air in proportion to the temperature difference, the sun adds what the glazing lets
through, the occupants add their metabolic heat. The refrigerant loop removes that heat with a
coefficient of performance that falls as the ambient (and so the condenser) gets hotter; the
compressor's shaft power is the heat over the COP. The blower runs from the alternator, in
proportion to the load up to full speed. With no heat to remove (a cool day, no sun) the
compressor is off and the load is exactly zero.

The load is mechanical power on the crankshaft [W], constant over a run: the kernel adds it to the
accessories' (``engine.capability_stage``), so it costs fuel only while the engine turns, and the
energy audit books it as ``climate`` (``vehsim.energy``).

References:
    Lohse-Busch, H., Duoba, M., Rask, E., Stutenberg, K. et al., "Ambient Temperature (20°F, 72°F
    and 95°F) Impact on Fuel and Energy Consumption for Several Conventional Vehicles, Hybrid and
    Plug-In Hybrid Electric Vehicles and Battery Electric Vehicle", SAE 2013-01-1462 (Argonne
    National Laboratory): at 95 °F with 850 W/m² of emulated sun, holding the cabin at 72 °F
    raised energy use by 2 % to 70 % against 72 °F, on UDDS, HWFET and US06.
    Farrington, R. and Rugh, J., "Impact of Vehicle Air-Conditioning on Fuel Economy, Tailpipe
    Emissions, and Electric Vehicle Range", NREL/CP-540-28960 (2000): compressor loads of several
    kW in hot sun, the largest auxiliary load of a car.
    Rugh, J., Hovland, V. and Andersen, S., "Significant Fuel Savings and Emission Reductions by
    Improving Vehicle Air Conditioning", NREL (2004): A/C fuel use scales with 1/COP.
    40 CFR 86.161-00 (SC03): 95 °F (35 °C) and 850 W/m² solar load, the A/C test condition.

The parameters are data: ``vehsim/data/climate_control.yaml``, validated on load, each field with
its unit and range in :data:`CLIMATE_FIELDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from vehsim.errors import ParameterError

#: Solar load of the SC03 test [W/m²] (40 CFR 86.161-00; SAE 2013-01-1462 used the same).
SC03_SOLAR_LOAD_WPM2 = 850.0
#: Ambient temperature of the SC03 test [°C] (95 °F).
SC03_AMBIENT_C = 35.0

#: (field, unit, min, max) of every climate-control parameter.
CLIMATE_FIELDS: tuple[tuple[str, str, float, float], ...] = (
    ("cabin_setpoint_c", "°C", 16.0, 30.0),
    ("cabin_ua_wpk", "W/K", 10.0, 1_000.0),
    ("solar_area_m2", "m²", 0.0, 5.0),
    ("occupant_load_w", "W", 0.0, 1_000.0),
    ("cop_ref", "-", 0.5, 6.0),
    ("cop_ref_temp_c", "°C", 0.0, 60.0),
    ("cop_slope_per_k", "1/K", 0.0, 0.5),
    ("cop_min", "-", 0.3, 6.0),
    ("blower_power_w", "W", 0.0, 1_000.0),
    ("blower_full_load_w", "W", 100.0, 20_000.0),
    ("alternator_efficiency", "-", 0.3, 1.0),
)


@dataclass(frozen=True)
class ClimateControl:
    """A validated climate-control parameter set (units in :data:`CLIMATE_FIELDS`)."""

    name: str
    source: str
    cabin_setpoint_c: float
    cabin_ua_wpk: float
    solar_area_m2: float
    occupant_load_w: float
    cop_ref: float
    cop_ref_temp_c: float
    cop_slope_per_k: float
    cop_min: float
    blower_power_w: float
    blower_full_load_w: float
    alternator_efficiency: float


def cabin_heat_load_w(
    ambient_temp_c, solar_load_wpm2, setpoint_c, cabin_ua_wpk, solar_area_m2, occupant_load_w
):
    """Heat the A/C must remove to hold the cabin at ``setpoint_c`` [W], never negative.

    ``UA (T_ambient - T_setpoint) + A_solar G + Q_occupants``: conduction and ventilation
    [W/K × K], sun through the glazing [m² × W/m²] and the occupants [W]. Scalars or arrays.
    """
    load = (
        cabin_ua_wpk * (np.asarray(ambient_temp_c, dtype=float) - setpoint_c)
        + solar_area_m2 * np.asarray(solar_load_wpm2, dtype=float)
        + occupant_load_w
    )
    return np.maximum(load, 0.0)


def ac_cop(ambient_temp_c, cop_ref, cop_ref_temp_c, cop_slope_per_k, cop_min):
    """Coefficient of performance of the refrigerant loop at ``ambient_temp_c`` [-].

    Falls by ``cop_slope_per_k`` per kelvin above ``cop_ref_temp_c`` (a hotter condenser), rises
    as much below it, never below ``cop_min``.
    """
    cop = cop_ref - cop_slope_per_k * (np.asarray(ambient_temp_c, dtype=float) - cop_ref_temp_c)
    return np.maximum(cop, cop_min)


def climate_power_w(ambient_temp_c, solar_load_wpm2, climate: ClimateControl):
    """Shaft power the climate control takes from the engine [W] (compressor plus blower).

    Compressor: heat load / COP. Blower: its electrical power in proportion to the heat load up
    to full speed, through the alternator. Zero when there is no heat to remove.
    """
    heat_w = cabin_heat_load_w(
        ambient_temp_c,
        solar_load_wpm2,
        climate.cabin_setpoint_c,
        climate.cabin_ua_wpk,
        climate.solar_area_m2,
        climate.occupant_load_w,
    )
    cop = ac_cop(
        ambient_temp_c,
        climate.cop_ref,
        climate.cop_ref_temp_c,
        climate.cop_slope_per_k,
        climate.cop_min,
    )
    blower_w = climate.blower_power_w * np.minimum(heat_w / climate.blower_full_load_w, 1.0)
    return heat_w / cop + blower_w / climate.alternator_efficiency


def climate_from_dict(doc, origin: str = "climate control") -> ClimateControl:
    """Validate a climate-control document; errors name the field, its unit and range."""
    if not isinstance(doc, dict):
        raise ParameterError(f"{origin}: must be a mapping, got {type(doc).__name__}")
    for key in ("name", "source"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ParameterError(f"{origin}: '{key}' is required (a non-empty text)")
    known = {key for key, *_ in CLIMATE_FIELDS} | {"name", "source", "notes"}
    unknown = set(doc) - known
    if unknown:
        raise ParameterError(f"{origin}: unknown field(s) {sorted(unknown)}")
    values = {}
    for key, unit, lo, hi in CLIMATE_FIELDS:
        value = doc.get(key)
        allowed = f"allowed {lo:g} to {hi:g} {unit}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{origin}: {key} must be a number ({allowed}), got {value!r}")
        if not lo <= value <= hi:
            raise ParameterError(f"{origin}: {key} = {value:g} {unit} is out of range ({allowed})")
        values[key] = float(value)
    if values["cop_min"] > values["cop_ref"]:
        raise ParameterError(f"{origin}: cop_min must not exceed cop_ref")
    return ClimateControl(name=doc["name"], source=doc["source"], **values)


def load_climate_control(path: str | Path | None = None) -> ClimateControl:
    """The shipped climate-control parameters, or those of the YAML file at ``path``."""
    if path is None:
        return _shipped_climate_control()
    return _load_climate_file(path)


@lru_cache(maxsize=1)
def _shipped_climate_control() -> ClimateControl:
    text = resources.files("vehsim").joinpath("data", "climate_control.yaml").read_text()
    return _parse_climate(text, "vehsim/data/climate_control.yaml")


def _load_climate_file(path: str | Path) -> ClimateControl:
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"climate-control file {path} does not exist")
    return _parse_climate(path.read_text(), str(path))


def _parse_climate(text: str, origin: str) -> ClimateControl:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"{origin}: not valid YAML ({exc})") from exc
    return climate_from_dict(doc, origin)
