"""The step function and the loop: one vehicle step, and a loop that owns time for a fleet.

``step_vehicle`` advances one vehicle by ``dt_s`` as a sequence of stages, each living in the
physics module of its topic and compiled inline: driver target → engine mode → driveline
coupling → engine capability → road forces → pedals → engine output → drive force → motion →
fuel → thermal → wear → gear choice → trace tolerance. Stages read and write the vehicle's state,
inputs and parameters by name (rows viewed as records, ``layout.as_records``) and hand their
results to the next stage as named tuples; a submodel's variant is chosen inside its stage from
the code in the parameter row (``physics/options.py``), so one compiled kernel serves a mixed
fleet.

``run_fleet`` is the only loop: every vehicle is independent, so vehicles run in parallel
(``numba.prange``) and each one steps through time on its own; results do not depend on the
number of threads, and reruns are bit-identical. No wall clock and no global randomness:
profile drivers draw from a per-vehicle xorshift state seeded by the caller.
"""

import math
from collections import namedtuple

import numpy as np
from numba import prange

from vehsim.layout import (
    INPUT_COLUMNS,
    INPUT_RECORD,
    PARAM_COLUMNS,
    PARAM_RECORD,
    STATE_COLUMNS,
    STATE_RECORD,
    as_records,
)
from vehsim.physics import driveline, driver, engine, gearbox, road_load, thermal, wear
from vehsim.physics._jit import jit

N_STATE = len(STATE_COLUMNS)
N_INPUT = len(INPUT_COLUMNS)
N_PARAM = len(PARAM_COLUMNS)

#: Per-vehicle arrays and constants the stages use besides the parameter row: gear ratios (first
#: to top; CVT: lowest, highest), the full-load torque curve [rpm, N m] with its number of
#: points, the converter's K-factor [rpm/sqrt(N m)], the torque at rated power [N m] and the
#: pumping MEP at zero load [Pa].
Vehicle = namedtuple(
    "Vehicle",
    (
        "ratios",
        "curve_rpm",
        "curve_nm",
        "n_curve",
        "converter_k",
        "rated_torque_nm",
        "pmep_idle_pa",
    ),
)


@jit(inline="always")
def step_vehicle(state, inputs, params, vehicle, cycles, rng, i, dt_s, input_rpm_known):
    """Advance vehicle ``i`` by ``dt_s`` seconds, in place on its state record.

    Args:
        state, inputs, params: the vehicle's rows as records (``layout.STATE_COLUMNS``,
            ``INPUT_COLUMNS``, ``PARAM_COLUMNS``); the state also holds this step's outputs.
        vehicle: its :data:`Vehicle` arrays and constants.
        cycles: every cycle of the run (``driver.Cycles``); ``inputs.cycle_index`` selects one.
        rng: per-vehicle xorshift states; ``i`` the vehicle's index into it.
        dt_s: step [s].
        input_rpm_known: the driveline's speed at the gearbox input at this step's start [rpm]
            when the previous step computed it (same speed, same gear), else negative.

    Returns:
        The driveline's input speed for the next step when the gear logic computed it, else -1.
    """
    speed = state.speed_mps
    target = driver.target_stage(state, inputs, cycles, rng, i, dt_s)
    mode = engine.mode_stage(state, inputs, params, target, dt_s)
    coupling = driveline.coupling_stage(state, params, vehicle, mode, input_rpm_known)
    capability = engine.capability_stage(state, params, vehicle, coupling, mode.running)
    wheel = driveline.wheel_forces_stage(state, params, mode, coupling, capability)
    road = road_load.road_forces_stage(state, inputs, params, target.grade_frac)

    force_needed = wheel.mass_eff_kg * target.accel_mps2 + road.road_n + road.grade_n
    throttle, brake = driver.pedals_stage(
        state, inputs, target, mode.running, force_needed, wheel, road
    )
    output = engine.output_stage(state, params, mode, capability, coupling, throttle, dt_s)
    drive_force = driveline.drive_force_stage(
        params, coupling, wheel, output.out_torque_nm, target.grade_frac
    )
    motion = road_load.motion_stage(
        state, params, road, drive_force, brake, wheel.mass_eff_kg, target.grade_frac, dt_s
    )

    fuel_power, load = engine.fuel_stage(
        state, inputs, params, vehicle, mode, capability, output, coupling, dt_s
    )
    friction_power = engine.friction_power_w(mode, capability, params.displacement_l)
    thermal.thermal_stage(
        state, inputs, params, mode.running, fuel_power, friction_power, speed, dt_s
    )
    wear.wear_stage(
        state,
        params,
        vehicle,
        mode.running,
        coupling,
        load,
        output.out_torque_nm,
        drive_force,
        motion,
        speed,
        dt_s,
    )
    input_rpm_next = gearbox.gear_stage(
        state,
        inputs,
        params,
        vehicle,
        coupling.gear,
        throttle,
        capability.max_torque_nm,
        drive_force,
        motion.speed_new_mps,
        dt_s,
    )
    driver.trace_tolerance_stage(state, inputs, cycles, target, motion.speed_new_mps, dt_s)

    state.brake_energy_j += motion.brake_power_w * dt_s
    state.speed_mps = motion.speed_new_mps
    state.accel_mps2 = motion.accel_mps2
    state.odometer_m += motion.distance_m
    state.time_s += dt_s
    state.driver_time_s += dt_s
    return input_rpm_next


