"""MLflow experiments: feature definitions, data sources, and one fuel experiment end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import vehsim
from vehsim.config import load_settings
from vehsim.errors import ConfigError

pytest.importorskip("mlflow", reason="needs the [ml] extra")
pytest.importorskip("deltalake", reason="needs the [ml] extra")

from vehsim_experiments.datasets import (  # noqa: E402
    FEATURES,
    SimulationConfig,
    cycle_features,
    load_dataset,
    read_gold,
)
from vehsim_experiments.runner import CHAMPION_ALIAS, load_config  # noqa: E402

SMALL_SIMULATION = {
    "vehicles": ["compact-sedan", "pickup-v8", "sports-coupe"],
    "cycles": ["udds", "hwfet"],
    "ambient_temps_c": [-7.0, 25.0],
    "starts": ["cold", "hot"],
    "payloads_kg": [0.0, 250.0],
}


def test_import_vehsim_does_not_import_mlflow_or_experiments():
    code = (
        "import sys, vehsim, vehsim.config\n"
        "bad = [m for m in ('mlflow', 'sklearn', 'deltalake', 'vehsim_experiments') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cycle_features_hand_checked():
    # 0 -> 10 m/s in 10 s, 10 s cruise, 10 -> 0 in 10 s, 10 s standing: one stop.
    speed = np.concatenate(
        [np.linspace(0, 10, 11), np.full(10, 10.0), np.linspace(10, 0, 11)[1:], np.zeros(10)]
    )
    time_s = np.arange(len(speed), dtype=float)
    cycle = vehsim.Cycle("trapezoid", time_s, speed, np.zeros_like(speed))
    f = cycle_features(cycle)
    distance_m = 50 + 100 + 50  # accelerate, cruise (10 intervals... see below), decelerate
    # Trapezoid rule over the samples: ramps 50 m each, cruise from t=10 to t=20 = 100 m.
    assert f["distance_km"] == pytest.approx(distance_m / 1e3, rel=1e-9)
    assert f["mean_speed_mps"] == pytest.approx(distance_m / time_s[-1], rel=1e-9)
    assert f["max_speed_mps"] == 10.0
    assert f["stops_per_km"] == pytest.approx(1 / 0.2)
    # Positive kinetic energy: v^2 rises from 0 to 100 once -> 100 / 200 m.
    assert f["pke_mps2"] == pytest.approx(0.5)
    assert 0.0 < f["idle_frac"] < 0.5


def test_gold_source_missing_is_a_clear_error(vehsim_env):
    settings = load_settings()
    with pytest.raises(ConfigError, match="gold"):
        load_dataset("gold", settings, SimulationConfig(), ["fuel_l_per_100km"])
    with pytest.raises(ConfigError, match="data source must be one of"):
        load_dataset("lake", settings, SimulationConfig(), ["fuel_l_per_100km"])


def test_gold_table_is_read_with_its_delta_version(vehsim_env):
    import pandas as pd
    from deltalake import write_deltalake

    settings = load_settings()
    columns = [*FEATURES, "fuel_l_per_100km"]
    frame = pd.DataFrame({c: np.arange(10, dtype=float) for c in columns})
    frame["vehicle"] = "compact-sedan"
    uri = settings.table_uri("gold", "features")
    write_deltalake(uri, frame)
    write_deltalake(uri, frame, mode="append")
    data = read_gold(settings, columns)
    assert data is not None and data.source == "gold"
    assert data.version == f"delta:{uri}@1"
    assert len(data.frame) == 20
    assert data.vehicle_hashes == {
        "compact-sedan": vehsim.load_vehicle("compact-sedan").content_hash()
    }
    # A Gold table without a needed column is not used.
    assert read_gold(settings, [*columns, "engine_wear_pct_per_100km"]) is None


def test_bad_config_names_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("preset: fuel\ntarget: mpg\n")
    with pytest.raises(ConfigError, match="target must be one of"):
        load_config(path)
    path.write_text("preset: fuel\nlearning_rate: 3\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(path)


def test_fuel_experiment_end_to_end(vehsim_env, tmp_path, capsys):
    import mlflow
    import yaml
    from mlflow import MlflowClient

    from vehsim.cli import main

    config_path = tmp_path / "fuel.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "preset": "fuel",
                "experiment": "fuel-test",
                "registered_model_name": "fuel-test-model",
                "seed": 7,
                "simulation": SMALL_SIMULATION,
                "models": [
                    {"kind": "ridge", "params": {"alpha": 1.0}},
                    {"kind": "gradient_boosting", "params": {"n_estimators": 40, "max_depth": 2}},
                ],
            }
        )
    )
    assert main(["experiment", "fuel", "--config", str(config_path)]) == 0
    summary = json.loads(capsys.readouterr().out)

    settings = load_settings()
    assert summary["tracking_uri"] == settings.mlflow_tracking_uri
    assert str(settings.home) in settings.mlflow_tracking_uri  # sqlite under VEHSIM_HOME
    assert summary["data_source"] == "simulated"  # no Gold table in a fresh home
    assert summary["data_version"].startswith("simulated:")
    assert [r["model_kind"] for r in summary["runs"]] == ["ridge", "gradient_boosting"]
    split = summary["split"]
    assert split["kind"] == "grouped" and split["vehicle_column"] == "vehicle"
    assert len(split["test_vehicles"]) == 1 and split["n_test"] == summary["n_test"]

    client = MlflowClient(settings.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name("fuel-test")
    assert experiment.artifact_location.startswith((settings.home / "mlflow-artifacts").as_uri())
    for entry in summary["runs"]:
        run = client.get_run(entry["run_id"])
        metrics = run.data.metrics
        for name in ("test_mae", "test_rmse", "test_r2"):
            assert name in metrics and np.isfinite(metrics[name])
        assert metrics["test_rmse"] >= metrics["test_mae"] >= 0
        # Held-out vehicles: with two training vehicles the models extrapolate, and the
        # figures say so (no bound on R²); the training fit is good.
        assert metrics["train_r2"] > 0.5
        tags = run.data.tags
        assert tags["vehsim.seed"] == "7"
        assert tags["vehsim.version"] == vehsim.__version__
        assert tags["vehsim.data_version"] == summary["data_version"]
        assert tags["vehsim.git_commit"]
        for name in SMALL_SIMULATION["vehicles"]:
            assert tags[f"vehsim.param_hash.{name}"] == vehsim.load_vehicle(name).content_hash()
        assert run.data.params["model_kind"] == entry["model_kind"]
        artifacts = {a.path for a in client.list_artifacts(entry["run_id"])}
        assert {"predicted_vs_actual.png", "config.json", "split.json"} <= artifacts
        assert run.data.params["split"] == "grouped"

    # With no champion before, the lowest held-out RMSE becomes it, and loads through pyfunc.
    best = min(summary["runs"], key=lambda r: r["metrics"]["test_rmse"])
    alias = client.get_model_version_by_alias("fuel-test-model", CHAMPION_ALIAS)
    assert str(alias.version) == best["model_version"] == summary["champion"]["model_version"]
    assert summary["champion_decision"]["reason"] == "no champion yet"
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/fuel-test-model@{CHAMPION_ALIAS}")
    example = model.input_example
    predictions = np.asarray(model.predict(example), dtype=float)
    assert predictions.shape == (len(example),)
    assert np.all((predictions > 2.0) & (predictions < 30.0))  # L/100 km of a road car
