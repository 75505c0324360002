"""The embedded broker: Apache Kafka in KRaft mode, one JVM that is broker and controller at once.

``vehsim broker start`` runs ``java -Xmx512m -cp '<jars>/*' kafka.Kafka server.properties`` on
127.0.0.1 with the jars of :func:`vehsim.jvm.ensure_jars` (``kafka-broker``, fetched once with
Maven). Everything the broker owns lives under ``<VEHSIM_HOME>/kafka``:

- ``data/``: its log directory (topics and the KRaft metadata log), formatted once with the
  storage tool and a new cluster id; records survive ``vehsim broker stop``, a crash and
  ``kill -9`` (they are in the operating system's page cache as soon as the broker
  acknowledges them);
- ``server.properties`` and ``log4j2.properties``: written at every start;
- ``logs/server.log``: the broker's log (``logs/jvm.out`` holds what the JVM prints itself);
- ``ports.json``: the ports of the last start, reused by the next one when they are free, so
  that clients' bootstrap address stays valid across restarts;
- ``jvm.pid``: the last JVM's pid, so that one left running by an interrupted start is found.

A running broker is recorded in ``<VEHSIM_HOME>/run/broker.json``
(:mod:`vehsim.stream.broker_record`). It is a development broker: production points
``VEHSIM_KAFKA_BOOTSTRAP`` at a Kafka cluster (or Azure Event Hubs' Kafka endpoint) instead.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from vehsim import jvm
from vehsim.config import Settings, load_settings
from vehsim.errors import BrokerError, ConfigError
from vehsim.jvm import ensure_jars, jars_root
from vehsim.stream.broker_record import (
    BrokerRecord,
    pid_alive,
    read_record,
    record_path,
    resolve_bootstrap,
    runs_command,
    write_record,
)
from vehsim.stream.kafka_config import client_config

# kafka-python (the [stream] extra) is imported inside the functions that use it, so that
# `import vehsim` and the offline commands work without it.

__all__ = [
    "BrokerLayout",
    "BrokerRecord",
    "EmbeddedBroker",
    "ensure_topics",
    "free_port",
    "read_record",
    "resolve_bootstrap",
    "server_properties",
    "tcp_reachable",
    "wait_until_answering",
]

log = logging.getLogger(__name__)

#: The broker JVM's heap ceiling [MiB]; a single development node with a few topics runs in
#: ~350 MiB resident.
DEFAULT_HEAP_MB = 512
#: JIT and collector for a broker that shares 2 cores with Spark: C1 only and the serial collector
#: spend less CPU on the JVM itself. Measured under load (load average ~15-20) against the
#: defaults (C2, G1): start 7-8 s instead of 12 s, 45k instead of 26-36k produced and 119-129k
#: instead of 88-89k consumed records/s (librdkafka, 800-byte records).
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
#: How long ``start`` waits for the broker to answer [s]. A cold start takes ~10 s on 2 busy
#: cores; after ``kill -9`` the controller first waits out the dead broker's session (~9 s).
START_TIMEOUT_S = 120.0
#: How long ``stop`` waits for a clean shutdown before ``SIGKILL`` [s].
STOP_TIMEOUT_S = 30.0
#: Largest record batch the broker accepts [bytes]: Kafka's default, above the 1,000,000-byte
#: requests vehsim's producer (and Event Hubs) allow.
MESSAGE_MAX_BYTES = 1_048_588
#: Log segment size [bytes]. Smaller than Kafka's 1 GiB so that recovery after ``kill -9``,
#: which re-reads the segments written since the last checkpoint, stays short.
SEGMENT_BYTES = 128 * 1024 * 1024
#: Partitions of the internal consumer-offsets and transaction topics (Kafka: 50 each, sized
#: for clusters; one node with a few clients needs few).
INTERNAL_TOPIC_PARTITIONS = 4
NODE_ID = 1
_BROKER_JARS = "kafka-broker"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_free(host: str, port: int) -> bool:
    """True when a server could listen on ``host:port`` now (sockets in TIME_WAIT do not count,
    as the JVM binds with ``SO_REUSEADDR`` too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


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


def wait_until_answering(
    bootstrap: str,
    timeout_s: float = 20.0,
    *,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Block until a Kafka client gets cluster metadata from ``bootstrap``.

    Args:
        bootstrap: ``host:port[,host:port...]``.
        timeout_s: Longest wait [s].
        alive: Called between attempts; when it returns False (the broker process died),
            waiting stops with :class:`BrokerError` at once.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise BrokerError(f"the broker for {bootstrap} exited while starting")
        if not tcp_reachable(bootstrap, timeout_s=0.5):
            time.sleep(0.2)
            continue
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=3000, client_id="vehsim-probe"
            )
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.2)
    raise BrokerError(f"broker at {bootstrap} did not answer within {timeout_s:.0f} s ({last})")


