"""Driving features, defined once: per sample, per span (a window or a whole drive), per vehicle.

The lake's Gold job (``pipelines/gold.py``) and the experiments' simulated table
(``experiments/datasets.py``) compute their features with these functions, so a name means one
thing wherever it appears. The steps:

1. :func:`sample_increments`: per telemetry sample, the increments of the interval that ends at
   it (time, distance, fuel, wear, positive kinetic energy) and the time spent in each state
   over that interval (standing, idling, cold engine, high engine speed, each gear). The time
   between two samples is spent in the state of the earlier sample (sample and hold).
2. :func:`span_sums`: the additive aggregates of a span (a one-minute window, or a whole drive):
   sums, maxima, minima and first values. Sums of the windows of a drive are the drive's sums
   (:func:`merge_spans`, the same way Gold's trips are built from its minutes).
3. :func:`span_features`: the features and targets of a span from its aggregates (ratios such
   as ``stops_per_km``; the definitions are in :data:`FEATURES`, :data:`TARGETS` and
   ``docs/nomenclature.md``).

:func:`window_features` and :func:`drive_features` run all three. Input is telemetry in the
``simulation.raw`` payload's names and units (``vehicle_speed_kph``, ``odometer_km``,
``fuel_used_l``, ...; see ``vehsim.events``), one row per sample, plus ``sim_time_s`` and, for
many drives at once, ``vehicle_id``/``run_id``/``seq``. :func:`samples_from_records` turns the
simulator's records into that form; :func:`samples_from_cycle` a drive cycle's speed trace.

Pure NumPy and pandas: no Spark, so a Spark executor's Python worker runs these same functions
(``pipelines/gold.py``), and the ratio definitions in :data:`RATIOS` are plain data that Gold
also turns into Spark expressions for spans it merges in Spark.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vehsim.constants import GASOLINE_DENSITY_KGPL, GRAVITY_MPS2, MPS_PER_KPH

# --- thresholds ---------------------------------------------------------------------------------
#: Below this speed a vehicle is standing [m/s] (1.8 km/h: slower than walking, far above the
#: telemetry's 0.001 km/h resolution; a simulated car at rest reads exactly 0).
STANDING_SPEED_MPS = 0.5
#: Coolant temperature below which the engine counts as cold [°C]: well below the 80-95 °C a
#: warm engine's thermostat regulates to (Bosch Automotive Handbook, engine cooling), the
#: temperature CARB's thermostat monitor treats as not yet warmed up.
COLD_COOLANT_C = 70.0
#: Harsh acceleration: at least 0.3 g [m/s²], harsh braking: at most -0.4 g [m/s²] (thresholds
#: common in telematics and usage-based insurance).
HARSH_ACCEL_MPS2 = 0.3 * GRAVITY_MPS2
HARSH_BRAKE_MPS2 = -0.4 * GRAVITY_MPS2
#: Engine speed above which the engine counts as revving high [rpm].
HIGH_ENGINE_SPEED_RPM = 3000.0
#: Length of a window [s]: one minute, aligned to the minute of the simulation's clock.
WINDOW_S = 60
#: Shortest distance for a per-distance figure (consumption, stops, wear per 100 km) [km].
MIN_DISTANCE_KM = 0.1
#: Shortest duration for a per-time figure to be reported [s] (a zero duration has none).
MIN_TIME_S = 1e-9
#: Shortest span that is a valid training example [s].
MIN_DURATION_S = 30.0
#: Harsh events per 100 km separating the calm / moderate / aggressive driving styles.
STYLE_LIMITS_PER_100KM = (5.0, 20.0)

#: Wear and life fields of the telemetry [% of life], in payload order.
WEAR_FIELDS = ("engine_wear_pct", "gearbox_wear_pct", "brake_pad_wear_pct", "tyre_wear_pct")
#: Gears a sample can report (-1 reverse, 0 neutral), as ``vehsim.events.PAYLOAD_RANGES``.
GEARS = tuple(range(-1, 13))
#: Keys that separate drives in a frame of many (each drive is sorted by ``seq``).
DRIVE_KEYS = ("vehicle_id", "run_id")


def gear_label(gear: int) -> str:
    """``r`` for reverse, ``n`` for neutral, else the gear number."""
    return {-1: "r", 0: "n"}.get(gear, str(gear))


def gear_time_column(gear: int) -> str:
    """Aggregate: time spent in ``gear`` [s]."""
    return f"time_gear_{gear_label(gear)}_s"


def gear_frac_column(gear: int) -> str:
    """Feature: share of the span's time spent in ``gear`` [-]."""
    return f"gear_{gear_label(gear)}_frac"


