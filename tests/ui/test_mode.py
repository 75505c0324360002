"""Mode detection: connected with a configured broker, or a recorded one that carries a
vehicle; local otherwise (an orphaned broker with no car on it included)."""

import dataclasses
import json
import subprocess
import sys
import time
import uuid

import pytest

from vehsim.config import load_settings
from vehsim.ui.mode import detect_mode, recent_telemetry


def test_local_when_nothing_is_configured(vehsim_env):
    mode = detect_mode()
    assert mode.name == "local" and mode.bootstrap is None


def test_connected_when_bootstrap_is_set(vehsim_env, monkeypatch):
    monkeypatch.setenv("VEHSIM_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    mode = detect_mode()
    assert mode.name == "connected" and mode.bootstrap == "127.0.0.1:19092"
    assert "VEHSIM_KAFKA_BOOTSTRAP" in mode.reason


def _record(settings, pid):
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": pid,
        "port": 19093,
        "host": "127.0.0.1",
        "started_at": time.time(),
        "log_path": "",
    }
    (settings.run_dir / "broker.json").write_text(json.dumps(record))


@pytest.fixture
def stand_in_broker(vehsim_env):
    """A live process whose command line names the broker's main class, recorded as the
    embedded broker (a recorded pid of any other program is not taken for it)."""
    from vehsim.stream.broker_record import BROKER_MAIN_CLASS

    settings = load_settings()
    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", BROKER_MAIN_CLASS]
    )
    try:
        _record(settings, stand_in.pid)
        yield settings
    finally:
        stand_in.kill()
        stand_in.wait()


def test_connected_when_a_recorded_broker_carries_a_vehicle(stand_in_broker):
    asked = []

    def carries(settings, bootstrap):
        asked.append(bootstrap)
        return True

    mode = detect_mode(stand_in_broker, carries_vehicles=carries)
    assert mode.name == "connected" and mode.bootstrap == "127.0.0.1:19093"
    assert asked == ["127.0.0.1:19093"]


def test_local_when_the_recorded_broker_carries_no_vehicle(stand_in_broker):
    mode = detect_mode(stand_in_broker, carries_vehicles=lambda _s, _b: False)
    assert mode.name == "local" and mode.bootstrap is None
    assert "carries no vehicle" in mode.reason and "vehsim drive" in mode.reason


def test_a_recorded_broker_that_does_not_answer_carries_no_vehicle(stand_in_broker):
    # the stand-in listens on no port: the probe gives up and the dashboard opens locally
    assert not recent_telemetry(stand_in_broker, "127.0.0.1:19093", timeout_s=1.0)
    assert detect_mode(stand_in_broker).name == "local"


def test_local_when_the_recorded_broker_is_gone(vehsim_env):
    settings = load_settings()
    _record(settings, 2**22 + 12345)  # above pid_max: no such process
    assert detect_mode(settings).name == "local"


@pytest.mark.integration
def test_a_real_broker_is_connected_only_while_telemetry_arrives(kafka_broker):
    """An orphaned broker (empty telemetry topic) gives local mode; a car's recent event on the
    topic gives connected mode; an event older than the window does not."""
    from kafka import KafkaProducer

    from vehsim.events import make_event
    from vehsim.stream.broker import ensure_topics

    settings = dataclasses.replace(
        kafka_broker.settings, topic_prefix=f"ui-mode-{uuid.uuid4().hex[:8]}."
    )
    assert detect_mode(settings).name == "local"  # no telemetry topic at all
    ensure_topics(settings, kafka_broker.bootstrap)
    assert detect_mode(settings).name == "local"  # an empty one

    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    event = make_event("simulation.raw", "car-000", "run-1", 0, 0.0, {"engine_on": False})
    an_hour_ago_ms = int((time.time() - 3600) * 1000)
    producer.send(
        settings.telemetry_topic, value=json.dumps(event).encode(), timestamp_ms=an_hour_ago_ms
    )
    producer.flush()
    assert detect_mode(settings).name == "local"  # a car that stopped long ago
    producer.send(settings.telemetry_topic, value=json.dumps(event).encode())
    producer.flush()
    producer.close()
    mode = detect_mode(settings)
    assert mode.name == "connected" and mode.bootstrap == kafka_broker.bootstrap
