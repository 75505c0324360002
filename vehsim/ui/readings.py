"""What the instrument cluster shows, computed from a ``simulation.raw`` payload (user units).

Both modes hand the widgets the same payload: local mode builds it with
``vehsim.telemetry.raw_payload`` from the simulator in the kernel, connected mode takes it from
telemetry events on Kafka. The thresholds below decide when a warning light comes on.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Coolant temperature at which the overheat light comes on [°C].
OVERHEAT_COOLANT_TEMP_C = 110.0
#: Fuel level at or below which the low-fuel light comes on [% of tank].
LOW_FUEL_LEVEL_PCT = 10.0
#: Wear of any part (engine, gearbox, brake pads, tyres) that lights the service lamp [%].
SERVICE_WEAR_PCT = 80.0
#: Remaining oil life at or below which the service lamp comes on [%].
SERVICE_OIL_LIFE_PCT = 10.0

_WEAR_FIELDS = ("engine_wear_pct", "gearbox_wear_pct", "brake_pad_wear_pct", "tyre_wear_pct")

#: The lamps of the cluster: key, label, severity when lit.
LAMPS: list[list[str]] = [
    ["engine_on", "Engine", "ok"],
    ["overheat", "Overheat", "alarm"],
    ["low_fuel", "Low fuel", "warn"],
    ["wear", "Service", "warn"],
]


def warning_lights(payload: Mapping[str, object]) -> set[str]:
    """Keys of the lamps that are lit for this telemetry payload.

    Missing fields leave their lamp off, so a partial payload never raises a false alarm.
    """
    lit: set[str] = set()
    if payload.get("engine_on"):
        lit.add("engine_on")
    coolant = _get(payload, "coolant_temp_c")
    if coolant is not None and coolant >= OVERHEAT_COOLANT_TEMP_C:
        lit.add("overheat")
    fuel = _get(payload, "fuel_level_pct")
    if fuel is not None and fuel <= LOW_FUEL_LEVEL_PCT:
        lit.add("low_fuel")
    wear = [w for w in (_get(payload, f) for f in _WEAR_FIELDS) if w is not None]
    oil_life = _get(payload, "oil_life_pct")
    if (wear and max(wear) >= SERVICE_WEAR_PCT) or (
        oil_life is not None and oil_life <= SERVICE_OIL_LIFE_PCT
    ):
        lit.add("wear")
    return lit


def _get(payload: Mapping[str, object], key: str) -> float | None:
    value = payload.get(key)
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number == number else None
