"""The Silver and Gold jobs: read tables, apply the pure transforms, write, report.

Orchestration only: which Bronze version range to process, in which order tables commit, what
to record. The transforms are pure DataFrame functions (:mod:`silver`, :mod:`gold`,
:mod:`quality`); table IO is :mod:`lake` (delta-spark for data, delta-rs for the Delta log).
The executors do the work: a range is read from Bronze's change data feed, parsed, validated,
deduplicated and aggregated by Spark and written by delta-spark (appends, ``MERGE INTO``);
the driver collects only counts and the one-row data-quality summary.

Incremental and restart-safe by one rule: **every table a job writes records, in the same
commit, the Bronze table version its content is complete up to** (a Delta app transaction
``(app_id, bronze_version)``). A job run

1. finds the range a crashed run left half-written (some tables already carry a newer Bronze
   version than the job's last table, ``ops/dq_runs`` or ``ops/gold_runs``) and redoes exactly
   that range, skipping the tables that already hold it;
2. processes the Bronze versions after that, if any.

Inputs of a range are read as of the range (Silver rows carry ``bronze_version``), so a redo
computes the same rows as the interrupted run would have; a run that finds nothing new writes
nothing, so no table version changes.

Use from a notebook::

    from vehsim_pipelines import jobs
    jobs.run_silver(spark)      # -> list[SilverRun]
    jobs.run_gold(spark)        # -> list[GoldRun]
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from vehsim.config import Settings, load_settings
from vehsim_pipelines import catalog as cat
from vehsim_pipelines import lake
from vehsim_pipelines.catalog import Catalog, Table

SILVER_APP_ID = "vehsim.silver"
GOLD_APP_ID = "vehsim.gold"
#: Default watermark: windows ending more than this before a run's newest Gold event are final.
DEFAULT_WATERMARK_S = 600.0

Progress = Callable[[str], None]
#: Called with the table id (``layer/name``) after each commit; tests use it to inject a crash.
CommitHook = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pending_ranges(done: int, written: int, head: int) -> list[tuple[int, int]]:
    """Bronze version ranges ``(after, upto]`` a job must process, oldest first.

    Args:
        done: Version the job's last table (its completion marker) holds, -1 for none.
        written: Highest version any of the job's tables holds (> ``done`` after a crash).
        head: Version available upstream.
    """
    ranges = []
    if written > done:
        ranges.append((done, written))
    last = max(done, written)
    if head > last:
        ranges.append((last, head))
    return ranges


def _state(lakehouse: Catalog, tables: tuple[Table, ...], marker: Table, app_id: str):
    done = lake.txn_version(lakehouse, marker, app_id)
    written = max(lake.txn_version(lakehouse, t, app_id) for t in tables)
    return done, max(written, done)


# --- Silver -----------------------------------------------------------------------------------


@dataclass
class SilverRun:
    """What one Silver range did (also the content of its ``ops/dq_runs`` row)."""

    bronze_version_from: int
    bronze_version_to: int
    rows_read: int = 0
    telemetry_rows: int = 0
    event_rows: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    missing_seq: int = 0
    duration_s: float = 0.0

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_quarantined": self.rows_quarantined}


def run_silver(
    spark=None,
    settings: Settings | None = None,
    progress: Progress | None = _stderr,
    on_commit: CommitHook | None = None,
) -> list[SilverRun]:
    """Bring Silver up to the current Bronze version; returns one entry per range processed.

    ``spark``: a SparkSession, or a callable that returns one and is called only when there is
    a range to process (default: a local session, likewise started only when needed).
    """
    settings = settings or load_settings()
    lakehouse = Catalog(settings)
    say = progress or (lambda _m: None)
    head = lake.table_version(lakehouse, cat.BRONZE_EVENTS)
    if head is None:
        say(f"silver: no Bronze table at {lakehouse.uri(cat.BRONZE_EVENTS)}; nothing to do")
        return []
    done, written = _state(lakehouse, cat.SILVER_TABLES, cat.DQ_RUNS, SILVER_APP_ID)
    ranges = pending_ranges(done, written, head)
    if not ranges:
        say(f"silver: up to date with Bronze version {head}")
        return []
    lake.require_change_feed(lakehouse, cat.BRONZE_EVENTS)
    spark = _start(spark)
    runs = []
    for after, upto in ranges:
        say(f"silver: Bronze versions {after + 1}..{upto}")
        runs.append(_silver_range(spark, lakehouse, after, upto, say, on_commit))
    return runs


def _silver_range(spark, lakehouse: Catalog, after, upto, say, on_commit) -> SilverRun:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from vehsim_pipelines import schemas, silver

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    run = SilverRun(after + 1, upto)
    bronze = _bronze_columns(lake.read_changes(spark, lakehouse, cat.BRONZE_EVENTS, after, upto))
    # One parse validates and routes every record; its result is kept on the executors' disks
    # (not in memory, so memory does not grow with the range) for the writes and counts below,
    # as a checkpoint: the jobs that read it plan a scan of it, not the validation's thousands
    # of expressions again (seconds of driver time per job). A lost executor loses its part,
    # so the range fails and the next run redoes it, as after any crash.
    routed = _materialized(silver.routed_rows(silver.parse_events(bronze)))
    cached = []
    try:
        counts = _routed_counts(routed)
        run.rows_read = sum(counts.values())
        say(f"silver: read {run.rows_read:,} Bronze rows")
        if run.rows_read == 0:  # e.g. an empty Bronze batch: nothing to record, no table changes
            return run
        run.quarantined = {
            reason: counts.get((silver.QUARANTINE, reason), 0) for reason in _quarantine_reasons()
        }
        n_valid = run.rows_read - run.rows_quarantined
        valid = routed.where(F.col("_table") != silver.QUARANTINE)
        seen = _silver_ids(spark, lakehouse, after)
        suspects = silver.duplicate_ids(valid, seen).persist(StorageLevel.DISK_ONLY)
        cached.append(suspects)
        if suspects.isEmpty():  # the usual case: every valid record is a new event
            unique = valid
            run.telemetry_rows = counts.get((silver.TELEMETRY, None), 0)
            run.event_rows = counts.get((silver.EVENTS, None), 0)
        else:
            unique = silver.deduplicate(valid, suspects=suspects).persist(StorageLevel.DISK_ONLY)
            cached.append(unique)
            kept = _routed_counts(unique)
            run.telemetry_rows = kept.get((silver.TELEMETRY, None), 0)
            run.event_rows = kept.get((silver.EVENTS, None), 0)
        run.duplicates = n_valid - run.telemetry_rows - run.event_rows
        say(
            f"silver: {run.telemetry_rows:,} telemetry, {run.event_rows:,} other events, "
            f"{run.rows_quarantined:,} quarantined, {run.duplicates:,} duplicates"
        )

        def failed_rows():
            # the failed records alone are parsed again to name what is wrong with each
            failed = routed.where(F.col("_table") == silver.QUARANTINE).select(*_BRONZE_READ)
            return silver.quarantine_rows(silver.parse_events(failed))

        outputs = (
            (
                cat.SILVER_TELEMETRY,
                lambda: silver.telemetry_rows(unique),
                run.telemetry_rows,
                schemas.telemetry_schema,
            ),
            (
                cat.SILVER_EVENTS,
                lambda: silver.event_rows(unique),
                run.event_rows,
                schemas.events_schema,
            ),
            (cat.SILVER_QUARANTINE, failed_rows, run.rows_quarantined, schemas.quarantine_schema),
        )

        def write(table, rows, n_rows, schema) -> None:
            if not n_rows:
                # Written only when missing, then created from its schema without planning
                # the validation it would run on no rows (thousands of calls into the JVM).
                rows = functools.partial(spark.createDataFrame, [], schema())
            _commit(lakehouse, table, rows, n_rows, SILVER_APP_ID, upto, say, on_commit)

        summary: dict = {}
        # The three tables and the data-quality figures are independent: done at once, one
        # job's planning and commit overlap another's tasks. The completion marker comes last.
        _all_done(
            [functools.partial(write, *output) for output in outputs]
            + [lambda: summary.update(_dq_summary(spark, lakehouse, unique, after))]
        )
        dq = _dq_row(spark, run, summary, started_at, t0)
        _commit(lakehouse, cat.DQ_RUNS, lambda: dq, 1, SILVER_APP_ID, upto, say, on_commit)
    finally:
        for frame in cached:
            frame.unpersist()
        _release(routed)
    return run


def _materialized(frame):
    """``frame`` computed now onto the executors' disks, as a frame whose plan reads it back."""
    from pyspark import StorageLevel

    return frame.localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)


