"""Local Spark services: a standalone cluster and a Spark Connect server, from the pip package.

Both run the JVM classes that pyspark's wheel ships, through its own ``bin/spark-class`` and
``bin/spark-submit``; nothing else is installed.

- **Standalone cluster** (``vehsim spark cluster start [--workers N]``): one master
  (``org.apache.spark.deploy.master.Master``) and N workers (``...deploy.worker.Worker``), each a
  JVM of its own, on 127.0.0.1 and free ports. Each worker offers ``cores_per_worker`` cores and
  ``memory_per_worker`` to executors; the daemons themselves run in a
  :data:`DAEMON_MEMORY` heap. Jobs reach it with ``VEHSIM_SPARK_MASTER=spark://127.0.0.1:PORT``
  or ``--master``.
- **Spark Connect server** (``vehsim spark connect start [--port P]``): the
  ``SparkConnectServer`` application with vehsim's connectors on its classpath
  (:func:`vehsim_pipelines.session.connect_server_command`), its gRPC port bound to 127.0.0.1.
  Clients reach it with ``VEHSIM_SPARK_REMOTE=sc://127.0.0.1:PORT`` or ``--remote``. Its own
  Spark runs ``local[*]`` unless it is given a master (``--master spark://...``).

Everything lives under ``<VEHSIM_HOME>/spark``:

- ``cluster.json`` and ``connect.json``: what runs (pids, ports, log files), written when a
  service is up and removed when it is stopped;
- ``logs/``: ``master.log``, ``worker-<i>.log``, ``connect.log`` (what each JVM prints);
- ``work/``: the workers' work directories (one folder per application, with each executor's
  ``stdout`` and ``stderr``);
- ``local/``: scratch space (shuffle files, spills).

Processes inherit this process's environment, with ``PYSPARK_PYTHON`` defaulting to this
interpreter so that executors' Python workers import the same packages.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vehsim.config import Settings, load_settings
from vehsim.errors import VehsimError
from vehsim.stream.broker_record import runs_command
from vehsim_pipelines.session import connect_server_command, with_class_archive

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"

#: Heap of the master and worker daemons (``SPARK_DAEMON_MEMORY``; Spark's default is 1g). They
#: only schedule; executors get their own JVMs with the worker's memory.
DAEMON_MEMORY = "256m"
DEFAULT_WORKERS = 2
#: What each worker offers to executors. One executor of Spark's default size (1 GiB heap, all
#: the worker's cores) fits on each.
DEFAULT_WORKER_CORES = 1
DEFAULT_WORKER_MEMORY = "1g"
#: Heap of the Spark Connect server's driver (it plans queries; executors do the work).
CONNECT_DRIVER_MEMORY = "1g"
#: How long ``start`` waits for the services to answer [s] (a cold JVM start on 2 busy cores
#: takes 5-15 s).
START_TIMEOUT_S = 120.0
#: How long ``stop`` waits for a clean shutdown before ``SIGKILL`` [s].
STOP_TIMEOUT_S = 30.0


class SparkServiceError(VehsimError):
    """A local Spark service could not be started, found or stopped."""


# --- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaemonRecord:
    """One JVM of a service.

    Attributes:
        role: ``master``, ``worker-<i>`` or ``connect``.
        pid: Process id of the JVM (also its process group: its executors belong to it).
        port: Its service port on ``host`` (RPC, or gRPC for Spark Connect).
        webui_port: Its web UI port (0: none).
        log_path: What the JVM prints.
    """

    role: str
    pid: int
    port: int
    webui_port: int
    log_path: str


@dataclass(frozen=True)
class ClusterRecord:
    """A running standalone cluster."""

    host: str
    master: DaemonRecord
    workers: tuple[DaemonRecord, ...]
    cores_per_worker: int
    memory_per_worker: str
    started_at: float

    @property
    def master_url(self) -> str:
        """What ``--master`` / ``VEHSIM_SPARK_MASTER`` takes: ``spark://host:port``."""
        return f"spark://{self.host}:{self.master.port}"

    @property
    def web_url(self) -> str:
        """The master's web UI; ``<web_url>/json/`` is its state as JSON."""
        return f"http://{self.host}:{self.master.webui_port}"

    @classmethod
    def from_json(cls, data: dict) -> ClusterRecord:
        return cls(
            host=data["host"],
            master=DaemonRecord(**data["master"]),
            workers=tuple(DaemonRecord(**w) for w in data["workers"]),
            cores_per_worker=data["cores_per_worker"],
            memory_per_worker=data["memory_per_worker"],
            started_at=data["started_at"],
        )


