"""Wear of brake pads, tyres, engine, gearbox, and oil ageing. All rates are fractions of life.

References:
    Archard, J. F., "Contact and rubbing of flat surfaces", J. Appl. Phys. 24 (1953) 981-988:
    worn volume ∝ normal load × sliding distance / hardness. For a brake pad, load × sliding
    distance is the friction work, so pad wear is proportional to braking energy.
    Schallamach, A. and Turner, D. M., "The wear of slipping wheels", Wear 3 (1960) 1-25:
    tread abrasion ∝ frictional energy in the contact; with slip ∝ force it grows with the
    square of the longitudinal force coefficient.
    Oil ageing: oxidation rate doubles every 10 °C (Arrhenius rule of thumb, e.g. Mortier,
    Fox and Orszulik, *Chemistry and Technology of Lubricants*, 3rd ed., 2010, ch. 4); oil-life
    monitors count engine revolutions weighted by temperature (Schwartz, "A model for the loss
    of oxidative stability of engine oil", SAE 922313, 1992).
    Engine and gearbox: Palmgren-Miner cumulative damage with load-weighted revolutions;
    cold-start wear multiplier after Schwartz (SAE 922313).
"""

import math

from vehsim.physics._jit import jit

_LN2 = math.log(2.0)


@jit
def brake_pad_wear_rate_per_s(brake_power_w, pad_life_energy_j):
    """Pad wear rate [1/s]: friction power over the braking energy a pad set absorbs in life."""
    if brake_power_w > 0.0:
        return brake_power_w / pad_life_energy_j
    # Not braking: the rate is a zero (of the same sign as the quotient; the life is positive).
    return max(brake_power_w, 0.0) * 0.0


@jit
def tyre_wear_rate_per_s(speed_mps, force_coefficient, tyre_life_m, slip_gain):
    """Tread wear rate [1/s]: distance-based abrasion plus a term ∝ force coefficient²."""
    return speed_mps * (1.0 + slip_gain * force_coefficient * force_coefficient) / tyre_life_m


@jit
def engine_wear_rate_per_s(
    engine_speed_rpm, load_frac, oil_temp_c, oil_life_frac, engine_life_rev, cold_gain
):
    """Engine wear rate [1/s]: revolutions weighted by load, cold oil and degraded oil."""
    revs_per_s = engine_speed_rpm / 60.0
    # Both factors are exactly 1 in their flat parts (warm oil, fresh oil): no divisions there.
    if oil_temp_c >= 60.0:
        cold_factor = 1.0
    else:
        cold_factor = 1.0 + cold_gain * min(max((60.0 - oil_temp_c) / 80.0, 0.0), 1.0)
    if oil_life_frac >= 0.2:
        degraded = 1.0
    else:
        degraded = 1.0 + 2.0 * max(0.2 - oil_life_frac, 0.0) / 0.2
    return revs_per_s * (0.5 + load_frac) * cold_factor * degraded / engine_life_rev


@jit
def gearbox_wear_rate_per_s(input_speed_rpm, torque_frac, gearbox_life_rev):
    """Gearbox wear rate [1/s]: input revolutions weighted by torque fraction cubed (Miner)."""
    t = min(abs(torque_frac), 1.5)
    return input_speed_rpm / 60.0 * (0.1 + t * t * t) / gearbox_life_rev


@jit
def oil_life_rate_per_s(engine_speed_rpm, oil_temp_c, oil_life_rev):
    """Oil-life consumption rate [1/s]: revolutions × 2^((T − 100 °C)/10 K)."""
    return engine_speed_rpm / 60.0 * math.exp(_LN2 * (oil_temp_c - 100.0) / 10.0) / oil_life_rev
