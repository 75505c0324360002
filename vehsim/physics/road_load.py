"""Longitudinal road load: coast-down coefficients, aerodynamic drag, grade, tyre grip.

References:
    40 CFR 86.129-00 and SAE J2263 (2008): road-load force F = A + B v + C v² from coast-down,
    the form the EPA Test Car List publishes as target coefficients A/B/C.
    Gillespie, T. D., *Fundamentals of Vehicle Dynamics*, SAE 1992, ch. 4 (aerodynamic drag
    ½ ρ Cd A v², rolling resistance Crr m g cos θ, grade m g sin θ) and ch. 3 (braking: a
    service brake locks the wheels of a dry road, about 1 g).
    FMVSS 135 (49 CFR 571.135): the brake performance a passenger car must keep.
"""

import math
from collections import namedtuple

from vehsim.constants import GRAVITY_MPS2
from vehsim.physics._jit import jit
from vehsim.physics.faults import DRAG_BRAKE_FORCE_N, fault_level, soft_tyre_rolling_factor

#: Largest braking deceleration of a healthy service brake, as a multiple of g [-] (Gillespie
#: 1992, ch. 3: on dry asphalt the tyres, not the brakes, limit at about 1 g).
BRAKE_MAX_G = 1.0
#: Pad wear beyond which braking force fades [-], how fast it fades per unit of wear beyond it
#: [-], and the share left with the pads worn through [-] (modelling assumption: a worn pad set
#: still stops the car, as FMVSS 135's worn-brake test asks, but weaker).
PAD_FADE_START_FRAC = 0.9
PAD_FADE_PER_WEAR = 5.0
PAD_FADE_MIN_FRAC = 0.3

#: Forces of the road this step [N]: road load (A + B v + C v², opposing motion), grade (uphill
#: positive) and the most the service brake can apply; of the road load, the aerodynamic (C)
#: term and a dragging brake's force (the rest is rolling resistance, A + B v).
RoadForces = namedtuple(
    "RoadForces", ("road_n", "grade_n", "brake_max_n", "aero_n", "dragging_brake_n")
)
#: Motion over the step: acceleration [m/s²], speed at its end [m/s], distance [m], brake force
#: [N] and brake power [W].
Motion = namedtuple(
    "Motion", ("accel_mps2", "speed_new_mps", "distance_m", "brake_n", "brake_power_w")
)


@jit
def coastdown_force_n(speed_mps, air_speed_mps, a_n, b_n_per_mps, c_n_per_mps2, density_ratio):
    """Road-load force from coast-down coefficients [N], opposing motion.

    Args:
        speed_mps: vehicle speed over ground [m/s], >= 0.
        air_speed_mps: speed relative to the air [m/s] (speed + head wind).
        a_n, b_n_per_mps, c_n_per_mps2: coefficients A [N], B [N/(m/s)], C [N/(m/s)²] (SAE J2263).
        density_ratio: air density over the density of the coast-down [-]; scales the C term,
            which carries the aerodynamic drag.
    """
    if speed_mps <= 0.0:
        return 0.0
    return (
        a_n
        + b_n_per_mps * speed_mps
        + c_n_per_mps2 * density_ratio * air_speed_mps * abs(air_speed_mps)
    )


@jit
def grade_force_n(mass_kg, grade_frac):
    """Component of weight along a road of grade ``grade_frac`` (rise/run) [N]; uphill positive."""
    # sin(atan(g)) = g / sqrt(1 + g²), without trigonometry
    force = mass_kg * GRAVITY_MPS2 * grade_frac
    if grade_frac == 0.0:  # level road: the divisor is exactly 1, skip the square root
        return force
    return force / math.sqrt(1.0 + grade_frac * grade_frac)


@jit
def grip_limit_force_n(mass_kg, axle_load_frac, tyre_mu, grade_frac):
    """Largest longitudinal force the tyres of the loaded axle(s) can carry [N] (Coulomb grip)."""
    # cos(atan(g)) = 1 / sqrt(1 + g²)
    force = tyre_mu * axle_load_frac * mass_kg * GRAVITY_MPS2
    if grade_frac == 0.0:  # level road: the divisor is exactly 1, skip the square root
        return force
    return force / math.sqrt(1.0 + grade_frac * grade_frac)


def coefficients_from_drag(mass_kg, crr, drag_area_m2, air_density_kgpm3):
    """Coast-down coefficients (A [N], B, C [N/(m/s)²]) from rolling resistance and drag area.

    A = Crr m g, B = 0, C = ½ ρ Cd·A (Gillespie 1992, eqs. 4-2 and 4-36).
    """
    return crr * mass_kg * GRAVITY_MPS2, 0.0, 0.5 * air_density_kgpm3 * drag_area_m2


