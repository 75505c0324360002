"""Engine thermal models: coolant (with the engine block) and oil, thermostat, radiator, fan.

Variants (``thermal.model`` in a vehicle file, ``physics/options.py``):

- ``lumped`` (default): two thermal masses exchange heat; the coolant loses heat through the
  radiator when the thermostat opens, and both lose a little to the engine bay. The cylinder
  head is part of the coolant's mass (``head_temp_c`` reports the coolant temperature).
- ``three_node``: the cylinder head is a third mass between the combustion chamber and the
  coolant. A share ``heat_to_head_frac`` of the combustion heat reaching the structure enters
  through the head (chamber roof, exhaust ports), the rest through the liners into the block and
  coolant; the head passes its heat to the coolant through ``ua_head_coolant_wpk``. The head
  warms within a minute while the coolant takes several (Kaplan and Heywood, SAE 910302, who
  model head and block as separate masses; Heywood 1988, §12.1, for the head's large share of
  the heat flux). ``coolant_capacity_jpk`` is then the coolant and block without the head.

The structure and the order of magnitude of the coefficients follow Shayler, Christian and Ma
(SAE 931153, 1993) and Kaplan and Heywood, "Modeling the spark ignition engine warm-up process
to predict component temperatures and hydrocarbon emissions", SAE 910302 (1991).
"""

from vehsim.physics._jit import jit
from vehsim.physics.faults import (
    FAN_LOSS_FRAC,
    THERMOSTAT_STUCK_OPEN_FRAC,
    fault_level,
)
from vehsim.physics.options import THERMAL_THREE_NODE

#: Share of the engine's friction heat that goes into the oil, the rest into the coolant [-]
#: (Shayler et al., SAE 931153, 1993).
FRICTION_HEAT_TO_OIL_FRAC = 0.5
#: Oil-to-engine-bay conductance as a share of the coolant's [-] (the sump is smaller and
#: shielded; Kaplan and Heywood, SAE 910302).
OIL_BAY_UA_FRAC = 0.3
#: Oil-coolant conductance of a stopped engine as a share of the running one's [-] (no pump
#: flow: conduction and natural convection only; Shayler et al. 1993).
STOPPED_OIL_COOLANT_UA_FRAC = 0.2
#: Least effectiveness of a fouled radiator [-] (fouling model floor: half its clean capacity).
FOULED_RADIATOR_MIN_EFFECTIVENESS = 0.5


@jit
def thermostat_opening_frac(coolant_temp_c, open_start_c, open_full_c):
    """Wax thermostat opening, linear between start and full-open temperatures [-]."""
    if coolant_temp_c <= open_start_c:
        return 0.0
    if coolant_temp_c >= open_full_c:
        return 1.0
    return (coolant_temp_c - open_start_c) / (open_full_c - open_start_c)


@jit
def fan_on_next(fan_on, coolant_temp_c, fan_on_c, fan_off_c):
    """Electric fan state with hysteresis: on above ``fan_on_c``, off below ``fan_off_c``."""
    if coolant_temp_c >= fan_on_c:
        return 1.0
    if coolant_temp_c <= fan_off_c:
        return 0.0
    return fan_on


@jit
def radiator_conductance_wpk(
    ua_ram_wpk_per_mps, speed_mps, ua_fan_wpk, fan_on, ua_min_wpk, effectiveness
):
    """Radiator heat conductance [W/K]: ram air grows with speed, the fan adds a fixed flow.

    ``ua_min_wpk`` is what the radiator loses standing still with the fan off: no air is
    driven through the core, only its faces lose heat by natural convection and radiation, a
    fraction of a percent of the full-load conductance (``vehsim/data/generic_models.yaml``,
    ``radiator_still_air_frac``, for the estimate and its sources). ``effectiveness`` (0..1)
    is reduced by fouling, so a worn car cools less.
    """
    return (ua_min_wpk + ua_ram_wpk_per_mps * speed_mps + ua_fan_wpk * fan_on) * effectiveness


