"""Running the kernel: a live :class:`Simulator` for one car or a fleet, and offline helpers.

The simulator holds the struct-of-arrays (state, inputs, parameters) and is the only owner of
time: ``advance`` runs the kernel loop for whole steps of ``dt_s``. Commands and driver choices
are written into the input rows between steps and take effect at the next step. Offline mode is
:func:`simulate` (as fast as possible); paced real time is the caller sleeping between
``advance`` calls (see ``vehsim.stream.runtime``), so both share one step function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehsim.commands import Command, parse_command
from vehsim.constants import (
    AIR_DENSITY_ISA_KGPM3,
    GASOLINE_DENSITY_GPL,
    GASOLINE_DENSITY_KGPL,
    MPS_PER_MPH,
)
from vehsim.cycles import Cycle, load_cycle
from vehsim.diagnostic_features import controller_load
from vehsim.diagnostics import (
    CODE_LIST,
    CONFIRMED,
    PENDING,
    Diagnostics,
    DtcChange,
    dtc_status_key,
)
from vehsim.driver_profiles import PROFILE_NAMES, load_driver_profiles, profile_index
from vehsim.errors import CommandError, ParameterError
from vehsim.faults import FAULT_NAMES, FaultSpec, onset_column, severity_column
from vehsim.kernel import N_INPUT, N_PARAM, N_STATE, empty_records, run_fleet
from vehsim.layout import (
    DRIVER_COMMANDS,
    DRIVER_CYCLE,
    DRIVER_PROFILE,
    PARAM_COLUMNS,
    STATE_COLUMNS,
    I,
    P,
    S,
)
from vehsim.params import MAX_CURVE_POINTS, MAX_GEARS, VehicleParams
from vehsim.physics.accessories import climate_power_w, load_climate_control
from vehsim.physics.driver import profile_eco_bias
from vehsim.physics.environment import air_density_kgpm3
from vehsim.physics.options import SUBMODELS, code_column, option_code
from vehsim.units import l_per_100km_to_mpg
from vehsim.vehicle_state import STATE_COLUMNS_SET, VehicleState, load_state

STARTS = ("cold", "hot", "off")
#: Engine temperatures of a hot start (after EPA's 10-minute soak the engine is still warm).
HOT_START_TEMP_C = 85.0
DEFAULT_SHIFT_ECO_BIAS = 0.6
#: Largest wear time scale [-]: a year of daily driving in well under a minute of a demo.
MAX_WEAR_TIME_SCALE = 1e6
#: Names of the driver modes in telemetry (``driver_mode``): the cycle follower, else the profile.
DRIVER_MODE_CYCLE = "cycle"
#: State columns that hold an engine temperature: they start at ambient (cold) or warm (hot).
ENGINE_TEMPERATURE_COLUMNS = tuple(c for c in STATE_COLUMNS if c.endswith("_temp_c"))


class Simulator:
    """One car or a fleet stepping together.

    Args:
        vehicles: parameter sets, one per vehicle.
        dt_s: fixed step [s] (default 0.01).
        seed: seed of the per-vehicle generators (profile drivers).
        ambient_temp_c, altitude_m, wind_mps: environment (scalars or one value per vehicle).
        solar_load_wpm2: sun on the car [W/m²] (850 in the SC03 test); with the ambient it sets
            the climate control's load on the engine (``physics/accessories.py``).
        start: ``"cold"`` (engine starts at ambient temperature), ``"hot"`` (warm engine) or
            ``"off"`` (engine off at ambient temperature until a start command).
        state: where the car starts (``vehsim.vehicle_state``): a :class:`VehicleState`, the
            path of a state file, or one of either per vehicle; ``None``: a new car.
        wear_time_scale: wear advances this many times faster than the rest of the physics
            (scalar or one per vehicle; 1 is real time).
    """

    def __init__(
        self,
        vehicles: Sequence[VehicleParams],
        dt_s: float = 0.01,
        seed: int = 0,
        ambient_temp_c: float | Sequence[float] = 20.0,
        altitude_m: float | Sequence[float] = 0.0,
        wind_mps: float | Sequence[float] = 0.0,
        start: str = "off",
        solar_load_wpm2: float | Sequence[float] = 0.0,
        state: VehicleState | str | Path | Sequence[VehicleState | str | Path] | None = None,
        wear_time_scale: float | Sequence[float] = 1.0,
    ):
        if not vehicles:
            raise ParameterError("a simulator needs at least one vehicle")
        if not (isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and 0.001 <= dt_s <= 1.0):
            raise ParameterError(f"dt_s must be from 0.001 to 1.0 s, got {dt_s!r}")
        if start not in STARTS:
            raise ParameterError(f"start must be one of {list(STARTS)}, got {start!r}")
        self.vehicles = list(vehicles)
        self.dt_s = float(dt_s)
        self.seed = int(seed)
        n = len(self.vehicles)
        self.params = np.zeros((n, N_PARAM))
        self.ratios = np.zeros((n, MAX_GEARS))
        self.curve_rpm = np.zeros((n, MAX_CURVE_POINTS))
        self.curve_nm = np.zeros((n, MAX_CURVE_POINTS))
        self.n_curve = np.zeros(n, dtype=np.int64)
        for i, v in enumerate(self.vehicles):
            for key, value in v.values.items():
                self.params[i, P[key]] = value
            for submodel in SUBMODELS:
                self.params[i, P[code_column(submodel)]] = option_code(
                    submodel, v.submodel(submodel), v.name
                )
            self.params[i, P["n_gears"]] = v.n_gears
            self.ratios[i, : v.n_gears] = v.gear_ratios
            k = len(v.torque_curve_rpm)
            self.curve_rpm[i, :k] = v.torque_curve_rpm
            self.curve_nm[i, :k] = v.torque_curve_nm
            self.n_curve[i] = k

        def per_vehicle(value, name):
            arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
            if not np.all(np.isfinite(arr)):
                raise ParameterError(f"{name} must be finite")
            return arr

        ambient = per_vehicle(ambient_temp_c, "ambient_temp_c")
        altitude = per_vehicle(altitude_m, "altitude_m")
        if np.any((ambient < -40) | (ambient > 55)):
            raise ParameterError("ambient_temp_c must be from -40 to 55 °C")
        if np.any((altitude < -500) | (altitude > 5000)):
            raise ParameterError("altitude_m must be from -500 to 5000 m")
        solar = per_vehicle(solar_load_wpm2, "solar_load_wpm2")
        if np.any((solar < 0) | (solar > 1500)):
            raise ParameterError("solar_load_wpm2 must be from 0 to 1500 W/m²")
        self.params[:, P["climate_power_w"]] = climate_power_w(
            ambient, solar, load_climate_control()
        )
        self.inputs = np.zeros((n, N_INPUT))
        self.inputs[:, I["ambient_temp_c"]] = ambient
        self.inputs[:, I["air_density_ratio"]] = [
            air_density_kgpm3(a, t) / AIR_DENSITY_ISA_KGPM3
            for a, t in zip(altitude, ambient, strict=True)
        ]
        self.inputs[:, I["wind_mps"]] = per_vehicle(wind_mps, "wind_mps")
        self.inputs[:, I["grade_override_frac"]] = np.nan
        self.inputs[:, I["fuel_tank_initial_l"]] = self.params[:, P["fuel_tank_l"]]
        self._set_profile(slice(None), PROFILE_NAMES.index("normal"))
        self.inputs[:, I["shift_eco_bias"]] = [
            v.meta.get("shift_eco_bias", DEFAULT_SHIFT_ECO_BIAS) for v in self.vehicles
        ]
        self.inputs[:, I["engine_request"]] = 0.0 if start == "off" else 1.0

        self.state = np.zeros((n, N_STATE))
        engine_temp = np.full(n, HOT_START_TEMP_C) if start == "hot" else ambient
        for column in ENGINE_TEMPERATURE_COLUMNS:
            self.state[:, S[column]] = engine_temp
        self.state[:, S["gear"]] = 1.0
        self.state[:, S["oil_life_frac"]] = 1.0
        self.set_wear_time_scale(slice(None), wear_time_scale)
        if state is not None:
            states = [state] * n if isinstance(state, (VehicleState, str, Path)) else list(state)
            if len(states) != n:
                raise ParameterError(f"state: need one per vehicle ({n}), got {len(states)}")
            for i, one in enumerate(states):
                self.restore_state(i, one)
        seeds = np.random.SeedSequence(self.seed).generate_state(n, dtype=np.uint64)
        self.rng = np.where(seeds == 0, np.uint64(0x9E3779B97F4A7C15), seeds).astype(np.uint64)

        self._cycles: list[Cycle] = []
        self._cycle_speed = np.zeros((1, 2))
        self._cycle_grade = np.zeros((1, 2))
        self._cycle_len = np.full(1, 2, dtype=np.int64)
        self._steps_done = 0
        self._carry_s = 0.0
        #: The on-board diagnostics of every vehicle, and every change of a code's status.
        self.diagnostics = Diagnostics(self.params, ambient)
        self.dtc_log: list[DtcChange] = []

    # --- configuration between steps ----------------------------------------------------------
    @property
    def n_vehicles(self) -> int:
        return len(self.vehicles)

    @property
    def time_s(self) -> float:
        return self._steps_done * self.dt_s

    def _cycle_index(self, cycle: Cycle) -> int:
        for k, known in enumerate(self._cycles):
            if (
                known is cycle
                or known.name == cycle.name
                and len(known.speed_mps) == len(cycle.speed_mps)
                and np.array_equal(known.speed_mps, cycle.speed_mps)
            ):
                return k
        self._cycles.append(cycle)
        width = max(len(c.speed_mps) for c in self._cycles)
        self._cycle_speed = np.zeros((len(self._cycles), width))
        self._cycle_grade = np.zeros((len(self._cycles), width))
        self._cycle_len = np.zeros(len(self._cycles), dtype=np.int64)
        for k, c in enumerate(self._cycles):
            self._cycle_speed[k, : len(c.speed_mps)] = c.speed_mps
            self._cycle_grade[k, : len(c.grade_frac)] = c.grade_frac
            self._cycle_len[k] = len(c.speed_mps)
        return len(self._cycles) - 1

    def _set_profile(self, i: int | slice, k: int) -> None:
        """Driver profile ``k`` for vehicle(s) ``i``: the profile driver's plan, the shift
        logic's eco bias and the pedal feel (data/driver_profiles.yaml) of profile and commands
        drivers."""
        rows = self.inputs[i]
        rows[..., I["profile"]] = k
        rows[..., I["shift_eco_bias"]] = profile_eco_bias(k)
        for column, value in load_driver_profiles()[PROFILE_NAMES[k]].input_values().items():
            rows[..., I[column]] = value

    def set_driver(self, i: int | slice, spec: str | Cycle) -> None:
        """Choose a vehicle's driver: ``"cycle:<name|path>"``, a :class:`Cycle`,
        ``"profile:<eco|normal|sport>"`` or ``"commands"``.

        Cycle and profile drivers start the engine themselves. A profile chosen here also gives
        the pedal feel that a later ``commands`` driver keeps.
        """
        rows = self.inputs[i]
        if isinstance(spec, Cycle) or (isinstance(spec, str) and spec.startswith("cycle:")):
            cycle = spec if isinstance(spec, Cycle) else load_cycle(spec.split(":", 1)[1])
            rows[..., I["driver_mode"]] = DRIVER_CYCLE
            rows[..., I["cycle_index"]] = self._cycle_index(cycle)
            rows[..., I["engine_request"]] = 1.0
            self.state[i, S["driver_time_s"]] = 0.0
        elif isinstance(spec, str) and spec.startswith("profile:"):
            k = profile_index(spec.split(":", 1)[1])
            rows[..., I["driver_mode"]] = DRIVER_PROFILE
            self._set_profile(i, k)
            rows[..., I["engine_request"]] = 1.0
        elif spec == "commands":
            rows[..., I["driver_mode"]] = DRIVER_COMMANDS
        else:
            raise ParameterError(
                f"driver must be 'cycle:<name>', 'profile:<eco|normal|sport>' or 'commands', got {spec!r}"
            )

    def set_environment(
        self, i: int | slice, *, grade_frac: float | None = None, wind_mps: float | None = None
    ) -> None:
        """Override road grade (``None`` restores the cycle's) and wind for vehicle(s) ``i``."""
        if grade_frac is not None and not (math.isfinite(grade_frac) and abs(grade_frac) <= 0.3):
            raise ParameterError(f"grade_frac must be within -0.3 to 0.3, got {grade_frac!r}")
        self.inputs[i, I["grade_override_frac"]] = np.nan if grade_frac is None else grade_frac
        if wind_mps is not None:
            if not (math.isfinite(wind_mps) and abs(wind_mps) <= 40):
                raise ParameterError(f"wind_mps must be within -40 to 40 m/s, got {wind_mps!r}")
            self.inputs[i, I["wind_mps"]] = wind_mps

    def set_wear_time_scale(self, i: int | slice, scale: float | Sequence[float]) -> None:
        """Make wear of vehicle(s) ``i`` advance ``scale`` times faster than the rest of the
        physics (1: real time; 0 freezes wear)."""
        arr = np.asarray(scale, dtype=float)
        if not np.all(np.isfinite(arr) & (arr >= 0.0) & (arr <= MAX_WEAR_TIME_SCALE)):
            raise ParameterError(
                f"wear_time_scale must be from 0 to {MAX_WEAR_TIME_SCALE:g}, got {scale!r}"
            )
        self.inputs[i, I["wear_time_scale"]] = arr

    def restore_state(self, i: int, state: VehicleState | str | Path) -> None:
        """Start vehicle ``i`` where ``state`` left a car: odometer, wear, oil life, fuel level.

        ``state`` is a :class:`VehicleState` or the path of a state file; one saved from another
        vehicle is refused. Values are set bit for bit as stored.
        """
        if not isinstance(state, VehicleState):
            state = load_state(state)
        vehicle = self.vehicles[i]
        if state.vehicle is not None and state.vehicle != vehicle.name:
            raise ParameterError(
                f"the vehicle state was saved from {state.vehicle!r}, not from {vehicle.name!r}; "
                "use a state file of this vehicle (or remove 'vehicle' from the file)"
            )
        tank_l = float(self.params[i, P["fuel_tank_l"]])
        if state.fuel_level_l is not None and state.fuel_level_l > tank_l:
            raise ParameterError(
                f"vehicle state: fuel_level_l = {state.fuel_level_l:g} L is more than the "
                f"{tank_l:g} L tank of {vehicle.name}"
            )
        for column in STATE_COLUMNS_SET:
            self.state[i, S[column]] = getattr(state, column)
        if state.fuel_level_l is not None:
            # The kernel counts fuel used from the initial fill: the level becomes the fill.
            self.state[i, S["fuel_used_g"]] = 0.0
            self.inputs[i, I["fuel_tank_initial_l"]] = state.fuel_level_l

    def vehicle_state(self, i: int) -> VehicleState:
        """Vehicle ``i``'s lasting state now (to save with :meth:`VehicleState.save`)."""
        row = self.state[i]
        fuel_l = (
            float(self.inputs[i, I["fuel_tank_initial_l"]])
            - float(row[S["fuel_used_g"]]) / GASOLINE_DENSITY_GPL
        )
        return VehicleState(
            **{column: float(row[S[column]]) for column in STATE_COLUMNS_SET},
            fuel_level_l=max(fuel_l, 0.0),
            vehicle=self.vehicles[i].name,
        )

    def save_state(self, i: int, path: str | Path) -> Path:
        """Write vehicle ``i``'s lasting state to ``path`` (JSON, ``vehsim.vehicle_state``)."""
        return self.vehicle_state(i).save(path)

    def apply(self, i: int, command: Command | dict[str, Any]) -> Command:
        """Apply a driver command to vehicle ``i`` at the next step; returns the validated command."""
        if not 0 <= i < self.n_vehicles:
            raise CommandError(
                f"vehicle index {i} out of range (0 to {self.n_vehicles - 1})",
                field="vehicle_id",
                reason="unknown_vehicle",
            )
        cmd = command if isinstance(command, Command) else parse_command(command)
        row = self.inputs[i]
        if cmd.type == "start_engine":
            row[I["engine_request"]] = 1.0
        elif cmd.type == "stop_engine":
            row[I["engine_request"]] = 0.0
        elif cmd.type == "throttle":
            row[I["throttle_cmd_frac"]] = float(cmd.value) / 100.0
        elif cmd.type == "brake":
            row[I["brake_cmd_frac"]] = float(cmd.value) / 100.0
        elif cmd.type == "gear_mode":
            row[I["gear_mode"]] = 1.0 if cmd.value == "manual" else 0.0
            row[I["gear_cmd"]] = self.state[i, S["gear"]]
        elif cmd.type == "gear":
            n_gears = self.vehicles[i].n_gears
            if float(cmd.value) > n_gears:
                raise CommandError(
                    f"gear: value {cmd.value:g} exceeds this car's {n_gears} gears",
                    field="value",
                    reason="out_of_range",
                )
            row[I["gear_cmd"]] = float(cmd.value)
        elif cmd.type == "inject_fault":
            spec = cmd.fault_spec()
            now_s = float(self.state[i, S["time_s"]])
            self.inject_fault(i, FaultSpec(spec.name, spec.severity, now_s + spec.onset_s))
        elif cmd.type == "clear_fault":
            self.clear_fault(i, str(cmd.value))
        elif cmd.type == "clear_dtc":
            self.clear_dtc(i)
        elif cmd.type == "profile":
            self._set_profile(i, profile_index(str(cmd.value), warn=False))
        return cmd

    # --- faults ---------------------------------------------------------------------------------
    def inject_fault(self, i: int | slice, spec: FaultSpec) -> None:
        """Give vehicle(s) ``i`` a fault from ``spec.onset_s`` [s of the vehicle's time].

        Faults are parameters: they take effect at the next step, and a severity of 0 is the
        healthy car.
        """
        self.params[i, P[severity_column(spec.name)]] = spec.severity
        self.params[i, P[onset_column(spec.name)]] = spec.onset_s

    def clear_fault(self, i: int | slice, name: str = "all") -> None:
        """Repair fault ``name`` (or every fault) of vehicle(s) ``i``; stored codes stay."""
        for fault_name in FAULT_NAMES if name == "all" else (name,):
            self.params[i, P[severity_column(fault_name)]] = 0.0
            self.params[i, P[onset_column(fault_name)]] = 0.0

    def faults(self, i: int) -> list[FaultSpec]:
        """The faults injected into vehicle ``i`` (including those whose onset is ahead)."""
        return [
            FaultSpec(
                name,
                float(self.params[i, P[severity_column(name)]]),
                float(self.params[i, P[onset_column(name)]]),
            )
            for name in FAULT_NAMES
            if self.params[i, P[severity_column(name)]] > 0.0
        ]

    def dtc(self, i: int) -> dict[str, Any]:
        """Vehicle ``i``'s diagnostic status: confirmed and pending codes, MIL, freeze frame."""
        return {
            "mil_on": bool(self.diagnostics.mil_on[i]),
            "confirmed": self.diagnostics.codes(i, CONFIRMED),
            "pending": self.diagnostics.codes(i, PENDING),
            "freeze_frame": self.diagnostics.freeze_frame[i],
            "freeze_frame_code": self.diagnostics.freeze_code[i],
        }

    def clear_dtc(self, i: int) -> None:
        """Clear vehicle ``i``'s codes, freeze frame and MIL (a scan tool's mode 04); each code
        that was stored becomes a ``cleared`` change (:meth:`drain_dtc_changes`)."""
        stored = self.diagnostics.codes(i, CONFIRMED) + self.diagnostics.codes(i, PENDING)
        self.diagnostics.clear(i)
        now_s = float(self.state[i, S["time_s"]])
        self.dtc_log += [DtcChange(i, code, "cleared", now_s, False) for code in stored]

    def drain_dtc_changes(self) -> list[DtcChange]:
        """The code changes since the last call (for ``diagnostic.dtc`` events)."""
        out, self.dtc_log = self.dtc_log, []
        return out

    def _diagnose(self, records: np.ndarray) -> None:
        key_on = self.inputs[:, I["engine_request"]] > 0.5
        rows = records if len(records) else self.state[None, :, :]
        for row in rows:
            self.dtc_log += self.diagnostics.update(row, key_on)

    # --- time -----------------------------------------------------------------------------------
    def run_steps(self, n_steps: int, record_every: int = 0) -> np.ndarray:
        """Run ``n_steps`` steps; return records ``[n_records, n_vehicles, n_state]``."""
        n_records = n_steps // record_every if record_every > 0 else 0
        records = empty_records(n_records, self.n_vehicles)
        if n_steps > 0:
            run_fleet(
                self.state,
                self.inputs,
                self.params,
                self.ratios,
                self.curve_rpm,
                self.curve_nm,
                self.n_curve,
                self._cycle_speed,
                self._cycle_grade,
                self._cycle_len,
                self.rng,
                self.dt_s,
                int(n_steps),
                int(record_every),
                records,
            )
            self._steps_done += int(n_steps)
            self._diagnose(records)
        return records

    def advance(self, duration_s: float) -> int:
        """Advance by ``duration_s`` in whole steps (the remainder carries over); returns steps run."""
        if not (math.isfinite(duration_s) and duration_s >= 0):
            raise ParameterError(f"duration_s must be a finite number >= 0, got {duration_s!r}")
        total = self._carry_s + duration_s
        n_steps = int(total / self.dt_s + 1e-9)
        self._carry_s = total - n_steps * self.dt_s
        self.run_steps(n_steps)
        return n_steps

    def snapshot(self) -> dict[str, np.ndarray]:
        """Current telemetry per vehicle (copies), SI names, plus ``engine_on``; the names
        ``vehicle_model``, ``driver_mode`` and ``gear_mode`` are arrays of text."""
        out = {name: self.state[:, k].copy() for name, k in S.items()}
        out["engine_on"] = self.state[:, S["engine_state"]] >= 2
        out["ambient_temp_c"] = self.inputs[:, I["ambient_temp_c"]].copy()
        tank_g = self.inputs[:, I["fuel_tank_initial_l"]] * GASOLINE_DENSITY_GPL  # as the kernel
        out["fuel_level_frac"] = np.clip(
            (tank_g - self.state[:, S["fuel_used_g"]])
            / (self.params[:, P["fuel_tank_l"]] * GASOLINE_DENSITY_GPL),
            0.0,
            1.0,
        )
        # What the engine controller knows (SAE J1979 mode 01): MIL, each code's status
        # (vehsim.diagnostics: 0 none, 1 pending, 2 confirmed), run time, distance with the MIL
        # on, calculated load.
        out["mil_on"] = self.diagnostics.mil_on.copy()
        for j, code in enumerate(CODE_LIST):
            out[dtc_status_key(code)] = self.diagnostics.status[:, j].copy()
        out["engine_run_time_s"] = self.diagnostics.engine_run_time_s
        out["mil_distance_m"] = self.diagnostics.mil_distance_m.copy()
        # The calculated load (J1979 PID 04) and the torque the pedal asks (PID 61).
        out["engine_load_frac"], out["engine_demand_torque_nm"] = controller_load(
            self.state[:, S["engine_torque_nm"]],
            self.state[:, S["throttle_frac"]],
            self._full_load_torque_nm(),
        )
        # Who and what: the vehicle's name, the driver (cycle follower or a profile's name),
        # automatic or held gears, engine power, and the wear time scale.
        out["vehicle_model"] = np.array([v.name for v in self.vehicles], dtype=object)
        out["driver_mode"] = self._driver_mode_names()
        out["gear_mode"] = np.where(self.inputs[:, I["gear_mode"]] > 0.5, "manual", "auto")
        out["engine_power_w"] = (
            self.state[:, S["engine_torque_nm"]] * self.state[:, S["engine_speed_rpm"]] * math.pi
        ) / 30.0
        out["wear_time_scale"] = self.inputs[:, I["wear_time_scale"]].copy()
        return out

    def _driver_mode_names(self) -> np.ndarray:
        """Per vehicle, ``"cycle"`` for the cycle follower, else the driver profile's name (the
        profile driver's, or the pedal feel of a commands driver)."""
        names = np.array(PROFILE_NAMES, dtype=object)[self.inputs[:, I["profile"]].astype(int)]
        return np.where(
            self.inputs[:, I["driver_mode"]] == DRIVER_CYCLE, DRIVER_MODE_CYCLE, names
        ).astype(object)

    def _full_load_torque_nm(self) -> np.ndarray:
        """Full-load torque of the healthy engine at its current speed, per vehicle [N m]; 0
        with the engine off."""
        rpm = self.state[:, S["engine_speed_rpm"]]
        out = np.zeros(self.n_vehicles)
        for i in np.flatnonzero((self.state[:, S["engine_state"]] >= 2) & (rpm > 0)):
            k = self.n_curve[i]
            out[i] = np.interp(rpm[i], self.curve_rpm[i, :k], self.curve_nm[i, :k])
        return out


@dataclass
class Result:
    """Outcome of an offline run: 1 Hz telemetry, a summary, and the car's lasting state at the
    end (to start the next run from, ``vehsim.vehicle_state``)."""

    telemetry: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    vehicle_state: VehicleState | None = None

    def to_parquet(self, path) -> None:
        self.telemetry.to_parquet(path, index=False)


def summarize(final: np.ndarray, initial: np.ndarray, ambient_temp_c: float) -> dict[str, Any]:
    """Summary figures (user units) from a vehicle's final and initial state rows."""
    d = {name: float(final[k] - initial[k]) for name, k in S.items()}
    distance_m = d["odometer_m"]
    fuel_l = d["fuel_used_g"] / 1e3 / GASOLINE_DENSITY_KGPL
    l_per_100km = fuel_l / (distance_m / 1e5) if distance_m > 1.0 else math.inf
    return {
        "duration_s": round(float(d["time_s"]), 3),
        "distance_km": round(distance_m / 1e3, 4),
        "fuel_l": round(fuel_l, 5),
        "fuel_l_per_100km": round(l_per_100km, 3),
        "mpg": round(l_per_100km_to_mpg(l_per_100km), 3)
        if math.isfinite(l_per_100km) and l_per_100km > 0
        else None,
        "max_speed_error_mph": round(float(final[S["max_speed_error_mps"]]) / MPS_PER_MPH, 3),
        "time_outside_tolerance_s": round(float(final[S["time_outside_tolerance_s"]]), 2),
        "final_coolant_temp_c": round(float(final[S["coolant_temp_c"]]), 2),
        "final_oil_temp_c": round(float(final[S["oil_temp_c"]]), 2),
        "ambient_temp_c": ambient_temp_c,
        "fuel_energy_mj": round(d["fuel_energy_j"] / 1e6, 4),
        "wheel_work_mj": round(d["wheel_work_j"] / 1e6, 4),
        "brake_energy_mj": round(d["brake_energy_j"] / 1e6, 4),
        "engine_wear_pct_delta": float(d["engine_wear_frac"] * 100),
        "gearbox_wear_pct_delta": float(d["gearbox_wear_frac"] * 100),
        "brake_pad_wear_pct_delta": float(d["brake_pad_wear_frac"] * 100),
        "tyre_wear_pct_delta": float(d["tyre_wear_frac"] * 100),
        "oil_life_pct_delta": float(d["oil_life_frac"] * 100),
    }


def telemetry_frame(records: np.ndarray, vehicle: int = 0) -> pd.DataFrame:
    frame = pd.DataFrame(records[:, vehicle, :], columns=list(STATE_COLUMNS))
    for col in ("engine_state", "gear", "fan_on", "fuel_cutoff", "out_of_fuel", "profile_phase"):
        frame[col] = frame[col].astype("int8")
    return frame


def simulate(
    params: VehicleParams,
    cycle: Cycle | str,
    dt_s: float = 0.01,
    seed: int = 0,
    ambient_temp_c: float = 20.0,
    start: str = "cold",
    record_every_s: float = 1.0,
    altitude_m: float = 0.0,
    wind_mps: float = 0.0,
    faults: Sequence[FaultSpec] = (),
    state: VehicleState | str | Path | None = None,
    wear_time_scale: float = 1.0,
) -> Result:
    """Drive one vehicle over a cycle, as fast as possible; telemetry every ``record_every_s``.

    ``faults`` are injected from their onset (``vehsim.faults``); the on-board diagnostics run
    on every telemetry record, and the summary lists the faults and the codes they set.
    ``state``: where the car starts (a :class:`VehicleState` or a state file; default a new
    car); ``wear_time_scale``: wear advances this many times faster. The result's
    ``vehicle_state`` is the car's state at the end.
    """
    if start == "off":
        raise ParameterError("simulate drives a cycle: start must be 'cold' or 'hot'")
    cycle = cycle if isinstance(cycle, Cycle) else load_cycle(cycle)
    sim = Simulator(
        [params],
        dt_s=dt_s,
        seed=seed,
        ambient_temp_c=ambient_temp_c,
        start=start,
        altitude_m=altitude_m,
        wind_mps=wind_mps,
        state=state,
        wear_time_scale=wear_time_scale,
    )
    sim.set_driver(0, cycle)
    for spec in faults:
        sim.inject_fault(0, spec)
    initial = sim.state[0].copy()
    n_steps = int(round(cycle.duration_s / dt_s))
    every = max(int(round(record_every_s / dt_s)), 1)
    records = sim.run_steps(n_steps, every)
    frame = telemetry_frame(records)
    summary = {
        "vehicle": params.name,
        "cycle": cycle.name,
        "dt_s": dt_s,
        "seed": seed,
        "start": start,
        "wear_time_scale": float(wear_time_scale),
        **summarize(sim.state[0], initial, ambient_temp_c),
        **_hybrid_summary(params, sim.state[0], initial),
        **_diagnostic_summary(sim, 0),
    }
    return Result(frame, summary, sim.vehicle_state(0))


def _hybrid_summary(params: VehicleParams, final: np.ndarray, initial: np.ndarray) -> dict:
    """A mild hybrid's machine over the run (summary fields; none for other vehicles): braking it
    took from the pads at the wheels, work it gave at the crank, energy left in its battery."""
    if params.submodel("hybrid") == "none":
        return {}
    return {
        "bsg_regen_mj": round(
            float(final[S["bsg_regen_work_j"]] - initial[S["bsg_regen_work_j"]]) / 1e6, 4
        ),
        "bsg_assist_mj": round(
            float(final[S["bsg_assist_work_j"]] - initial[S["bsg_assist_work_j"]]) / 1e6, 4
        ),
        "bsg_stored_kj": round(float(final[S["bsg_stored_j"]]) / 1e3, 2),
    }


def _diagnostic_summary(sim: Simulator, i: int) -> dict[str, Any]:
    """The faults of vehicle ``i`` and the codes its diagnostics set (summary fields)."""
    status = sim.dtc(i)
    return {
        "faults": [spec.as_dict() for spec in sim.faults(i)],
        "dtc_confirmed": status["confirmed"],
        "dtc_pending": status["pending"],
        "mil_on": status["mil_on"],
    }


def simulate_fleet(
    vehicles: Sequence[VehicleParams],
    cycle: Cycle | str,
    dt_s: float = 0.1,
    seed: int = 0,
    ambient_temp_c: float = 20.0,
    start: str = "cold",
    faults: Sequence[Sequence[FaultSpec]] | None = None,
) -> pd.DataFrame:
    """Drive a fleet over one cycle with summary-only output (one row per vehicle).

    ``faults``: per vehicle, the faults to inject (``vehsim.faults.random_faults`` draws a
    seeded assignment). With faults the diagnostics run on 1 Hz records and each row gains
    ``faults``, ``dtc_confirmed``, ``dtc_pending`` and ``mil_on``.
    """
    cycle = cycle if isinstance(cycle, Cycle) else load_cycle(cycle)
    sim = Simulator(vehicles, dt_s=dt_s, seed=seed, ambient_temp_c=ambient_temp_c, start=start)
    sim.set_driver(slice(None), cycle)
    if faults is not None:
        if len(faults) != len(vehicles):
            raise ParameterError(
                f"faults: need one list per vehicle ({len(vehicles)}), got {len(faults)}"
            )
        for i, specs in enumerate(faults):
            for spec in specs:
                sim.inject_fault(i, spec)
    initial = sim.state.copy()
    every = max(int(round(1.0 / dt_s)), 1) if faults is not None else 0
    sim.run_steps(int(round(cycle.duration_s / dt_s)), every)
    rows = [
        {
            **summarize(sim.state[i], initial[i], float(sim.inputs[i, I["ambient_temp_c"]])),
            **(_diagnostic_summary(sim, i) if faults is not None else {}),
        }
        for i in range(sim.n_vehicles)
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "vehicle", [v.name for v in vehicles])
    return frame


__all__ = ["Simulator", "Result", "simulate", "simulate_fleet", "summarize", "PARAM_COLUMNS"]
