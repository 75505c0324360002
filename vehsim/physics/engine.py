"""Spark-ignition engine: full-load torque, friction, pumping, fuel flow (Willans line).

Fuel flow follows the Willans-line form in mean effective pressures: the fuel's indicated work
covers brake work, friction and pumping, ``fuel_mep = (bmep + fmep + pmep) / eta_indicated``
(Heywood, *Internal Combustion Engine Fundamentals*, 1988, §13.1 and §15.4; Rizzoni et al.,
"Unified modeling of hybrid electric vehicle drivetrains", IEEE/ASME Trans. Mechatronics 4(3),
1999, for the Willans representation of engine efficiency).

References for the coefficients:
    Friction MEP, SI engines: Heywood (1988) eq. 13.22, ``fmep[bar] = 0.97 + 0.15 N + 0.05 N²``
    with N in 1000 rpm, for 0.85-2.0 L engines of the 1980s; modern engines carry a scale factor
    (``friction_scale``), a parameter of the vehicle file.
    Pumping MEP from manifold vacuum: Heywood (1988) §13.4, pmep ≈ p_exhaust − p_intake; intake
    pressure rises roughly linearly with load in throttled SI engines.
    Cylinder deactivation: Leone and Pozar, "Fuel economy benefit of cylinder deactivation -
    sensitivity to vehicle application and operating constraints", SAE 2001-01-3591; Falkowski,
    McElwee and Bonne, "Design and development of the DaimlerChrysler 5.7L HEMI engine
    multi-displacement cylinder deactivation system", SAE 2004-01-2106: at light load the valves
    of part of the cylinders stay shut and the others fire at higher load, with less throttling.
    Oil viscosity-temperature dependence of friction: Shayler, Christian and Ma, "A model for the
    investigation of temperature, heat flow and friction characteristics during engine warm-up",
    SAE 931153 (1993): friction scales with viscosity to a power of about 0.24.
    Oil viscosity: Vogel equation ``mu = a exp(b / (T + c))`` with b = 700 K, c = 95 K
    (5W-30: viscosity about 10x higher at 20 °C than at 90 °C).
"""

import math
from collections import namedtuple

from vehsim.constants import GASOLINE_DENSITY_GPL, GASOLINE_LHV_JPKG
from vehsim.layout import ENGINE_CRANKING, ENGINE_OFF, ENGINE_RUNNING
from vehsim.physics._jit import jit
from vehsim.physics.driver import holds_at_standstill
from vehsim.physics.faults import (
    AIR_FILTER_TORQUE_LOSS_FRAC,
    FUEL_TRIM_LIMIT_FRAC,
    MISFIRE_EVENT_FRAC,
    fault_level,
    vacuum_leak_trim_frac,
)

#: Engine crank revolutions per cycle of a four-stroke engine [-].
REVS_PER_CYCLE = 2.0
#: Vogel constants of a 5W-30 oil [K] (about 10x viscosity from 90 °C down to 20 °C).
VOGEL_B_K = 700.0
VOGEL_C_K = 95.0
#: Exponent of friction on viscosity ratio (Shayler et al., SAE 931153).
FRICTION_VISCOSITY_EXPONENT = 0.24
#: Oil temperature at which the friction correlation holds [°C].
FRICTION_REFERENCE_OIL_C = 90.0
_VISCOSITY_REF = math.exp(VOGEL_B_K / (FRICTION_REFERENCE_OIL_C + VOGEL_C_K))
#: Lowest oil temperature the viscosity correlation is used at [°C] (colder is held there).
VISCOSITY_MIN_OIL_C = -40.0
#: Warm friction MEP, Heywood (1988) eq. 13.22: ``a + b N + c N²`` [bar], N in 1000 rpm.
FRICTION_MEP_A_BAR = 0.97
FRICTION_MEP_B_BAR_PER_KRPM = 0.15
FRICTION_MEP_C_BAR_PER_KRPM2 = 0.05
#: Extra friction of a worn-out engine (wear 1) over a new one [-] (ring and bearing clearances;
#: modelling assumption of the wear model, not calibrated).
WORN_FRICTION_GAIN = 0.15
#: Full-load torque a worn-out engine (wear 1) has lost [-] (compression loss past worn rings;
#: modelling assumption of the wear model, not calibrated).
WORN_TORQUE_LOSS_FRAC = 0.1
#: Engine speed while the starter turns it [rpm] (typical cranking speed, Bosch Automotive
#: Handbook, 10th ed., 2018, "Starting systems").
CRANKING_SPEED_RPM = 250.0
#: Vehicle speed below which fuel is never cut on overrun [m/s] (the engine must keep idling as
#: the car creeps to a stop; Guzzella and Onder 2010, §2.3).
FUEL_CUTOFF_MIN_SPEED_MPS = 0.5
#: Coolant temperature at which cold enrichment is full [°C]: the 20 °C of the FTP cold start
#: (40 CFR 86.130), the condition ``cold_enrichment_gain`` is calibrated at.
COLD_ENRICHMENT_FULL_C = 20.0

