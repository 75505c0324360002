"""What the instrument cluster shows, computed from a ``simulation.raw`` payload (user units).

Both modes hand the widgets the same payload: local mode builds it with
``vehsim.telemetry.raw_payload`` from the simulator in the kernel, connected mode takes it from
telemetry events on Kafka. Everything here is a small pure function of that payload (or of a
few of its numbers), so the widgets only draw what these functions decide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Coolant temperature at which the overheat light comes on [°C].
OVERHEAT_COOLANT_TEMP_C = 110.0
#: Fuel level at or below which the low-fuel light comes on [% of tank].
LOW_FUEL_LEVEL_PCT = 10.0
#: Wear of any part (engine, gearbox, brake pads, tyres) that lights the service lamp [%].
SERVICE_WEAR_PCT = 80.0
#: Remaining oil life at or below which the service lamp comes on [%].
SERVICE_OIL_LIFE_PCT = 10.0
#: Road speed above which consumption reads per distance (L/100 km); at and below it, per
#: hour (L/h), as car trip computers do: per distance, a crawling car's figure runs off to
#: infinity [km/h].
CONSUMPTION_PER_DISTANCE_ABOVE_KPH = 5.0

#: Parts whose wear (share of life used) the wear panel shows: payload field, label.
WEAR_PARTS: tuple[tuple[str, str], ...] = (
    ("engine_wear_pct", "Engine"),
    ("gearbox_wear_pct", "Gearbox"),
    ("brake_pad_wear_pct", "Brake pads"),
    ("tyre_wear_pct", "Tyres"),
)
#: Oil life (share of life left) on the wear panel: payload field, label.
OIL_LIFE = ("oil_life_pct", "Oil life")

#: The lamps of the cluster: key, label, severity when lit.
LAMPS: list[list[str]] = [
    ["engine_on", "Engine", "ok"],
    ["overheat", "Overheat", "alarm"],
    ["low_fuel", "Low fuel", "warn"],
    ["wear", "Service", "warn"],
    ["mil", "Check engine", "warn"],
]

#: Decimals every view of a quantity shows (dials, readouts and chart labels alike), so two
#: views of one reading print the same number.
DISPLAY_DECIMALS: Mapping[str, int] = {
    "engine_rpm": 0,
    "vehicle_speed_kph": 0,
    "coolant_temp_c": 0,
    "fuel_level_pct": 0,
    "throttle_pct": 0,
    "gear": 0,
    "consumption": 1,
}


def warning_lights(payload: Mapping[str, object], mil_on: bool = False) -> set[str]:
    """Keys of the lamps that are lit for this telemetry payload.

    ``mil_on`` comes from the car's diagnostics (the check-engine lamp is not a payload
    field). Missing fields leave their lamp off, so a partial payload never raises a false alarm.
    """
    lit: set[str] = set()
    if payload.get("engine_on"):
        lit.add("engine_on")
    coolant = number(payload, "coolant_temp_c")
    if coolant is not None and coolant >= OVERHEAT_COOLANT_TEMP_C:
        lit.add("overheat")
    fuel = number(payload, "fuel_level_pct")
    if fuel is not None and fuel <= LOW_FUEL_LEVEL_PCT:
        lit.add("low_fuel")
    if any(row.due for row in wear_rows(payload)):
        lit.add("wear")
    if mil_on:
        lit.add("mil")
    return lit


@dataclass(frozen=True)
class Consumption:
    """A live consumption figure and its unit (``"L/100 km"`` or ``"L/h"``)."""

    value: float
    unit: str


def consumption_l_per_100km(fuel_rate_lph: float, speed_kph: float) -> float:
    """Fuel per distance [L/100 km] from fuel flow [L/h] and road speed [km/h > 0]."""
    return 100.0 * fuel_rate_lph / speed_kph


def live_consumption(fuel_rate_lph: float | None, speed_kph: float | None) -> Consumption | None:
    """What the consumption readout shows: L/100 km above
    :data:`CONSUMPTION_PER_DISTANCE_ABOVE_KPH`, the fuel flow in L/h at and below it.

    ``None`` when the payload carries no fuel flow (nothing to show).
    """
    if fuel_rate_lph is None:
        return None
    if speed_kph is not None and speed_kph > CONSUMPTION_PER_DISTANCE_ABOVE_KPH:
        return Consumption(consumption_l_per_100km(fuel_rate_lph, speed_kph), "L/100 km")
    return Consumption(fuel_rate_lph, "L/h")


@dataclass(frozen=True)
class WearRow:
    """One line of the wear panel.

    ``value_pct`` is the share of life used (wear parts) or left (oil life), ``None`` when the
    payload does not carry it; ``limit_pct`` is where the service lamp comes on; ``due`` says
    whether it is on because of this line.
    """

    key: str
    label: str
    value_pct: float | None
    limit_pct: float
    life_left: bool
    due: bool


def wear_rows(payload: Mapping[str, object]) -> list[WearRow]:
    """The wear panel's lines: every worn part, then oil life, with the service thresholds."""
    rows = []
    for key, label in WEAR_PARTS:
        value = number(payload, key)
        due = value is not None and value >= SERVICE_WEAR_PCT
        rows.append(WearRow(key, label, value, SERVICE_WEAR_PCT, False, due))
    key, label = OIL_LIFE
    value = number(payload, key)
    due = value is not None and value <= SERVICE_OIL_LIFE_PCT
    rows.append(WearRow(key, label, value, SERVICE_OIL_LIFE_PCT, True, due))
    return rows


def wear_time_scale(payload: Mapping[str, object]) -> float:
    """How many times faster than the rest of the physics wear advances (1 when not said)."""
    scale = number(payload, "wear_time_scale")
    return 1.0 if scale is None else scale


def quantize(value: float, step: float) -> float:
    """``value`` on a grid of ``step`` (what a view can show apart), as a short float."""
    return round(round(value / step) * step, 6)


def number(payload: Mapping[str, object], key: str) -> float | None:
    """Field ``key`` as a finite float, or ``None`` when missing or not a number."""
    value = payload.get(key)
    if value is None or isinstance(value, str):
        return None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None
