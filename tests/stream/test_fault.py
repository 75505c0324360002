"""Fault test: the broker is killed (kill -9) while `vehsim drive` publishes and stays down >= 10 s.

The embedded broker is Apache Kafka: what it acknowledged before it died is on disk and back
after the restart. The runtime spools while the broker is away and, when it is back, reads
back what was in flight at the kill (stored without acknowledgement or not) before it replays
the rest into the restarted broker (same home, so same data and same port). Afterwards the topic
and the Bronze table (`vehsim pipeline bronze --available-now`) must hold every event of the run
exactly once, each vehicle's events in one partition and in `seq` order.

`VEHSIM_FAULT_KILLS=N` (default 1) kills the broker N times in one run: a stress variant to
run by hand, not in CI (each kill adds about 40 s).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_S = 12.0
KILLS = int(os.environ.get("VEHSIM_FAULT_KILLS", "1"))


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    from vehsim.stream.offsets import end_offsets

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return {tp.partition: end for tp, end in end_offsets(consumer, tps).items()}
    finally:
        consumer.close()


def _read_topic(bootstrap: str, topic: str) -> list[tuple[int, int, dict]]:
    """Every record of ``topic`` as (partition, offset, event), in offset order per partition."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning()
        records = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "could not read the topic to its end"
            for _tp, batch in consumer.poll(timeout_ms=500).items():
                records += [(r.partition, r.offset, json.loads(r.value)) for r in batch]
        return sorted(records, key=lambda r: (r[0], r[1]))
    finally:
        consumer.close()


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _check_exactly_once_in_order(records, summary: dict, where: str) -> None:
    """``records``: (partition, offset, event) of one run; every event once, per vehicle in one
    partition and in ``seq`` order by offset."""
    records = sorted(records, key=lambda r: (r[0], r[1]))
    assert len({(p, o) for p, o, _ in records}) == len(records), (
        f"{where}: (partition, offset) twice"
    )
    counts = Counter(e["event_id"] for _, _, e in records)
    twice = sorted((e["vehicle_id"], e["seq"]) for _, _, e in records if counts[e["event_id"]] > 1)
    assert not twice, f"{where}: {len(twice)} records of events stored twice, e.g. {twice[:6]}"
    assert len(records) == summary["events"], f"{where}: an event is missing"
    streams: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for partition, _offset, event in records:
        assert event["run_id"] == summary["run_id"], f"{where}: an event of another run"
        streams[event["vehicle_id"]].append((partition, event["seq"]))
    assert set(streams) == set(summary["vehicle_ids"]), where
    for vehicle_id, stream in streams.items():
        assert len({p for p, _ in stream}) == 1, f"{where}: {vehicle_id}'s events span partitions"
        seqs = [seq for _, seq in stream]
        assert seqs == list(range(len(seqs))), f"{where}: {vehicle_id}'s events out of order"


def _read_bronze(settings) -> list[tuple[int, int, dict]]:
    from deltalake import DeltaTable

    from vehsim_pipelines import bronze

    table = DeltaTable(bronze.bronze_uri(settings)).to_pyarrow_table(
        columns=["partition", "offset", "raw_event"]
    )
    return list(
        zip(
            table["partition"].to_pylist(),
            table["offset"].to_pylist(),
            [json.loads(raw) for raw in table["raw_event"].to_pylist()],
            strict=True,
        )
    )


def test_kill_9_of_the_broker_mid_run_loses_nothing_and_doubles_nothing(tmp_path):
    pytest.importorskip("deltalake", reason="needs the [spark] extra")
    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker

    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(tmp_path / "home")
    env["VEHSIM_JARS_DIR"] = os.environ["VEHSIM_JARS_DIR"]  # set by conftest
    env.update(
        VEHSIM_SPARK_MASTER="local[2]",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    settings = load_settings(env)
    broker = EmbeddedBroker(settings)
    record = broker.start()
    topic = settings.telemetry_topic

    def stored() -> int:
        return sum(_end_offsets(record.bootstrap, topic).values())

    # 4 cars at 10 Hz, 20x real time: ~800 events/s, so batches are in flight at the kill.
    # No VEHSIM_KAFKA_BOOTSTRAP: drive finds the broker through VEHSIM_HOME, as a user's does.
    # Its log goes to a file, so that a failure shows what the runtime said.
    drive_log = tmp_path / "drive.log"
    with drive_log.open("w") as log_file:
        drive = subprocess.Popen(
            [sys.executable, "-m", "vehsim.cli", "drive", "--vehicles", "4", "--driver",
             "cycle:udds", "--speedup", "20", "--duration-s", "3600", "--rate-hz", "10", "--quiet"],
            env=env, stdout=subprocess.PIPE, stderr=log_file, text=True,
        )  # fmt: skip

    def said() -> str:
        return "vehsim drive said:\n" + drive_log.read_text()[-4000:]

    outages_s = []
    try:
        # Generous bounds: on a loaded 2-core machine, start-up (imports, the kernel's
        # compilation) alone has taken over a minute.
        _wait(lambda: drive.poll() is not None or stored() >= 2_000, 300, "the run to get going")
        for _kill in range(KILLS):
            assert drive.poll() is None, said()
            os.kill(record.pid, signal.SIGKILL)
            os.waitpid(record.pid, 0)
            killed_at = time.monotonic()
            assert broker.status() is None

            time.sleep(OUTAGE_S)  # the runtime keeps simulating and spools
            assert drive.poll() is None, said()
            restarted = broker.start()
            outages_s.append(time.monotonic() - killed_at)
            assert restarted.port == record.port, "the restarted broker must keep the bootstrap"
            record = restarted
            target = stored() + 4_000
            # the spool drains into the restarted broker and new events follow
            _wait(lambda target=target: stored() >= target, 300, "the replay and new events")

        drive.send_signal(signal.SIGINT)
        out, _ = drive.communicate(timeout=120)
        assert drive.returncode == 0, said()
        summary = json.loads(out.strip().splitlines()[-1])
        records = _read_topic(record.bootstrap, topic)
        # Bronze while the broker still runs: Spark's Kafka source into the Delta table
        started = time.monotonic()
        bronze = subprocess.run(
            [sys.executable, "-m", "vehsim.cli", "pipeline", "bronze", "--available-now"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        bronze_s = time.monotonic() - started
        assert bronze.returncode == 0, bronze.stderr[-4000:]
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{said()}") from None
    finally:
        if drive.poll() is None:
            drive.kill()
            drive.wait()
        broker.stop()

    found = re.findall(
        r"(\d+) record\(s\) sent before the outage were stored", drive_log.read_text()
    )
    print(
        f"outages {[round(s, 1) for s in outages_s]} s, {sum(map(int, found))} record(s) found "
        f"stored without acknowledgement, bronze {bronze_s:.0f} s, {summary}"
    )
    assert len(outages_s) == KILLS and min(outages_s) >= 10
    assert summary["outages"] >= KILLS, said()
    assert summary["replayed"] > 0 and summary["spooled"] == 0, summary
    assert summary["acked"] == summary["events"], summary
    _check_exactly_once_in_order(records, summary, "topic")
    _check_exactly_once_in_order(_read_bronze(settings), summary, "Bronze")
