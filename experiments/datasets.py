"""Feature tables for the fuel and wear models: Gold when it has what we need, else simulated.

One row is one drive: a vehicle over a cycle at one ambient temperature from a cold or hot start.
Features describe the cycle (how it is driven), the conditions and the vehicle; targets are the
outcomes the models learn (fuel per distance, wear per distance). Definitions are in
``docs/experiments.md`` and in :data:`FEATURES` / :data:`TARGETS`.

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
from vehsim.config import Settings
from vehsim.errors import ConfigError

#: Feature name -> definition (units in the name).
FEATURES: dict[str, str] = {
    "mean_speed_mps": "distance over duration of the cycle, stops included [m/s]",
    "max_speed_mps": "highest speed of the cycle [m/s]",
    "distance_km": "distance of the cycle [km]",
    "stops_per_km": "transitions from moving (> 0.5 m/s) to standing, per km [1/km]",
    "idle_frac": "fraction of the cycle's time spent standing (< 0.5 m/s) [-]",
    "pke_mps2": "positive kinetic energy: sum of positive (v[i+1]^2 - v[i]^2) over distance [m/s^2]",
    "ambient_temp_c": "ambient temperature [°C]",
    "cold_start": "1 if the engine starts at ambient temperature, 0 if warm [-]",
    "mass_kg": "test mass of the vehicle including payload [kg]",
    "displacement_l": "engine displacement [L]",
    "rated_power_w": "rated engine power [W]",
    "power_to_mass_w_per_kg": "rated power over mass [W/kg]",
}

#: Target name -> definition. Wear targets are normalised by distance so drives compare.
TARGETS: dict[str, str] = {
    "fuel_l_per_100km": "fuel used over distance [L/100 km]",
    "brake_pad_wear_pct_per_100km": "brake-pad life consumed per 100 km [% of pad life]",
    "engine_wear_pct_per_100km": "engine life consumed per 100 km [% of engine life]",
}

_STANDING_MPS = 0.5


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
    """A feature table and where it came from."""

    frame: pd.DataFrame
    source: str  # "gold" or "simulated"
    version: str  # "delta:<uri>@<version>" or "simulated:<hash>"
    vehicle_hashes: Mapping[str, str] = field(default_factory=dict)


def cycle_features(cycle: vehsim.Cycle) -> dict[str, float]:
    """Driving-pattern features of a drive cycle (see :data:`FEATURES`)."""
    speed_mps = np.asarray(cycle.speed_mps, dtype=float)
    time_s = np.asarray(cycle.time_s, dtype=float)
    distance_m = float(np.sum(0.5 * (speed_mps[1:] + speed_mps[:-1]) * np.diff(time_s)))
    duration_s = float(time_s[-1] - time_s[0])
    moving = speed_mps > _STANDING_MPS
    stops = int(np.sum(moving[:-1] & ~moving[1:]))
    dt_s = np.diff(time_s)
    idle_s = float(np.sum(dt_s[~moving[:-1]]))
    dv2 = np.diff(speed_mps**2)
    return {
        "mean_speed_mps": distance_m / duration_s,
        "max_speed_mps": float(speed_mps.max()),
        "distance_km": distance_m / 1e3,
        "stops_per_km": stops / (distance_m / 1e3),
        "idle_frac": idle_s / duration_s,
        "pke_mps2": float(np.sum(dv2[dv2 > 0]) / distance_m),
    }


def vehicle_features(params: vehsim.VehicleParams) -> dict[str, float]:
    """Vehicle features (see :data:`FEATURES`)."""
    mass_kg = float(params.values["mass_kg"])
    power_w = float(params.values["rated_power_w"])
    return {
        "mass_kg": mass_kg,
        "displacement_l": float(params.values["displacement_l"]),
        "rated_power_w": power_w,
        "power_to_mass_w_per_kg": power_w / mass_kg,
    }


def _targets(summary: Mapping[str, float]) -> dict[str, float]:
    per_100km = 100.0 / float(summary["distance_km"])
    return {
        "fuel_l_per_100km": float(summary["fuel_l_per_100km"]),
        "brake_pad_wear_pct_per_100km": float(summary["brake_pad_wear_pct_delta"]) * per_100km,
        "engine_wear_pct_per_100km": float(summary["engine_wear_pct_delta"]) * per_100km,
    }


def simulate_dataset(
    config: SimulationConfig, progress: Callable[[str], None] | None = None
) -> Dataset:
    """Run the cross product of ``config`` through the simulator; one row per drive.

    Each (cycle, ambient temperature, start) combination is one fleet run over every vehicle and
    payload, so the cost is a few seconds at ``dt_s=0.1``.
    """
    cfg = config.resolved()
    base = {name: vehsim.load_vehicle(name) for name in cfg.vehicles}
    fleet = [
        (name, payload, p.replace(mass_kg=float(p.values["mass_kg"]) + payload) if payload else p)
        for name, p in base.items()
        for payload in cfg.payloads_kg
    ]
    params = [p for _, _, p in fleet]
    rows = []
    combos = [(c, t, s) for c in cfg.cycles for t in cfg.ambient_temps_c for s in cfg.starts]
    for k, (cycle_name, temp_c, start) in enumerate(combos, 1):
        cycle = vehsim.load_cycle(cycle_name)
        cyc = cycle_features(cycle)
        summaries = vehsim.simulate_fleet(
            params, cycle, dt_s=cfg.dt_s, seed=cfg.seed, ambient_temp_c=temp_c, start=start
        )
        for (name, payload, p), summary in zip(fleet, summaries.to_dict("records"), strict=True):
            rows.append(
                {
                    "vehicle": name,
                    "cycle": cycle_name,
                    "payload_kg": payload,
                    **cyc,
                    "ambient_temp_c": temp_c,
                    "cold_start": 1.0 if start == "cold" else 0.0,
                    **vehicle_features(p),
                    **_targets(summary),
                }
            )
        if progress:
            progress(f"simulated {k}/{len(combos)}: {cycle_name} at {temp_c:g} °C, {start} start")
    return Dataset(
        frame=pd.DataFrame(rows),
        source="simulated",
        version=f"simulated:{cfg.content_hash()}",
        vehicle_hashes={name: p.content_hash() for name, p in base.items()},
    )


def read_gold(settings: Settings, required: Sequence[str]) -> Dataset | None:
    """The Gold feature table if it exists and has every ``required`` column, else ``None``."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    uri = settings.table_uri("gold", "features")
    try:
        table = DeltaTable(uri, storage_options=dict(settings.lake_storage_options) or None)
    except TableNotFoundError:
        return None
    frame = table.to_pyarrow_table().to_pandas()
    if frame.empty or set(required) - set(frame.columns):
        return None
    hashes = {}
    if "vehicle" in frame.columns:
        shipped = set(vehsim.list_vehicles())
        for name in sorted(set(frame["vehicle"].dropna()) & shipped):
            hashes[name] = vehsim.load_vehicle(name).content_hash()
    return Dataset(frame, "gold", f"delta:{uri}@{table.version()}", hashes)


SOURCES = ("auto", "gold", "simulated")


def load_dataset(
    source: str,
    settings: Settings,
    simulation: SimulationConfig,
    required: Sequence[str],
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """The feature table from ``source``: ``gold``, ``simulated``, or ``auto`` (Gold if usable).

    Raises:
        ConfigError: ``source`` is unknown, or ``gold`` was asked for and is missing or lacks
            required columns.
    """
    say = progress or (lambda text: print(text, file=sys.stderr, flush=True))
    if source not in SOURCES:
        raise ConfigError(f"data source must be one of {SOURCES}, got {source!r}")
    if source in ("auto", "gold"):
        gold = read_gold(settings, required)
        if gold is not None:
            say(f"using Gold features {gold.version} ({len(gold.frame)} rows)")
            return gold
        if source == "gold":
            raise ConfigError(
                f"Gold table {settings.table_uri('gold', 'features')} is missing, empty, or lacks "
                f"one of the columns {sorted(required)}; run the Gold pipeline or use "
                "--data simulated"
            )
        say("Gold features missing or incomplete: simulating a feature table")
    return simulate_dataset(simulation, say)