# --- 1. samples -------------------------------------------------------------------------------
#: Telemetry fields :func:`sample_increments` requires.
REQUIRED_SAMPLE_COLUMNS = ("sim_time_s", "vehicle_speed_kph")
#: Numeric telemetry fields the aggregates read; absent or null ones count as unknown.
NUMERIC_SAMPLE_COLUMNS = (
    "sim_time_s",
    "vehicle_speed_kph",
    "accel_mps2",
    "engine_rpm",
    "gear",
    "throttle_pct",
    "brake_pct",
    "coolant_temp_c",
    "oil_temp_c",
    "ambient_temp_c",
    "road_grade_pct",
    "fuel_used_l",
    "odometer_km",
    *WEAR_FIELDS,
    "oil_life_pct",
)
#: Other telemetry fields carried through to the aggregates when present.
_CARRIED = ("event_time", "window_start", "vehicle_model", "driver_mode")


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Integer codes of a key column (equal values, equal codes; nulls one code)."""
    codes, _ = pd.factorize(np.asarray(values), use_na_sentinel=False)
    return codes.astype(np.int64)


def _plain(column: pd.Series) -> pd.Series:
    """Zone-aware times as zone-less UTC (NumPy datetime64); other columns as they are."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.tz_localize(None)
    return column


def _previous(values: np.ndarray, first: np.ndarray, fill) -> np.ndarray:
    """The previous sample's value within the drive; ``fill`` on a drive's first sample."""
    out = np.empty_like(values)
    if len(values):
        out[1:] = values[:-1]
        out[first] = fill[first] if isinstance(fill, np.ndarray) else fill
    return out


