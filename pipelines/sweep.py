"""Training data at scale: a sweep of simulated drives, run as a Spark job into Delta tables.

A sweep is the cross product of vehicles × fault conditions × drivers × ambient temperatures ×
starts (× replicates), declared in a YAML file (:class:`SweepConfig`, :func:`load_sweep_config`):

- **fault conditions**: with ``assignment: grid`` every fault of ``faults`` × ``severities`` ×
  ``onsets_s``, plus ``healthy`` healthy drives; with ``assignment: random`` one seeded draw per
  drive from the fleet API's :func:`vehsim.faults.random_faults` (``faulty_frac``,
  ``max_onset_s``, severities uniform in 0.3..1);
- **drivers**: a cycle follower for each of ``cycles`` and a profile driver for each of
  ``profiles`` (eco, normal, aggressive) driving ``profile_duration_s``. The simulator's driver
  follows either a trace or a profile, so the two lists add up into one driver dimension;
- **a queue at the end** (``idle_after_s``, default 0: none): every drive, cycle or profile,
  ends with that many seconds more, the car pulling up (at most :data:`QUEUE_DECEL_MPS2`) and
  then standing still with the engine running, as in a queue on a hot day. Standing still the
  radiator has no ram air, so only there does a car need its fan, and only there does a dead
  fan show (``docs/faults.md``). The cycle follower drives it on a standstill trace
  (:func:`queue_trace`) whatever drove before; the plan's ``duration_s`` includes it, and the
  labels give no driver profile to a window that reaches into it (the profile no longer drives).

``vehsim sweep --config FILE`` (:func:`run_sweep`) runs it as a Spark job: ``spark.range`` makes
one row per *slice* of the fleet, each in its own partition, and ``mapInArrow`` runs
:func:`simulate_drives` on the executors — the compiled kernel on a slice of drives — and
returns Arrow batches written straight to three Delta tables (``pipelines.catalog``):
``sweep/windows`` (telemetry features per one-minute window), ``sweep/drives`` (one summary per
drive, with the trouble codes the on-board diagnostics set and when) and ``sweep/labels`` (the
ground truth per window: fault, severity, onset, driver profile, and whether the fault shows in
the window at all, from the drive's *healthy twin* — for experiments only; the live path never
reads it). Locally the same command runs on ``local[*]`` with a progress bar.

**Determinism.** Every drive is simulated the same wherever it runs: its profile driver's
generator is seeded with what vehicle ``drive_id`` of one :class:`vehsim.Simulator` over the
whole sweep with ``seed`` would get (``SeedSequence(seed)``), and vehicles of a fleet do not
interact, so any slicing gives the same rows. :func:`simulate_sweep` runs the whole sweep in
this process (the reference the tests compare Spark's rows with, bit for bit).

**Windows** are :data:`WINDOW_S` seconds of 1 Hz telemetry ending every ``window_stride_s``,
built as ``vehsim score`` builds its live windows. Their features are those of
``vehsim.features`` (the functions Gold and the experiments use) and, in one place
(:data:`DIAGNOSTIC_FEATURES`), what the car's controllers report through OBD beside the
``simulation.raw`` payload: the coolant sensor's reading, the speed signal, fuel trim, misfire
count, gearbox input speed.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vehsim import features as fx
from vehsim.cycles import Cycle
from vehsim.diagnostic_features import (
    DIAGNOSTIC_FEATURES,
    SAMPLE_S,
    WINDOW_S,
    controller_load,
    diagnostic_features,
)
from vehsim.errors import ConfigError

ASSIGNMENTS = ("grid", "random")
STARTS = ("cold", "hot")
# WINDOW_S: length of a telemetry window [s of simulated time]; windows start every
# ``window_stride_s`` from the drive's start, and only whole windows are kept. SAMPLE_S: their
# sampling [s] (the live path's 1 Hz telemetry). Both those of the diagnostic features, which the
# live scorer computes the same way.
#: Vehicles simulated together in one kernel call at most (bounds a task's memory: records of
#: 64 vehicles over 30 min at 1 Hz are ~60 MB).
MAX_FLEET = 64
#: Largest sweep one command accepts [drives].
MAX_DRIVES = 1_000_000
#: Deceleration of the car pulling up at the end of a drive with ``idle_after_s`` [m/s²]: the
#: rate AASHTO's stopping sight distance assumes, comfortable for most drivers (A Policy on
#: Geometric Design of Highways and Streets, 2018, section 3.2.2: 3.4 m/s²); below the harsh
#: braking threshold of ``vehsim.features`` (0.4 g).
QUEUE_DECEL_MPS2 = 3.4


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: what to simulate (see the module doc). YAML keys are the field names."""

    name: str = "sweep"
    seed: int = 0
    vehicles: tuple[str, ...] = ()  # empty: every shipped vehicle
    cycles: tuple[str, ...] = ("udds",)
    profiles: tuple[str, ...] = ()
    profile_duration_s: float = 1200.0
    idle_after_s: float = 0.0  # standing still at the end of every drive [s]
    ambient_temps_c: tuple[float, ...] = (20.0,)
    starts: tuple[str, ...] = ("cold",)
    assignment: str = "grid"
    faults: tuple[str, ...] = ()  # empty: none (grid) / every fault (random); "all": every fault
    severities: tuple[float, ...] = (1.0,)
    onsets_s: tuple[float, ...] = (0.0,)
    healthy: int = 1
    faulty_frac: float = 0.5
    max_onset_s: float = 600.0
    replicates: int = 1
    dt_s: float = 0.1
    window_stride_s: int = 60

    def validate(self) -> SweepConfig:
        """Return the configuration with lists resolved, or raise ConfigError naming the field."""
        import vehsim
        from vehsim.faults import FAULT_NAMES
        from vehsim.physics.driver import PROFILE_NAMES

        try:  # a profile's former name still selects it while vehsim keeps the alias
            from vehsim.physics.driver import PROFILE_ALIASES
        except ImportError:
            PROFILE_ALIASES = {}  # noqa: N806

        def names(field_name: str, values, allowed: Sequence[str]) -> tuple[str, ...]:
            values = tuple(values)
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ConfigError(
                    f"sweep {field_name}: unknown {bad}; allowed: {', '.join(allowed)}"
                )
            if len(set(values)) != len(values):
                raise ConfigError(f"sweep {field_name}: listed twice: {values}")
            return values

        def numbers(field_name: str, values, lo: float, hi: float, unit: str) -> tuple[float, ...]:
            out = []
            for v in values:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ConfigError(f"sweep {field_name}: {v!r} is not a number")
                if not lo <= v <= hi:
                    raise ConfigError(
                        f"sweep {field_name}: {v:g} {unit} is outside {lo:g} to {hi:g} {unit}"
                    )
                out.append(float(v))
            return tuple(out)

        def whole(field_name: str, value, lo: int, hi: int) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ConfigError(f"sweep {field_name}: must be a whole number from {lo} to {hi}")
            return value

        if (
            not isinstance(self.name, str)
            or not self.name.replace("-", "").replace("_", "").isalnum()
        ):
            raise ConfigError(f"sweep name: letters, digits, '-' and '_' only, got {self.name!r}")
        if self.assignment not in ASSIGNMENTS:
            raise ConfigError(
                f"sweep assignment: must be one of {', '.join(ASSIGNMENTS)}, got {self.assignment!r}"
            )
        faults = tuple(self.faults)
        if faults == ("all",):
            faults = FAULT_NAMES
        cfg = SweepConfig(
            name=self.name,
            seed=whole("seed", self.seed, 0, 2**63 - 1),
            vehicles=names(
                "vehicles", self.vehicles or vehsim.list_vehicles(), vehsim.list_vehicles()
            ),
            cycles=names("cycles", self.cycles, vehsim.list_cycles()),
            profiles=names(
                "profiles",
                [PROFILE_ALIASES.get(p, p) for p in self.profiles],
                PROFILE_NAMES,
            ),
            profile_duration_s=numbers(
                "profile_duration_s", [self.profile_duration_s], WINDOW_S, 86_400, "s"
            )[0],
            idle_after_s=numbers("idle_after_s", [self.idle_after_s], 0, 86_400, "s")[0],
            ambient_temps_c=numbers("ambient_temps_c", self.ambient_temps_c, -40, 55, "°C"),
            starts=names("starts", self.starts, STARTS),
            assignment=self.assignment,
            faults=names("faults", faults, FAULT_NAMES),
            severities=numbers("severities", self.severities, 0.0, 1.0, ""),
            onsets_s=numbers("onsets_s", self.onsets_s, 0.0, 86_400, "s"),
            healthy=whole("healthy", self.healthy, 0, 1000),
            faulty_frac=numbers("faulty_frac", [self.faulty_frac], 0.0, 1.0, "")[0],
            max_onset_s=numbers("max_onset_s", [self.max_onset_s], 0.0, 86_400, "s")[0],
            replicates=whole("replicates", self.replicates, 1, 10_000),
            dt_s=numbers("dt_s", [self.dt_s], 0.01, 1.0, "s")[0],
            window_stride_s=whole("window_stride_s", self.window_stride_s, 1, WINDOW_S),
        )
        if not cfg.cycles and not cfg.profiles:
            raise ConfigError("sweep: list at least one of cycles or profiles")
        if not cfg.idle_after_s.is_integer():
            raise ConfigError(
                f"sweep idle_after_s: whole seconds only (the 1 Hz telemetry's samples), got "
                f"{cfg.idle_after_s:g} s"
            )
        for field_name in ("ambient_temps_c", "starts"):
            if not getattr(cfg, field_name):
                raise ConfigError(f"sweep {field_name}: list at least one")
        if cfg.assignment == "grid":
            if cfg.faults and (not cfg.severities or not cfg.onsets_s):
                raise ConfigError("sweep: faults need at least one of severities and onsets_s")
            if not cfg.faults and cfg.healthy == 0:
                raise ConfigError("sweep: no faults and healthy: 0 leaves nothing to simulate")
        steps = round(SAMPLE_S / cfg.dt_s)
        if abs(steps * cfg.dt_s - SAMPLE_S) > 1e-9:
            raise ConfigError(f"sweep dt_s: must divide {SAMPLE_S:g} s, got {cfg.dt_s:g}")
        if cfg.n_drives() > MAX_DRIVES:
            raise ConfigError(f"sweep: {cfg.n_drives()} drives; at most {MAX_DRIVES} per sweep")
        if cfg.n_drives() == 0:
            raise ConfigError("sweep: the lists multiply to no drive at all")
        return cfg

    def n_conditions(self) -> int:
        """Fault conditions per vehicle, driver, ambient and start."""
        if self.assignment == "random":
            return 1
        return len(self.faults) * len(self.severities) * len(self.onsets_s) + self.healthy

    def n_drives(self) -> int:
        drivers = len(self.cycles) + len(self.profiles)
        return (
            len(self.vehicles)
            * self.n_conditions()
            * drivers
            * len(self.ambient_temps_c)
            * len(self.starts)
            * self.replicates
        )

    def content_hash(self) -> str:
        """SHA-256 (12 hex digits) of the resolved configuration and the vehicles' content."""
        import vehsim

        doc = asdict(self)
        if not self.idle_after_s:  # no queue: the rows, and so the id, of the sweeps before it
            del doc["idle_after_s"]
        doc["vehicle_hashes"] = {n: _vehicle(n).content_hash() for n in self.vehicles}
        doc["vehsim_version"] = vehsim.__version__
        doc["window_columns"] = WINDOW_SCHEMA.names  # other features, another sweep
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def sweep_id(self) -> str:
        """``<name>-<hash>``: the same configuration, the same id (and the same rows)."""
        return f"{self.name}-{self.content_hash()}"


