"""Spark-ignition engine: full-load torque, friction, pumping, fuel flow (Willans line).

Fuel flow follows the Willans-line form in mean effective pressures: the fuel's indicated work
covers brake work, friction and pumping, ``fuel_mep = (bmep + fmep + pmep) / eta_indicated``
(Heywood, *Internal Combustion Engine Fundamentals*, 1988, §13.1 and §15.4; Rizzoni et al.,
"Unified modeling of hybrid electric vehicle drivetrains", IEEE/ASME Trans. Mechatronics 4(3),
1999, for the Willans representation of engine efficiency).

References for the coefficients:
    Friction MEP, SI engines: Heywood (1988) eq. 13.22, ``fmep[bar] = 0.97 + 0.15 N + 0.05 N²``
    with N in 1000 rpm, for 0.85-2.0 L engines of the 1980s; modern engines carry a scale factor
    (``friction_scale``), a parameter of the vehicle file.
    Pumping MEP from manifold vacuum: Heywood (1988) §13.4, pmep ≈ p_exhaust − p_intake; intake
    pressure rises roughly linearly with load in throttled SI engines.
    Cylinder deactivation: Leone and Pozar, "Fuel economy benefit of cylinder deactivation -
    sensitivity to vehicle application and operating constraints", SAE 2001-01-3591; Falkowski,
    McElwee and Bonne, "Design and development of the DaimlerChrysler 5.7L HEMI engine
    multi-displacement cylinder deactivation system", SAE 2004-01-2106: at light load the valves
    of part of the cylinders stay shut and the others fire at higher load, with less throttling.
    Oil viscosity-temperature dependence of friction: Shayler, Christian and Ma, "A model for the
    investigation of temperature, heat flow and friction characteristics during engine warm-up",
    SAE 931153 (1993): friction scales with viscosity to a power of about 0.24.
    Oil viscosity: Vogel equation ``mu = a exp(b / (T + c))`` with b = 700 K, c = 95 K
    (5W-30: viscosity about 10x higher at 20 °C than at 90 °C).
"""

import math

from vehsim.physics._jit import jit

#: Engine crank revolutions per cycle of a four-stroke engine [-].
REVS_PER_CYCLE = 2.0
#: Vogel constants of a 5W-30 oil [K] (about 10x viscosity from 90 °C down to 20 °C).
VOGEL_B_K = 700.0
VOGEL_C_K = 95.0
#: Exponent of friction on viscosity ratio (Shayler et al., SAE 931153).
FRICTION_VISCOSITY_EXPONENT = 0.24
#: Oil temperature at which the friction correlation holds [°C].
FRICTION_REFERENCE_OIL_C = 90.0
_VISCOSITY_REF = math.exp(VOGEL_B_K / (FRICTION_REFERENCE_OIL_C + VOGEL_C_K))


