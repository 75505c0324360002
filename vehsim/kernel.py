"""The step function and the loop: one vehicle step, and a loop that owns time for a fleet.

``step_vehicle`` advances one vehicle by ``dt_s`` as a sequence of stages, each living in the
physics module of its topic and compiled inline: driver target → engine mode → driveline
coupling → engine capability → wheel forces → road forces → pedals → engine output → drive force
→ motion → mild-hybrid machine → fuel → thermal → wear → gear choice → trace tolerance →
sensors. Stages read and write the vehicle's state, inputs and parameters by name
(``state.speed_mps``, ``params.mass_kg``) and hand their results to the next stage as named
tuples; a submodel's variant is chosen inside its stage from the code in the parameter row
(``physics/options.py``), so one compiled kernel serves a mixed fleet.

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
)
from vehsim.physics import (
    driveline,
    driver,
    engine,
    faults,
    gearbox,
    hybrid,
    road_load,
    thermal,
    wear,
)
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


def _record_to_tuple(name, columns):
    """A named tuple type with ``columns`` and an inlined function that fills it from a record.

    The copy is written out field by field (generated here from the column names): Numba builds
    a named tuple from a record no other way.
    """
    tuple_type = namedtuple(name, columns)
    fields = ", ".join(f"record.{c}" for c in columns)
    namespace = {name: tuple_type}
    exec(f"def copy(record):\n    return {name}({fields})\n", namespace)  # noqa: S102
    # Not cached on its own (generated source has no file); it is inlined into cached callers.
    return tuple_type, jit(inline="always", cache=False)(namespace["copy"])


Params, _params_tuple = _record_to_tuple("Params", PARAM_COLUMNS)
Inputs, _inputs_tuple = _record_to_tuple("Inputs", INPUT_COLUMNS)


@jit(inline="always")
def step_vehicle(state, inputs, params, vehicle, cycles, rng, i, dt_s, input_rpm_known):
    """Advance vehicle ``i`` by ``dt_s`` seconds, in place on its state record.

    Args:
        state: the vehicle's state row as a record (a field per ``layout.STATE_COLUMNS``,
            same memory); it also holds this step's outputs.
        inputs, params: its inputs and parameters as :data:`Inputs` and :data:`Params` named
            tuples (a field per ``layout.INPUT_COLUMNS``, ``PARAM_COLUMNS``).
        vehicle: its :data:`Vehicle` arrays and constants.
        cycles: every cycle of the run (``driver.Cycles``); ``inputs.cycle_index`` selects one.
        rng: per-vehicle xorshift states; ``i`` the vehicle's index into it.
        dt_s: step [s].
        input_rpm_known: the driveline's speed at the gearbox input at this step's start [rpm]
            when the previous step computed it (same speed, same gear), else negative.

    Returns:
        The driveline's input speed for the next step when the gear logic computed it, else -1.
    """
    speed = state.speed_mps  # at the start of the step
    # What the driver aims at, and what the powertrain and the road allow at this speed.
    target = driver.target_stage(state, inputs, cycles, rng, i, dt_s)
    mode = engine.mode_stage(state, inputs, params, target, dt_s)
    coupling = driveline.coupling_stage(state, params, vehicle, mode, input_rpm_known)
    capability = engine.capability_stage(state, params, vehicle, coupling, mode.running)
    wheel = driveline.wheel_forces_stage(state, params, mode, coupling, capability)
    road = road_load.road_forces_stage(state, inputs, params, target.grade_frac)

    # The driver's pedals, the engine's answer, and the car's motion over the step.
    force_needed = wheel.mass_eff_kg * target.accel_mps2 + road.road_n + road.grade_n
    throttle, brake = driver.pedals_stage(
        state, inputs, params, target, mode.running, force_needed, wheel, road, dt_s
    )
    output = engine.output_stage(state, params, mode, capability, coupling, throttle, dt_s)
    drive_force = driveline.drive_force_stage(
        params, coupling, wheel, output.out_torque_nm, target.grade_frac
    )
    motion = road_load.motion_stage(
        state, params, road, drive_force, brake, wheel.mass_eff_kg, target.grade_frac, dt_s
    )

    # A mild hybrid's machine: torque back at the crank, braking taken from the pads.
    bsg = hybrid.bsg_stage(state, params, mode.running, coupling, capability, output, motion, dt_s)
    if bsg.regen_wheel_w > 0.0:  # the friction brakes do the rest (pad wear, brake energy)
        motion = road_load.Motion(
            motion.accel_mps2,
            motion.speed_new_mps,
            motion.distance_m,
            motion.brake_n,
            max(motion.brake_power_w - bsg.regen_wheel_w, 0.0),
        )

    # What the step cost: fuel, heat, wear; then the gear for the next step.
    fuel_power, load = engine.fuel_stage(
        state,
        inputs,
        params,
        vehicle,
        mode,
        capability,
        output,
        coupling,
        bsg.assist_torque_nm,
        dt_s,
    )
    friction_power = engine.friction_power_w(mode, capability, params.displacement_l)
    coolant_before_c = state.coolant_temp_c
    thermal.thermal_stage(
        state, inputs, params, mode.running, fuel_power, friction_power, speed, dt_s
    )
    wear.wear_stage(
        state,
        inputs,
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

    # The motion becomes the state, and the clocks advance.
    state.brake_energy_j += motion.brake_power_w * dt_s
    state.speed_mps = motion.speed_new_mps
    state.accel_mps2 = motion.accel_mps2
    state.odometer_m += motion.distance_m
    state.time_s += dt_s
    state.driver_time_s += dt_s
    # What the sensors report (wrong with a sensor fault; the physics above never reads it).
    faults.sensors_stage(state, params, coolant_before_c)
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
    i,
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
    """Advance vehicle ``i`` ``n_steps`` steps of ``dt_s``, recording its state row into
    ``records[:, i]`` every ``record_every`` steps (arguments as for :func:`run_fleet`).

    The stages see the vehicle's rows as records (views of the same memory); parameters and
    inputs do not change during the run, so they are copied once into named tuples, which the
    compiler keeps in registers instead of reloading them after every write to the state.
    Compiled without reference counting: the step only reads and writes rows of arrays the
    caller owns, and counting references to them on every step (atomic operations) would cost
    more than the physics.
    """
    state_row = state[i]
    vehicle_state = state.view(STATE_RECORD)[i, 0]
    params_record = params.view(PARAM_RECORD)[i, 0]
    vehicle_params = _params_tuple(params_record)
    vehicle_inputs = _inputs_tuple(inputs.view(INPUT_RECORD)[i, 0])
    vehicle = vehicle_constants(vehicle_params, ratios[i], curve_rpm[i], curve_nm[i], n_curve[i])
    cycles = driver.Cycles(cyc_speed, cyc_grade, cyc_len)
    n_records = records.shape[0]
    r = 0  # next record
    until_record = record_every
    input_rpm = -1.0  # not known before the first step
    for _ in range(n_steps):
        input_rpm = step_vehicle(
            vehicle_state, vehicle_inputs, vehicle_params, vehicle, cycles, rng, i, dt_s, input_rpm
        )
        until_record -= 1
        if until_record == 0:  # never when record_every is 0
            until_record = record_every
            if r < n_records:
                for j in range(state_row.shape[0]):
                    records[r, i, j] = state_row[j]
            r += 1


@jit(parallel=True)
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

    ``state``, ``inputs`` and ``params`` are the C-contiguous 2-D float arrays of
    :class:`vehsim.Simulator`, one row per vehicle and one column per name of
    ``layout.STATE_COLUMNS``, ``INPUT_COLUMNS``, ``PARAM_COLUMNS``. Every ``record_every`` steps
    the state row is copied into ``records[k, i]`` (pass an array with zero rows for
    summary-only runs).
    """
    for i in prange(state.shape[0]):
        run_vehicle(
            np.int64(i),  # the parallel loop's index is unsigned: one signature, one compile
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
        )


def empty_records(n_records: int, n_vehicles: int) -> np.ndarray:
    return np.zeros((n_records, n_vehicles, N_STATE))