def _increment(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Growth of a cumulative counter since the previous sample (never negative; 0 at a drive's
    first sample and where either value is unknown)."""
    step = values - _previous(values, first, values)
    return np.where(np.isfinite(step) & (step > 0.0), step, 0.0)


def _drive_keys(frame: pd.DataFrame) -> list[str]:
    return [k for k in DRIVE_KEYS if k in frame.columns]


def sample_increments(samples: pd.DataFrame) -> pd.DataFrame:
    """Per-sample increments and state times (step 1 of the module doc).

    Args:
        samples: telemetry rows (payload names and units, ``sim_time_s``), one or many drives:
            ``vehicle_id``/``run_id`` separate drives when present, ``seq`` orders samples
            (else ``sim_time_s``). Optional fields that are absent or null count as unknown
            (``engine_on`` absent: the engine runs). ``event_time``, ``window_start``,
            ``vehicle_model`` and ``driver_mode`` are carried through when present.

    Returns:
        One row per sample, sorted by drive and order: the drive keys, the carried columns, the
        numeric telemetry (:data:`NUMERIC_SAMPLE_COLUMNS`), and ``first`` (a drive's first
        sample), ``speed_mps``, ``accel_est_mps2`` (reported, else from the speed change, else
        0), ``dt_s``, ``d_distance_km``, ``d_fuel_l``, ``d_<wear field>``,
        ``d_oil_life_used_pct``, ``d_pke_m2ps2`` (rise of v² [m²/s²]), ``harsh_accel`` and
        ``harsh_brake`` (1 on the first sample of an episode), ``stop`` (1 where the vehicle
        comes to a stand), ``prev_gear``, and the times over the interval ending at the sample:
        ``standing_s``, ``idle_s`` (engine on, standing), ``cold_s`` (engine on, coolant below
        :data:`COLD_COOLANT_C`), ``engine_on_s`` and ``high_rpm_s``; ``_drive`` numbers the
        drives.
    """
    return pd.DataFrame(_sample_columns(samples))


def _sample_columns(samples: pd.DataFrame) -> dict[str, np.ndarray]:
    """:func:`sample_increments` as a dict of arrays (no DataFrame built: faster)."""
    missing = [c for c in REQUIRED_SAMPLE_COLUMNS if c not in samples.columns]
    if missing:
        raise ValueError(f"telemetry samples lack the column(s) {missing}")
    keys = _drive_keys(samples)
    n = len(samples)
    key_codes = [_codes(samples[k]) for k in keys]
    seq = samples["seq" if "seq" in samples.columns else "sim_time_s"].to_numpy()
    order = np.lexsort((seq, *reversed(key_codes))) if n else np.arange(0)
    first = np.zeros(n, dtype=bool)
    if n:
        first[0] = True
    for codes in key_codes:
        ordered = codes[order]
        first[1:] |= ordered[1:] != ordered[:-1]
    drive = np.cumsum(first) - 1

    def numeric(name: str) -> np.ndarray:
        if name not in samples.columns:
            return np.full(n, np.nan)
        values = pd.to_numeric(samples[name], errors="coerce")
        return values.to_numpy(dtype=float, na_value=np.nan)[order]

    out: dict[str, Any] = {k: samples[k].to_numpy()[order] for k in keys}
    out["_drive"] = drive
    out.update({c: _plain(samples[c]).to_numpy()[order] for c in _CARRIED if c in samples.columns})
    out.update({c: numeric(c) for c in NUMERIC_SAMPLE_COLUMNS})
    if "engine_on" in samples.columns:
        engine_on = samples["engine_on"].fillna(False).to_numpy(dtype=bool)[order]
    else:
        engine_on = np.ones(n, dtype=bool)

    time_s = out["sim_time_s"]
    speed_mps = out["vehicle_speed_kph"] * MPS_PER_KPH
    dt_s = _increment(time_s, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = np.where(
            dt_s > 0.0, (speed_mps - _previous(speed_mps, first, speed_mps)) / dt_s, 0.0
        )
    accel = np.where(np.isfinite(out["accel_mps2"]), out["accel_mps2"], derived)

    def rising(flag: np.ndarray) -> np.ndarray:
        return (flag & ~_previous(flag, first, False)).astype(np.int64)

    def held(flag: np.ndarray) -> np.ndarray:
        """The flag over the interval ending at each sample: the earlier sample's."""
        return _previous(flag, first, flag)

    standing = speed_mps < STANDING_SPEED_MPS
    was_on = held(engine_on)
    was_standing = held(standing)
    out.update(
        {
            "engine_on": engine_on,
            "first": first,
            "speed_mps": speed_mps,
            "accel_est_mps2": accel,
            "dt_s": dt_s,
            "d_distance_km": _increment(out["odometer_km"], first),
            "d_fuel_l": _increment(out["fuel_used_l"], first),
            **{f"d_{f}": _increment(out[f], first) for f in WEAR_FIELDS},
            "d_oil_life_used_pct": _increment(-out["oil_life_pct"], first),
            "d_pke_m2ps2": _increment(speed_mps * speed_mps, first),
            "harsh_accel": rising(accel >= HARSH_ACCEL_MPS2),
            "harsh_brake": rising(accel <= HARSH_BRAKE_MPS2),
            "stop": (standing & ~_previous(standing, first, True)).astype(np.int64),
            "prev_gear": _previous(out["gear"], first, out["gear"]),
            "standing_s": dt_s * was_standing,
            "idle_s": dt_s * (was_on & was_standing),
            "cold_s": dt_s * (was_on & held(out["coolant_temp_c"] < COLD_COOLANT_C)),
            "engine_on_s": dt_s * was_on,
            "high_rpm_s": dt_s * held(out["engine_rpm"] > HIGH_ENGINE_SPEED_RPM),
        }
    )
    return out


# --- 2. spans -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Aggregate:
    """One aggregate of a span: ``how`` (``sum``, ``max``, ``min``, ``first``, ``count``) of the
    per-sample ``column``; with ``gear``, only over intervals spent in that gear. Spans merge by
    the same ``how`` (``count`` by sum, ``first`` by the earliest span's value)."""

    how: str
    column: str
    gear: int | None = None


#: Aggregate name -> definition. Means are kept as sums and divided by ``events`` in
#: :func:`span_features`, so that windows merge into drives exactly.
AGGREGATES: Mapping[str, Aggregate] = {
    "events": Aggregate("count", "sim_time_s"),
    "sim_time_start_s": Aggregate("min", "sim_time_s"),
    "sim_time_end_s": Aggregate("max", "sim_time_s"),
    "duration_s": Aggregate("sum", "dt_s"),
    "distance_km": Aggregate("sum", "d_distance_km"),
    "fuel_used_l": Aggregate("sum", "d_fuel_l"),
    **{f"{f}_delta": Aggregate("sum", f"d_{f}") for f in WEAR_FIELDS},
    "oil_life_used_pct": Aggregate("sum", "d_oil_life_used_pct"),
    "pke_sum_m2ps2": Aggregate("sum", "d_pke_m2ps2"),
    "harsh_accel_count": Aggregate("sum", "harsh_accel"),
    "harsh_brake_count": Aggregate("sum", "harsh_brake"),
    "stop_count": Aggregate("sum", "stop"),
    "standing_s": Aggregate("sum", "standing_s"),
    "idle_s": Aggregate("sum", "idle_s"),
    "cold_s": Aggregate("sum", "cold_s"),
    "engine_on_s": Aggregate("sum", "engine_on_s"),
    "high_rpm_s": Aggregate("sum", "high_rpm_s"),
    **{gear_time_column(g): Aggregate("sum", "dt_s", gear=g) for g in GEARS},
    "speed_kph_max": Aggregate("max", "vehicle_speed_kph"),
    "speed_mps_sum": Aggregate("sum", "speed_mps"),
    "speed_mps_sq_sum": Aggregate("sum", "speed_mps_sq"),
    "accel_pos_mps2_sum": Aggregate("sum", "accel_pos_mps2"),
    "accel_mps2_sum": Aggregate("sum", "accel_est_mps2"),
    "accel_mps2_sq_sum": Aggregate("sum", "accel_mps2_sq"),
    "engine_rpm_sum": Aggregate("sum", "engine_rpm"),
    "engine_rpm_max": Aggregate("max", "engine_rpm"),
    "throttle_pct_sum": Aggregate("sum", "throttle_pct"),
    "brake_pct_sum": Aggregate("sum", "brake_pct"),
    "coolant_temp_c_sum": Aggregate("sum", "coolant_temp_c"),
    "coolant_temp_c_max": Aggregate("max", "coolant_temp_c"),
    "coolant_temp_c_start": Aggregate("first", "coolant_temp_c"),
    "oil_temp_c_max": Aggregate("max", "oil_temp_c"),
    "ambient_temp_c_sum": Aggregate("sum", "ambient_temp_c"),
    "ambient_temp_c_min": Aggregate("min", "ambient_temp_c"),
    "road_grade_pct_sum": Aggregate("sum", "road_grade_pct"),
    "road_grade_abs_pct_sum": Aggregate("sum", "road_grade_abs_pct"),
    "odometer_km_start": Aggregate("first", "odometer_km"),
    "engine_wear_pct_start": Aggregate("first", "engine_wear_pct"),
}
#: Event-time aggregates, present when the samples carry ``event_time`` (the simulation's clock).
TIME_AGGREGATES: Mapping[str, Aggregate] = {
    "start_at": Aggregate("min", "event_time"),
    "end_at": Aggregate("max", "event_time"),
}
#: How spans merge, by the ``how`` of their aggregate.
MERGE_HOW: Mapping[str, str] = {
    "count": "sum",
    "sum": "sum",
    "max": "max",
    "min": "min",
    "first": "first",
}
_MODEL_FROM_ID = re.compile(r"^(.+)-[0-9]+$")


def vehicle_model_from_id(vehicle_id: str | None) -> str | None:
    """The vehicle model a fleet id names: ``compact-sedan-003`` -> ``compact-sedan``."""
    if not isinstance(vehicle_id, str):
        return None
    match = _MODEL_FROM_ID.match(vehicle_id)
    return match.group(1) if match else None


def _derived(inc: Mapping[str, np.ndarray], column: str) -> np.ndarray:
    """A per-sample column the aggregates read: from ``inc``, or squares, clips and abs."""
    if column in inc:
        return np.asarray(inc[column])
    if column == "speed_mps_sq":
        return np.asarray(inc["speed_mps"]) ** 2
    if column == "accel_pos_mps2":
        return np.maximum(np.asarray(inc["accel_est_mps2"]), 0.0)
    if column == "accel_mps2_sq":
        return np.asarray(inc["accel_est_mps2"]) ** 2
    if column == "road_grade_abs_pct":
        return np.abs(np.asarray(inc["road_grade_pct"]))
    raise KeyError(column)


@dataclass(frozen=True)
class _Groups:
    """Rows grouped by span: ``ids`` per row, ``order`` (rows sorted by span, stable), the first
    sorted position of every span (``starts``) and the number of spans."""

    ids: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    count: int

    @classmethod
    def of(cls, columns: Mapping[str, Any], by: Sequence[str], n: int) -> _Groups:
        combined = np.zeros(n, dtype=np.int64)
        for column in by:
            codes = _codes(columns[column])
            combined = combined * (int(codes.max(initial=0)) + 1) + codes
        ids = _codes(combined)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]]) if n else ids
        return cls(ids, order, starts, len(starts))

    def reduce(self, values: np.ndarray, how: str) -> np.ndarray:
        """``how`` of ``values`` per span; nulls skipped (a span with none gives null)."""
        if how == "count":
            return np.bincount(self.ids, minlength=self.count).astype(np.int64)
        if how == "first":
            return values[self.order[self.starts]]
        if values.dtype.kind == "M":  # timestamps: min/max on their integer form
            ints = values.astype("datetime64[ns]").view(np.int64)[self.order]
            ufunc = np.minimum if how == "min" else np.maximum
            return ufunc.reduceat(ints, self.starts).view("datetime64[ns]")
        if values.dtype.kind in "iub" and how == "sum":  # counts stay integers
            return (
                np.bincount(self.ids, weights=values, minlength=self.count).round().astype(np.int64)
            )
        values = np.asarray(values, dtype=float)
        gaps = np.isnan(values)
        has_gaps = bool(gaps.any())
        if how == "sum":
            weights = np.where(gaps, 0.0, values) if has_gaps else values
            total = np.bincount(self.ids, weights=weights, minlength=self.count)
        else:
            ufunc = np.fmin if how == "min" else np.fmax  # fmin/fmax skip NaN
            total = ufunc.reduceat(values[self.order], self.starts)
        if not has_gaps:
            return total
        known = np.bincount(self.ids, weights=~gaps, minlength=self.count) > 0
        return np.where(known, total, np.nan)

    def max_label(self, values: np.ndarray) -> np.ndarray:
        """Largest non-null label per span (None when there is none)."""
        found = pd.Series(values, dtype=object).groupby(self.ids).max()
        out = np.full(self.count, None, dtype=object)
        out[found.index.to_numpy()] = found.to_numpy()
        return out

    def mode(self, values: np.ndarray) -> np.ndarray:
        """Most frequent non-null value per span (ties: first in sort order), else None."""
        codes, categories = pd.factorize(values, sort=True)
        out = np.full(self.count, None, dtype=object)
        if not len(categories):
            return out
        valid = codes >= 0
        pairs = self.ids[valid] * len(categories) + codes[valid]
        counts = np.bincount(pairs, minlength=self.count * len(categories))
        counts = counts.reshape(self.count, len(categories))
        has = counts.max(axis=1) > 0
        out[has] = np.asarray(categories, dtype=object)[counts.argmax(axis=1)[has]]
        return out


