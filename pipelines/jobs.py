"""The Silver and Gold jobs: read tables, apply the pure transforms, write, report.

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

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from vehsim.config import Settings, load_settings
from vehsim_pipelines import lake

SILVER_APP_ID = "vehsim.silver"
GOLD_APP_ID = "vehsim.gold"
#: Default watermark: windows ending more than this before a run's newest Gold event are final.
DEFAULT_WATERMARK_S = 600.0

#: Silver tables in commit order; ``dq_runs`` (written last) marks a range as complete.
SILVER_TABLES = (("silver", "telemetry"), ("silver", "events"), ("silver", "quarantine"))
DQ_TABLE = ("ops", "dq_runs")
#: Gold tables in commit order; ``gold_runs`` (written last) marks a range as complete.
GOLD_TABLES = (("gold", "vehicle_minute"), ("gold", "trips"), ("gold", "features"))
GOLD_RUNS_TABLE = ("ops", "gold_runs")

Progress = Callable[[str], None]
#: Called with the table name after each commit; tests use it to inject a crash.
CommitHook = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _uri(settings: Settings, table: tuple[str, str]) -> str:
    return settings.table_uri(*table)


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


def _state(settings: Settings, tables, marker, app_id: str) -> tuple[int, int]:
    opts = settings.lake_storage_options
    done = lake.txn_version(_uri(settings, marker), app_id, opts)
    written = max(lake.txn_version(_uri(settings, t), app_id, opts) for t in tables)
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
    """Bring Silver up to the current Bronze version; returns one entry per range processed."""
    settings = settings or load_settings()
    say = progress or (lambda _m: None)
    opts = settings.lake_storage_options
    head = lake.table_version(settings.table_uri("bronze", "events"), opts)
    if head is None:
        say(f"silver: no Bronze table at {settings.table_uri('bronze', 'events')}; nothing to do")
        return []
    done, written = _state(settings, SILVER_TABLES, DQ_TABLE, SILVER_APP_ID)
    ranges = pending_ranges(done, written, head)
    if not ranges:
        say(f"silver: up to date with Bronze version {head}")
        return []
    spark = spark or _session()
    runs = []
    for after, upto in ranges:
        say(f"silver: Bronze versions {after + 1}..{upto}")
        runs.append(_silver_range(spark, settings, after, upto, say, on_commit))
    return runs


def _silver_range(spark, settings, after, upto, say, on_commit) -> SilverRun:
    from pyspark import StorageLevel

    from vehsim_pipelines import quality, schemas, silver

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    opts = settings.lake_storage_options
    run = SilverRun(after + 1, upto)
    bronze = lake.read_inserts(settings.table_uri("bronze", "events"), after, upto, opts)
    run.rows_read = bronze.num_rows
    say(f"silver: read {run.rows_read:,} Bronze rows")
    if run.rows_read == 0:  # e.g. an empty Bronze batch: nothing to record, no table changes
        return run
    bronze_df = _frame(spark, _with_bronze_columns(bronze))
    del bronze
    # One Spark pass parses, validates and routes every record; the three tables are then
    # slices of its Arrow result (no cache, no second parse).
    routed = lake.plain_arrow(silver.routed_rows(silver.parse_events(bronze_df)).toArrow())
    telemetry, events_, quarantine = (
        _routed_slice(routed, table, schema)
        for table, schema in (
            (silver.TELEMETRY, schemas.telemetry_schema()),
            (silver.EVENTS, schemas.events_schema()),
            (silver.QUARANTINE, schemas.quarantine_schema()),
        )
    )
    del routed
    if quarantine.num_rows:
        # The failed records alone, parsed again to name what is wrong with each.
        bronze_columns = [c for c in quarantine.column_names if not c.startswith("_error")]
        failed = spark.createDataFrame(quarantine.select(bronze_columns))
        quarantine = lake.plain_arrow(silver.quarantine_rows(silver.parse_events(failed)).toArrow())
    run.quarantined = _reason_counts(quarantine)
    n_valid = run.rows_read - quarantine.num_rows
    seen = _seen_event_ids(settings, after)
    if not _all_new_and_distinct(telemetry, events_, seen):
        valid = spark.createDataFrame(
            pa.concat_tables([telemetry, events_], promote_options="default")
        )
        seen_df = None if seen is None else spark.createDataFrame(seen)
        unique = silver.deduplicate(valid, seen_df).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            telemetry = lake.plain_arrow(silver.telemetry_rows(unique).toArrow())
            events_ = lake.plain_arrow(silver.event_rows(unique).toArrow())
        finally:
            unique.unpersist()
    run.telemetry_rows, run.event_rows = telemetry.num_rows, events_.num_rows
    run.duplicates = n_valid - run.telemetry_rows - run.event_rows
    say(
        f"silver: {run.telemetry_rows:,} telemetry, {run.event_rows:,} other events, "
        f"{run.rows_quarantined:,} quarantined, {run.duplicates:,} duplicates"
    )
    gaps = quality.seq_completeness(_run_ids(settings, (telemetry, events_), after)).to_pylist()
    fresh = quality.freshness(telemetry, events_)
    run.missing_seq = int(sum(g["missing"] for g in gaps))
    run.duration_s = time.monotonic() - t0
    dq = _dq_row(run, started_at, gaps, fresh)
    writes = [
        (SILVER_TABLES[0], telemetry),
        (SILVER_TABLES[1], events_),
        (SILVER_TABLES[2], quarantine),
        (DQ_TABLE, dq),
    ]
    for table, data in writes:
        if lake.append(_uri(settings, table), data, SILVER_APP_ID, upto, opts):
            say(f"silver: committed {data.num_rows:,} rows to {'/'.join(table)}")
        if on_commit is not None:
            on_commit("/".join(table))
    return run


def _routed_slice(routed: pa.Table, table: str, schema) -> pa.Table:
    """The rows of :func:`silver.routed_rows` output bound for ``table``, in its columns."""
    columns = routed.select([f.name for f in schema.fields])
    mask = pc.equal(routed["_table"], table)
    selected = pc.sum(mask).as_py() or 0
    if selected == routed.num_rows:  # the usual case for telemetry: no copy
        return columns
    return columns.slice(0, 0) if selected == 0 else columns.filter(mask)


#: Rows per Spark partition when an Arrow table becomes a DataFrame (Spark's default slices it
#: into 10,000-row partitions: one task each, whose overhead dominates on a small machine).
ROWS_PER_PARTITION = 250_000


def _frame(spark, table: pa.Table):
    """``table`` as a DataFrame in a few large partitions (no shuffle)."""
    frame = spark.createDataFrame(table)
    parallelism = spark.sparkContext.defaultParallelism
    partitions = max(parallelism, -(-table.num_rows // ROWS_PER_PARTITION))
    return frame.coalesce(partitions) if frame.rdd.getNumPartitions() > partitions else frame


def _with_bronze_columns(bronze: pa.Table) -> pa.Table:
    """Bronze rows with every column Silver reads (optional byte columns added as nulls)."""
    from vehsim_pipelines.schemas import BRONZE_COLUMNS

    columns = []
    for name, dtype in BRONZE_COLUMNS.items():
        if name in bronze.column_names:
            columns.append(bronze[name].cast(dtype))
        else:
            columns.append(pa.nulls(bronze.num_rows, dtype))
    return pa.table(columns, names=list(BRONZE_COLUMNS))


def _all_new_and_distinct(telemetry: pa.Table, events_: pa.Table, seen: pa.Table | None) -> bool:
    """True when no ``event_id`` repeats and none is already in Silver (the usual case): the
    valid rows are then Silver's rows as they are, and the ordered duplicate pick is skipped.
    Checked on the Arrow result, which costs far less than a Spark shuffle of the ids."""
    ids = pa.chunked_array(
        [*telemetry["event_id"].chunks, *events_["event_id"].chunks], type=pa.string()
    )
    if pc.count_distinct(ids).as_py() != len(ids):
        return False
    if seen is None or len(ids) == 0:
        return True
    return not pc.any(pc.is_in(ids, value_set=seen["event_id"].combine_chunks())).as_py()


def _seen_event_ids(settings, after: int) -> pa.Table | None:
    """``event_id`` of every Silver event from Bronze versions <= ``after`` (None if none)."""
    if after < 0:
        return None
    parts = []
    for table in SILVER_TABLES[:2]:
        data = lake.read_table(
            _uri(settings, table),
            settings.lake_storage_options,
            columns=["event_id"],
            filters=[("bronze_version", "<=", after)],
        )
        if data is not None and data.num_rows:
            parts.append(data)
    if not parts:
        return None
    return pa.concat_tables(parts)


def _run_ids(settings, new: tuple[pa.Table, ...], after: int) -> pa.Table:
    """``vehicle_id``, ``run_id``, ``seq`` of the new events and of every earlier Silver event
    of the (vehicle, run) pairs they touch, so completeness covers whole runs."""
    columns = ["vehicle_id", "run_id", "seq"]
    parts = [t.select(columns) for t in new]
    ids = pa.concat_tables(parts)
    if after >= 0 and ids.num_rows:
        touched = ids.group_by(["vehicle_id", "run_id"]).aggregate([])
        runs = pc.unique(touched["run_id"]).to_pylist()
        for table in SILVER_TABLES[:2]:
            old = lake.read_table(
                _uri(settings, table),
                settings.lake_storage_options,
                columns=columns,
                filters=[("bronze_version", "<=", after), ("run_id", "in", runs)],
            )
            if old is not None and old.num_rows:
                old = old.join(touched, ["vehicle_id", "run_id"], join_type="inner")
                parts.append(old.select(columns).cast(ids.schema))
        ids = pa.concat_tables(parts)
    return ids


def _reason_counts(quarantine: pa.Table) -> dict[str, int]:
    from vehsim_pipelines.schemas import QUARANTINE_REASONS

    counts = {reason: 0 for reason in QUARANTINE_REASONS}
    if quarantine.num_rows:
        for item in pc.value_counts(quarantine["_error"]).to_pylist():
            counts[item["values"]] = item["counts"]
    return counts


def _dq_row(run: SilverRun, started_at: datetime, gaps: list[dict], fresh: Mapping) -> pa.Table:
    from vehsim_pipelines.schemas import QUARANTINE_REASONS, dq_runs_schema

    finished_at = datetime.now(UTC)
    newest = fresh.get("max_emitted_at")
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
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
        **{f"quarantined_{r}": run.quarantined.get(r, 0) for r in QUARANTINE_REASONS},
        "duplicates": run.duplicates,
        "vehicle_runs_checked": len(gaps),
        "missing_seq_total": run.missing_seq,
        "seq_gaps": gaps,
        "max_emitted_at": newest,
        "ingest_lag_p50_s": fresh.get("ingest_lag_p50_s"),
        "ingest_lag_max_s": fresh.get("ingest_lag_max_s"),
        "freshness_s": (finished_at - newest).total_seconds() if newest else None,
    }
    return pa.Table.from_pylist([row], schema=dq_runs_schema())


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
        watermark_s: A window that ended more than this before the newest event Gold already
            had for the run is final: a later event for it is counted, not applied.
    """
    settings = settings or load_settings()
    say = progress or (lambda _m: None)
    opts = settings.lake_storage_options
    head = lake.txn_version(_uri(settings, DQ_TABLE), SILVER_APP_ID, opts)
    done, written = _state(settings, GOLD_TABLES, GOLD_RUNS_TABLE, GOLD_APP_ID)
    ranges = pending_ranges(done, written, head)
    if not ranges:
        say(f"gold: up to date with Silver (Bronze version {head})")
        return []
    spark = spark or _session()
    runs = []
    for after, upto in ranges:
        say(f"gold: Silver rows of Bronze versions {after + 1}..{upto}")
        runs.append(_gold_range(spark, settings, after, upto, watermark_s, say, on_commit))
    return runs


