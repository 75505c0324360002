"""Driver models: pedal inversion for a speed target, cycle following, driving profiles.

The cycle follower is a feed-forward plus proportional controller on speed: it asks for the
trace's acceleration plus ``gain × speed error``, converts the resulting force into pedal
positions with the current powertrain limits, and so tracks within the EPA driver tolerance
(±2 mph within ±1 s, 40 CFR 86.115-78) whenever the car can.

Profiles (eco, normal, aggressive) drive on their own: cruise speeds, accelerations and
pauses are drawn from a seeded per-vehicle generator (xorshift64*, Vigna, "An experimental
exploration of Marsaglia's xorshift generators, scrambled", ACM TOMS 42(4), 2016), so a run
with the same seed is bit-identical. Acceleration levels follow the distributions in
Bokare and Maurya, "Acceleration-deceleration behaviour of various vehicle types",
Transportation Research Procedia 25 (2017): gentle ~1 m/s², typical ~1.5-2, aggressive ~3.

Driver feel (profile driver and commands alike; the cycle follower keeps the EPA trace instead):
the pedal travels no faster than the profile's apply and release rates (pedal lag), maps to a
torque demand through the profile's pedal map (progressive for eco, degressive for sport), and is
lifted at the red line until the engine has fallen back. The profile driver presses no deeper
than its profile's deepest pedal. Parameters and sources: ``vehsim/data/driver_profiles.yaml``.
"""

import math
from collections import namedtuple

import numpy as np

from vehsim.constants import MPS_PER_MPH
from vehsim.driver_profiles import PROFILE_ALIASES, PROFILE_NAMES  # noqa: F401 (re-exported)
from vehsim.layout import DRIVER_COMMANDS, DRIVER_CYCLE, DRIVER_PROFILE
from vehsim.physics._jit import jit

PROFILE_ECO = 0
PROFILE_NORMAL = 1
PROFILE_SPORT = 2

#: Per profile: accel [m/s²], decel [m/s²], cruise speed range [m/s], cruise time range [s],
#: stop time range [s], upshift eco bias [-].
PROFILE_TABLE = np.array(
    [
        # accel, decel, v_lo, v_hi, cruise_lo, cruise_hi, stop_lo, stop_hi, eco_bias
        [0.9, 1.0, 11.0, 25.0, 20.0, 90.0, 5.0, 30.0, 1.0],
        [1.6, 1.8, 12.0, 30.0, 15.0, 70.0, 3.0, 20.0, 0.5],
        [3.0, 3.5, 14.0, 36.0, 8.0, 40.0, 1.0, 10.0, 0.0],
    ]
)
# Columns of PROFILE_TABLE.
_ACCEL, _DECEL, _CRUISE_LO, _CRUISE_HI = 0, 1, 2, 3
_CRUISE_T_LO, _CRUISE_T_HI, _STOP_T_LO, _STOP_T_HI, _ECO_BIAS = 4, 5, 6, 7, 8


def profile_eco_bias(profile: int) -> float:
    """Upshift eco bias of a driving profile [-] (1 economical shifting ... 0 sporty)."""
    return float(PROFILE_TABLE[profile, _ECO_BIAS])


#: Speed-error gain of the cycle follower [1/s].
FOLLOW_GAIN_PER_S = 2.0
#: Speed-error gain of the profile driver towards its cruise speed [1/s] (gentler than the
#: cycle follower: no trace to keep; with the accelerations of Bokare and Maurya 2017).
PROFILE_GAIN_PER_S = 1.5
#: The profile driver counts its cruise speed as reached within this band [m/s].
PROFILE_CRUISE_BAND_MPS = 0.5
#: Chance that a profile driver stops at the end of a cruise rather than picks a new speed [-].
PROFILE_STOP_CHANCE = 0.5
#: Speed below which the profile driver counts the car as stopped [m/s].
PROFILE_STOPPED_MPS = 0.05
#: Below this speed, with the trace at a standstill, the driver holds the brake fully (a
#: proportional speed controller alone would balance the converter's creep at a crawl) [m/s].
STOP_HOLD_SPEED_MPS = 0.5
#: Speed tolerance of the EPA driver trace [m/s] (±2 mph, 40 CFR 86.115-78).
TRACE_TOLERANCE_MPS = 2.0 * MPS_PER_MPH