#: The engine's mode this step: ``engine_state`` (off, cranking, running) and whether it runs
#: (turns, burns, drags) — false while stop-start holds a running engine still.
EngineMode = namedtuple("EngineMode", ("engine_state", "running"))
#: What the engine can do at this step's speed: full-load torque [N m] (0 when not running),
#: friction MEP [Pa], accessory torque [N m], crank speed [rad/s], whether overrun fuel cut-off
#: may engage and the drag torque of the unfuelled engine [N m] (0 unless it may).
EngineCapability = namedtuple(
    "EngineCapability",
    (
        "max_torque_nm",
        "friction_mep_pa",
        "accessory_torque_nm",
        "speed_radps",
        "can_cut_fuel",
        "motoring_torque_nm",
    ),
)
#: The engine's output this step: brake torque [N m], torque it sends to the driveline after
#: the accessories [N m], and whether overrun fuel cut-off is on.
EngineOutput = namedtuple("EngineOutput", ("brake_torque_nm", "out_torque_nm", "fuel_cut"))


@jit(inline="always")
def interp(x, xs, ys, n):
    """Linear interpolation of ``ys`` over ascending ``xs[:n]``, clamped at both ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[n - 1]:
        return ys[n - 1]
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    w = (x - xs[lo]) / (xs[hi] - xs[lo])
    return ys[lo] + w * (ys[hi] - ys[lo])


@jit
def mep_to_torque_nm(mep_pa, displacement_l):
    """Torque [N m] of a four-stroke engine from a mean effective pressure [Pa] (Heywood eq. 2.19)."""
    return mep_pa * displacement_l * 1e-3 / (2.0 * math.pi * REVS_PER_CYCLE)


@jit
def torque_to_mep_pa(torque_nm, displacement_l):
    """Mean effective pressure [Pa] of a four-stroke engine delivering ``torque_nm``."""
    return torque_nm * 2.0 * math.pi * REVS_PER_CYCLE / (displacement_l * 1e-3)


@jit
def mep_work_j(mep_pa, displacement_l, engine_speed_rpm, dt_s):
    """Work [J] of a mean effective pressure [Pa] over ``dt_s`` at ``engine_speed_rpm``.

    One four-stroke cycle every two revolutions does ``mep × displacement`` (Heywood eq. 2.19).
    """
    return mep_pa * displacement_l * 1e-3 * engine_speed_rpm / 60.0 / REVS_PER_CYCLE * dt_s


@jit
def oil_viscosity_ratio(oil_temp_c):
    """Oil viscosity relative to its value at 90 °C (Vogel equation) [-]."""
    return math.exp(VOGEL_B_K / (max(oil_temp_c, VISCOSITY_MIN_OIL_C) + VOGEL_C_K)) / _VISCOSITY_REF


@jit
def friction_mep_pa(engine_speed_rpm, oil_temp_c, friction_scale, wear_frac):
    """Friction mean effective pressure [Pa], warm correlation × cold-oil factor × wear factor.

    Heywood (1988) eq. 13.22 scaled by ``friction_scale``; cold oil raises it by the viscosity
    ratio to the power 0.24 (Shayler et al., SAE 931153); a worn engine (``wear_frac`` 0..1) has
    up to 15% more friction (ring and bearing clearances).
    """
    n_krpm = engine_speed_rpm / 1000.0
    warm_bar = (
        FRICTION_MEP_A_BAR
        + FRICTION_MEP_B_BAR_PER_KRPM * n_krpm
        + FRICTION_MEP_C_BAR_PER_KRPM2 * n_krpm * n_krpm
    )
    # viscosity_ratio ** exponent, as one exponential of the Vogel equation
    cold = math.exp(
        FRICTION_VISCOSITY_EXPONENT
        * VOGEL_B_K
        * (
            1.0 / (max(oil_temp_c, VISCOSITY_MIN_OIL_C) + VOGEL_C_K)
            - 1.0 / (FRICTION_REFERENCE_OIL_C + VOGEL_C_K)
        )
    )
    return warm_bar * 1e5 * friction_scale * cold * (1.0 + WORN_FRICTION_GAIN * wear_frac)


@jit
def pumping_mep_pa(brake_mep_pa, pumping_mep_idle_pa, atmospheric_bmep_pa):
    """Pumping MEP [Pa] of a throttled SI engine: largest at zero load, zero once unthrottled.

    Intake manifold pressure rises about linearly with load until it reaches atmospheric
    pressure, near the brake MEP a naturally aspirated engine makes at wide-open throttle
    (``atmospheric_bmep_pa``, ~10 bar); above it a turbocharged engine runs boosted and the
    throttling loss is gone (Heywood 1988, §13.4).
    """
    load = min(max(brake_mep_pa / atmospheric_bmep_pa, 0.0), 1.0)
    return pumping_mep_idle_pa * (1.0 - load)


@jit
def deactivated_pumping_mep_pa(
    brake_mep_pa, friction_mep, active_frac, pumping_mep_idle_pa, atmospheric_bmep_pa
):
    """Pumping MEP [Pa, over the whole displacement] with only ``active_frac`` of the cylinders firing.

    The firing cylinders make the whole engine's brake work and overcome the friction of the idle
    ones too, so they run at brake MEP ``(bmep + (1 - active_frac) fmep) / active_frac``: higher
    manifold pressure, less throttling. The idle cylinders keep their valves shut and pump
    nothing (the trapped charge is a gas spring); friction stays that of the whole engine
    (Leone and Pozar, SAE 2001-01-3591; Heywood 1988, §13.4).
    """
    active_bmep = (max(brake_mep_pa, 0.0) + (1.0 - active_frac) * friction_mep) / active_frac
    return active_frac * pumping_mep_pa(active_bmep, pumping_mep_idle_pa, atmospheric_bmep_pa)


@jit
def fuel_power_w(
    brake_torque_nm, engine_speed_rpm, friction_mep, pumping_mep, displacement_l, eta_indicated
):
    """Fuel chemical power [W] from the Willans line in mean effective pressures.

    ``fuel_mep = (bmep + fmep + pmep) / eta_indicated``; negative sums mean overrun without fuel
    cut-off still needs the idle minimum, which the caller applies.
    """
    bmep = torque_to_mep_pa(brake_torque_nm, displacement_l)
    indicated_mep = max(bmep + friction_mep + pumping_mep, 0.0)
    cycles_per_s = engine_speed_rpm / 60.0 / REVS_PER_CYCLE
    return indicated_mep * displacement_l * 1e-3 * cycles_per_s / eta_indicated


@jit
def motoring_torque_nm(engine_speed_rpm, friction_mep, pumping_mep, displacement_l):
    """Drag torque of the unfuelled engine [N m] (negative brake torque on overrun)."""
    return -mep_to_torque_nm(friction_mep + pumping_mep, displacement_l)


@jit
def cold_enrichment_factor(coolant_temp_c, warm_coolant_temp_c, ambient_ref_c, gain):
    """Fuel multiplier for cold-start enrichment and catalyst heating [-].

    Linear fade from ``1 + gain`` at or below ``ambient_ref_c`` to 1 at ``warm_coolant_temp_c``;
    EPA's FTP bag 1 vs bag 3 difference (median 15%) is the calibration target
    (EPA 2022 Test Car List, see docs/validation.md).
    """
    if coolant_temp_c >= warm_coolant_temp_c:  # warm: the factor is exactly 1
        return 1.0
    span = max(warm_coolant_temp_c - ambient_ref_c, 1.0)
    cold = min(max((warm_coolant_temp_c - coolant_temp_c) / span, 0.0), 1.0)
    return 1.0 + gain * cold


@jit(inline="always")
def mode_stage(state, inputs, params, target, dt_s):
    """Engine stage 1: start, crank, run or stop; stop-start while the car stands.

    The engine cranks for ``crank_duration_s`` when asked to run (and has fuel), then runs.
    Stop-start (mild hybrids): a warm engine stops while the car stands and the driver holds it
    there, and the belt starter-generator restarts it at once when the driver moves off; the
    engine stays "on" for the driver and turns, burns and drags nothing meanwhile.
    """
    want_engine = inputs.engine_request > 0.5 and state.out_of_fuel < 0.5
    mode = int(state.engine_state)
    if mode == ENGINE_OFF and want_engine:
        mode = ENGINE_CRANKING
        state.crank_timer_s = params.crank_duration_s
    elif mode != ENGINE_OFF and not want_engine:
        mode = ENGINE_OFF
    if mode == ENGINE_CRANKING:
        state.crank_timer_s -= dt_s
        if state.crank_timer_s <= 0.0:
            mode = ENGINE_RUNNING
    state.engine_state = float(mode)
    running = mode == ENGINE_RUNNING
    if (
        running
        and params.idle_stop > 0.5
        and state.speed_mps <= 0.0
        and state.coolant_temp_c >= params.warm_coolant_temp_c
        and holds_at_standstill(inputs, target)
    ):
        running = False
    return EngineMode(mode, running)


@jit(inline="always")
def misfire_level(state, params):
    """Share of cylinder 1's combustion events that misfire now [-] (fault ``misfire_cylinder_1``)."""
    return MISFIRE_EVENT_FRAC * fault_level(
        params.fault_misfire_cylinder_1_severity,
        params.fault_misfire_cylinder_1_onset_s,
        state.time_s,
    )