_LIST_FIELDS = {f.name for f in fields(SweepConfig) if str(f.type).startswith("tuple")}


def config_from_mapping(doc: Mapping[str, Any], where: str = "sweep config") -> SweepConfig:
    """A validated :class:`SweepConfig` from a mapping (YAML document)."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: expected a mapping of sweep settings")
    known = [f.name for f in fields(SweepConfig)]
    unknown = sorted(set(doc) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {', '.join(known)}")
    values = {}
    for key, value in doc.items():
        if key in _LIST_FIELDS:
            if isinstance(value, (str, int, float)):
                value = [value]
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{where}: {key} must be a list, got {value!r}")
            value = tuple(value)
        values[key] = value
    try:
        return SweepConfig(**values).validate()
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_sweep_config(path: str | Path) -> SweepConfig:
    """A validated :class:`SweepConfig` from a YAML file; errors name the file and the field."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sweep config ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    return config_from_mapping(doc or {}, str(path))


# --- the plan: one row per drive ------------------------------------------------------------


def _fault_conditions(cfg: SweepConfig) -> list[tuple[str | None, float, float | None]]:
    conditions: list[tuple[str | None, float, float | None]] = [
        (name, sev, onset)
        for name in cfg.faults
        for sev in cfg.severities
        for onset in cfg.onsets_s
    ]
    return conditions + [(None, 0.0, None)] * cfg.healthy


