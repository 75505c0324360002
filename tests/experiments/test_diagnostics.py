"""Fault and driving-style classifiers: labels joined in the experiment only, held-out vehicles
and runs, per-class figures, a confusion matrix, lead times, importances, all in MLflow."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vehsim.config import load_settings
from vehsim.errors import ConfigError
from vehsim.faults import FAULT_NAMES

pytest.importorskip("mlflow", reason="needs the [ml] extra")
pytest.importorskip("deltalake", reason="needs the [ml] extra")

from vehsim_experiments import diagnostics as dx  # noqa: E402

#: A small sweep: 3 vehicles x (3 faults + 1 healthy) x (a cycle + 2 profiles) x 2 ambients.
TINY = {
    "name": "tiny",
    "seed": 5,
    "vehicles": ["compact-sedan", "pickup-v8", "sports-coupe", "compact-suv"],
    "cycles": ["hwfet"],
    "profiles": ["eco", "normal"],
    "profile_duration_s": 300,
    "ambient_temps_c": [-7, 30],
    "faults": ["misfire_cylinder_1", "vacuum_leak", "speed_sensor_dropout"],
    "severities": [1.0],
    "onsets_s": [60],
    "healthy": 1,
    "window_stride_s": 30,
}
#: A small model: the test checks the plumbing, not the accuracy.
SMALL = {"max_iter": 15, "max_leaf_nodes": 8}


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory) -> Path:
    import yaml

    path = tmp_path_factory.mktemp("sweep") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture(scope="module")
def tiny_data(tiny_sweep) -> dx.SweepData:
    home = tiny_sweep.parent / "home"
    return dx.load_sweep_data(
        load_settings({"VEHSIM_HOME": str(home)}), config_path=tiny_sweep, say=lambda _: None
    )


def test_window_labels_follow_the_onset():
    windows = pd.DataFrame(
        {
            "fault": ["vacuum_leak"] * 3 + [None],
            "severity": [0.5, 0.5, 0.5, 0.0],
            "onset_s": [120.0, 120.0, 120.0, math.nan],
            "window_start_s": [30.0, 90.0, 120.0, 0.0],
            "window_end_s": [90.0, 150.0, 180.0, 60.0],
        }
    )
    truth = dx.fault_labels(windows)
    assert truth.label.tolist() == ["none", "none", "vacuum_leak", "none"]
    assert truth.straddles.tolist() == [False, True, False, False]
    assert not truth.hidden.any() and not truth.unexercised.any()
    # A fault that changes nothing in a window is hidden there: the telemetry is healthy.
    shows = windows.assign(fault_expressed=[False, True, False, False])
    truth = dx.fault_labels(shows)
    assert truth.label.tolist() == ["none", "none", "none", "none"]
    assert truth.hidden.tolist() == [False, False, True, False]


def test_a_conditional_fault_is_scored_only_where_its_condition_held():
    """A clogged filter shows at full load only, a dead fan only when the fan is switched on:
    after the onset, windows without the condition are left out, not called healthy or faulty;
    other faults, and sweeps without the condition's column, are unaffected."""
    windows = pd.DataFrame(
        {
            "fault": ["clogged_air_filter"] * 3 + ["cooling_fan_failure"] * 2 + ["vacuum_leak"],
            "severity": [1.0] * 6,
            "onset_s": [60.0] * 6,
            "window_start_s": [90.0, 120.0, 150.0, 90.0, 120.0, 90.0],
            "window_end_s": [150.0, 180.0, 210.0, 150.0, 180.0, 150.0],
            "fault_expressed": [True, True, False, True, True, True],
            "full_throttle_load_frac_mean": [0.85, math.nan, math.nan, math.nan, math.nan, 0.9],
            "fan_on_frac": [0.0, 0.0, 0.0, 0.5, 0.0, 0.0],
        }
    )
    truth = dx.fault_labels(windows)
    assert truth.label.tolist() == [
        "clogged_air_filter", "none", "none", "cooling_fan_failure", "none", "vacuum_leak",
    ]  # fmt: skip
    assert truth.unexercised.tolist() == [False, True, False, False, True, False]
    assert truth.hidden.tolist() == [False, False, True, False, False, False]
    assert truth.left_out.tolist() == truth.unexercised.tolist()
    assert set(dx.FAULT_CONDITIONS) <= set(FAULT_NAMES)
    bare = windows.drop(columns=["full_throttle_load_frac_mean", "fan_on_frac"])
    assert dx.fault_labels(bare).label.tolist()[:2] == ["clogged_air_filter"] * 2


