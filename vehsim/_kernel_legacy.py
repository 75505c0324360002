"""The previous kernel (one ~400-line ``step_vehicle``), kept only for ``benchmarks/bench_core.py``.

It runs side by side with ``vehsim.kernel`` so the benchmark can show the staged kernel is as
fast; nothing else imports it. Delete this file, and its entry in
``physics/_jit._KERNEL_SOURCES``, once the staged kernel has landed.

Original description:

``step_vehicle`` advances one vehicle (one row of the struct-of-arrays) by ``dt_s``: driver →
pedals → engine and driveline → longitudinal dynamics → fuel → thermals → wear → gear choice.
``run_fleet`` is the only loop: every vehicle is independent, so vehicles run in parallel
(``numba.prange``) and each one steps through time on its own; results do not depend on the
number of threads, and reruns are bit-identical. No wall clock and no global randomness:
profile drivers draw from a per-vehicle xorshift state seeded by the caller.
"""

import math

import numpy as np
from numba import prange

from vehsim.constants import GASOLINE_LHV_JPKG, GRAVITY_MPS2
from vehsim.layout import (
    DRIVER_COMMANDS,
    DRIVER_CYCLE,
    DRIVER_PROFILE,
    ENGINE_CRANKING,
    ENGINE_OFF,
    ENGINE_RUNNING,
    GEARBOX_AUTOMATIC,
    GEARBOX_CVT,
    INPUT_COLUMNS,
    PARAM_COLUMNS,
    STATE_COLUMNS,
    I,
    P,
    S,
)
from vehsim.physics._jit import jit
from vehsim.physics.driver import (
    PROFILE_TABLE,
    follow_accel_mps2,
    pedals_for_force,
    xorshift_next,
)
from vehsim.physics.engine import (
    cold_enrichment_factor,
    deactivated_pumping_mep_pa,
    friction_mep_pa,
    fuel_power_w,
    interp,
    mep_to_torque_nm,
    motoring_torque_nm,
    pumping_mep_pa,
    torque_to_mep_pa,
)
from vehsim.physics.gearbox import (
    converter_torque_ratio,
    cvt_target_speed_rpm,
    downshift_speed_rpm,
    launch_speed_rpm,
    upshift_speed_rpm,
    wheel_to_engine_rpm,
)
from vehsim.physics.road_load import coastdown_force_n, grade_force_n, grip_limit_force_n
from vehsim.physics.thermal import (
    fan_on_next,
    radiator_conductance_wpk,
    temperature_rates_cps,
    thermostat_opening_frac,
)
from vehsim.physics.wear import (
    brake_pad_wear_rate_per_s,
    engine_wear_rate_per_s,
    gearbox_wear_rate_per_s,
    oil_life_rate_per_s,
    tyre_wear_rate_per_s,
)

N_STATE = len(STATE_COLUMNS)
N_INPUT = len(INPUT_COLUMNS)
N_PARAM = len(PARAM_COLUMNS)

# Column indices as module constants: Numba freezes them into the compiled code.
S_TIME = S["time_s"]
S_DRV_T = S["driver_time_s"]
S_V = S["speed_mps"]
S_A = S["accel_mps2"]
S_X = S["odometer_m"]
S_GRADE = S["road_grade_frac"]
S_VTGT = S["target_speed_mps"]
S_ENG = S["engine_state"]
S_CRANK = S["crank_timer_s"]
S_RPM = S["engine_speed_rpm"]
S_TQ = S["engine_torque_nm"]
S_GEAR = S["gear"]
S_RATIO = S["gear_ratio"]
S_SHIFT = S["shift_timer_s"]
S_HOLD = S["shift_hold_s"]
S_THR = S["throttle_frac"]
S_BRK = S["brake_frac"]
S_FRATE = S["fuel_rate_gps"]
S_FUSED = S["fuel_used_g"]
S_FENERGY = S["fuel_energy_j"]
S_WHEELW = S["wheel_work_j"]
S_BRAKEE = S["brake_energy_j"]
S_TCOOL = S["coolant_temp_c"]
S_TOIL = S["oil_temp_c"]
S_FAN = S["fan_on"]
S_WENG = S["engine_wear_frac"]
S_WGBX = S["gearbox_wear_frac"]
S_WPAD = S["brake_pad_wear_frac"]
S_WTYRE = S["tyre_wear_frac"]
S_OIL = S["oil_life_frac"]
S_DFCO = S["fuel_cutoff"]
S_OUTTOL = S["time_outside_tolerance_s"]
S_MAXERR = S["max_speed_error_mps"]
S_PPHASE = S["profile_phase"]
S_PTIMER = S["profile_timer_s"]
S_PCRUISE = S["profile_cruise_mps"]
S_NOFUEL = S["out_of_fuel"]
S_THRF = S["throttle_filtered_frac"]
S_OVRT = S["overrun_timer_s"]
S_CDAT = S["deactivation_timer_s"]

