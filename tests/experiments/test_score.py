"""Live scoring (``vehsim score``): checking events, windows, features as training computes them,
champion models from a registry, the events published, and (slow) a broker end to end."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vehsim import events as ev
from vehsim import features as fx
from vehsim.diagnostic_features import DIAGNOSTIC_FEATURES as DIAGNOSTIC_FEATURES_NAMES
from vehsim.errors import ConfigError

pytest.importorskip("mlflow", reason="needs the [ml] extra")

from vehsim_experiments import score as sc  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CLOCK0 = pd.Timestamp("2026-11-30T08:00:00")  # UTC, naive as Gold's event_time
MISFIRE = "misfire_cylinder_1"


# --- synthetic telemetry ----------------------------------------------------------------------------
def _payload(t: float, speed_kph: float, accel: float, odometer_km: float, fuel_l: float) -> dict:
    payload = {}
    for name, py_type in ev.RAW_PAYLOAD_FIELDS.items():
        if py_type is bool:
            payload[name] = True
        elif name in ev.PAYLOAD_RANGES:
            low, high = ev.PAYLOAD_RANGES[name]
            payload[name] = py_type(max(low, 0))
    payload.update(
        vehicle_speed_kph=speed_kph,
        accel_mps2=accel,
        odometer_km=odometer_km,
        fuel_used_l=fuel_l,
        engine_rpm=800.0 + 30.0 * speed_kph,
        gear=1 + int(speed_kph // 20),
        throttle_pct=min(100.0, 10.0 + 40.0 * max(accel, 0.0)),
        coolant_temp_c=min(90.0, 20.0 + t),
        oil_temp_c=min(95.0, 20.0 + t),
        ambient_temp_c=20.0,
        fuel_rate_lph=1.0,
        fuel_level_pct=50.0,
        vehicle_model="compact-sedan",
        driver_mode="sport",  # the driving style's label: must never reach a model
        sim_clock_utc=ev.utc_iso(CLOCK0.to_pydatetime() + timedelta(seconds=t)),
    )
    return payload


def telemetry(
    vehicle_id: str,
    run_id: str = "run-1",
    seconds: float = 150.0,
    rate_hz: float = 10.0,
    fuel_lph: float = 2.0,
    harsh_every_s: float | None = None,
) -> list[dict]:
    """``simulation.raw`` events of a car driving a 40 s speed wave (0-60 km/h), burning
    ``fuel_lph`` at speed, with a harsh acceleration every ``harsh_every_s``."""
    out = []
    odometer = fuel = 0.0
    n = int(round(seconds * rate_hz)) + 1
    for k in range(n):
        t = k / rate_hz
        speed = 30.0 - 30.0 * math.cos(2 * math.pi * t / 40.0)
        accel = (30.0 / 3.6) * (2 * math.pi / 40.0) * math.sin(2 * math.pi * t / 40.0)
        if harsh_every_s and k % int(harsh_every_s * rate_hz) == int(rate_hz):
            accel = 4.0
        if k:
            odometer += speed / 3600.0 / rate_hz
            fuel += (fuel_lph if speed > 1 else 0.5) / 3600.0 / rate_hz
        payload = _payload(t, speed, accel, odometer, fuel)
        out.append(ev.make_event(ev.SIMULATION_RAW, vehicle_id, run_id, k, t, payload))
    return out


def interleave(*streams: list[dict]) -> list[dict]:
    """Events of several cars in the order a broker would hand them over (by time)."""
    return sorted((e for s in streams for e in s), key=lambda e: (e["sim_time_s"], e["vehicle_id"]))


def encoded(evs: list[dict]) -> list[bytes]:
    return [ev.encode_event(e) for e in evs]


# --- 1. checking events -------------------------------------------------------------------------------
def test_a_telemetry_event_becomes_a_sample_and_other_types_are_ignored():
    event = telemetry("car-0", seconds=1)[3]
    sample = sc.parse_sample(ev.encode_event(event))
    assert (sample.vehicle_id, sample.run_id, sample.sim_time_s) == ("car-0", "run-1", 0.3)
    assert sample.values["vehicle_model"] == "compact-sedan"
    assert "driver_mode" not in sample.values
    assert sample.sim_clock_utc.startswith("2026-11-30T08:00:00.3")
    other = ev.make_event(ev.ENGINE_STARTED, "car-0", "run-1", 0, 0.0, {"cause": "driver"})
    assert sc.parse_sample(ev.encode_event(other)) is None


def _broken(change) -> bytes:
    event = telemetry("car-0", seconds=1)[1]
    change(event)
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"x" * (sc.MAX_EVENT_BYTES + 1), "too_large"),
        (b"{not json", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[" * 20_000 + b"]" * 20_000, "not_json"),  # deeper than the parser goes
        (b"[1, 2]", "not_an_object"),
        (b'{"event_type": 7}', "bad_envelope:event_type"),
        (_broken(lambda e: e.update(schema_version=2)), "unsupported_schema_version"),
        (_broken(lambda e: e.update(vehicle_id="")), "bad_envelope:vehicle_id"),
        (_broken(lambda e: e.pop("run_id")), "bad_envelope:run_id"),
        (_broken(lambda e: e.update(sim_time_s=-1)), "bad_envelope:sim_time_s"),
        (_broken(lambda e: e.update(sim_time_s="1")), "bad_envelope:sim_time_s"),
        (_broken(lambda e: e.update(payload=[])), "bad_envelope:payload"),
        (_broken(lambda e: e["payload"].pop("odometer_km")), "missing_field:odometer_km"),
        (_broken(lambda e: e["payload"].update(engine_rpm="fast")), "wrong_type:engine_rpm"),
        (_broken(lambda e: e["payload"].update(gear=True)), "wrong_type:gear"),
        (_broken(lambda e: e["payload"].update(vehicle_speed_kph=401)), "out_of_range:vehicle_speed_kph"),
        (_broken(lambda e: e["payload"].update(accel_mps2=float("nan"))), "out_of_range:accel_mps2"),
        (_broken(lambda e: e["payload"].update(engine_on=None)), "missing_field:engine_on"),
        (_broken(lambda e: e["payload"].update(vehicle_model=3)), "wrong_type:vehicle_model"),
    ],
)  # fmt: skip
def test_a_malformed_event_is_named_by_its_reason(value, reason):
    with pytest.raises(sc.BadEvent) as caught:
        sc.parse_sample(value)
    assert caught.value.reason == reason


def test_the_scorer_counts_bad_input_and_never_raises():
    """Every malformed event of the tests, the hostile corpus (telemetry and commands) and
    replays are skipped with a reason; the good events around them are scored."""
    spec = importlib.util.spec_from_file_location(
        "hostile_corpus", REPO / "tests/hostile/corpus.py"
    )
    corpus = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = corpus  # its dataclasses look their module up
    spec.loader.exec_module(corpus)
    hostile = [r.value for r in corpus.load(variables={"vehicle": "car-0", "run": "run-1"})]
    scorer = sc.Scorer(_NoModels())
    good = encoded(telemetry("car-0", seconds=70))
    for k, value in enumerate(good):
        scorer.feed(value)
        if k % 25 == 0:
            scorer.feed(hostile[(k // 25) % len(hostile)])
    for value in hostile:
        scorer.feed(value)
    for value in good[:50]:  # a replay of the run's start
        scorer.feed(value)
    stats = scorer.stats
    assert stats.read == len(good) + 50 + len(hostile) + math.ceil(len(good) / 25)
    assert stats.skipped["out_of_order"] >= 50  # the replay, and the corpus' repeated 10 s
    assert sum(stats.skipped.values()) + stats.telemetry + stats.ignored == stats.read
    assert stats.telemetry >= len(good)
    assert scorer.pending == 2  # windows ending at 60 s and 70 s: the run went on regardless
    (coaching,) = scorer.score()  # no model: no diagnosis, and coaching by the rule of thumb
    assert coaching["event_type"] == ev.DRIVER_COACHING and coaching["sim_time_s"] == 60.0
    assert coaching["payload"]["basis"] == "rule"


class _NoModels:
    models: dict = {}


# --- 2. windows -----------------------------------------------------------------------------------
def _samples(times: list[float]) -> list[sc.Sample]:
    return [sc.Sample("car", "run", t, "2026-11-30T08:00:00Z", {}) for t in times]


def test_a_window_is_due_every_step_once_a_whole_one_is_there():
    track = sc.Track("car", "run", every_s=10.0, sample_s=1.0)
    windows = []
    for sample in _samples([k / 10 for k in range(0, 1301)]):  # 10 Hz, 0 to 130 s
        window = track.add(sample)
        if window is not None:
            windows.append(window)
    assert [w.end_s for w in windows] == [60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 130.0]
    assert [w.coach for w in windows] == [True, False, False, False, False, False, True, False]
    first = windows[0]
    # one sample per second: the one before the window, then the window's 60
    assert [s.sim_time_s for s in first.samples] == [float(k) for k in range(0, 61)]
    assert (first.start_s, first.end_s) == (0.0, 60.0)
    assert track.kept == 131
    with pytest.raises(sc.BadEvent, match="out_of_order"):
        track.add(_samples([130.0])[0])


def test_a_gap_in_telemetry_skips_the_windows_it_swallowed():
    track = sc.Track("car", "run", every_s=10.0, sample_s=1.0)
    ends = [w.end_s for s in _samples([*range(0, 75), *range(200, 215)]) if (w := track.add(s))]
    assert ends == [60.0, 70.0, 200.0, 210.0]


@pytest.mark.parametrize(
    ("every_s", "sample_s"), [(7.0, 1.0), (0.0, 1.0), (120.0, 1.0), (0.5, 1.0), (10.0, 0.0)]
)
def test_bad_spacing_is_refused_with_what_is_allowed(every_s, sample_s):  # fmt: skip
    with pytest.raises(ConfigError, match="--every-s|--sample-s"):
        sc.check_spacing(every_s, sample_s)


# --- 3. features: the same functions as training -------------------------------------------------
def test_a_trailing_window_has_the_features_gold_computes_for_that_minute():
    """The window ending at 119 s holds the increments of the samples 60..119 s, as Gold's
    minute [60, 120) does (each sample carries the interval ending at it)."""
    evs = telemetry("car-0", seconds=200, rate_hz=1.0, harsh_every_s=25)
    live = sc.stream_features(evs, every_s=1.0, sample_s=1.0)
    samples = pd.DataFrame(
        [{**e["payload"], "vehicle_id": e["vehicle_id"], "run_id": e["run_id"],
          "sim_time_s": e["sim_time_s"]} for e in evs]
    )  # fmt: skip
    gold = fx.window_features(fx.with_sim_clock(samples.drop(columns="driver_mode"), CLOCK0))
    for end_s, start in ((119.0, "08:01:00"), (179.0, "08:02:00")):
        mine = live[live["window_end_s"] == end_s].iloc[0]
        theirs = gold[gold["window_start"] == pd.Timestamp(f"2026-11-30T{start}")].iloc[0]
        for name in [*fx.FEATURES, *fx.TARGETS]:
            if name in fx.VEHICLE_FEATURES or name == "power_to_mass_w_per_kg":
                continue  # the live windows know the vehicle's spec; this Gold call was not told
            a, b = mine[name], theirs[name]
            assert (pd.isna(a) and pd.isna(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12), name
        assert mine["duration_s"] == 60.0 and mine["events"] == 60
        assert mine["harsh_accel_count"] >= 2
    assert live["mass_kg"].notna().all()  # the shipped vehicle's spec, from vehicle_model


def test_ground_truth_never_reaches_the_features():
    evs = telemetry("car-0", seconds=70, rate_hz=1.0)
    features = sc.stream_features(evs)
    assert features["driver_mode"].isna().all() and features["driver_profile"].isna().all()


# --- 4. coaching ----------------------------------------------------------------------------------
def test_the_rule_of_thumb():
    calm, aggressive = fx.STYLE_LIMITS_PER_100KM
    assert sc.rule_excess_fuel_pct(0.0) == 0.0
    assert sc.rule_excess_fuel_pct(calm) == 0.0
    at_limit = 100.0 * (1.0 / (1.0 - sc.AGGRESSIVE_MILEAGE_LOSS) - 1.0)
    assert sc.rule_excess_fuel_pct(aggressive) == pytest.approx(at_limit)  # 11.1 %
    assert sc.rule_excess_fuel_pct(10 * aggressive) == pytest.approx(at_limit)
    halfway = 100.0 * (1.0 / (1.0 - sc.AGGRESSIVE_MILEAGE_LOSS / 2) - 1.0)
    assert sc.rule_excess_fuel_pct((calm + aggressive) / 2) == pytest.approx(halfway)


def test_a_trip_sums_its_minutes_and_says_what_its_estimate_rests_on():
    trip = sc.Trip()
    minute = {"distance_km": 0.05, "fuel_used_l": 0.004, "harsh_accel_count": 1,
              "harsh_brake_count": 0}  # fmt: skip
    trip.add(minute)
    assert trip.coaching() is None  # 50 m: too short to say anything
    trip.add(minute)
    rule = trip.coaching()
    assert rule["basis"] == "rule" and rule["harsh_accel_count"] == 2
    assert rule["fuel_l_per_100km"] == pytest.approx(8.0)
    assert rule["excess_fuel_pct"] == pytest.approx(
        sc.rule_excess_fuel_pct(2 / 0.1 * 100), abs=0.01
    )
    assert rule["habit"] == "harsh_acceleration"
    assert rule["advice"] == "harsh acceleration: about 11 % more fuel on this trip"

    modelled = sc.Trip()
    for _ in range(4):
        modelled.add(minute, 10.0, 8.0, ("vehsim-fuel", "3"))
    estimate = modelled.coaching()
    assert estimate["basis"] == "model" and estimate["excess_fuel_pct"] == pytest.approx(25.0)
    assert (estimate["fuel_l_per_100km"], estimate["eco_fuel_l_per_100km"]) == (10.0, 8.0)
    assert (estimate["fuel_model"], estimate["fuel_model_version"]) == ("vehsim-fuel", "3")
    assert estimate["advice"] == "harsh acceleration: about 25 % more fuel on this trip"


def test_advice_names_the_worse_habit_or_smooth_driving():
    assert sc.advice(12.4, 1, 3) == (
        "harsh_braking",
        "harsh braking: about 12 % more fuel on this trip",
    )
    assert sc.advice(0.2, 3, 0)[0] == "smooth"
    assert sc.advice(30.0, 0, 0)[0] == "smooth"  # nothing harsh: not the driver's habit


# --- 5. events ------------------------------------------------------------------------------------
def _window(coach: bool = False, clock: bool = True) -> sc.Window:
    samples = tuple(
        sc.Sample("car-0", "run-1", float(t), "2026-11-30T08:01:00.500000Z", {},
                  "2026-11-30T08:01:00.000000Z" if clock else None)
        for t in range(0, 61)
    )  # fmt: skip
    return sc.Window("car-0", "run-1", 0.0, 60.0, samples, coach)


def _model(role: str, name: str = "m") -> sc.ChampionModel:
    return sc.ChampionModel(role, name, "4", ("speed_kph_mean",), predictor=None)


def test_a_prediction_event_follows_the_schema():
    event = sc.prediction_event(
        "score-run", 0, _window(), _model(sc.FAULT, "vehsim-fault"), MISFIRE, 0.87654321
    )
    assert ev.schema_errors(event) == []
    assert event["event_type"] == "diagnostic.prediction" and event["run_id"] == "score-run"
    assert event["vehicle_id"] == "car-0" and event["sim_time_s"] == 60.0
    assert event["payload"] == {
        "fault": MISFIRE, "probability": 0.8765, "model": "vehsim-fault", "model_version": "4",
        "source_run_id": "run-1", "window_start_s": 0.0, "window_end_s": 60.0,
        "window_end": "2026-11-30T08:01:00.000000Z",
        "telemetry_emitted_at": "2026-11-30T08:01:00.500000Z",
    }  # fmt: skip
    healthy = sc.prediction_event("r", 1, _window(clock=False), _model(sc.FAULT), "healthy", None)
    assert ev.schema_errors(healthy) == []
    assert healthy["payload"]["fault"] == "none" and healthy["payload"]["probability"] is None
    assert healthy["payload"]["window_end"] is None


def test_fault_labels_as_published():
    assert [sc.fault_name(x) for x in (None, float("nan"), "healthy", "None", "", MISFIRE)] == [
        "none", "none", "none", "none", "none", MISFIRE,
    ]  # fmt: skip


def test_a_coaching_event_follows_the_schema():
    trip = sc.Trip(distance_km=30.0, fuel_l=2.4, harsh_accel=1)  # 3.3 per 100 km: calm
    style = (_model(sc.STYLE, "vehsim-driving-style"), "aggressive", 0.9)
    event = sc.coaching_event("score-run", 3, _window(coach=True), trip.coaching(), style)
    assert ev.schema_errors(event) == []
    payload = event["payload"]
    assert payload["basis"] == "rule" and payload["habit"] == "smooth"
    assert payload["excess_fuel_pct"] == 0.0 and payload["fuel_l_per_100km"] == 8.0
    assert payload["style"] == "aggressive" and payload["style_model_version"] == "4"
    plain = sc.coaching_event("r", 0, _window(True, clock=False), trip.coaching())
    assert ev.schema_errors(plain) == [] and plain["payload"]["style"] is None


# --- 6. models from a registry --------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry(tmp_path_factory, monkeypatch_module):
    """A private MLflow tracking store (sqlite) and a helper registering scikit-learn models."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from skops.io import dumps, get_untrusted_types

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    monkeypatch_module.setenv("MLFLOW_TRACKING_URI", uri)  # restored afterwards
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = client.create_experiment("score-tests", artifact_location=(root / "a").as_uri())

    def register(name, model, X, target=None, alias=True):
        with mlflow.start_run(experiment_id=experiment):
            if target:
                mlflow.log_param("target", target)
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(X, model.predict(X)),
                registered_model_name=name,
                skops_trusted_types=get_untrusted_types(data=dumps(model)),
                pip_requirements=["scikit-learn"],
            )
        version = str(info.registered_model_version)
        if alias:
            client.set_registered_model_alias(name, sc.CHAMPION_ALIAS, version)
        return version

    return type("Registry", (), {"uri": uri, "client": client, "register": staticmethod(register)})


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


