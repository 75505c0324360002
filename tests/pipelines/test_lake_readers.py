"""Every table Spark writes is readable by delta-rs (``deltalake``) and reads the same there.

Notebooks, experiments and the dashboard read the lake with ``deltalake``; the jobs write it with
delta-spark. A full Bronze → Silver → Gold run on generated data (a small fleet, the bad-event
corpus, duplicates, a second increment that updates Gold windows by MERGE) is read back through
both, table by table: same columns, same rows.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark", reason="needs the [spark] extra")
pytest.importorskip("deltalake", reason="needs the [spark] extra")

from lakehouse_data import BronzeWriter, bad_event_corpus, telemetry_event  # noqa: E402

from vehsim import events  # noqa: E402
from vehsim_pipelines import catalog, jobs, lake  # noqa: E402

#: Table features delta-rs (deltalake 1.x) reads and writes; anything else would lock readers out.
_FEATURES_BOTH_SUPPORT = {"appendOnly", "changeDataFeed", "invariants", "checkConstraints"}


@pytest.fixture
def settings(vehsim_env):
    from vehsim.config import load_settings

    return load_settings()


def _rows(table):
    """Rows of an Arrow table in a canonical order (every value as text for the sort key)."""
    rows = lake.plain_arrow(table).to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in sorted(r)))


def test_every_table_of_a_full_run_reads_the_same_through_deltalake_and_spark(spark, settings):
    from deltalake import DeltaTable

    bronze = BronzeWriter(settings.table_uri("bronze", "events"))
    fleet = [
        telemetry_event(v, f"run-{v}", s)
        for v in ("compact-sedan-000", "pickup-v8-001")
        for s in range(0, 130)
    ]
    code = events.make_event(  # a trouble code, so gold/diagnostics has a row too
        events.DIAGNOSTIC_DTC,
        "compact-sedan-000",
        "run-compact-sedan-000",
        10_000,
        100.0,
        {
            "code": "P0128",
            "description": "d",
            "status": "pending",
            "mil_on": False,
            "sim_time_s": 100.0,
            "freeze_frame": None,
        },
        emitted_at="2026-11-27T12:01:40Z",
    )
    bronze.append([i.value for i in bad_event_corpus()])
    bronze.append_events([*fleet[:200], code])
    jobs.run_silver(spark, settings, progress=None)
    jobs.run_gold(spark, settings, progress=None)
    bronze.append_events(fleet[150:])  # overlaps the first increment: duplicates, MERGE updates
    jobs.run_silver(spark, settings, progress=None)
    jobs.run_gold(spark, settings, progress=None)

    lakehouse = catalog.Catalog(settings)
    for entry in catalog.ALL_TABLES:
        uri = lakehouse.uri(entry)
        table = DeltaTable(uri)
        protocol = table.protocol()
        features = set(protocol.writer_features or []) | set(protocol.reader_features or [])
        assert features <= _FEATURES_BOTH_SUPPORT, (entry.id, features)
        assert protocol.min_reader_version == 1, (entry.id, protocol)
        by_deltalake = table.to_pyarrow_table()
        by_spark = spark.read.format("delta").load(lakehouse.spark_path(entry)).toArrow()
        assert by_deltalake.num_rows > 0, entry.id
        assert by_deltalake.column_names == by_spark.column_names or sorted(
            by_deltalake.column_names
        ) == sorted(by_spark.column_names), entry.id
        assert _rows(by_deltalake) == _rows(by_spark.select(by_deltalake.column_names)), entry.id
    # and the job's own incremental state is readable: the app transactions delta-rs sees
    assert DeltaTable(lakehouse.uri(catalog.DQ_RUNS)).transaction_version(jobs.SILVER_APP_ID) == 2
    assert DeltaTable(lakehouse.uri(catalog.GOLD_RUNS)).transaction_version(jobs.GOLD_APP_ID) == 2
