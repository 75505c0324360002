"""Honest evaluation: the grouped split holds out vehicles and runs; the champion alias moves only
when a new version beats the current champion on the same test rows, scored now."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehsim.config import load_settings
from vehsim.errors import ConfigError

pytest.importorskip("mlflow", reason="needs the [ml] extra")
pytest.importorskip("deltalake", reason="needs the [ml] extra")

from vehsim_experiments.datasets import FEATURES  # noqa: E402
from vehsim_experiments.evaluation import grouped_split  # noqa: E402
from vehsim_experiments.runner import (  # noqa: E402
    CHAMPION_ALIAS,
    PRESETS,
    ModelSpec,
    run_experiment,
    with_overrides,
)


def _fleet_frame(n_vehicles: int = 12, n_runs: int = 12, seed: int = 0) -> pd.DataFrame:
    """A Gold-like feature table: every vehicle in every run, fuel linear in two features."""
    rng = np.random.default_rng(seed)
    rows = n_vehicles * n_runs
    frame = pd.DataFrame({c: rng.uniform(0.0, 1.0, rows) for c in FEATURES})
    frame["vehicle_id"] = [f"car-{v:03d}" for v in range(n_vehicles) for _ in range(n_runs)]
    frame["run_id"] = [f"run-{r:02d}" for _ in range(n_vehicles) for r in range(n_runs)]
    frame["fuel_l_per_100km"] = (
        5.0 + 3.0 * frame["mass_kg"] + 2.0 * frame["pke_mps2"] + rng.normal(0, 0.01, rows)
    )
    return frame


def test_grouped_split_shares_no_vehicle_and_no_run():
    frame = _fleet_frame()
    split = grouped_split(frame, test_frac=0.25, seed=3)
    train, test = frame.iloc[split.train], frame.iloc[split.test]
    assert set(train["vehicle_id"]).isdisjoint(test["vehicle_id"])
    assert set(train["run_id"]).isdisjoint(test["run_id"])
    assert len(set(test["vehicle_id"])) == 3 and len(set(test["run_id"])) == 3
    assert len(train) + len(test) + split.n_left_out == len(frame)
    assert split.describe()["n_test"] == 9 and split.describe()["n_train"] == 81
    # Seeded: the same seed holds out the same groups.
    again = grouped_split(frame, test_frac=0.25, seed=3)
    assert np.array_equal(again.test, split.test) and np.array_equal(again.train, split.train)


def test_grouped_split_without_a_second_run_or_vehicle_says_so():
    one_run = _fleet_frame(n_vehicles=8, n_runs=1)
    split = grouped_split(one_run, 0.25, 0)
    assert "one run only" in split.note
    assert set(one_run.iloc[split.train]["vehicle_id"]).isdisjoint(
        one_run.iloc[split.test]["vehicle_id"]
    )
    with pytest.raises(ConfigError, match="one vehicle in one run"):
        grouped_split(_fleet_frame(n_vehicles=1, n_runs=1), 0.25, 0)


def test_simulated_runs_are_the_conditions_they_ran_under():
    frame = pd.DataFrame(
        {
            "vehicle": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "cycle": ["udds", "hwfet"] * 4,
            "ambient_temp_c": [25.0] * 8,
            "cold_start": [1.0] * 8,
        }
    )
    split = grouped_split(frame, 0.25, 1)
    assert split.run_columns == ("cycle", "ambient_temp_c", "cold_start")
    assert set(frame.iloc[split.train]["cycle"]).isdisjoint(frame.iloc[split.test]["cycle"])


@pytest.mark.slow
def test_champion_stays_for_a_worse_model_and_moves_for_a_better_one(vehsim_env):
    from deltalake import write_deltalake
    from mlflow import MlflowClient

    settings = load_settings()
    write_deltalake(settings.table_uri("gold", "features"), _fleet_frame())
    base = with_overrides(
        PRESETS["fuel"],
        data_source="gold",
        experiment="champion-test",
        registered_model_name="champion-test",
    )
    client = MlflowClient(settings.mlflow_tracking_uri)

    def train(spec: ModelSpec) -> dict:
        return run_experiment(with_overrides(base, models=(spec,)), progress=lambda _: None)

    def alias_version() -> str:
        return str(client.get_model_version_by_alias("champion-test", CHAMPION_ALIAS).version)

    # A fair linear model becomes the first champion.
    first = train(ModelSpec("ridge", {"alpha": 1.0}))
    assert first["champion_decision"]["moved"] and first["champion_decision"]["reason"] == (
        "no champion yet"
    )
    assert alias_version() == "1" == first["champion"]["model_version"]

    # A model that predicts almost the mean is worse on the same test rows: the alias stays.
    worse = train(ModelSpec("ridge", {"alpha": 1e6}))
    decision = worse["champion_decision"]
    assert not decision["moved"], decision
    assert decision["candidate_score"] > decision["previous_score"]
    # The incumbent was scored now, on the same rows, and scores what it scored when trained.
    assert decision["previous_score"] == pytest.approx(first["runs"][0]["metrics"]["test_rmse"])
    assert decision["n_compared"] == first["n_test"] == worse["n_test"]
    assert alias_version() == "1" == worse["champion"]["model_version"]
    run = client.get_run(worse["runs"][0]["run_id"])
    assert run.data.tags["vehsim.champion_moved"] == "false"
    assert run.data.metrics["champion_test_rmse"] == pytest.approx(decision["previous_score"])

    # An almost unregularised fit of the linear truth is better: the alias moves to it.
    better = train(ModelSpec("ridge", {"alpha": 1e-4}))
    decision = better["champion_decision"]
    assert decision["moved"], decision
    assert decision["previous_version"] == "1"
    assert decision["candidate_score"] < decision["previous_score"]
    assert alias_version() == "3" == better["champion"]["model_version"]
    assert "beats champion version 1" in decision["reason"]


def test_a_champion_from_another_split_cannot_defend_with_rows_it_trained_on(vehsim_env):
    from deltalake import write_deltalake
    from mlflow import MlflowClient

    settings = load_settings()
    write_deltalake(settings.table_uri("gold", "features"), _fleet_frame(n_vehicles=4, n_runs=4))
    base = with_overrides(
        PRESETS["fuel"],
        data_source="gold",
        experiment="split-test",
        registered_model_name="split-test",
        test_frac=0.25,
        models=(ModelSpec("ridge", {"alpha": 1.0}),),
    )
    frame = _fleet_frame(n_vehicles=4, n_runs=4)
    first, second = grouped_split(frame, 0.25, 0).groups(), grouped_split(frame, 0.25, 1).groups()
    # The premise: seed 1 tests on a vehicle that seed 0 trained on.
    assert set(second["test_vehicles"]) <= set(first["train_vehicles"])
    run_experiment(with_overrides(base, seed=0), progress=lambda _: None)
    other = run_experiment(with_overrides(base, seed=1), progress=lambda _: None)
    decision = other["champion_decision"]
    assert not decision["moved"] and "would not compare" in decision["reason"], decision
    assert decision["previous_score"] is None and decision["n_compared"] == 0
    alias = MlflowClient(settings.mlflow_tracking_uri).get_model_version_by_alias(
        "split-test", CHAMPION_ALIAS
    )
    assert str(alias.version) == "1"
