"""Driveline coupling: how the engine is tied to the wheels through converter, clutch or CVT.

Three couplings, chosen by the gearbox variant (``physics/options.py``) and whether it has a
torque converter: an automatic with a converter slips below its lock-up gear; a CVT (with its
launch converter) slips below a lock-up speed; a manual or dual-clutch gearbox slips its clutch
only at launch. While it slips, the engine runs at the converter's or clutch's launch speed and
a converter multiplies torque; locked, the engine turns with the wheels.

References:
    Kotwicki, A. J., "Dynamic models for torque converter equipped vehicles", SAE 820393 (1982):
    torque ratio, coupling point, capacity (K-factor) and the pump torque (rpm / K)².
    Naunheimer et al., *Automotive Transmissions*, 2nd ed., Springer 2011, §5.3 and §12 (clutch
    launch, drag and spin losses; shift torque phase).
    Gillespie, T. D., *Fundamentals of Vehicle Dynamics*, SAE 1992, ch. 2 (rotating inertia
    reflected to the wheels, ``J (ratio / r)²``).
"""

import math
from collections import namedtuple

from vehsim.layout import ENGINE_CRANKING
from vehsim.physics._jit import jit
from vehsim.physics.engine import CRANKING_SPEED_RPM
from vehsim.physics.faults import GEARBOX_SLIP_FRAC, fault_level
from vehsim.physics.gearbox import (
    converter_torque_ratio,
    launch_speed_rpm,
    wheel_to_engine_rpm,
)
from vehsim.physics.options import GEARBOX_AUTOMATIC, GEARBOX_CVT
from vehsim.physics.road_load import grip_limit_force_n

#: Converter slip when unlocked above the coupling point [-] (Kotwicki, SAE 820393).
CONVERTER_COUPLING_SLIP = 0.93
#: Stall torque ratio of a CVT's launch converter when the file gives none [-] (Kotwicki 1982:
#: typical three-element converters stall at 1.8 to 2.5).
CVT_STALL_TORQUE_RATIO = 2.0
#: Vehicle speed below which a CVT's converter stays unlocked [m/s].
CVT_LOCKUP_SPEED_MPS = 5.0
#: A converter stays unlocked while the driveline would pull the engine below this multiple of
#: idle speed [-] (lock-up clutches release before the engine lugs; Naunheimer et al. 2011, §12).
LOCKUP_MIN_IDLE_MULTIPLE = 1.1
#: Engine speed at which a manual clutch is fully engaged at launch [rpm above idle].
CLUTCH_LAUNCH_RPM_ABOVE_IDLE = 500.0
#: The clutch slips at launch while the driveline is below idle plus this share of the launch
#: speed above idle, in first or second gear [-].
CLUTCH_SLIP_LAUNCH_FRAC = 0.5
#: Highest gear a driver slips the clutch in to pull away [-].
CLUTCH_SLIP_MAX_GEAR = 2
#: Share of the converter's full stall-curve drag felt at idle in Drive: modern automatics
#: reduce it with neutral-idle control (disengaging a clutch while stopped) [-].
CREEP_FRACTION = 0.5
#: Fraction of torque an automatic transmits during the torque phase of a shift [-].
SHIFT_TORQUE_FRAC = 0.5
#: Input speed at which the gearbox's spin loss has doubled from its value at rest [rpm]
#: (pump and churning losses grow about linearly with speed; Naunheimer et al. 2011, §5.3).
SPIN_LOSS_DOUBLING_RPM = 3000.0

