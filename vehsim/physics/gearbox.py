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
from vehsim.physics.engine import interp
from vehsim.physics.options import GEARBOX_CVT

#: Shape of a CVT's engine-speed target against power demand [-] (near the optimal-BSFC line).
CVT_SPEED_EXPONENT = 0.8
#: A CVT's lowest target speed above idle [rpm] (it never lugs the engine at idle under load).
CVT_MIN_RPM_ABOVE_IDLE = 300.0
#: Weight of the squared pedal in a CVT's power demand [-]: a pressed pedal raises engine speed
#: ahead of the power it brings (the "rubber band" response drivers expect).
CVT_PEDAL_DEMAND_GAIN = 0.35
#: Speed below which a CVT's ratio is set as if the car moved at this speed [m/s] (launch).
CVT_MIN_SPEED_MPS = 0.1

#: Coupling point of a typical three-element torque converter (Kotwicki 1982) [-].
TC_COUPLING_SPEED_RATIO = 0.85

# Shift schedule (Ngo et al. 2014 for the shape: lines in engine speed that rise with the
# square of the pedal from an economy point to a sport point, downshift below upshift). The
# values are vehsim's generic schedule, checked through the fuel-economy validation
# (docs/validation.md), not fitted per vehicle.
#: Economy upshift point at zero pedal [rpm above idle], and how far the eco bias lowers it [rpm].
UPSHIFT_ECONOMY_RPM_ABOVE_IDLE = 900.0
UPSHIFT_ECO_BIAS_RPM = 300.0
#: Sport upshift point at full pedal [share of rated speed].
UPSHIFT_SPORT_RATED_FRAC = 0.92
#: Economy downshift point at zero pedal [rpm above idle], and how far the eco bias lowers it [rpm].
DOWNSHIFT_ECONOMY_RPM_ABOVE_IDLE = 250.0
DOWNSHIFT_ECO_BIAS_RPM = 100.0
#: Sport downshift point at full pedal [share of rated speed].
DOWNSHIFT_SPORT_RATED_FRAC = 0.55
#: An upshift needs the next gear this far above the downshift line [rpm] (no hunting).
UPSHIFT_MARGIN_RPM = 150.0
#: Pedal band of the shift hysteresis [-]: a downshift (other than a kickdown or out of a lugging
#: engine) needs the lower gear below the upshift line of a pedal this much lighter, so that the
#: pedal a speed controller works within at a steady speed cannot carry the engine across both
#: lines in turn (vehsim's choice: wider than the cycle follower's pedal swings at a steady
#: speed on the EPA cycles).
SHIFT_PEDAL_HYSTERESIS_FRAC = 0.25
#: An upshift needs the next gear to deliver the wheel torque asked for with this reserve [-].
UPSHIFT_TORQUE_RESERVE = 1.05
#: Pedal beyond which an automatic kicks down [-], if the lower gear stays below this share of
#: rated speed [-].
KICKDOWN_PEDAL_FRAC = 0.98
KICKDOWN_MAX_RATED_FRAC = 0.9
#: A downshift never takes the engine above this share of its maximum speed [-].
DOWNSHIFT_MAX_SPEED_FRAC = 0.95
#: Share of the maximum engine speed at which an automatic upshifts whatever the pedal (a
#: transmission controller never holds a gear against the rev limiter).
REV_LIMIT_UPSHIFT_FRAC = 0.97
#: Shortest time between two shifts of an automatic [s] (hunting guard).
SHIFT_HOLD_S = 1.5
#: Time after a shift during which an automatic keeps to it [s]: it does not undo the shift
#: unless the driver kicks down or the engine would lug or reach its limit, and a lighter pedal
#: does not bring the next upshift earlier (the upshift line stays at the pedal of the shift and
#: the engine must exceed it by ``UPSHIFT_MARGIN_RPM``). The guard only decides whether an
#: upshift starts: the gear it goes to is the schedule's at the pedal of the moment, skipping
#: gears where the schedule says so (a shift map gives a target gear for pedal and speed, Ngo et
#: al. 2014; stepped automatics shift to it directly), so an acceleration that ends into a
#: steady speed does not climb one gear per hold period (4-5, then 5-6 1.5 s later).
#: A transmission controller's guard against shift busyness; vehsim's choice, as long as the
#: steady-speed window (10 s within ±2 km/h) in which no car may shift more than once
#: (tests/core/test_shift_hysteresis.py).
SHIFT_SETTLE_S = 10.0
#: Time constant of the pedal filter of the shift logic [s]: a transmission controller reacts to
#: sustained pedal, not to every twitch of the driver's foot.
SHIFT_PEDAL_TAU_S = 1.0
#: Below this speed an automatic selects first gear [m/s].
FIRST_GEAR_SPEED_MPS = 0.1
#: Exponent of the progressive ratio steps of generic gearboxes [-] (Naunheimer et al. 2011,
#: §6.3: steps larger in the low gears).
GENERIC_RATIO_STEP_EXPONENT = 1.15


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
    low = idle_speed_rpm + UPSHIFT_ECONOMY_RPM_ABOVE_IDLE - UPSHIFT_ECO_BIAS_RPM * eco_bias
    return low + (UPSHIFT_SPORT_RATED_FRAC * rated_speed_rpm - low) * t * t


