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
"""

import numpy as np

from vehsim.physics._jit import jit

PROFILE_ECO = 0
PROFILE_NORMAL = 1
PROFILE_AGGRESSIVE = 2
PROFILE_NAMES = ("eco", "normal", "aggressive")

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

#: Speed-error gain of the cycle follower [1/s].
FOLLOW_GAIN_PER_S = 2.0


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
