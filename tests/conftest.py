"""Shared fixtures. Services start on 127.0.0.1 and free ports, and are stopped afterwards."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# The Maven artifacts (Apache Kafka for the embedded broker, Spark's connectors) are fetched once
# into the checkout's git-ignored .jars/, as `make test` does, not into every test's VEHSIM_HOME.
os.environ.setdefault("VEHSIM_JARS_DIR", str(REPO_ROOT / ".jars"))
# One OpenMP thread per process (the tree models' training, numpy): `make test` runs two
# workers on two cores, each with services of its own, and threads per core fighting each other
# made one training call 20 times slower than on a single thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The tests start dozens of short-lived Spark JVMs (drivers, a Connect server, cluster daemons)
# on a few thousand rows each: most of their CPU goes into HotSpot's optimising compiler for
# code that never runs long. The client compiler alone (C1) and the serial collector make each
# about a fifth faster, and change nothing a job computes. Spark's launcher adds
# SPARK_SUBMIT_OPTS to every driver it starts and SPARK_DAEMON_JAVA_OPTS to the master and
# workers; the embedded Kafka broker runs with these flags already. The drivers also map the
# class-data archive that `make jars` builds (vehsim_pipelines.class_archive).
_SHORT_LIVED_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
os.environ.setdefault("SPARK_SUBMIT_OPTS", _SHORT_LIVED_JVM)
os.environ.setdefault("SPARK_DAEMON_JAVA_OPTS", _SHORT_LIVED_JVM)


@pytest.fixture
def vehsim_env(tmp_path, monkeypatch) -> dict[str, str]:
    """A private VEHSIM_HOME (and lake) for one test; no external Kafka configured."""
    home = tmp_path / "vehsim-home"
    monkeypatch.setenv("VEHSIM_HOME", str(home))
    monkeypatch.delenv("VEHSIM_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("VEHSIM_LAKE_URI", raising=False)
    monkeypatch.delenv("VEHSIM_CONFIG", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return {"VEHSIM_HOME": str(home)}


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """The embedded Apache Kafka broker for the whole session, with the default topics created.

    Yields an object with ``bootstrap`` (``127.0.0.1:PORT``), ``settings``, ``home`` and
    ``broker`` (an :class:`vehsim.stream.broker.EmbeddedBroker` whose ``home`` holds the
    record and the data). Tests that must not share topics use their own
    ``VEHSIM_TOPIC_PREFIX`` or topic names.
    """
    pytest.importorskip("kafka", reason="needs the [stream] extra")
    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker

    home = tmp_path_factory.mktemp("broker-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env["VEHSIM_HOME"] = str(home)
    settings = load_settings(env)
    broker = EmbeddedBroker(settings)
    record = broker.start()
    handle = SimpleNamespace(
        bootstrap=record.bootstrap, settings=settings, broker=broker, home=home
    )
    yield handle
    broker.stop()