@jit(inline="always")
def vehicle_constants(params, ratios, curve_rpm, curve_nm, n_curve):
    """The :data:`Vehicle` of a parameter row: its arrays and the constants derived from them.

    The torque converter's K-factor [rpm/sqrt(N m)] comes from its stall point (Kotwicki,
    SAE 820393); the torque at rated power [N m]; the pumping MEP at zero load [Pa].
    """
    stall_nm = engine.interp(params.converter_stall_rpm, curve_rpm, curve_nm, n_curve)
    converter_k = params.converter_stall_rpm / math.sqrt(max(stall_nm, 1.0))
    rated_torque = params.rated_power_w / (params.rated_speed_rpm * math.pi / 30.0)
    pmep_idle = engine.pumping_mep_pa(0.0, params.pumping_mep_idle_pa, params.atmospheric_bmep_pa)
    return Vehicle(ratios, curve_rpm, curve_nm, n_curve, converter_k, rated_torque, pmep_idle)


@jit(_nrt=False)
def run_vehicle(
    state_row, state, inputs, params, vehicle, cycles, rng, i, dt_s, n_steps, record_every, records
):
    """Advance vehicle ``i`` ``n_steps`` steps of ``dt_s``, recording its state row (``state_row``,
    the float view of the ``state`` record) into ``records[:, i]`` every ``record_every`` steps.

    Compiled without reference counting: the step only reads and writes rows of arrays the
    caller owns, and counting references to them on every step (atomic operations) would cost
    more than the physics.
    """
    n_records = records.shape[0]
    r = 0  # next record
    until_record = record_every
    input_rpm = -1.0  # not known before the first step
    for _ in range(n_steps):
        input_rpm = step_vehicle(state, inputs, params, vehicle, cycles, rng, i, dt_s, input_rpm)
        until_record -= 1
        if until_record == 0:  # never when record_every is 0
            until_record = record_every
            if r < n_records:
                for j in range(state_row.shape[0]):
                    records[r, i, j] = state_row[j]
            r += 1


@jit(parallel=True)
def _run_fleet(
    state_rows,
    state,
    inputs,
    params,
    ratios,
    curve_rpm,
    curve_nm,
    n_curve,
    cycles,
    rng,
    dt_s,
    n_steps,
    record_every,
    records,
):
    for i in prange(state.shape[0]):
        p = params[i]
        vehicle = vehicle_constants(p, ratios[i], curve_rpm[i], curve_nm[i], n_curve[i])
        run_vehicle(
            state_rows[i],
            state[i],
            inputs[i],
            p,
            vehicle,
            cycles,
            rng,
            i,
            dt_s,
            n_steps,
            record_every,
            records,
        )


def run_fleet(
    state,
    inputs,
    params,
    ratios,
    curve_rpm,
    curve_nm,
    n_curve,
    cyc_speed,
    cyc_grade,
    cyc_len,
    rng,
    dt_s,
    n_steps,
    record_every,
    records,
):
    """The loop: advance every vehicle ``n_steps`` steps of ``dt_s``, in place.

    ``state``, ``inputs`` and ``params`` are the 2-D float arrays of :class:`vehsim.Simulator`
    (one row per vehicle); the kernel reads them through record views of the same memory.
    Every ``record_every`` steps the state row is copied into ``records[k, i]`` (pass an
    array with zero rows for summary-only runs).
    """
    _run_fleet(
        state,
        as_records(state, STATE_RECORD),
        as_records(inputs, INPUT_RECORD),
        as_records(params, PARAM_RECORD),
        ratios,
        curve_rpm,
        curve_nm,
        n_curve,
        driver.Cycles(cyc_speed, cyc_grade, cyc_len),
        rng,
        dt_s,
        n_steps,
        record_every,
        records,
    )


def empty_records(n_records: int, n_vehicles: int) -> np.ndarray:
    return np.zeros((n_records, n_vehicles, N_STATE))