@jit(inline="always")
def _fault_torque_frac(state, params, rpm):
    """Share of the full-load torque left by a clogged air filter and a misfiring cylinder [-].

    The filter's pressure drop grows with the square of air flow, so its loss grows as
    (rpm / rated rpm)² (``physics/faults.py``); a misfiring cylinder gives no work on the
    cycles it misses (one cylinder of ``cylinders``).
    """
    frac = 1.0
    clogged = fault_level(
        params.fault_clogged_air_filter_severity,
        params.fault_clogged_air_filter_onset_s,
        state.time_s,
    )
    if clogged > 0.0:
        speed_frac = rpm / params.rated_speed_rpm
        frac *= max(1.0 - AIR_FILTER_TORQUE_LOSS_FRAC * clogged * speed_frac * speed_frac, 0.0)
    missed = misfire_level(state, params)
    if missed > 0.0:
        frac *= 1.0 - missed / params.cylinders
    return frac


@jit(inline="always")
def _fault_fuel_stage(state, params, running, fuelled, engine_rpm, fuel_w, load_frac, dt_s):
    """Fuel power [W] with a misfiring cylinder, and what the engine controller measures.

    A misfiring cylinder's fuel is injected and leaves unburned, so the same work costs
    ``1 / (1 - missed / cylinders)`` times the fuel (Heywood 1988, §9.4). Counts crankshaft
    revolutions and missed combustion events (four-stroke: one event per cylinder every two
    revolutions), and the closed-loop fuel trim that a vacuum leak calls for when the engine
    is warm (``physics/faults.py``).
    """
    if running:
        state.engine_revolutions += engine_rpm / 60.0 * dt_s
    missed = misfire_level(state, params)
    if missed > 0.0 and running and fuelled:
        fuel_w = fuel_w / (1.0 - missed / params.cylinders)
        state.misfire_count += missed * engine_rpm / 120.0 * dt_s
    leak = fault_level(
        params.fault_vacuum_leak_severity, params.fault_vacuum_leak_onset_s, state.time_s
    )
    if leak > 0.0:
        if running and fuelled and state.coolant_temp_c >= params.warm_coolant_temp_c:
            trim = vacuum_leak_trim_frac(leak, fuel_w / GASOLINE_LHV_JPKG * 1e3, load_frac)
            state.fuel_trim_frac = min(trim, FUEL_TRIM_LIMIT_FRAC)
    elif state.fuel_trim_frac != 0.0:
        state.fuel_trim_frac = 0.0
    return fuel_w


