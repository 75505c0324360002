"""``vehsim score``: the champion models on live telemetry; diagnoses and coaching back to the car.

Per ``simulation.raw`` event read from the telemetry topic:

1. **Check** (:func:`parse_sample`): the envelope and every payload field the features read. A
   malformed event is skipped and counted under its reason (``not_json``,
   ``missing_field:<name>``, ``out_of_range:<name>``, ``out_of_order``, ...); nothing raises.
   Events of other types (the scorer's own among them) are ignored and counted apart.
2. **Window** (:class:`Track`): per vehicle and run, the last :data:`WINDOW_S` seconds of
   telemetry, thinned to one sample per ``sample_s`` (default :data:`SAMPLE_S`, the rate the
   training tables are computed at). A window is due every ``every_s`` of the car's simulated
   time, once the car has a whole one.
3. **Features** (:func:`window_features`): ``vehsim.features`` (``sample_increments`` ->
   ``span_sums`` -> ``span_features``), the functions Gold and the experiments compute theirs
   with; each sample carries the interval that ends at it, as in Gold, so a window is exactly
   :data:`WINDOW_S` seconds long. Beside them the diagnostic features of the controllers'
   readings (:func:`diagnostic_window_features`, ``vehsim.diagnostic_features``), as the sweeps
   compute them for the OBD fault model.
4. **Models** (:class:`ChampionSet`): whichever of the fault classifier, the driving-style
   classifier and the fuel regressor has a version with the alias ``champion``
   (``models:/<name>@champion``), loaded with ``mlflow.pyfunc`` by the version the alias names;
   every :data:`RELOAD_CHECK_S` the aliases are looked up again and a moved one is reloaded.
   A model reads the columns of its signature. A fault or driving-style classifier that takes
   missing values (scikit-learn's ``allow_nan``: gradient-boosted trees, random forests) scores
   every window, as it learnt from sweep windows with the same undefined figures; another
   model (and every fuel regressor, trained on complete rows) does not score a window with one
   of them unknown (NaN). A model reading a diagnostic feature does not score a window
   whose controller readings are unknown (:data:`DIAGNOSTICS_KNOWN`). Windows left unscored
   are counted as ``incomplete:<role>``.
5. **Events** (:func:`prediction_event`, :func:`coaching_event`): a ``diagnostic.prediction`` per
   scored window when there is a fault model, a ``driver.coaching`` per minute of the car's
   simulated time, published on the telemetry topic through the project's durable publisher.

**Coaching.** The trip so far (the car's run) sums its minutes. With a fuel regressor whose
target is ``fuel_l_per_100km`` and whose inputs include an eco-style feature (:data:`ECO_STYLE`),
the estimate is the model's: its prediction for each minute as driven against the same minute
with the eco-style features (no harsh events), weighted by the minute's distance (``basis:
model``). Otherwise it is a published rule of thumb scaled by the trip's harsh events per 100 km
(:func:`rule_excess_fuel_pct`, ``basis: rule``).

**No ground truth.** Only ``simulation.raw`` payloads are read; ``driver_mode`` (the driver
profile the simulator was given: the driving style's label) is dropped before the features are
computed, and a model whose inputs name it or ``driver_profile`` is refused. Fault labels are
never read.

``vehsim`` never imports this module: it is a ``vehsim.cli`` plug-in of ``vehsim_experiments``.
MLflow and kafka-python are imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import queue
import signal
import sys
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from vehsim import diagnostic_features as dfx
from vehsim import events as ev
from vehsim import features as fx
from vehsim.errors import ConfigError, RunFailure
from vehsim_experiments.datasets import SAMPLE_RATE_HZ
from vehsim_experiments.evaluation import CHAMPION_ALIAS
from vehsim_experiments.runner import PRESETS

# --- settings -----------------------------------------------------------------------------------
#: Length of a scored window [s of simulated time]: the training windows' (vehsim.features).
WINDOW_S = float(fx.WINDOW_S)
#: Default spacing of the samples a window keeps [s]: the training tables' telemetry rate.
SAMPLE_S = 1.0 / SAMPLE_RATE_HZ
#: Default spacing of scored windows [s of simulated time]; must divide :data:`WINDOW_S`.
DEFAULT_EVERY_S = 10.0
#: Spacing of coaching events [s of simulated time]: one per window length, so the trip is the
#: sum of whole, non-overlapping windows.
COACH_EVERY_S = WINDOW_S
#: How often the ``champion`` aliases are looked up again [s, wall clock].
RELOAD_CHECK_S = 30.0
#: How often a progress line is printed [s, wall clock].
PROGRESS_EVERY_S = 10.0
#: A vehicle's window is dropped after this long without telemetry [s, wall clock].
IDLE_TRACK_S = 600.0
#: Most vehicle runs followed at once; the least recently heard is dropped beyond.
MAX_TRACKS = 10_000
#: Largest event read [bytes]; a real ``simulation.raw`` event is about 1.5 kB.
MAX_EVENT_BYTES = 64 * 1024
#: Records waiting between the Kafka reader and the scorer at most (the reader then waits).
QUEUE_RECORDS = 50_000
#: Latencies kept for the percentiles of the progress line and the summary.
LATENCY_SAMPLES = 20_000

#: The models ``vehsim score`` applies: role -> default registered name and what it does.
FAULT, STYLE, FUEL = "fault", "style", "fuel"
DEFAULT_MODEL_NAMES: Mapping[str, str] = {
    FAULT: "vehsim-fault",
    STYLE: "vehsim-driving-style",
    FUEL: PRESETS["fuel"].registered_model_name,
}
#: Other models of a role the experiments register (``vehsim experiment fault --features obd``):
#: named, with the option that picks it, when the role's own model has no champion.
OTHER_MODEL_NAMES: Mapping[str, tuple[str, ...]] = {FAULT: ("vehsim-fault-obd",)}
ROLE_HELP: Mapping[str, str] = {
    FAULT: "fault classifier (diagnostic.prediction)",
    STYLE: "driving-style classifier (style in driver.coaching)",
    FUEL: "fuel regressor of fuel_l_per_100km (the coaching's estimate)",
}
#: Target a fuel model must predict for the model-based coaching estimate.
FUEL_TARGET = "fuel_l_per_100km"
#: Class labels that mean "no fault" (published as :data:`vehsim.events.NO_FAULT`).
NO_FAULT_LABELS = frozenset({"none", "healthy", "no_fault", "ok", ""})
#: Columns a model must not read: the driver profile the simulator was given is the driving
#: style's label (ground truth), never an input.
GROUND_TRUTH_COLUMNS = ("driver_mode", "driver_profile")
#: Window columns a model may read: every feature, ratio, target and aggregate of
#: vehsim.features.span_features, and the diagnostic features of vehsim.diagnostic_features.
AVAILABLE_COLUMNS = frozenset().union(
    fx.FEATURES, fx.RATIOS, fx.TARGETS, fx.AGGREGATES, dfx.DIAGNOSTIC_FEATURES
)

#: Eco-style value of the features an eco driver changes, for the coaching's counterfactual:
#: no harsh accelerations or brakings (thresholds in vehsim.features).
ECO_STYLE: Mapping[str, float] = {"harsh_event_count": 0.0, "harsh_events_per_100km": 0.0}
#: Fuel-economy loss of aggressive driving (speeding, rapid acceleration and braking), the low
#: end of the published range: 10-40 % lower mileage in stop-and-go traffic, 15-30 % at highway
#: speeds (fueleconomy.gov, "Driving More Efficiently", US DOE/EPA, after ORNL's tests, Thomas
#: et al. 2017) [-]. The rule reaches it at the aggressive limit of harsh events per 100 km.
AGGRESSIVE_MILEAGE_LOSS = 0.10


# --- 1. checking events ---------------------------------------------------------------------------
#: Payload fields the features read that the event schema requires (numbers, in range).
_REQUIRED_NUMBERS = tuple(c for c in fx.NUMERIC_SAMPLE_COLUMNS if c in ev.RAW_PAYLOAD_FIELDS)
#: Optional payload fields the features read, checked when present.
_OPTIONAL_NUMBERS = tuple(
    c for c in fx.NUMERIC_SAMPLE_COLUMNS if c in ev.OPTIONAL_RAW_PAYLOAD_FIELDS
)
#: Controller readings the diagnostic features read beyond those (``vehsim.telemetry``): taken
#: when present (a producer that does not send them leaves the diagnostic features unknown).
_DIAGNOSTIC_FLAGS = ("fan_on", "driveline_locked")
_DIAGNOSTIC_NUMBERS = tuple(
    c
    for c in dfx.PAYLOAD_FIELDS
    if c not in (*_REQUIRED_NUMBERS, *_OPTIONAL_NUMBERS, *_DIAGNOSTIC_FLAGS, "engine_on")
)
_MAX_ID_CHARS = 200


class BadEvent(ValueError):
    """A record that is not a usable ``simulation.raw`` event; ``reason`` is a short key."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