def plan_drives(cfg: SweepConfig) -> pd.DataFrame:
    """Every drive of the sweep, in ``drive_id`` order (deterministic).

    Columns: ``drive_id``, ``run_id`` (the conditions the drive ran under: driver, ambient,
    start, replicate — every vehicle and fault condition of them is one run), ``vehicle_id``
    (``<vehicle>-<drive_id>``), ``vehicle``, ``driver`` (``cycle:NAME`` or ``profile:NAME``),
    ``cycle``, ``profile``, ``ambient_temp_c``, ``start``, ``replicate``, ``duration_s`` (the
    driver's part and ``idle_after_s``), ``fault`` (None when healthy), ``severity``,
    ``onset_s``.
    """
    import vehsim
    from vehsim.faults import FAULT_NAMES, random_faults

    drivers = [f"cycle:{c}" for c in cfg.cycles] + [f"profile:{p}" for p in cfg.profiles]
    durations = {f"cycle:{c}": float(vehsim.load_cycle(c).duration_s) for c in cfg.cycles}
    durations.update({f"profile:{p}": cfg.profile_duration_s for p in cfg.profiles})
    conditions = _fault_conditions(cfg) if cfg.assignment == "grid" else [(None, 0.0, None)]
    rows = []
    for rep in range(cfg.replicates):
        for start in cfg.starts:
            for ambient in cfg.ambient_temps_c:
                for driver in drivers:
                    run_id = f"{driver}@{ambient:g}C:{start}:r{rep}"
                    for vehicle in cfg.vehicles:
                        for fault, severity, onset in conditions:
                            kind, name = driver.split(":", 1)
                            rows.append(
                                {
                                    "run_id": run_id,
                                    "vehicle": vehicle,
                                    "driver": driver,
                                    "cycle": name if kind == "cycle" else None,
                                    "profile": name if kind == "profile" else None,
                                    "ambient_temp_c": ambient,
                                    "start": start,
                                    "replicate": rep,
                                    "duration_s": durations[driver] + cfg.idle_after_s,
                                    "fault": fault,
                                    "severity": severity,
                                    "onset_s": onset,
                                }
                            )
    plan = pd.DataFrame(rows)
    plan.insert(0, "drive_id", np.arange(len(plan), dtype=np.int64))
    plan.insert(
        2,
        "vehicle_id",
        [f"{v}-{i:06d}" for v, i in zip(plan["vehicle"], plan["drive_id"], strict=True)],
    )
    if cfg.assignment == "random":
        names = cfg.faults or FAULT_NAMES
        draws = random_faults(len(plan), cfg.seed, cfg.faulty_frac, names, cfg.max_onset_s)
        plan["fault"] = [d[0].name if d else None for d in draws]
        plan["severity"] = [float(d[0].severity) if d else 0.0 for d in draws]
        plan["onset_s"] = [float(d[0].onset_s) if d else None for d in draws]
    plan["onset_s"] = plan["onset_s"].astype(float)
    return plan


def rng_states(seed: int, n: int) -> np.ndarray:
    """The profile drivers' generator states of ``n`` vehicles of a Simulator with ``seed``."""
    seeds = np.random.SeedSequence(int(seed)).generate_state(n, dtype=np.uint64)
    return np.where(seeds == 0, np.uint64(0x9E3779B97F4A7C15), seeds).astype(np.uint64)


# --- telemetry and window features ----------------------------------------------------------


def _diagnostic_channels(
    full: np.ndarray, ambient_temp_c: np.ndarray, vehicles: Sequence
) -> dict[str, np.ndarray]:
    """What the car's controllers report (OBD) beside the ``simulation.raw`` payload, at 1 Hz.

    Args:
        full: ``[n_samples, n_vehicles, n_state]`` records, the initial state first.
        ambient_temp_c: per vehicle [°C].
        vehicles: the parameter sets (their full-load torque curves give the calculated load,
            SAE J1979 PID 04, as ``Simulator.snapshot`` computes it).

    Returns:
        name -> ``[n_vehicles, n_samples]``, one contiguous row per vehicle (NumPy then reduces
        every window in the same order whatever the fleet's size: a drive's figures are
        bit-identical in any slice).
    """
    from vehsim.constants import GASOLINE_DENSITY_KGPL
    from vehsim.layout import S
    from vehsim.units import mps_to_kph

    def state(name: str) -> np.ndarray:
        return np.ascontiguousarray(full[:, :, S[name]].T)

    rpm = state("engine_speed_rpm")
    running = (state("engine_state") >= 2) & (rpm > 0)
    full_load_nm = np.where(
        running,
        np.vstack(
            [
                np.interp(rpm[i], v.torque_curve_rpm, v.torque_curve_nm)
                for i, v in enumerate(vehicles)
            ]
        ),
        0.0,
    )
    # The calculated load (J1979 PID 04) and the torque the pedal asks (PID 61), as
    # Simulator.snapshot reports them live.
    load, demand = controller_load(state("engine_torque_nm"), state("throttle_frac"), full_load_nm)
    return {
        "engine_load_frac": load,
        "engine_demand_torque_nm": demand,
        "engine_rpm_frac_of_max": rpm
        / np.array([v.values["max_speed_rpm"] for v in vehicles])[:, None],
        "engine_rpm_frac_of_rated": rpm
        / np.array([v.values["rated_speed_rpm"] for v in vehicles])[:, None],
        "brake_pad_wear_pct": state("brake_pad_wear_frac") * 100.0,
        "engine_on": state("engine_state") >= 2,
        "engine_rpm": state("engine_speed_rpm"),
        "vehicle_speed_kph": mps_to_kph(state("speed_mps")),
        "speed_sensor_kph": mps_to_kph(state("speed_sensor_mps")),
        "accel_mps2": state("accel_mps2"),
        "throttle_pct": state("throttle_frac") * 100.0,
        "brake_pct": state("brake_frac") * 100.0,
        "coolant_sensor_temp_c": state("coolant_sensor_temp_c"),
        "oil_temp_c": state("oil_temp_c"),
        "fan_on": (state("fan_on") > 0.5).astype(float),
        "fuel_used_l": state("fuel_used_g") / 1e3 / GASOLINE_DENSITY_KGPL,
        "fuel_trim_pct": state("fuel_trim_frac") * 100.0,
        "misfire_count": state("misfire_count"),
        "engine_torque_nm": state("engine_torque_nm"),
        "gearbox_input_rpm": state("gearbox_input_rpm"),
        "driveline_locked": state("driveline_locked") > 0.5,
        "ambient_temp_c": np.repeat(
            np.asarray(ambient_temp_c, float)[:, None], full.shape[0], axis=1
        ),
    }


