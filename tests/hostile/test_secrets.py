"""Configured secrets never reach a log, at any level (issue 12, finding 6).

A SASL password, an Azure account key and a connection string are set to known values; every
output of ``vehsim -v drive`` (stdout, stderr) and every file under ``VEHSIM_HOME`` is searched
for them, in the forms a client prints them in. Without ``-v``, a failed SASL handshake is
reported with its reason, and shutdown stays within its bound.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from vehsim.cli import REDACTED, SecretRedactor, configured_secrets
from vehsim.stream.cli import DRIVE_UNDELIVERED

PASSWORD = "S3cr3t-pa55-" + "Kafka"
ACCOUNT_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MjQy" + "=="
SHARED_KEY = "c2hhcmVkLWFjY2Vzcy1rZXktNDI0Mg" + "=="
CONNECTION_STRING = (
    "DefaultEndpointsProtocol=https;AccountName=vehsimtest;"
    f"AccountKey={SHARED_KEY};EndpointSuffix=core.windows.net"
)
SECRETS = (PASSWORD, ACCOUNT_KEY, SHARED_KEY)


def _secret_env(**extra) -> dict[str, str]:
    return {
        "VEHSIM_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "VEHSIM_KAFKA_SASL_MECHANISM": "PLAIN",
        "VEHSIM_KAFKA_SASL_USERNAME": "vehsim-user",
        "VEHSIM_KAFKA_SASL_PASSWORD": PASSWORD,
        "AZURE_STORAGE_ACCOUNT_KEY": ACCOUNT_KEY,
        "AZURE_STORAGE_CONNECTION_STRING": CONNECTION_STRING,
        **extra,
    }


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text or s.replace("=", "%3D") in text]


def test_configured_secrets_include_the_keys_inside_connection_strings():
    found = configured_secrets(_secret_env())
    assert set(SECRETS) <= set(found) and CONNECTION_STRING in found
    assert configured_secrets({"VEHSIM_KAFKA_SASL_PASSWORD": ""}) == []


def test_redactor_hides_secrets_in_messages_arguments_reprs_urls_and_tracebacks():
    redactor = SecretRedactor(configured_secrets(_secret_env()))
    config = {"sasl_plain_password": PASSWORD, "conn": CONNECTION_STRING}

    def record(msg, *args, exc_info=None) -> logging.LogRecord:
        rec = logging.LogRecord("kafka.admin.client", logging.DEBUG, __file__, 1, msg, args,
                                exc_info)  # fmt: skip
        redactor.filter(rec)
        return rec

    rec = record("Starting KafkaAdminClient with configuration: %s", config)
    assert _leaks(rec.getMessage()) == [] and REDACTED in rec.getMessage()
    rec = record("sasl bytes %r", b"\x00vehsim-user\x00" + PASSWORD.encode())
    assert _leaks(rec.getMessage()) == []
    rec = record("GET https://x.blob.core.windows.net/?sig=%s", ACCOUNT_KEY.replace("=", "%3D"))
    assert _leaks(rec.getMessage()) == []
    try:
        raise ValueError(f"auth failed for {PASSWORD}")
    except ValueError:
        rec = record("failed", exc_info=sys.exc_info())
    assert _leaks(logging.Formatter().format(rec)) == []
    assert "vehsim-user" in record("user %s", "vehsim-user").getMessage()  # not a secret


@pytest.mark.integration
def test_a_known_password_and_key_appear_nowhere_with_verbose(kafka_broker, tmp_path):
    """The broker speaks PLAINTEXT, the client SASL: the handshake fails, and with ``-v`` every
    DEBUG line of the client (which prints its configuration) goes through the filter."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VEHSIM_", "AZURE_"))}
    base.update(
        _secret_env(),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"s{uuid.uuid4().hex[:8]}.",
    )
    # Both runs at once, each in its own home: most of a run is waiting for the handshake
    # to fail and for the bounded shutdown.
    runs = {}
    for flags in (("-v",), ()):
        home = tmp_path / ("home-verbose" if flags else "home")
        proc = subprocess.Popen(
            [sys.executable, "-m", "vehsim.cli", *flags, "drive", "--speedup", "max",
             "--duration-s", "1", "--quiet"],
            env={**base, "VEHSIM_HOME": str(home)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        runs[flags] = (home, proc)
    outputs = {}

    def finish(flags):
        # A bounded shutdown: 1 s of driving, up to 10 s waiting for the commands topic, then
        # close(30 s) at most; a drive that hangs instead fails here.
        proc = runs[flags][1]
        try:
            outputs[flags] = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise

    with ThreadPoolExecutor(len(runs)) as pool:
        list(pool.map(finish, runs))
    for flags, (_home, proc) in runs.items():
        assert proc.returncode == DRIVE_UNDELIVERED, outputs[flags][1][-3000:]  # and says so
    verbose_err, quiet_err = outputs[("-v",)][1], outputs[()][1]
    assert "sasl_plain_password" in verbose_err  # the client did log its configuration ...
    for stdout, stderr in outputs.values():
        assert _leaks(stdout) == [] and _leaks(stderr) == []  # ... redacted
    for home, _proc in runs.values():
        files = [p for p in home.rglob("*") if p.is_file()]
        assert files, "the run left its spool"
        for path in files:
            assert _leaks(path.read_bytes().decode("utf-8", "replace")) == [], path

    # Without -v: the reason, not only "Unable to bootstrap".
    assert "IllegalSaslStateError" in quiet_err
    assert "Kafka handshake failed with security protocol SASL_PLAINTEXT" in quiet_err
    assert "VEHSIM_KAFKA_SASL_" in quiet_err


# -- a secured broker: the same password used for real, by the client and by Spark --------------

BROKER_ADMIN_PASSWORD = "broker-internal-" + "pw"


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    """Apache Kafka (the embedded broker's jars and configuration) with its client listener on
    SASL_PLAINTEXT/PLAIN, accepting ``vehsim-user`` with :data:`PASSWORD`. Its files live
    outside any ``VEHSIM_HOME`` (its JAAS line holds the password, as a real broker's does).
    Yields the bootstrap address."""
    pytest.importorskip("kafka", reason="needs the [stream] extra")
    from vehsim.config import load_settings
    from vehsim.stream import broker as kafka_broker_module
    from vehsim.stream.broker import EmbeddedBroker, free_port, java_executable

    root = tmp_path_factory.mktemp("sasl-broker")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(root / "unused-home")
    embedded = EmbeddedBroker(load_settings(env))
    java, jars_dir = java_executable(), embedded._jars_dir()
    port, controller_port = free_port(), free_port()
    while controller_port == port:
        controller_port = free_port()
    properties = kafka_broker_module.server_properties(
        root / "data", host="127.0.0.1", port=port, controller_port=controller_port
    )
    client = f"SASL_PLAINTEXT://127.0.0.1:{port}"
    controller = f"CONTROLLER://127.0.0.1:{controller_port}"
    jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="admin" password="{BROKER_ADMIN_PASSWORD}" '
        f'user_admin="{BROKER_ADMIN_PASSWORD}" user_vehsim-user="{PASSWORD}";'
    )
    properties.update(
        {
            "listeners": f"{client},{controller}",
            "advertised.listeners": f"{client},{controller}",
            "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
        }
    )
    config = root / "server.properties"
    config.write_text(kafka_broker_module._render_properties(properties))
    log4j = root / "log4j2.properties"
    log4j.write_text(kafka_broker_module._log4j2_properties(root / "server.log"))
    base = [java, "-Xmx384m", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{jars_dir}/*"]
    subprocess.run(
        [*base, "kafka.tools.StorageTool", "format", "--cluster-id",
         kafka_broker_module.new_cluster_id(), "--config", str(config), "--standalone"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    proc = subprocess.Popen(
        [*base, "kafka.Kafka", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    bootstrap = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a plaintext probe would be refused: TCP only
        while not kafka_broker_module.tcp_reachable(bootstrap):
            assert proc.poll() is None and time.monotonic() < deadline, "broker did not start"
            time.sleep(0.5)
        yield bootstrap
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.integration
@pytest.mark.slow
def test_secrets_stay_out_of_a_verbose_drive_and_pipeline_that_use_them(sasl_broker, tmp_path):
    """Against a broker that requires the password: ``vehsim -v drive`` delivers through SASL
    and ``vehsim -v pipeline bronze`` reads it with Spark's Kafka source (the password inside
    ``kafka.sasl.jaas.config``); neither output nor any file under ``VEHSIM_HOME`` — Spark's
    log files included — holds the password or the Azure keys configured beside it."""
    pytest.importorskip("pyspark", reason="needs the [spark] extra")
    from deltalake import DeltaTable

    home = tmp_path / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VEHSIM_", "AZURE_")) or k == "VEHSIM_JARS_DIR"
    }
    env.update(
        _secret_env(),
        VEHSIM_HOME=str(home),
        VEHSIM_KAFKA_BOOTSTRAP=sasl_broker,
        VEHSIM_TOPIC_PREFIX=f"s{uuid.uuid4().hex[:8]}.",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    runs = []
    for command in (
        ["drive", "--vehicles", "2", "--speedup", "max", "--duration-s", "20", "--rate-hz", "1",
         "--quiet"],
        ["pipeline", "bronze", "--available-now"],
    ):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "vehsim.cli", "-v", *command],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, (command, proc.stderr[-4000:])
        runs.append(proc)
    assert "sasl" in runs[0].stderr.lower()  # -v did show the client's configuration
    for proc in runs:
        assert _leaks(proc.stdout) == [] and _leaks(proc.stderr) == []
    bronze = DeltaTable(str(home / "lake" / "bronze" / "events")).to_pyarrow_table()
    assert bronze.num_rows >= 2 * 20  # the data went through the secured listener
    spark_logs = list((home / "logs").glob("spark-*.log*"))
    assert spark_logs, "Spark wrote its log under VEHSIM_HOME/logs"
    files = [p for p in home.rglob("*") if p.is_file()]
    for path in files:
        assert _leaks(path.read_bytes().decode("utf-8", "replace")) == [], path