@jit(inline="always")
def interp(x, xs, ys, n):
    """Linear interpolation of ``ys`` over ascending ``xs[:n]``, clamped at both ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[n - 1]:
        return ys[n - 1]
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    w = (x - xs[lo]) / (xs[hi] - xs[lo])
    return ys[lo] + w * (ys[hi] - ys[lo])


@jit
def mep_to_torque_nm(mep_pa, displacement_l):
    """Torque [N m] of a four-stroke engine from a mean effective pressure [Pa] (Heywood eq. 2.19)."""
    return mep_pa * displacement_l * 1e-3 / (2.0 * math.pi * REVS_PER_CYCLE)


@jit
def torque_to_mep_pa(torque_nm, displacement_l):
    """Mean effective pressure [Pa] of a four-stroke engine delivering ``torque_nm``."""
    return torque_nm * 2.0 * math.pi * REVS_PER_CYCLE / (displacement_l * 1e-3)


@jit
def oil_viscosity_ratio(oil_temp_c):
    """Oil viscosity relative to its value at 90 °C (Vogel equation) [-]."""
    return math.exp(VOGEL_B_K / (max(oil_temp_c, -40.0) + VOGEL_C_K)) / _VISCOSITY_REF


@jit
def friction_mep_pa(engine_speed_rpm, oil_temp_c, friction_scale, wear_frac):
    """Friction mean effective pressure [Pa], warm correlation × cold-oil factor × wear factor.

    Heywood (1988) eq. 13.22 scaled by ``friction_scale``; cold oil raises it by the viscosity
    ratio to the power 0.24 (Shayler et al., SAE 931153); a worn engine (``wear_frac`` 0..1) has
    up to 15% more friction (ring and bearing clearances).
    """
    n_krpm = engine_speed_rpm / 1000.0
    warm_bar = 0.97 + 0.15 * n_krpm + 0.05 * n_krpm * n_krpm
    # viscosity_ratio ** exponent, as one exponential of the Vogel equation
    cold = math.exp(
        FRICTION_VISCOSITY_EXPONENT
        * VOGEL_B_K
        * (
            1.0 / (max(oil_temp_c, -40.0) + VOGEL_C_K)
            - 1.0 / (FRICTION_REFERENCE_OIL_C + VOGEL_C_K)
        )
    )
    return warm_bar * 1e5 * friction_scale * cold * (1.0 + 0.15 * wear_frac)


@jit
def pumping_mep_pa(brake_mep_pa, pumping_mep_idle_pa, atmospheric_bmep_pa):
    """Pumping MEP [Pa] of a throttled SI engine: largest at zero load, zero once unthrottled.

    Intake manifold pressure rises about linearly with load until it reaches atmospheric
    pressure, near the brake MEP a naturally aspirated engine makes at wide-open throttle
    (``atmospheric_bmep_pa``, ~10 bar); above it a turbocharged engine runs boosted and the
    throttling loss is gone (Heywood 1988, §13.4).
    """
    load = min(max(brake_mep_pa / atmospheric_bmep_pa, 0.0), 1.0)
    return pumping_mep_idle_pa * (1.0 - load)


@jit
def deactivated_pumping_mep_pa(
    brake_mep_pa, friction_mep, active_frac, pumping_mep_idle_pa, atmospheric_bmep_pa
):
    """Pumping MEP [Pa, over the whole displacement] with only ``active_frac`` of the cylinders firing.

    The firing cylinders make the whole engine's brake work and overcome the friction of the idle
    ones too, so they run at brake MEP ``(bmep + (1 - active_frac) fmep) / active_frac``: higher
    manifold pressure, less throttling. The idle cylinders keep their valves shut and pump
    nothing (the trapped charge is a gas spring); friction stays that of the whole engine
    (Leone and Pozar, SAE 2001-01-3591; Heywood 1988, §13.4).
    """
    active_bmep = (max(brake_mep_pa, 0.0) + (1.0 - active_frac) * friction_mep) / active_frac
    return active_frac * pumping_mep_pa(active_bmep, pumping_mep_idle_pa, atmospheric_bmep_pa)


@jit
def fuel_power_w(
    brake_torque_nm, engine_speed_rpm, friction_mep, pumping_mep, displacement_l, eta_indicated
):
    """Fuel chemical power [W] from the Willans line in mean effective pressures.

    ``fuel_mep = (bmep + fmep + pmep) / eta_indicated``; negative sums mean overrun without fuel
    cut-off still needs the idle minimum, which the caller applies.
    """
    bmep = torque_to_mep_pa(brake_torque_nm, displacement_l)
    indicated_mep = max(bmep + friction_mep + pumping_mep, 0.0)
    cycles_per_s = engine_speed_rpm / 60.0 / REVS_PER_CYCLE
    return indicated_mep * displacement_l * 1e-3 * cycles_per_s / eta_indicated


@jit
def motoring_torque_nm(engine_speed_rpm, friction_mep, pumping_mep, displacement_l):
    """Drag torque of the unfuelled engine [N m] (negative brake torque on overrun)."""
    return -mep_to_torque_nm(friction_mep + pumping_mep, displacement_l)


@jit
def cold_enrichment_factor(coolant_temp_c, warm_coolant_temp_c, ambient_ref_c, gain):
    """Fuel multiplier for cold-start enrichment and catalyst heating [-].

    Linear fade from ``1 + gain`` at or below ``ambient_ref_c`` to 1 at ``warm_coolant_temp_c``;
    EPA's FTP bag 1 vs bag 3 difference (median 15%) is the calibration target
    (EPA 2022 Test Car List, see docs/validation.md).
    """
    if coolant_temp_c >= warm_coolant_temp_c:  # warm: the factor is exactly 1
        return 1.0
    span = max(warm_coolant_temp_c - ambient_ref_c, 1.0)
    cold = min(max((warm_coolant_temp_c - coolant_temp_c) / span, 0.0), 1.0)
    return 1.0 + gain * cold