#: Cycles as the kernel holds them: one row per cycle (1 Hz speed [m/s], grade [-]) and lengths.
Cycles = namedtuple("Cycles", ("speed_mps", "grade_frac", "length"))
#: What the driver aims at this step: trace (or plan) speed [m/s], wanted acceleration [m/s²]
#: and the road grade under the car [-].
DriverTarget = namedtuple("DriverTarget", ("trace_speed_mps", "accel_mps2", "grade_frac"))


@jit(inline="always")
def xorshift_next(state):
    """Next state of a 64-bit xorshift* generator and a uniform draw in [0, 1)."""
    x = state
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    out = x * np.uint64(2685821657736338717)
    return x, float(out >> np.uint64(11)) / 9007199254740992.0


@jit
def pedals_for_force(force_req_n, drive_force_max_n, overrun_force_n, brake_force_max_n):
    """Throttle and brake fractions that produce ``force_req_n`` at the wheels.

    Positive demand uses the throttle up to the powertrain limit; a negative one first uses the
    engine's overrun drag (``overrun_force_n`` <= 0) and brakes for the rest.
    """
    if force_req_n > 0.0:
        if drive_force_max_n <= 1e-6:
            return 0.0, 0.0
        return min(force_req_n / drive_force_max_n, 1.0), 0.0
    remaining = force_req_n - overrun_force_n
    if remaining >= 0.0:
        return 0.0, 0.0
    return 0.0, min(-remaining / brake_force_max_n, 1.0)


@jit
def follow_accel_mps2(speed_mps, target_speed_mps, target_accel_mps2):
    """Acceleration the cycle follower asks for [m/s²]: feed-forward plus speed-error gain."""
    return target_accel_mps2 + FOLLOW_GAIN_PER_S * (target_speed_mps - speed_mps)


@jit(inline="always")
def cycle_sample(t, speeds, grades, n):
    """Trace speed [m/s], segment acceleration [m/s²] and grade at time ``t`` of a 1 Hz cycle."""
    if t >= n - 1:
        return speeds[n - 1], 0.0, grades[n - 1]
    if t < 0.0:
        t = 0.0
    k = int(t)
    w = t - k
    v = speeds[k] + w * (speeds[k + 1] - speeds[k])
    return v, speeds[k + 1] - speeds[k], grades[k]


@jit(inline="always")
def _trace_at(t, speeds, n):
    """Trace speed at time ``t`` clamped to the cycle [m/s] (linear between 1 Hz points)."""
    kk = min(max(t, 0.0), n - 1.0)
    j = int(kk)
    if j >= n - 1:
        return speeds[n - 1]
    return speeds[j] + (kk - j) * (speeds[j + 1] - speeds[j])


@jit(inline="always")
def trace_envelope_mps(t, speeds, n):
    """Lowest and highest trace speed within ±1 s of ``t`` [m/s] (EPA ±1 s tolerance window).

    The trace is linear between whole seconds, so its extremes in the window are at the two
    window ends or at the whole seconds inside it.
    """
    lo = _trace_at(t - 1.0, speeds, n)
    hi = _trace_at(t + 1.0, speeds, n)
    if lo > hi:
        lo, hi = hi, lo
    k0 = int(math.floor(t - 1.0))
    k1 = int(math.ceil(t + 1.0))
    for k in range(k0 + 1, k1):
        v = speeds[min(max(k, 0), n - 1)]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@jit(inline="always")
def _new_cruise(state, rng, i, row):
    """Draw a cruise speed [m/s] and how long to hold it [s] into the profile driver's plan."""
    rng[i], u = xorshift_next(rng[i])
    state.profile_cruise_mps = row[_CRUISE_LO] + u * (row[_CRUISE_HI] - row[_CRUISE_LO])
    rng[i], u = xorshift_next(rng[i])
    state.profile_timer_s = row[_CRUISE_T_LO] + u * (row[_CRUISE_T_HI] - row[_CRUISE_T_LO])