@jit
def downshift_speed_rpm(throttle_frac, idle_speed_rpm, rated_speed_rpm, eco_bias):
    """Engine speed below which an automatic downshifts [rpm]; hysteresis below the upshift line."""
    t = min(max(throttle_frac, 0.0), 1.0)
    low = idle_speed_rpm + DOWNSHIFT_ECONOMY_RPM_ABOVE_IDLE - DOWNSHIFT_ECO_BIAS_RPM * eco_bias
    return low + (DOWNSHIFT_SPORT_RATED_FRAC * rated_speed_rpm - low) * t * t


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
    return (
        idle_speed_rpm
        + CVT_MIN_RPM_ABOVE_IDLE
        + (rated_speed_rpm - idle_speed_rpm - CVT_MIN_RPM_ABOVE_IDLE) * shape
    )


def generic_ratios(n_gears: int, top_ratio: float, spread: float) -> list[float]:
    """Gear ratios from first to top with progressive steps (Naunheimer et al. 2011, §6.3).

    ``ratio_i = top × spread^(x_i^1.15)`` with ``x_i`` going from 1 (first) to 0 (top): the
    exponent above 1 makes steps larger in the low gears and smaller near the top.
    """
    if n_gears == 1:
        return [top_ratio]
    return [
        top_ratio * spread ** (((n_gears - 1 - i) / (n_gears - 1)) ** GENERIC_RATIO_STEP_EXPONENT)
        for i in range(n_gears)
    ]


@jit(inline="always")
def _cvt_ratio(state, params, vehicle, throttle, drive_force_n, speed_new_mps):
    """CVT: the ratio that puts the engine on its target speed for the power asked for."""
    if drive_force_n > 0.0:
        power_frac = (drive_force_n * speed_new_mps) / params.rated_power_w
    else:
        power_frac = 0.0
    target_rpm = cvt_target_speed_rpm(
        power_frac + CVT_PEDAL_DEMAND_GAIN * throttle * throttle,
        params.idle_speed_rpm,
        params.rated_speed_rpm,
    )
    rpm_per_unit_ratio = wheel_to_engine_rpm(
        max(speed_new_mps, CVT_MIN_SPEED_MPS), params.final_drive_ratio, params.wheel_radius_m
    )
    ratios = vehicle.ratios
    state.gear_ratio = min(max(target_rpm / rpm_per_unit_ratio, ratios[1]), ratios[0])
    state.gear = 1.0