#: Configuration of the topics vehsim creates. A producer-set record timestamp more than an hour
#: ahead of the broker's clock is refused at the broker (the producer gets the error), as Apache
#: Kafka 4 does by default, so that a record Spark's Kafka source cannot turn into a timestamp
#: (past year 294,247) never reaches Bronze even on a cluster whose default is looser (KIP-937,
#: Kafka 3.6+).
TOPIC_CONFIG = {"message.timestamp.after.max.ms": "3600000"}


def ensure_topics(
    settings: Settings, bootstrap: str | None = None, connect_timeout_s: float = 10.0
) -> None:
    """Create the telemetry and commands topics if they do not exist yet.

    Args:
        connect_timeout_s: Longest wait for the broker's first answer [s] (the client's own
            default is 30 s, long for a broker that is away or speaks another protocol).
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import InvalidConfigurationError, TopicAlreadyExistsError

    admin = KafkaAdminClient(
        **client_config(settings, bootstrap), bootstrap_timeout_ms=int(connect_timeout_s * 1000)
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            (settings.telemetry_topic, settings.telemetry_partitions),
            (settings.commands_topic, 1),
        ]
        missing = [(name, n) for name, n in wanted if name not in existing]
        if missing:
            try:
                try:
                    admin.create_topics(
                        [NewTopic(name, n, 1, topic_configs=TOPIC_CONFIG) for name, n in missing]
                    )
                except InvalidConfigurationError:  # a cluster older than Kafka 3.6
                    log.warning(
                        "the cluster does not know %s; topics created with its defaults "
                        "(see docs/bronze.md on record timestamps)",
                        ", ".join(TOPIC_CONFIG),
                    )
                    admin.create_topics([NewTopic(name, n, 1) for name, n in missing])
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", [name for name, _ in missing])
    finally:
        admin.close()


def wait_for_leaders(
    settings: Settings, bootstrap: str, topics: list[str], timeout_s: float = 30.0
) -> None:
    """Block until every partition of ``topics`` has a leader (after a restart they recover
    first; producers and readers started before that see errors)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(**client_config(settings, bootstrap))
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                described = admin.describe_topics(topics)
                ready = all(
                    t["error_code"] == 0
                    and t["partitions"]
                    and all(p["leader_id"] >= 0 for p in t["partitions"])
                    for t in described
                )
            except KafkaError as exc:
                ready, described = False, exc
            if ready:
                return
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"topics {topics} at {bootstrap} have no leader after {timeout_s:.0f} s "
                    f"({described})"
                )
            time.sleep(0.2)
    finally:
        admin.close()