#: Window column: whether its diagnostic features rest on the controllers' readings and the
#: vehicle's engine speeds (False: unknown, and no model reading them scores the window).
DIAGNOSTICS_KNOWN = "_diagnostics_known"


@dataclass(frozen=True, slots=True)
class Sample:
    """One telemetry reading: who, when, and the payload fields the window features read."""

    vehicle_id: str
    run_id: str
    sim_time_s: float
    emitted_at: str
    values: Mapping[str, Any]
    sim_clock_utc: str | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_sample(value: bytes | str | None) -> Sample | None:
    """The :class:`Sample` of one Kafka record value; ``None`` for an event of another type.

    Raises:
        BadEvent: the record is not a usable ``simulation.raw`` event (its ``reason`` names what
            is wrong: ``empty``, ``too_large``, ``not_json``, ``not_an_object``,
            ``unsupported_schema_version``, ``bad_envelope:<field>``, ``missing_field:<field>``,
            ``wrong_type:<field>``, ``out_of_range:<field>``).
    """
    if value is None or len(value) == 0:
        raise BadEvent("empty")
    if len(value) > MAX_EVENT_BYTES:
        raise BadEvent("too_large")
    try:
        event = json.loads(value)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadEvent("not_json") from None
    if not isinstance(event, dict):
        raise BadEvent("not_an_object")
    kind = event.get("event_type")
    if not isinstance(kind, str):
        raise BadEvent("bad_envelope:event_type")
    if kind != ev.SIMULATION_RAW:
        return None
    if event.get("schema_version") != ev.SCHEMA_VERSION:
        raise BadEvent("unsupported_schema_version")
    for name in ("vehicle_id", "run_id", "emitted_at"):
        text = event.get(name)
        if not isinstance(text, str) or not 0 < len(text) <= _MAX_ID_CHARS:
            raise BadEvent(f"bad_envelope:{name}")
    sim_time_s = event.get("sim_time_s")
    if not _is_number(sim_time_s) or not math.isfinite(sim_time_s) or sim_time_s < 0:
        raise BadEvent("bad_envelope:sim_time_s")
    payload = event.get("payload")
    if not isinstance(payload, dict):
        raise BadEvent("bad_envelope:payload")
    values: dict[str, Any] = {}
    for name in _REQUIRED_NUMBERS + _OPTIONAL_NUMBERS + _DIAGNOSTIC_NUMBERS:
        number = payload.get(name)
        if number is None:
            if name in _REQUIRED_NUMBERS:
                raise BadEvent(f"missing_field:{name}")
            continue
        if not _is_number(number):
            raise BadEvent(f"wrong_type:{name}")
        # the controllers' readings have no physical range in the schema: finite is enough
        low, high = ev.PAYLOAD_RANGES.get(name, (-math.inf, math.inf))
        if not (math.isfinite(number) and low <= number <= high):  # NaN too
            raise BadEvent(f"out_of_range:{name}")
        values[name] = number
    for name in _DIAGNOSTIC_FLAGS:
        flag = payload.get(name)
        if flag is None:
            continue
        if not isinstance(flag, bool):
            raise BadEvent(f"wrong_type:{name}")
        values[name] = flag
    engine_on = payload.get("engine_on")
    if not isinstance(engine_on, bool):
        raise BadEvent("missing_field:engine_on" if engine_on is None else "wrong_type:engine_on")
    values["engine_on"] = engine_on
    model = payload.get("vehicle_model")
    if model is not None and not isinstance(model, str):
        raise BadEvent("wrong_type:vehicle_model")
    values["vehicle_model"] = model
    clock = payload.get("sim_clock_utc")
    return Sample(
        event["vehicle_id"],
        event["run_id"],
        float(sim_time_s),
        event["emitted_at"],
        values,
        clock if isinstance(clock, str) else None,
    )


# --- 2. windows -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A due window of one vehicle run: its samples (the first is the one before the window,
    which only anchors the increments of the next) and whether it closes a coaching minute."""

    vehicle_id: str
    run_id: str
    start_s: float
    end_s: float
    samples: tuple[Sample, ...]
    coach: bool = False

    @property
    def last(self) -> Sample:
        return self.samples[-1]


class Track:
    """The rolling window of one vehicle run (see the module doc, step 2).

    Args:
        vehicle_id, run_id: whose telemetry.
        every_s: spacing of due windows [s of simulated time].
        sample_s: spacing of the samples kept [s]: the first sample of every ``sample_s`` slot
            of simulated time is kept, the others only advance the clock.
        window_s: window length [s].
    """

    def __init__(
        self,
        vehicle_id: str,
        run_id: str,
        every_s: float = DEFAULT_EVERY_S,
        sample_s: float = SAMPLE_S,
        window_s: float = WINDOW_S,
    ):
        self.vehicle_id = vehicle_id
        self.run_id = run_id
        self.every_s = every_s
        self.sample_s = sample_s
        self.window_s = window_s
        self._tol_s = sample_s / 2.0
        self.samples: deque[Sample] = deque()
        self.last_time_s = -math.inf
        self._last_slot: int | None = None
        self._next_window_s: float | None = None
        self._next_coach_s: float | None = None
        self.kept = 0
        self.trip = Trip()

    def add(self, sample: Sample) -> Window | None:
        """Take one sample (in time order); the window it completes, if one is due.

        Raises:
            BadEvent: ``out_of_order``, the sample is not later than the last one (a replay
                or a duplicate).
        """
        t = sample.sim_time_s
        if t <= self.last_time_s:
            raise BadEvent("out_of_order")
        self.last_time_s = t
        slot = math.floor((t + 1e-9) / self.sample_s)
        if slot == self._last_slot:
            return None
        self._last_slot = slot
        self.samples.append(sample)
        self.kept += 1
        if self._next_window_s is None:
            self._next_window_s = t + self.window_s
            self._next_coach_s = t + self.window_s
        # keep one sample at or before the window's start, none older
        horizon = t - self.window_s + self._tol_s
        while len(self.samples) > 1 and self.samples[1].sim_time_s <= horizon:
            self.samples.popleft()
        if t < self._next_window_s - self._tol_s:
            return None
        while self._next_window_s <= t + self._tol_s:
            self._next_window_s += self.every_s
        coach = t >= self._next_coach_s - self._tol_s
        while self._next_coach_s <= t + self._tol_s:
            self._next_coach_s += COACH_EVERY_S
        return Window(
            self.vehicle_id, self.run_id, t - self.window_s, t, tuple(self.samples), coach
        )


#: The payload fields of a window's samples passed to vehsim.features and
#: vehsim.diagnostic_features.
_SAMPLE_COLUMNS = (
    *_REQUIRED_NUMBERS,
    *_OPTIONAL_NUMBERS,
    "engine_on",
    *_DIAGNOSTIC_NUMBERS,
    *_DIAGNOSTIC_FLAGS,
)


def samples_frame(windows: Sequence[Window]) -> pd.DataFrame:
    """The samples of ``windows`` as one telemetry frame, a window per ``window`` (its index)."""
    samples = [s for w in windows for s in w.samples]
    columns = {name: [s.values.get(name) for s in samples] for name in _SAMPLE_COLUMNS}
    columns["vehicle_model"] = [s.values.get("vehicle_model") for s in samples]
    return pd.DataFrame(
        {
            "window": np.repeat(np.arange(len(windows)), [len(w.samples) for w in windows]),
            "vehicle_id": [s.vehicle_id for s in samples],
            "sim_time_s": [s.sim_time_s for s in samples],
            **columns,
        }
    )


def window_features(
    samples: pd.DataFrame,
    vehicles: pd.DataFrame | None = None,
    engine_speeds: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Features of trailing windows with the functions of ``vehsim.features`` and
    ``vehsim.diagnostic_features``.

    Args:
        samples: telemetry (``simulation.raw`` payload names and units, ``sim_time_s``,
            ``vehicle_id``), a window per value of ``window``, in time order within it. A
            window's first sample is the one before the window: it only anchors the increments
            of the next (each sample carries the interval ending at it, as in Gold).
            ``driver_mode`` is dropped (ground truth of the driving style).
        vehicles: the vehicle dimension (``vehicle_model`` and
            ``vehsim.features.VEHICLE_FEATURES``), or None.
        engine_speeds: ``vehicle_model`` -> (rated, highest) engine speed [rpm], for the
            full-load diagnostic features (:func:`diagnostic_window_features`).

    Returns:
        One row per window, indexed by ``window``: every feature, target and aggregate of
        ``vehsim.features.span_features``, and the diagnostic features.
    """
    frame = samples.drop(columns=[c for c in GROUND_TRUTH_COLUMNS if c in samples.columns])
    # a window is a drive of its own for vehsim.features (windows of one run overlap)
    frame = frame.assign(run_id=frame["window"].astype(str))
    inc = fx.sample_increments(frame)
    inc = inc[~inc["first"].to_numpy(dtype=bool)]
    sums = fx.span_sums(inc, ["vehicle_id", "run_id"])
    out = fx.span_features(sums, vehicles, on="vehicle_model")
    out.index = out["run_id"].astype(int).rename("window")
    return out.sort_index().join(diagnostic_window_features(samples, engine_speeds))


