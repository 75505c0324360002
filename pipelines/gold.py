"""Silver → Gold: per-minute aggregates, trips, ML features and diagnostics. DataFrame transforms.

The features are defined once, in :mod:`vehsim.features` (pure NumPy/pandas), and Gold runs
those same functions on Spark's executors: :func:`minutes` hands every vehicle run's Silver rows,
whole and in ``seq`` order, to :func:`vehsim.features.window_sums` and
:func:`vehsim.features.span_features` through ``mapInArrow`` (Arrow batches in, Arrow batches
out, no per-row Python). The experiments' simulated table calls the same functions on simulated
telemetry, so a feature name means the same thing in both (``docs/nomenclature.md``).

Every quantity that accumulates (fuel, distance, wear, time) is first turned into a per-event
increment, the difference to the previous event of the same vehicle and run (by ``seq``); the
increment of the interval *ending* at an event belongs to that event's window. Summing the
windows of a run therefore gives exactly the run's totals, and :func:`trips` merges them the way
:func:`vehsim.features.merge_spans` does. The definitions are in ``docs/lakehouse.md``.

Event time is the simulation's clock (``sim_clock_utc``: run start + simulated time) when events
carry it, else ``emitted_at`` (UTC); windows are one minute long, aligned to the minute. Every
time column of Gold (``window_*``, a trip's ``start_at``/``end_at``) is on that clock, the clock
``duration_s`` (simulated seconds) also measures, so a sped-up run's trip lasts as long from
``start_at`` to ``end_at`` as its ``duration_s`` says.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from vehsim import events
from vehsim import features as fx
from vehsim_pipelines.schemas import parse_utc

#: Length of a Gold window [s].
WINDOW_S = fx.WINDOW_S
#: Minimum distance for a consumption or per-distance wear figure to be reported [km].
MIN_DISTANCE_KM = fx.MIN_DISTANCE_KM

#: Key of ``gold/vehicle_minute`` and ``gold/features``.
WINDOW_KEYS = ("vehicle_id", "run_id", "window_start")
#: Key of ``gold/trips``.
TRIP_KEYS = ("vehicle_id", "run_id")
#: Key of ``gold/diagnostics``.
DIAGNOSTIC_KEYS = ("vehicle_id", "code")

_WEAR_FIELDS = fx.WEAR_FIELDS

#: The ``silver/telemetry`` columns the Gold transforms read. The Gold job reads only these:
#: the shuffle that brings each vehicle run together then moves a third less data.
INPUT_COLUMNS = (
    *TRIP_KEYS,
    "seq",
    "sim_time_s",
    "emitted_at",
    "sim_clock_utc",
    "engine_on",
    "engine_rpm",
    "vehicle_speed_kph",
    "accel_mps2",
    "gear",
    "throttle_pct",
    "brake_pct",
    "coolant_temp_c",
    "oil_temp_c",
    "ambient_temp_c",
    "road_grade_pct",
    "fuel_used_l",
    "odometer_km",
    *_WEAR_FIELDS,
    "oil_life_pct",
    "vehicle_model",
    "driver_mode",
    "bronze_version",
)
#: What the per-run pass sends to Python: the samples the features read, on their event time.
_SAMPLE_COLUMNS = (
    *TRIP_KEYS,
    "seq",
    "event_time",
    "window_start",
    *fx.NUMERIC_SAMPLE_COLUMNS,
    "engine_on",
    "vehicle_model",
    "driver_mode",
)


def gear_column(gear: int) -> str:
    """Name of the time-in-gear column of ``gear`` (-1 reverse ``r``, 0 neutral ``n``)."""
    return fx.gear_time_column(gear)


def _gears() -> range:
    low, high = events.PAYLOAD_RANGES["gear"]
    return range(int(low), int(high) + 1)


def event_time(telemetry: DataFrame) -> Column:
    """Event time of a telemetry row: the simulation's clock when the event carries it
    (``sim_clock_utc``, run start + simulated time, so a sped-up run still spans its simulated
    minutes), else ``emitted_at``."""
    if "sim_clock_utc" not in telemetry.columns:
        return F.col("emitted_at")
    return F.coalesce(parse_utc(F.col("sim_clock_utc")), F.col("emitted_at"))


def window_start(telemetry: DataFrame) -> Column:
    """Start of the one-minute event-time window a telemetry row falls in."""
    return F.date_trunc("minute", event_time(telemetry))


# --- the per-run pass (vehsim.features on the executors) -----------------------------------------
_STRING_COLUMNS = ("vehicle_id", "run_id", "vehicle_model", "driver_mode", "driver_profile")
_TIME_COLUMNS = ("window_start", "window_end", "start_at", "end_at")
_INTEGER_COLUMNS = (
    "events",
    "harsh_accel_count",
    "harsh_brake_count",
    "stop_count",
    "harsh_event_count",
)


def _minute_columns() -> list[str]:
    """Columns of :func:`minutes`: keys, aggregates, labels and the span features."""
    aggregates = [*fx.AGGREGATES, *fx.TIME_AGGREGATES]
    vehicle = (*fx.VEHICLE_FEATURES, "power_to_mass_w_per_kg")
    span = [
        n
        for n in dict.fromkeys((*fx.FEATURES, *fx.RATIOS, *fx.TARGETS))
        if n not in aggregates and n not in vehicle
    ]
    return [
        *WINDOW_KEYS,
        "window_end",
        *aggregates,
        "vehicle_model",
        "driver_mode",
        "driver_profile",
        *span,
    ]


def _arrow_type(name: str) -> pa.DataType:
    if name in _STRING_COLUMNS:
        return pa.string()
    if name in _TIME_COLUMNS:
        return pa.timestamp("us", tz="UTC")
    if name in _INTEGER_COLUMNS:
        return pa.int64()
    if name == "is_valid_example":
        return pa.bool_()
    return pa.float64()


#: Arrow schema of the rows the per-run pass returns.
MINUTE_SCHEMA = pa.schema([(name, _arrow_type(name)) for name in _minute_columns()])
_SPARK_TYPES = {
    pa.string(): "string",
    pa.timestamp("us", tz="UTC"): "timestamp",
    pa.int64(): "bigint",
    pa.bool_(): "boolean",
    pa.float64(): "double",
}
#: Rows the per-run pass hands to pandas at once (whole runs; a longer run goes alone).
CHUNK_ROWS = 200_000


def _spark_schema(schema: pa.Schema) -> str:
    return ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in schema)


def _naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps as zone-less UTC (pandas then keeps them as datetime64, not objects)."""
    table = table.replace_schema_metadata(None)  # no pandas metadata to restore a zone from
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.timestamp("us")))
    return table