# --- files of one broker ---------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerLayout:
    """Where the embedded broker of one ``VEHSIM_HOME`` keeps its files."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> BrokerLayout:
        return cls(settings.home / "kafka")

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def log_path(self) -> Path:
        return self.logs_dir / "server.log"

    @property
    def jvm_out_path(self) -> Path:
        return self.logs_dir / "jvm.out"

    @property
    def server_properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.root / "log4j2.properties"

    @property
    def ports_path(self) -> Path:
        return self.root / "ports.json"

    @property
    def pid_path(self) -> Path:
        return self.root / "jvm.pid"

    @property
    def meta_properties(self) -> Path:
        return self.data_dir / "meta.properties"

    def formatted(self) -> bool:
        return self.meta_properties.is_file()

    def cluster_id(self) -> str:
        """The cluster id the log directory was formatted with ('' if not formatted)."""
        if not self.formatted():
            return ""
        for line in self.meta_properties.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "cluster.id":
                return value.strip()
        return ""


def server_properties(
    data_dir: Path, *, host: str, port: int, controller_port: int
) -> dict[str, str]:
    """The broker's configuration: one combined KRaft node on ``host`` only.

    Replication factors and minimum in-sync replicas are 1 (there is one node), topics are
    created by vehsim (:func:`ensure_topics`) rather than on first use, and the controller
    listens on its own loopback port.
    """
    client = f"PLAINTEXT://{host}:{port}"
    controller = f"CONTROLLER://{host}:{controller_port}"
    return {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "listeners": f"{client},{controller}",
        "advertised.listeners": f"{client},{controller}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.bootstrap.servers": f"{host}:{controller_port}",
        "log.dirs": str(data_dir),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": str(INTERNAL_TOPIC_PARTITIONS),
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": str(INTERNAL_TOPIC_PARTITIONS),
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "message.max.bytes": str(MESSAGE_MAX_BYTES),
        "log.segment.bytes": str(SEGMENT_BYTES),
        "log.retention.hours": "168",
        "num.network.threads": "2",
        "num.io.threads": "4",
    }


def _render_properties(values: dict[str, str]) -> str:
    lines = ["# Written by vehsim at every 'vehsim broker start'; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _log4j2_properties(log_path: Path) -> str:
    """Log4j 2 configuration: INFO and above into a size-bounded rolling file, nothing on the
    console."""
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = RollingFile",
            "appender.file.name = file",
            f"appender.file.fileName = {log_path}",
            f"appender.file.filePattern = {log_path}.%i",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 10MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 3",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = file",
            "logger.request.name = kafka.request.logger",
            "logger.request.level = WARN",
            "",
        ]
    )


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form: 16 random bytes, URL-safe base64 without padding
    (never starting with '-', which the storage tool would take for an option)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def java_executable() -> str:
    """``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    found = jvm.java_executable()
    if found is None:
        raise BrokerError(
            "the embedded broker (Apache Kafka) needs Java 17 or newer: install it "
            "(Debian: apt-get install default-jre-headless) or set JAVA_HOME"
        )
    return found


def _tail(path: Path, lines: int = 12, only_problems: bool = False) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    if only_problems:  # error lines, each with the exception line that follows it
        problems = []
        for i, line in enumerate(text):
            if " ERROR " in line or " FATAL " in line:
                problems.append(line)
                if i + 1 < len(text) and not text[i + 1].startswith("["):
                    problems.append(text[i + 1])
        text = problems or text
    return "\n".join(text[-lines:])


