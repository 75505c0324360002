"""Honest evaluation: a grouped train/test split and the rule that moves the ``champion`` alias.

**Grouped split.** A feature row belongs to a vehicle and to a run (a drive, or the conditions a
fleet drove under). Rows of one vehicle, or of one run, resemble each other far more than rows of
different ones, so a random row split lets the test set share vehicles and runs with training and
measures interpolation. :func:`grouped_split` holds out a share of the *vehicles* and a share of
the *runs*: the test set is the rows of held-out vehicles in held-out runs, training is the rows
of the other vehicles in the other runs, and the rows that mix the two (a held-out vehicle in a
training run, or the reverse) are left out, so no vehicle and no run is on both sides. With only
one vehicle (or one run) in the data, that dimension cannot be held out; the split says so in
its ``note`` and holds out the other.

**Champion rule.** :func:`champion_decision` scores the registry's current ``champion`` and the
new candidate on the same test rows, now, and moves the alias only when the candidate is strictly
better. Every run stores its split's groups (``split.json``); the comparison uses only the test
rows whose vehicle and run the champion did not train on either, so an old champion cannot
defend its place with rows it has seen. When no such row is left (the champion trained on
another split of the same vehicles), the scores would not compare and the alias stays; the
decision says so (rerun with the champion's seed and data to compare). A champion that cannot
score the test rows (it needs a column they do not have) cannot defend its place: the alias
moves, and the decision says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vehsim.errors import ConfigError

CHAMPION_ALIAS = "champion"
#: Artefact of every run holding its split (:meth:`GroupedSplit.describe` and ``groups``).
SPLIT_ARTIFACT = "split.json"
#: Columns that name a row's vehicle, in order of preference (Gold: ``vehicle_id``; the
#: simulated tables: ``vehicle``).
VEHICLE_COLUMNS = ("vehicle_id", "vehicle")
#: Columns that name a row's run, in order of preference.
RUN_COLUMNS = ("run_id",)
#: Without a run column, a run is the conditions a drive ran under (the simulated fuel table).
RUN_CONDITION_COLUMNS = ("cycle", "ambient_temp_c", "cold_start", "driver", "start")


@dataclass(frozen=True)
class GroupedSplit:
    """Row positions of the training and test sets, and what was held out."""

    train: np.ndarray
    test: np.ndarray
    vehicle_column: str | None
    run_columns: tuple[str, ...]
    test_vehicles: tuple[str, ...]
    n_vehicles: int
    n_test_runs: int
    n_runs: int
    n_left_out: int
    #: Per row of the frame: its vehicle key and run key (the columns' values joined by ``|``).
    vehicle_keys: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    run_keys: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    note: str = ""

    def groups(self) -> dict[str, list[str]]:
        """The vehicle and run keys on each side (stored with every run as ``split.json``)."""
        return {
            "train_vehicles": sorted(set(self.vehicle_keys[self.train].tolist())),
            "train_runs": sorted(set(self.run_keys[self.train].tolist())),
            "test_vehicles": sorted(set(self.vehicle_keys[self.test].tolist())),
            "test_runs": sorted(set(self.run_keys[self.test].tolist())),
        }

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for summaries and MLflow params."""
        return {
            "kind": "grouped",
            "vehicle_column": self.vehicle_column,
            "run_columns": list(self.run_columns),
            "test_vehicles": list(self.test_vehicles),
            "n_vehicles": self.n_vehicles,
            "n_test_runs": self.n_test_runs,
            "n_runs": self.n_runs,
            "n_train": int(len(self.train)),
            "n_test": int(len(self.test)),
            "n_left_out": self.n_left_out,
            "note": self.note,
        }


def group_columns(frame: pd.DataFrame) -> tuple[str | None, tuple[str, ...]]:
    """The vehicle column and the run column(s) of ``frame`` (see the module doc)."""
    vehicle = next((c for c in VEHICLE_COLUMNS if c in frame.columns), None)
    runs = tuple(c for c in RUN_COLUMNS if c in frame.columns)
    if not runs:
        runs = tuple(c for c in RUN_CONDITION_COLUMNS if c in frame.columns)
    return vehicle, runs


