"""The command line of the runtime: broker lifecycle, clean SIGINT shutdown, argument errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vehsim.stream.cli import DRIVE_UNDELIVERED
from vehsim.stream.commands import decode_command


def _vehsim(env, *args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "vehsim.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


@pytest.mark.integration
def test_sigint_stops_cleanly_and_flushes_everything(kafka_broker, tmp_path):
    from vehsim.config import load_settings
    from vehsim.stream.follow import read_topic

    env = _env(
        tmp_path,
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"t{uuid.uuid4().hex[:8]}.",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "vehsim.cli", "drive", "--vehicles", "3", "--speedup", "20"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        lines = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line or "events=" in line:  # end of output, or the first progress line
                lines.append(line)
                break
            lines.append(line)
        assert "events=" in lines[-1], "no progress line:\n" + "".join(lines)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "SIGINT, stopping and flushing" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["events"] > 0 and summary["acked"] == summary["events"]
    assert summary["spooled"] == 0
    assert len(read_topic(load_settings(env))) == summary["events"]
    assert not list((tmp_path / "home" / "spool").glob("*/*.seg")), "nothing left spooled"


def test_bad_arguments_are_named(tmp_path):
    env = _env(tmp_path, VEHSIM_KAFKA_BOOTSTRAP="127.0.0.1:1")
    result = _vehsim(env, "drive", "--speedup", "0")
    assert result.returncode == 2 and "speedup must be > 0" in result.stderr
    result = _vehsim(env, "drive", "--rate-hz", "1000", "--duration-s", "1")
    assert result.returncode == 2 and "rate_hz must be from 0.1 to 100 Hz" in result.stderr
    result = _vehsim(env, "drive", "--vehicle", "no-such-car", "--duration-s", "1")
    assert result.returncode == 2 and "no-such-car" in result.stderr


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_decode_command_never_raises(value):
    incoming = decode_command(value)
    assert incoming.error is not None or incoming.vehicle_id


def test_decode_command_checks_the_envelope():
    ok = decode_command(
        b'{"schema_version": 1, "vehicle_id": "car", "type": "throttle", "value": 5}'
    )
    assert ok.error is None and ok.command == {"type": "throttle", "value": 5}
    assert decode_command(b"[1]").error[1] == "malformed"
    assert decode_command(b'{"vehicle_id": "car", "type": "x"}').error[0] == "schema_version"
    assert decode_command(b'{"schema_version": 1, "type": "x"}').error[0] == "vehicle_id"


@pytest.mark.integration
def test_drive_without_kafka_spools_and_the_next_drive_replays(kafka_broker, tmp_path):
    from vehsim.config import load_settings
    from vehsim.stream.broker import free_port
    from vehsim.stream.follow import read_topic

    prefix = f"t{uuid.uuid4().hex[:8]}."
    away = _env(tmp_path, VEHSIM_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
                VEHSIM_TOPIC_PREFIX=prefix)  # fmt: skip
    first = _vehsim(away, "drive", "--vehicles", "2", "--speedup", "max", "--duration-s", "10",
                    "--quiet")  # fmt: skip
    assert first.returncode == DRIVE_UNDELIVERED, first.stderr  # it says so, and not with 0
    lost = json.loads(first.stdout.strip().splitlines()[-1])
    assert lost["acked"] == 0 and lost["spooled"] == lost["events"] > 0
    assert "stay spooled" in first.stderr

    back = dict(away, VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap)
    second = _vehsim(back, "drive", "--vehicles", "2", "--speedup", "max", "--duration-s", "5",
                     "--quiet")  # fmt: skip
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["replayed"] >= lost["events"] and summary["spooled"] == 0

    evs = [json.loads(v) for *_, v in read_topic(load_settings(back))]
    runs = {lost["run_id"]: lost["events"], summary["run_id"]: summary["events"]}
    assert {e["run_id"] for e in evs} == set(runs)
    for run_id, count in runs.items():
        ids = [e["event_id"] for e in evs if e["run_id"] == run_id]
        assert len(ids) == len(set(ids)) == count


def _command(value: str) -> bytes:
    return b'{"schema_version": 1, "vehicle_id": "car", "type": "throttle", "value": %s}' % (
        value.encode()
    )


def test_decode_command_bounds_size_and_depth_before_parsing():
    from vehsim.events import MAX_COMMAND_BYTES, MAX_COMMAND_DEPTH, MAX_EXCERPT_CHARS

    big = decode_command(_command('"' + "x" * 1_000_000 + '"'))
    assert big.error[:2] == ("message", "too_large") and str(MAX_COMMAND_BYTES) in big.error[2]
    assert len(big.raw) < MAX_EXCERPT_CHARS + 40  # an excerpt, never the whole message
    deep = decode_command(_command("[" * 10_000 + "1" + "]" * 10_000)[: MAX_COMMAND_BYTES - 1])
    assert deep.error[:2] == ("message", "too_deep")
    deep = decode_command(_command("[" * MAX_COMMAND_DEPTH + "1" + "]" * MAX_COMMAND_DEPTH))
    assert deep.error[:2] == ("message", "too_deep")
    nested = MAX_COMMAND_DEPTH - 1  # the message object is one level
    ok = decode_command(_command("[" * nested + "1" + "]" * nested))
    assert ok.error is None  # within the bound: parsed; parse_command rejects the value later


def test_decode_command_refuses_nan_and_infinity():
    for constant in ("NaN", "[NaN]", "Infinity", "-Infinity"):
        incoming = decode_command(_command(constant))
        assert incoming.error[:2] == ("message", "malformed"), constant
        assert "not a JSON number" in incoming.error[2]


def test_decode_command_bounds_the_command_id():
    long_id = decode_command(
        b'{"schema_version": 1, "vehicle_id": "car", "command_id": "%s", "type": "brake", '
        b'"value": 1}' % (b"i" * 5000)
    )
    assert long_id.error[:2] == ("command_id", "too_long") and long_id.command_id is None
