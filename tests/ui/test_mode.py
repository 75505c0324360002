"""Mode detection: connected with a configured or recorded broker, local otherwise."""

import json
import subprocess
import sys
import time

from vehsim.config import load_settings
from vehsim.ui.mode import detect_mode


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


def test_connected_when_an_embedded_broker_is_recorded_and_alive(vehsim_env):
    from vehsim.stream.broker_record import BROKER_MAIN_CLASS

    settings = load_settings()
    # A live process whose command line names the broker's main class stands in for the broker
    # (a recorded pid of any other program is not taken for it).
    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", BROKER_MAIN_CLASS]
    )
    try:
        _record(settings, stand_in.pid)
        mode = detect_mode(settings)
    finally:
        stand_in.kill()
        stand_in.wait()
    assert mode.name == "connected" and mode.bootstrap == "127.0.0.1:19093"


def test_local_when_the_recorded_broker_is_gone(vehsim_env):
    settings = load_settings()
    _record(settings, 2**22 + 12345)  # above pid_max: no such process
    assert detect_mode(settings).name == "local"