#: ``vehsim.features`` columns of a window kept in ``sweep/windows``: aggregates, features and
#: targets, the vehicle dimension (``vehsim.features.vehicle_features``) included.
SPAN_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(c for c in (*fx.AGGREGATES, *fx.FEATURES, *fx.TARGETS) if c != "is_valid_example")
)


def window_ends(n_samples: int, stride: int) -> np.ndarray:
    """Sample index of each whole window's last sample: ``WINDOW_S``, ``WINDOW_S + stride``, ...
    (the window holds the :data:`WINDOW_S` samples up to it, the sample before anchors its
    increments, as ``vehsim score`` builds its windows)."""
    return np.arange(WINDOW_S, n_samples, int(stride), dtype=np.int64)


def window_table(
    sweep_id: str,
    drives: pd.DataFrame,
    full: np.ndarray,
    ambient_temp_c: np.ndarray,
    stride: int,
) -> pa.Table:
    """``sweep/windows`` rows of drives simulated together.

    Args:
        sweep_id: the sweep's id.
        drives: their plan rows, in fleet order.
        full: their 1 Hz records ``[n_samples, n_drives, n_state]``, the initial state first.
        ambient_temp_c: per drive [°C].
        stride: a window ends every ``stride`` samples.

    The ``vehsim.features`` columns (:data:`SPAN_COLUMNS`) come from its functions, each
    window a span of the :data:`WINDOW_S` samples up to its end whose increments start at the
    sample before it; :data:`DIAGNOSTIC_FEATURES` from :func:`diagnostic_features`.
    """
    from vehsim.layout import STATE_COLUMNS

    n_samples, n_drives, _ = full.shape
    ends = window_ends(n_samples, stride)
    n_win = len(ends)
    if n_win == 0:
        return WINDOW_SCHEMA.empty_table()
    vehicle_ids = drives["vehicle_id"].tolist()
    samples = fx.samples_from_records(full, STATE_COLUMNS, vehicle_ids, sweep_id, ambient_temp_c)
    inc = fx.sample_increments(samples)
    # Rows of every window of every drive (increments were taken over the whole drive, so a
    # window's first row carries the interval from the sample before the window).
    offsets = ends[:, None] - np.arange(WINDOW_S - 1, -1, -1)[None, :]
    rows = (np.arange(n_drives)[:, None, None] * n_samples + offsets[None, :, :]).reshape(-1)
    window_id = np.repeat(np.arange(n_drives * n_win, dtype=np.int64), WINDOW_S)
    columns = {c: inc[c].to_numpy()[rows] for c in inc.columns}
    columns["_window"] = window_id
    sums = fx.span_sums(columns, ["_window"]).sort_values("_window", kind="stable")
    params = [_vehicle(v) for v in drives["vehicle"]]
    dimension = pd.DataFrame(
        [
            fx.vehicle_features(name, _vehicle(name).values)
            for name in sorted(set(drives["vehicle"]))
        ]
    )
    span = fx.span_features(sums.reset_index(drop=True), dimension, on="vehicle_model")
    diag = diagnostic_features(_diagnostic_channels(full, ambient_temp_c, params), ends)
    time_s = inc["sim_time_s"].to_numpy().reshape(n_drives, n_samples)
    data: dict[str, Any] = {
        "sweep_id": [sweep_id] * (n_drives * n_win),
        "drive_id": np.repeat(drives["drive_id"].to_numpy(dtype=np.int64), n_win),
        "run_id": np.repeat(drives["run_id"].to_numpy(dtype=object), n_win),
        "vehicle_id": np.repeat(np.asarray(vehicle_ids, dtype=object), n_win),
        "vehicle": np.repeat(drives["vehicle"].to_numpy(dtype=object), n_win),
        "window_index": np.tile(np.arange(n_win, dtype=np.int64), n_drives),
        "window_start_s": time_s[:, ends - WINDOW_S].reshape(-1),
        "window_end_s": time_s[:, ends].reshape(-1),
    }
    for name in SPAN_COLUMNS:
        data[name] = span[name].to_numpy(dtype=float)
    for name in DIAGNOSTIC_FEATURES:
        data[name] = diag[name].reshape(-1)
    arrays = [pa.array(data[f.name], type=f.type, from_pandas=True) for f in WINDOW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=WINDOW_SCHEMA)


# --- simulating a slice ---------------------------------------------------------------------