@dataclass(frozen=True)
class ConnectRecord:
    """A running Spark Connect server."""

    host: str
    server: DaemonRecord
    master: str
    started_at: float
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """What ``--remote`` / ``VEHSIM_SPARK_REMOTE`` takes: ``sc://host:port``."""
        return f"sc://{self.host}:{self.server.port}"

    @classmethod
    def from_json(cls, data: dict) -> ConnectRecord:
        return cls(**{**data, "server": DaemonRecord(**data["server"])})


@dataclass(frozen=True)
class SparkLayout:
    """Where the local Spark services of one ``VEHSIM_HOME`` keep their files."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> SparkLayout:
        return cls(settings.home / "spark")

    @property
    def cluster_record(self) -> Path:
        return self.root / "cluster.json"

    @property
    def connect_record(self) -> Path:
        return self.root / "connect.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def local_dir(self) -> Path:
        return self.root / "local"


# --- processes -----------------------------------------------------------------------------------


def spark_home() -> Path:
    """The installed ``pyspark`` package folder, which is a Spark distribution (``bin/``,
    ``jars/``)."""
    try:
        import pyspark  # the [spark] extra: a clear error below when it is missing
    except ImportError as exc:
        raise SparkServiceError("pyspark is not installed: pip install 'vehsim[spark]'") from exc
    return Path(pyspark.__file__).resolve().parent


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _free_ports(host: str, n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ports


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _daemon_env(layout: SparkLayout, host: str, heap: str = DAEMON_MEMORY) -> dict[str, str]:
    """The environment of every service JVM: loopback only, a bounded heap, scratch under the
    layout, and this interpreter for Python workers.

    ``SPARK_DAEMON_MEMORY`` is the heap of the master and workers, and Spark's launcher also
    gives it to a Connect server's driver (over ``--driver-memory``), so it is set per service.
    """
    env = dict(os.environ)
    env["SPARK_HOME"] = str(spark_home())
    # Spark binds its RPC and web UIs to SPARK_LOCAL_IP (by default every interface).
    env["SPARK_LOCAL_IP"] = host
    env["SPARK_DAEMON_MEMORY"] = heap
    env["SPARK_LOCAL_DIRS"] = str(layout.local_dir)
    # The master's REST submission server would take the fixed port 6066; jobs are submitted
    # by their drivers instead.
    env["SPARK_MASTER_OPTS"] = (
        env.get("SPARK_MASTER_OPTS", "") + " -Dspark.master.rest.enabled=false"
    ).strip()
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    # The master and workers run on the drivers' classpath: they map the same class archive.
    options = with_class_archive(env.get("SPARK_DAEMON_JAVA_OPTS"))
    if options:
        env["SPARK_DAEMON_JAVA_OPTS"] = options
    return env


def _launch(command: list[str], log_path: Path, env: dict[str, str], cwd: Path) -> int:
    """Start ``command`` in a new session (its own process group, not reached by a Ctrl-C of
    the starting shell), output appended to ``log_path``; returns its pid. ``spark-class`` and
    ``spark-submit`` ``exec`` the JVM, so the pid is the JVM's."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def _terminate(pid: int, main_class: str, timeout_s: float) -> None:
    """SIGTERM to the JVM's process group (the JVM and the executors it launched), SIGKILL when
    it takes longer than ``timeout_s``. Does nothing when ``pid`` no longer runs ``main_class``."""
    if not runs_command(pid, main_class):
        return
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return

    def signal_all(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group == pid:  # started by _launch: the group is the service's own
                os.killpg(group, sig)
            else:
                os.kill(pid, sig)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while runs_command(pid, main_class) and time.monotonic() < deadline:
        time.sleep(0.1)
    if runs_command(pid, main_class):
        signal_all(signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while runs_command(pid, main_class) and time.monotonic() < deadline:
            time.sleep(0.1)
    with contextlib.suppress(ChildProcessError):  # reap it when it is our child
        os.waitpid(pid, os.WNOHANG)


def _tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    problems = [line for line in text if " ERROR " in line or "Exception" in line]
    return "\n".join((problems or text)[-lines:])


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


@contextlib.contextmanager
def _lock(layout: SparkLayout, name: str) -> Iterator[None]:
    """One start or stop of a service at a time per home."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with (layout.root / f"{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def master_state(web_url: str, timeout_s: float = 5.0) -> dict:
    """The standalone master's state (``<web_url>/json/``): workers, cores, active and
    completed applications with their executors."""
    with urllib.request.urlopen(f"{web_url.rstrip('/')}/json/", timeout=timeout_s) as response:
        return json.loads(response.read())


# --- the standalone cluster ----------------------------------------------------------------------


class LocalCluster:
    """Start, find and stop the standalone cluster of one ``VEHSIM_HOME``.

    Args:
        settings: Resolved settings (``home`` decides where everything lives).
        host: The address every daemon binds to.
    """

    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1"):
        self.settings = settings or load_settings()
        self.host = host
        self.layout = SparkLayout.of(self.settings)

    def status(self) -> ClusterRecord | None:
        """The running cluster, or None (a record whose master died is not a cluster)."""
        path = self.layout.cluster_record
        if not path.is_file():
            return None
        try:
            record = ClusterRecord.from_json(json.loads(path.read_text()))
        except (ValueError, TypeError, KeyError) as exc:
            raise SparkServiceError(
                f"{path} is not a cluster record ({exc}); delete it and start again"
            ) from exc
        return record if runs_command(record.master.pid, MASTER_CLASS) else None

    def start(
        self,
        workers: int = DEFAULT_WORKERS,
        cores_per_worker: int = DEFAULT_WORKER_CORES,
        memory_per_worker: str = DEFAULT_WORKER_MEMORY,
        timeout_s: float = START_TIMEOUT_S,
    ) -> ClusterRecord:
        """Start a master and ``workers`` workers (or return the running cluster) and wait until
        every worker has registered with the master.

        Raises:
            SparkServiceError: a running cluster has another number of workers; a daemon
                exited or the workers did not register in time (the message names the logs).
        """
        if workers < 1:
            raise SparkServiceError(f"a cluster needs at least 1 worker, got {workers}")
        if cores_per_worker < 1:
            raise SparkServiceError(f"cores per worker must be >= 1, got {cores_per_worker}")
        with _lock(self.layout, "cluster"):
            running = self.status()
            if running is not None:
                if len(running.workers) != workers:
                    raise SparkServiceError(
                        f"a cluster with {len(running.workers)} worker(s) already runs at "
                        f"{running.master_url}; stop it first ('vehsim spark cluster stop')"
                    )
                return running
            self._stop_leftovers()
            return self._start(workers, cores_per_worker, memory_per_worker, timeout_s)

    def _start(
        self, workers: int, cores_per_worker: int, memory_per_worker: str, timeout_s: float
    ) -> ClusterRecord:
        layout, host = self.layout, self.host
        for folder in (layout.logs_dir, layout.work_dir, layout.local_dir):
            folder.mkdir(parents=True, exist_ok=True)
        spark_class = str(spark_home() / "bin" / "spark-class")
        env = _daemon_env(layout, host)
        port, webui_port = _free_ports(host, 2)
        master_log = layout.logs_dir / "master.log"
        pid = _launch(
            [spark_class, MASTER_CLASS, "--host", host, "--port", str(port)]
            + ["--webui-port", str(webui_port)],
            master_log,
            env,
            layout.root,
        )
        master = DaemonRecord("master", pid, port, webui_port, str(master_log))
        started: list[tuple[int, str]] = [(pid, MASTER_CLASS)]
        try:
            record = ClusterRecord(
                host=host,
                master=master,
                workers=(),
                cores_per_worker=cores_per_worker,
                memory_per_worker=memory_per_worker,
                started_at=time.time(),
            )
            deadline = time.monotonic() + timeout_s
            self._wait(record, 0, deadline)
            worker_records = []
            for i in range(1, workers + 1):
                w_port, w_webui = _free_ports(host, 2)
                log_path = layout.logs_dir / f"worker-{i}.log"
                command = [spark_class, WORKER_CLASS, record.master_url, "--host", host]
                command += ["--port", str(w_port), "--webui-port", str(w_webui)]
                command += ["--cores", str(cores_per_worker), "--memory", memory_per_worker]
                command += ["--work-dir", str(layout.work_dir)]
                w_pid = _launch(command, log_path, env, layout.root)
                started.append((w_pid, WORKER_CLASS))
                worker_records.append(
                    DaemonRecord(f"worker-{i}", w_pid, w_port, w_webui, str(log_path))
                )
            record = ClusterRecord(
                host=host,
                master=master,
                workers=tuple(worker_records),
                cores_per_worker=cores_per_worker,
                memory_per_worker=memory_per_worker,
                started_at=record.started_at,
            )
            self._wait(record, workers, deadline)
        except BaseException:
            for pid_, cls in reversed(started):
                _terminate(pid_, cls, 10.0)
            raise
        _write_json(layout.cluster_record, asdict(record))
        return record

    def _wait(self, record: ClusterRecord, alive_workers: int, deadline: float) -> None:
        """Until the master answers and lists ``alive_workers`` alive workers."""
        last: object = None
        while time.monotonic() < deadline:
            for daemon, cls in [(record.master, MASTER_CLASS)] + [
                (w, WORKER_CLASS) for w in record.workers
            ]:
                if not runs_command(daemon.pid, cls):
                    raise SparkServiceError(
                        f"the Spark {daemon.role} exited while starting; its log: "
                        f"{daemon.log_path}\n{_tail(daemon.log_path)}"
                    )
            try:
                state = master_state(record.web_url, timeout_s=2.0)
                last = f"{state.get('aliveworkers')} of {alive_workers} workers alive"
                if state.get("status") == "ALIVE" and state.get("aliveworkers", 0) >= alive_workers:
                    return
            except (OSError, ValueError) as exc:
                last = exc
            time.sleep(0.3)
        raise SparkServiceError(
            f"the Spark cluster at {record.master_url} was not ready in time ({last}); logs "
            f"in {self.layout.logs_dir}"
        )

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the workers (and their executors), then the master. False when none ran."""
        with _lock(self.layout, "cluster"):
            return self._stop_leftovers(timeout_s)

    def _stop_leftovers(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop whatever the record names that still runs (a master that died leaves workers)."""
        path = self.layout.cluster_record
        if not path.is_file():
            return False
        try:
            record = ClusterRecord.from_json(json.loads(path.read_text()))
        except (ValueError, TypeError, KeyError):
            path.unlink(missing_ok=True)
            return False
        ran = runs_command(record.master.pid, MASTER_CLASS)
        for worker in record.workers:
            _terminate(worker.pid, WORKER_CLASS, timeout_s)
        _terminate(record.master.pid, MASTER_CLASS, timeout_s)
        path.unlink(missing_ok=True)
        return ran


# --- the Spark Connect server --------------------------------------------------------------------


class ConnectServer:
    """Start, find and stop the Spark Connect server of one ``VEHSIM_HOME``.

    Args:
        settings: Resolved settings (``home`` decides where everything lives).
        host: The address its gRPC endpoint (and its driver) binds to.
    """

    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1"):
        self.settings = settings or load_settings()
        self.host = host
        self.layout = SparkLayout.of(self.settings)

    def status(self) -> ConnectRecord | None:
        path = self.layout.connect_record
        if not path.is_file():
            return None
        try:
            record = ConnectRecord.from_json(json.loads(path.read_text()))
        except (ValueError, TypeError, KeyError) as exc:
            raise SparkServiceError(
                f"{path} is not a Spark Connect record ({exc}); delete it and start again"
            ) from exc
        return record if runs_command(record.server.pid, CONNECT_CLASS) else None

    def start(
        self,
        port: int | None = None,
        master: str | None = None,
        conf: dict[str, str] | None = None,
        timeout_s: float = START_TIMEOUT_S,
    ) -> ConnectRecord:
        """Start the server (or return the running one) and wait until its port answers.

        Args:
            port: gRPC port (default: a free one; Spark's own default is 15002).
            master: Where the server's Spark runs (default ``$VEHSIM_SPARK_MASTER`` or
                ``local[*]``), e.g. a standalone cluster's ``spark://`` URL.
            conf: Extra Spark settings of the server.

        Raises:
            SparkServiceError: a running server has another port; the port is taken; the
                server exited or did not answer in time (the message names its log).
        """
        with _lock(self.layout, "connect"):
            running = self.status()
            if running is not None:
                if port is not None and port != running.server.port:
                    raise SparkServiceError(
                        f"a Spark Connect server already runs at {running.url}; stop it first "
                        "('vehsim spark connect stop') or use that port"
                    )
                return running
            if port is None:
                port = free_port(self.host)
            elif _port_answers(self.host, port):
                raise SparkServiceError(
                    f"port {port} on {self.host} is in use; choose another with --port"
                )
            master = master or os.environ.get("VEHSIM_SPARK_MASTER") or "local[*]"
            layout = self.layout
            for folder in (layout.logs_dir, layout.local_dir):
                folder.mkdir(parents=True, exist_ok=True)
            log_path = layout.logs_dir / "connect.log"
            command = connect_server_command(
                port, host=self.host, master=master, conf=conf, driver_memory=CONNECT_DRIVER_MEMORY
            )
            env = _daemon_env(layout, self.host, heap=CONNECT_DRIVER_MEMORY)
            pid = _launch(command, log_path, env, layout.root)
            record = ConnectRecord(
                host=self.host,
                server=DaemonRecord("connect", pid, port, 0, str(log_path)),
                master=master,
                started_at=time.time(),
                conf=dict(conf or {}),
            )
            try:
                deadline = time.monotonic() + timeout_s
                while not _port_answers(self.host, port):
                    if not runs_command(pid, CONNECT_CLASS):
                        raise SparkServiceError(
                            f"the Spark Connect server exited while starting; its log: "
                            f"{log_path}\n{_tail(log_path)}"
                        )
                    if time.monotonic() > deadline:
                        raise SparkServiceError(
                            f"the Spark Connect server did not answer on {self.host}:{port} "
                            f"within {timeout_s:.0f} s; its log: {log_path}"
                        )
                    time.sleep(0.3)
            except BaseException:
                _terminate(pid, CONNECT_CLASS, 10.0)
                raise
            _write_json(layout.connect_record, asdict(record))
            return record

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the server (its sessions end; tables and checkpoints stay). False when none ran."""
        with _lock(self.layout, "connect"):
            path = self.layout.connect_record
            if not path.is_file():
                return False
            try:
                record = ConnectRecord.from_json(json.loads(path.read_text()))
            except (ValueError, TypeError, KeyError):
                path.unlink(missing_ok=True)
                return False
            ran = runs_command(record.server.pid, CONNECT_CLASS)
            _terminate(record.server.pid, CONNECT_CLASS, timeout_s)
            path.unlink(missing_ok=True)
            return ran


# --- command line --------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``vehsim spark cluster|connect start|stop|status`` and ``vehsim spark class-archive``
    to the ``vehsim`` command line."""
    parser = subparsers.add_parser(
        "spark",
        help="run a local Spark standalone cluster or Spark Connect server (loopback)",
        description=(
            "Start, stop or inspect local Spark services of VEHSIM_HOME, from the pyspark "
            "package itself: a standalone cluster (a master and N workers, each its own JVM) "
            "and a Spark Connect server with vehsim's Kafka and Delta connectors. Everything "
            "binds to 127.0.0.1; logs and records are in VEHSIM_HOME/spark."
        ),
    )
    services = parser.add_subparsers(dest="service", metavar="SERVICE", required=True)

    cluster = services.add_parser(
        "cluster",
        help="a standalone master and workers (jobs: --master / VEHSIM_SPARK_MASTER)",
        description="A Spark standalone cluster on 127.0.0.1: one master and N workers.",
    )
    cluster.add_argument("action", choices=("start", "stop", "status"))
    cluster.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="workers (default 2)")
    cluster.add_argument(
        "--cores-per-worker",
        type=int,
        default=DEFAULT_WORKER_CORES,
        help=f"cores each worker offers (default {DEFAULT_WORKER_CORES})",
    )
    cluster.add_argument(
        "--memory-per-worker",
        default=DEFAULT_WORKER_MEMORY,
        help=f"memory each worker offers to executors (default {DEFAULT_WORKER_MEMORY})",
    )
    cluster.add_argument("--json", action="store_true", help="print the record as JSON")
    cluster.set_defaults(func=_cluster_command)

    connect = services.add_parser(
        "connect",
        help="a Spark Connect server with vehsim's connectors (clients: --remote / "
        "VEHSIM_SPARK_REMOTE)",
        description="A Spark Connect server on 127.0.0.1 with the Kafka source and delta-spark.",
    )
    connect.add_argument("action", choices=("start", "stop", "status"))
    connect.add_argument("--port", type=int, default=None, help="gRPC port (default: a free one)")
    connect.add_argument(
        "--master",
        default=None,
        help="where the server's Spark runs (default $VEHSIM_SPARK_MASTER or local[*])",
    )
    connect.add_argument("--json", action="store_true", help="print the record as JSON")
    connect.set_defaults(func=_connect_command)

    archive = services.add_parser(
        "class-archive",
        help="build the class-data archive Spark's drivers start from (once; make jars runs it)",
        description=(
            "Write the class-data archive that vehsim's Spark drivers map at start-up (the "
            "classes Spark, Delta and the jobs load, parsed and verified once): a training "
            "run of the Silver and Gold jobs on a four-minute drive of two cars, about a minute. "
            "Drivers start without it as before, only slower. Kept with the JVM artifacts."
        ),
    )
    archive.add_argument("--rebuild", action="store_true", help="write it again even if it exists")
    archive.set_defaults(func=_class_archive_command)


def _class_archive_command(args: argparse.Namespace) -> int:
    from vehsim_pipelines import class_archive

    print("vehsim: building the Spark drivers' class-data archive ...", file=sys.stderr)
    started = time.monotonic()
    path = class_archive.build(rebuild=args.rebuild)
    print(
        f"spark class-data archive: {path} ({path.stat().st_size / 2**20:.0f} MiB, "
        f"{time.monotonic() - started:.0f} s)",
        file=sys.stderr,
    )
    return 0


def _print(args: argparse.Namespace, record, text: str) -> None:
    print(json.dumps(asdict(record)) if args.json else text)


def _cluster_command(args: argparse.Namespace) -> int:
    cluster = LocalCluster(load_settings())
    if args.action == "start":
        record = cluster.start(args.workers, args.cores_per_worker, args.memory_per_worker)
        _print(
            args,
            record,
            f"Spark cluster running at {record.master_url} ({len(record.workers)} worker(s), "
            f"{record.cores_per_worker} core(s) and {record.memory_per_worker} each); "
            f"web UI {record.web_url}; logs {cluster.layout.logs_dir}\n"
            f"  export VEHSIM_SPARK_MASTER={record.master_url}",
        )
        return 0
    if args.action == "stop":
        stopped = cluster.stop()
        print(
            "Spark cluster stopped" if stopped else "no Spark cluster was running", file=sys.stderr
        )
        return 0
    record = cluster.status()
    if record is None:
        if args.json:
            print(json.dumps(None))
        print(f"no Spark cluster running for VEHSIM_HOME={cluster.settings.home}", file=sys.stderr)
        return 1
    try:
        state = master_state(record.web_url)
        detail = (
            f"{state.get('aliveworkers')} alive worker(s), {state.get('cores')} core(s), "
            f"{len(state.get('activeapps', []))} running and "
            f"{len(state.get('completedapps', []))} completed application(s)"
        )
    except (OSError, ValueError) as exc:
        detail = f"master does not answer: {exc}"
    _print(args, record, f"Spark cluster running at {record.master_url}: {detail}")
    return 0


def _connect_command(args: argparse.Namespace) -> int:
    server = ConnectServer(load_settings())
    if args.action == "start":
        record = server.start(port=args.port, master=args.master)
        _print(
            args,
            record,
            f"Spark Connect server at {record.url} (pid {record.server.pid}, Spark on "
            f"{record.master}); log {record.server.log_path}\n"
            f"  export VEHSIM_SPARK_REMOTE={record.url}",
        )
        return 0
    if args.action == "stop":
        stopped = server.stop()
        print(
            "Spark Connect server stopped" if stopped else "no Spark Connect server was running",
            file=sys.stderr,
        )
        return 0
    record = server.status()
    if record is None:
        if args.json:
            print(json.dumps(None))
        print(
            f"no Spark Connect server running for VEHSIM_HOME={server.settings.home}",
            file=sys.stderr,
        )
        return 1
    if args.port is not None and args.port != record.server.port:
        print(f"the Spark Connect server listens on {record.url}, not port {args.port}")
        return 1
    _print(args, record, f"Spark Connect server at {record.url} (Spark on {record.master})")
    return 0


__all__ = [
    "ClusterRecord",
    "ConnectRecord",
    "ConnectServer",
    "DaemonRecord",
    "LocalCluster",
    "SparkLayout",
    "SparkServiceError",
    "master_state",
    "register",
    "spark_home",
]
