"""Longitudinal road load: coast-down coefficients, aerodynamic drag, grade, tyre grip.

References:
    40 CFR 86.129-00 and SAE J2263 (2008): road-load force F = A + B v + C v² from coast-down,
    the form the EPA Test Car List publishes as target coefficients A/B/C.
    Gillespie, T. D., *Fundamentals of Vehicle Dynamics*, SAE 1992, ch. 4 (aerodynamic drag
    ½ ρ Cd A v², rolling resistance Crr m g cos θ, grade m g sin θ).
"""

import math

from vehsim.constants import GRAVITY_MPS2
from vehsim.physics._jit import jit


@jit
def coastdown_force_n(speed_mps, air_speed_mps, a_n, b_nspm, c_nspm2, density_ratio):
    """Road-load force from coast-down coefficients [N], opposing motion.

    Args:
        speed_mps: vehicle speed over ground [m/s], >= 0.
        air_speed_mps: speed relative to the air [m/s] (speed + head wind).
        a_n, b_nspm, c_nspm2: coefficients A [N], B [N/(m/s)], C [N/(m/s)²] (SAE J2263).
        density_ratio: air density over the density of the coast-down [-]; scales the C term,
            which carries the aerodynamic drag.
    """
    if speed_mps <= 0.0:
        return 0.0
    return a_n + b_nspm * speed_mps + c_nspm2 * density_ratio * air_speed_mps * abs(air_speed_mps)


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
