"""Unit tests of the physics functions against hand-checked values (tolerances stated)."""

import math

import numpy as np
import pytest

from vehsim.constants import AIR_DENSITY_ISA_KGPM3, GRAVITY_MPS2
from vehsim.physics import engine, environment, gearbox, road_load, thermal, wear


def test_isa_density_at_sea_level_matches_standard():
    # ISO 2533: 1.225 kg/m³ at 0 m, 15 °C; computed from p/(R T) to 0.1%.
    assert environment.air_density_kgpm3(0.0, 15.0) == pytest.approx(
        AIR_DENSITY_ISA_KGPM3, rel=1e-3
    )


def test_isa_pressure_at_1500_m():
    # ISO 2533 table: 84 556 Pa at 1500 m (to 0.1%).
    assert environment.air_pressure_pa(1500.0) == pytest.approx(84_556.0, rel=1e-3)


def test_coastdown_force_is_a_plus_bv_plus_cv2_and_zero_at_rest():
    assert road_load.coastdown_force_n(10.0, 10.0, 100.0, 2.0, 0.4, 1.0) == pytest.approx(
        100 + 20 + 40
    )
    assert road_load.coastdown_force_n(0.0, 0.0, 100.0, 2.0, 0.4, 1.0) == 0.0
    # A head wind of 5 m/s at 10 m/s: C term uses 15² (hand-checked: 0.4*225 = 90).
    assert road_load.coastdown_force_n(10.0, 15.0, 100.0, 2.0, 0.4, 1.0) == pytest.approx(
        100 + 20 + 90
    )


def test_grade_force_on_ten_percent_grade():
    # sin(atan(0.1)) = 0.0995037
    assert road_load.grade_force_n(1000.0, 0.1) == pytest.approx(
        1000 * GRAVITY_MPS2 * 0.0995037, rel=1e-6
    )


def test_mep_torque_round_trip_and_known_value():
    # 1 MPa BMEP in a 2.0 L four-stroke = 1e6 * 2e-3 / (4 pi) = 159.15 N m.
    assert engine.mep_to_torque_nm(1e6, 2.0) == pytest.approx(159.155, rel=1e-4)
    assert engine.torque_to_mep_pa(engine.mep_to_torque_nm(8e5, 1.6), 1.6) == pytest.approx(8e5)


def test_heywood_friction_at_2000_rpm_hot():
    # Heywood eq. 13.22 at 2000 rpm: 0.97 + 0.30 + 0.20 = 1.47 bar, oil at 90 °C, no wear.
    assert engine.friction_mep_pa(2000.0, 90.0, 1.0, 0.0) == pytest.approx(1.47e5, rel=1e-9)


def test_cold_oil_raises_friction_and_wear_raises_it_more():
    hot = engine.friction_mep_pa(1500.0, 90.0, 1.0, 0.0)
    cold = engine.friction_mep_pa(1500.0, 20.0, 1.0, 0.0)
    worn = engine.friction_mep_pa(1500.0, 90.0, 1.0, 1.0)
    assert 1.3 < cold / hot < 2.0  # SAE 931153: ~1.5-1.8x at 20 °C
    assert worn / hot == pytest.approx(1.15)
    assert engine.oil_viscosity_ratio(90.0) == pytest.approx(1.0)


def test_willans_fuel_power_is_linear_in_torque_with_slope_one_over_eta():
    p1 = engine.fuel_power_w(50.0, 2000.0, 1e5, 2e4, 2.0, 0.4)
    p2 = engine.fuel_power_w(100.0, 2000.0, 1e5, 2e4, 2.0, 0.4)
    omega = 2000 * math.pi / 30
    assert (p2 - p1) == pytest.approx(50.0 * omega / 0.4, rel=1e-9)


def test_cylinder_deactivation_cuts_pumping_at_light_load_only():
    pmep_idle, bmep_atm, fmep = 4e4, 1e6, 1.2e5
    for bmep in (0.0, 1e5, 3e5):
        full = engine.pumping_mep_pa(bmep, pmep_idle, bmep_atm)
        half = engine.deactivated_pumping_mep_pa(bmep, fmep, 0.5, pmep_idle, bmep_atm)
        assert 0.0 <= half < full
    # Half the cylinders at 3 bar + half the friction: each firing one at (3 + 0.6) / 0.5 = 7.2 bar.
    expected = 0.5 * engine.pumping_mep_pa(7.2e5, pmep_idle, bmep_atm)
    assert engine.deactivated_pumping_mep_pa(3e5, fmep, 0.5, pmep_idle, bmep_atm) == pytest.approx(
        expected
    )
    # All cylinders firing: the ordinary throttled engine.
    assert engine.deactivated_pumping_mep_pa(3e5, fmep, 1.0, pmep_idle, bmep_atm) == pytest.approx(
        engine.pumping_mep_pa(3e5, pmep_idle, bmep_atm)
    )


def test_converter_torque_ratio_stall_and_coupling():
    assert gearbox.converter_torque_ratio(0.0, 2.0) == pytest.approx(2.0)
    assert gearbox.converter_torque_ratio(0.85, 2.0) == pytest.approx(1.0)
    assert gearbox.converter_torque_ratio(0.425, 2.0) == pytest.approx(1.5)


def test_generic_ratios_have_the_requested_spread_and_shrinking_steps():
    ratios = gearbox.generic_ratios(8, 0.6, 7.0)
    assert ratios[0] / ratios[-1] == pytest.approx(7.0)
    steps = np.array(ratios[:-1]) / np.array(ratios[1:])
    assert np.all(np.diff(steps) < 0)


def test_wheel_to_engine_speed():
    # 20 m/s, radius 0.3 m, overall ratio 3: 66.67 rad/s * 3 -> 1909.9 rpm
    assert gearbox.wheel_to_engine_rpm(20.0, 3.0, 0.3) == pytest.approx(1909.86, rel=1e-5)


def test_thermostat_and_fan_hysteresis():
    assert thermal.thermostat_opening_frac(80.0, 88.0, 100.0) == 0.0
    assert thermal.thermostat_opening_frac(94.0, 88.0, 100.0) == pytest.approx(0.5)
    assert thermal.fan_on_next(0.0, 100.0, 103.0, 97.0) == 0.0
    assert thermal.fan_on_next(0.0, 103.5, 103.0, 97.0) == 1.0
    assert thermal.fan_on_next(1.0, 100.0, 103.0, 97.0) == 1.0  # stays on inside the band
    assert thermal.fan_on_next(1.0, 96.0, 103.0, 97.0) == 0.0


def test_brake_pad_wear_is_proportional_to_braking_power():
    assert wear.brake_pad_wear_rate_per_s(2e4, 1e10) == pytest.approx(
        2 * wear.brake_pad_wear_rate_per_s(1e4, 1e10)
    )
    assert wear.brake_pad_wear_rate_per_s(-5.0, 1e10) == 0.0


def test_oil_life_doubles_every_ten_kelvin():
    assert wear.oil_life_rate_per_s(2000, 110.0, 1e7) == pytest.approx(
        2 * wear.oil_life_rate_per_s(2000, 100.0, 1e7)
    )
