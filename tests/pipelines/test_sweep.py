"""Sweeps: the YAML contract, the plan, determinism in any slicing, and the Spark job's rows
bit-identical to the in-process fleet on local Spark and on a standalone cluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from spark_services import lake_env, spark_cluster  # noqa: F401 (spark_cluster: a fixture)
from spark_services import vehsim as run_vehsim

import vehsim
from vehsim.config import load_settings
from vehsim.errors import ConfigError
from vehsim.faults import FaultSpec
from vehsim_pipelines.sweep import (
    DIAGNOSTIC_FEATURES,
    SPAN_COLUMNS,
    SweepConfig,
    config_from_mapping,
    load_sweep_config,
    plan_drives,
    rng_states,
    simulate_drives,
    simulate_sweep,
    slice_bounds,
)

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "pipelines" / "sweeps" / "smoke.yaml"
DIAGNOSTICS = REPO / "pipelines" / "sweeps" / "diagnostics.yaml"


def _small(**changes) -> SweepConfig:
    doc = {
        "name": "unit",
        "vehicles": ["compact-sedan", "pickup-v8", "sports-coupe"],
        "cycles": ["hwfet"],
        "profiles": ["eco", "aggressive"],
        "profile_duration_s": 240,
        "ambient_temps_c": [30],
        "faults": ["misfire_cylinder_1", "vacuum_leak", "speed_sensor_dropout"],
        "severities": [1.0],
        "onsets_s": [30],
        "healthy": 1,
        "window_stride_s": 30,
    }
    doc.update(changes)
    return config_from_mapping(doc)


# --- configuration ----------------------------------------------------------------------------


def test_shipped_sweeps_load_and_the_diagnostics_sweep_has_1500_drives():
    diagnostics = load_sweep_config(DIAGNOSTICS)
    assert diagnostics.n_drives() == 1500
    # The dead fan shows only where the fan runs: standing still in the heat.
    assert diagnostics.idle_after_s >= 1200 and max(diagnostics.ambient_temps_c) >= 40
    assert load_sweep_config(SMOKE).n_drives() == 12


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vehicles": ["hovercraft"]}, "vehicles: unknown ['hovercraft']"),
        ({"faults": ["flat_battery"]}, "faults: unknown ['flat_battery']"),
        ({"severities": [1.5]}, "severities: 1.5  is outside 0 to 1"),
        ({"profiles": ["sleepy"]}, "profiles: unknown ['sleepy']; allowed: eco, normal"),
        ({"ambient_temps_c": [80]}, "ambient_temps_c: 80 °C is outside -40 to 55 °C"),
        ({"dt_s": 0.3}, "dt_s: must divide 1 s"),
        ({"cycles": [], "profiles": []}, "list at least one of cycles or profiles"),
        ({"assignment": "lottery"}, "assignment: must be one of grid, random"),
        ({"window_stride_s": 0}, "window_stride_s: must be a whole number from 1 to 60"),
        ({"colour": "red"}, "unknown key(s) ['colour']"),
        ({"severities": "high"}, "severities: 'high' is not a number"),
    ],
)
def test_bad_sweep_configs_name_the_field(change, message):
    with pytest.raises(ConfigError) as info:
        _small(**change)
    assert message in str(info.value)


def test_a_bad_file_is_a_clear_error(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sweep_config(path)
    with pytest.raises(ConfigError, match="cannot read the sweep config"):
        load_sweep_config(tmp_path / "missing.yaml")


def test_bad_config_exits_2_naming_the_field(tmp_path, capsys):
    from vehsim.cli import main

    path = tmp_path / "sweep.yaml"
    path.write_text("name: x\nvehicles: [hovercraft]\n")
    assert main(["sweep", "--config", str(path)]) == 2
    assert "vehicles: unknown ['hovercraft']" in capsys.readouterr().err


# --- plan and determinism --------------------------------------------------------------------


def test_plan_is_the_cross_product_and_labels_hold_the_truth():
    cfg = _small()
    plan = plan_drives(cfg)
    assert len(plan) == cfg.n_drives() == 3 * (3 + 1) * 3 * 1
    assert list(plan["drive_id"]) == list(range(len(plan)))
    # Every vehicle meets every fault condition under every driver.
    combos = plan.groupby(["vehicle", "driver"])["fault"].apply(lambda s: sorted(map(str, s)))
    assert all(len(v) == 4 for v in combos)
    # A run is the conditions: every vehicle and fault condition of them share it.
    assert plan["run_id"].nunique() == 3
    assert set(plan["profile"].dropna()) == set(cfg.profiles) and len(cfg.profiles) == 2
    assert plan["fault"].isna().sum() == 3 * 3  # one healthy drive per vehicle and driver


def test_random_assignment_is_the_fleet_apis_seeded_draw():
    from vehsim.faults import random_faults

    cfg = _small(assignment="random", faults=[], faulty_frac=0.6, max_onset_s=100)
    plan = plan_drives(cfg)
    draws = random_faults(len(plan), cfg.seed, 0.6, vehsim.faults.FAULT_NAMES, 100)
    assert [d[0].name if d else None for d in draws] == [
        None if pd.isna(f) else f for f in plan["fault"]
    ]


def test_each_drive_gets_the_generator_a_whole_fleet_simulator_would_give_it():
    cfg = _small()
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")] * 7, seed=cfg.seed)
    assert np.array_equal(sim.rng, rng_states(cfg.seed, 7))
    assert np.array_equal(rng_states(cfg.seed, 40)[:7], rng_states(cfg.seed, 7))


def test_a_drive_gives_the_same_rows_in_any_slice():
    cfg = _small()
    plan = plan_drives(cfg)
    windows, drives, labels = simulate_drives(cfg, plan)
    for lo, hi in [(0, 1), (5, 9), (len(plan) - 1, len(plan))]:
        w, d, lab = simulate_drives(cfg, plan.iloc[lo:hi])
        ids = pa.array(range(lo, hi))
        assert w.equals(windows.filter(pc.is_in(windows["drive_id"], ids))), (lo, hi)
        assert lab.equals(labels.filter(pc.is_in(labels["drive_id"], ids))), (lo, hi)
        assert d.equals(drives.slice(lo, hi - lo)), (lo, hi)
    assert slice_bounds(10, 3, 0) == (0, 3) and slice_bounds(10, 3, 2) == (6, 10)


def test_drive_summaries_equal_the_fleet_api():
    """Cycle drives: ``vehsim.simulate_fleet`` with the same vehicles, faults and seed gives the
    summary and the trouble codes of every drive."""
    cfg = _small(profiles=[])
    plan = plan_drives(cfg)
    _, drives, _ = simulate_drives(cfg, plan)
    faults = [
        [] if pd.isna(f) else [FaultSpec(f, s, o)]
        for f, s, o in zip(plan["fault"], plan["severity"], plan["onset_s"], strict=True)
    ]
    fleet = vehsim.simulate_fleet(
        [vehsim.load_vehicle(v) for v in plan["vehicle"]],
        "hwfet",
        dt_s=cfg.dt_s,
        seed=cfg.seed,
        ambient_temp_c=30.0,
        start="cold",
        faults=faults,
    )
    ours = drives.to_pandas()
    for column in ("distance_km", "fuel_l", "final_coolant_temp_c", "brake_pad_wear_pct_delta"):
        assert ours[column].tolist() == fleet[column].tolist(), column
    assert [list(c) for c in ours["dtc_confirmed"]] == list(fleet["dtc_confirmed"])
    assert ours["mil_on"].tolist() == fleet["mil_on"].tolist()


def test_windows_carry_the_features_of_vehsim_features_and_the_diagnostics():
    cfg = _small(vehicles=["compact-sedan"], profiles=[], faults=["misfire_cylinder_1"])
    windows, drives, labels = simulate_drives(cfg, plan_drives(cfg))
    frame = windows.to_pandas()
    assert {"mean_speed_mps", "harsh_events_per_100km", "fuel_l_per_100km"} <= set(SPAN_COLUMNS)
    assert set(DIAGNOSTIC_FEATURES) <= set(frame.columns)
    # 60 s windows every 30 s: (start, end] with 60 samples each.
    assert (frame["window_end_s"] - frame["window_start_s"]).round(6).eq(60).all()
    assert frame["events"].eq(60).all()
    assert np.diff(frame.loc[frame.drive_id == 0, "window_end_s"]).round(6).tolist()[0] == 30
    misfiring = frame[(frame.drive_id == 0) & (frame.window_start_s >= 30)]
    healthy = frame[frame.drive_id == 1]
    assert misfiring["misfires_per_1000_rev"].min() > 10 * healthy["misfires_per_1000_rev"].max()
    assert drives.to_pandas().loc[0, "first_code"] == "P0301"
    # The labels: one row per window; a misfire shows in every window after its onset, and no
    # ground truth is in the windows.
    truth = labels.to_pandas()
    assert len(truth) == len(frame)
    assert truth.loc[truth.drive_id == 1, "fault"].isna().all()
    after = truth[(truth.drive_id == 0) & truth.fault_active]
    assert len(after) and after["fault_expressed"].all()
    assert not {"fault", "severity", "onset_s", "driver_profile"} & set(frame.columns)


def test_a_clogged_filter_shows_as_a_torque_shortfall_at_full_load():
    """At full load (pedal above 90 %, the engine above half its maximum speed) a healthy
    engine gives the torque the pedal asks of it; a clogged filter falls short by its loss,
    which grows with the square of engine speed, so the fitted slope is the filter's loss at
    rated speed. Windows without full load know neither figure."""
    from vehsim.physics.faults import AIR_FILTER_TORQUE_LOSS_FRAC

    cfg = _small(
        vehicles=["compact-sedan"], cycles=[], profiles=["aggressive"], profile_duration_s=300,
        faults=["clogged_air_filter"], severities=[0.5], onsets_s=[0],
    )  # fmt: skip
    windows, _, _ = simulate_drives(cfg, plan_drives(cfg))
    frame = windows.to_pandas()
    clogged, healthy = frame[frame.drive_id == 0], frame[frame.drive_id == 1]
    full = clogged["full_throttle_load_frac_mean"].notna()
    assert full.any() and (~full).any()
    assert (clogged["full_load_torque_achieved_frac"].notna() == full).all()
    assert healthy["full_load_torque_achieved_frac"].dropna().between(0.995, 1.005).all()
    assert clogged["full_load_torque_achieved_frac"].max() < 0.99
    slope = clogged["full_load_torque_loss_per_speed_sq"].dropna()
    assert np.allclose(slope, AIR_FILTER_TORQUE_LOSS_FRAC * 0.5, rtol=0.05)
    assert healthy["full_load_torque_loss_per_speed_sq"].dropna().abs().max() < 0.005


def test_a_fault_that_changes_nothing_is_hidden_in_its_windows():
    """A cooling fan that fails on udds never had to run, in the cold (-7 °C) or the heat
    (30 °C: ram air and short stops keep the coolant below the fan's switch-on): the windows
    are the healthy twin's, bit for bit, so the labels say the fault does not show. Where the
    fan is needed (a long idle in the heat) it does show: tests/core/test_fan_idle.py and
    test_a_dead_fan_shows_in_a_long_idle_in_the_heat."""
    cfg = _small(
        vehicles=["compact-sedan"], cycles=["udds"], profiles=[], ambient_temps_c=[-7, 30],
        faults=["cooling_fan_failure"], healthy=0,
    )  # fmt: skip
    plan = plan_drives(cfg)
    _, _, labels = simulate_drives(cfg, plan)
    truth = labels.to_pandas().merge(plan[["drive_id", "ambient_temp_c"]], on="drive_id")
    cold, hot = truth[truth.ambient_temp_c < 0], truth[truth.ambient_temp_c > 0]
    assert cold["fault_active"].any() and not cold["fault_expressed"].any()
    assert cold["fault_effect_rel"].eq(0).all()
    assert hot["fault_active"].any() and not hot["fault_expressed"].any()
    assert hot["fault_effect_rel"].eq(0).all()


# --- a queue at the end of every drive (idle_after_s) ----------------------------------------


def _queued(**changes) -> SweepConfig:
    doc = {
        "vehicles": ["compact-sedan"], "cycles": ["us06"], "profiles": ["sport"],
        "profile_duration_s": 120, "faults": [], "healthy": 1, "window_stride_s": 60,
        "idle_after_s": 180,
    }  # fmt: skip
    doc.update(changes)
    return _small(**doc)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-5, "idle_after_s: -5 s is outside 0 to 86400 s"),
        (90.5, "idle_after_s: whole seconds only"),
        ("long", "idle_after_s: 'long' is not a number"),
    ],
)
def test_a_bad_idle_names_the_field(value, message):
    with pytest.raises(ConfigError) as info:
        _queued(idle_after_s=value)
    assert message in str(info.value)


def test_the_queue_is_part_of_the_sweep_id():
    from dataclasses import asdict

    ids = {_queued(idle_after_s=s).sweep_id for s in (0, 180, 240)}
    assert len(ids) == 3
    for idle_s in (0, 180):
        cfg = _queued(idle_after_s=idle_s)
        assert config_from_mapping(asdict(cfg)).sweep_id == cfg.sweep_id


def test_queue_trace_pulls_up_at_a_comfortable_rate_and_stands():
    from vehsim.features import HARSH_BRAKE_MPS2
    from vehsim_pipelines.sweep import QUEUE_DECEL_MPS2, queue_trace

    trace = queue_trace(10.0, 60)
    assert trace.duration_s == 60 and trace.time_s[1] == 1.0
    assert trace.speed_mps[:4].tolist() == pytest.approx([10.0, 6.6, 3.2, 0.0])
    assert trace.speed_mps[3:].max() == 0.0 and trace.grade_frac.max() == 0.0
    assert -QUEUE_DECEL_MPS2 > HARSH_BRAKE_MPS2  # not a harsh braking
    assert queue_trace(0.0, 30).speed_mps.max() == 0.0


def test_every_drive_ends_standing_in_a_queue_with_the_engine_running():
    """Cycle and profile drives run ``idle_after_s`` longer, the car at rest with the engine
    idling; what the drivers did before is the same as without the queue, and a window that
    reaches into the queue has no driver profile."""
    cfg = _queued()
    plan = plan_drives(cfg)
    us06 = vehsim.load_cycle("us06").duration_s
    assert plan.set_index("driver")["duration_s"].to_dict() == {
        "cycle:us06": us06 + 180, "profile:sport": 120 + 180
    }  # fmt: skip
    windows, drives, labels = simulate_drives(cfg, plan)
    keys = ["drive_id", "window_index"]
    frame = windows.to_pandas().merge(labels.to_pandas()[[*keys, "driver_profile"]], on=keys)
    lengths = plan[["drive_id", "driver", "duration_s"]].rename(columns={"duration_s": "drive_s"})
    frame = frame.merge(lengths, on="drive_id")
    assert frame.groupby("drive_id")["window_end_s"].max().round(6).tolist() == [
        us06 + 180, 120 + 180
    ]  # fmt: skip
    # The last two minutes: standing, engine idling.
    queue = frame[frame["window_start_s"] >= frame["drive_s"] - 120 - 1e-3]
    assert len(queue) == 2 * len(plan) and queue["speed_kph_max"].max() == 0.0
    assert queue["engine_rpm_mean"].min() > 500
    plain = _queued(idle_after_s=0)
    before, before_drives, before_labels = simulate_drives(plain, plan_drives(plain))
    outside = "time_outside_tolerance_s"
    assert drives[outside].to_pylist() == before_drives[outside].to_pylist(), "queue followed"
    # Windows of the drivers' part equal those without the queue, bit for bit.
    driving = frame[frame["window_end_s"] <= frame["drive_s"] - 180 + 1e-3]
    columns = [c for c in before.column_names if c != "sweep_id"]
    assert len(driving) == before.num_rows
    assert driving[columns].reset_index(drop=True).equals(before.to_pandas()[columns])
    # The profile labels its windows up to the queue, not after.
    profile = frame[frame["driver"] == "profile:sport"]
    queued = profile["window_end_s"] > 120 + 1e-3
    assert profile.loc[~queued, "driver_profile"].eq("sport").all() and (~queued).any()
    assert profile.loc[queued, "driver_profile"].isna().all() and queued.any()
    assert before_labels.to_pandas()["driver_profile"].notna().sum() == (~queued).sum()


def test_a_dead_fan_shows_in_a_long_idle_in_the_heat():
    """A hot car standing at 45 °C switches its fan on within 15 minutes (docs/faults.md);
    with a dead fan its windows then differ from the healthy twin's, and only then."""
    cfg = _queued(
        cycles=[], profiles=["eco"], profile_duration_s=60, idle_after_s=1200, starts=["hot"],
        ambient_temps_c=[45], faults=["cooling_fan_failure"], onsets_s=[0], healthy=1,
    )  # fmt: skip
    windows, drives, labels = simulate_drives(cfg, plan_drives(cfg))
    frame = windows.to_pandas().merge(labels.to_pandas(), on=["drive_id", "window_index"])
    dead, healthy = frame[frame.drive_id == 0], frame[frame.drive_id == 1]
    assert healthy["fan_on_frac"].max() > 0 and healthy["coolant_sensor_c_max"].max() < 104
    fan_on = dead["fan_on_frac"] > 0
    assert fan_on.any() and dead.loc[fan_on, "fault_expressed"].all()
    first_on = dead.loc[fan_on, "window_end_s"].min()
    assert not dead.loc[dead["window_end_s"] < first_on - 60, "fault_expressed"].any()
    assert dead["coolant_sensor_c_max"].max() > healthy["coolant_sensor_c_max"].max() + 5


def test_executors_rebuild_the_queued_sweep_from_its_json_document():
    """What ``mapInArrow`` ships to an executor (the config as JSON) gives the same rows."""
    from dataclasses import asdict

    from vehsim_pipelines.sweep import _simulate_slices

    cfg = _queued(cycles=[], profile_duration_s=60, idle_after_s=60)
    doc = json.loads(json.dumps(asdict(cfg)))
    out = pa.Table.from_batches(
        list(_simulate_slices(doc, 1, iter([pa.record_batch([pa.array([0])], names=["id"])])))
    )
    windows, _, _ = simulate_drives(cfg, plan_drives(cfg))
    got = out.filter(pc.equal(out["kind"], "window")).select(windows.column_names)
    assert got.equals(windows) and got["sweep_id"][0].as_py() == cfg.sweep_id


# --- on Spark -------------------------------------------------------------------------------


def _assert_same(expected, actual) -> None:
    for name in ("windows", "drives", "labels"):
        want, got = getattr(expected, name), getattr(actual, name)
        assert got.num_rows == want.num_rows > 0, name
        assert got.equals(want), f"{name}: rows differ from the in-process fleet's"


@pytest.mark.integration
@pytest.mark.slow
def test_sweep_on_local_spark_equals_the_in_process_fleet(spark, tmp_path):
    from vehsim_pipelines.sweep import read_sweep, run_sweep

    settings = load_settings({"VEHSIM_HOME": str(tmp_path / "home")})
    cfg = load_sweep_config(SMOKE)
    seen = []
    summary = run_sweep(spark, settings, cfg, n_slices=5, progress=lambda d, n: seen.append(d))
    assert summary["drives"] == 12 and summary["slices"] == 5 and not summary["skipped"]
    assert seen[-1] == 5
    _assert_same(simulate_sweep(cfg), read_sweep(settings, cfg.sweep_id))
    versions = {k: v["version"] for k, v in summary["tables"].items()}
    again = run_sweep(spark, settings, cfg, n_slices=3)
    assert sorted(again["skipped"]) == ["sweep/drives", "sweep/labels", "sweep/windows"]
    assert {k: v["version"] for k, v in again["tables"].items()} == versions
    assert json.dumps(again)  # the summary is JSON


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_sweep_command_on_a_standalone_cluster_equals_the_in_process_fleet(
    tmp_path,
    spark_cluster,  # noqa: F811
):
    """The command line on a cluster (on local Spark the same job is tested in process, above)."""
    from vehsim_pipelines.sweep import read_sweep

    cfg = load_sweep_config(SMOKE)
    base = load_settings({"VEHSIM_HOME": str(tmp_path / "unused")})
    env = lake_env(base, tmp_path / "cluster")
    done = run_vehsim(
        ["sweep", "--config", str(SMOKE), "--master", spark_cluster.master_url, "-q"], env
    )
    summary = json.loads(done.stdout)
    assert summary["sweep_id"] == cfg.sweep_id and summary["drives"] == 12
    _assert_same(simulate_sweep(cfg), read_sweep(load_settings(env), cfg.sweep_id))
