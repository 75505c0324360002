"""Feature tables for the fuel and wear models, and which one an experiment reads.

Two tables carry the same features (``vehsim.features``: one function per feature for Gold and
for this module), at different grains:

- **simulated** (``--data simulated``): one row per *drive*, a vehicle over a whole cycle at one
  ambient temperature from a cold or hot start, computed here from the simulator's 1 Hz
  telemetry by :func:`vehsim.features.drive_features`;
- **Gold** (``--data gold``): ``gold/features``, one row per *window*, a vehicle's minute of a
  live run, computed by the Gold job with :func:`vehsim.features.window_features`.

A feature means the same on both (``stops_per_km`` is stops per km of the row's span), but a
minute is not a drive: a model trained on one grain is not a model of the other. So every
:class:`Dataset` names its table, its grain and why it was chosen; ``--data auto`` chooses Gold
when its table has every column the experiment needs and says so, else the simulated table,
and says why. Definitions: :data:`FEATURES`, :data:`TARGETS`, ``docs/experiments.md``.

The data version of every table is recorded: the Delta table version for Gold, or
``simulated:<hash>`` of the generating configuration for a simulated table (same configuration,
same table: the simulation is deterministic).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

import vehsim
from vehsim import features as fx
from vehsim.config import Settings
from vehsim.errors import ConfigError
from vehsim.layout import STATE_COLUMNS

#: The features the fuel and wear experiments use by default: name -> definition (units in the
#: name), from ``vehsim.features.FEATURES``.
FEATURES: dict[str, str] = {
    name: fx.FEATURES[name]
    for name in (
        "mean_speed_mps",
        "max_speed_mps",
        "distance_km",
        "stops_per_km",
        "standing_frac",
        "pke_mps2",
        "ambient_temp_c",
        "cold_start",
        "mass_kg",
        "displacement_l",
        "rated_power_w",
        "power_to_mass_w_per_kg",
    )
}

#: Targets the experiments learn: name -> definition, from ``vehsim.features.TARGETS``.
TARGETS: dict[str, str] = {
    name: fx.TARGETS[name]
    for name in (
        "fuel_l_per_100km",
        "brake_pad_wear_pct_per_100km",
        "engine_wear_pct_per_100km",
    )
}

#: Telemetry rate of the simulated drives the features are computed from [Hz] (the live
#: runtime's default rate, so a simulated drive looks to the features as a live one does).
SAMPLE_RATE_HZ = 1.0
#: Table, grain and description of each source.
GOLD_TABLE = ("gold", "features")
SIMULATED_TABLE = "simulated drives"
GRAINS = {"gold": "window (one vehicle-minute of a live run)", "simulated": "drive (one cycle)"}


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate for a simulated feature table (the full cross product is run)."""

    vehicles: tuple[str, ...] = ()  # empty: every shipped vehicle
    cycles: tuple[str, ...] = ()  # empty: every shipped cycle
    ambient_temps_c: tuple[float, ...] = (-7.0, 10.0, 25.0, 35.0)
    starts: tuple[str, ...] = ("cold", "hot")
    payloads_kg: tuple[float, ...] = (0.0, 250.0)
    dt_s: float = 0.1
    seed: int = 0

    def resolved(self) -> SimulationConfig:
        """The same configuration with empty vehicle and cycle lists filled in."""
        return SimulationConfig(
            vehicles=tuple(self.vehicles) or tuple(vehsim.list_vehicles()),
            cycles=tuple(self.cycles) or tuple(vehsim.list_cycles()),
            ambient_temps_c=tuple(float(t) for t in self.ambient_temps_c),
            starts=tuple(self.starts),
            payloads_kg=tuple(float(p) for p in self.payloads_kg),
            dt_s=float(self.dt_s),
            seed=int(self.seed),
        )

    def content_hash(self) -> str:
        """SHA-256 (16 hex digits) of the resolved configuration and the vehicles' content."""
        cfg = self.resolved()
        doc = asdict(cfg)
        doc["vehicle_hashes"] = {n: vehsim.load_vehicle(n).content_hash() for n in cfg.vehicles}
        doc["vehsim_version"] = vehsim.__version__
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Dataset:
    """A feature table, where it came from and why.

    Attributes:
        frame: the rows.
        source: ``gold`` or ``simulated``.
        version: ``delta:<uri>@<version>`` or ``simulated:<hash>``.
        vehicle_hashes: parameter-set content hash of every shipped vehicle in the rows.
        table: the table read: the Gold table's URI, or ``simulated drives``.
        grain: what one row is (:data:`GRAINS`).
        reason: why this table was chosen (the ``--data`` value and what was found).
    """

    frame: pd.DataFrame
    source: str
    version: str
    vehicle_hashes: Mapping[str, str] = field(default_factory=dict)
    table: str = ""
    grain: str = ""
    reason: str = ""

    def describe(self) -> str:
        """One line: which table, which version, what a row is, how many rows, and why."""
        return (
            f"data: {self.source} table {self.table} ({self.version}), "
            f"{len(self.frame)} rows, one per {self.grain}; {self.reason}"
        )