def diagnostic_window_features(
    samples: pd.DataFrame, engine_speeds: Mapping[str, tuple[float, float]] | None = None
) -> pd.DataFrame:
    """:data:`vehsim.diagnostic_features.DIAGNOSTIC_FEATURES` of each window, as the sweeps
    compute them for training: one row per ``window`` (the index).

    A window's features are known when it holds :data:`WINDOW_S` samples one
    :data:`vehsim.diagnostic_features.SAMPLE_S` apart after its anchor, every one with the
    controllers' readings (:data:`vehsim.diagnostic_features.PAYLOAD_FIELDS`); otherwise (a gap,
    another sample spacing, a producer that does not send them) they are NaN, and a model
    reading them does not score that window. The full-load ones also need the vehicle's engine
    speeds (``engine_speeds``, by ``vehicle_model``).
    """
    names = list(dfx.DIAGNOSTIC_FEATURES)
    ids = samples["window"].to_numpy()
    all_windows = pd.Index(np.unique(ids), name="window")
    width = int(dfx.WINDOW_S) + 1
    unknown = pd.DataFrame(np.nan, index=all_windows, columns=names).assign(
        **{DIAGNOSTICS_KNOWN: False}
    )
    missing = [c for c in dfx.PAYLOAD_FIELDS if c not in samples.columns]
    if missing or len(samples) == 0:
        return unknown
    fields = samples[list(dfx.PAYLOAD_FIELDS)]
    time_s = samples["sim_time_s"].to_numpy(dtype=float)
    per_window = pd.DataFrame(
        {
            "window": ids,
            "known": fields.notna().all(axis=1).to_numpy(),
            "step_ok": np.r_[True, np.abs(np.diff(time_s) - dfx.SAMPLE_S) < 0.25 * dfx.SAMPLE_S],
        }
    )
    first = np.r_[True, ids[1:] != ids[:-1]]  # a window's anchor: no step before it counts
    per_window.loc[first, "step_ok"] = True
    grouped = per_window.groupby("window", sort=True)
    complete = (grouped.size() == width) & grouped["known"].all() & grouped["step_ok"].all()
    chosen = complete.index[complete.to_numpy()]
    if len(chosen) == 0:
        return unknown
    rows = np.isin(ids, chosen)
    block = {
        c: fields[c].to_numpy()[rows].astype(float).reshape(len(chosen), width)
        for c in dfx.PAYLOAD_FIELDS
    }
    models = samples["vehicle_model"].to_numpy(dtype=object)[rows].reshape(len(chosen), width)
    # (rated, highest) engine speed of each window's vehicle [rpm]
    speeds = np.array(
        [(engine_speeds or {}).get(m, (math.nan, math.nan)) for m in models[:, -1]], dtype=float
    ).reshape(-1, 2)
    channels = dfx.payload_channels(block, speeds[:, 0], speeds[:, 1])
    values = dfx.diagnostic_features(channels, np.array([width - 1]))
    known = pd.DataFrame({n: values[n][:, 0] for n in names}, index=pd.Index(chosen, name="window"))
    known[DIAGNOSTICS_KNOWN] = np.isfinite(speeds).all(axis=1)
    out = known.reindex(all_windows)
    out[DIAGNOSTICS_KNOWN] = out[DIAGNOSTICS_KNOWN].fillna(False).astype(bool)
    return out


def stream_features(
    events: Iterable[Mapping[str, Any] | bytes | str],
    every_s: float = DEFAULT_EVERY_S,
    sample_s: float = SAMPLE_S,
) -> pd.DataFrame:
    """The features of every window ``vehsim score`` would score in a recorded event stream.

    For training and checking a model on exactly what live scoring computes. ``events`` are
    event objects or their JSON text, in the order they were published; malformed ones and
    other event types are left out, as live.

    Returns:
        One row per window: ``vehicle_id``, ``run_id`` (the telemetry's), ``window_start_s``,
        ``window_end_s`` and the columns of :func:`window_features`.
    """
    check_spacing(every_s, sample_s)
    tracks: dict[tuple[str, str], Track] = {}
    windows: list[Window] = []
    for event in events:
        try:
            sample = parse_sample(event if isinstance(event, bytes | str) else json.dumps(event))
            if sample is None:
                continue
            key = (sample.vehicle_id, sample.run_id)
            track = tracks.setdefault(key, Track(*key, every_s=every_s, sample_s=sample_s))
            window = track.add(sample)
        except BadEvent:
            continue
        if window is not None:
            windows.append(window)
    if not windows:
        return pd.DataFrame(columns=["vehicle_id", "run_id", "window_start_s", "window_end_s"])
    frame = samples_frame(windows)
    dims, names = VehicleDims(), frame["vehicle_model"].tolist()
    features = window_features(frame, dims.frame(names), dims.engine_speeds(names))
    features = features.drop(columns=["vehicle_id", "run_id"])
    keys = pd.DataFrame(
        {
            "vehicle_id": [w.vehicle_id for w in windows],
            "run_id": [w.run_id for w in windows],
            "window_start_s": [w.start_s for w in windows],
            "window_end_s": [w.end_s for w in windows],
        }
    )
    return pd.concat([keys, features.reset_index(drop=True)], axis=1)


