"""Fault and driving-style classifiers on a sweep's telemetry windows, evaluated honestly.

Data: a sweep (``vehsim sweep``, ``pipelines/sweep.py``) read from the lake's ``sweep/windows``,
``sweep/drives`` and ``sweep/labels`` tables, or simulated in this process from its YAML file
when the lake does not have it (:func:`load_sweep_data`); the summary and every MLflow run say
which, with table versions and row counts. The labels join the windows here, in the experiment:
the models read telemetry features only.

**Fault classifier** (:func:`run_fault_experiment`): which fault, if any, from one 60 s window.
A window is labelled with its drive's fault when it starts at or after the onset and the fault
*shows* in it (``sweep/labels.fault_expressed``: one of its features differs by more than 1 %
from the same drive's without the fault, its *healthy twin*), ``none`` otherwise: a fan that
never had to run, a thermostat that stayed shut in the cold, leave the telemetry exactly as a
healthy car's, and no model can see them. A fault whose mechanism acts only in some operating
conditions (:data:`FAULT_CONDITIONS`: a clogged air filter at full load, a dead fan when the fan
is switched on, a dragging brake or a soft tyre while the car moves, a slipping gearbox under
load) shows only where they held; elsewhere its twin may differ by knock-on traces (the driver
pressing a little further, coolant a fraction of a kelvin warmer, wear counters ahead), and such
*unexercised* windows, like those that straddle the onset, are left out of training and of the
metrics (a straddling window may still raise the first flag of the lead time). The metrics with
hidden and unexercised windows counted as the fault are reported beside. Two feature sets
(``features``):

- ``telemetry``: the ``vehsim.features`` columns of the window (what ``vehsim score`` computes
  from live ``simulation.raw`` events); registered as ``vehsim-fault``;
- ``obd``: those plus :data:`vehsim.diagnostic_features.DIAGNOSTIC_FEATURES` (the coolant sensor's
  reading, the speed signal, fuel trim, misfires, gearbox input speed, as an OBD reader gets
  them); registered as ``vehsim-fault-obd``. The live telemetry carries those readings, and
  ``vehsim score`` computes the same features from it (``vehsim.diagnostic_features``).

Evaluation on held-out vehicles (car models) and runs (driver x ambient x start x replicate):
per-class precision and recall, macro-F1 over the windows of the test drives (faults of
severity >= :data:`EVAL_MIN_SEVERITY` and healthy), the same per drive (the class with the
highest mean probability over the drive's windows after the onset), a confusion matrix, and the
**lead time**: for each test drive whose fault has a trouble code, the first window (ending
after the onset) the model calls that fault, against the time the on-board code was confirmed.

**Driving-style classifier** (:func:`run_style_experiment`): the driver profile (eco, normal,
sport) of profile-driven windows from behaviour features of ``vehsim.features``, with accuracy
per window and per drive (majority of its windows) and permutation feature importances on the
test windows.

Each model is logged to MLflow, registered, and takes the alias ``champion`` only when it beats
the current champion on the same test rows (``vehsim_experiments.evaluation``).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehsim import features as fx
from vehsim.config import Settings, load_settings
from vehsim.errors import ConfigError
from vehsim_experiments.runner import _mlflow_notices

NO_FAULT = "none"
FAULT_MODEL = "vehsim-fault"
OBD_FAULT_MODEL = "vehsim-fault-obd"
STYLE_MODEL = "vehsim-driving-style"
FEATURE_SETS = ("telemetry", "obd")
#: The targets of the issue are stated for faults of at least this severity [-].
EVAL_MIN_SEVERITY = 0.5
#: Share of the vehicles and of the runs held out for the test set.
DEFAULT_TEST_FRAC = 0.25
#: Training windows per feature below which a model is not worth trusting (the rule of thumb
#: of the regressors, :data:`vehsim_experiments.runner.MIN_ROWS_PER_FEATURE`).
MIN_ROWS_PER_FEATURE = 10
_REMEDY = "run a bigger sweep: vehsim sweep --config pipelines/sweeps/diagnostics.yaml"

#: ``vehsim.features`` columns that describe where a drive stands, not how the car behaves in
#: the window (cumulative counters, constants of a window of fixed length).
_NOT_FEATURES = frozenset(
    {
        "odometer_km_start",
        "engine_wear_pct_start",
        "sim_time_start_s",
        "events",
        "duration_s",
        "is_valid_example",
    }
)
#: Aggregates that are features in their own right (extremes and the window's time).
_AGGREGATE_FEATURES = (
    "sim_time_end_s",
    "speed_kph_max",
    "engine_rpm_max",
    "coolant_temp_c_max",
    "coolant_temp_c_start",
    "oil_temp_c_max",
    "ambient_temp_c_min",
)


def telemetry_features() -> tuple[str, ...]:
    """The fault classifier's ``telemetry`` inputs: window columns live scoring computes too."""
    from vehsim_pipelines.sweep import SPAN_COLUMNS

    wanted = set(fx.FEATURES) | set(fx.TARGETS) | set(_AGGREGATE_FEATURES)
    return tuple(c for c in SPAN_COLUMNS if c in wanted and c not in _NOT_FEATURES)


def obd_features() -> tuple[str, ...]:
    """The ``obd`` inputs: :func:`telemetry_features` and the sweep's diagnostic features."""
    from vehsim.diagnostic_features import DIAGNOSTIC_FEATURES

    return (*telemetry_features(), *DIAGNOSTIC_FEATURES)