I_MODE = I["driver_mode"]
I_CYC = I["cycle_index"]
I_ENGREQ = I["engine_request"]
I_THR = I["throttle_cmd_frac"]
I_BRK = I["brake_cmd_frac"]
I_GMODE = I["gear_mode"]
I_GCMD = I["gear_cmd"]
I_PROF = I["profile"]
I_ECO = I["shift_eco_bias"]
I_TAMB = I["ambient_temp_c"]
I_RHO = I["air_density_ratio"]
I_WIND = I["wind_mps"]
I_GRADE = I["grade_override_frac"]
I_TANK0 = I["fuel_tank_initial_l"]

P_MASS = P["mass_kg"]
P_A = P["road_load_a_n"]
P_B = P["road_load_b_n_per_mps"]
P_C = P["road_load_c_n_per_mps2"]
P_RW = P["wheel_radius_m"]
P_ROT = P["rotating_mass_frac"]
P_MU = P["tyre_mu"]
P_AXLE = P["drive_axle_load_frac"]
P_TANK = P["fuel_tank_l"]
P_DISP = P["displacement_l"]
P_PRATED = P["rated_power_w"]
P_NRATED = P["rated_speed_rpm"]
P_NIDLE = P["idle_speed_rpm"]
P_NMAX = P["max_speed_rpm"]
P_JENG = P["inertia_kgm2"]
P_FRIC = P["friction_scale"]
P_PMEP = P["pumping_mep_idle_pa"]
P_BMEPATM = P["atmospheric_bmep_pa"]
P_ETAI = P["eta_indicated"]
P_ACC = P["accessory_power_w"]
P_COLDF = P["cold_enrichment_gain"]
P_CRANK = P["crank_duration_s"]
P_STARTF = P["start_fuel_g"]
P_DFCO = P["fuel_cutoff_min_rpm"]
P_DFCODELAY = P["fuel_cutoff_delay_s"]
P_IDLESTOP = P["idle_stop"]
P_CDAFRAC = P["deactivation_active_frac"]
P_CDABMEP = P["deactivation_max_bmep_pa"]
P_CDAMIN = P["deactivation_min_rpm"]
P_CDAMAX = P["deactivation_max_rpm"]
P_CDADELAY = P["deactivation_delay_s"]
P_FD = P["final_drive_ratio"]
P_ETA = P["efficiency"]
P_SPIN = P["spin_loss_nm"]
P_TSHIFT = P["shift_duration_s"]
P_STALL = P["converter_stall_rpm"]
P_TR0 = P["converter_stall_torque_ratio"]
P_LOCKG = P["lockup_min_gear"]
P_CCOOL = P["coolant_capacity_jpk"]
P_COIL = P["oil_capacity_jpk"]
P_UAOC = P["ua_oil_coolant_wpk"]
P_UARMIN = P["ua_radiator_min_wpk"]
P_UARV = P["ua_radiator_wpk_per_mps"]
P_UAFAN = P["ua_fan_wpk"]
P_UABAY = P["ua_bay_wpk"]
P_THOPEN = P["thermostat_open_c"]
P_THFULL = P["thermostat_full_c"]
P_FANON = P["fan_on_c"]
P_FANOFF = P["fan_off_c"]
P_QCOOL = P["heat_to_coolant_frac"]
P_TWARM = P["warm_coolant_temp_c"]
P_PADLIFE = P["brake_pad_life_j"]
P_TYRELIFE = P["tyre_life_m"]
P_TYRESLIP = P["tyre_slip_gain"]
P_ENGLIFE = P["engine_life_rev"]
P_ENGCOLD = P["engine_cold_gain"]
P_GBXLIFE = P["gearbox_life_rev"]
P_OILLIFE = P["oil_life_rev"]
P_FOUL = P["radiator_fouling_per_m"]
P_GBTYPE = P["gearbox_type"]
P_NGEARS = P["n_gears"]

