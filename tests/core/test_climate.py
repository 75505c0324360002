"""Climate control: the A/C load from ambient and sun, and what it costs on UDDS.

Reference range: Lohse-Busch et al., SAE 2013-01-1462 (Argonne): at 95 °F (35 °C) with 850 W/m²
of sun and the cabin held at 72 °F, energy use rose 2 % to 70 % against 72 °F.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vehsim
from vehsim.errors import ParameterError
from vehsim.physics.accessories import (
    SC03_AMBIENT_C,
    SC03_SOLAR_LOAD_WPM2,
    climate_from_dict,
    climate_power_w,
    load_climate_control,
)
from vehsim.study import full_factorial, run_study

#: SAE 2013-01-1462: energy-use increase at 95 °F with sun against 72 °F [-].
AC_INCREASE_RANGE = (0.02, 0.70)


def test_no_cooling_no_load_and_the_load_grows_with_heat_and_sun():
    climate = load_climate_control()
    assert climate_power_w(20.0, 0.0, climate) == 0.0
    assert climate_power_w(-7.0, 0.0, climate) == 0.0
    temps = np.arange(24.0, 45.0, 1.0)
    power = climate_power_w(temps, 0.0, climate)
    assert np.all(np.diff(power) > 0)
    sunny = climate_power_w(SC03_AMBIENT_C, SC03_SOLAR_LOAD_WPM2, climate)
    assert climate_power_w(SC03_AMBIENT_C, 0.0, climate) < sunny
    # A compact car's A/C at SC03 conditions draws 1-4 kW (Farrington and Rugh, NREL 2000).
    assert 1_000.0 < sunny < 4_000.0


@given(
    ambient_c=st.floats(-40.0, 55.0),
    solar_wpm2=st.floats(0.0, 1500.0),
    warmer_k=st.floats(0.0, 20.0),
    sunnier_wpm2=st.floats(0.0, 500.0),
)
def test_the_load_is_never_negative_and_grows_with_heat_and_sun(
    ambient_c, solar_wpm2, warmer_k, sunnier_wpm2
):
    climate = load_climate_control()
    power = float(climate_power_w(ambient_c, solar_wpm2, climate))
    assert 0.0 <= power < 10_000.0
    assert float(climate_power_w(ambient_c + warmer_k, solar_wpm2, climate)) >= power
    assert float(climate_power_w(ambient_c, solar_wpm2 + sunnier_wpm2, climate)) >= power


def test_climate_file_errors_name_the_field():
    doc = {"name": "x", "source": "y", **{k: 1.0 for k in ("cabin_setpoint_c",)}}
    with pytest.raises(ParameterError, match="cabin_setpoint_c = 1 °C is out of range"):
        climate_from_dict(doc)
    with pytest.raises(ParameterError, match="solar_load_wpm2 must be from 0 to 1500"):
        vehsim.Simulator([vehsim.load_vehicle("compact-sedan")], solar_load_wpm2=-5.0)


def test_a_hot_day_costs_fuel_on_udds_within_the_measured_range():
    """Hot-start UDDS, every shipped vehicle: 35 °C costs more fuel than 20 °C, and with the
    SC03 sun the increase lies within SAE 2013-01-1462's measured range."""
    design = full_factorial(
        {
            "vehicle": vehsim.list_vehicles(),
            "ambient_temp_c": [20.0, SC03_AMBIENT_C],
            "solar_load_wpm2": [0.0, SC03_SOLAR_LOAD_WPM2],
        }
    )
    runs = run_study(design, dt_s=0.1, defaults={"cycle": "udds", "start": "hot"})
    fuel = runs.set_index(["vehicle", "ambient_temp_c", "solar_load_wpm2"])["fuel_l_per_100km"]
    for vehicle in vehsim.list_vehicles():
        mild = fuel[(vehicle, 20.0, 0.0)]
        hot = fuel[(vehicle, SC03_AMBIENT_C, 0.0)]
        hot_sun = fuel[(vehicle, SC03_AMBIENT_C, SC03_SOLAR_LOAD_WPM2)]
        assert hot > mild, vehicle
        increase = hot_sun / mild - 1.0
        assert AC_INCREASE_RANGE[0] <= increase <= AC_INCREASE_RANGE[1], (vehicle, increase)