def _release(checkpointed) -> None:
    """Free the disk blocks of a :func:`_materialized` frame now, not at the next JVM GC.

    A Spark Connect client releases them when the frame is garbage-collected; a classic
    session has no public call for it, so the checkpoint's RDD is unpersisted through the JVM.
    """
    from pyspark.sql.utils import is_remote

    if is_remote():
        return
    try:
        checkpointed._jdf.queryExecution().logical().rdd().unpersist(False)
    except Exception:  # noqa: BLE001 - a newer Spark's plan shape: the cleaner frees it later
        pass


def _commit(lakehouse, table, rows, n_rows, app_id, upto, say, on_commit) -> None:
    """Append ``rows()`` (``n_rows`` of them) to ``table`` recording ``(app_id, upto)``.

    Skipped when the table already records ``upto`` (a redo after a crash) and when there is
    nothing to add to an existing table (no new table version); a missing table is created
    even when empty, so readers find it.
    """
    recorded = lake.txn_version(lakehouse, table, app_id)
    if recorded < upto and (n_rows or lake.table_version(lakehouse, table) is None):
        lake.append(rows(), lakehouse, table, app_id, upto)
        say(f"{app_id.rpartition('.')[2]}: committed {n_rows:,} rows to {table.id}")
    if on_commit is not None:
        on_commit(table.id)


