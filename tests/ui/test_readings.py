"""Warning lights: which lamp is lit for which telemetry, thresholds checked at their edges."""

from vehsim.ui.readings import (
    LOW_FUEL_LEVEL_PCT,
    OVERHEAT_COOLANT_TEMP_C,
    SERVICE_OIL_LIFE_PCT,
    SERVICE_WEAR_PCT,
    warning_lights,
)

HEALTHY = {
    "engine_on": True,
    "coolant_temp_c": 90.0,
    "fuel_level_pct": 55.0,
    "engine_wear_pct": 3.0,
    "gearbox_wear_pct": 2.0,
    "brake_pad_wear_pct": 10.0,
    "tyre_wear_pct": 12.0,
    "oil_life_pct": 80.0,
}


def test_healthy_running_car_lights_only_the_engine_lamp():
    assert warning_lights(HEALTHY) == {"engine_on"}
    assert warning_lights({**HEALTHY, "engine_on": False}) == set()


def test_overheat_from_the_threshold_on():
    assert "overheat" not in warning_lights(
        {**HEALTHY, "coolant_temp_c": OVERHEAT_COOLANT_TEMP_C - 0.1}
    )
    assert "overheat" in warning_lights({**HEALTHY, "coolant_temp_c": OVERHEAT_COOLANT_TEMP_C})


def test_low_fuel_at_and_below_the_threshold():
    assert "low_fuel" not in warning_lights({**HEALTHY, "fuel_level_pct": LOW_FUEL_LEVEL_PCT + 0.1})
    assert "low_fuel" in warning_lights({**HEALTHY, "fuel_level_pct": LOW_FUEL_LEVEL_PCT})


def test_service_lamp_for_any_worn_part_or_old_oil():
    for part in ("engine_wear_pct", "gearbox_wear_pct", "brake_pad_wear_pct", "tyre_wear_pct"):
        assert "wear" in warning_lights({**HEALTHY, part: SERVICE_WEAR_PCT})
        assert "wear" not in warning_lights({**HEALTHY, part: SERVICE_WEAR_PCT - 1})
    assert "wear" in warning_lights({**HEALTHY, "oil_life_pct": SERVICE_OIL_LIFE_PCT})


def test_missing_or_bad_fields_never_raise_a_false_alarm():
    assert warning_lights({}) == set()
    assert warning_lights({"coolant_temp_c": None, "fuel_level_pct": float("nan")}) == set()
    assert warning_lights({"fuel_level_pct": "empty"}) == set()