def cycle_features(cycle: vehsim.Cycle) -> dict[str, float]:
    """Driving-pattern features of a drive cycle's speed trace alone (the engine taken to run
    throughout): :func:`vehsim.features.drive_features` of
    :func:`vehsim.features.samples_from_cycle`."""
    row = fx.drive_features(fx.samples_from_cycle(cycle.time_s, cycle.speed_mps)).iloc[0]
    names = (
        "mean_speed_mps",
        "max_speed_mps",
        "distance_km",
        "stops_per_km",
        "standing_frac",
        "idle_frac",
        "pke_mps2",
    )
    return {name: float(row[name]) for name in names}


def vehicle_features(params: vehsim.VehicleParams) -> dict[str, float]:
    """Vehicle features (see :data:`FEATURES`)."""
    row = fx.vehicle_features(params.name, params.values)
    row.pop("vehicle_model")
    row["power_to_mass_w_per_kg"] = row["rated_power_w"] / row["mass_kg"]
    return row


def simulated_samples(
    params: Sequence[vehsim.VehicleParams],
    vehicle_ids: Sequence[str],
    cycle: vehsim.Cycle,
    run_id: str,
    *,
    ambient_temp_c: float,
    start: str,
    dt_s: float,
    seed: int,
) -> pd.DataFrame:
    """Telemetry samples (``simulation.raw`` payload names and units) of a fleet driving
    ``cycle``: the initial state, then one sample per :data:`SAMPLE_RATE_HZ` period."""
    sim = vehsim.Simulator(
        list(params), dt_s=dt_s, seed=seed, ambient_temp_c=ambient_temp_c, start=start
    )
    sim.set_driver(slice(None), cycle)
    initial = sim.state.copy()
    every = max(int(round(1.0 / SAMPLE_RATE_HZ / dt_s)), 1)
    records = sim.run_steps(int(round(cycle.duration_s / dt_s)), every)
    records = np.concatenate([initial[None], records])
    return fx.samples_from_records(records, STATE_COLUMNS, vehicle_ids, run_id, ambient_temp_c)


def simulate_dataset(
    config: SimulationConfig, progress: Callable[[str], None] | None = None
) -> Dataset:
    """Run the cross product of ``config`` through the simulator; one row per drive.

    Each (cycle, ambient temperature, start) combination is one fleet run over every vehicle and
    payload; the features and targets of each drive are :func:`vehsim.features.drive_features`
    of its 1 Hz telemetry, as Gold computes them for a live run's windows.
    """
    cfg = config.resolved()
    base = {name: vehsim.load_vehicle(name) for name in cfg.vehicles}
    fleet = [
        (name, payload, p.replace(mass_kg=float(p.values["mass_kg"]) + payload) if payload else p)
        for name, p in base.items()
        for payload in cfg.payloads_kg
    ]
    params = [p for _, _, p in fleet]
    ids = [f"{name}-{k:03d}" for k, (name, _, _) in enumerate(fleet)]
    dims = pd.DataFrame(
        [
            {**fx.vehicle_features(name, p.values), "vehicle_id": vid}
            for vid, (name, _, p) in zip(ids, fleet, strict=True)
        ]
    )
    frames = []
    combos = [(c, t, s) for c in cfg.cycles for t in cfg.ambient_temps_c for s in cfg.starts]
    for k, (cycle_name, temp_c, start) in enumerate(combos, 1):
        cycle = vehsim.load_cycle(cycle_name)
        samples = simulated_samples(
            params,
            ids,
            cycle,
            f"{cycle_name}|{temp_c:g}|{start}",
            ambient_temp_c=temp_c,
            start=start,
            dt_s=cfg.dt_s,
            seed=cfg.seed,
        )
        drives = fx.drive_features(samples, dims.drop(columns="vehicle_model"), on="vehicle_id")
        drives.insert(0, "vehicle", [name for name, _, _ in fleet])
        drives.insert(1, "cycle", cycle_name)
        drives.insert(2, "payload_kg", [payload for _, payload, _ in fleet])
        drives.insert(3, "start", start)
        frames.append(drives)
        if progress:
            progress(f"simulated {k}/{len(combos)}: {cycle_name} at {temp_c:g} °C, {start} start")
    columns = ["vehicle", "cycle", "payload_kg", "start", *FEATURES, *TARGETS]
    frame = pd.concat(frames, ignore_index=True)[columns]
    return Dataset(
        frame=frame,
        source="simulated",
        version=f"simulated:{cfg.content_hash()}",
        vehicle_hashes={name: p.content_hash() for name, p in base.items()},
        table=SIMULATED_TABLE,
        grain=GRAINS["simulated"],
    )