class VehicleDims:
    """The vehicle dimension of the shipped vehicles the telemetry names (cached)."""

    def __init__(self):
        self._rows: dict[str, dict[str, Any] | None] = {}
        self._speeds: dict[str, tuple[float, float]] = {}

    def frame(self, names: Iterable[str | None]) -> pd.DataFrame | None:
        import vehsim

        for name in set(names):
            if isinstance(name, str) and name not in self._rows:
                known = name in vehsim.list_vehicles()
                values = vehsim.load_vehicle(name).values if known else None
                self._rows[name] = fx.vehicle_features(name, values) if known else None
                if values is not None:
                    self._speeds[name] = (
                        float(values["rated_speed_rpm"]),
                        float(values["max_speed_rpm"]),
                    )
        rows = [r for r in self._rows.values() if r is not None]
        return pd.DataFrame(rows) if rows else None

    def engine_speeds(self, names: Iterable[str | None]) -> dict[str, tuple[float, float]]:
        """``vehicle_model`` -> (rated, highest) engine speed [rpm] of the shipped vehicles."""
        self.frame(names)
        return dict(self._speeds)


# --- 3. coaching ----------------------------------------------------------------------------------
def rule_excess_fuel_pct(harsh_events_per_100km: float) -> float:
    """Extra fuel of harsh driving by the rule of thumb [% over calm driving].

    0 at or below the calm limit of harsh events per 100 km, :data:`AGGRESSIVE_MILEAGE_LOSS`
    of the mileage (about 11 % more fuel) at and above the aggressive limit
    (``vehsim.features.STYLE_LIMITS_PER_100KM``), linear in between.
    """
    calm, aggressive = fx.STYLE_LIMITS_PER_100KM
    share = min(max((harsh_events_per_100km - calm) / (aggressive - calm), 0.0), 1.0)
    return 100.0 * (1.0 / (1.0 - AGGRESSIVE_MILEAGE_LOSS * share) - 1.0)


def eco_style(features: pd.DataFrame) -> pd.DataFrame:
    """``features`` with the eco-style value of every :data:`ECO_STYLE` column it has."""
    return features.assign(**{c: v for c, v in ECO_STYLE.items() if c in features.columns})


@dataclass
class Trip:
    """A vehicle run's minutes so far: distance [km], fuel [L], harsh events, and the fuel
    model's estimates for the driver and for eco-style driving over the minutes it scored
    (``model_km`` of them) [L]."""

    distance_km: float = 0.0
    fuel_l: float = 0.0
    harsh_accel: int = 0
    harsh_brake: int = 0
    model_km: float = 0.0
    model_fuel_l: float = 0.0
    eco_fuel_l: float = 0.0
    fuel_model: tuple[str, str] | None = None

    def add(
        self,
        minute: Mapping[str, Any],
        fuel_l_per_100km: float | None = None,
        eco_l_per_100km: float | None = None,
        fuel_model: tuple[str, str] | None = None,
    ) -> None:
        """Add one minute (a row of :func:`window_features`) and the fuel model's estimates."""
        distance = _finite(minute.get("distance_km")) or 0.0
        self.distance_km += distance
        self.fuel_l += _finite(minute.get("fuel_used_l")) or 0.0
        self.harsh_accel += int(_finite(minute.get("harsh_accel_count")) or 0)
        self.harsh_brake += int(_finite(minute.get("harsh_brake_count")) or 0)
        fuel, eco = _finite(fuel_l_per_100km), _finite(eco_l_per_100km)
        if fuel is not None and eco is not None and distance > 0.0:
            self.model_km += distance
            self.model_fuel_l += distance * fuel / 100.0
            self.eco_fuel_l += distance * eco / 100.0
            self.fuel_model = fuel_model

    def coaching(self) -> dict[str, Any] | None:
        """The coaching payload's estimate fields, or None while the trip is too short."""
        if self.distance_km < fx.MIN_DISTANCE_KM:
            return None
        out: dict[str, Any] = {
            "trip_distance_km": round(self.distance_km, 3),
            "harsh_accel_count": self.harsh_accel,
            "harsh_brake_count": self.harsh_brake,
        }
        if self.model_km >= fx.MIN_DISTANCE_KM and self.eco_fuel_l > 0.0:
            excess = 100.0 * (self.model_fuel_l / self.eco_fuel_l - 1.0)
            out.update(
                basis="model",
                fuel_l_per_100km=round(100.0 * self.model_fuel_l / self.model_km, 3),
                eco_fuel_l_per_100km=round(100.0 * self.eco_fuel_l / self.model_km, 3),
                fuel_model=self.fuel_model[0] if self.fuel_model else None,
                fuel_model_version=self.fuel_model[1] if self.fuel_model else None,
            )
        else:
            rate = 100.0 * (self.harsh_accel + self.harsh_brake) / self.distance_km
            excess = rule_excess_fuel_pct(rate)
            out.update(
                basis="rule",
                fuel_l_per_100km=round(100.0 * self.fuel_l / self.distance_km, 3),
                eco_fuel_l_per_100km=None,
                fuel_model=None,
                fuel_model_version=None,
            )
        out["excess_fuel_pct"] = round(excess, 2)
        out["habit"], out["advice"] = advice(excess, self.harsh_accel, self.harsh_brake)
        return out


def advice(excess_fuel_pct: float, harsh_accel: int, harsh_brake: int) -> tuple[str, str]:
    """The habit to name and the sentence for the driver."""
    if round(excess_fuel_pct) < 1 or harsh_accel + harsh_brake == 0:
        return "smooth", "smooth driving: no extra fuel from harsh acceleration or braking"
    habit = "harsh_acceleration" if harsh_accel >= harsh_brake else "harsh_braking"
    words = habit.replace("_", " ")
    return habit, f"{words}: about {round(excess_fuel_pct):.0f} % more fuel on this trip"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- 4. models ------------------------------------------------------------------------------------
@dataclass
class ChampionModel:
    """A loaded model: its role, registry name and version, the columns it reads, and how to
    predict. ``estimator`` is the underlying scikit-learn model when it gives probabilities."""

    role: str
    name: str
    version: str
    inputs: tuple[str, ...]
    predictor: Any
    estimator: Any = None
    target: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions for the rows of ``X`` and, for a classifier that gives them, the
        probability of each predicted class."""
        X = X[list(self.inputs)].astype("float64")
        est = self.estimator
        with _one_thread():
            if est is not None and hasattr(est, "predict_proba") and hasattr(est, "classes_"):
                proba = np.asarray(est.predict_proba(X))
                best = proba.argmax(axis=1)
                return np.asarray(est.classes_)[best], proba[np.arange(len(best)), best]
            out = self.predictor.predict(X)
        out = out.to_numpy() if hasattr(out, "to_numpy") else np.asarray(out)
        return out.reshape(len(X), -1)[:, 0], None

    @property
    def eco_basis(self) -> bool:
        """Whether this fuel model can give the coaching's model-based estimate."""
        return self.target == FUEL_TARGET and bool(set(self.inputs) & set(ECO_STYLE))

    @functools.cached_property
    def takes_missing(self) -> bool:
        """Whether the model predicts from windows with undefined figures: a fault or driving-
        style classifier that takes missing values (scikit-learn's ``allow_nan`` tag:
        gradient-boosted trees, random forests). The experiments train those on sweep windows
        whose conditional figures are left undefined (no coasting, no full throttle, a standing
        car's per-km figures), as live windows have them; a fuel regressor is trained on
        complete rows only, so it is given complete windows only."""
        if self.estimator is None or self.role == FUEL:
            return False
        try:
            from sklearn.utils import get_tags

            return bool(get_tags(self.estimator).input_tags.allow_nan)
        except Exception:  # not a scikit-learn estimator, or an older scikit-learn
            return False

    @property
    def reads_diagnostics(self) -> bool:
        """Whether the model reads a diagnostic feature of the controllers' readings."""
        return bool(set(self.inputs) & set(dfx.DIAGNOSTIC_FEATURES))