#: Engine speed while the starter turns it [rpm] (typical cranking speed, Bosch Automotive
#: Handbook, 10th ed., 2018, "Starting systems").
CRANKING_SPEED_RPM = 250.0
#: Largest braking deceleration of a healthy service brake, as a multiple of g [-].
BRAKE_MAX_G = 1.0
#: Converter slip when unlocked above the coupling point [-] (Kotwicki, SAE 820393).
CONVERTER_COUPLING_SLIP = 0.93
#: Vehicle speed below which a CVT's converter stays unlocked [m/s].
CVT_LOCKUP_SPEED_MPS = 5.0
#: Share of friction heat that goes into the oil (rest into coolant) [-] (Shayler et al. 1993).
FRICTION_HEAT_TO_OIL_FRAC = 0.5
#: Share of the converter's full stall-curve drag felt at idle in Drive: modern automatics
#: reduce it with neutral-idle control (disengaging a clutch while stopped) [-].
CREEP_FRACTION = 0.5
#: Fraction of torque an automatic transmits during the torque phase of a shift [-].
SHIFT_TORQUE_FRAC = 0.5
#: Time constant of the pedal filter of the shift logic [s]: a transmission controller reacts to
#: sustained pedal, not to every twitch of the driver's foot.
SHIFT_PEDAL_TAU_S = 1.0
#: Share of the maximum engine speed at which an automatic upshifts whatever the pedal (a
#: transmission controller never holds a gear against the rev limiter).
REV_LIMIT_UPSHIFT_FRAC = 0.97
#: Shortest time between two shifts of an automatic [s] (hunting guard).
SHIFT_HOLD_S = 1.5
#: Engine speed at which a manual clutch is fully engaged at launch [rpm above idle].
CLUTCH_LAUNCH_RPM_ABOVE_IDLE = 500.0
#: Below this speed, with the trace at a standstill, the driver holds the brake fully (a
#: proportional speed controller alone would balance the converter's creep at a crawl) [m/s].
STOP_HOLD_SPEED_MPS = 0.5
#: Speed tolerance of the EPA driver trace [m/s] (±2 mph, 40 CFR 86.115-78).
TRACE_TOLERANCE_MPS = 2.0 * 0.44704


@jit(inline="always")
def _cycle_sample(t, speeds, grades, n):
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
def _envelope(t, speeds, n):
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
def _profile_target(s, rng, i, profile, v, dt_s):
    """Advance the profile driver's plan; return (target speed, wanted acceleration) [m/s, m/s²]."""
    row = PROFILE_TABLE[profile]
    accel, decel = row[0], row[1]
    phase = int(s[S_PPHASE])
    s[S_PTIMER] -= dt_s
    if phase == 0:  # standing
        if s[S_PTIMER] <= 0.0:
            rng[i], u = xorshift_next(rng[i])
            s[S_PCRUISE] = row[2] + u * (row[3] - row[2])
            rng[i], u = xorshift_next(rng[i])
            s[S_PTIMER] = row[4] + u * (row[5] - row[4])
            s[S_PPHASE] = 1.0
        return 0.0, -decel
    if phase == 1:  # accelerate to and hold the cruise speed
        if s[S_PTIMER] <= 0.0 and abs(v - s[S_PCRUISE]) < 0.5:
            rng[i], u = xorshift_next(rng[i])
            if u < 0.5:
                s[S_PPHASE] = 2.0
            else:  # change cruise speed instead of stopping
                rng[i], u = xorshift_next(rng[i])
                s[S_PCRUISE] = row[2] + u * (row[3] - row[2])
                rng[i], u = xorshift_next(rng[i])
                s[S_PTIMER] = row[4] + u * (row[5] - row[4])
        target = s[S_PCRUISE]
        return target, min(max(1.5 * (target - v), -decel), accel)
    # phase 2: brake to a stop
    if v <= 0.05:
        rng[i], u = xorshift_next(rng[i])
        s[S_PTIMER] = row[6] + u * (row[7] - row[6])
        s[S_PPHASE] = 0.0
        return 0.0, 0.0
    return 0.0, -decel


