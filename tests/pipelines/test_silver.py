"""Silver: validation and quarantine reasons, deduplication, dq record, incremental runs."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")

from lakehouse_data import BronzeWriter, bad_event_corpus, telemetry_event  # noqa: E402

from vehsim_pipelines import jobs, lake, silver  # noqa: E402


def _corpus_frame(spark, items):
    rows = [(item.value, "t", 0, i, 1) for i, item in enumerate(items)]
    return spark.createDataFrame(
        rows, "raw_event string, topic string, partition int, offset long, bronze_version long"
    )


def test_every_corpus_record_gets_its_expected_reason_and_field(spark):
    items = bad_event_corpus()
    parsed = silver.parse_events(_corpus_frame(spark, items)).cache()
    quarantine = {r["offset"]: r for r in silver.quarantine_rows(parsed).collect()}
    for offset, item in enumerate(items):
        row = quarantine.get(offset)
        if item.reason is None:
            assert row is None, f"valid record {offset} quarantined: {row}"
            continue
        assert row is not None, f"record {offset} ({item.value!r:.80}) not quarantined"
        assert (row["_error"], row["_error_field"]) == (item.reason, item.field), item.value
        assert row["_error_detail"], "every quarantine row explains itself"
        assert row["raw_event"] == item.value, "the raw value is kept unchanged"


def test_details_name_the_field_and_the_allowed_range(spark):
    items = bad_event_corpus()
    parsed = silver.parse_events(_corpus_frame(spark, items))
    details = {
        r["_error_field"]: r["_error_detail"] for r in silver.quarantine_rows(parsed).collect()
    }
    assert "[0, 400]" in details["payload.vehicle_speed_kph"]
    assert "-5" in details["payload.vehicle_speed_kph"]
    assert "expected string, got bigint" in details["vehicle_id"]
    assert "expected integer, got string" in details["seq"] or "expected integer" in details["seq"]
    assert (
        "[-60, 300]" in details["payload.coolant_temp_c"]
        or "missing" in details["payload.coolant_temp_c"]
    )


def test_duplicates_kept_once_first_kafka_record_wins(spark):
    event = telemetry_event("car-000", "run-1", 0)
    from lakehouse_data import encode

    rows = [
        (encode(event), "t", 0, 5, 1),
        (encode(event), "t", 0, 2, 1),
        (encode(event), "t", 1, 0, 2),
    ]
    frame = spark.createDataFrame(
        rows, "raw_event string, topic string, partition int, offset long, bronze_version long"
    )
    unique = silver.deduplicate(silver.valid_events(silver.parse_events(frame))).collect()
    assert len(unique) == 1
    assert (unique[0]["partition"], unique[0]["offset"]) == (0, 2)


def test_seq_completeness_counts_missing_sequence_numbers(spark):
    import pyarrow as pa

    from vehsim_pipelines import quality

    seqs = [("a", s) for s in (0, 1, 2, 5, 6, 6)] + [("b", s) for s in (4, 3)]
    ids = pa.table(
        {
            "vehicle_id": [v for v, _ in seqs],
            "run_id": ["r"] * len(seqs),
            "seq": pa.array([s for _, s in seqs], pa.int64()),
        }
    )
    gaps = quality.seq_completeness(spark.createDataFrame(ids)).toArrow()
    rows = {r["vehicle_id"]: r for r in gaps.to_pylist()}
    assert rows["a"]["missing"] == 2 and rows["a"]["last_seq"] == 6
    assert rows["a"]["events"] == 5, "a repeated seq counts once"
    assert rows["b"]["missing"] == 3, "seq starts at 0, so 0..2 are missing"
    assert rows["b"]["first_seq"] == 3


def test_freshness_of_new_events(spark):
    from datetime import UTC, datetime, timedelta

    import pyarrow as pa

    from vehsim_pipelines import quality

    t0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    emitted = [t0, t0 + timedelta(seconds=1), t0 + timedelta(seconds=2)]
    lags_s = [0.5, 1.0, 3.0]
    table = pa.table(
        {
            "emitted_at": pa.array(emitted, pa.timestamp("us", "UTC")),
            "ingest_ts": pa.array(
                [e + timedelta(seconds=lag) for e, lag in zip(emitted, lags_s, strict=True)],
                pa.timestamp("us", "UTC"),
            ),
        }
    )

    def freshness(rows):
        return quality.freshness(spark.createDataFrame(rows)).toArrow().to_pylist()[0]

    fresh = freshness(pa.concat_tables([table, table.slice(0, 0)]))
    assert fresh["max_emitted_at"] == emitted[-1]
    assert fresh["ingest_lag_max_s"] == pytest.approx(3.0)
    assert fresh["ingest_lag_p50_s"] == pytest.approx(1.0)
    assert freshness(table.slice(0, 0))["max_emitted_at"] is None


# --- the job on a Bronze table -----------------------------------------------------------------


@pytest.fixture
def settings(vehsim_env):
    from vehsim.config import load_settings

    return load_settings()


def _versions(settings):
    return {
        name: (info or {}).get("version") for name, info in jobs.table_summary(settings).items()
    }


def test_corpus_through_bronze_table_gives_exact_silver_rows_and_dq_record(spark, settings):
    items = bad_event_corpus()
    BronzeWriter(settings.table_uri("bronze", "events")).append([i.value for i in items])
    (run,) = jobs.run_silver(spark, settings, progress=None)
    expected_reasons = {}
    for item in items:
        if item.reason:
            expected_reasons[item.reason] = expected_reasons.get(item.reason, 0) + 1
    valid = [i for i in items if i.reason is None and not i.duplicate]
    assert run.rows_read == len(items)
    assert run.quarantined == expected_reasons
    assert run.duplicates == sum(i.duplicate for i in items) == 3
    assert run.telemetry_rows + run.event_rows == len(valid)
    assert run.event_rows == 1
    telemetry = lake.read_table(settings.table_uri("silver", "telemetry"))
    assert telemetry.num_rows == run.telemetry_rows
    assert len(set(telemetry["event_id"].to_pylist())) == telemetry.num_rows
    quarantine = lake.read_table(settings.table_uri("silver", "quarantine"))
    assert quarantine.num_rows == sum(expected_reasons.values())
    (dq,) = lake.read_table(settings.table_uri("ops", "dq_runs")).to_pylist()
    assert dq["rows_read"] == len(items)
    assert dq["duplicates"] == 3
    assert dq["quarantined_invalid_json"] == expected_reasons["invalid_json"]
    assert dq["quarantined_out_of_range"] == expected_reasons["out_of_range"]
    assert dq["missing_seq_total"] == 0
    assert dq["rows_read"] == dq["rows_written"] + dq["rows_quarantined"] + dq["duplicates"], (
        "nothing is dropped silently"
    )


def test_incremental_runs_count_cross_run_duplicates_and_seq_gaps(spark, settings):
    bronze = BronzeWriter(settings.table_uri("bronze", "events"))
    bronze.append_events([telemetry_event("car-000", "run-1", s) for s in range(20)])
    (first,) = jobs.run_silver(spark, settings, progress=None)
    assert first.telemetry_rows == 20 and first.missing_seq == 0
    # a replay of 5 events already in Silver, and new events with a hole at seq 25
    replay = [telemetry_event("car-000", "run-1", s) for s in range(15, 20)]
    fresh = [telemetry_event("car-000", "run-1", s) for s in range(20, 30) if s != 25]
    bronze.append_events(replay + fresh)
    (second,) = jobs.run_silver(spark, settings, progress=None)
    assert (second.bronze_version_from, second.bronze_version_to) == (1, 1)
    assert second.rows_read == 14
    assert second.duplicates == 5
    assert second.telemetry_rows == 9
    assert second.missing_seq == 1
    assert lake.read_table(settings.table_uri("silver", "telemetry")).num_rows == 29


def test_rerun_without_new_bronze_data_changes_no_table_version(spark, settings):
    bronze = BronzeWriter(settings.table_uri("bronze", "events"))
    bronze.append([i.value for i in bad_event_corpus()])
    jobs.run_silver(spark, settings, progress=None)
    before = _versions(settings)
    assert jobs.run_silver(spark, settings, progress=None) == []
    assert _versions(settings) == before


class _Crash(RuntimeError):
    pass


def _sorted_rows(table, keys):
    rows = table.drop_columns(
        [
            c
            for c in ("started_at", "finished_at", "duration_s", "freshness_s")
            if c in table.column_names
        ]
    ).to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))


@pytest.mark.parametrize("crash_after", ["silver/events"])
def test_crash_mid_silver_then_rerun_equals_uninterrupted_run(
    spark, tmp_path, monkeypatch, crash_after
):
    from vehsim.config import load_settings

    def lake_settings(name):
        monkeypatch.setenv("VEHSIM_HOME", str(tmp_path / name))
        return load_settings()

    batches = [
        [i.value for i in bad_event_corpus()],
        [f'{{"bad": {n}' for n in range(3)]
        + [jobs_event for jobs_event in _events_json(range(12, 20))],
    ]
    clean, crashed = lake_settings("clean"), lake_settings("crashed")
    for s in (clean, crashed):
        writer = BronzeWriter(s.table_uri("bronze", "events"))
        writer.append(batches[0])
    jobs.run_silver(spark, clean, progress=None)

    def crash(table):
        if table == crash_after:
            raise _Crash(table)

    with pytest.raises(_Crash):
        jobs.run_silver(spark, crashed, progress=None, on_commit=crash)
    # more Bronze data arrives before the rerun
    for s in (clean, crashed):
        BronzeWriter(s.table_uri("bronze", "events")).append(batches[1])
        # keep offsets distinct from the first batch
    jobs.run_silver(spark, clean, progress=None)
    reruns = jobs.run_silver(spark, crashed, progress=None)
    assert [(r.bronze_version_from, r.bronze_version_to) for r in reruns] == [(0, 0), (1, 1)]
    keys = {
        ("silver", "telemetry"): ["event_id"],
        ("silver", "events"): ["event_id"],
        ("silver", "quarantine"): ["partition", "offset", "bronze_version", "raw_event"],
        ("ops", "dq_runs"): ["run_id"],
    }
    for table, key in keys.items():
        a = lake.read_table(clean.table_uri(*table))
        b = lake.read_table(crashed.table_uri(*table))
        assert _sorted_rows(a, key) == _sorted_rows(b, key), table


def _events_json(seqs):
    from lakehouse_data import encode

    return [encode(telemetry_event("corpus-car-000", "corpus-run", s)) for s in seqs]


def test_empty_bronze_commit_changes_no_silver_table(spark, settings):
    writer = BronzeWriter(settings.table_uri("bronze", "events"))
    writer.append([])
    (run,) = jobs.run_silver(spark, settings, progress=None)
    assert run.rows_read == 0
    summary = jobs.table_summary(settings)
    assert summary["silver/telemetry"] is None and summary["ops/dq_runs"] is None


def test_command_exit_code_and_summary_survive_the_exit_without_teardown(tmp_path):
    """``vehsim pipeline`` ends without interpreter teardown (native thread pools can abort
    it); its exit code and its whole summary must still reach the caller."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "VEHSIM_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "pipeline", "silver"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["silver"] == [], "no Bronze table yet: nothing to do"
    assert "nothing to do" in done.stderr