KEY_COLUMNS = ("sweep_id", "drive_id", "run_id", "vehicle_id", "vehicle")
#: ``sweep/windows`` columns in order: keys, window (``(start, end]`` in simulated seconds),
#: the ``vehsim.features`` columns, the diagnostic features.
WINDOW_SCHEMA = pa.schema(
    [
        ("sweep_id", pa.string()),
        ("drive_id", pa.int64()),
        ("run_id", pa.string()),
        ("vehicle_id", pa.string()),
        ("vehicle", pa.string()),
        ("window_index", pa.int64()),
        ("window_start_s", pa.float64()),
        ("window_end_s", pa.float64()),
        *[(name, pa.float64()) for name in SPAN_COLUMNS],
        *[(name, pa.float64()) for name in DIAGNOSTIC_FEATURES],
    ]
)
#: Summary figures of a drive (``vehsim.simulator.summarize``) kept in ``sweep/drives``.
SUMMARY_FIELDS = (
    "duration_s",
    "distance_km",
    "fuel_l",
    "fuel_l_per_100km",
    "max_speed_error_mph",
    "time_outside_tolerance_s",
    "final_coolant_temp_c",
    "final_oil_temp_c",
    "fuel_energy_mj",
    "wheel_work_mj",
    "brake_energy_mj",
    "engine_wear_pct_delta",
    "gearbox_wear_pct_delta",
    "brake_pad_wear_pct_delta",
    "tyre_wear_pct_delta",
    "oil_life_pct_delta",
)
#: ``sweep/drives`` columns: keys, the conditions a driver and an observer know (no fault), the
#: summary, and what the on-board diagnostics reported.
DRIVE_SCHEMA = pa.schema(
    [
        ("sweep_id", pa.string()),
        ("drive_id", pa.int64()),
        ("run_id", pa.string()),
        ("vehicle_id", pa.string()),
        ("vehicle", pa.string()),
        ("driver", pa.string()),
        ("cycle", pa.string()),
        ("ambient_temp_c", pa.float64()),
        ("start", pa.string()),
        ("replicate", pa.int64()),
        *[(name, pa.float64()) for name in SUMMARY_FIELDS],
        ("dtc_confirmed", pa.list_(pa.string())),
        ("dtc_pending", pa.list_(pa.string())),
        ("mil_on", pa.bool_()),
        ("first_code", pa.string()),
        ("first_pending_s", pa.float64()),
        ("first_confirmed_s", pa.float64()),
    ]
)
#: ``sweep/labels``: the ground truth of each window (never read on the live path): the drive's
#: fault, severity, onset and driver profile (None in a window reaching into the queue at the
#: end, ``idle_after_s``: the profile drives no longer there); ``fault_active`` (the window starts at or after
#: the onset), ``fault_expressed`` (its features differ from the healthy twin's) and
#: ``fault_effect_rel`` (the largest relative difference).
LABEL_SCHEMA = pa.schema(
    [
        ("sweep_id", pa.string()),
        ("drive_id", pa.int64()),
        ("window_index", pa.int64()),
        ("run_id", pa.string()),
        ("vehicle_id", pa.string()),
        ("vehicle", pa.string()),
        ("fault", pa.string()),
        ("severity", pa.float64()),
        ("onset_s", pa.float64()),
        ("driver_profile", pa.string()),
        ("fault_active", pa.bool_()),
        ("fault_expressed", pa.bool_()),
        ("fault_effect_rel", pa.float64()),
    ]
)
#: A fault shows in a window when one of its features differs from the healthy twin's by more
#: than this share [-] (1 %: beyond rounding and float noise, well below what the weakest
#: diagnostic feature needs to move).
EFFECT_REL = 0.01
#: Smallest magnitude a relative difference is taken against (features near zero) [-].
EFFECT_FLOOR = 1e-6
#: Simulated times are sums of steps: two times closer than this are the same instant [s].
ONSET_TOLERANCE_S = 1e-3


@functools.lru_cache(maxsize=16)
def _vehicle(name: str):
    import vehsim

    return vehsim.load_vehicle(name)


def _has_fault(row) -> bool:
    return _text(row.fault) is not None and row.severity > 0.0


def queue_trace(speed_mps: float, idle_s: float) -> Cycle:
    """A car at ``speed_mps`` pulling up into a queue and standing there: a 1 Hz trace of
    ``idle_s`` seconds, slowing at :data:`QUEUE_DECEL_MPS2` to a stop, then at rest."""
    time_s = np.arange(int(idle_s) + 1, dtype=float)
    speed = np.maximum(float(speed_mps) - QUEUE_DECEL_MPS2 * time_s, 0.0)
    return Cycle("queue", time_s, speed, np.zeros_like(time_s))


def _run_chunk(cfg: SweepConfig, chunk: pd.DataFrame, start: str, duration_s: float, states,
               faults: bool):  # fmt: skip
    """The kernel over ``chunk``: the simulator after the drive, its initial state, the 1 Hz
    records (the initial state first) and the trouble-code changes.

    The drivers drive ``duration_s`` less ``idle_after_s``; then each car, as it is, follows
    its :func:`queue_trace` to the end."""
    from vehsim.faults import FaultSpec
    from vehsim.simulator import Simulator

    ambient = chunk["ambient_temp_c"].to_numpy(dtype=float)
    sim = Simulator(
        [_vehicle(v) for v in chunk["vehicle"]],
        dt_s=cfg.dt_s,
        seed=cfg.seed,
        ambient_temp_c=ambient,
        start=start,
    )
    sim.rng[:] = states[chunk["drive_id"].to_numpy()]
    for k, row in enumerate(chunk.itertuples(index=False)):
        sim.set_driver(k, row.driver)
        if faults and _has_fault(row):
            sim.inject_fault(k, FaultSpec(row.fault, row.severity, row.onset_s))
    initial = sim.state.copy()
    every = round(SAMPLE_S / cfg.dt_s)
    records = sim.run_steps(round((duration_s - cfg.idle_after_s) / cfg.dt_s), every)
    if cfg.idle_after_s:
        from vehsim.layout import S

        for k, speed_mps in enumerate(sim.state[:, S["speed_mps"]]):
            sim.set_driver(k, queue_trace(speed_mps, cfg.idle_after_s))
        queued = sim.run_steps(round(cfg.idle_after_s / cfg.dt_s), every)
        records = np.concatenate([records, queued], axis=0)
    changes = sim.drain_dtc_changes()
    return sim, initial, np.concatenate([initial[None, :, :], records], axis=0), changes


#: Window columns compared with the healthy twin's to tell whether a fault shows.
_COMPARED = tuple(WINDOW_SCHEMA.names[8:])