@jit(inline="always")
def capability_stage(state, params, vehicle, coupling, running):
    """Engine stage 2: full-load torque, friction, accessories and overrun drag at this speed."""
    rpm = coupling.engine_rpm
    wear = state.engine_wear_frac
    if running:
        t_max = interp(rpm, vehicle.curve_rpm, vehicle.curve_nm, vehicle.n_curve) * (
            1.0 - WORN_TORQUE_LOSS_FRAC * wear
        )
        t_max *= _fault_torque_frac(state, params, rpm)
    else:
        t_max = 0.0
    fmep = friction_mep_pa(max(rpm, 1.0), state.oil_temp_c, params.friction_scale, wear)
    omega = rpm * math.pi / 30.0
    # belt and electrical accessories, plus the climate control (physics/accessories.py)
    accessory_w = params.accessory_power_w + params.climate_power_w
    t_acc = accessory_w / omega if omega > 1.0 else 0.0
    can_cut_fuel = (
        running
        and (not coupling.slipping)
        and coupling.input_rpm >= params.fuel_cutoff_min_rpm
        and state.speed_mps > FUEL_CUTOFF_MIN_SPEED_MPS
    )
    if can_cut_fuel:
        t_motor = motoring_torque_nm(rpm, fmep, vehicle.pmep_idle_pa, params.displacement_l)
    else:
        t_motor = 0.0
    return EngineCapability(t_max, fmep, t_acc, omega, can_cut_fuel, t_motor)