@jit(inline="always")
def profile_target(state, rng, i, profile, speed_mps, dt_s):
    """Advance the profile driver's plan; return (target speed, wanted acceleration) [m/s, m/s²].

    The plan cycles standing → accelerate and cruise (possibly re-planning the cruise speed) →
    brake to a stop, with durations and speeds drawn from the vehicle's own generator ``rng[i]``.
    """
    row = PROFILE_TABLE[profile]
    accel, decel = row[_ACCEL], row[_DECEL]
    phase = int(state.profile_phase)
    state.profile_timer_s -= dt_s
    if phase == 0:  # standing
        if state.profile_timer_s <= 0.0:
            _new_cruise(state, rng, i, row)
            state.profile_phase = 1.0
        return 0.0, -decel
    if phase == 1:  # accelerate to and hold the cruise speed
        if (
            state.profile_timer_s <= 0.0
            and abs(speed_mps - state.profile_cruise_mps) < PROFILE_CRUISE_BAND_MPS
        ):
            rng[i], u = xorshift_next(rng[i])
            if u < PROFILE_STOP_CHANCE:
                state.profile_phase = 2.0
            else:  # change cruise speed instead of stopping
                _new_cruise(state, rng, i, row)
        target = state.profile_cruise_mps
        return target, min(max(PROFILE_GAIN_PER_S * (target - speed_mps), -decel), accel)
    # phase 2: brake to a stop
    if speed_mps <= PROFILE_STOPPED_MPS:
        rng[i], u = xorshift_next(rng[i])
        state.profile_timer_s = row[_STOP_T_LO] + u * (row[_STOP_T_HI] - row[_STOP_T_LO])
        state.profile_phase = 0.0
        return 0.0, 0.0
    return 0.0, -decel


@jit(inline="always")
def target_stage(state, inputs, cycles, rng, i, dt_s):
    """Driver stage 1: the speed the driver aims at, the acceleration wanted and the grade.

    Cycle driver: the trace at the end of this step, followed with feed-forward plus gain;
    profile driver: its own plan; commands: the current speed. A grade override replaces the
    cycle's grade. Writes ``target_speed_mps`` and ``road_grade_frac``; returns a DriverTarget.
    """
    mode = int(inputs.driver_mode)
    v = state.speed_mps
    grade = 0.0
    a_want = 0.0
    v_trace = 0.0
    if mode == DRIVER_CYCLE:
        c = int(inputs.cycle_index)
        t_next = state.driver_time_s + dt_s
        v_trace, a_trace, grade = cycle_sample(
            t_next, cycles.speed_mps[c], cycles.grade_frac[c], cycles.length[c]
        )
        a_want = follow_accel_mps2(v, v_trace, a_trace)
        state.target_speed_mps = v_trace
    elif mode == DRIVER_PROFILE:
        v_trace, a_want = profile_target(state, rng, i, int(inputs.profile), v, dt_s)
        state.target_speed_mps = v_trace
    else:
        state.target_speed_mps = v
    if not math.isnan(inputs.grade_override_frac):
        grade = inputs.grade_override_frac
    state.road_grade_frac = grade
    return DriverTarget(v_trace, a_want, grade)


@jit
def pedal_map_frac(pedal_frac, map_25, map_50, map_75):
    """Torque demand [-] of a pedal position [-]: piecewise linear through the profile's map
    (0 at no pedal, ``map_25``/``map_50``/``map_75`` at 25/50/75 %, 1 at full pedal)."""
    p = min(max(pedal_frac, 0.0), 1.0)
    if p < 0.25:
        return p * 4.0 * map_25
    if p < 0.5:
        return map_25 + (p - 0.25) * 4.0 * (map_50 - map_25)
    if p < 0.75:
        return map_50 + (p - 0.5) * 4.0 * (map_75 - map_50)
    return map_75 + (p - 0.75) * 4.0 * (1.0 - map_75)


@jit
def pedal_for_demand_frac(demand_frac, map_25, map_50, map_75):
    """Pedal position [-] that gives torque demand ``demand_frac`` [-] (inverse of
    :func:`pedal_map_frac`; the map increases strictly)."""
    d = min(max(demand_frac, 0.0), 1.0)
    if d < map_25:
        return 0.25 * d / map_25
    if d < map_50:
        return 0.25 + 0.25 * (d - map_25) / (map_50 - map_25)
    if d < map_75:
        return 0.5 + 0.25 * (d - map_50) / (map_75 - map_50)
    return 0.75 + 0.25 * (d - map_75) / (1.0 - map_75)


@jit
def rate_limited_frac(current_frac, target_frac, apply_per_s, release_per_s, dt_s):
    """Pedal position after ``dt_s`` moving towards ``target_frac`` no faster than the apply
    (pressing) or release (lifting) rate [1/s]."""
    if target_frac > current_frac:
        return min(target_frac, current_frac + apply_per_s * dt_s)
    return max(target_frac, current_frac - release_per_s * dt_s)