def _label_table(sweep_id: str, chunk: pd.DataFrame, windows: pa.Table, twin: pa.Table | None,
                 idle_after_s: float = 0.0):  # fmt: skip
    """``sweep/labels`` rows of ``chunk``'s windows: the drive's truth, and whether the fault
    shows in the window (its features differ from those of the same drive without the fault).
    A window ending after the driver's part of the drive (``idle_after_s`` before its end)
    has no driver profile."""
    n = windows.num_rows
    drive_ids = windows.column("drive_id").to_numpy()
    plan = chunk.set_index("drive_id")
    rows = plan.loc[drive_ids]
    faulty = np.array([_has_fault(r) for r in rows.itertuples()], dtype=bool)
    start = windows.column("window_start_s").to_numpy()
    onset = rows["onset_s"].to_numpy(dtype=float)
    active = faulty & (start >= onset - ONSET_TOLERANCE_S)
    effect = np.zeros(n)
    if twin is not None and faulty.any():
        twin_rows = {
            (int(d), int(i)): k
            for k, (d, i) in enumerate(
                zip(twin.column("drive_id").to_numpy(), twin.column("window_index").to_numpy(),
                    strict=True)
            )
        }  # fmt: skip
        index = windows.column("window_index").to_numpy()
        take = np.array(
            [twin_rows.get((int(d), int(i)), -1) for d, i in zip(drive_ids, index, strict=True)]
        )
        have = faulty & (take >= 0)
        a = np.column_stack([windows.column(c).to_numpy(zero_copy_only=False) for c in _COMPARED])
        b = np.column_stack([twin.column(c).to_numpy(zero_copy_only=False) for c in _COMPARED])
        a, b = a[have], b[np.maximum(take[have], 0)]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(a - b) / np.maximum(np.abs(b), EFFECT_FLOOR)
        rel = np.where(np.isnan(a) & np.isnan(b), 0.0, rel)
        rel = np.where(np.isnan(a) != np.isnan(b), np.inf, rel)
        effect[have] = np.nanmax(rel, axis=1)
    expressed = faulty & (effect > EFFECT_REL)
    driving_s = rows["duration_s"].to_numpy(dtype=float) - idle_after_s
    driven = windows.column("window_end_s").to_numpy() <= driving_s + ONSET_TOLERANCE_S
    data = {
        "sweep_id": [sweep_id] * n,
        "drive_id": drive_ids,
        "window_index": windows.column("window_index").to_numpy(),
        "run_id": rows["run_id"].tolist(),
        "vehicle_id": rows["vehicle_id"].tolist(),
        "vehicle": rows["vehicle"].tolist(),
        "fault": [_text(v) for v in rows["fault"]],
        "severity": rows["severity"].to_numpy(dtype=float),
        "onset_s": onset,
        "driver_profile": [
            _text(p) if driving else None
            for p, driving in zip(rows["profile"], driven, strict=True)
        ],
        "fault_active": active,
        "fault_expressed": expressed,
        "fault_effect_rel": np.where(np.isfinite(effect), effect, np.nan),
    }
    arrays = [pa.array(data[f.name], type=f.type, from_pandas=True) for f in LABEL_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=LABEL_SCHEMA)


def simulate_drives(cfg: SweepConfig, drives: pd.DataFrame) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Simulate ``drives`` (rows of :func:`plan_drives`); return ``(windows, drives, labels)``.

    Drives of one start and duration share a kernel call (at most :data:`MAX_FLEET` at once);
    each drive's result is independent of which others it ran with. Faulty drives run a second
    time without their fault (the *healthy twin*: same car, driver, generator and conditions),
    and each window's label says whether the fault changed any of its features
    (``fault_expressed``, more than :data:`EFFECT_REL` relative): a fault that changes nothing
    the telemetry shows (a fan that never had to run) cannot be seen by any model.
    """
    from vehsim.simulator import summarize

    sweep_id = cfg.sweep_id
    states = rng_states(cfg.seed, int(drives["drive_id"].max()) + 1 if len(drives) else 0)
    window_parts: list[pa.Table] = []
    label_parts: list[pa.Table] = []
    drive_rows: list[dict[str, Any]] = []
    ordered = drives.sort_values("drive_id", kind="stable")
    for (start, duration_s), group in ordered.groupby(["start", "duration_s"], sort=True):
        for lo in range(0, len(group), MAX_FLEET):
            chunk = group.iloc[lo : lo + MAX_FLEET]
            ambient = chunk["ambient_temp_c"].to_numpy(dtype=float)
            sim, initial, full, changes = _run_chunk(cfg, chunk, start, duration_s, states, True)
            windows = window_table(sweep_id, chunk, full, ambient, cfg.window_stride_s)
            faulty = np.array([_has_fault(r) for r in chunk.itertuples(index=False)], dtype=bool)
            twin = None
            if faulty.any():
                healthy = chunk[faulty]
                _, _, twin_full, _ = _run_chunk(cfg, healthy, start, duration_s, states, False)
                twin = window_table(
                    sweep_id, healthy, twin_full, ambient[faulty], cfg.window_stride_s
                )
            window_parts.append(windows)
            label_parts.append(_label_table(sweep_id, chunk, windows, twin, cfg.idle_after_s))
            for k, row in enumerate(chunk.itertuples(index=False)):
                summary = summarize(sim.state[k], initial[k], float(ambient[k]))
                status = sim.dtc(k)
                mine = [c for c in changes if c.vehicle == k]
                pending = [c for c in mine if c.status == "pending"]
                confirmed = [c for c in mine if c.status == "confirmed"]
                drive_rows.append(
                    {
                        "sweep_id": sweep_id,
                        "drive_id": int(row.drive_id),
                        "run_id": row.run_id,
                        "vehicle_id": row.vehicle_id,
                        "vehicle": row.vehicle,
                        "driver": row.driver,
                        "cycle": _text(row.cycle),
                        "ambient_temp_c": float(row.ambient_temp_c),
                        "start": row.start,
                        "replicate": int(row.replicate),
                        **{f: _finite_or_none(summary[f]) for f in SUMMARY_FIELDS},
                        "dtc_confirmed": status["confirmed"],
                        "dtc_pending": status["pending"],
                        "mil_on": status["mil_on"],
                        "first_code": confirmed[0].code
                        if confirmed
                        else (pending[0].code if pending else None),
                        "first_pending_s": pending[0].time_s if pending else None,
                        "first_confirmed_s": confirmed[0].time_s if confirmed else None,
                    }
                )
    order = [("drive_id", "ascending"), ("window_index", "ascending")]
    windows = (
        pa.concat_tables(window_parts).sort_by(order)
        if window_parts
        else WINDOW_SCHEMA.empty_table()
    )
    labels = (
        pa.concat_tables(label_parts).sort_by(order) if label_parts else LABEL_SCHEMA.empty_table()
    )
    drives_out = pa.Table.from_pylist(drive_rows, schema=DRIVE_SCHEMA).sort_by("drive_id")
    return windows, drives_out, labels


def _text(value) -> str | None:
    """A text cell of the plan, or None where it is missing (pandas may hold NaN)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _finite_or_none(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class SweepTables:
    """The three tables of a sweep as Arrow (from :func:`simulate_sweep` or read back)."""

    windows: pa.Table
    drives: pa.Table
    labels: pa.Table


def simulate_sweep(
    cfg: SweepConfig, progress: Callable[[int, int], None] | None = None
) -> SweepTables:
    """The whole sweep in this process (the fleet API, no Spark): the reference for Spark's rows.

    ``progress(done, total)`` is called after each block of drives.
    """
    cfg = cfg.validate()
    plan = plan_drives(cfg)
    windows, drives, labels = [], [], []
    block = MAX_FLEET * 4
    for lo in range(0, len(plan), block):
        w, d, lab = simulate_drives(cfg, plan.iloc[lo : lo + block])
        windows.append(w)
        drives.append(d)
        labels.append(lab)
        if progress:
            progress(min(lo + block, len(plan)), len(plan))
    return SweepTables(
        windows=pa.concat_tables(windows),
        drives=pa.concat_tables(drives),
        labels=pa.concat_tables(labels),
    )


# --- Spark ----------------------------------------------------------------------------------

#: What kind of row a ``mapInArrow`` output row is (``kind`` column).
_KIND_WINDOW, _KIND_DRIVE, _KIND_LABEL = "window", "drive", "label"


def _union_schema() -> pa.Schema:
    fields_out = [pa.field("kind", pa.string())]
    seen = {"kind"}
    for schema in (WINDOW_SCHEMA, DRIVE_SCHEMA, LABEL_SCHEMA):
        for f in schema:
            if f.name not in seen:
                fields_out.append(f)
                seen.add(f.name)
    return pa.schema(fields_out)


UNION_SCHEMA = _union_schema()


def _as_union(kind: str, table: pa.Table) -> pa.RecordBatch:
    n = table.num_rows
    arrays = []
    for f in UNION_SCHEMA:
        if f.name == "kind":
            arrays.append(pa.array([kind] * n, pa.string()))
        elif f.name in table.column_names:
            arrays.append(table.column(f.name).combine_chunks())
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=UNION_SCHEMA)


