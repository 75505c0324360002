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
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEHSIM_", "AZURE_"))}
    env.update(
        _secret_env(),
        VEHSIM_HOME=str(home),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"s{uuid.uuid4().hex[:8]}.",
    )
    outputs = []
    timings = {}
    for flags in (["-v"], []):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "vehsim.cli", *flags, "drive", "--speedup", "max",
             "--duration-s", "1", "--quiet"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        timings[tuple(flags)] = time.monotonic() - started
        outputs.append((flags, proc))
        assert proc.returncode == DRIVE_UNDELIVERED, proc.stderr[-3000:]  # and says so
    verbose, quiet = outputs[0][1], outputs[1][1]
    assert "sasl_plain_password" in verbose.stderr  # the client did log its configuration ...
    for _flags, proc in outputs:
        assert _leaks(proc.stdout) == [] and _leaks(proc.stderr) == []  # ... redacted
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files, "the run left its spool"
    for path in files:
        assert _leaks(path.read_bytes().decode("utf-8", "replace")) == [], path

    # Without -v: the reason, not only "Unable to bootstrap"; and a bounded shutdown.
    assert "IllegalSaslStateError" in quiet.stderr
    assert "Kafka handshake failed with security protocol SASL_PLAINTEXT" in quiet.stderr
    assert "VEHSIM_KAFKA_SASL_" in quiet.stderr
    # 1 s of driving, up to 10 s waiting for the commands topic, then close(30 s) at most
    assert timings[()] < 10 + 30 + 15, timings