@jit(inline="always")
def _held_gear(state, inputs, params, vehicle):
    """Manual gear mode: the commanded gear, within the gearbox's gears."""
    state.gear = float(min(max(int(inputs.gear_cmd), 1), int(params.n_gears)))
    state.gear_ratio = vehicle.ratios[int(state.gear) - 1]


@jit(inline="always")
def _upshift_allowed(
    state, inputs, params, vehicle, rpm_gear, rpm_next, torque_need, keep_to_last_shift
):
    """Whether the shift logic may go up from a gear turning at ``rpm_gear`` to the next one
    (``rpm_next``), which must deliver ``torque_need`` [N m] with a reserve.

    ``keep_to_last_shift``: whether a fresh shift (within ``SHIFT_SETTLE_S``) holds this one back
    (pedal and speed hysteresis against the last shift); the gears an upshift skips to are chosen
    without it (see :func:`_scheduled_gear`)."""
    if rpm_gear >= REV_LIMIT_UPSHIFT_FRAC * params.max_speed_rpm:
        return True  # never against the rev limiter
    pedal = state.throttle_filtered_frac
    idle = params.idle_speed_rpm
    if keep_to_last_shift and state.shift_dir < 0.0:
        return False  # no undoing a downshift while it is fresh
    # While a shift settles, the next upshift keeps to the pedal of that shift and waits for the
    # engine to be clearly above its line (hysteresis in speed as well as in pedal).
    pedal_up = max(pedal, state.shift_pedal_frac) if keep_to_last_shift else pedal
    line = upshift_speed_rpm(pedal_up, idle, params.rated_speed_rpm, inputs.shift_eco_bias)
    if rpm_gear <= line + (UPSHIFT_MARGIN_RPM if keep_to_last_shift else 0.0):
        return False
    down = downshift_speed_rpm(pedal_up, idle, params.rated_speed_rpm, inputs.shift_eco_bias)
    return (
        rpm_next > down + UPSHIFT_MARGIN_RPM
        and interp(rpm_next, vehicle.curve_rpm, vehicle.curve_nm, vehicle.n_curve)
        > UPSHIFT_TORQUE_RESERVE * torque_need
    )


@jit(inline="always")
def _downshift_allowed(state, inputs, params, rpm_now, rpm_dn, throttle):
    """Whether the shift logic goes down from a gear turning at ``rpm_now`` to the one below
    (``rpm_dn``): kickdown, a lugging engine, or a deeper pedal's downshift line."""
    if rpm_dn >= DOWNSHIFT_MAX_SPEED_FRAC * params.max_speed_rpm:
        return False
    if (
        throttle >= KICKDOWN_PEDAL_FRAC
        and rpm_dn < KICKDOWN_MAX_RATED_FRAC * params.rated_speed_rpm
    ):
        return True  # kickdown
    pedal = state.throttle_filtered_frac
    idle = params.idle_speed_rpm
    rated = params.rated_speed_rpm
    bias = inputs.shift_eco_bias
    if rpm_now < downshift_speed_rpm(0.0, idle, rated, bias):
        return True  # below the lowest downshift line: the engine would lug
    if state.shift_dir > 0.0 and state.since_shift_s < SHIFT_SETTLE_S:
        return False  # no undoing an upshift while it is fresh
    up_lighter = upshift_speed_rpm(max(pedal - SHIFT_PEDAL_HYSTERESIS_FRAC, 0.0), idle, rated, bias)
    return rpm_now < downshift_speed_rpm(pedal, idle, rated, bias) and (
        rpm_dn < up_lighter - UPSHIFT_MARGIN_RPM
    )


