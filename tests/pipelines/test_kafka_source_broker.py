"""The Kafka source against a real (Tansu) broker, without Spark: planning and exact reads."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytestmark = pytest.mark.integration

from vehsim_pipelines import kafka_source as ks  # noqa: E402

ODD_VALUES = [
    b"not json at all",
    b"\xff\xfe\x00 invalid utf-8 \xc3\x28",
    b"",
    None,
    b"{" + b"x" * 900_000 + b"}",  # close to the producer's 1 MB request limit
]


@pytest.fixture
def topic(kafka_broker):
    """A fresh 3-partition topic holding 1,000 small records per partition and odd values."""
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    name = f"src-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    admin.create_topics([NewTopic(name, 3, 1)])
    admin.close()
    # A long linger packs many records into one batch: the case where Tansu's end offset is off.
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, linger_ms=50)
    for partition in range(3):
        for i in range(1_000):
            producer.send(name, key=b"k%d" % i, value=b'{"n": %d}' % i, partition=partition)
    for value in ODD_VALUES:
        producer.send(name, key=b"\xff", value=value, partition=1)
    producer.flush()
    producer.close()
    return name


def _config(kafka_broker, topic, **extra) -> ks.SourceConfig:
    options = {"kafka.bootstrap.servers": kafka_broker.bootstrap, "subscribe": topic}
    options.update({k: str(v) for k, v in extra.items()})
    return ks.parse_options(options)


def _read_all(config, start, end, size=400):
    rows = []
    for split in ks.plan_splits(start, end, size, target_splits=4, min_records_per_split=1):
        for batch in ks.read_split(config, split):
            assert batch.schema == ks.ARROW_SCHEMA
            rows += batch.to_pylist()
    return rows


def test_offsets_are_the_true_ends_and_the_cap_advances_from_the_last_batch(kafka_broker, topic):
    reader = ks.KafkaStreamReader(_config(kafka_broker, topic, maxOffsetsPerTrigger=1_500))
    try:
        assert reader.initialOffset() == {topic: {"0": 0, "1": 0, "2": 0}}
        first = reader.latestOffset()
        assert ks.total_records(reader.initialOffset(), first) <= 1_500 + 3
        second = reader.latestOffset()
        assert all(second[topic][p] >= first[topic][p] for p in first[topic])
        ends = None
        for _ in range(5):
            ends = reader.latestOffset()
        # Not 1 or some batch base offset: every record produced, odd values included.
        assert ends == {topic: {"0": 1_000, "1": 1_000 + len(ODD_VALUES), "2": 1_000}}
    finally:
        reader.stop()
    latest = ks.KafkaStreamReader(_config(kafka_broker, topic, startingOffsets="latest"))
    try:
        assert latest.initialOffset() == ends
    finally:
        latest.stop()


CLIENTS = ["kafka-python", "confluent-kafka"]


@pytest.mark.parametrize("client", CLIENTS)
def test_a_range_reads_exactly_its_records_and_reads_them_again_identically(
    kafka_broker, topic, client
):
    if client == "confluent-kafka":
        pytest.importorskip("confluent_kafka")
    config = _config(kafka_broker, topic, client=client)
    start = {topic: {"0": 10, "1": 990, "2": 0}}
    end = {topic: {"0": 20, "1": 1_000 + len(ODD_VALUES), "2": 1}}
    rows = _read_all(config, start, end)
    assert [(r["partition"], r["offset"]) for r in rows] == (
        [(0, o) for o in range(10, 20)]
        + [(1, o) for o in range(990, 1_000 + len(ODD_VALUES))]
        + [(2, 0)]
    )
    assert rows == _read_all(config, start, end, size=3), "a replayed range yields the same rows"
    odd = [r for r in rows if r["partition"] == 1 and r["offset"] >= 1_000]
    assert [r["value"] for r in odd] == ODD_VALUES, "values arrive byte for byte"
    assert all(r["key"] == b"\xff" and r["topic"] == topic for r in odd)
    assert all(r["timestamp"] is not None and r["timestampType"] == 0 for r in rows)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_range_beyond_the_end_fails_with_the_offsets_in_the_message(kafka_broker, topic, client):
    if client == "confluent-kafka":
        pytest.importorskip("confluent_kafka")
    config = _config(kafka_broker, topic, pollTimeoutMs=1_500, client=client)
    with pytest.raises(
        ks.KafkaSourceError, match=r"\[0\]: planned offsets .* no record after 1000"
    ):
        _read_all(config, {topic: {"0": 995}}, {topic: {"0": 1_010}}, size=100)


def test_an_unknown_topic_is_named(kafka_broker):
    reader = ks.KafkaStreamReader(_config(kafka_broker, "no-such-topic-here"))
    try:
        with pytest.raises(ks.KafkaSourceError, match="no-such-topic-here"):
            reader.initialOffset()
    finally:
        reader.stop()