FAULT_FEATURES = ["fuel_rate_lph_mean", "speed_kph_mean"]


def _fault_model():
    """A classifier of synthetic windows: 2 L/h at speed is healthy, 4 L/h a misfire."""
    from sklearn.ensemble import RandomForestClassifier

    rows = [
        sc.stream_features(telemetry(f"car-{k}", f"run-{k}", 200, 1.0, fuel)).assign(
            label="none" if fuel < 3 else MISFIRE
        )
        for k, fuel in enumerate((2.0, 2.2, 4.0, 4.4))
    ]
    frame = pd.concat(rows, ignore_index=True)
    X = frame[FAULT_FEATURES]
    return RandomForestClassifier(n_estimators=20, random_state=0).fit(X, frame["label"]), X


def _fuel_model(features: list[str]):
    """A fuel regressor: 6 L/100 km plus 0.1 per harsh event per 100 km."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({f: rng.uniform(0, 100, 50) for f in features})
    y = 6.0 + 0.1 * X[features[0]]
    return LinearRegression().fit(X, y), X


def test_champions_load_refuse_and_follow_their_alias(registry):
    model, X = _fault_model()
    name = f"fault-{uuid.uuid4().hex[:6]}"
    champions = sc.ChampionSet(registry.uri, {sc.FAULT: name, sc.STYLE: "no-such-model"})
    assert champions.refresh() == [] and champions.models == {}
    assert "no no-such-model@champion" in champions.problems[sc.STYLE]

    registry.register(name, model, X)
    changes = champions.refresh()
    assert changes == [f"fault model {name}@champion: version 1 loaded (2 features)"]
    fault = champions.models[sc.FAULT]
    assert fault.inputs == tuple(FAULT_FEATURES) and fault.uri == f"models:/{name}/1"
    labels, probabilities = fault.predict(X.iloc[[0, -1]])
    assert list(labels) == ["none", MISFIRE] and (probabilities > 0.5).all()
    assert champions.refresh() == []  # nothing moved, nothing reloaded

    registry.register(name, model, X)  # version 2 takes the alias
    assert champions.refresh() == [f"fault model {name}@champion: 1 -> 2 loaded (2 features)"]
    registry.client.delete_registered_model_alias(name, sc.CHAMPION_ALIAS)
    assert champions.refresh() == [f"fault model {name}: alias champion gone, not applied"]
    assert champions.models == {}


def test_a_model_that_reads_ground_truth_or_unknown_features_is_refused(registry):
    from sklearn.tree import DecisionTreeClassifier

    for column, message in (("driver_mode", "ground truth"), ("misfire_count", "do not give")):
        X = pd.DataFrame({"speed_kph_mean": [1.0, 2.0], column: [0.0, 1.0]})
        name = f"bad-{uuid.uuid4().hex[:6]}"
        registry.register(name, DecisionTreeClassifier().fit(X, ["a", "b"]), X)
        champions = sc.ChampionSet(registry.uri, {sc.STYLE: name})
        (line,) = champions.refresh()
        assert message in line and column in line and champions.models == {}
    with pytest.raises(ConfigError, match="no input signature"):
        sc.check_inputs("m", "1", None)


def test_the_scorer_diagnoses_each_car_and_coaches_every_minute(registry):
    fault_model, X = _fault_model()
    fault_name = f"fault-{uuid.uuid4().hex[:6]}"
    registry.register(fault_name, fault_model, X)
    fuel, Xf = _fuel_model(["harsh_events_per_100km", "speed_kph_mean"])
    fuel_name = f"fuel-{uuid.uuid4().hex[:6]}"
    registry.register(fuel_name, fuel, Xf, target="fuel_l_per_100km")
    champions = sc.ChampionSet(registry.uri, {sc.FAULT: fault_name, sc.FUEL: fuel_name})
    champions.refresh()
    assert champions.models[sc.FUEL].eco_basis

    scorer = sc.Scorer(champions, run_id="score-1", clock=lambda: 1e9)
    stream = interleave(
        telemetry("healthy", seconds=130, fuel_lph=2.1),
        telemetry("sick", seconds=130, fuel_lph=4.2, harsh_every_s=20),
    )
    out = []
    for k, value in enumerate(encoded(stream)):
        scorer.feed(value)
        if k % 100 == 0:
            scorer.feed(b"garbage")
            out += scorer.score()
    out += scorer.score()
    assert all(ev.schema_errors(e) == [] for e in out)
    predictions = [e for e in out if e["event_type"] == ev.DIAGNOSTIC_PREDICTION]
    by_car = {
        v: [e["payload"]["fault"] for e in predictions if e["vehicle_id"] == v]
        for v in ("healthy", "sick")
    }
    assert by_car == {"healthy": ["none"] * 8, "sick": [MISFIRE] * 8}  # windows end 60..130 s
    assert {e["payload"]["model"] for e in predictions} == {fault_name}
    coaching = [e for e in out if e["event_type"] == ev.DRIVER_COACHING]
    assert [(e["vehicle_id"], e["sim_time_s"]) for e in coaching] == [
        ("healthy", 60.0), ("sick", 60.0), ("healthy", 120.0), ("sick", 120.0)
    ]  # fmt: skip
    sick = [e["payload"] for e in coaching if e["vehicle_id"] == "sick"]
    assert sick[-1]["basis"] == "model" and sick[-1]["fuel_model"] == fuel_name
    assert sick[-1]["harsh_accel_count"] >= 5 and sick[-1]["habit"] == "harsh_acceleration"
    assert sick[-1]["excess_fuel_pct"] > 1.0
    assert sick[-1]["eco_fuel_l_per_100km"] == pytest.approx(6.0 + 0.0, abs=0.01)
    healthy = [e["payload"] for e in coaching if e["vehicle_id"] == "healthy"]
    assert healthy[-1]["habit"] == "smooth" and healthy[-1]["excess_fuel_pct"] == 0.0
    for car in ("healthy", "sick"):  # one gap-free sequence per car in the scorer's run
        seqs = [e["seq"] for e in out if e["vehicle_id"] == car]
        assert seqs == list(range(len(seqs)))
    assert scorer.stats.skipped == {"not_json": math.ceil(len(stream) / 100)}
    assert scorer.stats.predictions == 16 and scorer.stats.coaching == 4
    assert len(scorer.stats.latencies_s) == 16


def test_a_local_scorer_needs_no_broker(registry):
    fault_model, X = _fault_model()
    name = f"fault-{uuid.uuid4().hex[:6]}"
    assert sc.local_scorer(registry.uri, {sc.FAULT: name}) is None  # no champion yet
    registry.register(name, fault_model, X)
    scorer = sc.local_scorer(registry.uri, {sc.FAULT: name}, every_s=30.0)
    for value in encoded(telemetry("car-0", seconds=95, fuel_lph=4.3)):
        scorer.feed(value)
    faults = [e["payload"]["fault"] for e in scorer.score() if "fault" in e["payload"]]
    assert faults == [MISFIRE, MISFIRE]  # windows ending at 60 s and 90 s


def test_no_champion_at_all_exits_1_with_the_reason(tmp_path):
    env = _env(tmp_path, VEHSIM_KAFKA_BOOTSTRAP="127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "score", "--quiet"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "no champion model to apply" in result.stderr
    assert (
        "no vehsim-fault@champion" in result.stderr and "no vehsim-fuel@champion" in result.stderr
    )
    bad = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "score", "--every-s", "7"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and "--every-s must divide" in bad.stderr


# --- 7. the command line, and end to end: a broker, a misfiring car, vehsim score ----------------
def _env(tmp_path, **extra) -> dict:
    """This process's environment for a ``vehsim`` child: its own VEHSIM_HOME, no MLflow store
    or Kafka of the caller's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VEHSIM_") and k != "MLFLOW_TRACKING_URI"
    }
    env["VEHSIM_HOME"] = str(tmp_path / "home")
    env["VEHSIM_JARS_DIR"] = os.environ.get("VEHSIM_JARS_DIR", str(REPO / ".jars"))
    env.update(extra)
    return env


