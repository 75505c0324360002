"""Mild hybrid: a belt starter-generator that recovers braking energy and gives it back at the crank.

Variants (``engine.hybrid`` in a vehicle file, ``physics/options.py``):

- ``none`` (default): no electric machine on the engine.
- ``belt_starter_generator``: a 48 V belt starter-generator (a "P0" mild hybrid: the machine
  turns with the crankshaft, on the accessory belt) and a small lithium-ion battery. While the
  car brakes with the driveline closed, the machine takes over part of the braking from the
  friction brakes, up to its power, and charges the battery (blended braking: the driver's
  deceleration is the same, the pads do less); while the engine is fuelled, it gives the stored
  energy back as torque at the crank, up to its power, so the engine burns fuel for less brake
  work. Stop-start (``engine.idle_stop``) is the machine's third job and has its own switch.
  The functions are those of Deo, German and Bandivadekar, "The potential of 48V hybrids in
  India's light-duty vehicle market" (ICCT white paper, 2022); the generic machine and battery
  (``generic_models.yaml``) are typical 2022 48 V sizes.

The stored energy is a state (``bsg_stored_j``, usable energy in the battery, from the bottom of
the window it is used in). A run starts with none: the machine gives back what it stores at the
next acceleration, so a car that ended its last drive with a stop, as a test car ends its
preparation drive, holds little more than its last braking put in; and a run that starts empty
never draws on charge it did not store: over a test its battery gains a little and never lends
fuel energy it did not recover (a charge-sustaining hybrid's fuel economy is measured with a
balanced battery: SAE J1711, which 40 CFR 600.116 applies). The energy
audit (``vehsim.energy``) books the braking power the machine takes (``bsg_regen_work_j``, at the
wheels) and the work it gives at the crank (``bsg_assist_work_j``), so the chain from fuel to
road still closes.
"""

from collections import namedtuple

from vehsim.physics._jit import jit
from vehsim.physics.options import HYBRID_BSG

#: What the machine does this step: torque it adds at the crank [N m] and braking power it takes
#: over from the friction brakes, at the wheels [W].
BsgFlow = namedtuple("BsgFlow", ("assist_torque_nm", "regen_wheel_w"))


@jit(inline="always")
def regen_wheel_power_w(
    brake_power_w, driveline_efficiency, machine_power_w, machine_efficiency, room_j, dt_s
):
    """Braking power at the wheels [W] the machine takes over from the friction brakes.

    Limited by the machine's power at its shaft (the driveline's losses between wheels and crank
    come first) and by the room left in the battery this step; ``machine_efficiency`` is the
    machine's, inverter's and battery's one-way efficiency [-].
    """
    if brake_power_w <= 0.0 or room_j <= 0.0:
        return 0.0
    wheel_w = min(brake_power_w, machine_power_w / driveline_efficiency)
    stored_w = wheel_w * driveline_efficiency * machine_efficiency
    room_w = room_j / dt_s
    if stored_w > room_w:
        wheel_w *= room_w / stored_w
    return wheel_w


@jit(inline="always")
def assist_power_w(demand_w, machine_power_w, machine_efficiency, stored_j, dt_s):
    """Power the machine adds at the crank [W]: the engine's demand, up to the machine's power
    and to what the stored energy gives this step at ``machine_efficiency``."""
    if demand_w <= 0.0 or stored_j <= 0.0:
        return 0.0
    return min(demand_w, machine_power_w, stored_j * machine_efficiency / dt_s)


@jit(inline="always")
def bsg_stage(state, params, running, coupling, capability, output, motion, dt_s):
    """Hybrid stage: the belt starter-generator's assist at the crank and its braking this step.

    Gives back first (energy stored on earlier steps), while the engine runs fuelled and
    delivers torque; then takes over braking while the engine turns with a closed driveline
    (converter locked or clutch closed: through a slipping one the crank barely feels the
    wheels). Writes ``bsg_stored_j``, ``bsg_regen_work_j`` and ``bsg_assist_work_j``.
    """
    if int(params.engine_hybrid) != HYBRID_BSG:
        return BsgFlow(0.0, 0.0)
    eff = params.bsg_efficiency
    assist_nm = 0.0
    omega = capability.speed_radps
    if running and not output.fuel_cut and output.brake_torque_nm > 0.0 and omega > 1.0:
        assist_w = assist_power_w(
            output.brake_torque_nm * omega, params.bsg_power_w, eff, state.bsg_stored_j, dt_s
        )
        state.bsg_stored_j = max(state.bsg_stored_j - assist_w / eff * dt_s, 0.0)
        state.bsg_assist_work_j += assist_w * dt_s
        assist_nm = assist_w / omega
    regen_w = 0.0
    if running and not coupling.slipping and motion.distance_m > 0.0:
        braking_w = motion.brake_n * motion.distance_m / dt_s  # as the energy audit books it
        regen_w = regen_wheel_power_w(
            braking_w,
            params.efficiency,
            params.bsg_power_w,
            eff,
            params.bsg_usable_energy_j - state.bsg_stored_j,
            dt_s,
        )
        state.bsg_stored_j += regen_w * params.efficiency * eff * dt_s
        state.bsg_regen_work_j += regen_w * dt_s
    return BsgFlow(assist_nm, regen_w)
