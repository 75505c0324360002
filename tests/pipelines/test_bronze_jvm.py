"""``--engine jvm``: Spark's own ``kafka`` and ``delta`` formats, where their jars are installed.

These tests skip (with the reason) on machines whose Spark cannot load the Kafka connector and
delta-spark, e.g. when Maven Central is unreachable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytestmark = pytest.mark.integration

from vehsim_pipelines import bronze  # noqa: E402


@pytest.fixture
def jvm_connectors(spark):
    available, reason = bronze.jvm_connectors_available(spark)
    if not available:
        pytest.skip(f"engine 'jvm' needs Spark's Kafka connector and delta-spark: {reason}")


def test_jvm_engine_lands_the_same_bronze_rows(jvm_connectors, kafka_broker, tmp_path):
    from deltalake import DeltaTable
    from kafka import KafkaProducer

    from vehsim.config import load_settings
    from vehsim.stream.broker import ensure_topics

    env = {k: v for k, v in os.environ.items() if not k.startswith("VEHSIM_")}
    env.update(
        VEHSIM_HOME=str(tmp_path / "home"),
        VEHSIM_KAFKA_BOOTSTRAP=kafka_broker.bootstrap,
        VEHSIM_TOPIC_PREFIX=f"j{uuid.uuid4().hex[:8]}.",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    settings = load_settings(env)
    ensure_topics(settings)
    values = [b'{"n": %d}' % i for i in range(300)] + [b"\xff raw bytes"]
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    for value in values:
        producer.send(settings.telemetry_topic, value=value)
    producer.flush()
    producer.close()

    done = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "pipeline", "bronze", "--engine", "jvm", "--available-now"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    rows = DeltaTable(bronze.bronze_uri(settings)).to_pyarrow_table().to_pylist()
    assert sorted(bronze.original_value(r) for r in rows) == sorted(values)
    assert set(rows[0]) >= set(bronze.BRONZE_SCHEMA.names)
