"""Connected mode against a real broker: follow one vehicle's telemetry, publish its commands."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

import pytest

from vehsim.errors import CommandError, VehsimError

pytestmark = pytest.mark.integration


@pytest.fixture
def topics(kafka_broker):
    """Settings with a private topic prefix, topics created on the session broker."""
    from vehsim.stream.broker import ensure_topics

    settings = dataclasses.replace(
        kafka_broker.settings, topic_prefix=f"ui-{uuid.uuid4().hex[:8]}."
    )
    ensure_topics(settings, kafka_broker.bootstrap)
    return settings


def _publish(settings, bootstrap, events):
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for event in events:
        producer.send(
            settings.telemetry_topic,
            key=event["vehicle_id"].encode(),
            value=json.dumps(event).encode(),
        )
    producer.flush()
    producer.close()


def _raw(vehicle_id, seq, rpm):
    from vehsim.events import make_event

    payload = {"engine_on": True, "engine_rpm": rpm, "vehicle_speed_kph": rpm / 100}
    return make_event("simulation.raw", vehicle_id, "run-1", seq, 0.1 * seq, payload)


def _drain(source, want, timeout_s=15.0):
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got += source.poll(time.monotonic())
        time.sleep(0.05)
    return got


def test_follows_the_first_vehicle_and_addresses_commands_to_it(topics, kafka_broker):
    from kafka import KafkaConsumer, TopicPartition

    from vehsim.ui.kafka_link import ConnectedSource

    source = ConnectedSource(topics, bootstrap=kafka_broker.bootstrap)
    try:
        assert source.wait_following(20)
        with pytest.raises(VehsimError, match="no vehicle seen"):
            source.send({"type": "start_engine"})
        _publish(
            topics, kafka_broker.bootstrap, [_raw("car-a", 0, 800.0), _raw("car-b", 0, 3000.0)]
        )
        _publish(
            topics, kafka_broker.bootstrap, [_raw("car-a", i, 800.0 + 100 * i) for i in (1, 2)]
        )
        samples = _drain(source, 3)
        assert [s.vehicle_id for s in samples] == ["car-a"] * 3
        assert [s.payload["engine_rpm"] for s in samples] == [800.0, 900.0, 1000.0]
        assert samples[-1].sim_time_s == pytest.approx(0.2)
        assert source.vehicle_id == "car-a"
        assert any("following vehicle car-a" in n for n in source.notices())

        with pytest.raises(CommandError):
            source.send({"type": "throttle", "value": 250})
        source.send({"type": "throttle", "value": 40})

        consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, group_id=None)
        consumer.assign([TopicPartition(topics.commands_topic, 0)])
        consumer.seek(TopicPartition(topics.commands_topic, 0), 0)
        messages, deadline = [], time.monotonic() + 15
        while not messages and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                messages += [json.loads(r.value) for r in records]
        consumer.close()
        assert len(messages) == 1  # the refused command never left the kernel
        assert messages[0]["vehicle_id"] == "car-a"
        assert (messages[0]["type"], messages[0]["value"]) == ("throttle", 40)
        assert messages[0]["schema_version"] == 1
    finally:
        source.close()


def test_rejections_for_the_followed_vehicle_are_shown(topics, kafka_broker):
    from vehsim.events import make_event
    from vehsim.ui.kafka_link import ConnectedSource

    source = ConnectedSource(topics, vehicle_id="car-a", bootstrap=kafka_broker.bootstrap)
    try:
        assert source.wait_following(20)
        rejection = {"message": "throttle value must be 0..100 %", "field": "value"}
        _publish(
            topics,
            kafka_broker.bootstrap,
            [
                make_event("command.rejected", "car-b", "run-1", 0, 0.0, {"message": "not ours"}),
                make_event("command.rejected", "car-a", "run-1", 0, 0.0, rejection),
                _raw("car-a", 1, 900.0),
            ],
        )
        _drain(source, 1)
        notes = " | ".join(source.notices())
        assert "throttle value must be 0..100 %" in notes
        assert "not ours" not in notes
    finally:
        source.close()


def test_codes_and_spec_sheet_of_the_followed_vehicle(topics, kafka_broker):
    from vehsim.diagnostics import DtcChange
    from vehsim.events import DIAGNOSTIC_DTC, make_event
    from vehsim.ui.kafka_link import ConnectedSource

    def dtc(vehicle_id, seq, change):
        return make_event(DIAGNOSTIC_DTC, vehicle_id, "run-1", seq, change.time_s, change.payload())

    source = ConnectedSource(topics, vehicle_id="car-a", bootstrap=kafka_broker.bootstrap)
    try:
        assert source.wait_following(20)
        raw = _raw("car-a", 1, 900.0)
        raw["payload"]["vehicle_model"] = "pickup-v8"
        _publish(
            topics,
            kafka_broker.bootstrap,
            [
                dtc("car-a", 0, DtcChange(0, "P0301", "pending", 80.0, False)),
                dtc("car-a", 1, DtcChange(0, "P0301", "confirmed", 160.0, True)),
                dtc("car-b", 0, DtcChange(0, "P0217", "pending", 10.0, False)),
                raw,
            ],
        )
        _drain(source, 1)
        status = source.diagnostics()
        assert status.mil_on and [(c.code, c.status) for c in status.codes] == [
            ("P0301", "confirmed")
        ]
        assert source.cluster_hints().spec.name == "pickup-v8"
        source.follow("car-b")
        assert [c.code for c in source.diagnostics().codes] == ["P0217"]
        assert source.cluster_hints().spec is None  # car-b never named its model
    finally:
        source.close()
