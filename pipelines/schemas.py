"""Explicit Spark schemas of the event envelope (schema version 1) and of the Silver tables.

Built from :mod:`vehsim.events` (the single source of truth of the contract), never inferred
from data and never a second hand-written field list: adding a payload field there adds a
typed Silver column here.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
from pyspark.sql import types as T

from vehsim import events

#: Python type in :mod:`vehsim.events` -> Spark type of the parsed column.
_SPARK_TYPES: Mapping[type, T.DataType] = {
    bool: T.BooleanType(),
    int: T.LongType(),
    float: T.DoubleType(),
    str: T.StringType(),
    # ``object`` (any JSON value) and nested objects are kept as their JSON text.
    object: T.StringType(),
}

#: Name of the column that receives the text of a record Spark's JSON reader could not map.
CORRUPT_COLUMN = "_corrupt_record"

#: Payload fields of the non-telemetry event types, kept as columns of ``silver/events``.
#: Name in the payload -> Silver column name (prefixed where the bare name would be ambiguous).
EVENT_PAYLOAD_COLUMNS: Mapping[str, str] = {
    "cause": "cause",
    "command_id": "command_id",
    "type": "command_type",
    "value": "command_value",
    "field": "rejected_field",
    "reason": "rejected_reason",
    "message": "rejected_message",
    "raw": "rejected_raw",
    # diagnostic.dtc (vehsim.events.DTC_FIELDS)
    "code": "dtc_code",
    "description": "dtc_description",
    "status": "dtc_status",
    "mil_on": "mil_on",
    "sim_time_s": "dtc_sim_time_s",
    "freeze_frame": "freeze_frame",
    # the simulation's clock, when an event of another type carries it as telemetry does
    "sim_clock_utc": "sim_clock_utc",
}


def spark_type(py_type: type) -> T.DataType:
    """Spark type used to parse a field declared with ``py_type`` in :mod:`vehsim.events`."""
    return _SPARK_TYPES[py_type]


def raw_payload_fields() -> dict[str, type]:
    """Every typed ``simulation.raw`` payload field (required first, then optional), in order."""
    return {**events.RAW_PAYLOAD_FIELDS, **events.OPTIONAL_RAW_PAYLOAD_FIELDS}


def other_payload_fields() -> dict[str, type]:
    """Payload fields of the other event types (engine, command, rejection), name -> type."""
    merged: dict[str, type] = {}
    for fields in (
        events.ENGINE_EVENT_FIELDS,
        events.COMMAND_EVENT_FIELDS,
        events.REJECTION_FIELDS,
    ):
        merged.update(fields)
    # diagnostic.dtc: parsed as text (Silver keeps other events' payloads as text), so a field of
    # the same name with another type in some other event type cannot spoil its parse
    merged.update({n: (t if t is str else object) for n, t in events.DTC_FIELDS.items()})
    return merged


def payload_schema() -> T.StructType:
    """Union of every event type's payload fields, typed (telemetry) or as text (others)."""
    fields = [T.StructField(n, spark_type(t)) for n, t in raw_payload_fields().items()]
    for name, py_type in other_payload_fields().items():
        if name not in raw_payload_fields():
            fields.append(T.StructField(name, spark_type(py_type)))
    return T.StructType(fields)


def envelope_schema() -> T.StructType:
    """Schema ``from_json`` parses ``raw_event`` with: envelope, payload and a corrupt column."""
    fields = []
    for name, py_type in events.ENVELOPE_FIELDS.items():
        if py_type is dict:
            fields.append(T.StructField(name, payload_schema()))
        else:
            fields.append(T.StructField(name, spark_type(py_type)))
    fields.append(T.StructField(CORRUPT_COLUMN, T.StringType()))
    return T.StructType(fields)


#: Kafka coordinates and Bronze lineage carried into every Silver table.
LINEAGE_FIELDS: tuple[T.StructField, ...] = (
    T.StructField("topic", T.StringType()),
    T.StructField("partition", T.IntegerType()),
    T.StructField("offset", T.LongType()),
    T.StructField("kafka_ts", T.TimestampType()),
    T.StructField("ingest_ts", T.TimestampType()),
    T.StructField("bronze_version", T.LongType()),
)

