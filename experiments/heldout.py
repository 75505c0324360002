"""Held-out predictions of an experiment's models, row by row, for review.

:func:`vehsim_experiments.runner.run_experiment` scores every model on the test rows of its
grouped split and keeps the metrics. A reviewer wants the rows themselves: predicted against
actual, residuals by vehicle, and a baseline to beat. :func:`held_out_predictions` rebuilds the
test rows from the table the experiment read (it must be the same version: a simulated table is
determined by its configuration, a Gold table is read at its current version and compared with
the summary's), splits them with the experiment's seed as the runner did, checks that it found
the runner's test rows, and asks each registered version for its predictions. A baseline that
predicts the training rows' mean comes with them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from vehsim.config import Settings, load_settings
from vehsim.errors import ConfigError
from vehsim_experiments.datasets import load_dataset
from vehsim_experiments.evaluation import grouped_split, predict_version
from vehsim_experiments.runner import ExperimentConfig

#: Name of the baseline in :func:`held_out_predictions`' ``model`` column.
BASELINE = "baseline: training mean"


def usable_rows(frame: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """The rows an experiment trains and tests on: every feature and the target known, the
    target finite (as :func:`~vehsim_experiments.runner.run_experiment` filters them)."""
    required = [*config.features, config.target]
    rows = frame.dropna(subset=required)
    return rows[np.isfinite(rows[config.target])].reset_index(drop=True)


def held_out_predictions(
    config: ExperimentConfig,
    summary: Mapping[str, Any],
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Every model's predictions on the experiment's held-out rows, and a baseline's.

    Args:
        config: the experiment's configuration (as given to ``run_experiment``).
        summary: what ``run_experiment`` returned for it.
        settings: configuration (MLflow, lake); default :func:`vehsim.config.load_settings`.
        progress: receives what is being read (default: nothing is said).

    Returns:
        One row per held-out row and model: the row's identifying columns (vehicle, cycle,
        start, ...), ``model`` (``"<kind> v<version>"`` or :data:`BASELINE`), ``actual``,
        ``predicted`` and ``residual`` (predicted - actual), in the target's unit.

    Raises:
        ConfigError: the table is not the one the experiment read (another data version), or
            the split does not give the experiment's test rows.
    """
    import mlflow

    settings = settings or load_settings()
    say = progress or (lambda _text: None)
    required = (*config.features, config.target)
    data = load_dataset(summary["data_source"], settings, config.simulation, required, say)
    if data.version != summary["data_version"]:
        raise ConfigError(
            f"the experiment read {summary['data_version']}, the table is now {data.version}: "
            "its held-out rows cannot be rebuilt; rerun the experiment"
        )
    frame = usable_rows(data.frame, config)
    split = grouped_split(frame, config.test_frac, config.seed)
    if len(split.test) != summary["n_test"] or len(split.train) != summary["n_train"]:
        raise ConfigError(
            f"the split gives {len(split.test)} test and {len(split.train)} training rows, the "
            f"experiment had {summary['n_test']} and {summary['n_train']}: not the same split"
        )
    test = frame.iloc[split.test]
    features = test[list(config.features)].astype("float64")
    actual = test[config.target].astype("float64").to_numpy()
    ids = [c for c in (split.vehicle_column, *split.run_columns) if c]
    ids += [c for c in ("payload_kg", "run_id") if c in test.columns and c not in ids]
    keys = test[ids].reset_index(drop=True)

    # mlflow.set_tracking_uri also writes MLFLOW_TRACKING_URI into os.environ: keep the variable
    # as it was (as run_experiment does), so a later load_settings() does not read it back.
    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    if previous_env is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous_env
    predictions = {
        f"{run['model_kind']} v{run['model_version']}": predict_version(
            summary["registered_model"], run["model_version"], features
        )
        for run in summary["runs"]
    }
    train_mean = float(frame[config.target].iloc[split.train].astype("float64").mean())
    predictions[BASELINE] = np.full(len(actual), train_mean)

    parts = []
    for name, predicted in predictions.items():
        part = keys.copy()
        part["model"] = name
        part["actual"] = actual
        part["predicted"] = np.asarray(predicted, dtype=float)
        part["residual"] = part["predicted"] - part["actual"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def held_out_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """MAE, RMSE and bias (mean residual) of each model on the held-out rows, best RMSE first,
    in the target's unit."""
    grouped = predictions.groupby("model", sort=False)["residual"]
    scores = pd.DataFrame(
        {
            "mae": grouped.apply(lambda r: float(np.mean(np.abs(r)))),
            "rmse": grouped.apply(lambda r: float(np.sqrt(np.mean(r**2)))),
            "bias": grouped.mean(),
            "rows": grouped.size(),
        }
    )
    return scores.sort_values("rmse")


__all__ = ["BASELINE", "held_out_predictions", "held_out_scores", "usable_rows"]
