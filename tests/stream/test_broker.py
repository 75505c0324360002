"""The embedded Apache Kafka broker: lifecycle, what survives a stop and a kill -9, failures.

Each integration test starts its own broker (127.0.0.1, free ports) under a private
VEHSIM_HOME and stops it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from vehsim.stream.broker import (
    EmbeddedBroker,
    free_port,
    new_cluster_id,
    server_properties,
)

KEYS = [f"car-{i}".encode() for i in range(5)]


def _env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(tmp_path / "home")
    env["VEHSIM_JARS_DIR"] = os.environ["VEHSIM_JARS_DIR"]  # set by conftest
    return env


def _vehsim(env, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "vehsim.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _produce(bootstrap: str, topic: str, n: int, start: int = 0) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for i in range(start, start + n):
            producer.send(topic, key=KEYS[i % len(KEYS)], value=str(i).encode())
        producer.flush(30)
    finally:
        producer.close()


def _read_all(bootstrap: str, topic: str) -> list[int]:
    """Every value of ``topic``, partition by partition, in offset order."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning()
        values: dict[int, list[int]] = {tp.partition: [] for tp in tps}
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "could not read the topic to its end"
            for tp, records in consumer.poll(timeout_ms=500).items():
                values[tp.partition] += [int(r.value) for r in records]
        return [v for p in sorted(values) for v in values[p]]
    finally:
        consumer.close()


# --- without a JVM -------------------------------------------------------------------------


def test_configuration_is_one_loopback_node_with_single_replicas(tmp_path):
    props = server_properties(tmp_path, host="127.0.0.1", port=19092, controller_port=19093)
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == props["listeners"]
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["log.dirs"] == str(tmp_path)
    assert props["auto.create.topics.enable"] == "false"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "min.insync.replicas",
    ):
        assert props[key] == "1", key


def test_cluster_ids_have_kafkas_form():
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert set(cluster_id) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


def test_a_recorded_pid_of_another_program_is_not_the_broker(tmp_path):
    from vehsim.config import load_settings
    from vehsim.stream.broker_record import BrokerRecord, read_record, write_record

    settings = load_settings({"VEHSIM_HOME": str(tmp_path)})
    # this Python process is alive but is not a Kafka broker (a reused pid)
    write_record(settings, BrokerRecord(os.getpid(), 1, "127.0.0.1", 0.0, "x.log"))
    assert read_record(settings) is None


def test_client_settings_do_not_import_the_broker():
    """kafka_config depends on the broker record only; the broker module depends on both."""
    code = "import sys, vehsim.stream.kafka_config; print('vehsim.stream.broker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_taken_port_is_refused_before_anything_starts(tmp_path):
    from vehsim.config import load_settings
    from vehsim.errors import BrokerError

    settings = load_settings({"VEHSIM_HOME": str(tmp_path)})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is in use"):
            EmbeddedBroker(settings).start(port=port)
    assert not (tmp_path / "kafka" / "data").exists()


# --- with the broker -----------------------------------------------------------------------


@pytest.mark.integration
def test_cli_lifecycle_and_data_survive_a_stop_and_kill_9(tmp_path):
    env = _env(tmp_path)
    port = free_port()

    def status() -> dict:
        shown = _vehsim(env, "broker", "status", "--json")
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)

    assert _vehsim(env, "broker", "status").returncode == 1
    try:
        started = _vehsim(env, "broker", "start", "--port", str(port))
        assert started.returncode == 0, started.stderr
        assert f"127.0.0.1:{port}" in started.stdout
        first = status()
        assert first["port"] == port and first["data_dir"].startswith(env["VEHSIM_HOME"])
        assert os.path.isfile(first["log_path"]) and os.path.getsize(first["log_path"]) > 0
        again = _vehsim(env, "broker", "start", "--port", str(port))
        assert again.returncode == 0, "starting twice returns the running broker"
        other = _vehsim(env, "broker", "start", "--port", str(free_port()))
        assert other.returncode == 2 and "already runs on port" in other.stderr
        bootstrap, topic = f"127.0.0.1:{port}", "vehsim.telemetry"
        _produce(bootstrap, topic, 300)

        # a clean stop: a start without --port takes the same port again, on the same data
        stopped = _vehsim(env, "broker", "stop")
        assert stopped.returncode == 0 and "stopped" in stopped.stderr
        assert _vehsim(env, "broker", "status").returncode == 1
        again = _vehsim(env, "broker", "start")
        assert again.returncode == 0, again.stderr
        second = status()
        assert (second["port"], second["cluster_id"]) == (port, first["cluster_id"])
        assert sorted(_read_all(bootstrap, topic)) == list(range(300))

        # kill -9: the recorded pid is dead, the data is not; start recovers it
        os.kill(second["pid"], signal.SIGKILL)
        _wait_dead(second["pid"])
        assert _vehsim(env, "broker", "status").returncode == 1
        t0 = time.monotonic()
        recovered = _vehsim(env, "broker", "start")
        restart_s = time.monotonic() - t0
        assert recovered.returncode == 0, recovered.stderr
        third = status()
        assert (third["port"], third["cluster_id"]) == (port, first["cluster_id"])
        _produce(bootstrap, topic, 100, start=300)
        values = _read_all(bootstrap, topic)
        assert sorted(values) == list(range(400)), "acknowledged records were lost or doubled"
        for key in range(len(KEYS)):  # one key's records: one partition, in the order sent
            mine = [v for v in values if v % len(KEYS) == key]
            assert mine == sorted(mine)
        assert restart_s < 90, f"restart after kill -9 took {restart_s:.0f} s"

        # a JVM that no record names (a start interrupted before it answered) is still found
        os.unlink(os.path.join(env["VEHSIM_HOME"], "run", "broker.json"))
        assert _vehsim(env, "broker", "status").returncode == 1
        assert "stopped" in _vehsim(env, "broker", "stop").stderr
        _wait_dead(third["pid"])
    finally:
        _vehsim(env, "broker", "stop")