def test_faults_of_a_moving_car_are_not_scored_standing_in_a_queue():
    """A dragging brake and a soft tyre act only while the wheels turn, a slipping gearbox only
    under load: standing in a queue their twins differ by knock-on traces only (wear counters,
    a warmer engine), so those windows are left out; a misfire shows at idle too."""
    standing = {"speed_kph_max": 0.0, "gear_slip_frac_mean": math.nan}
    moving = {"speed_kph_max": 48.0, "gear_slip_frac_mean": 0.02}
    names = ["dragging_brake", "underinflated_tyre", "gearbox_slip", "misfire_cylinder_1"]
    rows = [{"fault": name, **where} for where in (moving, standing) for name in names]
    windows = pd.DataFrame(rows).assign(
        severity=1.0, onset_s=0.0, window_start_s=600.0, window_end_s=660.0, fault_expressed=True
    )
    truth = dx.fault_labels(windows)
    assert truth.label.tolist() == [*names, "none", "none", "none", "misfire_cylinder_1"]
    assert truth.unexercised.tolist() == [False] * 4 + [True, True, True, False]


def test_lead_time_is_the_first_right_call_after_the_onset_against_the_code():
    windows = pd.DataFrame(
        {
            "drive_id": [0, 0, 0, 0, 1, 1, 2, 2],
            "fault": ["vacuum_leak"] * 4 + ["misfire_cylinder_1"] * 2 + ["dragging_brake"] * 2,
            "severity": [1.0] * 8,
            "onset_s": [60.0] * 8,
            "window_end_s": [60.0, 90.0, 120.0, 150.0, 90.0, 120.0, 90.0, 120.0],
        }
    )
    # drive 0: a call before the onset does not count; the right call at 120 s, code at 200 s.
    # drive 1: never called right; its code at 100 s. drive 2: no code exists for the fault.
    predicted = np.array(
        ["vacuum_leak", "none", "vacuum_leak", "vacuum_leak", "none", "vacuum_leak", "none", "x"]
    )
    drives = pd.DataFrame({"drive_id": [0, 1, 2], "first_confirmed_s": [200.0, 100.0, None]})
    leads = dx.lead_times(windows, predicted, drives).set_index("drive_id")
    assert list(leads.index) == [0, 1]
    assert leads.loc[0, "flag_s"] == 120.0 and leads.loc[0, "lead_s"] == 80.0
    assert leads.loc[0, "flagged_before_code"]
    assert math.isnan(leads.loc[1, "flag_s"]) and not leads.loc[1, "flagged_before_code"]


def test_models_read_telemetry_only():
    truth = {"fault", "severity", "onset_s", "driver_profile", "label"}
    for columns in (dx.telemetry_features(), dx.obd_features(), dx.STYLE_FEATURES):
        assert not truth & set(columns)
    # The telemetry set is what live windows compute from simulation.raw events.
    from vehsim import features as fx

    live = set(fx.FEATURES) | set(fx.TARGETS) | set(fx.AGGREGATES)
    assert set(dx.telemetry_features()) <= live
    assert set(dx.obd_features()) - live  # the OBD readings are not in live telemetry yet


def test_a_sweep_that_is_nowhere_is_a_clear_error(vehsim_env):
    with pytest.raises(ConfigError, match="not in the lake"):
        dx.load_sweep_data(sweep_id="nothing-000000000000", say=lambda _: None)
    with pytest.raises(ConfigError, match="give a sweep"):
        dx.load_sweep_data(say=lambda _: None)