def _as_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: frame[c].to_numpy() for c in frame.columns}


def span_sums(increments: pd.DataFrame | Mapping[str, Any], by: Sequence[str]) -> pd.DataFrame:
    """The :data:`AGGREGATES` of each span (step 2 of the module doc).

    Args:
        increments: output of :func:`sample_increments`.
        by: columns naming a span, e.g. ``["vehicle_id", "run_id", "window_start"]``; empty for
            one span over every sample.

    Returns:
        One row per span: ``by``, every aggregate of :data:`AGGREGATES` (and
        :data:`TIME_AGGREGATES` when the samples carry ``event_time``), ``vehicle_model`` (the
        samples' model, else the one the vehicle id names), ``driver_mode`` (most frequent in
        the span) and ``driver_profile`` (most frequent in the span's drive).
    """
    columns = increments if isinstance(increments, Mapping) else _as_columns(increments)
    n = len(columns["dt_s"])
    keys = [k for k in DRIVE_KEYS if k in columns]
    # the drive keys as one integer code: the strings are hashed once, in step 1
    group_by = ["_drive", *[c for c in by if c not in keys]] if "_drive" in columns else list(by)
    if not by:
        group_by = []
    groups = _Groups.of(columns, group_by, n)
    heads = groups.order[groups.starts]
    out: dict[str, Any] = {c: np.asarray(columns[c])[heads] for c in by}
    specs = dict(AGGREGATES)
    if "event_time" in columns:
        specs.update(TIME_AGGREGATES)
    prev_gear = np.asarray(columns["prev_gear"])
    for name, spec in specs.items():
        values = _derived(columns, spec.column)
        if spec.gear is not None:
            values = np.where(prev_gear == spec.gear, values, 0.0)
        out[name] = groups.reduce(values, spec.how)
    model = np.full(groups.count, None, dtype=object)
    if "vehicle_model" in columns:
        model = groups.mode(np.asarray(columns["vehicle_model"]))
    if "vehicle_id" in columns:
        ids = np.asarray(columns["vehicle_id"])[heads]
        from_id = np.array([vehicle_model_from_id(v) for v in ids], dtype=object)
        model = np.where(pd.isna(model), from_id, model)
    out["vehicle_model"] = model
    modes = np.full(groups.count, None, dtype=object)
    profiles = modes
    if "driver_mode" in columns:
        driver_mode = np.asarray(columns["driver_mode"])
        modes = groups.mode(driver_mode)
        drives = _Groups.of(columns, ["_drive"] if "_drive" in columns else keys, n)
        profiles = drives.mode(driver_mode)[drives.ids[heads]]
    out["driver_mode"] = modes
    out["driver_profile"] = profiles
    return pd.DataFrame(out)