def _all_done(tasks: Sequence[Callable[[], object]]) -> None:
    """Run ``tasks`` at once, each on its own driver thread, and wait for all of them.

    Spark runs the jobs of several threads side by side (one session is thread-safe); the
    first failure is raised once every task has ended, so no write is left running behind it.
    """
    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="vehsim-job") as pool:
        futures = [pool.submit(task) for task in tasks]
        wait(futures)
    for future in futures:
        future.result()


#: Bronze columns the Silver parse reads (``bronze_version`` is the commit version).
_BRONZE_READ = (
    "topic",
    "partition",
    "offset",
    "kafka_ts",
    "key",
    "raw_event",
    "raw_event_bytes",
    "ingest_ts",
    "bronze_version",
)


def _bronze_columns(bronze):
    """Bronze rows with every column Silver reads (optional byte columns added as nulls)."""
    from pyspark.sql import functions as F

    from vehsim_pipelines.schemas import BRONZE_COLUMNS

    # Cast to the type's DDL name, not the DataType object: a Spark Connect client sends
    # StringType() as an explicit 'string collate UTF8_BINARY', which Delta then records in
    # the table schema and deltalake cannot read.
    return bronze.select(
        *[
            (F.col(name) if name in bronze.columns else F.lit(None))
            .cast(dtype.simpleString())
            .alias(name)
            for name, dtype in BRONZE_COLUMNS.items()
        ]
    )


def _quarantine_reasons() -> tuple[str, ...]:
    from vehsim_pipelines.schemas import QUARANTINE_REASONS

    return QUARANTINE_REASONS


def _routed_counts(routed) -> dict[tuple[str, str | None], int]:
    """Rows per (``_table``, ``_error``): a handful of numbers, collected."""
    rows = routed.groupBy("_table", "_error").count().collect()
    return {(r["_table"], r["_error"]): int(r["count"]) for r in rows}


def _silver_ids(spark, lakehouse: Catalog, after: int, columns=("event_id",)):
    """``columns`` of every Silver event (telemetry and other types) from Bronze versions
    ``<= after``, as one lazy DataFrame (None when there is none)."""
    from pyspark.sql import functions as F

    if after < 0:
        return None
    parts = [
        lake.read(spark, lakehouse, table).where(F.col("bronze_version") <= after).select(*columns)
        for table in (cat.SILVER_TELEMETRY, cat.SILVER_EVENTS)
        if lake.table_version(lakehouse, table) is not None
    ]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])