_THREADPOOLS: list[Any] = []


def _one_thread():
    """Native thread pools (OpenMP, BLAS) held to one thread for a prediction. Live batches are
    small (a window per car), and starting and synchronising OpenMP's threads costs more than it
    saves: a one-row prediction of a fault classifier (scikit-learn's HistGradientBoosting, 50
    rounds, 4 classes) took 240 ms with two threads and 3 ms with one on a busy two-core machine.
    The controller (threadpoolctl, a scikit-learn dependency) finds the loaded pools once."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # a model without scikit-learn: nothing to hold
        return contextlib.nullcontext()
    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1)


def check_inputs(name: str, version: str, inputs: Sequence[str] | None) -> tuple[str, ...]:
    """The columns a model reads, or :class:`ConfigError` naming what live windows lack."""
    if not inputs:
        raise ConfigError(
            f"model {name} version {version} has no input signature: vehsim score cannot tell "
            "which features it reads (log it with a signature)"
        )
    truth = [c for c in inputs if c in GROUND_TRUTH_COLUMNS]
    if truth:
        raise ConfigError(
            f"model {name} version {version} reads {truth}, the driver profile the simulator "
            "was given (ground truth): vehsim score never feeds it"
        )
    missing = [c for c in inputs if c not in AVAILABLE_COLUMNS]
    if missing:
        raise ConfigError(
            f"model {name} version {version} reads {missing}, which live telemetry windows do "
            f"not give (vehsim.features computes {len(AVAILABLE_COLUMNS)} columns, e.g. "
            f"{', '.join(sorted(fx.FEATURES)[:6])}, ...)"
        )
    return tuple(inputs)


def load_champion(client, role: str, name: str, version: str) -> ChampionModel:
    """Load version ``version`` of registered model ``name`` with ``mlflow.pyfunc``."""
    import mlflow.pyfunc

    predictor = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    schema = predictor.metadata.get_input_schema()
    inputs = check_inputs(name, version, schema.input_names() if schema is not None else None)
    try:
        estimator = predictor.get_raw_model()
    except Exception:  # a flavour without a raw model: pyfunc's predict only, no probabilities
        estimator = None
    target, notes = None, []
    if role == FUEL:
        mv = client.get_model_version(name, version)
        run = client.get_run(mv.run_id) if mv.run_id else None
        if run is not None:
            target = run.data.params.get("target") or run.data.tags.get("vehsim.target")
    model = ChampionModel(role, name, str(version), inputs, predictor, estimator, target)
    if role == FUEL and not model.eco_basis:
        notes.append(
            f"fuel model {name} version {version} predicts {target or 'an unknown target'} from "
            f"features without {sorted(ECO_STYLE)}: coaching uses the rule of thumb"
        )
    model.notes = tuple(notes)
    return model


class ChampionSet:
    """The champion of each role, looked up in the registry and reloaded when its alias moves.

    Args:
        tracking_uri: the MLflow tracking (and registry) store.
        names: role -> registered model name (default :data:`DEFAULT_MODEL_NAMES`).
        say: where messages go (loads, moves, problems).
    """

    def __init__(
        self,
        tracking_uri: str,
        names: Mapping[str, str] | None = None,
        say: Callable[[str], None] | None = None,
    ):
        self.tracking_uri = tracking_uri
        self.names = dict(DEFAULT_MODEL_NAMES if names is None else names)
        self.say = say or (lambda text: None)
        self.models: dict[str, ChampionModel] = {}
        self.problems: dict[str, str] = {}
        self._client = None

    def _mlflow(self):
        if self._client is None:
            import mlflow
            from mlflow import MlflowClient

            # mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI into os.environ; keep it as it
            # was (as vehsim_experiments.runner does)
            previous = os.environ.get("MLFLOW_TRACKING_URI")
            mlflow.set_tracking_uri(self.tracking_uri)
            if previous is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = previous
            self._client = MlflowClient(self.tracking_uri)
        return self._client

    def champion_version(self, name: str) -> str | None:
        """The version the ``champion`` alias of ``name`` names, or None (no such model or
        alias)."""
        from mlflow.exceptions import MlflowException

        client = self._mlflow()
        try:
            return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
        except MlflowException:
            return None

    def _other_champion(self, role: str, name: str) -> str:
        """A hint naming another model of ``role`` that has a champion, or ``""``."""
        for other in OTHER_MODEL_NAMES.get(role, ()):
            if other != name and self.champion_version(other) is not None:
                return f" ({other}@{CHAMPION_ALIAS} exists: --{role}-model {other})"
        return ""

    def refresh(self) -> list[str]:
        """Look every alias up and (re)load what moved; returns what changed, one line each.

        ``models`` is replaced as a whole once everything is loaded, so a scorer reading it
        from another thread sees the old set or the new one, never half of each.
        """
        changes = []
        models = dict(self.models)
        for role, name in self.names.items():
            current = models.get(role)
            try:
                version = self.champion_version(name)
            except Exception as exc:  # the store is unreachable: keep what is loaded
                self.problems[role] = f"cannot look up {name}@{CHAMPION_ALIAS}: {exc}"
                continue
            if version is None:
                self.problems[role] = f"no {name}@{CHAMPION_ALIAS}" + self._other_champion(
                    role, name
                )
                if current is not None:
                    del models[role]
                    changes.append(f"{role} model {name}: alias {CHAMPION_ALIAS} gone, not applied")
                continue
            if current is not None and current.version == version:
                continue
            try:
                model = load_champion(self._mlflow(), role, name, version)
            except Exception as exc:
                self.problems[role] = f"{name} version {version} not loaded: {exc}"
                changes.append(self.problems[role])
                continue
            models[role] = model
            self.problems.pop(role, None)
            moved = f"{current.version} -> {version}" if current else f"version {version}"
            changes.append(
                f"{role} model {name}@{CHAMPION_ALIAS}: {moved} loaded "
                f"({len(model.inputs)} features)"
            )
            changes.extend(model.notes)
        self.models = models
        return changes

    def watch(self, stop: threading.Event, interval_s: float = RELOAD_CHECK_S) -> threading.Thread:
        """Refresh every ``interval_s`` on a thread of its own until ``stop`` is set, so that
        looking aliases up and loading a moved model never hold up live scoring; what changed
        goes to ``say``."""

        def loop() -> None:
            while not stop.wait(interval_s):
                try:
                    changes = self.refresh()
                except Exception as exc:  # keep scoring with what is loaded
                    changes = [f"model registry check failed: {exc}"]
                for line in changes:
                    self.say(line)

        thread = threading.Thread(target=loop, name="vehsim-score-models", daemon=True)
        thread.start()
        return thread


# --- 5. events ------------------------------------------------------------------------------------
def fault_name(label: Any) -> str:
    """A fault classifier's label as published: the fault's name, or ``none``."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return ev.NO_FAULT
    text = str(label)
    return ev.NO_FAULT if text.strip().lower() in NO_FAULT_LABELS else text


def _probability(value: Any) -> float | None:
    number = _finite(value)
    return None if number is None else round(min(max(number, 0.0), 1.0), 4)


def prediction_event(
    run_id: str,
    seq: int,
    window: Window,
    model: ChampionModel,
    label: Any,
    probability: float | None,
    emitted_at: str | None = None,
) -> dict[str, Any]:
    """The ``diagnostic.prediction`` event of one window."""
    payload = {
        "fault": fault_name(label),
        "probability": _probability(probability),
        "model": model.name,
        "model_version": model.version,
        "source_run_id": window.run_id,
        "window_start_s": round(max(window.start_s, 0.0), 6),
        "window_end_s": round(window.end_s, 6),
        "window_end": window.last.sim_clock_utc,
        "telemetry_emitted_at": window.last.emitted_at,
    }
    return ev.make_event(
        ev.DIAGNOSTIC_PREDICTION,
        window.vehicle_id,
        run_id,
        seq,
        window.end_s,
        payload,
        emitted_at=emitted_at,
    )


