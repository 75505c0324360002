"""Gearbox and driveline: ratios, shift schedule, torque converter, clutch launch.

References:
    Torque converter: Kotwicki, A. J., "Dynamic models for torque converter equipped vehicles",
    SAE 820393 (1982) — torque ratio falls linearly with speed ratio to 1 at the coupling point.
    Shift schedules: Ngo et al., "Gear shift map design methodology for automotive
    transmissions", Proc. IMechE D 228(1) 2014 — upshift/downshift lines in engine speed that
    rise with pedal position, with hysteresis.
    Generic ratio spreads: Naunheimer et al., *Automotive Transmissions*, 2nd ed., Springer 2011,
    §6.3 (progressive geometric steps; overall spread by number of gears).
"""

import math

from vehsim.physics._jit import jit

#: Shape of a CVT's engine-speed target against power demand [-] (near the optimal-BSFC line).
CVT_SPEED_EXPONENT = 0.8

#: Coupling point of a typical three-element torque converter (Kotwicki 1982) [-].
TC_COUPLING_SPEED_RATIO = 0.85


@jit
def wheel_to_engine_rpm(speed_mps, overall_ratio, wheel_radius_m):
    """Engine speed [rpm] of a coupled driveline at vehicle speed ``speed_mps``."""
    return speed_mps / wheel_radius_m * overall_ratio * 60.0 / (2.0 * math.pi)


@jit
def converter_torque_ratio(speed_ratio, stall_torque_ratio):
    """Torque multiplication of a converter at turbine/pump speed ratio (Kotwicki 1982) [-]."""
    if speed_ratio >= TC_COUPLING_SPEED_RATIO:
        return 1.0
    return 1.0 + (stall_torque_ratio - 1.0) * (
        1.0 - max(speed_ratio, 0.0) / TC_COUPLING_SPEED_RATIO
    )


@jit
def launch_speed_rpm(throttle_frac, idle_speed_rpm, stall_speed_rpm):
    """Engine speed held by a slipping converter or clutch at launch [rpm].

    Rises from idle to the stall speed with pedal position (square-root shape of a converter's
    capacity curve, Kotwicki 1982).
    """
    return idle_speed_rpm + (stall_speed_rpm - idle_speed_rpm) * math.sqrt(
        min(max(throttle_frac, 0.0), 1.0)
    )


@jit
def upshift_speed_rpm(throttle_frac, idle_speed_rpm, rated_speed_rpm, eco_bias):
    """Engine speed above which an automatic upshifts [rpm] (economy line to sport line)."""
    t = min(max(throttle_frac, 0.0), 1.0)
    low = idle_speed_rpm + 900.0 - 300.0 * eco_bias
    return low + (0.92 * rated_speed_rpm - low) * t * t


@jit
def downshift_speed_rpm(throttle_frac, idle_speed_rpm, rated_speed_rpm, eco_bias):
    """Engine speed below which an automatic downshifts [rpm]; hysteresis below the upshift line."""
    t = min(max(throttle_frac, 0.0), 1.0)
    low = idle_speed_rpm + 250.0 - 100.0 * eco_bias
    return low + (0.55 * rated_speed_rpm - low) * t * t


@jit
def cvt_target_speed_rpm(power_demand_frac, idle_speed_rpm, rated_speed_rpm):
    """Engine speed a CVT aims for at a fraction of rated power [rpm] (optimal-BSFC line shape)."""
    p = min(max(power_demand_frac, 0.0), 1.0)
    # p ** exponent is exactly 0 at 0 and 1 at 1: skip the power function at the clamps.
    if p <= 0.0:
        shape = 0.0
    elif p >= 1.0:
        shape = 1.0
    else:
        shape = p**CVT_SPEED_EXPONENT
    return idle_speed_rpm + 300.0 + (rated_speed_rpm - idle_speed_rpm - 300.0) * shape


def generic_ratios(n_gears: int, top_ratio: float, spread: float) -> list[float]:
    """Gear ratios from first to top with progressive steps (Naunheimer et al. 2011, §6.3).

    ``ratio_i = top × spread^(x_i^1.15)`` with ``x_i`` going from 1 (first) to 0 (top): the
    exponent above 1 makes steps larger in the low gears and smaller near the top.
    """
    if n_gears == 1:
        return [top_ratio]
    return [
        top_ratio * spread ** (((n_gears - 1 - i) / (n_gears - 1)) ** 1.15) for i in range(n_gears)
    ]
