"""Lumped thermal model: coolant (with the engine block) and oil, thermostat, radiator, fan.

Two thermal masses exchange heat; the coolant loses heat through the radiator when the
thermostat opens, and both lose a little to the engine bay. The structure and the order of
magnitude of the coefficients follow Shayler, Christian and Ma (SAE 931153, 1993) and
Kaplan and Heywood, "Modeling the spark ignition engine warm-up process to predict component
temperatures and hydrocarbon emissions", SAE 910302 (1991).
"""

from vehsim.physics._jit import jit


@jit
def thermostat_opening_frac(coolant_temp_c, open_start_c, open_full_c):
    """Wax thermostat opening, linear between start and full-open temperatures [-]."""
    if coolant_temp_c <= open_start_c:
        return 0.0
    if coolant_temp_c >= open_full_c:
        return 1.0
    return (coolant_temp_c - open_start_c) / (open_full_c - open_start_c)


@jit
def fan_on_next(fan_on, coolant_temp_c, fan_on_c, fan_off_c):
    """Electric fan state with hysteresis: on above ``fan_on_c``, off below ``fan_off_c``."""
    if coolant_temp_c >= fan_on_c:
        return 1.0
    if coolant_temp_c <= fan_off_c:
        return 0.0
    return fan_on


@jit
def radiator_conductance_wpk(
    ua_ram_wpk_per_mps, speed_mps, ua_fan_wpk, fan_on, ua_min_wpk, effectiveness
):
    """Radiator heat conductance [W/K]: ram air grows with speed, the fan adds a fixed flow.

    ``effectiveness`` (0..1) is reduced by fouling, so a worn car cools less.
    """
    return (ua_min_wpk + ua_ram_wpk_per_mps * speed_mps + ua_fan_wpk * fan_on) * effectiveness


@jit
def temperature_rates_cps(
    coolant_temp_c,
    oil_temp_c,
    ambient_temp_c,
    heat_to_coolant_w,
    heat_to_oil_w,
    coolant_capacity_jpk,
    oil_capacity_jpk,
    ua_oil_coolant_wpk,
    ua_radiator_wpk,
    thermostat_frac,
    ua_bay_wpk,
):
    """Rates of change of coolant and oil temperature [K/s].

    Coolant: combustion heat in, exchange with oil, radiator (scaled by thermostat opening),
    engine-bay losses. Oil: friction heat in, exchange with coolant, bay losses.
    """
    q_oil_to_coolant = ua_oil_coolant_wpk * (oil_temp_c - coolant_temp_c)
    q_radiator = ua_radiator_wpk * thermostat_frac * (coolant_temp_c - ambient_temp_c)
    q_bay_coolant = ua_bay_wpk * (coolant_temp_c - ambient_temp_c)
    q_bay_oil = 0.3 * ua_bay_wpk * (oil_temp_c - ambient_temp_c)
    d_coolant = (
        heat_to_coolant_w + q_oil_to_coolant - q_radiator - q_bay_coolant
    ) / coolant_capacity_jpk
    d_oil = (heat_to_oil_w - q_oil_to_coolant - q_bay_oil) / oil_capacity_jpk
    return d_coolant, d_oil