def _gold_range(spark, settings, after, upto, watermark_s, say, on_commit) -> GoldRun:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from vehsim_pipelines import gold

    t0 = time.monotonic()
    opts = settings.lake_storage_options
    run = GoldRun(after + 1, upto)
    telemetry_uri = _uri(settings, SILVER_TABLES[0])
    touched = lake.read_table(
        telemetry_uri,
        opts,
        columns=["vehicle_id", "run_id"],
        filters=[("bronze_version", ">", after), ("bronze_version", "<=", upto)],
    )
    outputs: dict[tuple[str, str], pa.Table] = {}
    if touched is not None and touched.num_rows:
        pairs = touched.group_by(["vehicle_id", "run_id"]).aggregate([])
        run.vehicle_runs = pairs.num_rows
        runs = pc.unique(pairs["run_id"]).to_pylist()
        rows = lake.read_table(
            telemetry_uri,
            opts,
            columns=gold.INPUT_COLUMNS,
            filters=[("run_id", "in", runs), ("bronze_version", "<=", upto)],
        )
        rows = rows.join(pairs, ["vehicle_id", "run_id"], join_type="inner")
        run.silver_rows = rows.num_rows
        say(f"gold: {run.vehicle_runs} vehicle run(s), {run.silver_rows:,} Silver rows")
        telemetry = _frame(spark, rows)
        # Every Gold table derives from the minute aggregates (small: one row per vehicle-minute),
        # so only they are cached; the per-event window pass runs once.
        all_minutes = gold.minute_aggregates(gold.with_increments(telemetry)).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        minutes = all_minutes
        late = None
        if after >= 0:  # windows can only be final for runs Gold has seen before
            cutoffs = F.broadcast(
                telemetry.where(F.col("bronze_version") <= after)
                .groupBy(*gold.TRIP_KEYS)
                .agg(
                    (
                        F.max("emitted_at") - F.expr(f"make_interval(0,0,0,0,0,0,{watermark_s})")
                    ).alias("cutoff")
                )
            )
            minutes = gold.open_windows(all_minutes, cutoffs)
            late = (
                telemetry.where(F.col("bronze_version") > after)
                .join(cutoffs, list(gold.TRIP_KEYS))
                .where(
                    gold.window_start(telemetry) + F.expr(f"INTERVAL {gold.WINDOW_S} SECONDS")
                    <= F.col("cutoff")
                )
            )
        run.late_events_dropped = 0 if late is None else late.count()
        outputs[GOLD_TABLES[0]] = lake.plain_arrow(gold.vehicle_minute(minutes).toArrow())
        outputs[GOLD_TABLES[1]] = lake.plain_arrow(gold.trips(all_minutes, telemetry).toArrow())
        outputs[GOLD_TABLES[2]] = lake.plain_arrow(
            gold.features(minutes, _vehicle_dimension(spark)).toArrow()
        )
        all_minutes.unpersist()
    run.vehicle_minute_rows = _rows(outputs.get(GOLD_TABLES[0]))
    run.trip_rows = _rows(outputs.get(GOLD_TABLES[1]))
    run.feature_rows = _rows(outputs.get(GOLD_TABLES[2]))
    if run.late_events_dropped:
        say(f"gold: {run.late_events_dropped:,} event(s) arrived after their window closed")
    keys = {
        GOLD_TABLES[0]: gold.WINDOW_KEYS,
        GOLD_TABLES[1]: gold.TRIP_KEYS,
        GOLD_TABLES[2]: gold.WINDOW_KEYS,
    }
    for table in GOLD_TABLES:
        data = outputs.get(table)
        if data is not None and lake.upsert(
            _uri(settings, table), data, keys[table], GOLD_APP_ID, upto, opts
        ):
            say(f"gold: merged {data.num_rows:,} rows into {'/'.join(table)}")
        if on_commit is not None:
            on_commit("/".join(table))
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
    lake.append(_uri(settings, GOLD_RUNS_TABLE), record, GOLD_APP_ID, upto, opts)
    if on_commit is not None:
        on_commit("/".join(GOLD_RUNS_TABLE))
    return run


