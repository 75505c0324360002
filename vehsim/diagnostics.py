"""On-board diagnostics: monitors, trouble codes (SAE J2012), freeze frames and the MIL.

The monitors read only what a car's controllers measure (the sensor and controller columns of
the state: ``coolant_sensor_temp_c``, ``speed_sensor_mps``, ``fuel_trim_frac``,
``misfire_count``, ``gearbox_input_rpm``, ``driveline_locked``, engine speed, pedal), never
the injected faults. They run in Python on the state rows after the kernel's steps (every
telemetry record of an offline run, every ``advance`` of a live one), vectorised over the
fleet with one array per vehicle, so they are as deterministic as the kernel.

Status of a code per vehicle, following SAE J1979 / CARB 13 CCR 1968.2(d):

- A monitor runs while its *enable conditions* hold. It *fails* when its malfunction
  criterion has held for its debounce time (continuous monitors) or for a whole evaluation
  window (misfire: 1000 crankshaft revolutions).
- The first failure makes the code **pending** and stores the freeze frame (the first code's
  frame is kept, as J1979 mode 02 does). A second failure **confirms** it and turns the MIL on.
  Real cars confirm most codes on the second *drive cycle*; vehsim confirms on the second
  failed evaluation, which may fall in the same drive cycle (a single offline run is one drive
  cycle), and says so in ``docs/faults.md``.
- A **drive cycle** is a key-on followed by a key-off (the driver's engine request; the end
  of an offline run is a key-off) in which the monitor ran. A pending code whose monitor ran a whole drive cycle without
  failing is erased. The MIL goes off after three consecutive drive cycles in which the monitor
  of every confirmed code ran without failing; the code then stays stored (as "previously
  active") until cleared. ``clear`` (mode 04) erases codes, freeze frames and the MIL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vehsim.layout import P, S

#: Drive cycles without failure after which the MIL goes off (CARB 1968.2(d)(2.3)).
MIL_OFF_DRIVE_CYCLES = 3
#: Coolant above which P0217 fails [°C] (a typical ECU over-temperature threshold; 15 K above
#: the shipped cars' fan switch-on temperature).
OVER_TEMPERATURE_C = 118.0
#: Thermostat monitor (CARB 1968.2(e)(10.2.1)): from a cold start in this ambient range [°C],
#: the coolant must reach the thermostat's opening temperature less this margin [K] before the
#: fuel energy burnt since the start exceeds this multiple of the ECU's warm-up estimate: the
#: heat that warms the coolant's capacity from its start temperature to the target, divided by
#: the share of fuel heat that reaches the coolant (healthy shipped cars reach the target at
#: 0.93-1.08 times the estimate on every standard cycle from -7 to 20 °C), and not before this
#: running time [s].
THERMOSTAT_MARGIN_K = 11.0
THERMOSTAT_WARMUP_ENERGY_MULTIPLE = 1.3
THERMOSTAT_MIN_RUNNING_S = 300.0
THERMOSTAT_AMBIENT_RANGE_C = (-7.0, 35.0)
#: Misfire monitor: window [revolutions] and misfire rate of one cylinder that fails it [-]
#: (CARB 1968.2(e)(3.2): emission-level misfire over 1000 revolutions, typically 1-3 %).
MISFIRE_WINDOW_REV = 1000.0
MISFIRE_RATE_LIMIT_FRAC = 0.02
#: Fuel system monitor: trim at the controller's limit fails it [-] (lean, P0171).
FUEL_TRIM_FAIL_FRAC = 0.249
#: Gear ratio monitor: engine speed above the gear's by this share fails it [-]; enabled above
#: this pedal [-] and input speed (a multiple of idle) [-].
GEAR_SLIP_FAIL_FRAC = 0.08
GEAR_MONITOR_MIN_PEDAL_FRAC = 0.1
GEAR_MONITOR_MIN_INPUT_IDLE_MULTIPLE = 1.3
#: Coolant sensor rationality (P0116): a reading below this [°C] that moved less than
#: ``ECT_STUCK_CHANGE_K`` over ``ECT_STUCK_WINDOW_S`` of running.
ECT_STUCK_BELOW_C = 70.0
ECT_STUCK_CHANGE_K = 0.05
ECT_STUCK_WINDOW_S = 300.0
#: Vehicle speed sensor (P0500): reading below this [m/s] while the locked driveline turns
#: faster than this [rpm].
VSS_ZERO_MPS = 0.3
VSS_MIN_INPUT_RPM = 1000.0

_RUNNING = 2.0


@dataclass(frozen=True)
class Code:
    """A diagnostic trouble code: SAE J2012 code, description and the monitor's debounce."""

    code: str
    description: str
    debounce_s: float


CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code(
            "P0128", "Coolant thermostat (coolant temperature below regulating temperature)", 30.0
        ),
        Code("P0217", "Engine coolant over temperature condition", 10.0),
        Code("P0301", "Cylinder 1 misfire detected", 0.0),
        Code("P0171", "System too lean (bank 1)", 10.0),
        Code("P0730", "Incorrect gear ratio", 5.0),
        Code("P0116", "Engine coolant temperature circuit range/performance", 30.0),
        Code("P0500", "Vehicle speed sensor A", 3.0),
    )
}
CODE_LIST: tuple[str, ...] = tuple(CODES)

#: Freeze-frame fields (SAE J1979 mode 02 PIDs as state columns, SI units).
FREEZE_FRAME_COLUMNS = (
    "time_s",
    "engine_speed_rpm",
    "speed_sensor_mps",
    "coolant_sensor_temp_c",
    "fuel_trim_frac",
    "throttle_frac",
    "engine_torque_nm",
)

NONE, PENDING, CONFIRMED = 0, 1, 2
STATUS_NAMES = ("none", "pending", "confirmed")


@dataclass(frozen=True)
class DtcChange:
    """A change of a code's status on one vehicle (the payload of ``diagnostic.dtc``)."""

    vehicle: int
    code: str
    status: str  # "pending", "confirmed", "cleared", "mil_off"
    time_s: float
    mil_on: bool
    freeze_frame: dict[str, float] | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": CODES[self.code].description,
            "status": self.status,
            "mil_on": self.mil_on,
            "sim_time_s": round(self.time_s, 3),
            "freeze_frame": self.freeze_frame,
        }


