"""The hostile command corpus against the live path: nothing ends the run, every answer is small.

Issue 12, findings 1, 4, 5 and the broadcast half of 9. In process (no broker) for every entry
one at a time and all together, then the whole corpus in one ``vehsim drive --driver commands``
run on a real broker while telemetry acknowledgements are timed.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict

import numpy as np
import pytest

from vehsim import events

from . import corpus, generate_corpus

#: The run's cars: fleet(2) takes the known vehicles in name order.
SMALL_CAR, BIG_CAR = "compact-sedan", "compact-suv"  # 2 and 8 gears
VEHICLE_IDS = (f"{SMALL_CAR}-000", f"{BIG_CAR}-001")
VARIABLES = {"vehicle": VEHICLE_IDS[0], "other": VEHICLE_IDS[1]}
#: Largest encoded event an answer to a command may be [bytes] (excerpts only).
MAX_ANSWER_BYTES = 2_000


def test_corpus_is_what_the_generator_writes():
    assert corpus.CORPUS.read_text() == generate_corpus.render(), (
        "run: python tests/hostile/generate_corpus.py"
    )


def test_corpus_covers_the_live_findings_and_the_lake_records():
    entries = corpus.load(variables=VARIABLES)
    commands = [e for e in entries if e.target == "commands"]
    telemetry = [e for e in entries if e.target == "telemetry"]
    assert {e.finding for e in commands} >= {1, 4, 5, 9}
    assert {e.finding for e in telemetry} >= {2, 3, 9}
    by_id = {e.id: e for e in entries if e.target == "commands"}
    assert len(by_id["huge-1mb"].value) > 1_000_000
    assert b"1" + b"0" * 400 in by_id["throttle-1e400-int"].value
    assert by_id["depth-10000"].value.count(b"[") == 10_000
    assert len(by_id["depth-3000"].value) <= events.MAX_COMMAND_BYTES  # so too_deep, not large
    assert len(by_id["just-over-limit"].value) > events.MAX_COMMAND_BYTES
    stamps = {e.timestamp_ms for e in telemetry if e.category == "kafka_timestamp"}
    assert {253_402_300_800_000, 2**62} <= stamps
    first = {e.id: json.loads(e.value) for e in telemetry if e.category == "far_timestamp"}
    assert first["emitted-year-0000"]["emitted_at"].startswith("0000-")


class _Publisher:
    """Collects events as the real publisher would encode them (NaN refused, schema checked)."""

    def __init__(self):
        self.events: list[dict] = []
        self.sizes: list[int] = []

    def start(self):
        return self

    def publish(self, event):
        encoded = events.encode_event(event)
        self.sizes.append(len(encoded))
        self.events.append(json.loads(encoded))

    def stats(self):
        from vehsim.stream.producer import PublisherStats

        n = len(self.events)
        return PublisherStats("online", n, n, 0, 0, 0)

    def close(self, timeout_s: float = 0.0):
        return self.stats()


def _runtime(duration_s: float = 0.3):
    from vehsim.stream.runtime import DriveConfig, DriveRuntime

    config = DriveConfig(
        vehicles=[SMALL_CAR, BIG_CAR],
        vehicle_ids=list(VEHICLE_IDS),
        driver="commands",
        speedup=math.inf,
        duration_s=duration_s,
    )
    return DriveRuntime(config, publisher=_Publisher(), listen=False, bootstrap="unused:9")


def _answers(evs: list[dict]) -> list[dict]:
    kinds = (events.COMMAND_REJECTED, events.DRIVER_COMMAND)
    return [e for e in evs if e["event_type"] in kinds]


def _check_answers(entries, evs, run_vehicles) -> None:
    """Every entry answered as its ``expect`` says, exactly once per stream, nothing else."""
    answers = _answers(evs)
    by_command = defaultdict(list)
    unaddressed = Counter()
    for e in answers:
        command_id = e["payload"]["command_id"]
        if command_id is not None:
            by_command[command_id].append(e)
        else:
            assert e["event_type"] == events.COMMAND_REJECTED
            unaddressed[(e["vehicle_id"], e["payload"]["reason"], e["payload"]["field"])] += 1
    expected_unaddressed = Counter()
    for entry in entries:
        expect = entry.expect
        got = by_command.pop(entry.command_id, []) if entry.command_id else []
        if expect["outcome"] == "ignored":
            assert got == [], entry.id
            continue
        streams = {"vehicle": [VARIABLES["vehicle"]], "each": list(run_vehicles), "*": ["*"]}[
            expect["stream"]
        ]
        if expect["outcome"] == "applied":
            assert sorted(e["vehicle_id"] for e in got) == sorted(streams), entry.id
            assert {e["event_type"] for e in got} == {events.DRIVER_COMMAND}, entry.id
            continue
        if entry.command_id is None:  # read no further than its size, depth or syntax
            for vehicle_id in streams:
                expected_unaddressed[(vehicle_id, expect["reason"], expect["field"])] += 1
            continue
        assert sorted(e["vehicle_id"] for e in got) == sorted(streams), entry.id
        for e in got:
            assert e["event_type"] == events.COMMAND_REJECTED, entry.id
            assert (e["payload"]["reason"], e["payload"]["field"]) == (
                expect["reason"],
                expect["field"],
            ), entry.id
            assert e["payload"]["message"], entry.id
    assert unaddressed == expected_unaddressed
    assert not by_command, f"answers to commands not in the corpus: {list(by_command)}"


def _assert_gap_free(evs: list[dict]) -> None:
    streams = defaultdict(list)
    for e in evs:
        streams[(e["run_id"], e["vehicle_id"])].append(e["seq"])
    for key, seqs in streams.items():
        assert seqs == list(range(len(seqs))), f"seq gap in {key}"


@pytest.mark.parametrize(
    "entry", corpus.load("commands", VARIABLES), ids=lambda e: e.id
)  # one at a time: each alone must be answered and must not end the run
def test_each_hostile_command_is_answered_and_the_run_goes_on(entry):
    runtime = _runtime(duration_s=0.2)
    runtime.submit_message(entry.value or b"")
    final = runtime.run()
    assert final.sim_time_s == pytest.approx(0.2)  # the run went on to its end
    evs = runtime.publisher.events
    _check_answers([entry], evs, VEHICLE_IDS)
    assert max(runtime.publisher.sizes) < MAX_ANSWER_BYTES
    for e in evs:
        assert events.schema_errors(e) == [], e
    _assert_gap_free(evs)


def test_the_whole_command_corpus_in_one_tick_with_good_commands_around_it():
    entries = corpus.load("commands", VARIABLES)
    runtime = _runtime(duration_s=0.5)
    before = events.make_command(VEHICLE_IDS[1], "start_engine")
    after = events.make_command("*", "throttle", 10)
    runtime.submit_message(json.dumps(before))
    for entry in entries:
        runtime.submit_message(entry.value or b"")
    runtime.submit_message(json.dumps(after))
    final = runtime.run()
    evs = runtime.publisher.events
    good = [e for e in _answers(evs) if e["payload"]["command_id"] in
            (before["command_id"], after["command_id"])]  # fmt: skip
    assert sorted((e["payload"]["type"], e["vehicle_id"]) for e in good) == [
        ("start_engine", VEHICLE_IDS[1]),
        ("throttle", VEHICLE_IDS[0]),
        ("throttle", VEHICLE_IDS[1]),
    ]  # delivered exactly once each, around the barrage
    _check_answers(entries, [e for e in evs if e not in good], VEHICLE_IDS)
    rejected = sum(1 for e in entries if e.expect["outcome"] == "rejected")
    applied = sum(1 for e in entries if e.expect["outcome"] == "applied")
    assert (final.commands_rejected, final.commands_applied) == (rejected, applied + 2)
    assert max(runtime.publisher.sizes) < MAX_ANSWER_BYTES
    _assert_gap_free(evs)
    raw = [e for e in evs if e["event_type"] == events.SIMULATION_RAW]
    assert raw[-1]["sim_time_s"] == pytest.approx(0.5)


def _manual_pair(then: dict | None):
    """Both cars in manual mode for 0.1 s, then ``then`` (a command) and 0.1 s more."""
    runtime = _runtime(duration_s=0.1)
    runtime.submit_message(json.dumps(events.make_command("*", "gear_mode", "manual")))
    runtime.run()
    runtime.publisher = _Publisher()
    if then is not None:
        runtime.submit_message(json.dumps(then))
    runtime.run()
    return runtime


def test_a_broadcast_applies_to_every_car_or_to_none():
    seventh = events.make_command("*", "gear", 7)  # the 8-gear car could; the 2-gear car cannot
    refused, untouched = _manual_pair(seventh), _manual_pair(None)
    # neither car took it: the run is exactly the run without the command ...
    assert np.array_equal(refused.sim.inputs, untouched.sim.inputs, equal_nan=True)
    assert np.array_equal(refused.sim.state, untouched.sim.state, equal_nan=True)
    answers = {e["vehicle_id"]: e for e in _answers(refused.publisher.events)}
    assert set(answers) == set(VEHICLE_IDS)  # ... and each car says why
    for e in answers.values():
        assert e["event_type"] == events.COMMAND_REJECTED
        assert e["payload"]["command_id"] == seventh["command_id"]
        assert e["payload"]["reason"] == "out_of_range"
        assert "compact-sedan-000 refused it" in e["payload"]["message"]
        assert "2 gears" in e["payload"]["message"]
    assert refused.commands_rejected == 1 and refused.commands_applied == 1  # gear_mode

    second = events.make_command("*", "gear", 2)
    accepted = _manual_pair(second)
    echoes = _answers(accepted.publisher.events)
    assert sorted(e["vehicle_id"] for e in echoes) == sorted(VEHICLE_IDS)
    assert {e["event_type"] for e in echoes} == {events.DRIVER_COMMAND}
    assert not np.array_equal(accepted.sim.inputs, untouched.sim.inputs, equal_nan=True)


# On a real broker ---------------------------------------------------------------------------------
@pytest.fixture
def drive_env(kafka_broker, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env.update(
        VEHSIM_HOME=str(tmp_path / "home"),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"h{uuid.uuid4().hex[:8]}.",
    )
    return env


def _send_all(settings, records) -> None:
    """Send raw records to the commands topic, as they are (null values and bytes included)."""
    from kafka import KafkaProducer

    from vehsim.stream.kafka_config import client_config

    producer = KafkaProducer(
        **client_config(settings), acks="all", linger_ms=0, max_request_size=2_000_000
    )
    try:
        for key, value in records:
            producer.send(settings.commands_topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close(timeout=10)


@pytest.mark.integration
def test_vehsim_drive_survives_the_whole_command_corpus_without_a_stall(drive_env, tmp_path):
    from vehsim.config import load_settings
    from vehsim.stream.follow import TelemetryFollower, read_topic

    settings = load_settings(drive_env)
    entries = corpus.load("commands", VARIABLES)
    out, err = (tmp_path / "drive.out").open("w+"), (tmp_path / "drive.err").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vehsim.cli", "drive", "--vehicles", "2", "--driver", "commands",
         "--speedup", "1", "--rate-hz", "10", "--quiet"],
        env=drive_env, stdout=out, stderr=err,
    )  # fmt: skip
    arrivals: list[tuple[float, dict]] = []  # (monotonic time received, event), acked by then
    lock = threading.Lock()

    def on_event(event: dict) -> None:
        with lock:
            arrivals.append((time.monotonic(), event))

    follower = TelemetryFollower(settings, from_beginning=True, on_event=on_event).start()

    def seen(predicate) -> bool:
        with lock:
            return any(predicate(e) for _, e in arrivals)

    def wait(predicate, what: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while not seen(predicate):
            assert proc.poll() is None, f"vehsim drive ended: {err.seek(0) or err.read()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def echo_of(message):
        return lambda e: e["payload"].get("command_id") == message["command_id"]

    try:
        wait(lambda e: e["event_type"] == events.SIMULATION_RAW, "first telemetry")
        before = events.make_command(VEHICLE_IDS[1], "start_engine")
        _send_all(settings, [(b"*", json.dumps(before).encode())])
        wait(echo_of(before), "the command before the barrage")
        barrage_start = time.monotonic()
        _send_all(settings, [(e.key, e.value) for e in entries])
        after = events.make_command("*", "throttle", 10)
        _send_all(settings, [(b"*", json.dumps(after).encode())])
        wait(echo_of(after), "the command after the barrage")  # commands apply in order
        barrage_end = time.monotonic()
        time.sleep(1.5)  # telemetry after the barrage
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, err.seek(0) or err.read()
    finally:
        follower.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.seek(0)
    summary = json.loads(out.read().strip().splitlines()[-1])
    assert summary["spooled"] == 0 and summary["dead_lettered"] == 0
    assert summary["acked"] == summary["events"]

    # Telemetry went on through the barrage: no gap over 1 s between acknowledged samples.
    with lock:
        car = [t for t, e in arrivals if e["event_type"] == events.SIMULATION_RAW
               and e["vehicle_id"] == VEHICLE_IDS[0] and e["run_id"] == summary["run_id"]]  # fmt: skip
    window = [t for t in car if barrage_start - 1.0 <= t <= barrage_end + 1.0]
    assert len(window) >= 10
    gaps = [b - a for a, b in zip(window, window[1:], strict=False)]
    assert max(gaps) < 1.0, f"telemetry stalled {max(gaps):.2f} s during the barrage"

    evs = [json.loads(v) for *_, v in read_topic(settings)]
    assert all(e["run_id"] == summary["run_id"] for e in evs)
    for e in evs:
        assert events.schema_errors(e) == [], e
    _assert_gap_free(evs)
    good_ids = {before["command_id"], after["command_id"]}
    good = [e for e in _answers(evs) if e["payload"]["command_id"] in good_ids]
    assert sorted((e["payload"]["type"], e["vehicle_id"]) for e in good) == [
        ("start_engine", VEHICLE_IDS[1]),
        ("throttle", VEHICLE_IDS[0]),
        ("throttle", VEHICLE_IDS[1]),
    ]
    _check_answers(entries, [e for e in evs if e not in good], VEHICLE_IDS)
    biggest = max(len(v) for *_, v in read_topic(settings))
    assert biggest < MAX_ANSWER_BYTES
    assert summary["commands_rejected"] == sum(
        1 for e in entries if e.expect["outcome"] == "rejected"
    )


def test_the_telemetry_follower_skips_hostile_records_without_reconnecting(vehsim_env):
    """The dashboard's follower reads the telemetry topic: no record there may raise into its
    thread (a raise costs a reconnect, as deep commands once did)."""
    from types import SimpleNamespace

    from vehsim.config import load_settings
    from vehsim.stream.follow import TelemetryFollower

    follower = TelemetryFollower(load_settings(), bootstrap="127.0.0.1:9")
    records = [e.value for e in corpus.load("telemetry")]
    records.append(b"[" * 100_000 + b"]" * 100_000)  # RecursionError in json.loads
    for value in records:
        follower._handle(SimpleNamespace(value=value))
    assert follower.malformed == 5  # not JSON, empty, null, not UTF-8, too deep
    assert follower.count == len(records) - 5


def test_a_flood_of_commands_is_answered_over_several_ticks():
    from vehsim.stream.runtime import MAX_COMMANDS_PER_TICK

    runtime = _runtime(duration_s=0.2)  # two ticks at 10 Hz, then the answers at shutdown
    flood = 2 * MAX_COMMANDS_PER_TICK + 200
    for i in range(flood):
        runtime.submit_message(json.dumps(events.make_command(VEHICLE_IDS[0], "brake", i % 150)))
    final = runtime.run()
    assert final.commands_applied + final.commands_rejected == flood  # every one answered
    answers = Counter(round(e["sim_time_s"], 3) for e in _answers(runtime.publisher.events))
    assert answers == {0.0: MAX_COMMANDS_PER_TICK, 0.1: MAX_COMMANDS_PER_TICK, 0.2: 200}
