"""LiveTopicReader on a real broker: a handler's failure costs one record, not the connection."""

from __future__ import annotations

import time
import uuid

import pytest

pytestmark = pytest.mark.integration


def test_a_failing_handler_skips_that_record_and_keeps_reading(kafka_broker):
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    from vehsim.stream.reader import LiveTopicReader

    topic = f"reader-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()

    class Reader(LiveTopicReader):
        def __init__(self):
            super().__init__(
                kafka_broker.settings,
                bootstrap=kafka_broker.bootstrap,
                topic=topic,
                from_beginning=True,
            )
            self.seen: list[bytes] = []
            self.connects = 0

        def _consume(self) -> None:
            self.connects += 1
            super()._consume()

        def _handle(self, record) -> None:
            if record.value == b"bad":
                raise ValueError("a handler bug")
            self.seen.append(record.value)

    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    for value in (b"1", b"bad", b"2", b"3"):
        producer.send(topic, value, partition=0)
    producer.flush()
    producer.close()
    with Reader() as reader:
        deadline = time.monotonic() + 60
        while len(reader.seen) < 3:
            assert time.monotonic() < deadline, f"read only {reader.seen}"
            time.sleep(0.05)
        assert reader.seen == [b"1", b"2", b"3"]
        assert reader.connects == 1, "the failing record cost a reconnect"
