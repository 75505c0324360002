"""Fault test: the broker dies mid-run, stays down >= 10 s, comes back; nothing lost, nothing twice.

The embedded development broker (Tansu) keeps topics in memory, so its death takes along
whatever it held. Two artefacts of that would be the broker's fault, not the runtime's:
records it acknowledged that nobody had read yet (lost), and records it stored whose
acknowledgement was still in flight when it died (re-sent, since the sender cannot know).
The test therefore takes the broker down in steps that keep both sets empty:

1. pause ``vehsim drive`` (SIGSTOP) and let the reader catch up with everything stored;
2. freeze the broker (SIGSTOP), resume the runtime (SIGCONT): it reads the acknowledgements
   already on its socket; new requests wait unprocessed in the frozen broker;
3. kill the broker (SIGKILL): those requests were never stored, the outage begins;
4. after >= 10 s, start a new broker on the same port (fresh, empty topics).

From step 2 on, the runtime runs freely. Every event must reach the reader exactly once, in
per-vehicle order: the ones produced during the outage are spooled and replayed into the
restarted broker's topics.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

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

        # 1. Pause the runtime and let the reader hold everything the broker has stored.
        drive.send_signal(signal.SIGSTOP)
        time.sleep(0.5)  # requests already on the wire land
        ends = _end_offsets(record.bootstrap, topic)
        _wait(lambda: all(collector.positions.get(p, 0) >= e for p, e in ends.items()), 30,
              "the reader to catch up")  # fmt: skip
        before = len(collector.events)
        collector.paused.set()
        # 2. Freeze the broker; the runtime resumes and takes the acknowledgements it was sent.
        os.kill(record.pid, signal.SIGSTOP)
        drive.send_signal(signal.SIGCONT)
        time.sleep(1.0)
        # 3. Kill it.
        os.kill(record.pid, signal.SIGKILL)
        os.waitpid(record.pid, 0)

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
    counts = Counter(ids)
    twice = [(e["vehicle_id"], e["seq"]) for e in collector.events if counts[e["event_id"]] > 1]
    assert not twice, f"events arrived twice: {twice[:10]} ({before} read before the outage)"
    assert len(ids) == summary["events"], "an event is missing"
    streams = defaultdict(list)
    for e in collector.events:
        streams[e["vehicle_id"]].append(e["seq"])
    assert set(streams) == set(summary["vehicle_ids"])
    for vehicle_id, seqs in streams.items():
        assert sorted(seqs) == list(range(len(seqs))), f"seq gap for {vehicle_id}"
        assert seqs == sorted(seqs), f"{vehicle_id}'s events arrived out of order"