def _wait_dead(pid: int, timeout_s: float = 10.0) -> None:
    from vehsim.stream.broker_record import pid_alive

    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive after SIGKILL"
        time.sleep(0.05)


@pytest.mark.integration
def test_a_broker_that_cannot_start_is_reported_with_its_log(tmp_path):
    from vehsim.config import load_settings
    from vehsim.errors import BrokerError

    settings = load_settings(_env(tmp_path))
    broker = EmbeddedBroker(settings)
    # a log directory that claims to be formatted but belongs to no node Kafka can start
    broker.layout.data_dir.mkdir(parents=True)
    broker.layout.meta_properties.write_text("version=1\nnode.id=7\n")
    with pytest.raises(BrokerError) as failure:
        broker.start(timeout_s=60)
    message = str(failure.value)
    assert "exited with code" in message
    assert str(broker.layout.log_path) in message
    assert broker.status() is None


@pytest.mark.integration
def test_topics_vehsim_creates_refuse_record_timestamps_spark_cannot_read(kafka_broker):
    """The topic itself carries the one-hour limit on producer timestamps (not only the broker's
    default), and a record stamped in year 10,000 is refused to its producer."""
    import uuid

    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import KafkaError

    from vehsim.config import load_settings
    from vehsim.stream.broker import TOPIC_CONFIG, ensure_topics

    settings = load_settings(
        {
            "VEHSIM_HOME": str(kafka_broker.home),
            "VEHSIM_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
            "VEHSIM_TOPIC_PREFIX": f"ts{uuid.uuid4().hex[:8]}.",
        }
    )
    ensure_topics(settings)
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.telemetry_topic)]
        )
    finally:
        admin.close()

    # {resource type: {resource name: {config key: {config data}}}}
    (configs,) = (by_name[settings.telemetry_topic] for by_name in described.values())
    found = {key: (data.get("value") if isinstance(data, dict) else data)
             for key, data in configs.items()}  # fmt: skip
    for name, value in TOPIC_CONFIG.items():
        assert found.get(name) == value, sorted(found)[:40]

    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, retries=0)
    try:
        refused = producer.send(settings.telemetry_topic, b"{}", timestamp_ms=253_402_300_800_000)
        with pytest.raises(KafkaError, match="(?i)timestamp"):
            refused.get(timeout=30)
        producer.send(settings.telemetry_topic, b"{}").get(timeout=30)  # the next one lands
    finally:
        producer.close()


def test_a_service_inside_exec_counts_as_running(monkeypatch):
    """Linux shows an empty command line while a process is inside ``execve``; a start that
    polls then (``spark-class`` execs its JVM) must not take the service for dead."""
    import builtins

    from vehsim.stream.broker_record import runs_command

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "marker-x"])
    try:
        # Popen returns once the child is inside execve: its command line may still be empty
        deadline = time.monotonic() + 10.0
        while b"marker-x" not in open(f"/proc/{child.pid}/cmdline", "rb").read():
            assert time.monotonic() < deadline, "the child never showed its command line"
            time.sleep(0.01)
        assert runs_command(child.pid, "marker-x")
        assert not runs_command(child.pid, "another-program")
        real_open = builtins.open

        def exec_window(path, *args, **kwargs):
            if str(path) == f"/proc/{child.pid}/cmdline":
                return io.BytesIO(b"")
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", exec_window)
        assert runs_command(child.pid, "another-program")
        monkeypatch.undo()
    finally:
        child.kill()
        child.wait()
    assert not runs_command(child.pid, "marker-x")