#: What makes a run for the driving-style split: the conditions, not the driver (the class).
STYLE_RUN_COLUMNS = ("drive_ambient_temp_c", "start", "replicate")
#: Behaviour features of the driving-style classifier (how the car is driven, not its state).
STYLE_FEATURES: tuple[str, ...] = (
    "mean_speed_mps",
    "max_speed_mps",
    "speed_std_mps",
    "stops_per_km",
    "standing_frac",
    "idle_frac",
    "pke_mps2",
    "accel_pos_mps2_mean",
    "accel_mps2_std",
    "throttle_pct_mean",
    "brake_pct_mean",
    "engine_rpm_mean",
    "engine_rpm_max",
    "high_rpm_frac",
    "harsh_event_count",
    "harsh_events_per_100km",
    "road_grade_pct_mean",
)


# --- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepData:
    """A sweep's windows (with their drive's labels), drives, and where they came from."""

    windows: pd.DataFrame
    drives: pd.DataFrame
    sweep_id: str
    source: str  # "lake" or "in-process"
    tables: Mapping[str, str] = field(default_factory=dict)  # table id -> "uri@version"


def _versions(settings: Settings) -> dict[str, str]:
    from vehsim_pipelines import lake
    from vehsim_pipelines.catalog import SWEEP_TABLES, Catalog

    catalog = Catalog(settings)
    return {
        t.id: f"{catalog.uri(t)}@{lake.table_version(catalog, t)}"
        for t in SWEEP_TABLES
        if lake.table_version(catalog, t) is not None
    }


def load_sweep_data(
    settings: Settings | None = None,
    sweep_id: str | None = None,
    config_path: str | Path | None = None,
    say: Callable[[str], None] | None = None,
    config=None,
) -> SweepData:
    """A sweep from the lake (by id, by its YAML file, or by its ``SweepConfig``), else
    simulated in this process.

    Raises:
        ConfigError: not exactly one of them given, or the id is not in the lake.
    """
    from vehsim_pipelines.sweep import load_sweep_config, read_sweep, simulate_sweep

    settings = settings or load_settings()
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    if [sweep_id, config_path, config].count(None) != 2:
        raise ConfigError("give a sweep: its id in the lake (--sweep-id) or its file (--sweep)")
    cfg = load_sweep_config(config_path) if config_path is not None else config
    cfg = cfg.validate() if cfg is not None else None
    wanted = sweep_id or cfg.sweep_id
    tables = read_sweep(settings, wanted)
    if tables.windows.num_rows and tables.labels.num_rows and tables.drives.num_rows:
        source, versions = "lake", _versions(settings)
        say(f"sweep {wanted} from the lake: {tables.windows.num_rows} windows")
    elif cfg is None:
        raise ConfigError(
            f"sweep {wanted} is not in the lake at {settings.lake_uri}; run vehsim sweep "
            "--config FILE first, or pass the file with --sweep"
        )
    else:
        say(
            f"sweep {wanted} is not in the lake: simulating its {cfg.n_drives()} drives in this "
            "process (vehsim sweep writes it to the lake on Spark)"
        )
        tables = simulate_sweep(cfg)
        source, versions = "in-process", {}
    labels = tables.labels.to_pandas()[
        ["drive_id", "window_index", "fault", "severity", "onset_s", "driver_profile",
         "fault_active", "fault_expressed", "fault_effect_rel"]
    ]  # fmt: skip
    drives = tables.drives.to_pandas()
    # What a drive ran under, for grouping: the driver, and the conditions without it.
    conditions = drives[["drive_id", "driver", "start", "replicate"]].assign(
        drive_ambient_temp_c=drives["ambient_temp_c"]
    )
    windows = (
        tables.windows.to_pandas()
        .merge(labels, on=["drive_id", "window_index"], how="left", validate="1:1")
        .merge(conditions, on="drive_id", how="left", validate="m:1")
    )
    return SweepData(windows, drives, wanted, source, versions)


#: Faults whose mechanism acts only in some operating conditions -> the window column that
#: says whether the condition held, the test on it, and the condition. Elsewhere such a fault
#: leaves at most knock-on traces (a driver pressing the pedal a little further, coolant a
#: fraction of a kelvin warmer) that no model can tell from another car or another drive.
FAULT_CONDITIONS: dict[str, tuple[str, Callable[[pd.Series], pd.Series], str]] = {
    "clogged_air_filter": (
        "full_throttle_load_frac_mean",
        pd.Series.notna,
        "full load at high engine speed (the pedal above 90 % with the engine above half its "
        "maximum speed): the filter limits the full-load torque, part load is unchanged",
    ),
    "cooling_fan_failure": (
        "fan_on_frac",
        lambda frac: frac.fillna(0.0) > 0.0,
        "the engine controller switched the radiator fan on: a dead fan changes the cooling "
        "only when the fan is needed (its loss of standstill air flow alone warms the shipped "
        "cars' coolant by less than the 1 K an OBD coolant reading resolves, docs/faults.md)",
    ),
    "dragging_brake": (
        "speed_kph_max",
        lambda speed: speed.fillna(0.0) > 0.0,
        "the car moved: a caliper's residual force takes power, heats and wears the pad only "
        "while the wheel turns (docs/faults.md); standing in a queue the car is its twin",
    ),
    "underinflated_tyre": (
        "speed_kph_max",
        lambda speed: speed.fillna(0.0) > 0.0,
        "the car moved: a soft tyre's rolling resistance and wear act only while it rolls",
    ),
    "gearbox_slip": (
        "gear_slip_frac_mean",
        pd.Series.notna,
        "the pedal above 10 % in gear (the gear-ratio monitor's condition): the slip grows with "
        "the pedal (docs/faults.md), so at idle or coasting it is nil or within the noise",
    ),
}