def coaching_event(
    run_id: str,
    seq: int,
    window: Window,
    estimate: Mapping[str, Any],
    style: tuple[ChampionModel, Any, float | None] | None = None,
    emitted_at: str | None = None,
) -> dict[str, Any]:
    """The ``driver.coaching`` event of one minute: ``estimate`` from :meth:`Trip.coaching`,
    ``style`` the style model, its label and probability for the minute."""
    payload = {
        "advice": estimate["advice"],
        "habit": estimate["habit"],
        "excess_fuel_pct": estimate["excess_fuel_pct"],
        "basis": estimate["basis"],
        "source_run_id": window.run_id,
        "window_end_s": round(window.end_s, 6),
        "window_end": window.last.sim_clock_utc,
        **{k: estimate.get(k) for k in ev.OPTIONAL_COACHING_FIELDS if k in estimate},
        "style": None,
        "style_probability": None,
        "style_model": None,
        "style_model_version": None,
    }
    if style is not None:
        model, label, probability = style
        payload.update(
            style=None if label is None else str(label),
            style_probability=_probability(probability),
            style_model=model.name,
            style_model_version=model.version,
        )
    return ev.make_event(
        ev.DRIVER_COACHING,
        window.vehicle_id,
        run_id,
        seq,
        window.end_s,
        payload,
        emitted_at=emitted_at,
    )


# --- the scorer -----------------------------------------------------------------------------------
@dataclass
class ScoreStats:
    """Counters of a :class:`Scorer` (``skipped`` and ``incomplete`` by reason)."""

    read: int = 0
    #: usable telemetry events (the others of the type are in ``skipped``)
    telemetry: int = 0
    ignored: int = 0
    kept: int = 0
    windows: int = 0
    predictions: int = 0
    coaching: int = 0
    skipped: Counter = field(default_factory=Counter)
    incomplete: Counter = field(default_factory=Counter)
    model_errors: Counter = field(default_factory=Counter)
    dropped_tracks: int = 0
    latencies_s: deque = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def latency_p(self, q: float) -> float | None:
        """The ``q``-th percentile of telemetry-to-prediction latency [s] (recent events)."""
        return float(np.percentile(self.latencies_s, q)) if self.latencies_s else None

    def as_dict(self) -> dict[str, Any]:
        p50, p95 = self.latency_p(50), self.latency_p(95)
        return {
            "events_read": self.read,
            "telemetry": self.telemetry,
            "ignored_other_types": self.ignored,
            "samples_kept": self.kept,
            "windows": self.windows,
            "predictions": self.predictions,
            "coaching": self.coaching,
            "skipped": dict(self.skipped.most_common()),
            "incomplete": dict(self.incomplete.most_common()),
            "model_errors": dict(self.model_errors.most_common()),
            "dropped_tracks": self.dropped_tracks,
            "latency_p50_s": None if p50 is None else round(p50, 4),
            "latency_p95_s": None if p95 is None else round(p95, 4),
        }

    def line(self) -> str:
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{k} {n}" for k, n in self.skipped.most_common(3))
        p95 = self.latency_p(95)
        return (
            f"{self.read} events read ({self.telemetry} telemetry, {self.ignored} other), "
            f"{self.windows} windows, {self.predictions} predictions, {self.coaching} coaching; "
            f"skipped {skipped}{f' ({reasons})' if reasons else ''}; latency p95 "
            + ("-" if p95 is None else f"{p95:.3f} s")
        )


#: Latencies beyond a day either way are clocks that disagree, not latencies: left out.
_DAY_S = 86_400.0


