"""The spooling publisher on a real broker: delivery, per-vehicle order, spool left behind."""

from __future__ import annotations

import json
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
