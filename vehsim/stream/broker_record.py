"""Where the embedded broker of one ``VEHSIM_HOME`` runs, and the bootstrap that follows from it.

A started broker is recorded in ``<VEHSIM_HOME>/run/broker.json`` (pid, ports, log file), so
that every later command of the same home finds it. This module only reads and writes that
record; starting and stopping the broker is :mod:`vehsim.stream.broker`. It imports neither
Kafka nor the broker, so client settings (:mod:`vehsim.stream.kafka_config`) can depend on it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from vehsim.config import Settings, load_settings
from vehsim.errors import BrokerError

RECORD_NAME = "broker.json"
#: Text that the broker's command line contains; a recorded pid reused by another program is
#: not taken for the broker.
BROKER_MAIN_CLASS = "kafka.Kafka"


@dataclass(frozen=True)
class BrokerRecord:
    """A running embedded broker.

    Attributes:
        pid: Process id of the broker's JVM.
        port: Client port on ``host``.
        host: Address it listens on (loopback).
        started_at: Unix time of the start [s].
        log_path: The broker's own log file.
        controller_port: Port of its KRaft controller listener on ``host``.
        data_dir: Its log directory (topics and metadata).
        cluster_id: The cluster id its log directory was formatted with.
    """

    pid: int
    port: int
    host: str
    started_at: float
    log_path: str
    controller_port: int = 0
    data_dir: str = ""
    cluster_id: str = ""

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def record_path(settings: Settings) -> Path:
    return settings.run_dir / RECORD_NAME


def pid_alive(pid: int) -> bool:
    """True when ``pid`` runs and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def runs_command(pid: int, marker: str) -> bool:
    """True when ``pid`` is alive, not a zombie, and (where /proc says) its command line
    contains ``marker``.

    An empty command line counts as a match: Linux shows one while the process is inside
    ``execve`` (``spark-class`` and ``kafka-server-start.sh`` exec their JVM), and a start
    that read it then would take a launching service for a dead one.
    """
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:  # no /proc (not Linux) or no permission: trust the record
        return True
    return not cmdline or marker.encode() in cmdline


def _is_broker(pid: int) -> bool:
    """False when ``pid`` is provably another program (its command line lacks the main class)."""
    return runs_command(pid, BROKER_MAIN_CLASS)


def read_record(settings: Settings | None = None) -> BrokerRecord | None:
    """The embedded broker recorded under ``VEHSIM_HOME``, if its process is alive."""
    settings = settings or load_settings()
    path = record_path(settings)
    if not path.is_file():
        return None
    try:
        record = BrokerRecord(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise BrokerError(
            f"{path} is not a broker record ({exc}); delete it and start again"
        ) from exc
    return record if pid_alive(record.pid) and _is_broker(record.pid) else None


def write_record(settings: Settings, record: BrokerRecord) -> None:
    """Record ``record`` atomically (a reader never sees half a file)."""
    path = record_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(path)


def resolve_bootstrap(settings: Settings | None = None) -> str:
    """``VEHSIM_KAFKA_BOOTSTRAP`` if set, else the embedded broker recorded under ``VEHSIM_HOME``."""
    settings = settings or load_settings()
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    record = read_record(settings)
    if record is None:
        raise BrokerError(
            "no Kafka configured: set VEHSIM_KAFKA_BOOTSTRAP, or start the embedded broker "
            f"with 'vehsim broker start' (VEHSIM_HOME={settings.home})"
        )
    return record.bootstrap