def slice_bounds(n_drives: int, n_slices: int, index: int) -> tuple[int, int]:
    """Drive ids ``[lo, hi)`` of slice ``index`` of ``n_slices`` (contiguous, sizes differ by 1)."""
    return index * n_drives // n_slices, (index + 1) * n_drives // n_slices


def _simulate_slices(
    config_doc: dict, n_slices: int, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body on an executor: slice ids in, window and drive rows out."""
    cfg = SweepConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config_doc.items()})
    plan = None
    for batch in batches:
        for index in batch.column(0).to_pylist():
            if plan is None:
                plan = plan_drives(cfg)
            lo, hi = slice_bounds(len(plan), n_slices, int(index))
            if hi <= lo:
                continue
            windows, drives, labels = simulate_drives(cfg, plan.iloc[lo:hi])
            for kind, table in ((_KIND_WINDOW, windows), (_KIND_LABEL, labels)):
                for part in table.to_batches(max_chunksize=65_536):
                    yield _as_union(kind, pa.Table.from_batches([part]))
            yield _as_union(_KIND_DRIVE, drives)


def default_slices(spark, n_drives: int) -> int:
    """Slices of a sweep: four per core of the session (tasks finish evenly), more for a large
    sweep (at most 256 drives a slice), never more than drives."""
    try:
        cores = int(spark.sparkContext.defaultParallelism)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        cores = 2
    return max(1, min(n_drives, max(4 * cores, math.ceil(n_drives / 256))))


def sweep_dataframes(spark, cfg: SweepConfig, n_slices: int):
    """The ``mapInArrow`` job and its parts: ``(simulated, [(table, DataFrame), ...])``."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    doc = json.loads(json.dumps(asdict(cfg)))
    simulated = spark.range(0, n_slices, 1, n_slices).mapInArrow(
        functools.partial(_simulate_slices, doc, n_slices), from_arrow_schema(UNION_SCHEMA)
    )
    from vehsim_pipelines.catalog import SWEEP_DRIVES, SWEEP_LABELS, SWEEP_WINDOWS

    parts = []
    for table, kind, schema in (
        (SWEEP_WINDOWS, _KIND_WINDOW, WINDOW_SCHEMA),
        (SWEEP_DRIVES, _KIND_DRIVE, DRIVE_SCHEMA),
        (SWEEP_LABELS, _KIND_LABEL, LABEL_SCHEMA),
    ):
        parts.append((table, simulated.where(F.col("kind") == kind).select(*schema.names)))
    return simulated, parts


def app_id(cfg: SweepConfig) -> str:
    """The Delta app transaction id of a sweep's writes (a rerun writes nothing twice)."""
    return f"vehsim-sweep-{cfg.sweep_id}"


def run_sweep(
    spark,
    settings,
    cfg: SweepConfig,
    n_slices: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``cfg`` on ``spark`` and append its rows to the sweep tables; return a summary.

    Each table's append records ``(app_id(cfg), 0)``: a sweep already in a table is skipped
    there (delta-spark's idempotent writes), so rerunning a sweep, or finishing one whose
    earlier run stopped between tables, writes every row exactly once.
    """
    from pyspark import StorageLevel

    from vehsim_pipelines import lake
    from vehsim_pipelines.catalog import SWEEP_TABLES, Catalog

    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    cfg = cfg.validate()
    catalog = Catalog(settings)
    plan = plan_drives(cfg)
    n_slices = n_slices or default_slices(spark, len(plan))
    ident = app_id(cfg)
    done = {t.id: lake.txn_version(catalog, t, ident) >= 0 for t in SWEEP_TABLES}
    t0 = time.perf_counter()
    say(f"sweep {cfg.sweep_id}: {len(plan)} drives in {n_slices} slices")
    simulated, parts = sweep_dataframes(spark, cfg, n_slices)
    watcher = _Progress(spark, n_slices, progress) if progress and not all(done.values()) else None
    simulated = simulated.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        if watcher:
            watcher.start()
        for table, frame in parts:
            if done[table.id]:
                say(f"{table.id}: sweep {cfg.sweep_id} is in the table already; skipped")
                continue
            lake.append(frame, catalog, table, ident, 0)
    finally:
        if watcher:
            watcher.stop()
        simulated.unpersist()
    elapsed = time.perf_counter() - t0
    tables = {}
    for table in SWEEP_TABLES:
        tables[table.id] = {
            "uri": catalog.uri(table),
            "version": lake.table_version(catalog, table),
        }
    return {
        "sweep_id": cfg.sweep_id,
        "drives": len(plan),
        "slices": n_slices,
        "skipped": sorted(k for k, v in done.items() if v),
        "elapsed_s": round(elapsed, 2),
        "drives_per_s": round(len(plan) / elapsed, 2) if not all(done.values()) else None,
        "tables": tables,
    }


class _Progress:
    """Polls Spark's status tracker for the slices of the simulation stage done so far."""

    def __init__(self, spark, n_slices: int, report: Callable[[int, int], None]):
        self.n_slices = n_slices
        self.report = report
        self._stop = threading.Event()
        try:
            self._tracker = spark.sparkContext.statusTracker()
        except Exception:  # noqa: BLE001 - Spark Connect: no status tracker, no bar
            self._tracker = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="sweep-progress")
        self._best = 0

    def start(self) -> None:
        if self._tracker is not None:
            self._thread.start()

    def _poll(self) -> None:
        for stage_id in self._tracker.getActiveStageIds():
            info = self._tracker.getStageInfo(stage_id)
            if info is not None and info.numTasks == self.n_slices:
                self._best = max(self._best, info.numCompletedTasks)
        self.report(self._best, self.n_slices)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self._poll()
            except Exception:  # noqa: BLE001 - progress must never fail the sweep
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.report(self.n_slices, self.n_slices)


def read_sweep(settings, sweep_id: str) -> SweepTables:
    """A sweep's rows from the lake (delta-rs), sorted by key; empty tables if none."""
    from vehsim_pipelines import lake
    from vehsim_pipelines.catalog import SWEEP_DRIVES, SWEEP_LABELS, SWEEP_WINDOWS, Catalog

    catalog = Catalog(settings)
    out = {}
    for name, table, schema, order in (
        ("windows", SWEEP_WINDOWS, WINDOW_SCHEMA, ["drive_id", "window_index"]),
        ("drives", SWEEP_DRIVES, DRIVE_SCHEMA, ["drive_id"]),
        ("labels", SWEEP_LABELS, LABEL_SCHEMA, ["drive_id", "window_index"]),
    ):
        found = lake.read_table(
            catalog.uri(table),
            catalog.storage_options(),
            filters=[("sweep_id", "=", sweep_id)],
        )
        if found is None:
            out[name] = schema.empty_table()
            continue
        out[name] = (
            found.select(schema.names).cast(schema).sort_by([(c, "ascending") for c in order])
        )
    return SweepTables(**out)


# --- command line -----------------------------------------------------------------------------


def register(subparsers) -> None:
    """Add ``sweep`` to the ``vehsim`` parser."""
    from vehsim_pipelines.cli import add_spark_options

    parser = subparsers.add_parser(
        "sweep",
        help="simulate a sweep of drives (vehicles x faults x drivers x conditions) as a Spark "
        "job into the lake's sweep tables",
        description="Run the sweep a YAML file declares (keys: "
        + ", ".join(f.name for f in fields(SweepConfig))
        + ") as a Spark job: each task simulates a slice of the fleet with the compiled kernel "
        "and its rows go to the Delta tables sweep/windows, sweep/drives and sweep/labels. "
        "Rerunning a sweep writes nothing twice. See docs/experiments.md.",
    )
    parser.add_argument("--config", required=True, help="YAML sweep file")
    parser.add_argument(
        "--slices",
        type=int,
        default=None,
        help="tasks to split the fleet into (default: 4 per core)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    add_spark_options(parser)
    parser.set_defaults(func=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    from vehsim.config import load_settings
    from vehsim.output import dumps
    from vehsim.progress import progress_bar
    from vehsim_pipelines.cli import spark_conf
    from vehsim_pipelines.session import build_spark

    cfg = load_sweep_config(args.config)
    if args.slices is not None and args.slices < 1:
        raise ConfigError(f"--slices must be at least 1, got {args.slices}")
    settings = load_settings()

    def say(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    say(f"sweep {cfg.sweep_id}: {cfg.n_drives()} drives; starting Spark ...")
    spark = build_spark(
        "vehsim-sweep", master=args.master, conf=spark_conf(args), remote=args.remote, lake=settings
    )
    bar = progress_bar(args.slices or 1, desc="sweep", unit="slice", quiet=args.quiet)

    def report(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        summary = run_sweep(spark, settings, cfg, args.slices, report, say)
    finally:
        bar.close()
        spark.stop()
    print(dumps(summary, indent=2))
    return 0


__all__ = [
    "DRIVE_SCHEMA",
    "LABEL_SCHEMA",
    "SweepConfig",
    "SweepTables",
    "DIAGNOSTIC_FEATURES",
    "SPAN_COLUMNS",
    "WINDOW_SCHEMA",
    "config_from_mapping",
    "load_sweep_config",
    "plan_drives",
    "read_sweep",
    "rng_states",
    "run_sweep",
    "simulate_drives",
    "simulate_sweep",
    "slice_bounds",
    "diagnostic_features",
    "window_ends",
    "window_table",
]