@jit
def temperature_rates_cps(
    coolant_temp_c,
    oil_temp_c,
    ambient_temp_c,
    heat_to_coolant_w,
    heat_to_oil_w,
    coolant_capacity_jpk,
    oil_capacity_jpk,
    ua_oil_coolant_wpk,
    ua_radiator_wpk,
    thermostat_frac,
    ua_bay_wpk,
):
    """Rates of change of coolant and oil temperature [K/s].

    Coolant: combustion heat in, exchange with oil, radiator (scaled by thermostat opening),
    engine-bay losses. Oil: friction heat in, exchange with coolant, bay losses.
    """
    q_oil_to_coolant = ua_oil_coolant_wpk * (oil_temp_c - coolant_temp_c)
    q_radiator = ua_radiator_wpk * thermostat_frac * (coolant_temp_c - ambient_temp_c)
    q_bay_coolant = ua_bay_wpk * (coolant_temp_c - ambient_temp_c)
    q_bay_oil = OIL_BAY_UA_FRAC * ua_bay_wpk * (oil_temp_c - ambient_temp_c)
    d_coolant = (
        heat_to_coolant_w + q_oil_to_coolant - q_radiator - q_bay_coolant
    ) / coolant_capacity_jpk
    d_oil = (heat_to_oil_w - q_oil_to_coolant - q_bay_oil) / oil_capacity_jpk
    return d_coolant, d_oil


@jit(inline="always")
def _radiator_wpk(state, params, running, speed_mps):
    """Radiator conductance [W/K] and thermostat opening [-]; updates the fan's state.

    The radiator's effectiveness falls with distance (fouling), to a floor. Faults: a failed
    fan gives no fan flow when the controller switches it on (the standstill conductance
    ``ua_radiator_min_wpk`` is the faces' natural convection and radiation, which need no
    fan); a thermostat stuck open passes coolant from cold, one stuck closed passes at most
    ``1 - severity`` of its flow (``physics/faults.py``).
    """
    if running:
        state.fan_on = fan_on_next(
            state.fan_on, state.coolant_temp_c, params.fan_on_c, params.fan_off_c
        )
    else:
        state.fan_on = 0.0
    effectiveness = max(
        1.0 - params.radiator_fouling_per_m * state.odometer_m, FOULED_RADIATOR_MIN_EFFECTIVENESS
    )
    ua_radiator = radiator_conductance_wpk(
        params.ua_radiator_wpk_per_mps,
        speed_mps,
        params.ua_fan_wpk,
        state.fan_on,
        params.ua_radiator_min_wpk,
        effectiveness,
    )
    fan_fault = fault_level(
        params.fault_cooling_fan_failure_severity,
        params.fault_cooling_fan_failure_onset_s,
        state.time_s,
    )
    if fan_fault > 0.0:
        ua_radiator -= params.ua_fan_wpk * state.fan_on * FAN_LOSS_FRAC * effectiveness * fan_fault
    if running:
        opening = thermostat_opening_frac(
            state.coolant_temp_c, params.thermostat_open_c, params.thermostat_full_c
        )
        stuck_open = fault_level(
            params.fault_thermostat_stuck_open_severity,
            params.fault_thermostat_stuck_open_onset_s,
            state.time_s,
        )
        if stuck_open > 0.0:
            opening = max(opening, THERMOSTAT_STUCK_OPEN_FRAC * stuck_open)
        stuck_closed = fault_level(
            params.fault_thermostat_stuck_closed_severity,
            params.fault_thermostat_stuck_closed_onset_s,
            state.time_s,
        )
        if stuck_closed > 0.0:
            opening = min(opening, 1.0 - stuck_closed)
    else:
        opening = 0.0
    return ua_radiator, opening


@jit(inline="always")
def lumped_step(state, inputs, params, running, fuel_power_w, friction_power_w, speed_mps, dt_s):
    """Lumped model: coolant and oil temperatures over one step (explicit Euler)."""
    ua_radiator, opening = _radiator_wpk(state, params, running, speed_mps)
    ua_oil_coolant = (
        params.ua_oil_coolant_wpk
        if running
        else STOPPED_OIL_COOLANT_UA_FRAC * params.ua_oil_coolant_wpk
    )
    d_coolant, d_oil = temperature_rates_cps(
        state.coolant_temp_c,
        state.oil_temp_c,
        inputs.ambient_temp_c,
        params.heat_to_coolant_frac * fuel_power_w,
        FRICTION_HEAT_TO_OIL_FRAC * friction_power_w,
        params.coolant_capacity_jpk,
        params.oil_capacity_jpk,
        ua_oil_coolant,
        ua_radiator,
        opening,
        params.ua_bay_wpk,
    )
    state.coolant_temp_c += d_coolant * dt_s
    state.oil_temp_c += d_oil * dt_s
    state.head_temp_c = state.coolant_temp_c  # the head is part of the coolant's mass here


