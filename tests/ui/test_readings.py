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


def test_the_check_engine_lamp_follows_the_diagnostics_not_the_payload():
    assert "mil" not in warning_lights(HEALTHY)
    assert "mil" in warning_lights(HEALTHY, mil_on=True)
    assert warning_lights({}, mil_on=True) == {"mil"}


def test_consumption_per_distance_above_5_kph_per_hour_at_and_below():
    from vehsim.ui.readings import (
        CONSUMPTION_PER_DISTANCE_ABOVE_KPH,
        Consumption,
        consumption_l_per_100km,
        live_consumption,
    )

    assert consumption_l_per_100km(6.0, 100.0) == 6.0  # 6 L/h at 100 km/h: 6 L per 100 km
    assert consumption_l_per_100km(3.0, 50.0) == 6.0
    assert live_consumption(0.8, 0.0) == Consumption(0.8, "L/h")
    assert live_consumption(0.8, CONSUMPTION_PER_DISTANCE_ABOVE_KPH) == Consumption(0.8, "L/h")
    above = CONSUMPTION_PER_DISTANCE_ABOVE_KPH + 0.1
    assert live_consumption(1.02, above) == Consumption(100 * 1.02 / above, "L/100 km")
    assert live_consumption(0.0, 80.0) == Consumption(0.0, "L/100 km")  # fuel cut on overrun
    assert live_consumption(None, 80.0) is None
    assert live_consumption(2.0, None) == Consumption(2.0, "L/h")


def test_wear_rows_name_each_part_with_the_service_threshold():
    from vehsim.ui.readings import wear_rows

    rows = {r.key: r for r in wear_rows({**HEALTHY, "brake_pad_wear_pct": SERVICE_WEAR_PCT})}
    assert list(rows) == [
        "engine_wear_pct",
        "gearbox_wear_pct",
        "brake_pad_wear_pct",
        "tyre_wear_pct",
        "oil_life_pct",
    ]
    assert rows["engine_wear_pct"].value_pct == 3.0 and not rows["engine_wear_pct"].due
    assert (
        rows["brake_pad_wear_pct"].due and rows["brake_pad_wear_pct"].limit_pct == SERVICE_WEAR_PCT
    )
    assert rows["oil_life_pct"].life_left and rows["oil_life_pct"].limit_pct == SERVICE_OIL_LIFE_PCT
    assert all(r.value_pct is None and not r.due for r in wear_rows({}))


def test_quantize_puts_a_value_on_the_grid_a_view_can_show():
    from vehsim.ui.readings import quantize

    assert quantize(64.56, 1.0) == 65.0
    assert quantize(64.56, 0.24) == 64.56
    assert quantize(0.07, 0.1) == 0.1