@jit(inline="always")
def brake_effect_frac(pad_wear_frac):
    """Share of the braking force a pad set still gives at this wear [-] (fades when worn)."""
    if pad_wear_frac < PAD_FADE_START_FRAC:
        return 1.0
    return max(1.0 - (pad_wear_frac - PAD_FADE_START_FRAC) * PAD_FADE_PER_WEAR, PAD_FADE_MIN_FRAC)


@jit(inline="always")
def dragging_brake_force_n(state, params):
    """Force of a brake that does not release [N] (fault ``dragging_brake``; 0 when healthy)."""
    return DRAG_BRAKE_FORCE_N * fault_level(
        params.fault_dragging_brake_severity, params.fault_dragging_brake_onset_s, state.time_s
    )


@jit(inline="always")
def road_forces_stage(state, inputs, params, grade_frac):
    """Road stage 1: road load (with wind and air density), grade force and the brake's limit.

    Faults: an under-inflated tyre raises the rolling (constant) term of the road load; a
    dragging brake adds its force while the car moves (``physics/faults.py``).
    """
    speed = state.speed_mps
    rolling_n = params.road_load_a_n
    soft = fault_level(
        params.fault_underinflated_tyre_severity,
        params.fault_underinflated_tyre_onset_s,
        state.time_s,
    )
    if soft > 0.0:
        rolling_n *= soft_tyre_rolling_factor(soft)
    road = coastdown_force_n(
        speed,
        speed + inputs.wind_mps,
        rolling_n,
        params.road_load_b_n_per_mps,
        params.road_load_c_n_per_mps2,
        inputs.air_density_ratio,
    )
    drag = dragging_brake_force_n(state, params)
    if drag > 0.0 and speed > 0.0:
        road += drag
    else:
        drag = 0.0
    mass = params.mass_kg
    brake_max = BRAKE_MAX_G * mass * GRAVITY_MPS2 * brake_effect_frac(state.brake_pad_wear_frac)
    # the C term alone, for the energy audit (the same expression with A = B = 0)
    aero = coastdown_force_n(
        speed,
        speed + inputs.wind_mps,
        0.0,
        0.0,
        params.road_load_c_n_per_mps2,
        inputs.air_density_ratio,
    )
    return RoadForces(road, grade_force_n(mass, grade_frac), brake_max, aero, drag)


@jit(inline="always")
def motion_stage(state, params, road, drive_force_n, brake_frac, mass_eff_kg, grade_frac, dt_s):
    """Road stage 2: longitudinal dynamics over the step (semi-implicit Euler, speed >= 0).

    A standing car stays put unless the drive force beats brakes and static friction; the brake
    force is limited by the grip of all four tyres. Adds the positive work at the wheels to
    ``wheel_work_j``.
    """
    v = state.speed_mps
    f_brake = min(
        brake_frac * road.brake_max_n,
        grip_limit_force_n(params.mass_kg, 1.0, params.tyre_mu, grade_frac),
    )
    f_net = drive_force_n - road.road_n - road.grade_n
    if v <= 0.0:
        # Standing: brakes (and static friction) hold the car unless the drive force wins.
        f_applied = 0.0 if f_net <= f_brake else f_net - f_brake
        accel = f_applied / mass_eff_kg
        brake_power = 0.0
    else:
        accel = (f_net - f_brake) / mass_eff_kg
        brake_power = f_brake * v
    v_new = v + accel * dt_s
    if v_new < 0.0:
        v_new = 0.0
        accel = -v / dt_s
    distance = 0.5 * (v + v_new) * dt_s
    if drive_force_n > 0.0:
        state.wheel_work_j += drive_force_n * distance
    _audit_stage(state, road, drive_force_n, f_brake, mass_eff_kg, v, v_new, distance)
    return Motion(accel, v_new, distance, f_brake, brake_power)


@jit(inline="always")
def _audit_stage(state, road, drive_force_n, brake_n, mass_eff_kg, v_mps, v_new_mps, distance_m):
    """Energy audit: where the tyres' work went this step [J], added to the state.

    Every force's work over the step's distance, and the change of kinetic energy (rotating
    parts included). The semi-implicit step conserves energy exactly: net force × distance equals
    ``½ m (v_new² - v²)``. A car that comes to rest within the step stops after ``½ m v² / F``,
    not after the step's whole distance: its forces work over that distance.
    """
    net_n = drive_force_n - road.road_n - road.grade_n - brake_n
    kinetic = 0.5 * mass_eff_kg * (v_new_mps * v_new_mps - v_mps * v_mps)
    if v_new_mps <= 0.0 < v_mps and net_n < 0.0:
        distance_m = kinetic / net_n  # stopped within the step
    state.drive_work_j += drive_force_n * distance_m
    state.aero_work_j += road.aero_n * distance_m
    state.rolling_work_j += (road.road_n - road.aero_n - road.dragging_brake_n) * distance_m
    state.grade_work_j += road.grade_n * distance_m
    state.service_brake_work_j += (brake_n + road.dragging_brake_n) * distance_m
    state.kinetic_work_j += kinetic