def _dq_summary(spark, lakehouse, unique, after) -> dict:
    """``seq`` completeness over every Silver event of the vehicle runs a range touched, and
    the freshness of its new events: one row, collected."""
    from vehsim_pipelines import quality

    keys = ["vehicle_id", "run_id", "seq"]
    ids = unique.select(*keys)
    earlier = _silver_ids(spark, lakehouse, after, keys)
    if earlier is not None:
        touched = ids.select("vehicle_id", "run_id").distinct()
        ids = ids.unionByName(earlier.join(touched, ["vehicle_id", "run_id"], "left_semi"))
    return (
        quality.seq_summary(quality.seq_completeness(ids))
        .crossJoin(quality.freshness(unique.select("emitted_at", "ingest_ts")))
        .toArrow()
        .to_pylist()[0]
    )


def _dq_row(spark, run: SilverRun, summary: dict, started_at, t0):
    """The run's ``ops/dq_runs`` row: counts and the figures of :func:`_dq_summary`."""
    from vehsim_pipelines.schemas import dq_runs_schema

    fresh = summary
    run.missing_seq = int(summary["missing_seq_total"])
    run.duration_s = time.monotonic() - t0
    finished_at = datetime.now(UTC)
    newest = fresh["max_emitted_at"]
    row = {
        "run_id": f"silver-{run.bronze_version_from}-{run.bronze_version_to}",
        "bronze_version_from": run.bronze_version_from,
        "bronze_version_to": run.bronze_version_to,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_s": run.duration_s,
        "rows_read": run.rows_read,
        "rows_written": run.telemetry_rows + run.event_rows,
        "telemetry_rows": run.telemetry_rows,
        "event_rows": run.event_rows,
        "rows_quarantined": run.rows_quarantined,
        **{f"quarantined_{r}": run.quarantined.get(r, 0) for r in _quarantine_reasons()},
        "duplicates": run.duplicates,
        "vehicle_runs_checked": summary["vehicle_runs_checked"],
        "missing_seq_total": run.missing_seq,
        "seq_gaps": summary["seq_gaps"],
        "max_emitted_at": newest,
        "ingest_lag_p50_s": fresh["ingest_lag_p50_s"],
        "ingest_lag_max_s": fresh["ingest_lag_max_s"],
        # as floating point: a hostile emitted_at far in the past or future cannot overflow it
        "freshness_s": (None if newest is None else finished_at.timestamp() - newest.timestamp()),
    }
    return spark.createDataFrame(pa.Table.from_pylist([row], schema=dq_runs_schema()))


# --- Gold -------------------------------------------------------------------------------------


@dataclass
class GoldRun:
    """What one Gold range did (also the content of its ``ops/gold_runs`` row)."""

    bronze_version_from: int
    bronze_version_to: int
    vehicle_runs: int = 0
    silver_rows: int = 0
    vehicle_minute_rows: int = 0
    trip_rows: int = 0
    feature_rows: int = 0
    late_events_dropped: int = 0
    duration_s: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def run_gold(
    spark=None,
    settings: Settings | None = None,
    progress: Progress | None = _stderr,
    on_commit: CommitHook | None = None,
    watermark_s: float = DEFAULT_WATERMARK_S,
) -> list[GoldRun]:
    """Bring Gold up to the Bronze version Silver is complete for; one entry per range.

    Args:
        spark: As for :func:`run_silver`.
        watermark_s: A window that ended more than this before the newest event Gold already
            had for the run is final: a later event for it is counted, not applied.
    """
    settings = settings or load_settings()
    lakehouse = Catalog(settings)
    say = progress or (lambda _m: None)
    head = lake.txn_version(lakehouse, cat.DQ_RUNS, SILVER_APP_ID)
    done, written = _state(lakehouse, cat.GOLD_TABLES, cat.GOLD_RUNS, GOLD_APP_ID)
    ranges = pending_ranges(done, written, head)
    if not ranges:
        say(f"gold: up to date with Silver (Bronze version {head})")
        return []
    spark = _start(spark)
    runs = []
    for after, upto in ranges:
        say(f"gold: Silver rows of Bronze versions {after + 1}..{upto}")
        runs.append(_gold_range(spark, lakehouse, after, upto, watermark_s, say, on_commit))
    return runs