#: How the engine is coupled this step: gear [-], overall ratio (gear × final drive) [-], the
#: driveline's speed at the gearbox input [rpm], whether the converter or clutch slips, the
#: engine speed [rpm], the converter's torque multiplication [-] and the converter's pump
#: torque that loads the idling engine [N m].
Coupling = namedtuple(
    "Coupling",
    (
        "gear",
        "overall_ratio",
        "input_rpm",
        "slipping",
        "engine_rpm",
        "torque_ratio",
        "creep_torque_nm",
    ),
)
#: Forces the driveline can put on the road this step: at full pedal [N], of the spin loss [N],
#: on overrun [N] (<= 0), with the shift torque share [-], wheel force per unit gearbox input
#: torque [1/m], spin-loss torque [N m] and the effective mass including rotating parts [kg].
WheelForces = namedtuple(
    "WheelForces",
    (
        "drive_max_n",
        "spin_n",
        "overrun_n",
        "shift_frac",
        "force_per_torque_per_m",
        "spin_torque_nm",
        "mass_eff_kg",
    ),
)


@jit(inline="always")
def has_converter(params):
    """Whether the driveline launches through a torque converter (automatics with one, CVTs)."""
    return params.converter_stall_torque_ratio > 1.0 or int(params.gearbox_type) == GEARBOX_CVT


@jit(inline="always")
def _slipping(params, gear, speed_mps, input_rpm):
    """Whether the converter or clutch slips, per coupling variant."""
    gearbox = int(params.gearbox_type)
    idle = params.idle_speed_rpm
    if gearbox == GEARBOX_AUTOMATIC and params.converter_stall_torque_ratio > 1.0:
        return gear < params.lockup_min_gear or input_rpm < idle * LOCKUP_MIN_IDLE_MULTIPLE
    if gearbox == GEARBOX_CVT:
        return speed_mps < CVT_LOCKUP_SPEED_MPS or input_rpm < idle * LOCKUP_MIN_IDLE_MULTIPLE
    # manual or dual-clutch: the clutch slips only at launch
    return (
        input_rpm < idle + CLUTCH_LAUNCH_RPM_ABOVE_IDLE * CLUTCH_SLIP_LAUNCH_FRAC
        and gear <= CLUTCH_SLIP_MAX_GEAR
    )


@jit(inline="always")
def _engine_rpm(params, engine, slipping, input_rpm, pedal_frac):
    """Engine speed [rpm]: launch speed of a slipping converter or clutch, else the driveline's."""
    if engine.running:
        idle = params.idle_speed_rpm
        if slipping:
            if has_converter(params):
                rpm = max(
                    input_rpm / CONVERTER_COUPLING_SLIP,
                    launch_speed_rpm(pedal_frac, idle, params.converter_stall_rpm),
                )
            else:
                rpm = max(input_rpm, idle + CLUTCH_LAUNCH_RPM_ABOVE_IDLE * math.sqrt(pedal_frac))
        else:
            rpm = max(input_rpm, idle)
        return min(rpm, params.max_speed_rpm)
    if engine.engine_state == ENGINE_CRANKING:
        return CRANKING_SPEED_RPM
    return 0.0