@jit
def three_node_rates_cps(
    head_temp_c,
    coolant_temp_c,
    oil_temp_c,
    ambient_temp_c,
    heat_to_head_w,
    heat_to_coolant_w,
    heat_to_oil_w,
    head_capacity_jpk,
    coolant_capacity_jpk,
    oil_capacity_jpk,
    ua_head_coolant_wpk,
    ua_oil_coolant_wpk,
    ua_radiator_wpk,
    thermostat_frac,
    ua_bay_wpk,
):
    """Rates of change of head, coolant and oil temperature [K/s] (three-node model).

    Head: its share of the combustion heat in, conduction to the coolant out. Coolant and oil
    as in :func:`temperature_rates_cps`, with the head's heat added to the coolant.
    """
    q_head_to_coolant = ua_head_coolant_wpk * (head_temp_c - coolant_temp_c)
    d_coolant, d_oil = temperature_rates_cps(
        coolant_temp_c,
        oil_temp_c,
        ambient_temp_c,
        heat_to_coolant_w + q_head_to_coolant,
        heat_to_oil_w,
        coolant_capacity_jpk,
        oil_capacity_jpk,
        ua_oil_coolant_wpk,
        ua_radiator_wpk,
        thermostat_frac,
        ua_bay_wpk,
    )
    d_head = (heat_to_head_w - q_head_to_coolant) / head_capacity_jpk
    return d_head, d_coolant, d_oil


@jit(inline="always")
def three_node_step(
    state, inputs, params, running, fuel_power_w, friction_power_w, speed_mps, dt_s
):
    """Three-node model: head, coolant and oil temperatures over one step (explicit Euler)."""
    ua_radiator, opening = _radiator_wpk(state, params, running, speed_mps)
    ua_oil_coolant = (
        params.ua_oil_coolant_wpk
        if running
        else STOPPED_OIL_COOLANT_UA_FRAC * params.ua_oil_coolant_wpk
    )
    structure_w = params.heat_to_coolant_frac * fuel_power_w
    head_w = params.heat_to_head_frac * structure_w
    d_head, d_coolant, d_oil = three_node_rates_cps(
        state.head_temp_c,
        state.coolant_temp_c,
        state.oil_temp_c,
        inputs.ambient_temp_c,
        head_w,
        structure_w - head_w,
        FRICTION_HEAT_TO_OIL_FRAC * friction_power_w,
        params.head_capacity_jpk,
        params.coolant_capacity_jpk,
        params.oil_capacity_jpk,
        params.ua_head_coolant_wpk,
        ua_oil_coolant,
        ua_radiator,
        opening,
        params.ua_bay_wpk,
    )
    state.head_temp_c += d_head * dt_s
    state.coolant_temp_c += d_coolant * dt_s
    state.oil_temp_c += d_oil * dt_s


@jit(inline="always")
def thermal_stage(state, inputs, params, running, fuel_power_w, friction_power_w, speed_mps, dt_s):
    """Thermal stage: engine temperatures over one step, by the vehicle's thermal model.

    Args:
        fuel_power_w: fuel chemical power this step [W] (a share heats the coolant).
        friction_power_w: the engine's friction power [W] (a share heats the oil).
        speed_mps: vehicle speed at the start of the step [m/s] (ram air on the radiator).
    """
    model = int(params.thermal_model)
    if model == THERMAL_THREE_NODE:
        three_node_step(
            state, inputs, params, running, fuel_power_w, friction_power_w, speed_mps, dt_s
        )
    else:  # THERMAL_LUMPED
        lumped_step(state, inputs, params, running, fuel_power_w, friction_power_w, speed_mps, dt_s)
