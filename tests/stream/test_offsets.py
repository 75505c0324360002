"""True end offsets on the real (Tansu) broker, whose ListOffsets answer is wrong for big batches."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.integration


def test_true_end_offsets_after_one_big_batch(kafka_broker):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from vehsim.stream.offsets import true_end_offsets

    topic = f"offsets-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap, linger_ms=200, batch_size=1 << 20
    )
    for _ in range(1000):
        producer.send(topic, b"x" * 40, partition=0)
    producer.flush()
    for _ in range(3):  # a few single-record batches
        producer.send(topic, b"y", partition=0).get(10)
    for _ in range(250):
        producer.send(topic, b"z" * 40, partition=0)
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        other = TopicPartition(topic, 0)
        consumer.assign([other])
        consumer.seek(other, 5)
        ends = true_end_offsets(consumer, [tp])
        assert ends == {tp: 1253}
        # the reader's own assignment and position are restored
        assert consumer.assignment() == {other}
        assert consumer.position(other) == 5
        assert true_end_offsets(consumer, []) == {}
    finally:
        consumer.close()


def test_true_end_offsets_of_empty_partition(kafka_broker):
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.admin import NewTopic

    from vehsim.stream.offsets import true_end_offsets

    topic = f"empty-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    admin.create_topics([NewTopic(topic, 2, 1)])
    admin.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        assert true_end_offsets(consumer, tps) == {tp: 0 for tp in tps}
        assert consumer.assignment() == set()
    finally:
        consumer.close()
