"""Column layout of the struct-of-arrays the kernel works on.

State, parameters and driver inputs are 2-D float arrays with one row per vehicle and one named
column per quantity, so the same kernel steps one car or a fleet. Column names carry units.
The kernel reads a row by name: it views the same memory as a structured array whose fields are
the columns (``rows.view(STATE_RECORD)[i, 0].speed_mps``), with no copy and no index constants.
"""

from __future__ import annotations

import numpy as np

from vehsim.faults import FAULT_PARAM_COLUMNS
from vehsim.params import SCALAR_FIELDS
from vehsim.physics.options import (  # gearbox codes re-exported for the legacy kernel
    GEARBOX_AUTOMATIC,  # noqa: F401
    GEARBOX_CVT,  # noqa: F401
    GEARBOX_MANUAL,  # noqa: F401
    SUBMODELS,
    code_column,
    variant_param_fields,
    variant_state_columns,
)

#: Vehicle state and per-step outputs (one row per vehicle).
STATE_COLUMNS: tuple[str, ...] = (
    "time_s",
    "driver_time_s",
    "speed_mps",
    "accel_mps2",
    "odometer_m",
    "road_grade_frac",
    "target_speed_mps",
    "engine_state",  # 0 off, 1 cranking, 2 running
    "crank_timer_s",
    "engine_speed_rpm",
    "engine_torque_nm",
    "gear",
    "gear_ratio",
    "shift_timer_s",
    "shift_hold_s",
    "throttle_frac",
    "brake_frac",
    "fuel_rate_gps",
    "fuel_used_g",
    "fuel_energy_j",
    "wheel_work_j",
    "brake_energy_j",
    "coolant_temp_c",
    "oil_temp_c",
    "fan_on",
    "engine_wear_frac",
    "gearbox_wear_frac",
    "brake_pad_wear_frac",
    "tyre_wear_frac",
    "oil_life_frac",
    "fuel_cutoff",
    "time_outside_tolerance_s",
    "max_speed_error_mps",
    "profile_phase",  # 0 stopped, 1 accelerating/cruising, 2 braking to stop
    "profile_timer_s",
    "profile_cruise_mps",
    "out_of_fuel",
    "throttle_filtered_frac",  # pedal as the shift logic sees it (first-order lag)
    "overrun_timer_s",  # time since the pedal was released on overrun
    "deactivation_timer_s",  # time the conditions for cylinder deactivation have held
    # What the engine and gearbox controllers measure (on-board diagnostics, vehsim.faults):
    "coolant_sensor_temp_c",  # the coolant sensor's reading (wrong with coolant_sensor_stuck)
    "speed_sensor_mps",  # the vehicle speed signal (wrong with speed_sensor_dropout)
    "fuel_trim_frac",  # closed-loop fuel correction (+ adds fuel)
    "engine_revolutions",  # crankshaft revolutions since the start
    "misfire_count",  # combustion events missed (a crankshaft-speed misfire detector's count)
    "gearbox_input_rpm",  # the driveline's speed at the gearbox input
    "driveline_locked",  # 1 when converter or clutch is locked (no commanded slip)
    # Driver feel (physics/driver.py) and shift hysteresis (physics/gearbox.py):
    "pedal_frac",  # accelerator pedal position (throttle_frac is the torque demand it maps to)
    "redline_liftoff",  # 1 while the driver has lifted off at the red line
    "shift_dir",  # direction of the last shift: +1 up, -1 down, 0 none yet
    "since_shift_s",  # time since the last shift
    "shift_pedal_frac",  # the shift logic's pedal at the last shift
) + variant_state_columns()  # state of submodel variants (physics/options.py)

#: Energy flows since the start [J], for the energy audit (``vehsim.energy``): the engine's
#: indicated work, friction and pumping work, the accessories' work (climate control included),
#: its net work into the driveline, the tyres' work on the road (signed), and where that went:
#: aerodynamic drag, rolling resistance, grade (signed), service brakes, kinetic energy (signed).
ENERGY_STATE_COLUMNS: tuple[str, ...] = (
    "indicated_work_j",
    "friction_work_j",
    "pumping_work_j",
    "accessory_work_j",
    "engine_out_work_j",
    "drive_work_j",
    "aero_work_j",
    "rolling_work_j",
    "grade_work_j",
    "service_brake_work_j",
    "kinetic_work_j",
)
STATE_COLUMNS += ENERGY_STATE_COLUMNS

#: Driver and environment inputs (one row per vehicle), written between steps.
INPUT_COLUMNS: tuple[str, ...] = (
    "driver_mode",  # 0 commands, 1 cycle, 2 profile
    "cycle_index",
    "engine_request",  # 1 engine should run, 0 off
    "throttle_cmd_frac",
    "brake_cmd_frac",
    "gear_mode",  # 0 automatic shifting, 1 manual (gear_cmd)
    "gear_cmd",
    "profile",  # 0 eco, 1 normal, 2 sport
    "shift_eco_bias",
    "ambient_temp_c",
    "air_density_ratio",
    "wind_mps",
    "grade_override_frac",  # NaN: use the cycle's grade
    "fuel_tank_initial_l",
    # The driver profile's feel (vehsim.driver_profiles, data/driver_profiles.yaml): torque
    # demand at 25/50/75 % pedal, pedal rates, the profile driver's deepest pedal, lift-off.
    "pedal_map_25_frac",
    "pedal_map_50_frac",
    "pedal_map_75_frac",
    "pedal_apply_frac_per_s",
    "pedal_release_frac_per_s",
    "pedal_max_frac",
    "liftoff_redline_frac",
    "liftoff_resume_frac",
    "wear_time_scale",  # wear advances this many times faster than the rest (1: real time)
)

#: Scalar vehicle parameters (one row per vehicle), in the order of params.SCALAR_FIELDS, then
#: the number of gears, the variant code of every submodel (``gearbox_type``, ``thermal_model``)
#: and the parameters variants add (zero for vehicles that use another variant).
PARAM_COLUMNS: tuple[str, ...] = (
    tuple(key for _, key, *_ in SCALAR_FIELDS)
    + ("gearbox_type", "n_gears")
    + tuple(code_column(m) for m in SUBMODELS if m != "gearbox")
    + tuple(key for _, key, *_ in variant_param_fields())
    + FAULT_PARAM_COLUMNS  # severity and onset of every fault (vehsim.faults), 0 when healthy
    # the climate control's load on the engine [W] that the ambient and the sun ask for
    # (physics/accessories.py), set by the simulator, 0 with no cooling needed
    + ("climate_power_w",)
)

DRIVER_COMMANDS, DRIVER_CYCLE, DRIVER_PROFILE = 0, 1, 2
ENGINE_OFF, ENGINE_CRANKING, ENGINE_RUNNING = 0, 1, 2


def _index(columns: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(columns)}


S = _index(STATE_COLUMNS)
I = _index(INPUT_COLUMNS)  # noqa: E741
P = _index(PARAM_COLUMNS)


def _record(columns: tuple[str, ...]) -> np.dtype:
    # np.record: fields are attributes in pure Python too (VEHSIM_NO_JIT=1), as in Numba.
    return np.dtype((np.record, [(name, np.float64) for name in columns]))


#: One row of state, inputs or parameters as a record with a field per column.
STATE_RECORD = _record(STATE_COLUMNS)
INPUT_RECORD = _record(INPUT_COLUMNS)
PARAM_RECORD = _record(PARAM_COLUMNS)