@jit(inline="always")
def output_stage(state, params, engine, capability, coupling, throttle, dt_s):
    """Engine stage 3: brake torque from the pedal, idle control or overrun fuel cut-off.

    Overrun fuel cut-off engages after a delay (drivability: no jerk at tip-out) and while the
    locked driveline keeps the engine above the re-entry speed (Guzzella and Onder,
    Introduction to Modeling and Control of IC Engine Systems, 2010, §2.3). At zero pedal the
    idle controller holds speed and carries the accessories and the converter's drag.
    Writes ``overrun_timer_s``, ``engine_speed_rpm`` and ``engine_torque_nm``.
    """
    cap = capability
    if cap.can_cut_fuel and throttle <= 0.0:
        state.overrun_timer_s += dt_s
    else:
        state.overrun_timer_s = 0.0
    fuel_cut = (
        cap.can_cut_fuel and throttle <= 0.0 and state.overrun_timer_s >= params.fuel_cutoff_delay_s
    )
    if engine.running:
        if fuel_cut:
            t_brake = cap.motoring_torque_nm  # overrun: the unfuelled engine drags
        elif throttle <= 0.0:
            t_brake = cap.accessory_torque_nm + coupling.creep_torque_nm
        else:
            t_brake = cap.accessory_torque_nm + throttle * max(
                cap.max_torque_nm - cap.accessory_torque_nm, 0.0
            )
        t_out = t_brake - cap.accessory_torque_nm
    else:
        t_brake = 0.0
        t_out = 0.0
    state.engine_speed_rpm = coupling.engine_rpm
    state.engine_torque_nm = t_brake if engine.running else 0.0
    if engine.running:  # energy audit: accessories' work and the net work into the driveline
        state.accessory_work_j += cap.accessory_torque_nm * cap.speed_radps * dt_s
        state.engine_out_work_j += t_out * cap.speed_radps * dt_s
    return EngineOutput(t_brake, t_out, fuel_cut)


@jit(inline="always")
def _cylinders_deactivated(state, params, slipping, brake_mep_pa, engine_rpm, dt_s):
    """Whether part of the cylinders are off this step (and advance the deactivation timer).

    A warm engine at light load, in its speed band, with the driveline locked, fires only part
    of its cylinders once these conditions have held for ``deactivation_delay_s`` (the
    controller waits for steady driving; Leone and Pozar, SAE 2001-01-3591).
    """
    if (
        params.deactivation_active_frac < 1.0
        and not slipping
        and state.coolant_temp_c >= params.warm_coolant_temp_c
        and brake_mep_pa <= params.deactivation_max_bmep_pa
        and params.deactivation_min_rpm <= engine_rpm <= params.deactivation_max_rpm
    ):
        state.deactivation_timer_s += dt_s
    else:
        state.deactivation_timer_s = 0.0
    return state.deactivation_timer_s > params.deactivation_delay_s


@jit(inline="always")
def _engine_work_stage(state, params, indicated_mep, friction_mep, pumping_mep, engine_rpm, dt_s):
    """Energy audit: add this step's indicated, friction and pumping work [J] to the state.

    Indicated work is what the gas does on the pistons, ``bmep + fmep + pmep`` when fuelled (the
    Willans line's numerator); an unfuelled engine does none, and the wheels pay its friction
    and pumping.
    """
    displacement = params.displacement_l
    state.indicated_work_j += mep_work_j(indicated_mep, displacement, engine_rpm, dt_s)
    state.friction_work_j += mep_work_j(friction_mep, displacement, engine_rpm, dt_s)
    state.pumping_work_j += mep_work_j(pumping_mep, displacement, engine_rpm, dt_s)