def merge_spans(sums: pd.DataFrame, by: Sequence[str], order: str = "sim_time_start_s"):
    """Spans merged into larger ones (windows into drives), as :data:`MERGE_HOW` says.

    Args:
        sums: output of :func:`span_sums`.
        by: columns of the merged span, e.g. ``["vehicle_id", "run_id"]``.
        order: column whose smallest value marks a span's earliest part (``first`` values).
    """
    frame = sums.sort_values([*by, order], kind="stable").reset_index(drop=True)
    groups = _Groups.of(_as_columns(frame), by, len(frame))
    heads = frame.iloc[groups.order[groups.starts]]
    out: dict[str, Any] = {c: heads[c].to_numpy() for c in by}
    specs = dict(AGGREGATES)
    if "start_at" in frame.columns:
        specs.update(TIME_AGGREGATES)
    for name, spec in specs.items():
        out[name] = groups.reduce(frame[name].to_numpy(), MERGE_HOW[spec.how])
    for name in ("vehicle_model", "driver_profile"):  # the same in every window of a drive
        out[name] = groups.max_label(frame[name].to_numpy())
    out["driver_mode"] = out["driver_profile"]
    return pd.DataFrame(out)


# --- 3. features --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ratio:
    """``scale * sum(numerators) / denominator`` when ``denominator >= min_denominator``, else
    unknown. Names are aggregate (or earlier feature) columns."""

    numerators: tuple[str, ...]
    denominator: str
    scale: float = 1.0
    min_denominator: float = MIN_TIME_S


