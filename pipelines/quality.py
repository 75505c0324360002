"""Data-quality figures of a Silver run: ``seq`` completeness and freshness.

Pure DataFrame transforms, no IO: the Silver job applies them to the rows it writes and
collects only their one-row summaries. Every figure is computed without overflow whatever the
input holds (a hostile ``seq`` near 2^63, timestamps at the ends of the calendar): differences
of longs are taken where they cannot wrap, sums of counts in decimals and saturated, time
differences in floating point.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

_RUN_KEYS = ("vehicle_id", "run_id")
_LONG_MAX = 2**63 - 1
_MICROS_PER_S = 1e6
#: Accuracy of the approximate median (rank error at most 1/accuracy of the row count); its
#: memory is bounded by the accuracy, not by the number of rows.
MEDIAN_ACCURACY = 10_000


def seq_completeness(ids: DataFrame) -> DataFrame:
    """``seq`` completeness per vehicle and run (``seq`` starts at 0 and rises by 1).

    Args:
        ids: ``vehicle_id``, ``run_id``, ``seq`` of every Silver event (all types) of the runs
            to check.

    Returns:
        One row per (vehicle_id, run_id): ``first_seq``, ``last_seq``, ``events`` (distinct
        seq) and ``missing`` (``last_seq + 1 - events``: gaps, including before the first
        seen; null only for a negative ``seq`` so low that the difference does not fit).
    """
    counts = ids.groupBy(*_RUN_KEYS).agg(
        F.min("seq").cast("long").alias("first_seq"),
        F.max("seq").cast("long").alias("last_seq"),
        F.count_distinct("seq").cast("long").alias("events"),
    )
    # last_seq - events cannot wrap for seq >= 0 (Silver's rule), and adding 1 then stays
    # <= last_seq; try_* keeps any other input from failing the job.
    missing = F.try_add(F.try_subtract(F.col("last_seq"), F.col("events")), F.lit(1))
    return counts.withColumn("missing", missing)


def seq_summary(gaps: DataFrame) -> DataFrame:
    """One row summarising :func:`seq_completeness`: ``seq_gaps`` (its rows as a list sorted by
    vehicle and run), ``vehicle_runs_checked`` and ``missing_seq_total`` (saturated at the
    largest long rather than wrapping)."""
    row = F.struct("vehicle_id", "run_id", "first_seq", "last_seq", "events", "missing")
    total = F.sum(F.col("missing").cast("decimal(38,0)"))
    return gaps.agg(
        F.sort_array(F.collect_list(row)).alias("seq_gaps"),
        F.count(F.lit(1)).cast("long").alias("vehicle_runs_checked"),
        _saturated_long(F.coalesce(total, F.lit(0).cast("decimal(38,0)"))).alias(
            "missing_seq_total"
        ),
    )


def _saturated_long(value: Column) -> Column:
    return F.least(value, F.lit(_LONG_MAX).cast("decimal(38,0)")).cast("long")


def ingest_lag_s(ingest_ts: Column, emitted_at: Column) -> Column:
    """Kafka ingest time minus emission time [s], in floating point (cannot overflow)."""
    return (
        F.unix_micros(ingest_ts).cast("double") - F.unix_micros(emitted_at).cast("double")
    ) / F.lit(_MICROS_PER_S)


def freshness(rows: DataFrame) -> DataFrame:
    """Newest event time and ingest lag of a run's new events, as one row.

    Args:
        rows: Silver rows (``emitted_at`` and ``ingest_ts``, timestamps).

    Returns:
        ``max_emitted_at`` (timestamp), ``ingest_lag_p50_s`` (approximate median, see
        :data:`MEDIAN_ACCURACY`) and ``ingest_lag_max_s`` [s]; each null when no row has it.
    """
    lag = ingest_lag_s(F.col("ingest_ts"), F.col("emitted_at"))
    return rows.agg(
        F.max("emitted_at").alias("max_emitted_at"),
        F.max(lag).alias("ingest_lag_max_s"),
        F.percentile_approx(lag, 0.5, MEDIAN_ACCURACY).alias("ingest_lag_p50_s"),
    )
