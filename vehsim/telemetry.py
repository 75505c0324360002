"""Telemetry at the edge: the ``simulation.raw`` payload in the units people read.

Inside the simulation everything is SI (°C for temperatures); this is the one place where a
snapshot becomes km/h, %, L/h and km for events, widgets and tables.

``driver_mode`` is ``"cycle"`` for the cycle follower, else the driver profile (``"eco"``,
``"normal"``, ``"sport"``) of the profile driver or of a person's pedal (commands); ``gear_mode``
is ``"auto"`` or ``"manual"``; ``throttle_pct`` is the torque demand the pedal (``pedal_pct``)
maps to through the profile's pedal map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vehsim.constants import GASOLINE_DENSITY_KGPL
from vehsim.diagnostics import CODE_LIST, CONFIRMED, PENDING, dtc_status_key
from vehsim.units import mps_to_kph


def raw_payload(snapshot: Mapping[str, np.ndarray], i: int) -> dict[str, Any]:
    """The ``simulation.raw`` payload of vehicle ``i`` from :meth:`Simulator.snapshot`."""
    s = {k: v[i] for k, v in snapshot.items()}
    return {
        "engine_on": bool(s["engine_on"]),
        "engine_rpm": round(float(s["engine_speed_rpm"]), 1),
        "vehicle_speed_kph": round(float(mps_to_kph(s["speed_mps"])), 3),
        "gear": int(s["gear"]),
        "throttle_pct": round(float(s["throttle_frac"]) * 100.0, 2),
        "brake_pct": round(float(s["brake_frac"]) * 100.0, 2),
        "coolant_temp_c": round(float(s["coolant_temp_c"]), 2),
        "oil_temp_c": round(float(s["oil_temp_c"]), 2),
        "fuel_rate_lph": round(float(s["fuel_rate_gps"]) * 3600.0 / 1e3 / GASOLINE_DENSITY_KGPL, 4),
        "fuel_used_l": round(float(s["fuel_used_g"]) / 1e3 / GASOLINE_DENSITY_KGPL, 5),
        "fuel_level_pct": round(float(s["fuel_level_frac"]) * 100.0, 3),
        "odometer_km": round(float(s["odometer_m"]) / 1e3, 5),
        "engine_wear_pct": float(s["engine_wear_frac"]) * 100.0,
        "gearbox_wear_pct": float(s["gearbox_wear_frac"]) * 100.0,
        "brake_pad_wear_pct": float(s["brake_pad_wear_frac"]) * 100.0,
        "tyre_wear_pct": float(s["tyre_wear_frac"]) * 100.0,
        "oil_life_pct": float(s["oil_life_frac"]) * 100.0,
        "ambient_temp_c": round(float(s["ambient_temp_c"]), 2),
        "road_grade_pct": round(float(s["road_grade_frac"]) * 100.0, 3),
        "engine_torque_nm": round(float(s["engine_torque_nm"]), 2),
        "accel_mps2": round(float(s["accel_mps2"]), 4),
        "fuel_cutoff": bool(s["fuel_cutoff"] > 0.5),
        "fan_on": bool(s["fan_on"] > 0.5),
        "target_speed_kph": round(float(mps_to_kph(s["target_speed_mps"])), 3),
        # Optional fields of the event schema (vehsim.events.OPTIONAL_RAW_PAYLOAD_FIELDS):
        # Gold reads vehicle_model and driver_mode (gold/trips.driver_profile).
        "vehicle_model": str(s["vehicle_model"]),
        "driver_mode": str(s["driver_mode"]),
        "gear_mode": str(s["gear_mode"]),
        "engine_power_kw": round(float(s["engine_power_w"]) / 1e3, 3),
        "pedal_pct": round(float(s["pedal_frac"]) * 100.0, 2),
        "wear_time_scale": float(s["wear_time_scale"]),
        **_controller_fields(s),
    }


def _controller_fields(s: Mapping[str, Any]) -> dict[str, Any]:
    """What the engine and gearbox controllers measure and report (their sensors, counters, MIL
    and codes): the dashboard's MIL panel, the OBD-II port (``vehsim.obd``) and the live fault
    scorer's diagnostic features (``vehsim.diagnostic_features``) read these. The sensors differ
    from the physics only under a sensor fault (``docs/faults.md``)."""
    status = [s[dtc_status_key(code)] for code in CODE_LIST]
    return {
        "coolant_sensor_temp_c": round(float(s["coolant_sensor_temp_c"]), 2),
        "speed_sensor_kph": round(float(mps_to_kph(s["speed_sensor_mps"])), 3),
        "fuel_trim_pct": round(float(s["fuel_trim_frac"]) * 100.0, 2),
        "engine_load_pct": round(float(s["engine_load_frac"]) * 100.0, 2),
        "engine_demand_torque_nm": round(float(s["engine_demand_torque_nm"]), 2),
        "misfire_count": int(s["misfire_count"]),
        "gearbox_input_rpm": round(float(s["gearbox_input_rpm"]), 1),
        "driveline_locked": bool(s["driveline_locked"] > 0.5),
        "engine_run_time_s": round(float(s["engine_run_time_s"]), 2),
        "mil_on": bool(s["mil_on"]),
        "mil_distance_km": round(float(s["mil_distance_m"]) / 1e3, 4),
        "dtc_confirmed": [c for c, k in zip(CODE_LIST, status, strict=True) if k == CONFIRMED],
        "dtc_pending": [c for c, k in zip(CODE_LIST, status, strict=True) if k == PENDING],
    }