def _keys(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    if not columns:
        return np.zeros(len(frame), dtype=object)
    return frame[list(columns)].astype(str).agg("|".join, axis=1).to_numpy()


def _held_out(keys: np.ndarray, share: float, rng: np.random.Generator) -> set[str]:
    unique = sorted(set(keys.tolist()))
    if len(unique) < 2:
        return set()
    n = min(max(1, round(share * len(unique))), len(unique) - 1)
    return set(rng.permutation(np.array(unique, dtype=object))[:n].tolist())


def grouped_split(
    frame: pd.DataFrame,
    test_frac: float,
    seed: int,
    vehicle_column: str | None = None,
    run_columns: Sequence[str] | None = None,
) -> GroupedSplit:
    """Hold out ``test_frac`` of the vehicles and ``test_frac`` of the runs (seeded).

    ``vehicle_column`` and ``run_columns`` name the groups when :func:`group_columns`'
    defaults do not (a sweep's ``vehicle`` is the car model; its ``vehicle_id`` one drive).

    Raises:
        ConfigError: the data has a single vehicle and a single run (nothing to hold out), or
            the split leaves the training or the test set empty.
    """
    vehicle_col, run_cols = group_columns(frame)
    if vehicle_column is not None:
        vehicle_col = vehicle_column
    if run_columns is not None:
        run_cols = tuple(run_columns)
    rng = np.random.default_rng(seed)
    vehicles = _keys(frame, [vehicle_col] if vehicle_col else [])
    runs = _keys(frame, run_cols)
    test_vehicles = _held_out(vehicles, test_frac, rng)
    test_runs = _held_out(runs, test_frac, rng)
    notes = []
    if not test_vehicles and not test_runs:
        raise ConfigError(
            f"cannot hold out vehicles or runs: the {len(frame)} rows come from one vehicle in "
            "one run, so any test row would share both with training; use --data simulated or "
            "drive more vehicles or runs"
        )
    if not test_vehicles:
        notes.append("one vehicle only: runs held out, the vehicle is shared")
    if not test_runs:
        notes.append("one run only: vehicles held out, the run is shared")
    in_v = np.isin(vehicles, list(test_vehicles)) if test_vehicles else np.ones(len(frame), bool)
    in_r = np.isin(runs, list(test_runs)) if test_runs else np.ones(len(frame), bool)
    out_v = ~np.isin(vehicles, list(test_vehicles)) if test_vehicles else np.ones(len(frame), bool)
    out_r = ~np.isin(runs, list(test_runs)) if test_runs else np.ones(len(frame), bool)
    test = np.flatnonzero(in_v & in_r)
    train = np.flatnonzero(out_v & out_r)
    if len(train) == 0 or len(test) == 0:
        raise ConfigError(
            f"the grouped split of {len(frame)} rows left {len(train)} training and {len(test)} "
            "test rows; use more data (--data simulated, a bigger sweep) or another seed"
        )
    return GroupedSplit(
        train=train,
        test=test,
        vehicle_column=vehicle_col,
        run_columns=run_cols,
        test_vehicles=tuple(sorted(test_vehicles)),
        n_vehicles=len(set(vehicles.tolist())),
        n_test_runs=len(test_runs),
        n_runs=len(set(runs.tolist())),
        n_left_out=int(len(frame) - len(train) - len(test)),
        vehicle_keys=vehicles,
        run_keys=runs,
        note="; ".join(notes),
    )


# --- the champion rule --------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Whether the alias moved to the candidate, and the scores that decided it."""

    moved: bool
    reason: str
    metric: str
    candidate_version: str
    candidate_score: float | None
    previous_version: str | None = None
    previous_score: float | None = None
    n_compared: int = 0

    def as_dict(self) -> dict[str, Any]:
        def finite(x):
            return None if x is None or not math.isfinite(x) else float(x)

        return {
            "moved": self.moved,
            "reason": self.reason,
            "metric": self.metric,
            "candidate_version": self.candidate_version,
            "candidate_score": finite(self.candidate_score),
            "previous_version": self.previous_version,
            "previous_score": finite(self.previous_score),
            "n_compared": self.n_compared,
        }


def current_champion(client, registered_model: str):
    """The model version the ``champion`` alias points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(registered_model, CHAMPION_ALIAS)
    except MlflowException:
        return None


def _input_columns(model) -> list[str] | None:
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return None
    return list(schema.input_names())


def predict_version(registered_model: str, version: str, X: pd.DataFrame) -> np.ndarray:
    """Predictions of a registered version on ``X`` (the columns of its signature).

    Raises:
        KeyError: the version needs a column ``X`` lacks.
    """
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(f"models:/{registered_model}/{version}")
    columns = _input_columns(model)
    if columns is not None:
        missing = sorted(set(columns) - set(X.columns))
        if missing:
            raise KeyError(f"needs column(s) {missing}")
        X = X[columns]
    return np.asarray(model.predict(X))


def _trained_groups(client, run_id: str) -> dict[str, list[str]] | None:
    """The groups a run trained on (from its ``split.json``), or None if it did not store them."""
    import json
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run_id, SPLIT_ARTIFACT, tmp)
            with open(path) as fh:
                doc = json.load(fh)
    except Exception:  # noqa: BLE001 - an older run without the artefact, or no such run
        return None
    if "train_vehicles" not in doc or "train_runs" not in doc:
        return None
    return doc


def champion_decision(
    client,
    registered_model: str,
    candidate_version: str,
    candidate_predictions: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    split: GroupedSplit,
    metric: str,
    score: Callable[[np.ndarray, np.ndarray], float],
    higher_is_better: bool,
) -> Decision:
    """Score the current champion and the candidate on the same test rows now; move the alias
    only if the candidate is strictly better (see the module doc). Sets the alias when
    ``moved``; returns the decision.

    ``X_test``, ``y_test`` and ``candidate_predictions`` are the rows ``split.test`` of the
    experiment's frame, in that order.
    """
    y_test = np.asarray(y_test)
    candidate_predictions = np.asarray(candidate_predictions)
    incumbent = current_champion(client, registered_model)
    full = float(score(y_test, candidate_predictions))
    if incumbent is None:
        decision = Decision(True, "no champion yet", metric, candidate_version, full)
    elif str(incumbent.version) == str(candidate_version):
        decision = Decision(False, "the candidate is the champion", metric, candidate_version, full)
    else:
        decision = _contest(
            client,
            registered_model,
            incumbent,
            candidate_version,
            candidate_predictions,
            X_test,
            y_test,
            split,
            metric,
            score,
            higher_is_better,
        )
    if decision.moved:
        client.set_registered_model_alias(registered_model, CHAMPION_ALIAS, candidate_version)
    return decision


def _contest(
    client,
    registered_model,
    incumbent,
    candidate_version,
    candidate_predictions,
    X_test,
    y_test,
    split,
    metric,
    score,
    higher_is_better,
) -> Decision:
    previous = str(incumbent.version)
    fair = np.ones(len(y_test), dtype=bool)
    seen = _trained_groups(client, incumbent.run_id)
    if seen is not None:
        vehicles = split.vehicle_keys[split.test]
        runs = split.run_keys[split.test]
        fair = ~np.isin(vehicles, seen["train_vehicles"]) & ~np.isin(runs, seen["train_runs"])
    if not fair.any():
        return Decision(
            False,
            f"champion version {previous} trained on the vehicles or runs of every test row, "
            "so the scores would not compare: the alias stays (rerun with the champion's seed "
            "and data to compare)",
            metric,
            candidate_version,
            None,
            previous,
            None,
        )
    try:
        previous_predictions = predict_version(registered_model, previous, X_test[fair])
    except KeyError as exc:
        return Decision(
            True,
            f"champion version {previous} cannot score this test data ({exc})",
            metric,
            candidate_version,
            float(score(y_test, candidate_predictions)),
            previous,
            None,
        )
    candidate_score = float(score(y_test[fair], candidate_predictions[fair]))
    previous_score = float(score(y_test[fair], previous_predictions))
    if not math.isfinite(previous_score):
        better = math.isfinite(candidate_score)
    elif higher_is_better:
        better = candidate_score > previous_score
    else:
        better = candidate_score < previous_score
    rows = "the same test rows" if fair.all() else f"the {int(fair.sum())} test rows neither saw"
    return Decision(
        better,
        f"{metric} {candidate_score:.6g} {'beats' if better else 'does not beat'} champion "
        f"version {previous}'s {previous_score:.6g} on {rows}",
        metric,
        candidate_version,
        candidate_score,
        previous,
        previous_score,
        int(fair.sum()),
    )


__all__ = [
    "CHAMPION_ALIAS",
    "Decision",
    "GroupedSplit",
    "champion_decision",
    "current_champion",
    "group_columns",
    "grouped_split",
    "predict_version",
    "SPLIT_ARTIFACT",
]