@jit(inline="always")
def step_vehicle(
    s,
    inp,
    p,
    ratios,
    curve_rpm,
    curve_nm,
    n_curve,
    cyc_speed,
    cyc_grade,
    cyc_len,
    rng,
    i,
    dt_s,
    k_factor,
    t_peak,
    pmep_idle,
    rpm_wheel_known,
):
    """Advance vehicle ``i`` by ``dt_s`` seconds, in place on its state row ``s``.

    Args:
        s: state row (``layout.STATE_COLUMNS``); also holds this step's outputs.
        inp: driver/environment input row (``layout.INPUT_COLUMNS``).
        p: parameter row (``layout.PARAM_COLUMNS``).
        ratios: gear ratios of this vehicle, first to top (CVT: lowest, highest).
        curve_rpm, curve_nm, n_curve: full-load torque curve.
        cyc_speed, cyc_grade, cyc_len: all cycles (rows) and their lengths; ``inp`` selects one.
        rng: per-vehicle xorshift states; ``i`` the vehicle's index into it.
        dt_s: step [s].
        k_factor, t_peak, pmep_idle: constants of the vehicle (see ``vehicle_constants``).
        rpm_wheel_known: the driveline's engine speed at this step's start [rpm] when the
            previous step computed it (same speed, same gear), else negative.

    Returns:
        This driveline speed for the next step when the gear logic computed it, else -1.
    """
    mode = int(inp[I_MODE])
    gbtype = int(p[P_GBTYPE])
    n_gears = int(p[P_NGEARS])
    mass = p[P_MASS]
    radius = p[P_RW]
    v = s[S_V]
    amb = inp[I_TAMB]

    # --- environment and driver target -------------------------------------------------------
    grade = 0.0
    a_want = 0.0
    v_trace = 0.0
    if mode == DRIVER_CYCLE:
        c = int(inp[I_CYC])
        n = cyc_len[c]
        t_next = s[S_DRV_T] + dt_s
        v_trace, a_trace, grade = _cycle_sample(t_next, cyc_speed[c], cyc_grade[c], n)
        a_want = follow_accel_mps2(v, v_trace, a_trace)
        s[S_VTGT] = v_trace
    elif mode == DRIVER_PROFILE:
        v_trace, a_want = _profile_target(s, rng, i, int(inp[I_PROF]), v, dt_s)
        s[S_VTGT] = v_trace
    else:
        s[S_VTGT] = v
    if not math.isnan(inp[I_GRADE]):
        grade = inp[I_GRADE]
    s[S_GRADE] = grade

    # --- engine lifecycle --------------------------------------------------------------------
    want_engine = inp[I_ENGREQ] > 0.5 and s[S_NOFUEL] < 0.5
    state = int(s[S_ENG])
    if state == ENGINE_OFF and want_engine:
        state = ENGINE_CRANKING
        s[S_CRANK] = p[P_CRANK]
    elif state != ENGINE_OFF and not want_engine:
        state = ENGINE_OFF
    if state == ENGINE_CRANKING:
        s[S_CRANK] -= dt_s
        if s[S_CRANK] <= 0.0:
            state = ENGINE_RUNNING
    running = state == ENGINE_RUNNING
    # Stop-start (mild hybrids): a warm engine stops while the car stands and the driver holds
    # it there, and the belt starter-generator restarts it at once when the driver moves off.
    # The engine stays "on" for the driver; it turns, burns and drags nothing meanwhile.
    if running and p[P_IDLESTOP] > 0.5 and v <= 0.0 and s[S_TCOOL] >= p[P_TWARM]:
        if mode == DRIVER_COMMANDS:
            holding = inp[I_BRK] > 0.0 and inp[I_THR] <= 0.0
        else:
            holding = v_trace <= 0.0 and a_want <= 0.0
        if holding:
            running = False

    # --- driveline kinematics ----------------------------------------------------------------
    gear = int(s[S_GEAR])
    if gear < 1:
        gear = 1
    if gbtype == GEARBOX_CVT:
        ratio = s[S_RATIO] if s[S_RATIO] > 0.0 else ratios[0]
    else:
        ratio = ratios[gear - 1]
    overall = ratio * p[P_FD]
    if rpm_wheel_known >= 0.0:
        rpm_wheel = rpm_wheel_known
    else:
        rpm_wheel = wheel_to_engine_rpm(v, overall, radius)
    idle = p[P_NIDLE]
    throttle_prev = s[S_THR]
    # Coupling: converter/clutch slips below the launch speed or, for automatics, below lockup.
    if gbtype == GEARBOX_AUTOMATIC and p[P_TR0] > 1.0:
        slipping = gear < p[P_LOCKG] or rpm_wheel < idle * 1.1
    elif gbtype == GEARBOX_CVT:
        slipping = v < CVT_LOCKUP_SPEED_MPS or rpm_wheel < idle * 1.1
    else:  # manual or dual-clutch: the clutch slips only at launch
        slipping = rpm_wheel < idle + CLUTCH_LAUNCH_RPM_ABOVE_IDLE * 0.5 and gear <= 2

    # --- engine torque capability at the current operating point -----------------------------
    if running:
        if slipping:
            if p[P_TR0] > 1.0 or gbtype == GEARBOX_CVT:
                rpm = max(
                    rpm_wheel / CONVERTER_COUPLING_SLIP,
                    launch_speed_rpm(throttle_prev, idle, p[P_STALL]),
                )
            else:
                rpm = max(rpm_wheel, idle + CLUTCH_LAUNCH_RPM_ABOVE_IDLE * math.sqrt(throttle_prev))
        else:
            rpm = max(rpm_wheel, idle)
        rpm = min(rpm, p[P_NMAX])
    elif state == ENGINE_CRANKING:
        rpm = CRANKING_SPEED_RPM
    else:
        rpm = 0.0
    if slipping and (p[P_TR0] > 1.0 or gbtype == GEARBOX_CVT) and rpm > 0.0:
        torque_ratio = converter_torque_ratio(rpm_wheel / rpm, p[P_TR0] if p[P_TR0] > 1.0 else 2.0)
    else:
        torque_ratio = 1.0
    wear_e = s[S_WENG]
    t_max = interp(rpm, curve_rpm, curve_nm, n_curve) * (1.0 - 0.1 * wear_e) if running else 0.0
    fmep = friction_mep_pa(max(rpm, 1.0), s[S_TOIL], p[P_FRIC], wear_e)
    omega = rpm * math.pi / 30.0
    t_acc = p[P_ACC] / omega if omega > 1.0 else 0.0
    can_cut_fuel = running and (not slipping) and rpm_wheel >= p[P_DFCO] and v > 0.5
    t_motor = motoring_torque_nm(rpm, fmep, pmep_idle, p[P_DISP]) if can_cut_fuel else 0.0
    # A slipping converter loads the idling engine with the pump's torque (rpm / K)², K from the
    # stall point (Kotwicki, SAE 820393): the drag of idling in Drive.
    t_creep = 0.0
    if running and slipping and p[P_TR0] > 1.0 and rpm > 0.0:
        t_creep = (rpm / k_factor) ** 2 * max(1.0 - rpm_wheel / rpm, 0.0) * CREEP_FRACTION
    shift_frac = SHIFT_TORQUE_FRAC if s[S_SHIFT] > 0.0 else 1.0
    eta = p[P_ETA]
    k_wheel = overall / radius  # wheel force per unit driveline input torque [1/m]
    coupled = running and rpm_wheel > 0.0
    # Gearbox spin losses (pump and drag), growing with input speed, while the car rolls.
    t_spin = p[P_SPIN] * (1.0 + rpm_wheel / 3000.0) if v > 0.0 else 0.0
    # Pedal-to-force map: throttle scales the torque above the accessories' share; the spin
    # loss is an offset the driver has to overcome.
    drive_force_gross = (
        max(t_max - t_acc, 0.0) * torque_ratio * shift_frac * k_wheel * eta if running else 0.0
    )
    f_spin = t_spin * k_wheel * eta
    overrun_force = (
        (t_motor - t_acc - t_spin) * k_wheel / eta if can_cut_fuel else -t_spin * k_wheel / eta
    )
    pad_factor = 1.0 if s[S_WPAD] < 0.9 else max(1.0 - (s[S_WPAD] - 0.9) * 5.0, 0.3)
    brake_force_max = BRAKE_MAX_G * mass * GRAVITY_MPS2 * pad_factor
    rot_mass = mass * p[P_ROT] + (
        p[P_JENG] * k_wheel * k_wheel if coupled and not slipping else 0.0
    )
    mass_eff = mass + rot_mass

    # --- pedals --------------------------------------------------------------------------------
    air_speed = v + inp[I_WIND]
    f_road = coastdown_force_n(v, air_speed, p[P_A], p[P_B], p[P_C], inp[I_RHO])
    f_grade = grade_force_n(mass, grade)
    if mode == DRIVER_CYCLE or mode == DRIVER_PROFILE:
        f_need = mass_eff * a_want + f_road + f_grade
        if v < STOP_HOLD_SPEED_MPS and v_trace <= 0.0:  # stopping or stopped: hold the brake
            throttle, brake = 0.0, 1.0
            if a_want > 0.0:
                throttle, brake = pedals_for_force(
                    f_need + f_spin, drive_force_gross, overrun_force + f_spin, brake_force_max
                )
        else:
            throttle, brake = pedals_for_force(
                f_need + f_spin, drive_force_gross, overrun_force + f_spin, brake_force_max
            )
    else:
        throttle = inp[I_THR]
        brake = inp[I_BRK]
    if not running:
        throttle = min(throttle, 1.0)

    # --- engine output, fuel -------------------------------------------------------------------
    # Overrun fuel cut-off engages after a delay (drivability: no jerk at tip-out) and while the
    # locked driveline keeps the engine above the re-entry speed (Guzzella and Onder,
    # Introduction to Modeling and Control of IC Engine Systems, 2010, §2.3).
    if can_cut_fuel and throttle <= 0.0:
        s[S_OVRT] += dt_s
    else:
        s[S_OVRT] = 0.0
    fuel_cut = can_cut_fuel and throttle <= 0.0 and s[S_OVRT] >= p[P_DFCODELAY]
    if running:
        if fuel_cut:
            t_brake = t_motor  # overrun: unfuelled engine drags
        elif throttle <= 0.0:
            t_brake = t_acc + t_creep  # idle control holds speed, carries accessories and converter
        else:
            t_brake = t_acc + throttle * max(t_max - t_acc, 0.0)
        t_out = t_brake - t_acc
    else:
        t_brake = 0.0
        t_out = 0.0
    t_out_wheel = t_out * shift_frac * (torque_ratio if t_out > 0.0 else 1.0) - t_spin
    if t_out_wheel >= 0.0:
        f_drive = t_out_wheel * k_wheel * eta
    else:
        f_drive = t_out_wheel * k_wheel / eta
    f_grip = grip_limit_force_n(mass, p[P_AXLE], p[P_MU], grade)
    f_drive = min(max(f_drive, -f_grip), f_grip)

    # --- longitudinal dynamics -----------------------------------------------------------------
    f_brake_req = brake * brake_force_max
    f_total_grip = grip_limit_force_n(mass, 1.0, p[P_MU], grade)
    f_brake = min(f_brake_req, f_total_grip)
    f_net = f_drive - f_road - f_grade
    if v <= 0.0:
        # Standing: brakes (and static friction) hold the car unless the drive force wins.
        if f_net <= f_brake:
            f_applied = 0.0
        else:
            f_applied = f_net - f_brake
        accel = f_applied / mass_eff
        brake_power = 0.0
    else:
        accel = (f_net - f_brake) / mass_eff
        brake_power = f_brake * v
    v_new = v + accel * dt_s
    if v_new < 0.0:
        v_new = 0.0
        accel = -v / dt_s
    ds = 0.5 * (v + v_new) * dt_s
    if f_drive > 0.0:
        s[S_WHEELW] += f_drive * ds

    # --- fuel ----------------------------------------------------------------------------------
    cold = cold_enrichment_factor(s[S_TCOOL], p[P_TWARM], 20.0, p[P_COLDF])
    if running and not fuel_cut:
        load = t_brake / t_max if t_max > 1.0 else 0.0
        bmep = torque_to_mep_pa(max(t_brake, 0.0), p[P_DISP])
        # Cylinder deactivation: a warm engine at light load, in its speed band, with the
        # driveline locked, fires only part of its cylinders (valves of the others kept shut)
        # once these conditions have held for a while (the controller waits for steady driving).
        if (
            p[P_CDAFRAC] < 1.0
            and not slipping
            and s[S_TCOOL] >= p[P_TWARM]
            and bmep <= p[P_CDABMEP]
            and p[P_CDAMIN] <= rpm <= p[P_CDAMAX]
        ):
            s[S_CDAT] += dt_s
        else:
            s[S_CDAT] = 0.0
        if s[S_CDAT] > p[P_CDADELAY]:
            pmep = deactivated_pumping_mep_pa(bmep, fmep, p[P_CDAFRAC], p[P_PMEP], p[P_BMEPATM])
        else:
            pmep = pumping_mep_pa(bmep, p[P_PMEP], p[P_BMEPATM])
        fuel_w = fuel_power_w(max(t_brake, 0.0), rpm, fmep, pmep, p[P_DISP], p[P_ETAI]) * cold
    elif state == ENGINE_CRANKING:
        fuel_w = p[P_STARTF] * 1e-3 * GASOLINE_LHV_JPKG / p[P_CRANK] * cold
        load = 0.0
        s[S_CDAT] = 0.0
    else:
        fuel_w = 0.0
        load = 0.0
        s[S_CDAT] = 0.0
    fuel_gps = fuel_w / GASOLINE_LHV_JPKG * 1e3
    tank_g = inp[I_TANK0] * 0.743e3
    if s[S_FUSED] + fuel_gps * dt_s >= tank_g:
        fuel_gps = max(tank_g - s[S_FUSED], 0.0) / dt_s
        s[S_NOFUEL] = 1.0
    s[S_FUSED] += fuel_gps * dt_s
    s[S_FENERGY] += fuel_gps * 1e-3 * GASOLINE_LHV_JPKG * dt_s

    # --- thermals ------------------------------------------------------------------------------
    friction_w = mep_to_torque_nm(fmep, p[P_DISP]) * omega if running else 0.0
    heat_cool = p[P_QCOOL] * fuel_w
    heat_oil = FRICTION_HEAT_TO_OIL_FRAC * friction_w
    s[S_FAN] = fan_on_next(s[S_FAN], s[S_TCOOL], p[P_FANON], p[P_FANOFF]) if running else 0.0
    effectiveness = max(1.0 - p[P_FOUL] * s[S_X], 0.5)
    ua_rad = radiator_conductance_wpk(
        p[P_UARV], v, p[P_UAFAN], s[S_FAN], p[P_UARMIN], effectiveness
    )
    thermo = thermostat_opening_frac(s[S_TCOOL], p[P_THOPEN], p[P_THFULL]) if running else 0.0
    d_cool, d_oil = temperature_rates_cps(
        s[S_TCOOL],
        s[S_TOIL],
        amb,
        heat_cool,
        heat_oil,
        p[P_CCOOL],
        p[P_COIL],
        p[P_UAOC] if running else 0.2 * p[P_UAOC],
        ua_rad,
        thermo,
        p[P_UABAY],
    )
    s[S_TCOOL] += d_cool * dt_s
    s[S_TOIL] += d_oil * dt_s

    # --- wear ----------------------------------------------------------------------------------
    s[S_WPAD] = min(s[S_WPAD] + brake_pad_wear_rate_per_s(brake_power, p[P_PADLIFE]) * dt_s, 1.0)
    force_coef = max(abs(f_drive), f_brake if v > 0.0 else 0.0) / (mass * GRAVITY_MPS2)
    s[S_WTYRE] = min(
        s[S_WTYRE]
        + tyre_wear_rate_per_s(0.5 * (v + v_new), force_coef, p[P_TYRELIFE], p[P_TYRESLIP]) * dt_s,
        1.0,
    )
    if running:
        s[S_WENG] = min(
            s[S_WENG]
            + engine_wear_rate_per_s(rpm, load, s[S_TOIL], s[S_OIL], p[P_ENGLIFE], p[P_ENGCOLD])
            * dt_s,
            1.0,
        )
        s[S_WGBX] = min(
            s[S_WGBX] + gearbox_wear_rate_per_s(rpm_wheel, t_out / t_peak, p[P_GBXLIFE]) * dt_s, 1.0
        )
        s[S_OIL] = max(s[S_OIL] - oil_life_rate_per_s(rpm, s[S_TOIL], p[P_OILLIFE]) * dt_s, 0.0)

    # --- gear choice for the next step ---------------------------------------------------------
    if s[S_SHIFT] > 0.0:
        s[S_SHIFT] -= dt_s
    if s[S_HOLD] > 0.0:
        s[S_HOLD] -= dt_s
    eco = inp[I_ECO]
    s[S_THRF] += (throttle - s[S_THRF]) * min(dt_s / SHIFT_PEDAL_TAU_S, 1.0)
    pedal = s[S_THRF]
    rpm_wheel_next = -1.0
    if gbtype == GEARBOX_CVT:
        p_frac = (f_drive * v_new) / p[P_PRATED] if f_drive > 0.0 else 0.0
        target_rpm = cvt_target_speed_rpm(p_frac + 0.35 * throttle * throttle, idle, p[P_NRATED])
        wheel_rpm_unit = wheel_to_engine_rpm(max(v_new, 0.1), p[P_FD], radius)
        s[S_RATIO] = min(max(target_rpm / wheel_rpm_unit, ratios[1]), ratios[0])
        s[S_GEAR] = 1.0
    elif inp[I_GMODE] > 0.5:
        s[S_GEAR] = float(min(max(int(inp[I_GCMD]), 1), n_gears))
        s[S_RATIO] = ratios[int(s[S_GEAR]) - 1]
    else:
        if v_new < 0.1:
            gear = 1
        elif s[S_HOLD] <= 0.0:
            rpm_now = wheel_to_engine_rpm(v_new, ratios[gear - 1] * p[P_FD], radius)
            rpm_wheel_next = rpm_now  # unless the gear changes below
            up = upshift_speed_rpm(pedal, idle, p[P_NRATED], eco)
            down = downshift_speed_rpm(pedal, idle, p[P_NRATED], eco)
            if gear < n_gears and rpm_now > up:
                rpm_up = wheel_to_engine_rpm(v_new, ratios[gear] * p[P_FD], radius)
                need = throttle * t_max * ratios[gear - 1] / ratios[gear]
                at_limit = rpm_now >= REV_LIMIT_UPSHIFT_FRAC * p[P_NMAX]
                if at_limit or (
                    rpm_up > down + 150.0
                    and interp(rpm_up, curve_rpm, curve_nm, n_curve) > 1.05 * need
                ):
                    gear += 1
                    rpm_wheel_next = -1.0
                    s[S_SHIFT] = p[P_TSHIFT]
                    s[S_HOLD] = SHIFT_HOLD_S
            if gear > 1 and s[S_HOLD] <= 0.0:
                rpm_dn = wheel_to_engine_rpm(v_new, ratios[gear - 2] * p[P_FD], radius)
                kick = throttle >= 0.98 and rpm_dn < 0.9 * p[P_NRATED]
                if (rpm_now < down or kick) and rpm_dn < 0.95 * p[P_NMAX]:
                    gear -= 1
                    rpm_wheel_next = -1.0
                    s[S_SHIFT] = p[P_TSHIFT]
                    s[S_HOLD] = SHIFT_HOLD_S
        s[S_GEAR] = float(gear)
        s[S_RATIO] = ratios[gear - 1]

    # --- outputs and clocks --------------------------------------------------------------------
    if mode == DRIVER_CYCLE:
        c = int(inp[I_CYC])
        lo, hi = _envelope(s[S_DRV_T] + dt_s, cyc_speed[c], cyc_len[c])
        if v_new < lo - TRACE_TOLERANCE_MPS or v_new > hi + TRACE_TOLERANCE_MPS:
            s[S_OUTTOL] += dt_s
        s[S_MAXERR] = max(s[S_MAXERR], abs(v_new - v_trace))
    s[S_ENG] = float(state)
    s[S_RPM] = rpm
    s[S_TQ] = t_brake if running else 0.0
    s[S_THR] = throttle
    s[S_BRK] = brake
    s[S_FRATE] = fuel_gps
    s[S_DFCO] = 1.0 if fuel_cut else 0.0
    s[S_BRAKEE] += brake_power * dt_s
    s[S_V] = v_new
    s[S_A] = accel
    s[S_X] += ds
    s[S_TIME] += dt_s
    s[S_DRV_T] += dt_s
    return rpm_wheel_next


