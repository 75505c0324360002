"""Acceptance: the bad-event corpus through Kafka, Bronze and Silver gives exactly what it should."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")
pytest.importorskip("kafka", reason="needs the [stream] extra")

from lakehouse_data import bad_event_corpus  # noqa: E402

from vehsim_pipelines import jobs, lake  # noqa: E402

pytestmark = pytest.mark.integration

#: Values only Kafka can carry: a null value and bytes that are not UTF-8.
KAFKA_ONLY = [(None, "invalid_json"), (b"\xff\xfe not utf-8 \xc3\x28", "invalid_json")]


def _produce(settings, values: list[bytes | None]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=20)
    for i, value in enumerate(values):
        producer.send(settings.telemetry_topic, key=b"corpus-car-000", value=value, partition=i % 3)
    producer.flush()
    producer.close()


def test_corpus_through_kafka_bronze_and_silver(spark, lake_settings):
    from vehsim_pipelines import bronze

    items = bad_event_corpus()
    values = [None if i.value is None else i.value.encode() for i in items]
    values += [v for v, _ in KAFKA_ONLY]
    _produce(lake_settings, values)
    run = bronze.run_bronze_available_now(spark, lake_settings, bronze.BronzeConfig())
    assert run.records == len(values)

    (silver_run,) = jobs.run_silver(spark, lake_settings, progress=None)
    expected = Counter(i.reason for i in items if i.reason) + Counter(r for _, r in KAFKA_ONLY)
    assert silver_run.rows_read == len(values)
    assert {k: v for k, v in silver_run.quarantined.items() if v} == dict(expected)
    assert silver_run.duplicates == sum(i.duplicate for i in items)
    valid = [i for i in items if i.reason is None and not i.duplicate]
    assert silver_run.telemetry_rows + silver_run.event_rows == len(valid)

    quarantine = lake.read_table(lake_settings.table_uri("silver", "quarantine")).to_pylist()
    by_value = Counter((q["raw_event"], q["_error"], q["_error_field"]) for q in quarantine)
    want = Counter((i.value, i.reason, i.field) for i in items if i.reason)
    for key, count in want.items():
        assert by_value[key] == count, key
    not_utf8 = [q for q in quarantine if q["raw_event_bytes"] is not None]
    assert [bytes(q["raw_event_bytes"]) for q in not_utf8] == [KAFKA_ONLY[1][0]], (
        "the original bytes of a non-UTF-8 value are kept"
    )
    kafka_coordinates = {(q["partition"], q["offset"]) for q in quarantine}
    assert len(kafka_coordinates) == len(quarantine), "every quarantined record keeps its offset"

    telemetry = lake.read_table(lake_settings.table_uri("silver", "telemetry"))
    assert sorted(telemetry["seq"].to_pylist()) == [*range(10), 11]
    (dq,) = lake.read_table(lake_settings.table_uri("ops", "dq_runs")).to_pylist()
    assert dq["rows_read"] == dq["rows_written"] + dq["rows_quarantined"] + dq["duplicates"]