class Diagnostics:
    """The monitors of a fleet: one array per quantity, one entry per vehicle.

    Args:
        params: the simulator's parameter rows (thresholds that depend on the car).
        ambient_temp_c: ambient per vehicle (as the intake-air sensor at start reads it).
    """

    def __init__(self, params: np.ndarray, ambient_temp_c: np.ndarray):
        n = params.shape[0]
        k = len(CODE_LIST)
        self.n = n
        self._params = params
        self._ambient_c = np.asarray(ambient_temp_c, dtype=float).copy()
        self.status = np.zeros((n, k), dtype=np.int8)
        self.mil_on = np.zeros(n, dtype=bool)
        self.freeze_frame: list[dict[str, float] | None] = [None] * n
        self.freeze_code: list[str | None] = [None] * n
        #: Distance travelled since the MIL last came on [m] (SAE J1979 mode 01 PID 21: reset
        #: when the MIL goes from off to on and by mode 04, held while the MIL is off).
        self.mil_distance_m = np.zeros(n)
        self._mil_on_odometer_m = np.zeros(n)
        self._fail_timer_s = np.zeros((n, k))
        self._failed_in_cycle = np.zeros((n, k), dtype=bool)
        self._ran_in_cycle = np.zeros((n, k), dtype=bool)
        self._clean_cycles = np.zeros(n, dtype=np.int64)
        self._last_time_s = np.full(n, np.nan)
        self._last_key = np.zeros(n, dtype=bool)
        self._start_coolant_c = np.full(n, np.nan)
        self._start_fuel_energy_j = np.zeros(n)
        self._run_time_s = np.zeros(n)
        self._misfire_window_rev = np.zeros(n)
        self._misfire_window_count = np.zeros(n)
        self._ect_ref_c = np.full(n, np.nan)
        self._ect_ref_time_s = np.zeros(n)

    # --- reading ------------------------------------------------------------------------------
    @property
    def engine_run_time_s(self) -> np.ndarray:
        """Engine running time since key-on per vehicle [s] (SAE J1979 mode 01 PID 1F)."""
        return self._run_time_s.copy()

    def codes(self, i: int, status: int = CONFIRMED) -> list[str]:
        """Codes of vehicle ``i`` with exactly this status (``CONFIRMED`` or ``PENDING``)."""
        return [c for j, c in enumerate(CODE_LIST) if self.status[i, j] == status]

    # --- updating -----------------------------------------------------------------------------
    def update(self, state: np.ndarray, key_on: np.ndarray) -> list[DtcChange]:
        """Run the monitors on the fleet's state rows ``[n_vehicles, n_state]``; return changes.

        ``key_on`` per vehicle: the driver wants the engine (the ignition key); a drive cycle
        runs from key on to key off, so a stop-start engine stopping at a light does not end it.
        """
        changes: list[DtcChange] = []
        key_on = np.asarray(key_on, dtype=bool)
        t = state[:, S["time_s"]]
        dt = np.where(np.isnan(self._last_time_s), 0.0, t - self._last_time_s)
        dt = np.maximum(dt, 0.0)
        self._last_time_s = t.copy()
        running = state[:, S["engine_state"]] >= _RUNNING
        stopped = self._last_key & ~key_on
        for i in np.flatnonzero(stopped):
            changes += self.end_drive_cycle(int(i))
        started = key_on & ~self._last_key
        self._start_coolant_c[started] = state[started, S["coolant_sensor_temp_c"]]
        self._start_fuel_energy_j[started] = state[started, S["fuel_energy_j"]]
        self._run_time_s[started] = 0.0
        self._misfire_window_rev[started] = state[started, S["engine_revolutions"]]
        self._misfire_window_count[started] = state[started, S["misfire_count"]]
        self._ect_ref_c[started] = state[started, S["coolant_sensor_temp_c"]]
        self._ect_ref_time_s[started] = 0.0
        self._last_key = key_on.copy()
        self._run_time_s += np.where(running, dt, 0.0)  # engine running time since key-on
        odometer_m = state[:, S["odometer_m"]]
        self.mil_distance_m = np.where(
            self.mil_on, odometer_m - self._mil_on_odometer_m, self.mil_distance_m
        )

        for j, code in enumerate(CODE_LIST):
            enabled, failing, evaluated = self._monitor(code, state, running)
            self._ran_in_cycle[:, j] |= enabled
            if evaluated is None:  # continuous monitor: failing long enough is one failure
                timer = np.where(enabled & failing, self._fail_timer_s[:, j] + dt, 0.0)
                failed = timer >= max(CODES[code].debounce_s, 1e-9)
                self._fail_timer_s[:, j] = np.where(failed, 0.0, timer)
            else:  # windowed monitor: a window's verdict is one failure
                failed = evaluated & failing
            for i in np.flatnonzero(failed):
                changes += self._fail(int(i), j, state[i])
        return changes

    def _monitor(self, code: str, state: np.ndarray, running: np.ndarray):
        """(enabled, failing, evaluated) per vehicle; ``evaluated`` is None for continuous ones."""
        col = state.__getitem__
        p = self._params
        ect = col((slice(None), S["coolant_sensor_temp_c"]))
        if code == "P0128":
            lo, hi = THERMOSTAT_AMBIENT_RANGE_C
            target = p[:, P["thermostat_open_c"]] - THERMOSTAT_MARGIN_K
            warmup_j = (
                p[:, P["coolant_capacity_jpk"]]
                * (target - self._start_coolant_c)
                / p[:, P["heat_to_coolant_frac"]]
            )
            burnt_j = col((slice(None), S["fuel_energy_j"])) - self._start_fuel_energy_j
            enabled = (
                running
                & (self._ambient_c >= lo)
                & (self._ambient_c <= hi)
                & (self._start_coolant_c < target - 10.0)
                & (self._run_time_s >= THERMOSTAT_MIN_RUNNING_S)
                & (burnt_j >= THERMOSTAT_WARMUP_ENERGY_MULTIPLE * warmup_j)
                # A coolant sensor under suspicion cannot judge the thermostat (fault inhibition).
                & (self.status[:, CODE_LIST.index("P0116")] == NONE)
            )
            return enabled, ect < target, None
        if code == "P0217":
            return running, ect > OVER_TEMPERATURE_C, None
        if code == "P0301":
            revs = col((slice(None), S["engine_revolutions"])) - self._misfire_window_rev
            evaluated = running & (revs >= MISFIRE_WINDOW_REV)
            missed = col((slice(None), S["misfire_count"])) - self._misfire_window_count
            events = revs / 2.0  # one combustion event of a cylinder every two revolutions
            rate = np.divide(missed, events, out=np.zeros_like(missed), where=events > 0)
            self._misfire_window_rev = np.where(
                evaluated | ~running,
                col((slice(None), S["engine_revolutions"])),
                self._misfire_window_rev,
            )
            self._misfire_window_count = np.where(
                evaluated | ~running,
                col((slice(None), S["misfire_count"])),
                self._misfire_window_count,
            )
            return running, rate > MISFIRE_RATE_LIMIT_FRAC, evaluated
        if code == "P0171":
            enabled = running & (ect >= p[:, P["warm_coolant_temp_c"]])
            return enabled, col((slice(None), S["fuel_trim_frac"])) >= FUEL_TRIM_FAIL_FRAC, None
        if code == "P0730":
            input_rpm = col((slice(None), S["gearbox_input_rpm"]))
            enabled = (
                running
                & (col((slice(None), S["driveline_locked"])) > 0.5)
                & (col((slice(None), S["throttle_frac"])) > GEAR_MONITOR_MIN_PEDAL_FRAC)
                & (col((slice(None), S["shift_timer_s"])) <= 0.0)
                & (input_rpm > GEAR_MONITOR_MIN_INPUT_IDLE_MULTIPLE * p[:, P["idle_speed_rpm"]])
            )
            rpm = col((slice(None), S["engine_speed_rpm"]))
            slip = np.divide(rpm, input_rpm, out=np.ones_like(rpm), where=input_rpm > 0) - 1.0
            return enabled, slip > GEAR_SLIP_FAIL_FRAC, None
        if code == "P0116":
            window_done = running & (self._run_time_s - self._ect_ref_time_s >= ECT_STUCK_WINDOW_S)
            stuck = np.abs(ect - self._ect_ref_c) < ECT_STUCK_CHANGE_K
            failing = stuck & (ect < ECT_STUCK_BELOW_C)
            self._ect_ref_c = np.where(window_done, ect, self._ect_ref_c)
            self._ect_ref_time_s = np.where(window_done, self._run_time_s, self._ect_ref_time_s)
            return running, failing, window_done
        if code == "P0500":
            enabled = (
                running
                & (col((slice(None), S["driveline_locked"])) > 0.5)
                & (col((slice(None), S["gearbox_input_rpm"])) > VSS_MIN_INPUT_RPM)
            )
            return enabled, col((slice(None), S["speed_sensor_mps"])) < VSS_ZERO_MPS, None
        raise KeyError(code)

    def _fail(self, i: int, j: int, row: np.ndarray) -> list[DtcChange]:
        code = CODE_LIST[j]
        t = float(row[S["time_s"]])
        self._failed_in_cycle[i, j] = True
        self._clean_cycles[i] = 0
        if self.status[i, j] == NONE:
            self.status[i, j] = PENDING
            frame = {c: round(float(row[S[c]]), 4) for c in FREEZE_FRAME_COLUMNS}
            if self.freeze_frame[i] is None:
                self.freeze_frame[i] = frame
                self.freeze_code[i] = code
            return [DtcChange(i, code, "pending", t, bool(self.mil_on[i]), frame)]
        if self.status[i, j] == PENDING:
            self.status[i, j] = CONFIRMED
            if not self.mil_on[i]:
                self._mil_on_odometer_m[i] = row[S["odometer_m"]]
                self.mil_distance_m[i] = 0.0
            self.mil_on[i] = True
            return [DtcChange(i, code, "confirmed", t, True, self.freeze_frame[i])]
        return []

    def end_drive_cycle(self, i: int, time_s: float | None = None) -> list[DtcChange]:
        """Close vehicle ``i``'s drive cycle: erase passed pending codes, count MIL-off cycles."""
        t = float(self._last_time_s[i]) if time_s is None else time_s
        changes = []
        passed = self._ran_in_cycle[i] & ~self._failed_in_cycle[i]
        for j in np.flatnonzero(passed & (self.status[i] == PENDING)):
            self.status[i, j] = NONE
            changes.append(DtcChange(i, CODE_LIST[j], "cleared", t, bool(self.mil_on[i])))
        confirmed = self.status[i] == CONFIRMED
        if self.mil_on[i] and not self._failed_in_cycle[i].any():
            if np.all(passed[confirmed]):
                self._clean_cycles[i] += 1
            if self._clean_cycles[i] >= MIL_OFF_DRIVE_CYCLES:
                self.mil_on[i] = False
                changes += [
                    DtcChange(i, CODE_LIST[j], "mil_off", t, False)
                    for j in np.flatnonzero(confirmed)
                ]
        self._ran_in_cycle[i] = False
        self._failed_in_cycle[i] = False
        self._fail_timer_s[i] = 0.0
        return changes

    def clear(self, i: int) -> None:
        """Mode 04: erase vehicle ``i``'s codes, freeze frame and monitor progress; MIL off."""
        self.status[i] = NONE
        self.mil_on[i] = False
        self.mil_distance_m[i] = 0.0
        self.freeze_frame[i] = None
        self.freeze_code[i] = None
        self._fail_timer_s[i] = 0.0
        self._failed_in_cycle[i] = False
        self._ran_in_cycle[i] = False
        self._clean_cycles[i] = 0


def dtc_status_key(code: str) -> str:
    """The ``Simulator.snapshot`` key of ``code``'s status (0 none, 1 pending, 2 confirmed)."""
    return f"dtc_{code}_status"


def describe(code: str) -> str:
    return CODES[code].description
