"""A topic recreated under a running checkpoint stops Bronze with a clear error, never a silent 0.

Every path is covered: an available-now run (as in ``vehsim pipeline all``) before it starts, and
a continuous stream while it runs; ``reset_checkpoint`` is the documented way on.
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytestmark = pytest.mark.integration

from vehsim_pipelines import bronze  # noqa: E402


def _produce(settings, n: int, tag: str) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    for i in range(n):
        producer.send(settings.telemetry_topic, key=b"car-%d" % (i % 3), value=b"%s-%d" % (
            tag.encode(), i))  # fmt: skip
    producer.flush()
    producer.close()


def _recreate_topic(settings) -> None:
    from kafka.admin import KafkaAdminClient

    from vehsim.stream.broker import ensure_topics
    from vehsim.stream.kafka_config import client_config

    admin = KafkaAdminClient(**client_config(settings))
    try:
        admin.delete_topics([settings.telemetry_topic])
        deadline = time.monotonic() + 30
        while settings.telemetry_topic in admin.list_topics():
            assert time.monotonic() < deadline, "the topic was not deleted"
            time.sleep(0.2)
    finally:
        admin.close()
    deadline = time.monotonic() + 30
    while True:  # deletion completes in the background; creation fails until it has
        try:
            ensure_topics(settings)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _bronze_values(spark, settings) -> list[str]:
    from vehsim_pipelines.catalog import BRONZE_EVENTS, Catalog

    path = Catalog(settings).spark_path(BRONZE_EVENTS)
    return sorted(r.raw_event for r in spark.read.format("delta").load(path).collect())


@pytest.mark.parametrize("more_than_before", [True, False], ids=["more-records", "fewer-records"])
def test_available_now_on_a_recreated_topic_fails_clearly_then_resets(
    spark, lake_settings, more_than_before
):
    settings = lake_settings
    _produce(settings, 40, "old")
    first = bronze.run_bronze_available_now(spark, settings)
    assert first.records == 40

    _recreate_topic(settings)
    _produce(settings, 90 if more_than_before else 10, "new")
    with pytest.raises(bronze.OffsetsRewound) as failure:
        bronze.run_bronze_available_now(spark, settings)
    message = str(failure.value)
    assert settings.telemetry_topic in message and "--reset-checkpoint" in message
    assert len(_bronze_values(spark, settings)) == 40, "nothing of the new topic was skipped"

    kept = bronze.reset_checkpoint(settings)
    assert kept is not None and kept.is_dir(), "the old checkpoint is kept beside the new one"
    again = bronze.run_bronze_available_now(spark, settings)
    assert again.records == (90 if more_than_before else 10)
    values = _bronze_values(spark, settings)
    assert sum(v.startswith("new-") for v in values) == again.records
    assert sum(v.startswith("old-") for v in values) == 40


def test_a_running_stream_stops_with_the_reason_when_its_topic_is_recreated(spark, lake_settings):
    settings = lake_settings
    _produce(settings, 30, "old")
    query = bronze.start_bronze(spark, settings, bronze.BronzeConfig(trigger_s=0.5))
    checkpoint = bronze.checkpoint_path(settings)
    try:
        deadline = time.monotonic() + 120
        while (
            bronze.checkpointed_offsets(checkpoint) is None
            or bronze.total_records(None, bronze.checkpointed_offsets(checkpoint)) < 30
        ):
            assert query.isActive and time.monotonic() < deadline, "the stream did not start"
            time.sleep(0.2)
        _recreate_topic(settings)
        _produce(settings, 5, "new")
        with pytest.raises(Exception) as failure:
            query.awaitTermination(120)
            pytest.fail("the stream went on over the recreated topic")
    finally:
        if query.isActive:
            query.stop()
    error = bronze.rewound_error(failure.value, checkpoint)
    assert error is not None, f"not recognised as rewound offsets: {failure.value}"
    assert "--reset-checkpoint" in str(error)