#: Features that are ratios of a span's aggregates, in output order (docs: :data:`FEATURES`).
RATIOS: Mapping[str, Ratio] = {
    "mean_speed_mps": Ratio(("distance_km",), "duration_s", 1000.0),
    "speed_kph_mean": Ratio(("distance_km",), "duration_s", 3600.0),
    "stops_per_km": Ratio(("stop_count",), "distance_km", 1.0, MIN_DISTANCE_KM),
    "standing_frac": Ratio(("standing_s",), "duration_s"),
    "idle_frac": Ratio(("idle_s",), "duration_s"),
    "pke_mps2": Ratio(("pke_sum_m2ps2",), "distance_km", 1e-3, MIN_DISTANCE_KM),
    "accel_pos_mps2_mean": Ratio(("accel_pos_mps2_sum",), "events", 1.0, 1.0),
    "throttle_pct_mean": Ratio(("throttle_pct_sum",), "events", 1.0, 1.0),
    "brake_pct_mean": Ratio(("brake_pct_sum",), "events", 1.0, 1.0),
    "engine_rpm_mean": Ratio(("engine_rpm_sum",), "events", 1.0, 1.0),
    "high_rpm_frac": Ratio(("high_rpm_s",), "duration_s"),
    "harsh_events_per_100km": Ratio(
        ("harsh_accel_count", "harsh_brake_count"), "distance_km", 100.0, MIN_DISTANCE_KM
    ),
    "ambient_temp_c": Ratio(("ambient_temp_c_sum",), "events", 1.0, 1.0),
    "coolant_temp_c_mean": Ratio(("coolant_temp_c_sum",), "events", 1.0, 1.0),
    "cold_engine_frac": Ratio(("cold_s",), "engine_on_s"),
    "road_grade_pct_mean": Ratio(("road_grade_pct_sum",), "events", 1.0, 1.0),
    "road_grade_abs_pct_mean": Ratio(("road_grade_abs_pct_sum",), "events", 1.0, 1.0),
    **{gear_frac_column(g): Ratio((gear_time_column(g),), "duration_s") for g in GEARS},
    "power_to_mass_w_per_kg": Ratio(("rated_power_w",), "mass_kg", 1.0, 1.0),
    # targets
    "fuel_l_per_100km": Ratio(("fuel_used_l",), "distance_km", 100.0, MIN_DISTANCE_KM),
    "fuel_rate_lph_mean": Ratio(("fuel_used_l",), "duration_s", 3600.0),
    **{
        f"{f}_per_100km": Ratio((f"{f}_delta",), "distance_km", 100.0, MIN_DISTANCE_KM)
        for f in WEAR_FIELDS
    },
    "engine_wear_pct_per_h": Ratio(("engine_wear_pct_delta",), "duration_s", 3600.0),
    "oil_life_used_pct_per_h": Ratio(("oil_life_used_pct",), "duration_s", 3600.0),
}

#: Span features: name -> definition with unit. Computed by :func:`span_features`; the same for a
#: window and a drive (the *span*), which a table's grain says.
FEATURES: Mapping[str, str] = {
    "duration_s": "simulated time the span covers (sum of sample intervals) [s]",
    "distance_km": "distance driven in the span (odometer increments) [km]",
    "mean_speed_mps": "distance over duration, standing included [m/s]",
    "max_speed_mps": "highest sampled speed [m/s]",
    "speed_std_mps": "standard deviation of the sampled speed [m/s]",
    "stops_per_km": "transitions from moving to standing (< 0.5 m/s), per km [1/km]",
    "standing_frac": "share of the span's time standing (< 0.5 m/s), engine on or off [-]",
    "idle_frac": "share of the span's time idling: engine on while standing [-]",
    "pke_mps2": "positive kinetic energy: sum of the rises of v² over distance [m/s²]",
    "accel_pos_mps2_mean": "mean over samples of the acceleration's positive part [m/s²]",
    "accel_mps2_std": "standard deviation of the sampled acceleration [m/s²]",
    "throttle_pct_mean": "mean throttle over samples [%]",
    "brake_pct_mean": "mean brake pedal over samples [%]",
    "engine_rpm_mean": "mean engine speed over samples [rpm]",
    "high_rpm_frac": "share of the span's time above 3000 rpm [-]",
    "harsh_event_count": "harsh accelerations (>= 0.3 g) plus harsh brakings (<= -0.4 g) [-]",
    "harsh_events_per_100km": "harsh events per 100 km [1/100 km]",
    "ambient_temp_c": "mean ambient temperature over samples [°C]",
    "coolant_temp_c_mean": "mean coolant temperature over samples [°C]",
    "cold_engine_frac": "share of the engine's running time with coolant below 70 °C [-]",
    "cold_start": "1 if the span begins with the coolant below 70 °C (a cold engine), else 0 [-]",
    "road_grade_pct_mean": "mean road grade over samples [%]",
    "road_grade_abs_pct_mean": "mean absolute road grade over samples [%]",
    "odometer_km_start": "odometer at the span's first sample [km]",
    "engine_wear_pct_start": "engine wear at the span's first sample [% of life]",
    **{gear_frac_column(g): f"share of the span's time in gear {gear_label(g)} [-]" for g in GEARS},
    "mass_kg": "test mass of the vehicle including payload [kg]",
    "displacement_l": "engine displacement [L]",
    "rated_power_w": "rated engine power [W]",
    "power_to_mass_w_per_kg": "rated power over mass [W/kg]",
}
#: Targets: name -> definition. Per-distance wear so that spans of different length compare.
TARGETS: Mapping[str, str] = {
    "fuel_used_l": "fuel used in the span [L]",
    "fuel_l_per_100km": "fuel used over distance [L/100 km]",
    "fuel_rate_lph_mean": "fuel used over duration [L/h]",
    **{f"{f}_per_100km": f"{f[:-4]} life consumed per 100 km [% of life]" for f in WEAR_FIELDS},
    "engine_wear_pct_per_h": "engine life consumed per hour [% of life/h]",
    "oil_life_used_pct_per_h": "oil life used per hour [% of life/h]",
    "is_valid_example": "the span is at least 0.1 km and 30 s long [bool]",
}
#: Vehicle features (from the parameter set, not the telemetry).
VEHICLE_FEATURES = ("mass_kg", "displacement_l", "rated_power_w")


