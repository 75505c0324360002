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

from vehsim.constants import GRAVITY_MPS2
from vehsim.physics._jit import jit
from vehsim.physics.faults import SOFT_TYRE_EXTRA_WEAR, TYRES, fault_level
from vehsim.physics.road_load import dragging_brake_force_n

_LN2 = math.log(2.0)

#: Oil temperature above which the oil protects fully [°C], and the span below it over which
#: cold-start wear rises to ``1 + engine_cold_gain`` [K] (Schwartz, SAE 922313: wear during
#: warm-up is dominated by the first minutes below ~60 °C oil).
WARM_OIL_C = 60.0
COLD_WEAR_SPAN_K = 80.0
#: Remaining oil life below which degraded oil raises engine wear [-], and how much at most [-]
#: (Schwartz 1992: wear rises once the additive package is spent).
DEGRADED_OIL_LIFE_FRAC = 0.2
DEGRADED_OIL_WEAR_GAIN = 2.0
#: Engine wear per revolution at zero load relative to full load's added share [-]
#: (Palmgren-Miner weighting: ``base + load``).
ENGINE_WEAR_BASE_LOAD = 0.5
#: Gearbox wear per revolution without torque [-] and the highest torque fraction counted [-]
#: (Miner's rule with a cubic load exponent; overload beyond 1.5x rated torque is clipped).
GEARBOX_WEAR_BASE = 0.1
GEARBOX_TORQUE_FRAC_MAX = 1.5
#: Oil temperature of the rated oil life [°C] and the rise that doubles the ageing rate [K]
#: (Arrhenius rule of thumb, Mortier et al. 2010, ch. 4).
OIL_LIFE_REFERENCE_C = 100.0
OIL_AGEING_DOUBLING_K = 10.0


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
    if oil_temp_c >= WARM_OIL_C:
        cold_factor = 1.0
    else:
        cold_factor = 1.0 + cold_gain * min(
            max((WARM_OIL_C - oil_temp_c) / COLD_WEAR_SPAN_K, 0.0), 1.0
        )
    if oil_life_frac >= DEGRADED_OIL_LIFE_FRAC:
        degraded = 1.0
    else:
        degraded = (
            1.0
            + DEGRADED_OIL_WEAR_GAIN
            * max(DEGRADED_OIL_LIFE_FRAC - oil_life_frac, 0.0)
            / DEGRADED_OIL_LIFE_FRAC
        )
    return (
        revs_per_s * (ENGINE_WEAR_BASE_LOAD + load_frac) * cold_factor * degraded / engine_life_rev
    )


@jit
def gearbox_wear_rate_per_s(input_speed_rpm, torque_frac, gearbox_life_rev):
    """Gearbox wear rate [1/s]: input revolutions weighted by torque fraction cubed (Miner)."""
    t = min(abs(torque_frac), GEARBOX_TORQUE_FRAC_MAX)
    return input_speed_rpm / 60.0 * (GEARBOX_WEAR_BASE + t * t * t) / gearbox_life_rev


@jit
def oil_life_rate_per_s(engine_speed_rpm, oil_temp_c, oil_life_rev):
    """Oil-life consumption rate [1/s]: revolutions × 2^((T − 100 °C)/10 K)."""
    ageing = math.exp(_LN2 * (oil_temp_c - OIL_LIFE_REFERENCE_C) / OIL_AGEING_DOUBLING_K)
    return engine_speed_rpm / 60.0 * ageing / oil_life_rev


@jit(inline="always")
def wear_stage(
    state,
    inputs,
    params,
    vehicle,
    running,
    coupling,
    load_frac,
    out_torque_nm,
    drive_force_n,
    motion,
    speed_mps,
    dt_s,
):
    """Wear stage: pads, tyres, engine, gearbox and oil over one step (fractions of life).

    Tyres wear with the larger of the drive and brake force coefficients; engine, gearbox and
    oil only while the engine turns. Every fraction is capped at 1 (oil life floored at 0).
    A dragging brake turns its force times speed into pad wear and brake heat; a soft tyre
    wears faster (``physics/faults.py``). Every wear increment is multiplied by the vehicle's
    wear time scale (``inputs.wear_time_scale``, 1 for real time): a demo can show in minutes
    what takes a car years, while the rest of the physics keeps its pace.
    """
    dt_wear_s = dt_s * inputs.wear_time_scale
    brake_power_w = motion.brake_power_w
    drag_n = dragging_brake_force_n(state, params)
    if drag_n > 0.0 and speed_mps > 0.0:
        drag_w = drag_n * 0.5 * (speed_mps + motion.speed_new_mps)
        brake_power_w += drag_w
        state.brake_energy_j += drag_w * dt_s
    state.brake_pad_wear_frac = min(
        state.brake_pad_wear_frac
        + brake_pad_wear_rate_per_s(brake_power_w, params.brake_pad_life_j) * dt_wear_s,
        1.0,
    )
    soft = fault_level(
        params.fault_underinflated_tyre_severity,
        params.fault_underinflated_tyre_onset_s,
        state.time_s,
    )
    brake_n = motion.brake_n if speed_mps > 0.0 else 0.0
    force_coef = max(abs(drive_force_n), brake_n) / (params.mass_kg * GRAVITY_MPS2)
    state.tyre_wear_frac = min(
        state.tyre_wear_frac
        + tyre_wear_rate_per_s(
            0.5 * (speed_mps + motion.speed_new_mps),
            force_coef,
            params.tyre_life_m,
            params.tyre_slip_gain,
        )
        * (1.0 + SOFT_TYRE_EXTRA_WEAR * soft / TYRES if soft > 0.0 else 1.0)
        * dt_wear_s,
        1.0,
    )
    if running:
        state.engine_wear_frac = min(
            state.engine_wear_frac
            + engine_wear_rate_per_s(
                coupling.engine_rpm,
                load_frac,
                state.oil_temp_c,
                state.oil_life_frac,
                params.engine_life_rev,
                params.engine_cold_gain,
            )
            * dt_wear_s,
            1.0,
        )
        state.gearbox_wear_frac = min(
            state.gearbox_wear_frac
            + gearbox_wear_rate_per_s(
                coupling.input_rpm,
                out_torque_nm / vehicle.rated_torque_nm,
                params.gearbox_life_rev,
            )
            * dt_wear_s,
            1.0,
        )
        state.oil_life_frac = max(
            state.oil_life_frac
            - oil_life_rate_per_s(coupling.engine_rpm, state.oil_temp_c, params.oil_life_rev)
            * dt_wear_s,
            0.0,
        )
