"""End offsets on the embedded Apache Kafka broker: the high watermark, whatever the batching."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.integration


def _create(bootstrap: str, partitions: int) -> str:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    topic = f"offsets-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()
    return topic


def test_end_offsets_after_big_and_small_batches(kafka_broker):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from vehsim.stream.offsets import end_offsets

    topic = _create(kafka_broker.bootstrap, 1)
    producer = KafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap, linger_ms=200, batch_size=1 << 20
    )
    for _ in range(1000):  # one big batch
        producer.send(topic, b"x" * 40, partition=0)
    producer.flush()
    for _ in range(3):  # a few single-record batches
        producer.send(topic, b"y", partition=0).get(10)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 5)
        assert end_offsets(consumer, [tp]) == {tp: 1003}
        # asking does not move the reader
        assert consumer.assignment() == {tp}
        assert consumer.position(tp) == 5
        assert end_offsets(consumer, []) == {}
    finally:
        consumer.close()


def test_end_offsets_of_empty_partitions(kafka_broker):
    from kafka import KafkaConsumer, TopicPartition

    from vehsim.stream.offsets import end_offsets

    topic = _create(kafka_broker.bootstrap, 2)
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        assert end_offsets(consumer, tps) == {tp: 0 for tp in tps}
        assert consumer.assignment() == set()
    finally:
        consumer.close()
