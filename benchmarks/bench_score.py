"""Benchmark of live scoring: telemetry-to-prediction latency of ``vehsim score`` at 50 cars x 10 Hz.

On an embedded broker started here, two phases on the same load, each on its own topics:

1. **baseline**: the raw consume-publish loop, no window, no features, no model: a
   :class:`vehsim.stream.reader.LiveTopicReader` reads the telemetry and, for each car every
   10 s of its simulated time (from its first whole minute on), publishes a
   ``diagnostic.prediction`` at once through :class:`vehsim.stream.producer.EventPublisher`;
2. **vehsim score** (the command, as a process of its own) with a champion fault classifier,
   driving-style classifier and fuel regressor (random forests and gradient boosting on
   synthetic features) registered in a temporary MLflow store.

Each phase: ``DriveRuntime`` with ``--vehicles`` cars at ``--rate-hz`` in this process, as fast
as possible up to the first whole windows (60 s of simulated time), then paced at speed-up 1
for ``--settle-s`` plus ``--measure-s``. Latency of a prediction = the wall time a consumer of
the topic receives it minus ``telemetry_emitted_at`` (when the car published the window's last
reading); only predictions of telemetry emitted in the measured part count. Target: p95 <= 2 s.

Usage: ``python benchmarks/bench_score.py [--vehicles 50] [--rate-hz 10] [--measure-s 60]
[--settle-s 15]``. Prints a table and, last, a one-line JSON summary. (``--baseline-loop`` is the
baseline's process, started by the benchmark itself.)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

#: Latency target of the issue [s].
TARGET_P95_S = 2.0
#: Simulated time before the first whole windows [s] (the scorer's window, plus a step).
WARMUP_SIM_S = 61.0
#: Spacing of scored windows per car [s of simulated time]: vehsim score's default.
EVERY_S = 10.0
#: Window length of the baseline's schedule [s] (the scorer's).
WINDOW_S = 60.0

log = logging.getLogger("bench_score")


def _iso_s(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return None


# --- the baseline's process -----------------------------------------------------------------------
def baseline_loop() -> int:
    """Consume the telemetry topic and publish a prediction-shaped event per car every
    :data:`EVERY_S` of simulated time, with nothing in between; SIGTERM stops it."""
    from vehsim import events as ev
    from vehsim.config import load_settings
    from vehsim.stream.broker import resolve_bootstrap
    from vehsim.stream.producer import EventPublisher
    from vehsim.stream.reader import LiveTopicReader

    settings = load_settings()
    bootstrap = resolve_bootstrap(settings)
    records: queue.Queue = queue.Queue()

    class Reader(LiveTopicReader):
        def _handle(self, record) -> None:
            records.put(record.value)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_id = str(uuid.uuid4())
    publisher = EventPublisher(settings, run_id=f"baseline-{run_id}", bootstrap=bootstrap).start()
    reader = Reader(settings, bootstrap=bootstrap, topic=settings.telemetry_topic,
                    from_beginning=False, poll_interval_s=0.05).start(wait_s=60)  # fmt: skip
    print(f"baseline: reading {settings.telemetry_topic}", file=sys.stderr, flush=True)
    due: dict[tuple[str, str], float] = {}
    seq: dict[str, int] = {}
    published = 0
    try:
        while not stop.is_set():
            try:
                value = records.get(timeout=0.05)
            except queue.Empty:
                continue
            event = json.loads(value)
            if event.get("event_type") != ev.SIMULATION_RAW:
                continue
            key, t = (event["vehicle_id"], event["run_id"]), float(event["sim_time_s"])
            next_s = due.setdefault(key, t + WINDOW_S)
            if t < next_s - 0.05:
                continue
            due[key] = next_s + EVERY_S
            payload = {
                "fault": ev.NO_FAULT, "probability": None, "model": "baseline",
                "model_version": "0", "source_run_id": key[1], "window_start_s": t - WINDOW_S,
                "window_end_s": t, "window_end": None,
                "telemetry_emitted_at": event["emitted_at"],
            }  # fmt: skip
            n = seq.get(key[0], 0)
            seq[key[0]] = n + 1
            publisher.publish(
                ev.make_event(ev.DIAGNOSTIC_PREDICTION, key[0], run_id, n, t, payload)
            )
            published += 1
    finally:
        reader.close()
        final = publisher.close(timeout_s=30)
    print(json.dumps({"predictions": published, "spooled": final.pending}))
    return 0


# --- models for vehsim score ------------------------------------------------------------------------
def register_models(settings) -> dict[str, str]:
    """A champion fault classifier, style classifier and fuel regressor, trained on synthetic
    features (the latency does not depend on what they learnt, only on their size)."""
    import mlflow
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from skops.io import dumps, get_untrusted_types

    from vehsim.faults import FAULT_NAMES
    from vehsim_experiments.score import CHAMPION_ALIAS, DEFAULT_MODEL_NAMES, FAULT, FUEL, STYLE

    rng = np.random.default_rng(0)
    n = 2_000
    features = [
        "speed_kph_mean", "accel_pos_mps2_mean", "accel_mps2_std", "throttle_pct_mean",
        "engine_rpm_mean", "fuel_rate_lph_mean", "coolant_temp_c_mean", "idle_frac",
        "high_rpm_frac", "harsh_events_per_100km", "standing_frac", "mass_kg",
    ]  # fmt: skip
    X = pd.DataFrame({f: rng.uniform(0, 100, n) for f in features})
    models = {
        FAULT: RandomForestClassifier(n_estimators=100, random_state=0).fit(
            X, rng.choice(["none", *FAULT_NAMES], n)
        ),
        STYLE: RandomForestClassifier(n_estimators=100, random_state=0).fit(
            X, rng.choice(["eco", "normal", "aggressive"], n)
        ),
        FUEL: GradientBoostingRegressor(random_state=0).fit(
            X, 6 + 0.05 * X["harsh_events_per_100km"]
        ),
    }
    uri = settings.mlflow_tracking_uri
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = client.create_experiment("bench", (settings.home / "artifacts").as_uri())
    names = {}
    for role, model in models.items():
        name = DEFAULT_MODEL_NAMES[role]
        with mlflow.start_run(experiment_id=experiment):
            mlflow.log_param("target", "fuel_l_per_100km" if role == FUEL else role)
            info = mlflow.sklearn.log_model(
                model, name="model", signature=infer_signature(X, model.predict(X)),
                registered_model_name=name,
                skops_trusted_types=get_untrusted_types(data=dumps(model)),
                pip_requirements=["scikit-learn"],
            )  # fmt: skip
        client.set_registered_model_alias(name, CHAMPION_ALIAS, str(info.registered_model_version))
        names[role] = name
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    return names


# --- measuring ----------------------------------------------------------------------------------
class PredictionTimes:
    """Follows a telemetry topic from its beginning; keeps (receipt wall time, payload) of every
    ``diagnostic.prediction``."""

    def __init__(self, settings, bootstrap: str):
        from vehsim.stream.reader import LiveTopicReader

        self.received: list[tuple[float, dict]] = []
        received = self.received

        class Reader(LiveTopicReader):
            def _handle(self, record) -> None:
                now = time.time()
                if b'"diagnostic.prediction"' in record.value:
                    received.append((now, json.loads(record.value)["payload"]))

        self.reader = Reader(settings, bootstrap=bootstrap, topic=settings.telemetry_topic,
                             from_beginning=True, poll_interval_s=0.05)  # fmt: skip

    def latencies(self, since_s: float) -> list[float]:
        """Latencies [s] of the predictions of telemetry emitted from ``since_s`` on."""
        out = []
        for received_s, payload in list(self.received):
            sent_s = _iso_s(payload.get("telemetry_emitted_at"))
            if sent_s is not None and sent_s >= since_s:
                out.append(received_s - sent_s)
        return out


class _Lines:
    """Collects a child's stderr lines on a thread (so it never blocks on a full pipe)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def wait_for(self, text: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            if not self._thread.is_alive():
                return False
            time.sleep(0.1)
        return False

    def text(self) -> str:
        return "".join(self.lines[-40:])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def run_phase(kind: str, env: dict, args) -> dict:
    """One phase (``baseline`` or ``score``) on its own topics; returns its figures."""
    from vehsim.config import load_settings
    from vehsim.stream.broker import ensure_topics
    from vehsim.stream.runtime import DriveConfig, DriveRuntime, fleet

    env = {**env, "VEHSIM_TOPIC_PREFIX": f"bench{kind}{uuid.uuid4().hex[:6]}."}
    settings = load_settings(env)
    bootstrap = env["VEHSIM_KAFKA_BOOTSTRAP"]
    ensure_topics(settings, bootstrap)
    command = (
        [sys.executable, __file__, "--baseline-loop"]
        if kind == "baseline"
        else [sys.executable, "-m", "vehsim.cli", "score"]
    )
    measure = PredictionTimes(settings, bootstrap)
    measure.reader.start(wait_s=60)
    # the loop runs before the cars do, positioned at the topic's end, as a live service is
    loop = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    said = _Lines(loop.stderr)
    if not said.wait_for(": reading ", 300):
        loop.kill()
        raise RuntimeError(f"{kind} loop did not start:\n{said.text()}")
    runtime = DriveRuntime(
        DriveConfig(vehicles=fleet(args.vehicles), rate_hz=args.rate_hz, speedup=math.inf),
        settings, bootstrap=bootstrap, listen=False,
    )  # fmt: skip
    driver = threading.Thread(target=runtime.run, name="bench-drive", daemon=True)
    driver.start()
    try:
        while runtime.sim.time_s < WARMUP_SIM_S:
            if loop.poll() is not None:
                raise RuntimeError(f"{kind} loop ended early:\n{said.text()}")
            time.sleep(0.05)
        runtime.set_speedup(1.0)
        paced_wall, paced_sim = time.time(), runtime.sim.time_s
        print(f"  {kind}: paced at speed-up 1 from {paced_sim:.0f} s simulated", file=sys.stderr)
        time.sleep(args.settle_s + args.measure_s)
        wall_s, sim_s = time.time() - paced_wall, runtime.sim.time_s - paced_sim
        runtime.stop()
        driver.join(60)
        time.sleep(3.0)  # the last windows' predictions
        loop.send_signal(signal.SIGTERM)
        out = loop.stdout.read()
        loop.wait(timeout=120)
    finally:
        runtime.stop()
        if loop.poll() is None:
            loop.kill()
        measure.reader.close()
    if loop.returncode != 0:
        raise RuntimeError(f"{kind} loop failed ({loop.returncode}):\n{said.text()}")
    latencies = measure.latencies(paced_wall + args.settle_s)
    lines = out.strip().splitlines()
    own = json.loads(lines[-1]) if lines else {}
    return {
        "phase": kind,
        "predictions": len(latencies),
        "p50_s": round(_percentile(latencies, 50), 4) if latencies else None,
        "p95_s": round(_percentile(latencies, 95), 4) if latencies else None,
        "max_s": round(max(latencies), 4) if latencies else None,
        "real_time_factor": round(sim_s / wall_s, 3),
        "loop_summary": {
            k: own.get(k)
            for k in ("predictions", "skipped", "incomplete", "model_errors", "spooled")
            if k in own
        },  # fmt: skip
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=50)
    parser.add_argument("--rate-hz", type=float, default=10.0)
    parser.add_argument("--measure-s", type=float, default=60.0)
    parser.add_argument("--settle-s", type=float, default=15.0)
    parser.add_argument("--baseline-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    if args.baseline_loop:
        return baseline_loop()

    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker

    with tempfile.TemporaryDirectory(prefix="vehsim-bench-") as home:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("VEHSIM_") and k != "MLFLOW_TRACKING_URI"}  # fmt: skip
        env["VEHSIM_HOME"] = home
        env["VEHSIM_JARS_DIR"] = os.environ.get(
            "VEHSIM_JARS_DIR", str(Path(__file__).resolve().parents[1] / ".jars")
        )
        settings = load_settings(env)
        broker = EmbeddedBroker(settings)
        record = broker.start()
        env["VEHSIM_KAFKA_BOOTSTRAP"] = record.bootstrap
        try:
            print(f"broker {record.bootstrap}; registering models ...", file=sys.stderr)
            register_models(settings)
            phases = [run_phase(kind, env, args) for kind in ("baseline", "score")]
        finally:
            broker.stop()
    base, ours = phases
    load = (
        f"{args.vehicles} cars x {args.rate_hz:g} Hz = {args.vehicles * args.rate_hz:.0f} events/s"
    )
    print(f"\ntelemetry-to-prediction latency, {load}, {args.measure_s:g} s measured at speed-up 1")
    print(
        f"  {'':34s} {'predictions':>11s} {'p50 s':>8s} {'p95 s':>8s} {'max s':>8s} {'real time':>9s}"
    )
    for name, r in (
        ("baseline (consume-publish, no model)", base),
        ("vehsim score (3 models)", ours),
    ):
        cells = [
            f"{r[k]:8.3f}" if r[k] is not None else f"{'-':>8s}"
            for k in ("p50_s", "p95_s", "max_s")
        ]
        print(f"  {name:34s} {r['predictions']:11d} {' '.join(cells)} {r['real_time_factor']:9.3f}")
    met = ours["p95_s"] is not None and ours["p95_s"] <= TARGET_P95_S
    print(
        f"  target p95 <= {TARGET_P95_S:g} s: {'OK' if met else 'MISSED'}; scorer: {ours['loop_summary']}"
    )
    summary = {
        "bench": "score",
        "vehicles": args.vehicles,
        "rate_hz": args.rate_hz,
        "measure_s": args.measure_s,
        "baseline": base,
        "score": ours,
        "target_p95_s": TARGET_P95_S,
        "target_met": met,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