@dataclass(frozen=True)
class FaultLabels:
    """Per window of a sweep (:func:`fault_labels`)."""

    #: the class: the drive's fault where it shows and could, else :data:`NO_FAULT`
    label: np.ndarray
    #: the window straddles the onset (left out of training and of the metrics)
    straddles: np.ndarray
    #: after the onset, but nothing in the window differs from the healthy twin
    hidden: np.ndarray
    #: after the onset, the twin differs, but the fault's condition
    #: (:data:`FAULT_CONDITIONS`) never held in the window (left out like ``straddles``)
    unexercised: np.ndarray

    @property
    def left_out(self) -> np.ndarray:
        """Windows neither trained on nor scored."""
        return self.straddles | self.unexercised


def fault_labels(windows: pd.DataFrame) -> FaultLabels:
    """Per window: its label, whether it straddles the onset, whether its fault is hidden, and
    whether its fault was present but never had the conditions to show.

    The label is the drive's fault when the window starts at or after the onset, the fault
    shows in it (``fault_expressed`` of ``sweep/labels``: its features differ from the healthy
    twin's) and its condition held (:data:`FAULT_CONDITIONS`: a clogged filter at full load, a
    dead fan when the fan was switched on, a dragging brake or a soft tyre while moving, a
    slipping gearbox under load), else :data:`NO_FAULT`. *Hidden*: after the onset,
    but nothing in the window differs from the same drive without the fault (labelled
    :data:`NO_FAULT`: that is what the telemetry is). *Unexercised*: it differs, but outside
    the fault's condition, so only by knock-on traces; neither healthy nor a sign of the fault,
    such windows are left out of training and of the metrics. Without a ``fault_expressed``
    column every fault counts as showing; without a condition's column, its condition as held.
    """
    fault = windows["fault"].astype(object).where(windows["fault"].notna(), None)
    severity = windows["severity"].fillna(0.0).to_numpy(dtype=float)
    onset = windows["onset_s"].to_numpy(dtype=float)
    faulty = fault.notna().to_numpy() & (severity > 0.0)
    start = windows["window_start_s"].to_numpy(dtype=float)
    end = windows["window_end_s"].to_numpy(dtype=float)
    # Times are the simulation's clock, a sum of steps: compare to a millisecond.
    after = faulty & (start >= onset - 1e-3)
    before = ~faulty | (end <= onset + 1e-3)
    if "fault_expressed" in windows.columns:
        shows = windows["fault_expressed"].fillna(False).to_numpy(dtype=bool)
    else:
        shows = np.ones(len(windows), dtype=bool)
    exercised = np.ones(len(windows), dtype=bool)
    for name, (column, held, _) in FAULT_CONDITIONS.items():
        if column in windows.columns:
            mine = (fault == name).to_numpy(dtype=bool)
            exercised[mine] = held(windows.loc[mine, column]).to_numpy(dtype=bool)
    label = np.where(after & shows & exercised, fault.to_numpy(dtype=object), NO_FAULT)
    return FaultLabels(
        label=label.astype(object),
        straddles=faulty & ~after & ~before,
        hidden=after & ~shows,
        unexercised=after & shows & ~exercised,
    )


def code_times(data: SweepData) -> pd.DataFrame:
    """The on-board system's side of the lead time: per fault of a sweep, its drives, how many
    confirmed a code, and when after the onset (median, fastest, slowest) [s]."""
    faulty = data.windows.groupby("drive_id")[["fault", "severity", "onset_s"]].first()
    faulty = faulty[faulty["fault"].notna() & (faulty["severity"] > 0.0)]
    drives = faulty.join(data.drives.set_index("drive_id")[["first_code", "first_confirmed_s"]])
    drives = drives.assign(after_s=drives["first_confirmed_s"] - drives["onset_s"])
    return drives.groupby("fault").agg(
        drives=("onset_s", "size"),
        code=(
            "first_code",
            lambda codes: ",".join(sorted({c for c in codes if isinstance(c, str) and c})),
        ),
        confirmed=("first_confirmed_s", "count"),
        median_after_onset_s=("after_s", "median"),
        fastest_s=("after_s", "min"),
        slowest_s=("after_s", "max"),
    )


# --- shared: metrics, plots, logging ------------------------------------------------------------


def classification_metrics(y_true, y_pred, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the classes present in ``y_true``, per-class precision, recall,
    F1 and support, and the confusion matrix (rows: truth, columns: prediction)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    present = [c for c in labels if c in set(y_true)]
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=list(labels), zero_division=0
    )
    per_class = {
        c: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, c in enumerate(labels)
    }
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(np.mean([per_class[c]["f1"] for c in present])) if present else math.nan,
        "per_class": per_class,
        "labels": list(labels),
        "confusion": confusion_matrix(y_true, y_pred, labels=list(labels)).tolist(),
    }


def macro_f1(y_true, y_pred) -> float:
    """Macro-F1 over the classes present in ``y_true`` (the champion rule's score)."""
    labels = sorted(set(y_true) | set(y_pred))
    return classification_metrics(np.asarray(y_true), np.asarray(y_pred), labels)["macro_f1"]


def confusion_size(labels: Sequence[str]) -> float:
    """Height of a confusion-matrix figure for ``labels`` [inches]."""
    return max(5.0, 0.55 * len(labels) + 2)