def _iso_seconds(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


class Scorer:
    """Windows, features, models and events, with no transport: :meth:`feed` records, then
    :meth:`score` the due windows into events.

    Args:
        champions: the models (:class:`ChampionSet`, or anything with ``models``: role ->
            :class:`ChampionModel`).
        run_id: the scorer's run (the envelope's ``run_id`` of its events).
        every_s: spacing of scored windows [s of simulated time]; must divide :data:`WINDOW_S`.
        sample_s: spacing of the samples a window keeps [s].
        clock: wall clock [s since the epoch] (latency, idle tracks).
    """

    def __init__(
        self,
        champions,
        run_id: str | None = None,
        every_s: float = DEFAULT_EVERY_S,
        sample_s: float = SAMPLE_S,
        clock: Callable[[], float] = time.time,
    ):
        check_spacing(every_s, sample_s)
        self.champions = champions
        self.run_id = run_id or str(uuid.uuid4())
        self.every_s = float(every_s)
        self.sample_s = float(sample_s)
        self.clock = clock
        self.stats = ScoreStats()
        self.tracks: dict[tuple[str, str], Track] = {}
        #: vehicle run -> when last heard [s, clock], least recently heard first
        self._heard: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._due: list[Window] = []
        self._seq: dict[str, int] = {}
        self._dims = VehicleDims()

    # -- input -----------------------------------------------------------------------------------
    def feed(self, value: bytes | str | None) -> None:
        """Take one record value; a due window is kept for :meth:`score`. Never raises on
        bad input (it is counted in ``stats.skipped``)."""
        self.stats.read += 1
        try:
            sample = parse_sample(value)
            if sample is None:
                self.stats.ignored += 1
                return
            key = (sample.vehicle_id, sample.run_id)
            track = self.tracks.get(key)
            if track is None:
                track = self._new_track(key)
            self._heard[key] = self.clock()
            self._heard.move_to_end(key)
            before = track.kept
            window = track.add(sample)
        except BadEvent as exc:
            self.stats.skipped[exc.reason] += 1
            return
        self.stats.telemetry += 1
        self.stats.kept += track.kept - before
        if window is not None:
            self._due.append(window)

    def _new_track(self, key: tuple[str, str]) -> Track:
        if len(self.tracks) >= MAX_TRACKS:
            self._forget(next(iter(self._heard)))  # the least recently heard
        track = Track(*key, every_s=self.every_s, sample_s=self.sample_s)
        self.tracks[key] = track
        return track

    def _forget(self, key: tuple[str, str]) -> None:
        self.tracks.pop(key, None)
        self._heard.pop(key, None)
        self.stats.dropped_tracks += 1

    def drop_idle(self, idle_s: float = IDLE_TRACK_S) -> None:
        """Forget vehicle runs not heard from in ``idle_s`` (their trip ends)."""
        limit = self.clock() - idle_s
        while self._heard:
            key, heard = next(iter(self._heard.items()))  # least recently heard first
            if heard >= limit:
                break
            self._forget(key)

    @property
    def pending(self) -> int:
        """Windows due and not scored yet."""
        return len(self._due)

    # -- scoring ---------------------------------------------------------------------------------
    def score(self) -> list[dict[str, Any]]:
        """Score every due window; return the events to publish, in order."""
        windows, self._due = self._due, []
        if not windows:
            return []
        self.stats.windows += len(windows)
        frame = samples_frame(windows)
        names = frame["vehicle_model"].tolist()
        features = window_features(frame, self._dims.frame(names), self._dims.engine_speeds(names))
        models = dict(self.champions.models)
        outputs = {role: self._predict(models.get(role), features) for role in (FAULT, STYLE)}
        fuel = models.get(FUEL)
        fuel_now = fuel_eco = {}
        if fuel is not None and fuel.eco_basis:
            fuel_now = self._predict(fuel, features)
            fuel_eco = self._predict(fuel, eco_style(features))
        out = []
        now_iso = ev.utc_now_iso()
        now_s = _iso_seconds(now_iso)
        for k, window in enumerate(windows):
            fault = models.get(FAULT)
            if k in outputs[FAULT]:
                label, probability = outputs[FAULT][k]
                seq = self._next_seq(window)
                out.append(
                    prediction_event(
                        self.run_id, seq, window, fault, label, probability, emitted_at=now_iso
                    )
                )
                self.stats.predictions += 1
                sent_s = _iso_seconds(window.last.emitted_at)
                if sent_s is not None and now_s is not None and abs(now_s - sent_s) < _DAY_S:
                    self.stats.latencies_s.append(now_s - sent_s)
            if window.coach:
                event = self._coach(window, features.loc[k], models, outputs, fuel_now, fuel_eco, k)
                if event is not None:
                    out.append(event)
        return out

    def _coach(self, window, minute, models, outputs, fuel_now, fuel_eco, k):
        track = self.tracks.get((window.vehicle_id, window.run_id))
        if track is None:  # dropped meanwhile
            return None
        fuel = models.get(FUEL)
        track.trip.add(
            minute,
            fuel_now.get(k, (None,))[0],
            fuel_eco.get(k, (None,))[0],
            (fuel.name, fuel.version) if fuel is not None else None,
        )
        estimate = track.trip.coaching()
        if estimate is None:
            return None
        style = None
        if k in outputs[STYLE]:
            style = (models[STYLE], *outputs[STYLE][k])
        self.stats.coaching += 1
        return coaching_event(self.run_id, self._next_seq(window), window, estimate, style)

    def _predict(self, model: ChampionModel | None, features: pd.DataFrame) -> dict[int, tuple]:
        """``{window: (prediction, probability)}`` for the windows ``model`` can score."""
        if model is None:
            return {}
        X = features[list(model.inputs)].astype("float64")
        if model.takes_missing:
            # undefined figures are data to it; unknown readings are not
            complete = np.ones(len(X), dtype=bool)
        else:
            complete = X.notna().all(axis=1).to_numpy(copy=True)
        if model.reads_diagnostics:
            complete &= features[DIAGNOSTICS_KNOWN].fillna(False).to_numpy(dtype=bool)
        if not complete.all():
            self.stats.incomplete[model.role] += int((~complete).sum())
        if not complete.any():
            return {}
        X = X[complete]
        try:
            values, probabilities = model.predict(X)
        except Exception as exc:  # a model that fails on a window: counted, never fatal
            self.stats.model_errors[f"{model.role}:{type(exc).__name__}"] += len(X)
            return {}
        probs = probabilities if probabilities is not None else [None] * len(values)
        return {int(i): (v, p) for i, v, p in zip(X.index, values, probs, strict=True)}

    def _next_seq(self, window: Window) -> int:
        seq = self._seq.get(window.vehicle_id, 0)
        self._seq[window.vehicle_id] = seq + 1
        return seq


def local_scorer(
    tracking_uri: str | None = None,
    names: Mapping[str, str] | None = None,
    say: Callable[[str], None] | None = None,
    **options: Any,
) -> Scorer | None:
    """A :class:`Scorer` over the current champions, for a process that has the telemetry in
    hand and no broker (the dashboard's local mode, a notebook): :meth:`Scorer.feed` it each
    encoded ``simulation.raw`` event, publish or display what :meth:`Scorer.score` returns.
    ``None`` when no champion exists. The models are as loaded now; call
    ``scorer.champions.refresh()`` to follow a moved alias.

    Args:
        tracking_uri: the MLflow store (default: ``vehsim.config`` settings').
        names: role -> registered model name (default :data:`DEFAULT_MODEL_NAMES`).
        options: ``run_id``, ``every_s``, ``sample_s`` of :class:`Scorer`.
    """
    if tracking_uri is None:
        from vehsim.config import load_settings

        tracking_uri = load_settings().mlflow_tracking_uri
    champions = ChampionSet(tracking_uri, names, say)
    champions.refresh()
    return Scorer(champions, **options) if champions.models else None


#: What the dashboard says when there is no model to score with, and what to do about it.
NO_CHAMPION = ("no champion model", "run vehsim experiment fault")


def _store_missing(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` is a local store (SQLite file, directory) that does not exist:
    then there is no champion, and MLflow need not be imported (nor create the store) to know."""
    from urllib.parse import urlparse

    if tracking_uri.startswith("sqlite:///"):
        path = tracking_uri[len("sqlite:///") :]
        return path != ":memory:" and not os.path.exists(path)
    parsed = urlparse(tracking_uri)
    if parsed.scheme in ("", "file"):
        return not os.path.exists(parsed.path if parsed.scheme else tracking_uri)
    return False


def dashboard_model_names(tracking_uri: str) -> dict[str, str]:
    """:data:`DEFAULT_MODEL_NAMES`, with another model of a role (:data:`OTHER_MODEL_NAMES`)
    where the default has no champion and that one has: the dashboard has no option to pick a
    model, so a store holding only the OBD fault model's champion still gets a diagnosis."""
    champions = ChampionSet(tracking_uri)
    names = dict(DEFAULT_MODEL_NAMES)
    for role, others in OTHER_MODEL_NAMES.items():
        if champions.champion_version(names[role]) is None:
            found = [o for o in others if champions.champion_version(o) is not None]
            if found:
                names[role] = found[0]
    return names


def champion_scorer(settings=None) -> Scorer:
    """The ``vehsim.scorers`` plug-in ``champion``: a :func:`local_scorer` over the champions of
    the configured MLflow store, for the dashboard's local mode (``vehsim.ui.scoring``). It
    scores every :data:`DEFAULT_EVERY_S` of the car's time, like ``vehsim score``.

    Raises:
        ScorerUnavailable: MLflow is not installed, the store does not exist, or none of
            :data:`DEFAULT_MODEL_NAMES` (nor the OBD fault model, :func:`dashboard_model_names`)
            has a champion.
    """
    import logging

    from vehsim.config import load_settings
    from vehsim.ui.scoring import ScorerUnavailable

    settings = settings or load_settings()
    if _store_missing(settings.mlflow_tracking_uri):
        raise ScorerUnavailable(*NO_CHAMPION)
    try:
        import mlflow  # noqa: F401  (the [ml] extra)
    except ImportError:
        raise ScorerUnavailable("MLflow is not installed", "pip install 'vehsim[ml]'") from None
    log = logging.getLogger(__name__)
    scorer = local_scorer(
        settings.mlflow_tracking_uri,
        names=dashboard_model_names(settings.mlflow_tracking_uri),
        say=lambda text: log.info("%s", text),
    )
    if scorer is None:
        raise ScorerUnavailable(*NO_CHAMPION)
    return scorer


def check_spacing(every_s: float, sample_s: float) -> None:
    """:class:`ConfigError` unless ``every_s`` divides the window into whole steps and
    ``sample_s`` is a sensible sample spacing."""
    if not (isinstance(sample_s, int | float) and 0.01 <= sample_s <= 10.0):
        raise ConfigError(f"--sample-s must be from 0.01 to 10 s, got {sample_s!r}")
    steps = WINDOW_S / every_s if every_s > 0 else math.nan
    if (
        not (math.isfinite(steps) and steps >= 1 and abs(steps - round(steps)) < 1e-9)
        or every_s < sample_s
    ):
        raise ConfigError(
            f"--every-s must divide the {WINDOW_S:g} s window into whole steps and be at least "
            f"--sample-s ({sample_s:g} s), e.g. 5, 10, 15, 30 or 60; got {every_s!r}"
        )


# --- the live loop --------------------------------------------------------------------------------
class _RecordQueue:
    """The Kafka side: a :class:`vehsim.stream.reader.LiveTopicReader` putting record values on
    a bounded queue for the scoring loop."""

    def __init__(self, settings, bootstrap: str | None, from_beginning: bool):
        from vehsim.stream.reader import LiveTopicReader

        records: queue.Queue = queue.Queue(maxsize=QUEUE_RECORDS)
        self.records = records

        class Reader(LiveTopicReader):
            thread_name = "vehsim-score-reader"

            def _handle(self, record) -> None:
                while not self._stop.is_set():
                    try:
                        records.put(record.value, timeout=0.2)
                        return
                    except queue.Full:
                        continue

        self.reader = Reader(
            settings,
            bootstrap=bootstrap,
            topic=settings.telemetry_topic,
            from_beginning=from_beginning,
            poll_interval_s=0.05,
        )

    def drain(self, wait_s: float, limit: int = 5_000) -> list:
        """Records waiting now (after up to ``wait_s`` for the first one)."""
        try:
            out = [self.records.get(timeout=wait_s)]
        except queue.Empty:
            return []
        while len(out) < limit:
            try:
                out.append(self.records.get_nowait())
            except queue.Empty:
                break
        return out


def run_live(
    settings,
    scorer: Scorer,
    stop: threading.Event,
    *,
    bootstrap: str | None = None,
    from_beginning: bool = False,
    say: Callable[[str], None] | None = None,
    progress_every_s: float = PROGRESS_EVERY_S,
    reload_check_s: float = RELOAD_CHECK_S,
    ready: threading.Event | None = None,
) -> dict[str, Any]:
    """Score the telemetry topic until ``stop`` is set; return the final counts.

    ``scorer.champions`` is a :class:`ChampionSet`, watched for moved aliases meanwhile. Reads with a :class:`vehsim.stream.reader.LiveTopicReader` (from the topic's end, or its
    beginning), publishes through :class:`vehsim.stream.producer.EventPublisher` on the same
    topic (spooled, nothing lost while Kafka is away). ``ready`` is set once the reader is
    positioned on the topic.
    """
    from vehsim.stream.broker import resolve_bootstrap
    from vehsim.stream.producer import EventPublisher

    say = say or (lambda text: None)
    bootstrap = bootstrap or resolve_bootstrap(settings)
    source = _RecordQueue(settings, bootstrap, from_beginning)
    publisher = EventPublisher(
        settings, run_id=f"score-{scorer.run_id}", bootstrap=bootstrap
    ).start()
    source.reader.start()
    next_progress = time.monotonic() + progress_every_s
    announced = False
    watching = threading.Event()
    watcher = scorer.champions.watch(watching, reload_check_s)
    try:
        while not stop.is_set():
            if not announced and source.reader.ready:
                announced = True
                say(f"reading {settings.telemetry_topic} at {bootstrap}")
                if ready is not None:
                    ready.set()
            for value in source.drain(0.05):
                scorer.feed(value)
            for event in scorer.score():
                publisher.publish(event)
            now = time.monotonic()
            if now >= next_progress:
                next_progress = now + progress_every_s
                scorer.drop_idle()
                say(f"{scorer.stats.line()}; publisher {publisher.stats().state}")
    finally:
        watching.set()
        source.reader.close()
        watcher.join(timeout=5.0)
        final = publisher.close(timeout_s=30.0)
    summary = {"run_id": scorer.run_id, **scorer.stats.as_dict()}
    summary.update(published=final.published, acked=final.acked, spooled=final.pending)
    return summary


# --- command line ---------------------------------------------------------------------------------
def register(subparsers) -> None:
    """Add ``score`` to the ``vehsim`` parser."""
    parser = subparsers.add_parser(
        "score",
        help="apply the champion models to live telemetry: diagnoses and coaching events",
        description=(
            "Read simulation.raw telemetry from the telemetry topic, keep a window per vehicle, "
            "compute its features as training does (vehsim.features, and the diagnostic "
            "features of the OBD readings: vehsim.diagnostic_features), apply the champion "
            "models (models:/<name>@champion: fault classifier, driving-style classifier, fuel "
            "regressor, whichever exist; reloaded when the alias moves) and publish "
            "diagnostic.prediction and driver.coaching events on the same topic. Malformed "
            "events are skipped and counted by reason. Ctrl-C or SIGTERM stops cleanly; a JSON "
            "summary goes to stdout. Exit 1 when no champion model exists, or when events "
            "could not be delivered (they stay spooled)."
        ),
    )
    for role, default in DEFAULT_MODEL_NAMES.items():
        parser.add_argument(
            f"--{role}-model",
            default=default,
            metavar="NAME",
            help=f"registered name of the {ROLE_HELP[role]} (default {default})",
        )
    parser.add_argument(
        "--every-s",
        type=float,
        default=DEFAULT_EVERY_S,
        metavar="S",
        help=f"score each car's last {WINDOW_S:g} s every S s of its simulated time "
        f"(default {DEFAULT_EVERY_S:g}; must divide {WINDOW_S:g})",
    )
    parser.add_argument(
        "--sample-s",
        type=float,
        default=SAMPLE_S,
        metavar="S",
        help=f"keep one sample per S s of simulated time, as the training tables do "
        f"(default {SAMPLE_S:g})",
    )
    parser.add_argument(
        "--from-beginning",
        action="store_true",
        help="score what is already on the topic too (default: only new telemetry)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=_score)


def _score(args: argparse.Namespace) -> int:
    import importlib.util

    from vehsim.config import load_settings

    for module, extra in (("mlflow", "ml"), ("kafka", "stream")):
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"{module} is not installed; pip install 'vehsim[{extra}]'")
    check_spacing(args.every_s, args.sample_s)
    if not getattr(args, "verbose", False):
        from vehsim.cli import quiet_kafka_client

        quiet_kafka_client()

    def say(text: str) -> None:
        if not args.quiet:
            print(f"vehsim score: {text}", file=sys.stderr, flush=True)

    settings = load_settings()
    names = {role: getattr(args, f"{role}_model") for role in DEFAULT_MODEL_NAMES}
    champions = ChampionSet(settings.mlflow_tracking_uri, names, say)
    try:
        changes = champions.refresh()
    except Exception as exc:
        raise RunFailure(
            f"cannot read the model registry at {settings.mlflow_tracking_uri}: {exc}"
        ) from exc
    for line in changes:
        say(line)
    if not champions.models:
        problems = "; ".join(f"{r}: {p}" for r, p in champions.problems.items())
        raise RunFailure(
            f"no champion model to apply in {settings.mlflow_tracking_uri} ({problems}); train "
            "one (vehsim experiment fuel, or the fault and driving-style experiments) or name "
            "registered models with --fault-model / --style-model / --fuel-model"
        )
    for role, problem in champions.problems.items():
        say(f"{role}: {problem}, not applied")
    scorer = Scorer(champions, every_s=args.every_s, sample_s=args.sample_s)
    stop = threading.Event()
    interrupts = 0

    def on_signal(signum, _frame) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt  # second Ctrl-C: leave now; the spool keeps what is unsent
        say(f"{signal.Signals(signum).name}, stopping")
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    say(
        f"run {scorer.run_id}: scoring the last {WINDOW_S:g} s of each car every "
        f"{args.every_s:g} s with "
        + ", ".join(f"{m.name}@{CHAMPION_ALIAS} (v{m.version})" for m in champions.models.values())
    )
    try:
        summary = run_live(settings, scorer, stop, from_beginning=args.from_beginning, say=say)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    summary["models"] = {
        role: {"name": m.name, "version": m.version} for role, m in champions.models.items()
    }
    print(json.dumps(summary))
    if summary["spooled"]:
        print(
            f"vehsim score: {summary['spooled']} event(s) could not be delivered and stay "
            f"spooled under {settings.spool_dir}",
            file=sys.stderr,
        )
        return 1
    return 0
