"""Bronze in one Spark session: transform, exactly-once batches, replay skipped, odd values kept.

Spark's own Kafka source and delta-spark's streaming sink, on the session's Apache Kafka.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")

from vehsim_pipelines import bronze  # noqa: E402

ODD_VALUES = [
    b"not json at all",
    b"\xff\xfe\x00 invalid utf-8 \xc3\x28",
    b"",
    None,
    b'{"truncated": ',
    b"{" + b"x" * 900_000 + b"}",  # close to the producer's 1 MB request limit
]


# --- the transform, on a static DataFrame -----------------------------------------------------


def test_bronze_frame_keeps_text_and_the_bytes_of_anything_that_is_not_utf8(spark):
    from datetime import UTC, datetime

    rows = [
        (b"car-1", b'{"v": 1}', "t", 0, 7, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 0),
        (b"\xff", b"\xc3\x28bad", "t", 1, 8, None, 0),
        (None, None, "t", 2, 9, None, 0),
    ]
    schema = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp, timestampType int"
    out = bronze.bronze_frame(spark.createDataFrame(rows, schema)).orderBy("offset").collect()
    assert [f for f in out[0].asDict()] == bronze.BRONZE_SCHEMA.names
    good, bad, empty = (r.asDict() for r in out)
    assert good["raw_event"] == '{"v": 1}' and good["raw_event_bytes"] is None
    assert good["key"] == "car-1" and good["key_bytes"] is None
    assert good["kafka_ts"] == datetime(2026, 1, 2, 3, 4, 5)  # session time zone is UTC
    assert bad["raw_event"] == "\ufffd(bad" and bytes(bad["raw_event_bytes"]) == b"\xc3\x28bad"
    assert bad["key"] == "\ufffd" and bytes(bad["key_bytes"]) == b"\xff"
    assert empty["raw_event"] is None and empty["raw_event_bytes"] is None
    assert {r["ingest_date"] for r in (good, bad, empty)} == {good["ingest_ts"].date()}
    for row, value in ((good, b'{"v": 1}'), (bad, b"\xc3\x28bad"), (empty, None)):
        assert bronze.original_value(row) == value


# --- streaming, in this process ---------------------------------------------------------------


def produce(
    settings, values: list[bytes | None], start: int = 0
) -> dict[tuple[int, int], bytes | None]:
    """Send ``values`` round-robin over 3 partitions; return {(partition, offset): value}."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=20)
    futures = [
        (
            producer.send(
                settings.telemetry_topic,
                key=b"car-%d" % (i % 4),
                value=v,
                partition=(start + i) % 3,
            ),
            v,
        )
        for i, v in enumerate(values)
    ]
    producer.flush()
    producer.close()
    sent = {}
    for future, value in futures:
        meta = future.get(timeout=30)
        sent[(meta.partition, meta.offset)] = value
    return sent


def bronze_rows(settings) -> list[dict]:
    from deltalake import DeltaTable

    table = DeltaTable(bronze.bronze_uri(settings)).to_pyarrow_table()
    return table.sort_by([("partition", "ascending"), ("offset", "ascending")]).to_pylist()


def pa_column(table, name: str) -> list:
    import pyarrow as pa

    return pa.table(table).column(name).to_pylist()


def log_commits(settings) -> list[dict]:
    """Per Delta version: its txn actions and commit info (from the JSON log)."""
    log_dir = Path(bronze.bronze_uri(settings)) / "_delta_log"
    commits = []
    for path in sorted(log_dir.glob("*.json")):
        actions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        commits.append(
            {
                "version": int(path.stem),
                "txn": [a["txn"] for a in actions if "txn" in a],
                "adds": [a["add"]["path"] for a in actions if "add" in a],
                "info": next((a["commitInfo"] for a in actions if "commitInfo" in a), {}),
            }
        )
    return commits


def test_batches_land_exactly_once_and_a_replayed_batch_is_skipped(spark, lake_settings):
    import time

    from deltalake import DeltaTable

    t0 = time.monotonic()

    settings = lake_settings
    config = bronze.BronzeConfig(max_offsets_per_trigger=500)
    sent = produce(settings, [b'{"seq": %d}' % i for i in range(1_200)] + ODD_VALUES)

    run = bronze.run_bronze_available_now(spark, settings, config)
    print(f"first run {time.monotonic() - t0:.1f} s: {run}")

    # Acceptance 3: every value lands unchanged, odd ones included, and the stream kept going.
    rows = bronze_rows(settings)
    keys = [(r["partition"], r["offset"]) for r in rows]
    assert len(keys) == len(set(keys)) == len(sent) == run.records
    assert {k: bronze.original_value(r) for k, r in zip(keys, rows, strict=True)} == sent
    assert run.batches >= 3, "the cap splits the backlog into several micro-batches"

    # Acceptance 4: deltalake reads it; one commit per batch, each with its txn.
    checkpoint = bronze.checkpoint_path(settings)
    app_id = bronze.query_id(checkpoint)
    commits = log_commits(settings)
    assert commits[0]["version"] == 0 and commits[0]["txn"] == [], "version 0 creates the table"
    data_commits = commits[1:]
    assert [c["txn"][0]["version"] for c in data_commits] == list(range(run.batches))
    assert all(c["txn"][0]["appId"] == app_id and len(c["txn"]) == 1 for c in data_commits)
    assert [c["info"]["operationParameters"]["epochId"] for c in data_commits] == [
        str(i) for i in range(run.batches)
    ]
    table = DeltaTable(bronze.bronze_uri(settings))
    assert table.transaction_version(app_id) == run.batches - 1
    history = table.history()
    assert len(history) == run.batches + 1
    assert table.metadata().partition_columns == ["ingest_date"]

    # Acceptance 2: Spark replays the last batch when its commit marker is missing; the txn
    # guard skips it, and the batch after it still lands.
    last = run.batches - 1
    (checkpoint / "commits" / str(last)).unlink()
    (checkpoint / "commits" / f".{last}.crc").unlink(missing_ok=True)  # Hadoop's checksum file
    more = produce(settings, [b'{"late": %d}' % i for i in range(30)], start=1)
    version_before = table.version()

    replay = bronze.run_bronze_available_now(spark, settings, config)
    print(f"replay run done at {time.monotonic() - t0:.1f} s: {replay}")

    assert (checkpoint / "commits" / str(last)).is_file(), "Spark re-ran the batch"
    commits = log_commits(settings)
    assert [c["txn"][0]["version"] for c in commits[1:]] == list(range(run.batches + 1))
    assert len(commits) == version_before + 2, "only the new batch committed"
    rows = bronze_rows(settings)
    keys = [(r["partition"], r["offset"]) for r in rows]
    assert len(keys) == len(set(keys)) == len(sent) + len(more)
    assert replay.batches == 2
    # The replayed batch's files were deleted, not left in the table directory.
    table_dir = Path(bronze.bronze_uri(settings))
    on_disk = {str(p.relative_to(table_dir)) for p in table_dir.rglob("*.parquet")}
    in_table = DeltaTable(bronze.bronze_uri(settings)).get_add_actions(flatten=True)
    assert on_disk == set(pa_column(in_table, "path"))