@pytest.mark.slow
def test_fault_and_style_experiments_log_everything_and_register(vehsim_env, tiny_data):
    from mlflow import MlflowClient

    settings = load_settings()
    assert tiny_data.source == "in-process" and tiny_data.tables == {}
    fault = dx.run_fault_experiment(tiny_data, seed=1, params=SMALL, say=lambda _: None)
    client = MlflowClient(settings.mlflow_tracking_uri)
    run = client.get_run(fault["run_id"])
    assert run.data.tags["vehsim.sweep_id"] == tiny_data.sweep_id
    assert run.data.tags["vehsim.data_source"] == "sweep (in-process)"
    assert run.data.tags["vehsim.data_rows"] == str(len(tiny_data.windows))
    artifacts = {a.path for a in client.list_artifacts(fault["run_id"])}
    assert {
        "confusion_matrix.png", "lead_times.json", "split.json", "features.json",
        "fault_conditions.json",
    } <= artifacts  # fmt: skip
    assert "test_unexercised_fault_windows" in run.data.metrics
    for name in ("none", "misfire_cylinder_1", "vacuum_leak", "speed_sensor_dropout"):
        assert f"test_precision.{name}" in run.data.metrics
        assert f"test_recall.{name}" in run.data.metrics
    assert 0.0 <= fault["windows"]["macro_f1"] <= 1.0
    assert fault["lead_time"]["coded_fault_drives"] > 0
    split = fault["split"]
    assert split["n_test"] > 0 and len(split["test_vehicles"]) == 1
    assert fault["champion_decision"]["reason"] == "no champion yet"
    version = client.get_model_version_by_alias(dx.FAULT_MODEL, "champion")
    assert str(version.version) == fault["model_version"]
    # The registered model's inputs are telemetry columns only.
    inputs = json.loads(client.get_run(fault["run_id"]).data.params.get("n_features", "0"))
    assert inputs == len(dx.telemetry_features())

    style = dx.run_style_experiment(tiny_data, seed=1, params=SMALL, say=lambda _: None)
    assert set(style["windows"]["per_class"]) == {"eco", "normal"}
    assert {r["feature"] for r in style["feature_importances"]} == set(dx.STYLE_FEATURES)
    artifacts = {a.path for a in client.list_artifacts(style["run_id"])}
    assert {"feature_importances.json", "feature_importances.png", "confusion_matrix.png"} <= (
        artifacts
    )


def test_the_obd_model_of_a_sweep_diagnoses_live_telemetry(vehsim_env, tiny_data):
    """``vehsim experiment fault --features obd`` registers a model that ``vehsim score`` loads
    and applies to live ``simulation.raw`` events (the diagnostic features computed from the
    payload's controller readings as the sweep computes them from the kernel's records): a
    misfiring car is named, a healthy one is not."""
    import vehsim
    from vehsim import events as ev
    from vehsim.faults import FaultSpec
    from vehsim.telemetry import raw_payload
    from vehsim_experiments import score as sc

    fault = dx.run_fault_experiment(
        tiny_data, features="obd", seed=1, params=SMALL, say=lambda _: None
    )
    assert fault["registered_model"] == dx.OBD_FAULT_MODEL
    # vehsim score's default fault model has no champion here: it names the one that has
    defaults = sc.ChampionSet(load_settings().mlflow_tracking_uri)
    defaults.refresh()
    assert defaults.problems[sc.FAULT] == (
        "no vehsim-fault@champion (vehsim-fault-obd@champion exists: "
        "--fault-model vehsim-fault-obd)"
    )
    # the dashboard has no option: it takes the OBD model
    dashboard = sc.champion_scorer(load_settings())
    assert dashboard.champions.models[sc.FAULT].name == dx.OBD_FAULT_MODEL
    scorer = sc.local_scorer(names={sc.FAULT: dx.OBD_FAULT_MODEL}, every_s=30.0)
    assert scorer is not None and scorer.champions.models[sc.FAULT].reads_diagnostics
    cars = [None, ("misfire_cylinder_1", 1.0)]
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")] * len(cars), dt_s=0.05)
    sim.set_driver(slice(None), "cycle:hwfet")
    sim.inject_fault(1, FaultSpec("misfire_cylinder_1", 1.0, 0.0))
    named: dict[str, list[str]] = {"car-0": [], "car-1": []}
    for k in range(301):
        if k:
            sim.advance(1.0)
        snapshot = sim.snapshot()
        for i in range(len(cars)):
            payload = raw_payload(snapshot, i)
            scorer.feed(
                ev.encode_event(
                    ev.make_event(ev.SIMULATION_RAW, f"car-{i}", "live", k, sim.time_s, payload)
                )
            )
        for event in scorer.score():
            if event["event_type"] == ev.DIAGNOSTIC_PREDICTION:
                named[event["vehicle_id"]].append(event["payload"]["fault"])
    assert len(named["car-1"]) >= 6 and scorer.stats.incomplete[sc.FAULT] == 0
    assert named["car-1"].count("misfire_cylinder_1") > len(named["car-1"]) / 2, named
    assert "misfire_cylinder_1" not in named["car-0"], named