@jit(inline="always")
def vehicle_constants(p, curve_rpm, curve_nm, n_curve):
    """Quantities of a vehicle the step uses that depend on its parameters only.

    Returns the torque converter's K-factor [rpm/sqrt(N m)] from its stall point (Kotwicki,
    SAE 820393), the engine's torque at rated power [N m] and its pumping MEP at zero load [Pa].
    """
    k_factor = p[P_STALL] / math.sqrt(max(interp(p[P_STALL], curve_rpm, curve_nm, n_curve), 1.0))
    t_peak = p[P_PRATED] / (p[P_NRATED] * math.pi / 30.0)
    pmep_idle = pumping_mep_pa(0.0, p[P_PMEP], p[P_BMEPATM])
    return k_factor, t_peak, pmep_idle


@jit(_nrt=False)
def run_vehicle(
    s,
    inp,
    p,
    ratios,
    curve_rpm,
    curve_nm,
    n_curve,
    cyc_speed,
    cyc_grade,
    cyc_len,
    rng,
    i,
    dt_s,
    n_steps,
    record_every,
    records,
):
    """Advance vehicle ``i`` (state row ``s``) ``n_steps`` steps of ``dt_s``, recording into
    ``records[:, i]`` every ``record_every`` steps.

    Compiled without reference counting: the step only reads and writes rows of arrays the
    caller owns, and counting references to them on every step (atomic operations) would cost
    more than the physics.
    """
    n_records = records.shape[0]
    k_factor, t_peak, pmep_idle = vehicle_constants(p, curve_rpm, curve_nm, n_curve)
    r = 0  # next record
    until_record = record_every
    rpm_wheel = -1.0  # not known before the first step
    for _ in range(n_steps):
        rpm_wheel = step_vehicle(
            s,
            inp,
            p,
            ratios,
            curve_rpm,
            curve_nm,
            n_curve,
            cyc_speed,
            cyc_grade,
            cyc_len,
            rng,
            i,
            dt_s,
            k_factor,
            t_peak,
            pmep_idle,
            rpm_wheel,
        )
        until_record -= 1
        if until_record == 0:  # never when record_every is 0
            until_record = record_every
            if r < n_records:
                for j in range(s.shape[0]):
                    records[r, i, j] = s[j]
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
    """The loop: advance every vehicle ``n_steps`` steps of ``dt_s``.

    Every ``record_every`` steps the state row is copied into ``records[k, i]`` (pass an
    array with zero rows for summary-only runs).
    """
    for i in prange(state.shape[0]):
        run_vehicle(
            state[i],
            inputs[i],
            params[i],
            ratios[i],
            curve_rpm[i],
            curve_nm[i],
            n_curve[i],
            cyc_speed,
            cyc_grade,
            cyc_len,
            rng,
            i,
            dt_s,
            n_steps,
            record_every,
            records,
        )


def empty_records(n_records: int, n_vehicles: int) -> np.ndarray:
    return np.zeros((n_records, n_vehicles, N_STATE))