def _simulated_events(faults: list[tuple[str, float] | None], seconds: float) -> list[dict]:
    """1 Hz ``simulation.raw`` events of compact sedans on the UDDS, as ``vehsim drive`` makes
    them (same vehicle, driver, ambient and start), one car per entry of ``faults``."""
    import vehsim
    from vehsim.faults import FaultSpec
    from vehsim.telemetry import raw_payload

    sim = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")] * len(faults), dt_s=0.05)
    sim.set_driver(slice(None), "cycle:udds")
    for i, fault in enumerate(faults):
        if fault is not None:
            sim.inject_fault(i, FaultSpec(fault[0], fault[1], 0.0))
    out = []
    for k in range(int(seconds)):
        sim.advance(1.0)
        snapshot = sim.snapshot()
        for i in range(len(faults)):
            payload = raw_payload(snapshot, i)
            out.append(
                ev.make_event(ev.SIMULATION_RAW, f"train-{i}", "train", k, sim.time_s, payload)
            )
    return out


def train_fault_model(seconds: float = 240.0):
    """A small fault classifier trained on windows of simulated drives, healthy and misfiring,
    computed by :func:`vehsim_experiments.score.stream_features` (what live scoring computes)."""
    from sklearn.ensemble import RandomForestClassifier

    faults = [None, (MISFIRE, 0.5), (MISFIRE, 0.8), (MISFIRE, 1.0)]
    frame = sc.stream_features(_simulated_events(faults, seconds))
    frame["label"] = ["none" if v == "train-0" else MISFIRE for v in frame["vehicle_id"]]
    features = ["fuel_rate_lph_mean", "throttle_pct_mean", "engine_rpm_mean", "speed_kph_mean"]
    X = frame[features]
    return RandomForestClassifier(n_estimators=30, random_state=0).fit(X, frame["label"]), X


