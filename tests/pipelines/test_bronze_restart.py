"""Acceptance 1: ``kill -9`` the Bronze process mid-stream, restart it, lose and repeat nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _batch_ids(directory: Path) -> set[int]:
    return (
        {int(p.name) for p in directory.iterdir() if p.name.isdigit()}
        if directory.is_dir()
        else set()
    )


class _Producer(threading.Thread):
    """Sends numbered JSON events at a steady rate until stopped; remembers where each landed."""

    def __init__(self, settings, rate_hz: float):
        super().__init__(daemon=True)
        self.settings = settings
        self.period_s = 1.0 / rate_hz
        self.stop_event = threading.Event()
        self.futures = []

    def run(self) -> None:
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, linger_ms=5)
        n = 0
        next_t = time.monotonic()
        while not self.stop_event.is_set():
            value = b'{"n": %d}' % n
            self.futures.append((producer.send(self.settings.telemetry_topic, value=value), value))
            n += 1
            next_t += self.period_s
            time.sleep(max(0.0, next_t - time.monotonic()))
        producer.flush()
        producer.close()

    def sent(self) -> dict[tuple[int, int], bytes]:
        out = {}
        for future, value in self.futures:
            meta = future.get(timeout=30)
            out[(meta.partition, meta.offset)] = value
        return out


def _tail(path: Path, n: int = 40) -> str:
    lines = [
        line
        for line in path.read_text(errors="replace").splitlines()
        if not line.startswith("\tat ") and "Stage " not in line
    ]
    return "\n".join(lines[-n:])


def test_kill_9_mid_batch_then_restart_lands_every_record_exactly_once(kafka_broker, tmp_path):
    from deltalake import DeltaTable
    from kafka import KafkaConsumer, TopicPartition

    from vehsim.config import load_settings
    from vehsim.stream.broker import ensure_topics
    from vehsim_pipelines import bronze

    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env.update(
        VEHSIM_HOME=str(tmp_path / "home"),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"r{uuid.uuid4().hex[:8]}.",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    settings = load_settings(env)
    ensure_topics(settings)
    checkpoint = bronze.checkpoint_path(settings)
    command = [sys.executable, "-m", "vehsim.cli", "pipeline", "bronze"]

    producer = _Producer(settings, rate_hz=100)
    producer.start()
    log1 = tmp_path / "bronze-1.log"
    with log1.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--trigger-s", "0.5", "--max-offsets-per-trigger", "200"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Spark's JVM and Python workers too
        )
    try:
        # Kill while a planned batch is not yet committed, after two committed batches.
        deadline = time.monotonic() + 300
        in_flight = None
        while time.monotonic() < deadline and proc.poll() is None:
            planned, done = _batch_ids(checkpoint / "offsets"), _batch_ids(checkpoint / "commits")
            if len(done) >= 2 and max(planned) not in done:
                os.killpg(proc.pid, signal.SIGKILL)
                in_flight = max(planned)
                break
            time.sleep(0.01)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    assert in_flight is not None, f"the stream never got going:\n{_tail(log1)}"
    assert proc.returncode == -signal.SIGKILL
    assert in_flight not in _batch_ids(checkpoint / "commits"), "killed before its commit marker"

    time.sleep(1.0)  # the topic keeps growing while Bronze is down
    producer.stop_event.set()
    producer.join(30)
    sent = producer.sent()

    restart = subprocess.run(
        [*command, "--available-now"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert restart.returncode == 0, restart.stderr[-4000:]
    assert "bronze: done" in restart.stderr
    assert in_flight in _batch_ids(checkpoint / "commits"), "the interrupted batch was re-run"

    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, group_id=None)
    try:
        parts = [TopicPartition(settings.telemetry_topic, p) for p in range(3)]
        ends = consumer.end_offsets(parts)
    finally:
        consumer.close()
    table = DeltaTable(bronze.bronze_uri(settings)).to_pyarrow_table(
        columns=["partition", "offset", "raw_event"]
    )
    keys = list(zip(table["partition"].to_pylist(), table["offset"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys)), "no (partition, offset) twice"
    for tp in parts:
        offsets = sorted(o for p, o in keys if p == tp.partition)
        assert offsets == list(range(ends[tp])), f"partition {tp.partition}: gap or extra"
    assert len(keys) == len(sent) > 0
    values = dict(zip(keys, table["raw_event"].to_pylist(), strict=True))
    assert {k: v.encode() for k, v in values.items()} == sent