@jit(inline="always")
def coupling_stage(state, params, vehicle, engine, input_rpm_known):
    """Driveline stage 1: gear, ratio, driveline speed, slip, engine speed, converter torque.

    ``input_rpm_known`` is the driveline speed the gear stage computed at the end of the last
    step (same speed, same gear) or negative when it did not. The launch speed follows last
    step's pedal (the converter reacts to what the engine did, not to this step's decision).
    """
    speed = state.speed_mps
    gear = int(state.gear)
    if gear < 1:
        gear = 1
    if int(params.gearbox_type) == GEARBOX_CVT:
        ratio = state.gear_ratio if state.gear_ratio > 0.0 else vehicle.ratios[0]
    else:
        ratio = vehicle.ratios[gear - 1]
    overall = ratio * params.final_drive_ratio
    if input_rpm_known >= 0.0:
        input_rpm = input_rpm_known
    else:
        input_rpm = wheel_to_engine_rpm(speed, overall, params.wheel_radius_m)
    slipping = _slipping(params, gear, speed, input_rpm)
    rpm = _engine_rpm(params, engine, slipping, input_rpm, state.throttle_frac)
    slip_fault = fault_level(
        params.fault_gearbox_slip_severity, params.fault_gearbox_slip_onset_s, state.time_s
    )
    if slip_fault > 0.0 and engine.running and not slipping:
        # A slipping clutch pack passes the engine's torque while the engine flares above the
        # gear's speed in proportion to the load (physics/faults.py).
        rpm = min(
            rpm * (1.0 + GEARBOX_SLIP_FRAC * slip_fault * state.throttle_frac),
            params.max_speed_rpm,
        )
    state.gearbox_input_rpm = input_rpm
    state.driveline_locked = 0.0 if slipping else 1.0
    if slipping and has_converter(params) and rpm > 0.0:
        stall_ratio = (
            params.converter_stall_torque_ratio
            if params.converter_stall_torque_ratio > 1.0
            else CVT_STALL_TORQUE_RATIO
        )
        torque_ratio = converter_torque_ratio(input_rpm / rpm, stall_ratio)
    else:
        torque_ratio = 1.0
    # A slipping converter loads the idling engine with the pump's torque (rpm / K)², K from the
    # stall point (Kotwicki, SAE 820393): the drag of idling in Drive.
    creep = 0.0
    if engine.running and slipping and params.converter_stall_torque_ratio > 1.0 and rpm > 0.0:
        creep = (rpm / vehicle.converter_k) ** 2 * max(1.0 - input_rpm / rpm, 0.0) * CREEP_FRACTION
    return Coupling(gear, overall, input_rpm, slipping, rpm, torque_ratio, creep)


@jit(inline="always")
def wheel_forces_stage(state, params, engine, coupling, capability):
    """Driveline stage 2: the forces the powertrain can put on the road, and the effective mass.

    The pedal scales the torque above the accessories' share; the gearbox spin loss (growing
    with input speed, while the car rolls) is an offset the driver has to overcome; mesh losses
    scale with torque (``efficiency``), dividing on overrun. The engine's inertia adds to the
    car's mass while the driveline is locked.
    """
    speed = state.speed_mps
    shift_frac = SHIFT_TORQUE_FRAC if state.shift_timer_s > 0.0 else 1.0
    eta = params.efficiency
    k_wheel = coupling.overall_ratio / params.wheel_radius_m
    coupled = engine.running and coupling.input_rpm > 0.0
    if speed > 0.0:
        t_spin = params.spin_loss_nm * (1.0 + coupling.input_rpm / SPIN_LOSS_DOUBLING_RPM)
    else:
        t_spin = 0.0
    cap = capability
    if engine.running:
        drive_max = (
            max(cap.max_torque_nm - cap.accessory_torque_nm, 0.0)
            * coupling.torque_ratio
            * shift_frac
            * k_wheel
            * eta
        )
    else:
        drive_max = 0.0
    f_spin = t_spin * k_wheel * eta
    if cap.can_cut_fuel:
        overrun = (cap.motoring_torque_nm - cap.accessory_torque_nm - t_spin) * k_wheel / eta
    else:
        overrun = -t_spin * k_wheel / eta
    mass = params.mass_kg
    rot_mass = mass * params.rotating_mass_frac + (
        params.inertia_kgm2 * k_wheel * k_wheel if coupled and not coupling.slipping else 0.0
    )
    return WheelForces(drive_max, f_spin, overrun, shift_frac, k_wheel, t_spin, mass + rot_mass)


@jit(inline="always")
def drive_force_stage(params, coupling, wheel, out_torque_nm, grade_frac):
    """Driveline stage 3: the engine's output at the wheels [N], limited by tyre grip."""
    t_out = out_torque_nm
    t_wheel = (
        t_out * wheel.shift_frac * (coupling.torque_ratio if t_out > 0.0 else 1.0)
        - wheel.spin_torque_nm
    )
    if t_wheel >= 0.0:
        force = t_wheel * wheel.force_per_torque_per_m * params.efficiency
    else:
        force = t_wheel * wheel.force_per_torque_per_m / params.efficiency
    f_grip = grip_limit_force_n(
        params.mass_kg, params.drive_axle_load_frac, params.tyre_mu, grade_frac
    )
    return min(max(force, -f_grip), f_grip)