def _rows(table: pa.Table | None) -> int:
    return 0 if table is None else table.num_rows


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


def _session(master: str | None = None, conf: Mapping[str, str] | None = None):
    from vehsim_pipelines.session import build_spark

    settings = {"spark.ui.showConsoleProgress": "false"}
    settings.update(conf or {})
    return build_spark("vehsim-refine", master=master, conf=settings)


def table_summary(settings: Settings | None = None) -> dict[str, dict]:
    """Version and row count of every lake table (None for a table that does not exist)."""
    settings = settings or load_settings()
    summary = {}
    for table in (("bronze", "events"), *SILVER_TABLES, DQ_TABLE, *GOLD_TABLES, GOLD_RUNS_TABLE):
        t = lake.open_table(_uri(settings, table), settings.lake_storage_options)
        summary["/".join(table)] = (
            None if t is None else {"version": t.version(), "rows": _count_rows(t)}
        )
    return summary


def _count_rows(table) -> int:
    actions = table.get_add_actions(flatten=True)
    data = pa.table(actions)
    if "num_records" in data.column_names:
        return int(pc.sum(data["num_records"]).as_py() or 0)
    return table.to_pyarrow_table(columns=[]).num_rows


def headline_figures(settings: Settings | None = None) -> dict:
    """A few fleet figures from Gold trips: distance, fuel, consumption, harsh events."""
    settings = settings or load_settings()
    trips = lake.read_table(_uri(settings, GOLD_TABLES[1]), settings.lake_storage_options)
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
