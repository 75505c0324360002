"""The Kafka source's pure parts: options, offset arithmetic, checkpoint reading (no services)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyspark", reason="needs the [spark] extra")

from vehsim_pipelines import kafka_source as ks  # noqa: E402


def test_options_map_kafka_settings_to_client_keywords():
    config = ks.parse_options(
        {
            "subscribe": "a, b",
            "kafka.bootstrap.servers": "h1:9092,h2:9092",
            "kafka.security.protocol": "SASL_SSL",
            "kafka.request.timeout.ms": "60000",
            "maxOffsetsPerTrigger": "1000",
            "startingOffsets": "LATEST",
        }
    )
    assert config.topics == ("a", "b")
    client = config.client_kwargs
    assert client["bootstrap_servers"] == ["h1:9092", "h2:9092"]
    assert client["security_protocol"] == "SASL_SSL"
    assert client["request_timeout_ms"] == 60000
    assert config.max_offsets_per_trigger == 1000
    assert config.starting_offsets == "latest"
    assert config.fail_on_data_loss is True


@pytest.mark.parametrize(
    "options, message",
    [
        ({"kafka.bootstrap.servers": "h:1"}, "subscribe is required"),
        ({"subscribe": "t"}, "kafka.bootstrap.servers is required"),
        (
            {"subscribe": "t", "kafka.bootstrap.servers": "h:1", "startingOffsets": "x"},
            "earliest or latest",
        ),
        ({"subscribe": "t", "kafka.bootstrap.servers": "h:1", "maxOffsetsPerTrigger": "0"}, ">= 1"),
        ({"subscribe": "t", "kafka.bootstrap.servers": "h:1", "maxRecordsPerSplit": "ten"}, ">= 1"),
        (
            {"subscribe": "t", "kafka.bootstrap.servers": "h:1", "failOnDataLoss": "maybe"},
            "true or false",
        ),
        (
            {"subscribe": "t", "kafka.bootstrap.servers": "h:1", "client": "java"},
            "client must be one of auto, confluent-kafka, kafka-python",
        ),
    ],
)
def test_bad_options_name_the_option_and_the_allowed_values(options, message):
    with pytest.raises(ks.KafkaSourceError, match=message):
        ks.parse_options(options)


def test_librdkafka_gets_the_same_client_settings_or_none():
    options = {
        "subscribe": "t",
        "kafka.bootstrap.servers": "h1:9092,h2:9092",
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.plain.username": "$ConnectionString",
        "kafka.sasl.plain.password": "secret",
        "kafka.ssl.cafile": "/etc/ca.pem",
    }
    settings = ks.rdkafka_settings(ks.parse_options(options))
    assert settings["bootstrap.servers"] == "h1:9092,h2:9092"
    assert settings["security.protocol"] == "SASL_SSL"
    assert (settings["sasl.username"], settings["sasl.password"]) == ("$ConnectionString", "secret")
    assert settings["ssl.ca.location"] == "/etc/ca.pem"
    assert settings["isolation.level"] == "read_uncommitted"
    # A setting without a librdkafka equivalent: auto falls back to kafka-python.
    odd = ks.parse_options({**options, "kafka.api.version.auto.timeout.ms": "5000"})
    assert ks.rdkafka_settings(odd) is None
    assert ks._use_rdkafka(odd) is False
    with pytest.raises(ks.KafkaSourceError, match="confluent-kafka"):
        ks._use_rdkafka(replace(odd, client_library="confluent-kafka"))


def test_source_config_and_ranges_survive_pickling():
    import pickle

    config = ks.parse_options({"subscribe": "t", "kafka.bootstrap.servers": "h:1"})
    reader = ks.KafkaStreamReader(config)
    reader._last_end = {"t": {"0": 5}}
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.config == config and clone._last_end is None
    split = ks.KafkaSplit((ks.OffsetRange("t", 2, 10, 20), ks.OffsetRange("t", 3, 0, 5)))
    assert pickle.loads(pickle.dumps(split)) == split and split.size == 15
    assert hash(config) == hash(pickle.loads(pickle.dumps(config)))


_offsets = st.dictionaries(
    st.sampled_from(["0", "1", "2", "3"]), st.integers(0, 10_000), min_size=1
).map(lambda parts: {"t": parts})


@st.composite
def _start_end(draw):
    start = draw(_offsets)
    end = {"t": {p: pos + draw(st.integers(0, 50_000)) for p, pos in start["t"].items()}}
    return start, end


@given(_start_end(), st.integers(1, 100_000))
@settings(max_examples=200, deadline=None)
def test_capped_offsets_stay_between_start_and_end_and_respect_the_budget(start_end, cap):
    start, end = start_end
    capped = ks.cap_offsets(start, end, cap)
    lagging = sum(1 for p in end["t"] if end["t"][p] > start["t"][p])
    for p, pos in capped["t"].items():
        assert start["t"][p] <= pos <= end["t"][p]
        if end["t"][p] > start["t"][p]:
            assert pos > start["t"][p], "every lagging partition makes progress"
    # Each lagging partition may get one record of its own above its proportional share.
    assert ks.total_records(start, capped) <= cap + lagging
    if ks.total_records(start, end) <= cap:
        assert capped == end


def test_cap_shares_the_budget_by_lag():
    start = {"t": {"0": 0, "1": 100, "2": 7}}
    end = {"t": {"0": 9_000, "1": 1_100, "2": 7}}
    assert ks.cap_offsets(start, end, 1_000) == {"t": {"0": 900, "1": 200, "2": 7}}
    assert ks.cap_offsets(start, end, None) == end


@given(_start_end(), st.integers(1, 20_000), st.integers(1, 8), st.integers(1, 5_000))
@settings(max_examples=200, deadline=None)
def test_splits_cover_each_range_exactly_once_in_bounded_tasks(start_end, size, target, small):
    start, end = start_end
    splits = ks.plan_splits(start, end, size, target, small)
    ranges = [r for s in splits for r in s.ranges]
    for p in end["t"]:
        covered = [o for r in ranges if r.partition == int(p) for o in range(r.start, r.end)]
        assert covered == list(range(start["t"][p], end["t"][p]))
    assert all(0 < s.size <= size for s in splits)
    assert all(r.size > 0 for r in ranges)
    assert splits == ks.plan_splits(start, end, size, target, small), "planning is deterministic"
    total = ks.total_records(start, end)
    if total >= target * min(small, size) and size >= small:
        assert len(splits) >= min(target, total), "a large batch uses the cores"


def test_a_small_batch_is_one_task_and_a_large_one_is_spread():
    start = {"t": {"0": 0, "1": 0, "2": 0}}
    small = {"t": {"0": 700, "1": 650, "2": 690}}
    assert [s.size for s in ks.plan_splits(start, small, 50_000, target_splits=2)] == [2_040]
    large = {"t": {"0": 70_000, "1": 65_000, "2": 69_000}}
    splits = ks.plan_splits(start, large, 50_000, target_splits=2)
    assert len(splits) >= 4 and max(s.size for s in splits) <= 50_000


def test_no_split_when_start_equals_end():
    offsets = {"t": {"0": 5, "1": 0}}
    assert ks.plan_splits(offsets, offsets, 10) == []


def _write_batch(root, batch_id: int, offsets: dict, committed: bool) -> None:
    (root / "offsets").mkdir(parents=True, exist_ok=True)
    (root / "commits").mkdir(parents=True, exist_ok=True)
    meta = {"batchWatermarkMs": 0, "batchTimestampMs": 0, "conf": {}}
    (root / "offsets" / str(batch_id)).write_text(
        "v1\n" + json.dumps(meta) + "\n" + json.dumps(offsets) + "\n"
    )
    if committed:
        (root / "commits" / str(batch_id)).write_text('v1\n{"nextBatchWatermarkMs":0}\n')


def test_checkpointed_end_reads_the_newest_planned_or_committed_batch(tmp_path):
    assert ks.checkpointed_end(str(tmp_path)) is None
    _write_batch(tmp_path, 0, {"t": {"0": 10}}, committed=True)
    _write_batch(tmp_path, 1, {"t": {"0": 25}}, committed=False)
    assert ks.checkpointed_end(str(tmp_path)) == {"t": {"0": 25}}
    assert ks.checkpointed_end(str(tmp_path), committed=True) == {"t": {"0": 10}}
    assert ks.checkpointed_end(f"file:{tmp_path}", committed=True) == {"t": {"0": 10}}


def test_offsets_reached_counts_missing_partitions_at_their_default():
    target = {"t": {"0": 10, "1": 0}}
    assert ks.offsets_reached({"t": {"0": 10}}, target, {"t": {"0": 0, "1": 0}})
    assert not ks.offsets_reached({"t": {"0": 9}}, target, {"t": {"0": 0, "1": 0}})
    assert not ks.offsets_reached(None, target, {"t": {"0": 0, "1": 0}})
    assert ks.offsets_reached(None, target, target)
