"""Fixtures for the Spark pipelines: one SparkSession for the whole test session."""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture(scope="session")
def spark():
    """A local SparkSession shared by every pipelines test (starting one costs ~5-10 s)."""
    pytest.importorskip("pyspark", reason="needs the [spark] extra")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from vehsim_pipelines.session import build_spark

    # This JVM serves every in-process pipelines test of a worker, for many minutes: it keeps
    # the optimising compiler that the short-lived JVMs go without (tests/conftest.py).
    with pytest.MonkeyPatch.context() as env:
        env.delenv("SPARK_SUBMIT_OPTS", raising=False)
        session = build_spark("vehsim-tests", master="local[2]")
    yield session
    session.stop()


@pytest.fixture
def lake_settings(kafka_broker, tmp_path):
    """Settings with a private home, lake, checkpoint and topic prefix on the session broker."""
    import uuid

    from vehsim.config import load_settings
    from vehsim.stream.broker import ensure_topics

    settings = load_settings(
        {
            "VEHSIM_HOME": str(tmp_path / "home"),
            "VEHSIM_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
            "VEHSIM_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
        }
    )
    ensure_topics(settings)
    return settings
