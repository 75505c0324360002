"""``vehsim drive`` on a real broker: schema-valid events, gap-free seq, commands, interop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict

import pytest

from vehsim import events

pytestmark = pytest.mark.integration


@pytest.fixture
def stream_settings(kafka_broker, tmp_path, monkeypatch):
    """Private VEHSIM_HOME and topics (by prefix) on the session broker."""
    from vehsim.config import load_settings

    monkeypatch.setenv("VEHSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VEHSIM_TOPIC_PREFIX", f"t{uuid.uuid4().hex[:8]}.")
    monkeypatch.setenv("VEHSIM_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.delenv("VEHSIM_CONFIG", raising=False)
    return load_settings()


def _decode_all(records) -> list[dict]:
    return [json.loads(value) for _, _, _, value in sorted(records)]


def _assert_gap_free(evs: list[dict]) -> dict[tuple[str, str], list[dict]]:
    streams = defaultdict(list)
    for e in evs:  # already in (partition, offset) order
        streams[(e["run_id"], e["vehicle_id"])].append(e)
    for key, stream in streams.items():
        assert [e["seq"] for e in stream] == list(range(len(stream))), f"seq gap/reorder in {key}"
        times = [e["sim_time_s"] for e in stream]
        assert times == sorted(times), f"sim time goes back in {key}"
    return streams


def test_drive_cli_events_follow_schema_and_librdkafka_reads_them(stream_settings):
    from vehsim.stream.follow import read_topic

    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "drive", "--vehicles", "2", "--driver", "cycle:udds",
         "--speedup", "max", "--duration-s", "30", "--rate-hz", "10", "--quiet"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["sim_time_s"] == pytest.approx(30.0)
    assert summary["acked"] == summary["events"] and summary["spooled"] == 0

    records = read_topic(stream_settings)
    evs = _decode_all(records)
    assert len(evs) == summary["events"]
    for e in evs:
        assert events.schema_errors(e) == [], e
        assert e["run_id"] == summary["run_id"]
    streams = _assert_gap_free(evs)
    assert {vid for _, vid in streams} == set(summary["vehicle_ids"])
    for stream in streams.values():
        raw = [e for e in stream if e["event_type"] == events.SIMULATION_RAW]
        assert len(raw) == 300  # 30 s at 10 Hz
        assert raw[-1]["sim_time_s"] == pytest.approx(30.0)
        started = [e for e in stream if e["event_type"] == events.ENGINE_STARTED]
        assert len(started) == 1 and started[0]["payload"]["cause"] == "driver"
        assert max(e["payload"]["vehicle_speed_kph"] for e in raw) > 20  # UDDS gets going

    # Interoperability: librdkafka (confluent-kafka), an independent client, reads the same
    # records and they parse.
    confluent_kafka = pytest.importorskip("confluent_kafka")
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": stream_settings.kafka_bootstrap, "group.id": "interop",
         "enable.auto.commit": False}
    )  # fmt: skip
    expected = {(p, o): json.loads(v)["event_id"] for p, o, _, v in records}
    seen = {}
    try:
        consumer.assign(
            [confluent_kafka.TopicPartition(stream_settings.telemetry_topic, p, 0)
             for p in sorted({p for p, _ in expected})]
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(seen) < len(expected) and time.monotonic() < deadline:
            for message in consumer.consume(1000, timeout=0.5):
                assert message.error() is None, message.error()
                event = json.loads(message.value())
                assert message.key().decode() == event["vehicle_id"]
                assert events.schema_errors(event) == []
                seen[(message.partition(), message.offset())] = event["event_id"]
    finally:
        consumer.close()
    assert seen == expected


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_commands_drive_the_car_and_bad_ones_are_rejected(stream_settings):
    from vehsim.stream.commands import CommandSender
    from vehsim.stream.follow import TelemetryFollower, read_topic
    from vehsim.stream.runtime import DriveConfig, DriveRuntime

    runtime = DriveRuntime(
        DriveConfig(vehicles=["compact-sedan"], driver="commands", speedup=4.0),
        stream_settings,
    )
    vid = runtime.vehicle_ids[0]
    follower = TelemetryFollower(stream_settings, run_id=runtime.run_id, from_beginning=True)
    follower.start()
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    sender = CommandSender(stream_settings)
    try:
        _wait(lambda: runtime.commands_ready and vid in follower.latest(), 60, "first telemetry")

        def latest() -> dict:
            return follower.latest()[vid]["payload"]

        assert latest()["engine_on"] is False and latest()["engine_rpm"] == 0

        start = sender.send(vid, "start_engine")
        _wait(lambda: latest()["engine_on"], 30, "engine to start")
        _wait(lambda: latest()["engine_rpm"] > 500, 30, "idle rpm")
        time.sleep(1.0)
        idle_rpm, idle_speed = latest()["engine_rpm"], latest()["vehicle_speed_kph"]
        assert idle_speed < 5

        throttle = sender.send(vid, "throttle", 50)
        _wait(lambda: latest()["vehicle_speed_kph"] > 15, 30, "speed to rise under throttle")
        assert latest()["engine_rpm"] > idle_rpm + 300
        assert latest()["throttle_pct"] == pytest.approx(50, abs=1)

        too_much = sender.send(vid, "throttle", 150)
        unknown = sender.send(vid, "warp_drive", 9)
        sender.send_message(b"this is not json")
        sender.send_message({"schema_version": 1, "command_id": str(uuid.uuid4()), "type": "brake"})
        sender.send("some-other-runtimes-car", "start_engine")  # not ours: ignored silently
        _wait(lambda: runtime.commands_rejected >= 4, 30, "four rejections")
    finally:
        runtime.stop()
        thread.join(60)
        follower.close()
        sender.close()
    assert not thread.is_alive()

    evs = _decode_all(read_topic(stream_settings))
    for e in evs:
        assert events.schema_errors(e) == [], e
    streams = _assert_gap_free(evs)
    car = streams[(runtime.run_id, vid)]
    echoes = {
        e["payload"]["command_id"]: e for e in car if e["event_type"] == events.DRIVER_COMMAND
    }
    assert echoes[start["command_id"]]["payload"]["type"] == "start_engine"
    assert echoes[throttle["command_id"]]["payload"]["value"] == 50
    started = [e for e in car if e["event_type"] == events.ENGINE_STARTED]
    assert [s["payload"] for s in started] == [
        {"cause": "command", "command_id": start["command_id"]}
    ]

    rejected = [e for e in evs if e["event_type"] == events.COMMAND_REJECTED]
    by_id = {e["payload"]["command_id"]: e for e in rejected}
    assert by_id[too_much["command_id"]]["payload"]["field"] == "value"
    assert by_id[too_much["command_id"]]["payload"]["reason"] == "out_of_range"
    assert "0 to 100" in by_id[too_much["command_id"]]["payload"]["message"]
    assert by_id[too_much["command_id"]]["vehicle_id"] == vid
    assert by_id[unknown["command_id"]]["payload"]["field"] == "type"
    unaddressed = [e for e in rejected if e["vehicle_id"] == events.BROADCAST_VEHICLE_ID]
    reasons = sorted(e["payload"]["reason"] for e in unaddressed)
    assert reasons == ["malformed", "missing_field"]
    assert any(e["payload"]["raw"] == "this is not json" for e in unaddressed)
    assert runtime.commands_rejected == 4
    assert not any(e["vehicle_id"] == "some-other-runtimes-car" for e in evs)