@jit(inline="always")
def _scheduled_gear(state, inputs, params, vehicle, gear, throttle, max_torque_nm, speed_new_mps):
    """Shift schedule (automatics, and the driver of a manual in automatic gear mode).

    Upshift and downshift lines in engine speed rise with the (filtered) pedal, with hysteresis
    in both speed (``UPSHIFT_MARGIN_RPM``) and pedal (``SHIFT_PEDAL_HYSTERESIS_FRAC``); within
    ``SHIFT_SETTLE_S`` of a shift the shift is not undone except to kick down, to leave the rev
    limiter or to stop lugging, and lifting the pedal brings no further upshift. An upshift that
    starts goes to the highest gear the schedule allows at the present pedal (a skip-shift):
    the settling guard holds back the first gear up, not the ones beyond it.
    Returns the driveline's input speed at the end of the step [rpm] when the gear stays (so the
    next step need not recompute it), else -1.
    """
    ratios = vehicle.ratios
    final_drive = params.final_drive_ratio
    radius = params.wheel_radius_m
    n_gears = int(params.n_gears)
    input_rpm_next = -1.0
    new_gear = gear
    if speed_new_mps < FIRST_GEAR_SPEED_MPS:
        new_gear = 1
    elif state.shift_hold_s <= 0.0:
        rpm_now = wheel_to_engine_rpm(speed_new_mps, ratios[gear - 1] * final_drive, radius)
        input_rpm_next = rpm_now  # unless the gear changes below
        rpm_gear = rpm_now
        settling = state.since_shift_s < SHIFT_SETTLE_S
        while new_gear < n_gears:
            rpm_next = wheel_to_engine_rpm(speed_new_mps, ratios[new_gear] * final_drive, radius)
            need = throttle * max_torque_nm * ratios[gear - 1] / ratios[new_gear]
            # The settling guard decides whether an upshift starts; the gear it goes to is the
            # schedule's at the pedal of now (a skip-shift), not one gear per guard period.
            if not _upshift_allowed(
                state,
                inputs,
                params,
                vehicle,
                rpm_gear,
                rpm_next,
                need,
                settling and new_gear == gear,
            ):
                break
            new_gear += 1
            rpm_gear = rpm_next
        if new_gear == gear and gear > 1:
            rpm_dn = wheel_to_engine_rpm(speed_new_mps, ratios[gear - 2] * final_drive, radius)
            if _downshift_allowed(state, inputs, params, rpm_now, rpm_dn, throttle):
                new_gear = gear - 1
    if new_gear != gear:
        input_rpm_next = -1.0
        state.shift_timer_s = params.shift_duration_s
        state.shift_hold_s = SHIFT_HOLD_S
        state.shift_dir = 1.0 if new_gear > gear else -1.0
        state.since_shift_s = 0.0
        state.shift_pedal_frac = state.throttle_filtered_frac
    state.gear = float(new_gear)
    state.gear_ratio = ratios[new_gear - 1]
    return input_rpm_next


@jit(inline="always")
def gear_stage(
    state,
    inputs,
    params,
    vehicle,
    gear,
    throttle,
    max_torque_nm,
    drive_force_n,
    speed_new_mps,
    dt_s,
):
    """Gearbox stage: shift timers, the shift logic's pedal, and the gear for the next step.

    Per gearbox variant: a CVT sets its ratio continuously; a commanded gear (manual gear mode)
    is held; otherwise the shift schedule chooses. Returns the driveline's input speed for the
    next step when known [rpm], else -1.
    """
    if state.shift_timer_s > 0.0:
        state.shift_timer_s -= dt_s
    if state.shift_hold_s > 0.0:
        state.shift_hold_s -= dt_s
    state.since_shift_s += dt_s
    state.throttle_filtered_frac += (throttle - state.throttle_filtered_frac) * min(
        dt_s / SHIFT_PEDAL_TAU_S, 1.0
    )
    if int(params.gearbox_type) == GEARBOX_CVT:
        _cvt_ratio(state, params, vehicle, throttle, drive_force_n, speed_new_mps)
        return -1.0
    if inputs.gear_mode > 0.5:
        _held_gear(state, inputs, params, vehicle)
        return -1.0
    return _scheduled_gear(
        state, inputs, params, vehicle, gear, throttle, max_torque_nm, speed_new_mps
    )
