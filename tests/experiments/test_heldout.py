"""Held-out predictions rebuilt for review: the runner's test rows, each model's predictions on
them (its logged test RMSE again), a baseline, and a refusal when the table changed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from vehsim.config import load_settings
from vehsim.errors import ConfigError

pytest.importorskip("mlflow", reason="needs the [ml] extra")
pytest.importorskip("sklearn", reason="needs the [ml] extra")

from vehsim_experiments.datasets import SimulationConfig  # noqa: E402
from vehsim_experiments.heldout import (  # noqa: E402
    BASELINE,
    held_out_predictions,
    held_out_scores,
    usable_rows,
)
from vehsim_experiments.runner import PRESETS, ModelSpec, run_experiment, with_overrides  # noqa: E402

pytestmark = pytest.mark.slow

DESIGN = SimulationConfig(
    vehicles=("compact-sedan", "compact-suv", "pickup-v8", "sports-coupe"),
    cycles=("udds", "hwfet"),
    ambient_temps_c=(-7.0, 25.0),
    payloads_kg=(0.0,),
)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    home = tmp_path_factory.mktemp("heldout-home")
    settings = load_settings({"VEHSIM_HOME": str(home)})
    config = with_overrides(
        PRESETS["fuel"],
        data_source="simulated",
        simulation=DESIGN,
        models=(ModelSpec("ridge", {"alpha": 1.0}),),
        test_frac=0.4,
        seed=3,
    )
    summary = run_experiment(config, settings, progress=lambda _m: None)
    return config, summary, settings


def test_usable_rows_drop_unknown_features_and_targets():
    config = PRESETS["fuel"]
    frame = pd.DataFrame({c: [1.0, 2.0, np.nan] for c in config.features})
    frame[config.target] = [1.0, np.inf, 3.0]
    assert len(usable_rows(frame, config)) == 1


def test_held_out_rows_are_the_runners_and_score_as_logged(experiment):
    config, summary, settings = experiment
    predictions = held_out_predictions(config, summary, settings)
    ((run,),) = [summary["runs"]]
    name = f"{run['model_kind']} v{run['model_version']}"
    assert list(dict.fromkeys(predictions["model"])) == [name, BASELINE]
    model_rows = predictions[predictions["model"] == name]
    assert len(model_rows) == summary["n_test"]
    # the rows belong to the held-out vehicles only
    assert set(model_rows["vehicle"]) == set(summary["split"]["test_vehicles"])
    scores = held_out_scores(predictions)
    assert scores.loc[name, "rmse"] == pytest.approx(run["metrics"]["test_rmse"], rel=1e-9)
    assert scores.loc[name, "mae"] == pytest.approx(run["metrics"]["test_mae"], rel=1e-9)
    assert np.allclose(model_rows["residual"], model_rows["predicted"] - model_rows["actual"])
    baseline = predictions[predictions["model"] == BASELINE]["predicted"]
    assert baseline.nunique() == 1


def test_another_table_is_refused(experiment):
    config, summary, settings = experiment
    other = dataclasses.replace(config, simulation=dataclasses.replace(DESIGN, seed=1))
    with pytest.raises(ConfigError, match="rerun the experiment"):
        held_out_predictions(other, summary, settings)