def _gold_range(spark, lakehouse: Catalog, after, upto, watermark_s, say, on_commit) -> GoldRun:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from vehsim_pipelines import gold

    t0 = time.monotonic()
    run = GoldRun(after + 1, upto)
    cached = []
    outputs = {}
    try:
        if lake.table_version(lakehouse, cat.SILVER_TELEMETRY) is not None:
            silver_rows = lake.read(spark, lakehouse, cat.SILVER_TELEMETRY)
            version = F.col("bronze_version")
            # The vehicle runs with new rows (few: broadcast by adaptive execution), then every
            # Silver row of those runs up to this range, so windows and trips cover whole runs.
            pairs = (
                silver_rows.where((version > after) & (version <= upto))
                .select(*gold.TRIP_KEYS)
                .distinct()
                .persist(StorageLevel.MEMORY_AND_DISK)
            )
            cached.append(pairs)
            run.vehicle_runs = pairs.count()
        if run.vehicle_runs:
            telemetry = (
                silver_rows.where(version <= upto)
                .select(*gold.INPUT_COLUMNS)
                .join(pairs, list(gold.TRIP_KEYS), "left_semi")
            )
            # Every Gold table derives from the minute aggregates (one row per vehicle-minute),
            # so only they are cached; the per-run pass runs once.
            all_minutes = gold.minutes(telemetry).persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(all_minutes)
            run.silver_rows = int(all_minutes.agg(F.sum("events")).first()[0] or 0)
            say(f"gold: {run.vehicle_runs} vehicle run(s), {run.silver_rows:,} Silver rows")
            minutes = all_minutes
            if after >= 0:  # windows can only be final for runs Gold has seen before
                cutoffs = (
                    telemetry.where(version <= after)
                    .groupBy(*gold.TRIP_KEYS)
                    .agg(
                        (
                            F.max(gold.event_time(telemetry))
                            - F.expr(f"make_interval(0,0,0,0,0,0,{watermark_s})")
                        ).alias("cutoff")
                    )
                    .persist(StorageLevel.MEMORY_AND_DISK)
                )
                cached.append(cutoffs)
                minutes = gold.open_windows(all_minutes, cutoffs)
                late = (
                    telemetry.where(version > after)
                    .join(cutoffs, list(gold.TRIP_KEYS))
                    .where(
                        gold.window_start(telemetry) + F.expr(f"INTERVAL {gold.WINDOW_S} SECONDS")
                        <= F.col("cutoff")
                    )
                )
                run.late_events_dropped = late.count()
            outputs = {
                cat.GOLD_VEHICLE_MINUTE.id: gold.vehicle_minute(minutes),
                cat.GOLD_TRIPS.id: gold.trips(all_minutes, telemetry),
                cat.GOLD_FEATURES.id: gold.features(minutes, _vehicle_dimension(spark)),
            }
            # One row per open window in vehicle_minute and features, one per vehicle run in
            # trips: one count gives all three.
            run.vehicle_minute_rows = run.feature_rows = minutes.count()
            run.trip_rows = run.vehicle_runs
        counts = {
            cat.GOLD_VEHICLE_MINUTE.id: run.vehicle_minute_rows,
            cat.GOLD_TRIPS.id: run.trip_rows,
            cat.GOLD_FEATURES.id: run.feature_rows,
        }
        other = None
        if lake.table_version(lakehouse, cat.SILVER_EVENTS) is not None:
            other = lake.read(spark, lakehouse, cat.SILVER_EVENTS)
        if other is not None and "dtc_code" in other.columns:
            # trouble codes: every change, up to this range, of the (vehicle, code) pairs it has
            dtc = gold.dtc_events(other).where(F.col("bronze_version") <= upto)
            codes = dtc.where(F.col("bronze_version") > after).select("vehicle_id", "dtc_code")
            codes = codes.distinct()
            counts[cat.GOLD_DIAGNOSTICS.id] = codes.count()
            outputs[cat.GOLD_DIAGNOSTICS.id] = gold.diagnostics(
                dtc.join(codes, ["vehicle_id", "dtc_code"], "left_semi")
            )
        if run.late_events_dropped:
            say(f"gold: {run.late_events_dropped:,} event(s) arrived after their window closed")

        def write(table) -> None:
            rows = outputs.get(table.id)
            recorded = lake.txn_version(lakehouse, table, GOLD_APP_ID)
            if rows is not None and recorded < upto:
                missing = lake.table_version(lakehouse, table) is None
                if counts[table.id] or missing:
                    lake.merge(spark, rows, lakehouse, table, GOLD_APP_ID, upto)
                    say(f"gold: merged {counts[table.id]:,} rows into {table.id}")
            if on_commit is not None:
                on_commit(table.id)

        # The Gold tables are independent: merged at once (Delta's per-operation work, the
        # snapshot, the file rewrite and the commit protocol, overlaps), the marker comes last.
        with lake.idempotent_dml(spark, GOLD_APP_ID, upto):
            _all_done([functools.partial(write, table) for table in cat.GOLD_TABLES])
    finally:
        for frame in cached:
            frame.unpersist()
    run.duration_s = time.monotonic() - t0
    record = pa.Table.from_pylist(
        [
            {
                "run_id": f"gold-{run.bronze_version_from}-{upto}",
                "finished_at": datetime.now(UTC),
                **run.as_dict(),
            }
        ]
    )
    _commit(
        lakehouse,
        cat.GOLD_RUNS,
        lambda: spark.createDataFrame(record),
        1,
        GOLD_APP_ID,
        upto,
        say,
        on_commit,
    )
    return run


