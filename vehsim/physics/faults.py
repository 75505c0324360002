"""Injected faults as the physics sees them: how strongly each acts at a time, and its size.

Every fault has two parameter columns per vehicle (``fault_<name>_severity`` 0..1 and
``fault_<name>_onset_s``, ``vehsim.faults.FAULTS``); a severity of 0 (the default) leaves the
stages on exactly the healthy path (every fault effect sits behind ``if level > 0.0``), so a
healthy car's results are bit-identical to a kernel without faults. The stages that a fault
changes (thermal, engine, driveline, road load, wear) read :func:`fault_level`.

The sizes below are the effect at severity 1; severity scales them linearly. Sources per
constant; the catalogue with the mechanism of each fault is ``vehsim.faults`` and
``docs/faults.md``.
"""

import math

from vehsim.physics._jit import jit

#: Thermostat stuck open: least opening at severity 1 [-] (valve held fully open; CARB
#: 13 CCR 1968.2(e)(10), thermostat monitoring; Bosch Automotive Handbook, 10th ed., "Engine
#: cooling").
THERMOSTAT_STUCK_OPEN_FRAC = 1.0
#: Cooling fan: share of the fan's air flow lost at severity 1 [-] (dead fan motor or relay).
#: Standing still the radiator then keeps only its faces' natural convection and radiation
#: (``ua_radiator_min_wpk``), far below what an idling engine puts into its coolant.
FAN_LOSS_FRAC = 1.0
#: Misfire of one cylinder: share of that cylinder's combustion events that fail at severity 1
#: [-]. Its fuel is still injected and leaves unburned (Heywood, Internal Combustion Engine
#: Fundamentals, 1988, §9.4 and §11.3; CARB 1968.2(e)(3) misfire monitoring).
MISFIRE_EVENT_FRAC = 1.0
#: Unmetered air through a vacuum leak at severity 1 and full manifold vacuum [g/s]: choked
#: flow through a 4 mm hole (ideal-gas orifice flow, discharge coefficient 0.6, Heywood §C.2):
#: 0.6 * 12.6e-6 m² * 101325 Pa * 0.685 / sqrt(287 * 293) kg/s ~ 1.8 g/s.
VACUUM_LEAK_AIR_GPS = 1.8
#: Stoichiometric air-fuel ratio of E10 gasoline [-] (Heywood §3.3, 14.6 for gasoline; E10 ~14.1).
STOICHIOMETRIC_AFR = 14.1
#: Largest fuel trim the controller applies (long + short term) [-] (typical ECU limit +/-25 %;
#: SAE J1979 PIDs 06-09 range; EPA/CARB fuel-system monitoring 1968.2(e)(6)).
FUEL_TRIM_LIMIT_FRAC = 0.25
#: Clogged air filter: full-load torque lost at rated speed, severity 1 [-] (Norman, Huff and
#: West, ORNL/TM-2009/021 "Effect of intake air filter condition on vehicle fuel economy":
#: a heavily restricted filter cut full-load acceleration markedly on carbureted and
#: fuel-injected cars, fuel economy of closed-loop engines unchanged). The pressure drop grows
#: with the square of air flow, so the loss scales with (rpm / rated rpm)².
AIR_FILTER_TORQUE_LOSS_FRAC = 0.2
#: Dragging brake: residual brake force of a seized caliper at severity 1 [N] (the drag of a
#: caliper that does not retract; Bosch Automotive Handbook, "Braking systems"; of the order
#: of 5-10 % of a compact car's road load at 50 km/h).
DRAG_BRAKE_FORCE_N = 150.0
#: Under-inflated tyre: pressure of the soft tyre at severity 1 as a share of placard [-];
#: rolling resistance grows as pressure^-0.4 (Schuring, "The rolling loss of pneumatic tires",
#: Rubber Chem. Technol. 53 (1980); NHTSA, FMVSS 138 TPMS final regulatory impact analysis,
#: 2005), one tyre of four carries a quarter of the car's rolling resistance.
SOFT_TYRE_PRESSURE_FRAC = 0.5
ROLLING_RESISTANCE_PRESSURE_EXPONENT = -0.4
TYRES = 4.0
#: Extra wear of the soft tyre (shoulders) at severity 1, as a multiple of its normal wear [-]
#: (NHTSA FMVSS 138 analysis: 20 % under-inflation costs ~15-25 % of tread life).
SOFT_TYRE_EXTRA_WEAR = 1.0
#: Gearbox slip: engine speed above the locked driveline's at full pedal, severity 1 [-]
#: (worn clutch packs or low line pressure let the engine flare under load; the TCU's
#: ratio monitor compares input and output shaft speeds: CARB 1968.2(e)(16.2), comprehensive
#: components, transmission; Bosch Automotive Handbook, "Automatic transmissions").
GEARBOX_SLIP_FRAC = 0.25
#: Vehicle speed sensor dropout: period of the dropout pattern [s]; the signal reads zero for
#: a share ``severity`` of each period (intermittent connector or failed tone-wheel sensor).
SPEED_DROPOUT_PERIOD_S = 20.0