def window_rows(samples: pd.DataFrame) -> pd.DataFrame:
    """The per-run pass on one chunk of whole runs: :func:`vehsim.features.window_sums` and
    :func:`vehsim.features.span_features` (no vehicle dimension), in :data:`MINUTE_SCHEMA`'s
    columns. Pure pandas: tests call it directly."""
    frame = fx.span_features(fx.window_sums(samples))
    return frame[MINUTE_SCHEMA.names]


def _to_arrow(frame: pd.DataFrame) -> pa.RecordBatch:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = []
    for field in MINUTE_SCHEMA:
        column = table.column(field.name)
        if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(column.type):
            column = pc.cast(pc.cast(column, pa.timestamp("us")), field.type)
        columns.append(pc.cast(column, field.type))
    return pa.RecordBatch.from_arrays([c.combine_chunks() for c in columns], schema=MINUTE_SCHEMA)


def _runs_in_chunks(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: batches of runs sorted by run and ``seq`` -> minute rows.

    Batches accumulate until :data:`CHUNK_ROWS`; the complete runs go through
    :func:`window_rows`, the last (possibly unfinished) run waits for the next chunk. Memory is
    bounded by a chunk or the longest run, whichever is larger.
    """
    pending: list[pa.RecordBatch] = []
    rows = 0

    def last_run_start(table: pa.Table) -> int:
        """Row where the table's last run begins (runs are sorted, so it is a suffix)."""
        vehicle, run = table.column("vehicle_id"), table.column("run_id")
        last = table.num_rows - 1
        same = pc.and_(pc.equal(vehicle, vehicle[last]), pc.equal(run, run[last]))
        return pc.index(same, True).as_py()

    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows < CHUNK_ROWS:
            continue
        table = pa.Table.from_batches(pending)
        # the rows of the last run wait for the next chunk
        start = last_run_start(table)
        if start <= 0:
            continue  # one run so far: wait for its end
        done, rest = table.slice(0, start), table.slice(start)
        yield from _process(done)
        pending = rest.to_batches()
        rows = rest.num_rows
    if pending:
        yield from _process(pa.Table.from_batches(pending))


def _process(table: pa.Table) -> Iterator[pa.RecordBatch]:
    if table.num_rows == 0:
        return
    frame = _naive_utc(table).to_pandas()
    yield _to_arrow(window_rows(frame))


def minutes(telemetry: DataFrame) -> DataFrame:
    """One row per vehicle, run and minute: every aggregate and window feature Gold needs.

    Args:
        telemetry: ``silver/telemetry`` rows (:data:`INPUT_COLUMNS`) of whole vehicle runs.

    Returns:
        The columns of :data:`MINUTE_SCHEMA`: the window key, ``window_end``, the aggregates of
        :data:`vehsim.features.AGGREGATES` (sums, so windows merge into trips) and
        ``start_at``/``end_at`` (first and last event time), ``vehicle_model``,
        ``driver_mode`` (most frequent in the window), ``driver_profile`` (most frequent in the
        run), and the span features and targets of :mod:`vehsim.features`.
    """
    samples = telemetry.select(
        *[c for c in INPUT_COLUMNS if c in telemetry.columns and c != "sim_clock_utc"],
        event_time(telemetry).alias("event_time"),
        window_start(telemetry).alias("window_start"),
    ).select(*_SAMPLE_COLUMNS)
    # Each run whole in one partition, in seq order: the per-run pass streams through it.
    ordered = samples.repartition(*TRIP_KEYS).sortWithinPartitions(*TRIP_KEYS, "seq")
    return ordered.mapInArrow(_runs_in_chunks, _spark_schema(MINUTE_SCHEMA))


def _ratio(name: str) -> Column:
    """Spark form of the ratio feature ``name`` of :data:`vehsim.features.RATIOS`."""
    spec = fx.RATIOS[name]
    numerator = F.col(spec.numerators[0])
    for extra in spec.numerators[1:]:
        numerator = numerator + F.col(extra)
    denominator = F.col(spec.denominator)
    return F.when(denominator >= spec.min_denominator, numerator / denominator * spec.scale)


def vehicle_minute(minutes: DataFrame) -> DataFrame:
    """``gold/vehicle_minute``: the per-minute report (user units) from :func:`minutes`."""
    return minutes.select(
        *WINDOW_KEYS,
        "window_end",
        "events",
        "sim_time_start_s",
        "sim_time_end_s",
        "duration_s",
        "engine_rpm_mean",
        "engine_rpm_max",
        "speed_kph_mean",
        "speed_kph_max",
        "coolant_temp_c_max",
        "oil_temp_c_max",
        "fuel_used_l",
        "distance_km",
        "fuel_l_per_100km",
        "harsh_accel_count",
        "harsh_brake_count",
        *[gear_column(g) for g in _gears()],
        *[f"{f}_delta" for f in _WEAR_FIELDS],
        "oil_life_used_pct",
    )


#: Columns of the vehicle dimension :func:`features` joins on ``vehicle_model``.
VEHICLE_COLUMNS = fx.VEHICLE_FEATURES
#: Span features and targets of ``gold/features`` and ``gold/trips`` (vehicle ones aside).
SPAN_FEATURES = tuple(
    n for n in fx.FEATURES if n not in (*fx.VEHICLE_FEATURES, "power_to_mass_w_per_kg")
)
TARGET_COLUMNS = tuple(fx.TARGETS)


def features(minutes: DataFrame, vehicles: DataFrame | None = None) -> DataFrame:
    """``gold/features``: one ML example per vehicle, run and minute (window grain).

    The features and targets are those of :mod:`vehsim.features` for a one-minute span;
    ``mass_kg``, ``displacement_l`` and ``rated_power_w`` come from the vehicle dimension.

    Args:
        minutes: Output of :func:`minutes`.
        vehicles: Optional vehicle dimension: ``vehicle_model`` and :data:`VEHICLE_COLUMNS`
            (null features for models it does not list).
    """
    if vehicles is None:
        vehicles = minutes.sparkSession.createDataFrame(
            [], "vehicle_model string, mass_kg double, displacement_l double, rated_power_w double"
        )
    minutes = minutes.join(
        F.broadcast(vehicles.select("vehicle_model", *VEHICLE_COLUMNS)), "vehicle_model", "left"
    )
    return minutes.select(
        *WINDOW_KEYS,
        "window_end",
        F.col("vehicle_model").alias("vehicle"),
        "driver_mode",
        "events",
        *SPAN_FEATURES,
        *VEHICLE_COLUMNS,
        _ratio("power_to_mass_w_per_kg").alias("power_to_mass_w_per_kg"),
        *TARGET_COLUMNS,
    )


def _merged(name: str, how: str) -> Column:
    """Spark form of :data:`vehsim.features.MERGE_HOW`: windows into a trip."""
    if how == "first":
        return F.min_by(name, "sim_time_start_s").alias(name)
    return {"sum": F.sum, "max": F.max, "min": F.min}[how](name).alias(name)


#: Columns of ``gold/trips`` besides the span features (report columns, in user units).
TRIP_REPORT_COLUMNS = (
    *TRIP_KEYS,
    "start_at",
    "end_at",
    "events",
    "duration_s",
    "distance_km",
    "fuel_used_l",
    "fuel_l_per_100km",
    "speed_kph_mean",
    "speed_kph_max",
    "cold_engine_frac",
    "idle_frac",
    "harsh_accel_count",
    "harsh_brake_count",
    "harsh_events_per_100km",
    *[f"{f}_delta" for f in _WEAR_FIELDS],
    "oil_life_used_pct",
    "ambient_temp_c_min",
    "vehicle_model",
    "driver_profile",
    "driving_style",
)
_TRIP_SCHEMA_NAMES = (
    *TRIP_REPORT_COLUMNS,
    *[n for n in (*SPAN_FEATURES, *TARGET_COLUMNS) if n not in TRIP_REPORT_COLUMNS],
)


def _trip_type(name: str) -> pa.DataType:
    if name in ("driving_style",):
        return pa.string()
    return _arrow_type(name)


TRIP_SCHEMA = pa.schema([(n, _trip_type(n)) for n in _TRIP_SCHEMA_NAMES])


def trip_rows(merged: pd.DataFrame) -> pd.DataFrame:
    """Trip features from merged window aggregates: :func:`vehsim.features.span_features` at
    drive grain, plus the report columns. Pure pandas: tests call it directly."""
    frame = fx.span_features(merged)
    frame["driving_style"] = fx.driving_style(frame["harsh_events_per_100km"].to_numpy())
    return frame[TRIP_SCHEMA.names]


def _trip_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if batch.num_rows == 0:
            continue
        frame = trip_rows(_naive_utc(pa.Table.from_batches([batch])).to_pandas())
        table = pa.Table.from_pandas(frame, preserve_index=False)
        columns = []
        for field in TRIP_SCHEMA:
            column = table.column(field.name)
            if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(column.type):
                column = pc.cast(column, pa.timestamp("us"))
            columns.append(pc.cast(column, field.type).combine_chunks())
        yield pa.RecordBatch.from_arrays(columns, schema=TRIP_SCHEMA)


def trips(minutes: DataFrame, telemetry: DataFrame | None = None) -> DataFrame:
    """``gold/trips``: one row per vehicle and run (a run of the runtime is one trip).

    The run's windows merged as :func:`vehsim.features.merge_spans` does (every increment
    belongs to exactly one window, so the sums are the run's totals), then the drive-grain
    features of :func:`vehsim.features.span_features`. ``start_at``/``end_at`` are the first and
    last event time on the simulation's clock.

    Args:
        minutes: Output of :func:`minutes` for whole runs (every window of them).
        telemetry: Unused (the run's driver profile comes with its windows); kept so that
            callers passing the Silver rows keep working.
    """
    del telemetry
    specs: Mapping[str, fx.Aggregate] = {**fx.AGGREGATES, **fx.TIME_AGGREGATES}
    merged = minutes.groupBy(*TRIP_KEYS).agg(
        *[_merged(name, fx.MERGE_HOW[spec.how]) for name, spec in specs.items()],
        F.max("vehicle_model").alias("vehicle_model"),
        F.max("driver_profile").alias("driver_profile"),
    )
    return merged.mapInArrow(_trip_batches, _spark_schema(TRIP_SCHEMA))


# --- diagnostics ------------------------------------------------------------------------------
#: The ``silver/events`` columns :func:`diagnostics` reads.
DTC_INPUT_COLUMNS = (
    "vehicle_id",
    "run_id",
    "seq",
    "event_type",
    "sim_time_s",
    "emitted_at",
    "sim_clock_utc",
    "dtc_code",
    "dtc_description",
    "dtc_status",
    "mil_on",
    "dtc_sim_time_s",
    "freeze_frame",
)


def dtc_events(events_rows: DataFrame) -> DataFrame:
    """The ``diagnostic.dtc`` rows of ``silver/events`` that name a code."""
    return events_rows.where(
        (F.col("event_type") == events.DIAGNOSTIC_DTC) & F.col("dtc_code").isNotNull()
    )


def diagnostics(dtc: DataFrame) -> DataFrame:
    """``gold/diagnostics``: one row per vehicle and trouble code, over every run.

    Args:
        dtc: ``silver/events`` rows (:data:`DTC_INPUT_COLUMNS`) of ``diagnostic.dtc`` events: every
            such row of the (vehicle, code) pairs to report, so the row is complete.

    Returns:
        ``vehicle_id``, ``code``, ``description``; ``status`` and ``mil_on`` after the latest
        change; ``first_seen_at``/``last_seen_at`` (event time of the first and latest change,
        the simulation's clock when the event carries it, as every Gold time), with the run and
        simulated time of each (``first_seen_run_id``, ``first_seen_sim_time_s``, ...);
        ``first_confirmed_at`` and ``confirmed_count`` (changes to ``confirmed``);
        ``freeze_frame`` (JSON text of the latest freeze frame stored with the code) and
        ``freeze_frame_at``; ``events`` (status changes seen).
    """
    when = event_time(dtc)
    sim_s = F.coalesce(F.col("dtc_sim_time_s").cast("double"), F.col("sim_time_s"))
    rows = dtc_events(dtc).select(
        "vehicle_id",
        F.col("dtc_code").alias("code"),
        F.col("dtc_description").alias("description"),
        F.col("dtc_status").alias("status"),
        (F.lower(F.col("mil_on")) == F.lit("true")).alias("mil_on"),
        "run_id",
        sim_s.alias("sim_s"),
        when.alias("at"),
        F.col("freeze_frame"),
        # a total order of a code's changes: event time, then the run's own order
        F.struct(when.alias("at"), "run_id", "seq").alias("_order"),
    )
    has_frame = F.col("freeze_frame").isNotNull() & (F.col("freeze_frame") != F.lit("null"))
    framed = F.when(has_frame, F.col("_order"))
    confirmed = F.col("status") == F.lit("confirmed")
    return rows.groupBy(*DIAGNOSTIC_KEYS).agg(
        F.max_by("description", "_order").alias("description"),
        F.max_by("status", "_order").alias("status"),
        F.max_by("mil_on", "_order").alias("mil_on"),
        F.min("at").alias("first_seen_at"),
        F.min_by("run_id", "_order").alias("first_seen_run_id"),
        F.min_by("sim_s", "_order").alias("first_seen_sim_time_s"),
        F.max("at").alias("last_seen_at"),
        F.max_by("run_id", "_order").alias("last_seen_run_id"),
        F.max_by("sim_s", "_order").alias("last_seen_sim_time_s"),
        F.min(F.when(confirmed, F.col("at"))).alias("first_confirmed_at"),
        F.sum(confirmed.cast("long")).alias("confirmed_count"),
        F.max_by(F.when(has_frame, F.col("freeze_frame")), framed).alias("freeze_frame"),
        F.max_by(F.when(has_frame, F.col("at")), framed).alias("freeze_frame_at"),
        F.count(F.lit(1)).alias("events"),
    )


def open_windows(minutes: DataFrame, cutoffs: DataFrame) -> DataFrame:
    """Windows a late event may still change: those ending after their run's cutoff.

    Args:
        minutes: Rows keyed by :data:`WINDOW_KEYS` with ``window_end``.
        cutoffs: ``vehicle_id``, ``run_id``, ``cutoff`` (timestamp: newest event time already
            in Gold minus the watermark); runs without a row have no closed window.
    """
    joined = minutes.join(cutoffs, list(TRIP_KEYS), "left")
    return joined.where(F.col("cutoff").isNull() | (F.col("window_end") > F.col("cutoff"))).drop(
        "cutoff"
    )


__all__ = [
    "DIAGNOSTIC_KEYS",
    "DTC_INPUT_COLUMNS",
    "diagnostics",
    "dtc_events",
    "INPUT_COLUMNS",
    "TRIP_KEYS",
    "WINDOW_KEYS",
    "event_time",
    "features",
    "minutes",
    "open_windows",
    "trips",
    "vehicle_minute",
    "window_start",
]