def _gold_table(settings: Settings, required: Sequence[str]) -> tuple[Dataset | None, str]:
    """The Gold feature table, or None and what is wrong with it."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    uri = settings.table_uri(*GOLD_TABLE)
    try:
        table = DeltaTable(uri, storage_options=dict(settings.lake_storage_options) or None)
    except TableNotFoundError:
        return None, f"Gold table {uri} does not exist"
    frame = table.to_pyarrow_table().to_pandas()
    if frame.empty:
        return None, f"Gold table {uri} (version {table.version()}) is empty"
    missing = sorted(set(required) - set(frame.columns))
    if missing:
        return None, f"Gold table {uri} (version {table.version()}) lacks the column(s) {missing}"
    hashes = {}
    if "vehicle" in frame.columns:
        shipped = set(vehsim.list_vehicles())
        for name in sorted(set(frame["vehicle"].dropna()) & shipped):
            hashes[name] = vehsim.load_vehicle(name).content_hash()
    data = Dataset(
        frame, "gold", f"delta:{uri}@{table.version()}", hashes, table=uri, grain=GRAINS["gold"]
    )
    return data, ""


def read_gold(settings: Settings, required: Sequence[str]) -> Dataset | None:
    """The Gold feature table if it exists and has every ``required`` column, else ``None``."""
    return _gold_table(settings, required)[0]


SOURCES = ("auto", "gold", "simulated")


def load_dataset(
    source: str,
    settings: Settings,
    simulation: SimulationConfig,
    required: Sequence[str],
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """The feature table from ``source``: ``gold``, ``simulated``, or ``auto``.

    ``auto`` reads Gold when its table has every ``required`` column, else simulates; either way
    the choice and its reason are said through ``progress`` (``data: ...``) and kept in
    :attr:`Dataset.reason`, so no run trains on a table nobody chose knowingly.

    Raises:
        ConfigError: ``source`` is unknown, or ``gold`` was asked for and is missing or lacks
            required columns.
    """
    say = progress or (lambda text: print(text, file=sys.stderr, flush=True))
    if source not in SOURCES:
        raise ConfigError(f"data source must be one of {SOURCES}, got {source!r}")
    if source == "simulated":
        reason = "chosen by --data simulated"
    else:
        gold, problem = _gold_table(settings, required)
        if gold is not None:
            why = (
                "chosen by --data gold"
                if source == "gold"
                else (
                    "chosen by --data auto: the Gold table exists with every required column "
                    "(--data simulated trains on whole simulated drives instead)"
                )
            )
            gold = Dataset(**{**gold.__dict__, "reason": why})
            say(gold.describe())
            return gold
        if source == "gold":
            raise ConfigError(
                f"{problem}; run the Gold pipeline (vehsim pipeline all) or use --data simulated"
            )
        reason = f"chosen by --data auto because {problem}"
        say(f"Gold features missing or incomplete: {problem}; simulating a feature table")
    data = simulate_dataset(simulation, say)
    data = Dataset(**{**data.__dict__, "reason": reason})
    say(data.describe())
    return data