def confusion_figure(metrics: Mapping[str, Any], title: str, fig=None):
    """The confusion matrix as a figure, each row normalised to the true class's windows.

    A :class:`matplotlib.figure.Figure` of its own (no pyplot, no backend: what MLflow logs), or
    drawn into ``fig`` (:func:`plot_confusion`: a notebook's figure)."""
    from matplotlib.figure import Figure

    labels = metrics["labels"]
    counts = np.asarray(metrics["confusion"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / counts.sum(axis=1, keepdims=True)
    if fig is None:
        size = confusion_size(labels)
        fig = Figure(figsize=(size + 1, size))
    ax = fig.add_subplot()
    image = ax.imshow(np.nan_to_num(shares), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if counts[i, j]:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=6,
                        color="white" if shares[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.04, label="share of the true class's windows")
    fig.tight_layout()
    return fig


def _tracking(settings: Settings):
    import os

    import mlflow
    from mlflow import MlflowClient

    settings.home.mkdir(parents=True, exist_ok=True)
    # mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI into os.environ: keep it as it was.
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous
    return MlflowClient(settings.mlflow_tracking_uri)


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{n}=={version(n)}" for n in ("mlflow", "scikit-learn", "skops", "numpy", "pandas")]


def _data_tags(data: SweepData, rows: int) -> dict[str, str]:
    import vehsim
    from vehsim_experiments.runner import git_commit

    table = ", ".join(f"{k}={v}" for k, v in data.tables.items()) or f"in-process {data.sweep_id}"
    return {
        "vehsim.data_source": f"sweep ({data.source})",
        "vehsim.data_table": table[:5000],
        "vehsim.data_rows": str(rows),
        "vehsim.sweep_id": data.sweep_id,
        "vehsim.git_commit": git_commit(),
        "vehsim.version": vehsim.__version__,
    }


def _data_warning(n_train: int, n_features: int) -> str | None:
    needed = MIN_ROWS_PER_FEATURE * n_features
    if n_train >= needed:
        return None
    return (
        f"{n_train} training windows for {n_features} features; at least {needed} "
        f"({MIN_ROWS_PER_FEATURE} per feature) make a model worth trusting: {_REMEDY}"
    )


def _log_model(model, name: str, X_train: pd.DataFrame, registered: str):
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from skops.io import dumps, get_untrusted_types

    return mlflow.sklearn.log_model(
        model,
        name=name,
        signature=infer_signature(X_train, model.predict(X_train.head(50))),
        input_example=X_train.head(3),
        registered_model_name=registered,
        skops_trusted_types=get_untrusted_types(data=dumps(model)),
        pip_requirements=_pip_requirements(),
    )


def _experiment_id(client, name: str, settings: Settings) -> str:
    from vehsim_experiments.runner import _experiment_id as create

    return create(client, name, settings)


# --- the fault classifier ----------------------------------------------------------------------


def build_classifier(seed: int, params: Mapping[str, Any] | None = None):
    """Gradient-boosted trees (scikit-learn's histogram implementation: missing values are
    features of their own). Classes are not re-weighted: weighting the rare faults up made
    healthy windows of an unseen vehicle look faulty (healthy recall 0.59 against 0.78 on the
    diagnostics sweep, macro-F1 0.83 against 0.84)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    settings = {
        "max_iter": 100,
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "l2_regularization": 1.0,
        "early_stopping": False,
    }
    settings.update(params or {})
    try:
        return HistGradientBoostingClassifier(random_state=seed, **settings)
    except TypeError as exc:
        raise ConfigError(f"classifier: invalid hyper-parameter ({exc})") from exc


def _known_columns(windows: pd.DataFrame, columns: Sequence[str], train: np.ndarray):
    """``columns`` split into those with a value in some training window and those without
    (a feature no training window knows says nothing; the trees cannot even bin it)."""
    known = windows.iloc[train][list(columns)].notna().any()
    return [c for c in columns if known[c]], [c for c in columns if not known[c]]


def lead_times(
    windows: pd.DataFrame,
    predictions: np.ndarray,
    drives: pd.DataFrame,
) -> pd.DataFrame:
    """Per test drive with a coded fault: when the model first named the fault, when the
    on-board code was confirmed, and the lead (confirmation minus flag) [s].

    ``windows``: the test drives' windows (every one, straddling ones too) with ``fault``,
    ``onset_s``, ``window_end_s``; ``predictions`` per window.
    """
    from vehsim.faults import fault as catalogue

    frame = windows.assign(predicted=predictions)
    confirmed = drives.set_index("drive_id")["first_confirmed_s"]
    rows = []
    for drive_id, group in frame[frame["fault"].notna()].groupby("drive_id"):
        name = group["fault"].iloc[0]
        code = catalogue(name).code
        if not code or group["severity"].iloc[0] <= 0.0:
            continue
        onset = float(group["onset_s"].iloc[0])
        hits = group[(group["window_end_s"] > onset + 1e-3) & (group["predicted"] == name)]
        flag_s = float(hits["window_end_s"].min()) if len(hits) else math.nan
        confirm_s = confirmed.get(drive_id)
        confirm_s = math.nan if confirm_s is None or pd.isna(confirm_s) else float(confirm_s)
        before = (not math.isnan(flag_s)) and (math.isnan(confirm_s) or flag_s < confirm_s)
        rows.append(
            {
                "drive_id": int(drive_id),
                "fault": name,
                "code": code,
                "severity": float(group["severity"].iloc[0]),
                "onset_s": onset,
                "flag_s": flag_s,
                "code_confirmed_s": confirm_s,
                "lead_s": confirm_s - flag_s
                if not (math.isnan(flag_s) or math.isnan(confirm_s))
                else math.nan,
                "flagged_before_code": bool(before),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "drive_id", "fault", "code", "severity", "onset_s", "flag_s", "code_confirmed_s",
            "lead_s", "flagged_before_code",
        ],
    )  # fmt: skip


def _drive_level(windows: pd.DataFrame, label: np.ndarray, proba: np.ndarray, classes):
    """Per test drive: its label (the fault if it shows in any window after the onset, else
    :data:`NO_FAULT`) and the class with the highest mean probability over its windows after
    the onset (every window of a healthy drive)."""
    frame = windows[["drive_id", "fault", "severity", "onset_s", "window_start_s"]].copy()
    faulty = frame["fault"].notna() & (frame["severity"] > 0)
    use = ~faulty | (frame["window_start_s"] >= frame["onset_s"] - 1e-3)
    frame["label"] = label
    truth, predicted = [], []
    for idx in frame[use].groupby("drive_id").groups.values():
        shown = [c for c in frame.loc[idx, "label"] if c != NO_FAULT]
        truth.append(shown[0] if shown else NO_FAULT)
        positions = windows.index.get_indexer(idx)
        predicted.append(classes[int(np.argmax(proba[positions].mean(axis=0)))])
    return np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)


def run_fault_experiment(
    data: SweepData,
    settings: Settings | None = None,
    features: str = "telemetry",
    seed: int = 0,
    test_frac: float = DEFAULT_TEST_FRAC,
    registered_model: str | None = None,
    experiment: str = "vehsim-fault",
    params: Mapping[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train, evaluate, log and register the fault classifier; return a JSON-ready summary."""
    import mlflow

    from vehsim_experiments.evaluation import (
        CHAMPION_ALIAS,
        SPLIT_ARTIFACT,
        champion_decision,
        grouped_split,
    )

    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    settings = settings or load_settings()
    if features not in FEATURE_SETS:
        raise ConfigError(f"features must be one of {', '.join(FEATURE_SETS)}, got {features!r}")
    columns = list(telemetry_features() if features == "telemetry" else obd_features())
    registered = registered_model or (FAULT_MODEL if features == "telemetry" else OBD_FAULT_MODEL)
    windows = data.windows.reset_index(drop=True)
    truth = fault_labels(windows)
    label = truth.label
    windows = windows.assign(label=label)
    split = grouped_split(
        windows, test_frac, seed, vehicle_column="vehicle", run_columns=["run_id"]
    )
    train = np.setdiff1d(split.train, np.flatnonzero(truth.left_out))
    severity = windows["severity"].fillna(0.0).to_numpy()
    strong = (label == NO_FAULT) | (severity >= EVAL_MIN_SEVERITY)
    evaluate = split.test[~truth.left_out[split.test] & strong[split.test]]
    # The strict figure's windows: those of healthy drives and of faults of the targets'
    # severity, unexercised ones too (each fault counted as present from its onset).
    sev_test = severity[split.test]
    counted = split.test[
        ~truth.straddles[split.test] & ((sev_test <= 0.0) | (sev_test >= EVAL_MIN_SEVERITY))
    ]
    if len(np.unique(label[train])) < 2:
        raise ConfigError(f"the training windows hold fewer than two classes: {_REMEDY}")
    warning = _data_warning(len(train), len(columns))
    say(
        f"fault classifier ({features}, {len(columns)} features): {len(train)} training windows, "
        f"{len(evaluate)} test windows from held-out vehicles {list(split.test_vehicles)} and "
        f"{split.n_test_runs} of {split.n_runs} runs"
    )
    if warning:
        say(f"warning: {warning}")
    columns, unknown = _known_columns(windows, columns, train)
    if unknown:
        say(f"features unknown in every training window, left out: {', '.join(unknown)}")
    X = windows[columns].astype("float64")
    model = build_classifier(seed, params)
    model.fit(X.iloc[train], label[train])
    classes = np.asarray(model.classes_, dtype=object)
    predicted_test = model.predict(X.iloc[split.test])
    proba_test = model.predict_proba(X.iloc[split.test])
    position = {int(r): k for k, r in enumerate(split.test)}
    predicted_eval = predicted_test[[position[int(r)] for r in evaluate]]
    labels_order = [
        NO_FAULT,
        *sorted(c for c in set(classes) | set(label[evaluate]) if c != NO_FAULT),
    ]
    window_metrics = classification_metrics(label[evaluate], predicted_eval, labels_order)
    # The strict figure: every fault counted where it is, hidden or unexercised.
    present = np.where(truth.hidden | truth.unexercised, windows["fault"].astype(object), label)
    counted_order = [*labels_order, *sorted(set(present[counted]) - set(labels_order))]
    all_metrics = classification_metrics(
        present[counted], predicted_test[[position[int(r)] for r in counted]], counted_order
    )
    test_windows = windows.iloc[split.test]
    scored_test = strong[split.test] & ~truth.unexercised[split.test]
    drive_truth, drive_pred = _drive_level(
        test_windows[scored_test], label[split.test][scored_test], proba_test[scored_test], classes
    )
    drive_metrics = classification_metrics(drive_truth, drive_pred, labels_order)
    n_hidden = int(truth.hidden[evaluate].sum())
    n_unexercised = int(truth.unexercised[counted].sum())
    leads = lead_times(test_windows, predicted_test, data.drives)
    coded = len(leads)
    before = int(leads["flagged_before_code"].sum()) if coded else 0
    lead_summary = {
        "coded_fault_drives": coded,
        "flagged_before_code": before,
        "flagged_before_code_frac": before / coded if coded else math.nan,
        "codes_confirmed": int(leads["code_confirmed_s"].notna().sum()) if coded else 0,
        "median_lead_s": float(leads["lead_s"].median())
        if leads["lead_s"].notna().any()
        else math.nan,
    }

    with _mlflow_notices(say):  # the first client of a new store creates its database
        client = _tracking(settings)
        experiment_id = _experiment_id(client, experiment, settings)
    tags = _data_tags(data, len(windows))
    if warning:
        tags["vehsim.data_warning"] = warning
    metrics = {
        "test_macro_f1": window_metrics["macro_f1"],
        "test_accuracy": window_metrics["accuracy"],
        "test_drive_macro_f1": drive_metrics["macro_f1"],
        "test_drive_accuracy": drive_metrics["accuracy"],
        "test_macro_f1_hidden_counted": all_metrics["macro_f1"],
        "test_hidden_fault_windows": n_hidden,
        "test_unexercised_fault_windows": n_unexercised,
        "lead_flagged_before_code_frac": lead_summary["flagged_before_code_frac"],
        "lead_median_s": lead_summary["median_lead_s"],
        **{f"test_precision.{c}": v["precision"] for c, v in window_metrics["per_class"].items()},
        **{f"test_recall.{c}": v["recall"] for c, v in window_metrics["per_class"].items()},
    }
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"fault-{features}", tags=tags
    ) as run:
        mlflow.log_params(
            {
                "model_kind": "hist_gradient_boosting",
                **{f"model.{k}": v for k, v in model.get_params().items() if k != "random_state"},
                "features": features,
                "n_features": len(columns),
                "features_left_out": ",".join(unknown)[:500],
                "sweep_id": data.sweep_id,
                "n_windows": len(windows),
                "n_train": len(train),
                "n_test": len(evaluate),
                "n_left_out": split.n_left_out,
                "split": "grouped",
                "split_test_vehicles": ",".join(split.test_vehicles),
                "eval_min_severity": EVAL_MIN_SEVERITY,
                "fault_conditions": ",".join(
                    f"{name}:{column}" for name, (column, _, _) in FAULT_CONDITIONS.items()
                ),
                "seed": seed,
                "test_frac": test_frac,
            }
        )
        mlflow.log_metrics({k: v for k, v in metrics.items() if v is not None and math.isfinite(v)})
        mlflow.log_dict({**split.describe(), **split.groups()}, SPLIT_ARTIFACT)
        mlflow.log_dict(
            {name: {"column": column, "condition": text}
             for name, (column, _, text) in FAULT_CONDITIONS.items()},
            "fault_conditions.json",
        )  # fmt: skip
        mlflow.log_dict(window_metrics, "metrics/windows.json")
        mlflow.log_dict(drive_metrics, "metrics/drives.json")
        mlflow.log_dict(all_metrics, "metrics/windows_hidden_counted.json")
        mlflow.log_dict(
            {**lead_summary, "drives": json.loads(leads.to_json(orient="records"))},
            "lead_times.json",
        )
        mlflow.log_figure(
            confusion_figure(
                window_metrics,
                f"fault ({features}): test windows, macro-F1 {window_metrics['macro_f1']:.3f}",
            ),
            "confusion_matrix.png",
        )
        mlflow.log_dict({"features": columns}, "features.json")
        with _mlflow_notices(say):  # "Successfully registered model ..."
            info = _log_model(model, "model", X.iloc[train], registered)
    version = str(info.registered_model_version)
    decision = champion_decision(
        client,
        registered,
        version,
        predicted_eval,
        windows.iloc[evaluate],
        label[evaluate],
        replace(split, test=evaluate),
        metric="test_macro_f1",
        score=macro_f1,
        higher_is_better=True,
    )
    client.set_tag(run.info.run_id, "vehsim.champion_decision", decision.reason[:5000])
    client.set_tag(run.info.run_id, "vehsim.champion_moved", str(decision.moved).lower())
    champion = client.get_model_version_by_alias(registered, CHAMPION_ALIAS)
    say(
        f"fault ({features}): macro-F1 {window_metrics['macro_f1']:.3f} per window, "
        f"{drive_metrics['macro_f1']:.3f} per drive; {before} of {coded} coded faults flagged "
        f"before the code; champion {'moved to' if decision.moved else 'stays at'} version "
        f"{champion.version} ({decision.reason})"
    )
    return {
        "experiment": experiment,
        "experiment_id": experiment_id,
        "run_id": run.info.run_id,
        "registered_model": registered,
        "model_version": version,
        "features": features,
        "data_source": data.source,
        "data_tables": dict(data.tables),
        "sweep_id": data.sweep_id,
        "data_rows": len(windows),
        "n_train": int(len(train)),
        "n_test": int(len(evaluate)),
        "data_warning": warning,
        "split": split.describe(),
        "windows": {
            k: window_metrics[k]
            for k in ("accuracy", "macro_f1", "per_class", "labels", "confusion")
        },
        "drives": {k: drive_metrics[k] for k in ("accuracy", "macro_f1")},
        "hidden_faults": {
            "test_windows": n_hidden,
            "unexercised_test_windows": n_unexercised,
            "macro_f1_hidden_counted": all_metrics["macro_f1"],
            "per_class_hidden_counted": all_metrics["per_class"],
        },
        "lead_time": {**lead_summary, "drives": json.loads(leads.to_json(orient="records"))},
        "champion": {
            "model_version": str(champion.version),
            "uri": f"models:/{registered}@{CHAMPION_ALIAS}",
        },
        "champion_decision": decision.as_dict(),
    }


# --- the driving-style classifier ------------------------------------------------------------


def run_style_experiment(
    data: SweepData,
    settings: Settings | None = None,
    seed: int = 0,
    test_frac: float = DEFAULT_TEST_FRAC,
    registered_model: str = STYLE_MODEL,
    experiment: str = "vehsim-driving-style",
    params: Mapping[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train, evaluate, log and register the driving-style classifier; return a summary."""
    import mlflow
    from sklearn.inspection import permutation_importance

    from vehsim_experiments.evaluation import (
        CHAMPION_ALIAS,
        SPLIT_ARTIFACT,
        champion_decision,
        grouped_split,
    )

    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    settings = settings or load_settings()
    windows = data.windows[data.windows["driver_profile"].notna()].reset_index(drop=True)
    if windows.empty:
        raise ConfigError(f"sweep {data.sweep_id} has no profile-driven drives: add profiles to it")
    label = windows["driver_profile"].astype(str).to_numpy(dtype=object)
    columns = list(STYLE_FEATURES)
    # A run of a sweep is a driver under conditions: the style's runs are the conditions alone
    # (ambient, start, replicate), or held-out runs would take whole classes out of the test.
    split = grouped_split(
        windows, test_frac, seed, vehicle_column="vehicle", run_columns=list(STYLE_RUN_COLUMNS)
    )
    if len(np.unique(label[split.train])) < 2:
        raise ConfigError(f"the training windows hold fewer than two driving styles: {_REMEDY}")
    warning = _data_warning(len(split.train), len(columns))
    say(
        f"driving-style classifier: {len(split.train)} training windows, {len(split.test)} test "
        f"windows from held-out vehicles {list(split.test_vehicles)} and {split.n_test_runs} of "
        f"{split.n_runs} runs"
    )
    if warning:
        say(f"warning: {warning}")
    columns, unknown = _known_columns(windows, columns, split.train)
    if unknown:
        say(f"features unknown in every training window, left out: {', '.join(unknown)}")
    X = windows[columns].astype("float64")
    model = build_classifier(seed, params)
    model.fit(X.iloc[split.train], label[split.train])
    predicted = model.predict(X.iloc[split.test])
    classes = sorted(set(label))
    window_metrics = classification_metrics(label[split.test], predicted, classes)
    test = windows.iloc[split.test].assign(predicted=predicted)
    votes = test.groupby("drive_id").agg(
        truth=("driver_profile", "first"),
        predicted=("predicted", lambda s: s.value_counts().sort_index().idxmax()),
    )
    drive_metrics = classification_metrics(
        votes["truth"].to_numpy(), votes["predicted"].to_numpy(), classes
    )
    importance = permutation_importance(
        model, X.iloc[split.test], label[split.test], n_repeats=5, random_state=seed, n_jobs=1
    )
    importances = sorted(
        ({"feature": c, "importance": float(m), "std": float(s)}
         for c, m, s in zip(columns, importance.importances_mean, importance.importances_std, strict=True)),
        key=lambda r: -r["importance"],
    )  # fmt: skip

    with _mlflow_notices(say):  # the first client of a new store creates its database
        client = _tracking(settings)
        experiment_id = _experiment_id(client, experiment, settings)
    tags = _data_tags(data, len(windows))
    if warning:
        tags["vehsim.data_warning"] = warning
    with mlflow.start_run(experiment_id=experiment_id, run_name="driving-style", tags=tags) as run:
        mlflow.log_params(
            {
                "model_kind": "hist_gradient_boosting",
                "features": ",".join(columns),
                "sweep_id": data.sweep_id,
                "n_windows": len(windows),
                "n_train": len(split.train),
                "n_test": len(split.test),
                "n_left_out": split.n_left_out,
                "split": "grouped",
                "split_test_vehicles": ",".join(split.test_vehicles),
                "seed": seed,
                "test_frac": test_frac,
            }
        )
        mlflow.log_metrics(
            {
                "test_accuracy": window_metrics["accuracy"],
                "test_macro_f1": window_metrics["macro_f1"],
                "test_drive_accuracy": drive_metrics["accuracy"],
                **{f"test_recall.{c}": v["recall"] for c, v in window_metrics["per_class"].items()},
                **{f"importance.{r['feature']}": r["importance"] for r in importances},
            }
        )
        mlflow.log_dict({**split.describe(), **split.groups()}, SPLIT_ARTIFACT)
        mlflow.log_dict(window_metrics, "metrics/windows.json")
        mlflow.log_dict(drive_metrics, "metrics/drives.json")
        mlflow.log_dict({"permutation_importance": importances}, "feature_importances.json")
        mlflow.log_figure(_importance_figure(importances), "feature_importances.png")
        mlflow.log_figure(
            confusion_figure(
                window_metrics,
                f"driving style: test windows, accuracy {window_metrics['accuracy']:.3f}",
            ),
            "confusion_matrix.png",
        )
        with _mlflow_notices(say):
            info = _log_model(model, "model", X.iloc[split.train], registered_model)
    version = str(info.registered_model_version)
    decision = champion_decision(
        client,
        registered_model,
        version,
        predicted,
        windows.iloc[split.test],
        label[split.test],
        split,
        metric="test_accuracy",
        score=lambda t, p: float(np.mean(np.asarray(t) == np.asarray(p))),
        higher_is_better=True,
    )
    client.set_tag(run.info.run_id, "vehsim.champion_decision", decision.reason[:5000])
    client.set_tag(run.info.run_id, "vehsim.champion_moved", str(decision.moved).lower())
    champion = client.get_model_version_by_alias(registered_model, CHAMPION_ALIAS)
    say(
        f"driving style: accuracy {window_metrics['accuracy']:.3f} per window, "
        f"{drive_metrics['accuracy']:.3f} per drive; top features "
        f"{', '.join(r['feature'] for r in importances[:3])}; champion "
        f"{'moved to' if decision.moved else 'stays at'} version {champion.version}"
    )
    return {
        "experiment": experiment,
        "experiment_id": experiment_id,
        "run_id": run.info.run_id,
        "registered_model": registered_model,
        "model_version": version,
        "data_source": data.source,
        "data_tables": dict(data.tables),
        "sweep_id": data.sweep_id,
        "data_rows": len(windows),
        "n_train": int(len(split.train)),
        "n_test": int(len(split.test)),
        "data_warning": warning,
        "split": split.describe(),
        "windows": {
            k: window_metrics[k]
            for k in ("accuracy", "macro_f1", "per_class", "labels", "confusion")
        },
        "drives": {k: drive_metrics[k] for k in ("accuracy", "macro_f1")},
        "feature_importances": importances,
        "champion": {
            "model_version": str(champion.version),
            "uri": f"models:/{registered_model}@{CHAMPION_ALIAS}",
        },
        "champion_decision": decision.as_dict(),
    }


def _importance_figure(importances: Sequence[Mapping[str, Any]]):
    from matplotlib.figure import Figure

    rows = list(importances)[::-1]
    fig = Figure(figsize=(6, 0.3 * len(rows) + 1.2))
    ax = fig.add_subplot()
    ax.barh([r["feature"] for r in rows], [r["importance"] for r in rows],
            xerr=[r["std"] for r in rows], color="tab:blue")  # fmt: skip
    ax.set_xlabel("drop in test accuracy when the feature is shuffled")
    ax.set_title("driving style: permutation importance (test windows)", fontsize=10)
    fig.tight_layout()
    return fig


# --- the notebook's figures of a summary ------------------------------------------------------


def _pyplot():
    # pyplot (not Figure) so that a notebook shows the figure; loaded with the first plot
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(summary: Mapping[str, Any], title: str | None = None):
    """The confusion matrix of a summary's test windows (:func:`run_fault_experiment` or
    :func:`run_style_experiment`), each row normalised to the true class's windows."""
    plt = _pyplot()
    metrics = summary["windows"]
    size = confusion_size(metrics["labels"])
    fig = plt.figure(figsize=(size + 1, size))
    name = summary.get("registered_model", "model")
    title = title or f"{name}: test windows, macro-F1 {metrics['macro_f1']:.2f}"
    return confusion_figure(metrics, title, fig=fig)


def plot_per_class(summary: Mapping[str, Any], target: float | None = None):
    """Precision, recall and F1 per class of a summary's test windows, with the number of test
    windows of each class; ``target`` draws a line (e.g. the macro-F1 aimed at)."""
    plt = _pyplot()
    per_class = summary["windows"]["per_class"]
    classes = [c for c in summary["windows"]["labels"] if per_class[c]["support"] > 0]
    y = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(classes) + 1.6))
    for k, (key, color) in enumerate(
        (("precision", "tab:blue"), ("recall", "tab:orange"), ("f1", "tab:green"))
    ):
        values = [per_class[c][key] for c in classes]
        ax.barh(y + (k - 1) * 0.27, values, height=0.27, color=color, label=key)
    ax.set_yticks(y, [f"{c} ({per_class[c]['support']})" for c in classes], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the test windows [-] (class, test windows)")
    if target is not None:
        ax.axvline(target, color="black", linestyle="--", linewidth=0.8, label=f"target {target:g}")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(
        f"{summary.get('registered_model', 'model')}: per class on held-out vehicles "
        f"{', '.join(summary['split'].get('test_vehicles', []))}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def plot_lead_times(summary: Mapping[str, Any]):
    """Per test drive with a coded fault: when the model first named the fault and when the
    on-board code was confirmed, both after the onset [s] (a marker at the right edge: never)."""
    plt = _pyplot()
    drives = pd.DataFrame(summary["lead_time"]["drives"])
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * max(len(drives), 1) + 1.6))
    if drives.empty:
        ax.text(0.5, 0.5, "no test drive with a coded fault", ha="center", transform=ax.transAxes)
        return fig
    drives = drives.sort_values(["fault", "drive_id"]).reset_index(drop=True)
    flag = drives["flag_s"] - drives["onset_s"]
    code = drives["code_confirmed_s"] - drives["onset_s"]
    never = float(np.nanmax([flag.max(), code.max(), 60.0])) * 1.1
    y = np.arange(len(drives))
    ax.scatter(flag.fillna(never), y, marker="o", color="tab:blue", label="model names the fault")
    ax.scatter(code.fillna(never), y, marker="s", color="tab:orange", label="code confirmed")
    ax.axvline(never, color="grey", linewidth=0.6, linestyle=":")
    ax.set_yticks(
        y, [f"{r.code} {r.fault} ({r.severity:g})" for r in drives.itertuples()], fontsize=7
    )
    ax.invert_yaxis()
    ax.set_xlabel("time after the fault's onset [s] (dotted line: never in the drive)")
    lead = summary["lead_time"]
    ax.set_title(
        f"{lead['flagged_before_code']} of {lead['coded_fault_drives']} coded faults named "
        "before the code was confirmed",
        fontsize=10,
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


__all__ = [
    "FAULT_MODEL",
    "NO_FAULT",
    "OBD_FAULT_MODEL",
    "STYLE_FEATURES",
    "STYLE_MODEL",
    "SweepData",
    "classification_metrics",
    "code_times",
    "fault_labels",
    "lead_times",
    "load_sweep_data",
    "obd_features",
    "plot_confusion",
    "plot_lead_times",
    "plot_per_class",
    "run_fault_experiment",
    "run_style_experiment",
    "telemetry_features",
]