@jit(inline="always")
def redline_liftoff_stage(state, inputs, params):
    """Whether the driver keeps off the accelerator for the red line (and update that state).

    Lifts off once the engine reaches ``liftoff_redline_frac`` of its maximum speed, presses
    again below ``liftoff_resume_frac`` of it (the engine speed of the last step: the driver
    reacts to what the rev counter shows).
    """
    rpm = state.engine_speed_rpm
    if state.redline_liftoff > 0.5:
        if rpm < inputs.liftoff_resume_frac * params.max_speed_rpm:
            state.redline_liftoff = 0.0
    elif rpm >= inputs.liftoff_redline_frac * params.max_speed_rpm:
        state.redline_liftoff = 1.0
    return state.redline_liftoff > 0.5


@jit(inline="always")
def holds_at_standstill(inputs, target):
    """Whether the driver keeps a standing car still (foot on the brake, no throttle wanted)."""
    if int(inputs.driver_mode) == DRIVER_COMMANDS:
        return inputs.brake_cmd_frac > 0.0 and inputs.throttle_cmd_frac <= 0.0
    return target.trace_speed_mps <= 0.0 and target.accel_mps2 <= 0.0


@jit(inline="always")
def pedals_stage(state, inputs, params, target, running, force_needed_n, wheel, road, dt_s):
    """Driver stage 2: pedal, throttle (torque demand) and brake [-] for this step.

    Cycle and profile drivers invert the powertrain for ``force_needed_n`` (inertia, road load and
    grade; the gearbox spin loss is added on top), holding the brake at stops; the commands
    driver's pedals are the commands. The cycle follower's pedal is its demand; the profile and
    commands drivers move the pedal through their profile's feel: the profile driver presses no
    deeper than its deepest pedal, both lift off at the red line, the pedal follows at the
    profile's rates, and the pedal map turns it into the torque demand. Writes ``pedal_frac``,
    ``throttle_frac`` and ``brake_frac``.
    """
    mode = int(inputs.driver_mode)
    if mode == DRIVER_CYCLE or mode == DRIVER_PROFILE:
        force_n = force_needed_n + wheel.spin_n
        overrun_n = wheel.overrun_n + wheel.spin_n
        if state.speed_mps < STOP_HOLD_SPEED_MPS and target.trace_speed_mps <= 0.0:
            throttle, brake = 0.0, 1.0  # stopping or stopped: hold the brake
            if target.accel_mps2 > 0.0:
                throttle, brake = pedals_for_force(
                    force_n, wheel.drive_max_n, overrun_n, road.brake_max_n
                )
        else:
            throttle, brake = pedals_for_force(
                force_n, wheel.drive_max_n, overrun_n, road.brake_max_n
            )
    else:
        throttle = inputs.throttle_cmd_frac
        brake = inputs.brake_cmd_frac
    if mode == DRIVER_CYCLE:
        pedal = throttle
    else:
        m25, m50, m75 = inputs.pedal_map_25_frac, inputs.pedal_map_50_frac, inputs.pedal_map_75_frac
        if mode == DRIVER_PROFILE:
            wanted = min(pedal_for_demand_frac(throttle, m25, m50, m75), inputs.pedal_max_frac)
        else:
            wanted = throttle  # a person's pedal command is a pedal position
        if redline_liftoff_stage(state, inputs, params):
            wanted = 0.0
        pedal = rate_limited_frac(
            state.pedal_frac,
            wanted,
            inputs.pedal_apply_frac_per_s,
            inputs.pedal_release_frac_per_s,
            dt_s,
        )
        throttle = pedal_map_frac(pedal, m25, m50, m75)
    if not running:
        throttle = min(throttle, 1.0)
    state.pedal_frac = pedal
    state.throttle_frac = throttle
    state.brake_frac = brake
    return throttle, brake


@jit(inline="always")
def trace_tolerance_stage(state, inputs, cycles, target, speed_new_mps, dt_s):
    """Driver stage 3: time outside the EPA trace tolerance and the largest speed error."""
    if int(inputs.driver_mode) != DRIVER_CYCLE:
        return
    c = int(inputs.cycle_index)
    lo, hi = trace_envelope_mps(state.driver_time_s + dt_s, cycles.speed_mps[c], cycles.length[c])
    if speed_new_mps < lo - TRACE_TOLERANCE_MPS or speed_new_mps > hi + TRACE_TOLERANCE_MPS:
        state.time_outside_tolerance_s += dt_s
    state.max_speed_error_mps = max(
        state.max_speed_error_mps, abs(speed_new_mps - target.trace_speed_mps)
    )