#: Envelope columns of ``silver/telemetry`` and ``silver/events`` (``emitted_at`` parsed).
ENVELOPE_COLUMNS: tuple[T.StructField, ...] = (
    T.StructField("event_id", T.StringType()),
    T.StructField("event_type", T.StringType()),
    T.StructField("schema_version", T.LongType()),
    T.StructField("vehicle_id", T.StringType()),
    T.StructField("run_id", T.StringType()),
    T.StructField("seq", T.LongType()),
    T.StructField("sim_time_s", T.DoubleType()),
    T.StructField("emitted_at", T.TimestampType()),
)


def telemetry_schema() -> T.StructType:
    """``silver/telemetry``: one row per valid ``simulation.raw`` event, payload flattened."""
    payload = [T.StructField(n, spark_type(t)) for n, t in raw_payload_fields().items()]
    return T.StructType([*ENVELOPE_COLUMNS, *payload, *LINEAGE_FIELDS])


def events_schema() -> T.StructType:
    """``silver/events``: one row per valid event of any other type."""
    payload = [T.StructField(col, T.StringType()) for col in EVENT_PAYLOAD_COLUMNS.values()]
    return T.StructType([*ENVELOPE_COLUMNS, *payload, *LINEAGE_FIELDS])


def quarantine_schema() -> T.StructType:
    """``silver/quarantine``: every Bronze record that failed, with its reason and raw value."""
    return T.StructType(
        [
            T.StructField("topic", T.StringType()),
            T.StructField("partition", T.IntegerType()),
            T.StructField("offset", T.LongType()),
            T.StructField("kafka_ts", T.TimestampType()),
            T.StructField("key", T.StringType()),
            T.StructField("raw_event", T.StringType()),
            T.StructField("raw_event_bytes", T.BinaryType()),
            T.StructField("_error", T.StringType()),
            T.StructField("_error_field", T.StringType()),
            T.StructField("_error_detail", T.StringType()),
            T.StructField("ingest_ts", T.TimestampType()),
            T.StructField("bronze_version", T.LongType()),
        ]
    )


#: Reason codes of ``silver/quarantine._error``, in the order they are checked.
QUARANTINE_REASONS: tuple[str, ...] = (
    "invalid_json",
    "unsupported_schema_version",
    "schema_violation",
    "out_of_range",
)


#: Bronze columns Silver reads, with their Spark types; byte columns may be absent (nulls).
BRONZE_COLUMNS: Mapping[str, T.DataType] = {
    "topic": T.StringType(),
    "partition": T.IntegerType(),
    "offset": T.LongType(),
    "kafka_ts": T.TimestampType(),
    "key": T.StringType(),
    "raw_event": T.StringType(),
    "raw_event_bytes": T.BinaryType(),
    "ingest_ts": T.TimestampType(),
    "bronze_version": T.LongType(),
}


def dq_runs_schema() -> pa.Schema:
    """``ops/dq_runs``: one row per Silver run (per Bronze version range)."""
    gap = pa.struct(
        [
            ("vehicle_id", pa.string()),
            ("run_id", pa.string()),
            ("first_seq", pa.int64()),
            ("last_seq", pa.int64()),
            ("events", pa.int64()),
            ("missing", pa.int64()),
        ]
    )
    ts = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("run_id", pa.string()),
            ("bronze_version_from", pa.int64()),
            ("bronze_version_to", pa.int64()),
            ("started_at", ts),
            ("finished_at", ts),
            ("duration_s", pa.float64()),
            ("rows_read", pa.int64()),
            ("rows_written", pa.int64()),
            ("telemetry_rows", pa.int64()),
            ("event_rows", pa.int64()),
            ("rows_quarantined", pa.int64()),
            *[(f"quarantined_{reason}", pa.int64()) for reason in QUARANTINE_REASONS],
            ("duplicates", pa.int64()),
            ("vehicle_runs_checked", pa.int64()),
            ("missing_seq_total", pa.int64()),
            ("seq_gaps", pa.list_(gap)),
            ("max_emitted_at", ts),
            ("ingest_lag_p50_s", pa.float64()),
            ("ingest_lag_max_s", pa.float64()),
            ("freshness_s", pa.float64()),
        ]
    )


def parse_utc(text):
    """Parse UTC ISO-8601 text (``Z`` or ``+00:00``, 0-9 fraction digits) to a Spark timestamp."""
    from pyspark.sql import functions as F

    # The zone suffix is cut with plain string functions: a regular expression here costs a
    # Java String and a matcher per row, on every event of Silver and Gold.
    local = (
        F.when(text.endswith("Z"), F.left(text, F.length(text) - 1))
        .when(text.endswith("+00:00"), F.left(text, F.length(text) - 6))
        .otherwise(text)
    )
    return F.try_to_timestamp(local)