def ratio(numerator: np.ndarray, denominator: np.ndarray, spec: Ratio) -> np.ndarray:
    """:class:`Ratio` on arrays (NaN where the denominator is below its minimum)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den >= spec.min_denominator, num / den * spec.scale, np.nan)


def std_from_sums(total: np.ndarray, total_sq: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Population standard deviation from the sum, the sum of squares and the count."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
        return np.sqrt(np.maximum(total_sq / count - mean * mean, 0.0))


def span_features(
    sums: pd.DataFrame, vehicles: pd.DataFrame | None = None, on: str = "vehicle_model"
) -> pd.DataFrame:
    """Features and targets of each span from its aggregates (step 3 of the module doc).

    Args:
        sums: output of :func:`span_sums` or :func:`merge_spans`.
        vehicles: optional vehicle dimension: ``on`` and :data:`VEHICLE_FEATURES`
            (:func:`vehicle_features` of each parameter set); spans it does not list get nulls.
        on: the column ``vehicles`` is joined on (``vehicle_model``, or ``vehicle_id`` when
            vehicles of one model differ, e.g. in payload).

    Returns:
        ``sums`` plus every name of :data:`FEATURES` and :data:`TARGETS`.
    """
    out = sums.copy()
    if vehicles is not None:
        dims = vehicles[[on, *VEHICLE_FEATURES]].drop_duplicates(on)
        out = out.merge(dims, on=on, how="left")
    for name in VEHICLE_FEATURES:
        if name not in out.columns:
            out[name] = np.nan
    count = out["events"].to_numpy(dtype=float)
    out["max_speed_mps"] = out["speed_kph_max"] * MPS_PER_KPH
    out["speed_std_mps"] = std_from_sums(
        out["speed_mps_sum"].to_numpy(float), out["speed_mps_sq_sum"].to_numpy(float), count
    )
    out["accel_mps2_std"] = std_from_sums(
        out["accel_mps2_sum"].to_numpy(float), out["accel_mps2_sq_sum"].to_numpy(float), count
    )
    out["harsh_event_count"] = out["harsh_accel_count"] + out["harsh_brake_count"]
    out["cold_start"] = np.where(
        out["coolant_temp_c_start"].isna(),
        np.nan,
        (out["coolant_temp_c_start"] < COLD_COOLANT_C).astype(float),
    )
    for name, spec in RATIOS.items():
        numerator = sum(out[c].to_numpy(dtype=float) for c in spec.numerators)
        out[name] = ratio(numerator, out[spec.denominator].to_numpy(dtype=float), spec)
    out["is_valid_example"] = (out["distance_km"] >= MIN_DISTANCE_KM) & (
        out["duration_s"] >= MIN_DURATION_S
    )
    return out


def driving_style(harsh_events_per_100km: np.ndarray) -> np.ndarray:
    """``calm``, ``moderate`` or ``aggressive`` by :data:`STYLE_LIMITS_PER_100KM`; None if unknown."""
    rate = np.asarray(harsh_events_per_100km, dtype=float)
    calm, moderate = STYLE_LIMITS_PER_100KM
    style = np.where(rate < calm, "calm", np.where(rate < moderate, "moderate", "aggressive"))
    return np.where(np.isnan(rate), None, style).astype(object)


# --- windows and drives ---------------------------------------------------------------------------
def window_start(event_time: pd.Series) -> pd.Series:
    """Start of the :data:`WINDOW_S` window an event time falls in (aligned to the clock)."""
    return event_time.dt.floor(f"{WINDOW_S}s")


def with_sim_clock(samples: pd.DataFrame, clock0: pd.Timestamp) -> pd.DataFrame:
    """``samples`` with ``event_time`` = ``clock0`` + ``sim_time_s`` (the simulation's clock,
    as the live runtime's ``sim_clock_utc``)."""
    clock = pd.Timestamp(clock0)
    return samples.assign(event_time=clock + pd.to_timedelta(samples["sim_time_s"], unit="s"))


def window_sums(samples: pd.DataFrame) -> pd.DataFrame:
    """:func:`span_sums` per drive and :data:`WINDOW_S` window of ``event_time``, with
    ``window_start`` and ``window_end``."""
    if "window_start" not in samples.columns:
        if "event_time" not in samples.columns:
            raise ValueError("windows need event_time (see with_sim_clock) or window_start")
        samples = samples.assign(window_start=window_start(samples["event_time"]))
    inc = _sample_columns(samples)
    sums = span_sums(inc, [*_drive_keys(samples), "window_start"])
    sums["window_end"] = sums["window_start"] + pd.Timedelta(seconds=WINDOW_S)
    return sums


def window_features(
    samples: pd.DataFrame, vehicles: pd.DataFrame | None = None, on: str = "vehicle_model"
) -> pd.DataFrame:
    """Features of every one-minute window of every drive in ``samples`` (see module doc)."""
    return span_features(window_sums(samples), vehicles, on)


def drive_features(
    samples: pd.DataFrame, vehicles: pd.DataFrame | None = None, on: str = "vehicle_model"
) -> pd.DataFrame:
    """Features of every drive in ``samples`` (one row per ``vehicle_id``/``run_id``)."""
    inc = _sample_columns(samples)
    return span_features(span_sums(inc, _drive_keys(samples)), vehicles, on)


# --- inputs -------------------------------------------------------------------------------------
def vehicle_features(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row of the vehicle dimension: ``vehicle_model`` and :data:`VEHICLE_FEATURES` from a
    parameter set's values (``VehicleParams.values``)."""
    return {
        "vehicle_model": name,
        "mass_kg": float(values["mass_kg"]),
        "displacement_l": float(values["displacement_l"]),
        "rated_power_w": float(values["rated_power_w"]),
    }


def samples_from_cycle(time_s: np.ndarray, speed_mps: np.ndarray) -> pd.DataFrame:
    """Telemetry samples of a speed trace alone (a drive cycle's target): distance by the
    trapezoid rule, the engine running, nothing else known."""
    time_s = np.asarray(time_s, dtype=float)
    speed_mps = np.asarray(speed_mps, dtype=float)
    step_m = np.concatenate([[0.0], 0.5 * (speed_mps[1:] + speed_mps[:-1]) * np.diff(time_s)])
    return pd.DataFrame(
        {
            "sim_time_s": time_s,
            "vehicle_speed_kph": speed_mps / MPS_PER_KPH,
            "odometer_km": np.cumsum(step_m) / 1e3,
        }
    )


def samples_from_records(
    records: np.ndarray,
    state_columns: Sequence[str],
    vehicle_ids: Sequence[str],
    run_id: str,
    ambient_temp_c: float | Sequence[float],
) -> pd.DataFrame:
    """Telemetry samples (payload names and units) from simulator records.

    Args:
        records: ``[n_records, n_vehicles, n_state]`` as ``Simulator.run_steps`` returns
            (prepend the initial state to cover the drive from its start).
        state_columns: names of the state axis (``vehsim.layout.STATE_COLUMNS``).
        vehicle_ids: one id per vehicle.
        run_id: the run's id (every vehicle).
        ambient_temp_c: ambient temperature, scalar or per vehicle [°C].

    The conversions are those of ``vehsim.telemetry.raw_payload`` (the event payload), without
    its rounding.
    """
    n_rec, n_veh, _ = records.shape
    col = {name: k for k, name in enumerate(state_columns)}

    def state(name: str) -> np.ndarray:
        return records[:, :, col[name]].T.reshape(-1)  # vehicle-major: one drive after another

    ambient = np.broadcast_to(np.asarray(ambient_temp_c, dtype=float), (n_veh,))
    return pd.DataFrame(
        {
            "vehicle_id": np.repeat(np.asarray(vehicle_ids, dtype=object), n_rec),
            "run_id": run_id,
            "seq": np.tile(np.arange(n_rec, dtype=np.int64), n_veh),
            "sim_time_s": state("time_s"),
            "engine_on": state("engine_state") >= 2,
            "engine_rpm": state("engine_speed_rpm"),
            "vehicle_speed_kph": state("speed_mps") / MPS_PER_KPH,
            "accel_mps2": state("accel_mps2"),
            "gear": state("gear").astype(np.int64),
            "throttle_pct": state("throttle_frac") * 100.0,
            "brake_pct": state("brake_frac") * 100.0,
            "coolant_temp_c": state("coolant_temp_c"),
            "oil_temp_c": state("oil_temp_c"),
            "fuel_used_l": state("fuel_used_g") / 1e3 / GASOLINE_DENSITY_KGPL,
            "odometer_km": state("odometer_m") / 1e3,
            **{f: state(f.replace("_pct", "_frac")) * 100.0 for f in WEAR_FIELDS},
            "oil_life_pct": state("oil_life_frac") * 100.0,
            "ambient_temp_c": np.repeat(ambient, n_rec),
            "road_grade_pct": state("road_grade_frac") * 100.0,
        }
    )