@cache
def _vehicle_rows() -> tuple[tuple[str, float, float, float], ...]:
    import vehsim
    from vehsim.errors import VehsimError

    rows = []
    for name in vehsim.list_vehicles():
        try:
            values = vehsim.load_vehicle(name).values
        except VehsimError as exc:  # a broken parameter file must not stop Gold
            print(f"gold: vehicle {name} left out of the features: {exc}", file=sys.stderr)
            continue
        rows.append(
            (
                name,
                float(values["mass_kg"]),
                float(values["displacement_l"]),
                float(values["rated_power_w"]),
            )
        )
    return tuple(rows)


def _vehicle_dimension(spark):
    """Shipped vehicles' mass, displacement and rated power, keyed by vehicle model name."""
    return spark.createDataFrame(
        list(_vehicle_rows()),
        "vehicle_model string, mass_kg double, displacement_l double, rated_power_w double",
    )


# --- both -------------------------------------------------------------------------------------


def _start(spark):
    """The session to run on: ``spark`` itself, or what the callable ``spark`` returns (called
    only once there is work, so that a run with nothing new starts no JVM), or a local one."""
    if spark is None:
        return _session()
    return spark() if callable(spark) and not hasattr(spark, "sql") else spark


def _session(master: str | None = None, conf: Mapping[str, str] | None = None):
    from vehsim_pipelines.session import build_spark

    settings = {"spark.ui.showConsoleProgress": "false"}
    settings.update(conf or {})
    return build_spark("vehsim-refine", master=master, conf=settings)


def table_summary(settings: Settings | None = None) -> dict[str, dict]:
    """Version and row count of every lake table (None for a table that does not exist).

    Read from the Delta logs alone (delta-rs): no Spark job.
    """
    lakehouse = Catalog(settings or load_settings())
    summary = {}
    for table in cat.ALL_TABLES:
        version = lake.table_version(lakehouse, table)
        summary[table.id] = (
            None
            if version is None
            else {"version": version, "rows": lake.row_count(lakehouse, table)}
        )
    return summary


def headline_figures(settings: Settings | None = None) -> dict:
    """A few fleet figures from Gold trips: distance, fuel, consumption, harsh events."""
    lakehouse = Catalog(settings or load_settings())
    trips = lake.read_table(
        lakehouse.uri(cat.GOLD_TRIPS),
        lakehouse.storage_options(),
        columns=[
            "vehicle_id",
            "distance_km",
            "fuel_used_l",
            "harsh_accel_count",
            "harsh_brake_count",
        ],
    )
    if trips is None or trips.num_rows == 0:
        return {}
    distance = pc.sum(trips["distance_km"]).as_py() or 0.0
    fuel = pc.sum(trips["fuel_used_l"]).as_py() or 0.0
    harsh = (pc.sum(trips["harsh_accel_count"]).as_py() or 0) + (
        pc.sum(trips["harsh_brake_count"]).as_py() or 0
    )
    return {
        "trips": trips.num_rows,
        "vehicles": len(pc.unique(trips["vehicle_id"])),
        "distance_km": round(distance, 3),
        "fuel_used_l": round(fuel, 4),
        "fleet_l_per_100km": round(fuel / distance * 100.0, 2) if distance > 0.1 else None,
        "harsh_events": int(harsh),
    }