@jit(inline="always")
def fuel_stage(
    state, inputs, params, vehicle, engine, capability, output, coupling, assist_torque_nm, dt_s
):
    """Engine stage 4: fuel flow [g/s] and fuel power [W]; the tank; load for the wear model.

    Willans line in mean effective pressures with cold enrichment; cranking burns
    ``start_fuel_g`` over the crank. A mild hybrid's machine carries ``assist_torque_nm`` of the
    brake torque (``physics/hybrid.py``), which the combustion then does not. An empty tank ends
    the flow and stops the engine at the next step. Writes fuel used, fuel energy,
    ``fuel_rate_gps``, ``fuel_cutoff`` and ``out_of_fuel``. Returns (fuel power [W], load
    fraction [-]).
    """
    cold = cold_enrichment_factor(
        state.coolant_temp_c,
        params.warm_coolant_temp_c,
        COLD_ENRICHMENT_FULL_C,
        params.cold_enrichment_gain,
    )
    t_brake = output.brake_torque_nm
    if assist_torque_nm > 0.0:
        t_brake -= assist_torque_nm
    t_max = capability.max_torque_nm
    if engine.running and not output.fuel_cut:
        load = t_brake / t_max if t_max > 1.0 else 0.0
        bmep = torque_to_mep_pa(max(t_brake, 0.0), params.displacement_l)
        if _cylinders_deactivated(
            state, params, coupling.slipping, bmep, coupling.engine_rpm, dt_s
        ):
            pmep = deactivated_pumping_mep_pa(
                bmep,
                capability.friction_mep_pa,
                params.deactivation_active_frac,
                params.pumping_mep_idle_pa,
                params.atmospheric_bmep_pa,
            )
        else:
            pmep = pumping_mep_pa(bmep, params.pumping_mep_idle_pa, params.atmospheric_bmep_pa)
        fmep = capability.friction_mep_pa
        indicated_mep = max(bmep + fmep + pmep, 0.0)
        _engine_work_stage(state, params, indicated_mep, fmep, pmep, coupling.engine_rpm, dt_s)
        fuel_w = (
            fuel_power_w(
                max(t_brake, 0.0),
                coupling.engine_rpm,
                capability.friction_mep_pa,
                pmep,
                params.displacement_l,
                params.eta_indicated,
            )
            * cold
        )
    elif engine.engine_state == ENGINE_CRANKING:
        fuel_w = params.start_fuel_g * 1e-3 * GASOLINE_LHV_JPKG / params.crank_duration_s * cold
        load = 0.0
        state.deactivation_timer_s = 0.0
    else:
        fuel_w = 0.0
        load = 0.0
        state.deactivation_timer_s = 0.0
        if engine.running:  # overrun fuel cut-off: the wheels turn the unfuelled engine
            _engine_work_stage(
                state,
                params,
                0.0,
                capability.friction_mep_pa,
                vehicle.pmep_idle_pa,
                coupling.engine_rpm,
                dt_s,
            )
    fuel_w = _fault_fuel_stage(
        state,
        params,
        engine.running,
        not output.fuel_cut,
        coupling.engine_rpm,
        fuel_w,
        load,
        dt_s,
    )
    fuel_gps = fuel_w / GASOLINE_LHV_JPKG * 1e3
    tank_g = inputs.fuel_tank_initial_l * GASOLINE_DENSITY_GPL
    if state.fuel_used_g + fuel_gps * dt_s >= tank_g:
        fuel_gps = max(tank_g - state.fuel_used_g, 0.0) / dt_s
        state.out_of_fuel = 1.0
    state.fuel_used_g += fuel_gps * dt_s
    state.fuel_energy_j += fuel_gps * 1e-3 * GASOLINE_LHV_JPKG * dt_s
    state.fuel_rate_gps = fuel_gps
    state.fuel_cutoff = 1.0 if output.fuel_cut else 0.0
    return fuel_w, load


@jit(inline="always")
def friction_power_w(engine, capability, displacement_l):
    """Power the engine's friction turns into heat [W] (0 when it does not turn)."""
    if not engine.running:
        return 0.0
    return mep_to_torque_nm(capability.friction_mep_pa, displacement_l) * capability.speed_radps
