"""Services a notebook starts are stopped once, last first, and only the ones it started."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

from vehsim.config import load_settings
from vehsim.notebook import Services


class FakeBroker:
    """Stands in for EmbeddedBroker: records starts and stops."""

    running: SimpleNamespace | None = None
    log: list[str] = []

    def __init__(self, settings):
        self.settings = settings

    def status(self):
        return FakeBroker.running

    def start(self):
        FakeBroker.running = SimpleNamespace(bootstrap="127.0.0.1:19099")
        FakeBroker.log.append("start")
        return FakeBroker.running

    def stop(self):
        FakeBroker.running = None
        FakeBroker.log.append("stop")
        return True


def _reset():
    FakeBroker.running = None
    FakeBroker.log = []


def test_what_was_started_stops_last_first_and_once(vehsim_env):
    _reset()
    order = []
    with Services() as services:
        assert services.kafka(load_settings(), FakeBroker) == "127.0.0.1:19099"
        services.callback(order.append, "spark")
        assert services.started == ["embedded Kafka broker at 127.0.0.1:19099"]
    assert order == ["spark"] and FakeBroker.log == ["start", "stop"]
    services.close()  # the notebook's last cell after the with block: nothing more
    assert FakeBroker.log == ["start", "stop"] and services.started == []


def test_a_broker_that_already_ran_is_used_and_left_running(vehsim_env):
    _reset()
    FakeBroker.running = SimpleNamespace(bootstrap="127.0.0.1:19100")
    services = Services()
    assert services.kafka(load_settings(), FakeBroker) == "127.0.0.1:19100"
    services.close()
    assert FakeBroker.log == [] and FakeBroker.running is not None


def test_a_configured_cluster_starts_nothing(vehsim_env, monkeypatch):
    _reset()
    monkeypatch.setenv("VEHSIM_KAFKA_BOOTSTRAP", "broker1:9092")
    services = Services()
    assert services.kafka(load_settings(), FakeBroker) == "broker1:9092"
    services.close()
    assert FakeBroker.log == []


def test_the_interpreter_exit_stops_what_a_failed_notebook_left(tmp_path):
    """A notebook that fails before its last cell: the kernel's exit still stops the service."""
    marker = tmp_path / "stopped"
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from vehsim.notebook import Services
        services = Services()
        services.callback(Path({str(marker)!r}).write_text, "yes")
        raise SystemExit(1)  # the notebook died before its last cell
        """
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    assert marker.read_text() == "yes"