@pytest.mark.slow
@pytest.mark.integration
def test_a_misfiring_car_is_diagnosed_live(kafka_broker, tmp_path, monkeypatch):
    """Acceptance: broker, ``vehsim drive --fault misfire_cylinder_1:0.8``, ``vehsim score`` -> a
    ``diagnostic.prediction`` event naming the fault; SIGTERM stops the scorer cleanly."""
    from vehsim.config import load_settings
    from vehsim.stream.follow import TelemetryFollower

    env = _env(
        tmp_path,
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"score{uuid.uuid4().hex[:8]}.",
    )
    settings = load_settings(env)
    (tmp_path / "home").mkdir()
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from skops.io import dumps, get_untrusted_types

    model, X = train_fault_model()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.mlflow_tracking_uri)  # restored afterwards
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = MlflowClient(settings.mlflow_tracking_uri)
    experiment = client.create_experiment("faults", (tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(X, model.predict(X)),
            registered_model_name=sc.DEFAULT_MODEL_NAMES[sc.FAULT],
            skops_trusted_types=get_untrusted_types(data=dumps(model)),
            pip_requirements=["scikit-learn"],
        )  # fmt: skip
    client.set_registered_model_alias(
        sc.DEFAULT_MODEL_NAMES[sc.FAULT], sc.CHAMPION_ALIAS, str(info.registered_model_version)
    )

    found: list[dict] = []
    diagnosed = threading.Event()

    def keep(event: dict) -> None:
        if event.get("event_type") == ev.DIAGNOSTIC_PREDICTION:
            if event["payload"].get("fault") == MISFIRE:
                found.append(event)
                diagnosed.set()

    follower = TelemetryFollower(settings, from_beginning=True, on_event=keep).start(wait_s=0)
    vehsim_cli = [sys.executable, "-m", "vehsim.cli"]
    scorer = subprocess.Popen(
        [*vehsim_cli, "score", "--from-beginning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # 2 Hz instead of the default 10: the scorer keeps one sample a second either way
        drive = subprocess.run(
            [*vehsim_cli, "drive", "--fault", f"{MISFIRE}:0.8", "--speedup", "max",
             "--duration-s", "100", "--rate-hz", "2", "--quiet"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert drive.returncode == 0, drive.stderr
        run_id = json.loads(drive.stdout.strip().splitlines()[-1])["run_id"]
        deadline = time.monotonic() + 120
        while not diagnosed.wait(0.5) and time.monotonic() < deadline and scorer.poll() is None:
            pass
        scorer.send_signal(signal.SIGTERM)
        out, err = scorer.communicate(timeout=60)
    finally:
        follower.close()
        if scorer.poll() is None:
            scorer.kill()
    assert found, f"no diagnostic.prediction naming {MISFIRE}; scorer said:\n{err}"
    event = found[0]
    assert ev.schema_errors(event) == []
    assert (
        event["vehicle_id"] == "compact-sedan-000" and event["payload"]["source_run_id"] == run_id
    )
    assert event["payload"]["model"] == "vehsim-fault" and event["payload"]["model_version"] == "1"
    assert scorer.returncode == 0, err
    assert "SIGTERM, stopping" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["predictions"] >= 1 and summary["skipped"] == {} and summary["spooled"] == 0


# --- 8. diagnostic features: live as the sweeps compute them for training -----------------------
def _drive_records(faults: list[tuple[str, float]], seconds: int):
    """One compact sedan per fault on the UDDS at 1 Hz: its ``simulation.raw`` events and the
    kernel's state records ``[n_samples, n_vehicles, n_state]`` of the same instants (the
    sweeps' input), the initial state first."""
    import vehsim
    from vehsim.faults import FaultSpec
    from vehsim.telemetry import raw_payload

    car = vehsim.load_vehicle("compact-sedan")
    sim = vehsim.Simulator([car] * len(faults), dt_s=0.05)
    sim.set_driver(slice(None), "cycle:udds")
    for i, (name, severity) in enumerate(faults):
        sim.inject_fault(i, FaultSpec(name, severity, 0.0))
    events, records = [], []
    for k in range(seconds + 1):
        if k:
            sim.advance(1.0)
        records.append(sim.state.copy())
        snapshot = sim.snapshot()
        for i in range(len(faults)):
            events.append(
                ev.make_event(
                    ev.SIMULATION_RAW, f"car-{i}", "run", k, sim.time_s, raw_payload(snapshot, i)
                )
            )
    ambient = sim.snapshot()["ambient_temp_c"]
    return car, events, np.stack(records), ambient


def test_live_diagnostic_features_are_the_sweeps():
    """A window's diagnostic features from live telemetry equal what the sweeps compute from
    the kernel's records of the same drive (what the OBD fault model is trained on), to the
    payload's rounding; a window without the controllers' readings has none."""
    from vehsim.diagnostic_features import DIAGNOSTIC_FEATURES, diagnostic_features
    from vehsim_pipelines.sweep import _diagnostic_channels, window_ends

    faults = [(MISFIRE, 0.8), ("gearbox_slip", 0.8), ("speed_sensor_dropout", 1.0)]
    car, events, full, ambient = _drive_records(faults, seconds=300)
    live = sc.stream_features(events, every_s=30.0, sample_s=1.0)
    ends = window_ends(full.shape[0], 30)
    sweep = diagnostic_features(_diagnostic_channels(full, ambient, [car] * len(faults)), ends)
    compared = 0
    for i in range(len(faults)):
        mine = live[live["vehicle_id"] == f"car-{i}"].set_index("window_end_s")
        for j, end in enumerate(ends):
            row = mine.loc[float(end)]
            for name in DIAGNOSTIC_FEATURES:
                a, b = row[name], sweep[name][i, j]
                same = (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=2e-3, abs=2e-2)
                assert same, (faults[i], end, name, a, b)
                compared += not np.isnan(b)
    assert compared > 200
    slipping = live[live["vehicle_id"] == "car-1"]["gear_slip_frac_max"]
    assert slipping.max() > 0.05  # the faults show: the gearbox slips, the misfires count
    assert live[live["vehicle_id"] == "car-0"]["misfires_per_1000_rev"].max() > 1.0
    # an older producer without the controllers' readings: the features are unknown, not 0
    for event in events:
        event["payload"].pop("gearbox_input_rpm")
    assert live[sc.DIAGNOSTICS_KNOWN].all()
    bare = sc.stream_features(events, every_s=30.0, sample_s=1.0)
    assert bare[list(DIAGNOSTIC_FEATURES)].isna().all().all()
    assert not bare[sc.DIAGNOSTICS_KNOWN].any() and bare["speed_kph_mean"].notna().all()


def test_which_windows_a_model_scores():
    """A model that takes missing values scores windows with undefined figures (it learnt from
    them); another skips them; none scores a window whose controller readings are unknown."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    columns = ["speed_kph_mean", "coast_accel_mps2_mean"]
    X = pd.DataFrame({columns[0]: [1.0, 2.0, 3.0, 4.0], columns[1]: [np.nan, -0.3, np.nan, -0.9]})
    y = ["none", "none", MISFIRE, MISFIRE]
    windows = X.assign(**{sc.DIAGNOSTICS_KNOWN: [True, True, True, False]})
    scorer = sc.Scorer(sc.ChampionSet("sqlite:///unused.db", {}))
    for estimator, scored in (
        (HistGradientBoostingClassifier(max_iter=5), [0, 1, 2]),
        (LogisticRegression(), [1]),
    ):
        fitted = estimator.fit(X.fillna(0.0) if scored == [1] else X, y)
        model = sc.ChampionModel(sc.FAULT, "m", "1", tuple(columns), fitted, fitted)
        assert sorted(scorer._predict(model, windows)) == scored, type(estimator).__name__
    # a fuel regressor is trained on complete rows: given complete windows only
    fuel = HistGradientBoostingRegressor(max_iter=5).fit(X, [5.0, 6.0, 7.0, 8.0])
    model = sc.ChampionModel(sc.FUEL, "f", "1", tuple(columns), fuel, fuel)
    assert not model.takes_missing and sorted(scorer._predict(model, windows)) == [1]


def test_a_fault_model_on_the_obd_features_is_accepted():
    assert set(DIAGNOSTIC_FEATURES_NAMES) <= sc.AVAILABLE_COLUMNS
    sc.check_inputs("vehsim-fault-obd", "1", ["speed_kph_mean", *DIAGNOSTIC_FEATURES_NAMES])
    bad = {**_payload(0.0, 10.0, 0.0, 0.0, 0.0), "misfire_count": "3"}
    with pytest.raises(sc.BadEvent, match="wrong_type:misfire_count"):
        sc.parse_sample(
            ev.encode_event(ev.make_event(ev.SIMULATION_RAW, "car", "run", 0, 0.0, bad))
        )