@jit(inline="always")
def fault_level(severity, onset_s, time_s):
    """How strongly a fault acts at ``time_s`` [-]: its severity once the onset has passed."""
    if severity > 0.0 and time_s >= onset_s:
        return severity
    return 0.0


@jit
def soft_tyre_rolling_factor(level):
    """Rolling resistance of the car with one soft tyre, as a multiple of the healthy one [-]."""
    pressure = 1.0 - (1.0 - SOFT_TYRE_PRESSURE_FRAC) * level
    per_tyre = math.pow(pressure, ROLLING_RESISTANCE_PRESSURE_EXPONENT)
    return 1.0 + (per_tyre - 1.0) / TYRES


@jit
def vacuum_leak_trim_frac(level, fuel_gps, load_frac):
    """Fuel trim [-] that restores a stoichiometric mixture with a vacuum leak.

    The leak draws ``VACUUM_LEAK_AIR_GPS * level`` at full vacuum, less as the manifold
    pressure rises with load; the mass-air-flow sensor does not see it, so the controller adds
    fuel in proportion to leak / metered air (up to its trim limit, beyond which the mixture
    stays lean).
    """
    total_air = fuel_gps * STOICHIOMETRIC_AFR
    leak = VACUUM_LEAK_AIR_GPS * level * max(1.0 - load_frac, 0.0)
    metered = max(total_air - leak, 1e-3)
    return min(leak / metered, 10.0)


@jit
def speed_sensor_reading_mps(level, speed_mps, time_s):
    """Reported vehicle speed [m/s]: zero for a share ``level`` of each dropout period."""
    phase = time_s / SPEED_DROPOUT_PERIOD_S
    if phase - math.floor(phase) < level:
        return 0.0
    return speed_mps


@jit(inline="always")
def sensors_stage(state, params, coolant_before_c):
    """What the controllers read: the coolant temperature and vehicle speed signals.

    Healthy sensors read the physics. A stuck coolant sensor follows only ``1 - severity`` of
    the coolant's change (frozen at severity 1); a speed sensor with dropouts reads zero for a
    share ``severity`` of every :data:`SPEED_DROPOUT_PERIOD_S`. Nothing in the physics reads
    these columns, so sensor faults leave the car itself healthy.
    """
    stuck = fault_level(
        params.fault_coolant_sensor_stuck_severity,
        params.fault_coolant_sensor_stuck_onset_s,
        state.time_s,
    )
    if stuck > 0.0:
        state.coolant_sensor_temp_c += (1.0 - stuck) * (state.coolant_temp_c - coolant_before_c)
    else:
        state.coolant_sensor_temp_c = state.coolant_temp_c
    dropout = fault_level(
        params.fault_speed_sensor_dropout_severity,
        params.fault_speed_sensor_dropout_onset_s,
        state.time_s,
    )
    if dropout > 0.0:
        state.speed_sensor_mps = speed_sensor_reading_mps(dropout, state.speed_mps, state.time_s)
    else:
        state.speed_sensor_mps = state.speed_mps
