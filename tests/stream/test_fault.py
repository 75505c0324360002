"""Fault test: the broker dies mid-run, stays down >= 10 s, comes back; nothing lost, nothing twice.

The embedded development broker (Tansu) keeps topics in memory: when it dies, records it had
acknowledged but nobody had read yet die with it. That loss would be the broker's, not the
runtime's, so the test pauses ``vehsim drive`` (SIGSTOP) for the moment it takes the reader to
catch up, kills the broker (SIGKILL), and lets the runtime continue (SIGCONT) into the outage.
From then on every event must reach the reader exactly once: those produced while the broker
is down are spooled and replayed into the restarted broker's fresh topics, in order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Collector(threading.Thread):
    """Reads the telemetry topic continuously; after a broker restart, the new topic from 0."""

    def __init__(self, bootstrap: str, topic: str):
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.events: list[dict] = []
        self.positions: dict[int, int] = {}
        self.epoch = 0  # bumped by the test after the broker restarted
        self.paused = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        while not self.stopped.is_set():
            if self.paused.is_set():
                time.sleep(0.05)
                continue
            epoch = self.epoch
            consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                fetch_max_wait_ms=100,
                request_timeout_ms=5000,
            )
            try:
                partitions = None
                while not partitions and not self.stopped.is_set():
                    consumer.topics()
                    partitions = consumer.partitions_for_topic(self.topic)
                tps = [TopicPartition(self.topic, p) for p in sorted(partitions or ())]
                consumer.assign(tps)
                self.positions = {}
                for tp in tps:
                    consumer.seek(tp, 0)
                    self.positions[tp.partition] = 0
                while not (self.stopped.is_set() or self.paused.is_set()) and epoch == self.epoch:
                    for _tp, records in consumer.poll(timeout_ms=100).items():
                        for r in records:
                            self.events.append(json.loads(r.value))
                            self.positions[r.partition] = r.offset + 1
            except Exception:  # broker going away under us; the test decides what happens next
                time.sleep(0.2)
            finally:
                consumer.close()


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    from vehsim.stream.offsets import true_end_offsets

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return {tp.partition: end for tp, end in true_end_offsets(consumer, tps).items()}
    finally:
        consumer.close()


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_broker_outage_loses_nothing_and_sends_nothing_twice(tmp_path):
    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker

    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(tmp_path / "home")
    settings = load_settings(env)
    broker = EmbeddedBroker(settings)
    record = broker.start()
    topic = settings.telemetry_topic
    collector = Collector(record.bootstrap, topic)
    collector.start()
    drive = subprocess.Popen(
        [sys.executable, "-m", "vehsim.cli", "drive", "--vehicles", "2", "--driver", "cycle:udds",
         "--speedup", "5", "--duration-s", "200", "--rate-hz", "10"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait(lambda: len(collector.events) >= 100, 120, "the run to get going")

        # Pause the runtime until the reader holds everything the broker has, then kill it.
        drive.send_signal(signal.SIGSTOP)
        ends = _end_offsets(record.bootstrap, topic)
        _wait(lambda: all(collector.positions.get(p, 0) >= e for p, e in ends.items()), 30,
              "the reader to catch up")  # fmt: skip
        before = len(collector.events)
        collector.paused.set()
        os.kill(record.pid, signal.SIGKILL)
        os.waitpid(record.pid, 0)
        drive.send_signal(signal.SIGCONT)

        time.sleep(12.0)  # broker down >= 10 s while the runtime keeps simulating
        assert drive.poll() is None, drive.stderr.read()
        record = EmbeddedBroker(settings).start(port=record.port)
        collector.epoch += 1
        collector.paused.clear()

        out, err = drive.communicate(timeout=180)
        assert drive.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        _wait(lambda: len(collector.events) >= summary["events"], 60, "every event")
        time.sleep(1.0)  # anything extra (a duplicate) would arrive now
    finally:
        if drive.poll() is None:
            drive.send_signal(signal.SIGCONT)
            drive.kill()
            drive.wait()
        collector.stopped.set()
        collector.join(5)
        EmbeddedBroker(settings).stop()

    assert summary["outages"] >= 1, err
    assert summary["replayed"] > 0 and summary["spooled"] == 0, summary
    assert summary["acked"] == summary["events"]
    assert len(collector.events) > before > 0
    ids = [e["event_id"] for e in collector.events]
    assert len(ids) == len(set(ids)), "an event arrived twice"
    assert len(ids) == summary["events"], "an event is missing"
    streams = defaultdict(list)
    for e in collector.events:
        streams[e["vehicle_id"]].append(e["seq"])
    assert set(streams) == set(summary["vehicle_ids"])
    for vehicle_id, seqs in streams.items():
        assert sorted(seqs) == list(range(len(seqs))), f"seq gap for {vehicle_id}"
        assert seqs == sorted(seqs), f"{vehicle_id}'s events arrived out of order"
