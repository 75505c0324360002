"""The spooling publisher on a real broker: delivery, per-vehicle order, spool left behind."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict

import pytest

from vehsim import events

pytestmark = pytest.mark.integration


def _payload(i: int) -> dict:
    payload = {name: (True if t is bool else t(0)) for name, t in events.RAW_PAYLOAD_FIELDS.items()}
    payload["odometer_km"] = float(i)
    return payload


def _settings(kafka_broker, tmp_path, monkeypatch):
    from vehsim.config import load_settings

    monkeypatch.setenv("VEHSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VEHSIM_TOPIC_PREFIX", f"t{uuid.uuid4().hex[:8]}.")
    monkeypatch.setenv("VEHSIM_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    return load_settings()


def _events(run_id: str, n: int, vehicles: int = 4) -> list[dict]:
    return [
        events.make_event(events.SIMULATION_RAW, f"car-{i % vehicles}", run_id, i // vehicles,
                          0.1 * (i // vehicles), _payload(i))
        for i in range(n)
    ]  # fmt: skip


def _check_exactly_once_in_order(records, expected: list[dict]) -> None:
    got = [json.loads(value) for _, _, _, value in sorted(records)]
    ids = [e["event_id"] for e in got]
    assert len(ids) == len(set(ids)), "an event arrived twice"
    assert set(ids) == {e["event_id"] for e in expected}, "an event is missing"
    by_key = defaultdict(list)
    for partition, _offset, key, value in sorted(records):
        event = json.loads(value)
        assert key == event["vehicle_id"].encode()
        by_key[(event["run_id"], event["vehicle_id"])].append((partition, event["seq"]))
    for stream in by_key.values():
        assert len({p for p, _ in stream}) == 1, "one vehicle's events span partitions"
        seqs = [s for _, s in stream]
        assert seqs == list(range(len(seqs))), "per-vehicle order broken"


def test_publish_delivers_everything_once_in_order(kafka_broker, tmp_path, monkeypatch):
    from vehsim.stream.follow import read_topic
    from vehsim.stream.producer import EventPublisher

    settings = _settings(kafka_broker, tmp_path, monkeypatch)
    run_id = str(uuid.uuid4())
    sent = _events(run_id, 3000)
    with EventPublisher(settings, run_id=run_id) as publisher:
        for event in sent:
            publisher.publish(event)
    stats = publisher.stats()
    assert (stats.published, stats.acked, stats.pending, stats.outages) == (3000, 3000, 0, 0)
    assert not publisher.spool_path.exists(), "an empty spool is removed"
    _check_exactly_once_in_order(read_topic(settings), sent)


def test_unreachable_broker_spools_and_next_run_replays_first(kafka_broker, tmp_path, monkeypatch):
    from vehsim.stream.broker import free_port
    from vehsim.stream.follow import read_topic
    from vehsim.stream.producer import EventPublisher

    settings = _settings(kafka_broker, tmp_path, monkeypatch)
    dead = f"127.0.0.1:{free_port()}"
    first_run = str(uuid.uuid4())
    first = _events(first_run, 500)
    publisher = EventPublisher(settings, run_id=first_run, bootstrap=dead, retry_interval_s=0.2)
    publisher.start()
    for event in first:
        publisher.publish(event)
    stats = publisher.close(timeout_s=2.0)
    assert stats.pending == 500 and stats.acked == 0
    assert publisher.spool_path.is_dir(), "undelivered events stay on disk"

    second_run = str(uuid.uuid4())
    second = _events(second_run, 200)
    with EventPublisher(settings, run_id=second_run) as publisher:
        for event in second:
            publisher.publish(event)
    stats = publisher.stats()
    assert stats.pending == 0 and stats.replayed >= 500
    records = read_topic(settings)
    _check_exactly_once_in_order(records, first + second)
    # the older run's events go before the newer run's in every partition
    for partition in {p for p, *_ in records}:
        runs = [json.loads(v)["run_id"] for p, _, _, v in sorted(records) if p == partition]
        assert runs == sorted(runs, key=lambda r: r != first_run)
    assert not list(settings.spool_dir.iterdir()), "replayed spools are removed"


class _AckLost:
    """A send future whose record the broker stores but whose acknowledgement never arrives:
    once the real send has succeeded it reports a connection failure instead."""

    def __init__(self, future):
        self._future = future

    @property
    def is_done(self) -> bool:
        return self._future.is_done

    def succeeded(self) -> bool:
        return False

    @property
    def exception(self):
        from kafka.errors import KafkaConnectionError

        return self._future.exception or KafkaConnectionError("acknowledgement lost (test)")


def test_records_stored_without_acknowledgement_are_not_sent_again(
    kafka_broker, tmp_path, monkeypatch
):
    """What a kill -9 of the broker between its write and its answer leaves behind: records in
    the topic that the spool still holds as pending. The next session finds them there."""
    import kafka

    from vehsim.stream.follow import read_topic
    from vehsim.stream.producer import EventPublisher

    settings = _settings(kafka_broker, tmp_path, monkeypatch)
    real_send = kafka.KafkaProducer.send
    lose = {"acks": 150}  # the first session's sends from the 150th on lose their ack

    def send(self, *args, **kwargs):
        future = real_send(self, *args, **kwargs)
        if lose["acks"] <= 0:
            return _AckLost(future)
        lose["acks"] -= 1
        return future

    monkeypatch.setattr(kafka.KafkaProducer, "send", send)
    run_id = str(uuid.uuid4())
    sent = _events(run_id, 2000)
    publisher = EventPublisher(settings, run_id=run_id, retry_interval_s=0.1).start()
    for event in sent[:1000]:
        publisher.publish(event)
    deadline = time.monotonic() + 60
    while publisher.stats().outages == 0:  # the first lost ack ends the session
        assert time.monotonic() < deadline, "the lost acknowledgement went unnoticed"
        time.sleep(0.05)
    lose["acks"] = 10**9  # later sessions are acknowledged
    for event in sent[1000:]:
        publisher.publish(event)
    stats = publisher.close()
    assert stats.pending == 0 and stats.acked == 2000, stats
    assert stats.confirmed > 0, "no record was found stored without its acknowledgement"
    _check_exactly_once_in_order(read_topic(settings), sent)


# Records Kafka can never take (issue 12, finding 1) -----------------------------------------------
def _dead_letters(publisher) -> list[dict]:
    path = publisher.dead_letter_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_record_too_large_is_set_aside_not_retried(kafka_broker, tmp_path, monkeypatch):
    from vehsim.stream.follow import read_topic
    from vehsim.stream.producer import MAX_RECORD_BYTES, EventPublisher

    settings = _settings(kafka_broker, tmp_path, monkeypatch)
    run_id = str(uuid.uuid4())
    sent = _events(run_id, 400)
    huge = b'{"padding": "' + b"x" * MAX_RECORD_BYTES + b'"}'
    with EventPublisher(settings, run_id=run_id) as publisher:
        for event in sent[:200]:
            publisher.publish(event)
        publisher.publish_raw(b"car-huge", huge)
        for event in sent[200:]:
            publisher.publish(event)
    stats = publisher.stats()
    assert (stats.acked, stats.pending, stats.outages, stats.dead_lettered) == (400, 0, 0, 1)
    _check_exactly_once_in_order(read_topic(settings), sent)  # the rest, exactly once
    (letter,) = _dead_letters(publisher)
    assert letter["key"] == "car-huge" and letter["value"].encode() == huge
    assert f"at most {MAX_RECORD_BYTES}" in letter["reason"]
    assert publisher.dead_letter_path.parent == settings.home / "dead-letter"


def test_a_spool_left_with_a_too_large_record_does_not_block_later_runs(
    kafka_broker, tmp_path, monkeypatch
):
    from vehsim.stream.follow import read_topic
    from vehsim.stream.producer import MAX_RECORD_BYTES, EventPublisher, spool_dir_name
    from vehsim.stream.spool import Spool

    settings = _settings(kafka_broker, tmp_path, monkeypatch)
    old_run = str(uuid.uuid4())
    left = _events(old_run, 100)
    records = [(settings.telemetry_topic, e["vehicle_id"].encode(), events.encode_event(e))
               for e in left]  # fmt: skip
    records.insert(50, (settings.telemetry_topic, b"car-0", b"y" * (MAX_RECORD_BYTES + 1)))
    spool = Spool(settings.spool_dir / spool_dir_name(old_run))
    spool.append(records)
    spool.close()  # nothing acknowledged: an earlier run that could not deliver

    run_id = str(uuid.uuid4())
    sent = _events(run_id, 100)
    with EventPublisher(settings, run_id=run_id) as publisher:
        for event in sent:
            publisher.publish(event)
    stats = publisher.stats()
    assert (stats.pending, stats.dead_lettered) == (0, 1)
    _check_exactly_once_in_order(read_topic(settings), left + sent)
    assert not list(settings.spool_dir.iterdir()), "the adopted spool is done with"


def test_a_record_over_the_topics_own_limit_is_set_aside(kafka_broker, tmp_path, monkeypatch):
    """A topic whose max.message.bytes is below the defaults: the publisher reads the limit and
    sizes records and batches to it, so neither the record nor a batch of small ones is refused.
    """
    from kafka.admin import KafkaAdminClient, NewTopic

    from vehsim.stream.follow import read_topic
    from vehsim.stream.producer import EventPublisher

    settings = _settings(kafka_broker, tmp_path, monkeypatch)
    topic = f"{settings.telemetry_topic}.small"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "20000"})])
    finally:
        admin.close()
    run_id = str(uuid.uuid4())
    sent = _events(run_id, 100, vehicles=1)
    with EventPublisher(settings, run_id=run_id, topic=topic, retry_interval_s=0.2) as publisher:
        for event in sent[:50]:
            publisher.publish(event)
        publisher.publish_raw(b"car-0", b'"' + b"z" * 50_000 + b'"')  # under ours, over its
        for event in sent[50:]:
            publisher.publish(event)
    stats = publisher.stats()
    records = read_topic(settings, topic=topic)
    assert (stats.pending, stats.dead_lettered) == (0, 1)
    _check_exactly_once_in_order(records, sent)
    (letter,) = _dead_letters(publisher)
    assert "at most 18976" in letter["reason"] and letter["value_bytes"] == 50_002


def test_a_record_the_broker_refuses_is_set_aside_when_its_limit_is_unknown(
    kafka_broker, tmp_path, monkeypatch
):
    """A broker that does not tell its limit (describe_configs refused) and refuses a record:
    sent again alone, refused again, set aside; the records after it (which an idempotent
    producer fails too) are delivered, exactly once.

    The record is larger than the producer's batch_size, so the client sends it in a batch of
    its own (kafka-python 3.0.12 can hang splitting a refused batch of several records).
    """
    from kafka.admin import KafkaAdminClient, NewTopic

    from vehsim.stream import producer
    from vehsim.stream.follow import read_topic

    monkeypatch.setattr(producer, "_topic_message_limit", lambda admin, topic: None)
    settings = _settings(kafka_broker, tmp_path, monkeypatch)
    topic = f"{settings.telemetry_topic}.small"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "200000"})])
    finally:
        admin.close()
    run_id = str(uuid.uuid4())
    sent = _events(run_id, 20, vehicles=1)
    with producer.EventPublisher(
        settings, run_id=run_id, topic=topic, retry_interval_s=0.2
    ) as publisher:
        for event in sent[:10]:
            publisher.publish(event)
        publisher.publish_raw(b"car-0", b'"' + b"z" * 300_000 + b'"')  # over its 200 kB
        for event in sent[10:]:
            publisher.publish(event)
    stats = publisher.stats()
    assert (stats.pending, stats.dead_lettered) == (0, 1), stats
    _check_exactly_once_in_order(read_topic(settings, topic=topic), sent)
    (letter,) = _dead_letters(publisher)
    assert "broker refused" in letter["reason"] and letter["value_bytes"] == 300_002