class EmbeddedBroker:
    """Start, find and stop the Apache Kafka broker that belongs to one ``VEHSIM_HOME``.

    Args:
        settings: Resolved settings (``home`` decides where everything lives).
        host: Address the broker (client and controller listeners) binds to.
        heap_mb: The JVM's maximum heap [MiB].
    """

    def __init__(
        self,
        settings: Settings | None = None,
        host: str = "127.0.0.1",
        heap_mb: int = DEFAULT_HEAP_MB,
    ):
        self.settings = settings or load_settings()
        self.host = host
        self.heap_mb = heap_mb
        self.layout = BrokerLayout.of(self.settings)

    def status(self) -> BrokerRecord | None:
        return read_record(self.settings)

    # -- start ---------------------------------------------------------------------------------
    def start(self, port: int | None = None, timeout_s: float = START_TIMEOUT_S) -> BrokerRecord:
        """Start the broker (or return the running one), wait until it answers, create topics.

        Restarts on the data left by an earlier broker of the same home (stopped, crashed or
        killed), on the same port when it is free.

        Raises:
            BrokerError: another port was asked of a running broker; Java or the jars are
                missing; the port is taken; the broker exited or did not answer in time
                (the message names its log file).
        """
        with self._lock():
            running = self.status()
            if running is not None:
                if port is not None and port != running.port:
                    raise ConfigError(  # a request that contradicts the running broker
                        f"an embedded broker already runs on port {running.port} for "
                        f"{self.settings.home}; stop it first or use that port"
                    )
                return running
            orphan = self._orphan()
            if orphan is not None:
                log.warning(
                    "stopping the broker JVM (pid %d) that an interrupted start left on %s",
                    orphan,
                    self.layout.data_dir,
                )
                _terminate(orphan, STOP_TIMEOUT_S)
            return self._start(port, timeout_s)

    def _start(self, port: int | None, timeout_s: float) -> BrokerRecord:
        layout = self.layout
        java = java_executable()
        jars_dir = self._jars_dir()
        port, controller_port = self._choose_ports(port)
        layout.logs_dir.mkdir(parents=True, exist_ok=True)
        properties = server_properties(
            layout.data_dir, host=self.host, port=port, controller_port=controller_port
        )
        layout.log4j_config.write_text(_log4j2_properties(layout.log_path))
        if not layout.formatted():
            self._format(java, jars_dir, properties)
        layout.server_properties.write_text(_render_properties(properties))
        layout.ports_path.write_text(json.dumps({"port": port, "controller_port": controller_port}))

        command = [
            java,
            f"-Xmx{self.heap_mb}m",
            *JVM_OPTIONS,
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={layout.log4j_config}",
            "-cp",
            f"{jars_dir}/*",
            "kafka.Kafka",
            str(layout.server_properties),
        ]
        with layout.jvm_out_path.open("ab") as out:
            proc = subprocess.Popen(
                command,
                cwd=layout.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the starting command does not reach it
            )
        layout.pid_path.write_text(f"{proc.pid}\n")
        record = BrokerRecord(
            pid=proc.pid,
            port=port,
            host=self.host,
            started_at=time.time(),
            log_path=str(layout.log_path),
            controller_port=controller_port,
            data_dir=str(layout.data_dir),
            cluster_id=layout.cluster_id(),
        )
        from kafka.errors import KafkaError

        # the embedded broker speaks plaintext, whatever security a production cluster needs
        local = replace(
            self.settings,
            security_protocol="PLAINTEXT",
            sasl_mechanism=None,
            sasl_username=None,
            sasl_password=None,
            ssl_cafile=None,
        )
        topics = [local.telemetry_topic, local.commands_topic]
        started = time.monotonic()
        try:
            try:
                wait_until_answering(record.bootstrap, timeout_s, alive=lambda: proc.poll() is None)
                ensure_topics(local, record.bootstrap)
                remaining_s = max(5.0, timeout_s - (time.monotonic() - started))
                wait_for_leaders(local, record.bootstrap, topics, remaining_s)
            except (BrokerError, KafkaError) as exc:
                raise BrokerError(self._failure(exc, proc)) from None
        except BaseException:
            _terminate(proc.pid, 10.0)
            with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
                proc.wait(1)
            raise
        write_record(self.settings, record)
        log.info(
            "embedded Kafka up at %s (pid %d) in %.1f s; data in %s",
            record.bootstrap,
            record.pid,
            time.monotonic() - started,
            layout.data_dir,
        )
        return record

    def _failure(self, exc: Exception, proc: subprocess.Popen) -> str:
        layout = self.layout
        code = proc.poll()
        what = f"exited with code {code}" if code is not None else "did not become ready"
        details = _tail(layout.log_path, only_problems=True) or _tail(layout.jvm_out_path)
        return (
            f"the embedded Kafka broker {what} ({exc}). Its log: {layout.log_path} "
            f"(JVM output: {layout.jvm_out_path}).\n{details}"
        ).rstrip()

    def _jars_dir(self) -> Path:
        root = jars_root()
        jars = ensure_jars(_BROKER_JARS, root=root)
        if not jars:
            raise BrokerError(f"no jars in {root / _BROKER_JARS}; run 'vehsim jars fetch'")
        return jars[0].parent

    def _choose_ports(self, port: int | None) -> tuple[int, int]:
        """The asked port, else the last start's when free, else a free one; the controller
        likewise (the KRaft metadata remembers its address)."""
        previous: dict[str, int] = {}
        if self.layout.ports_path.is_file():
            with contextlib.suppress(ValueError, OSError):
                previous = json.loads(self.layout.ports_path.read_text())
        if port is not None:
            if not port_free(self.host, port):
                raise BrokerError(
                    f"port {port} on {self.host} is in use; choose another with --port or "
                    "leave it out to take a free one"
                )
        else:
            last = previous.get("port")
            port = last if last and port_free(self.host, last) else free_port(self.host)
        controller_port = previous.get("controller_port")
        if (
            not controller_port
            or controller_port == port
            or not port_free(self.host, controller_port)
        ):
            controller_port = free_port(self.host)
            while controller_port == port:
                controller_port = free_port(self.host)
        return port, controller_port

    def _format(self, java: str, jars_dir: Path, properties: dict[str, str]) -> None:
        """Format a new log directory with a new cluster id, into a staging folder that is
        renamed into place when complete (a start interrupted here leaves no half-formatted
        data behind)."""
        layout = self.layout
        staging = layout.root / "data.formatting"
        if staging.exists():
            shutil.rmtree(staging)
        if layout.data_dir.exists():  # unformatted leftovers (e.g. created by hand)
            if any(layout.data_dir.iterdir()):
                raise BrokerError(
                    f"{layout.data_dir} holds files but was never formatted as a Kafka log "
                    "directory; move it away and start again"
                )
            layout.data_dir.rmdir()
        config = layout.root / "format.properties"
        config.write_text(_render_properties({**properties, "log.dirs": str(staging)}))
        cluster_id = new_cluster_id()
        result = subprocess.run(
            [
                java,
                "-Xmx256m",
                f"-Dlog4j2.configurationFile={layout.log4j_config}",
                "-cp",
                f"{jars_dir}/*",
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                cluster_id,
                "--config",
                str(config),
                "--standalone",
            ],
            cwd=layout.root,
            capture_output=True,
            text=True,
            check=False,
        )
        config.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            output = (result.stdout + result.stderr).strip()
            raise BrokerError(f"formatting {layout.data_dir} failed:\n{output}")
        staging.rename(layout.data_dir)
        log.info("formatted %s for cluster %s", layout.data_dir, cluster_id)

    # -- stop ----------------------------------------------------------------------------------
    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the recorded broker cleanly (``SIGKILL`` after ``timeout_s``). Its data stays.

        Returns False when none was running.
        """
        with self._lock():
            record = self.status()
            path = record_path(self.settings)
            pid = record.pid if record is not None else self._orphan()
            path.unlink(missing_ok=True)
            if pid is None:
                return False
            _terminate(pid, timeout_s)
            return True

    def _orphan(self) -> int | None:
        """The pid of a broker JVM on this home's data that no record names (its start was
        interrupted before it answered), if one runs."""
        try:
            pid = int(self.layout.pid_path.read_text())
        except (OSError, ValueError):
            return None
        return pid if runs_command(pid, str(self.layout.server_properties)) else None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One start or stop at a time per home (two starts would race for the same data)."""
        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        with (self.settings.run_dir / "broker.lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM (Kafka shuts down cleanly), SIGKILL when it takes longer than ``timeout_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    with contextlib.suppress(ChildProcessError):  # reap it when it is our child
        os.waitpid(pid, os.WNOHANG)
