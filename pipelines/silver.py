"""Bronze → Silver: parse, validate, quarantine, deduplicate. Pure DataFrame transforms.

Every function here takes and returns Spark DataFrames (no table IO, no configuration), so the
same logic runs in the ``vehsim pipeline silver`` job, in a notebook and in unit tests.

Validation of one Bronze record, in this order (the first failure wins and names the field):

1. ``invalid_json``: ``raw_event`` is null, empty, not JSON, or not a JSON object.
2. ``schema_violation`` on ``schema_version`` when it is missing or not an integer;
   ``unsupported_schema_version`` when it is an integer other than
   :data:`vehsim.events.SCHEMA_VERSION`.
3. ``schema_violation``: an envelope field missing, null or of the wrong JSON type, or not of its
   documented form (``event_id`` a UUID, ``event_type`` a known type, ``seq`` >= 0,
   ``emitted_at`` UTC ISO-8601, ...); then the payload fields the event type requires
   (:data:`vehsim.events.RAW_PAYLOAD_FIELDS` for ``simulation.raw``) and the optional ones when
   present.
4. ``schema_violation``: a control character (U+0000-U+001F, U+007F) in an envelope string or
   in ``payload.sim_clock_utc``; a top-level field that schema version 1 does not define.
5. ``out_of_range``: a numeric ``simulation.raw`` payload field outside
   :data:`vehsim.events.PAYLOAD_RANGES` (physically impossible).
6. ``out_of_range`` (plausibility, :class:`Plausibility`): ``seq`` above :data:`SEQ_MAX`;
   ``emitted_at`` outside a window around the record's ``ingest_ts``; ``payload.sim_clock_utc``
   not a UTC ISO-8601 time or outside a window around ``emitted_at``. Such records are data
   errors, not crashes: one of them must never stop Silver or Gold.

The payload is parsed once with an explicit schema (:func:`vehsim_pipelines.schemas.envelope_schema`).
Only records Spark's JSON reader flags as mis-typed (and string fields whose text looks like a
non-string JSON token) are parsed a second time as a VARIANT to tell "missing" from "wrong
type", so valid records pay for one parse.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from vehsim import events
from vehsim_pipelines import schemas

_JSON_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}
_UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UTC_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|\+00:00)$"
#: Text that Spark's JSON reader gives a string column for a non-string JSON token.
_NON_STRING_TOKEN = r"^(-?[0-9][0-9.eE+-]*|true|false|[\[{][\s\S]*)$"
#: The first characters a text matching :data:`_NON_STRING_TOKEN` can have.
_NON_STRING_TOKEN_STARTS = tuple("-0123456789tf[{")
_ID_MAX_LENGTH = 200
#: Largest ``seq`` accepted: the largest integer every JSON parser reads exactly (2^53 - 1,
#: RFC 8259 section 6); a run emitting 1,000 events/s reaches it after 285,000 years.
SEQ_MAX = 2**53 - 1
#: A C0 control character or DEL anywhere in a text (Java regex).
_CONTROL = r"[\x00-\x1f\x7f]"
T_ = TypeVar("T_")
#: Columns of :func:`parse_events` holding the parsed ``emitted_at`` and ``sim_clock_utc``.
_EMITTED_TS, _CLOCK_TS = "_emitted_ts", "_clock_ts"


@dataclass(frozen=True)
class Plausibility:
    """How far event times may lie from the time they reached the lake.

    Attributes:
        max_age_s: ``emitted_at`` at most this long before ``ingest_ts`` (late data, backfills).
        max_ahead_s: ``emitted_at`` at most this long after ``ingest_ts`` (clock skew).
        max_sim_clock_ahead_s: ``payload.sim_clock_utc`` at most this long after ``emitted_at``
            (a sped-up run's simulated clock runs ahead of the wall clock).
    """

    max_age_s: float = 366 * 86_400.0
    max_ahead_s: float = 86_400.0
    max_sim_clock_ahead_s: float = 366 * 86_400.0


PLAUSIBILITY = Plausibility()

#: JSON options of the parse: strict JSON (no NaN/Infinity literals, no single quotes).
JSON_OPTIONS = {
    "columnNameOfCorruptRecord": schemas.CORRUPT_COLUMN,
    "mode": "PERMISSIVE",
    "allowNonNumericNumbers": "false",
    "allowSingleQuotes": "false",
}


@dataclass(frozen=True)
class _Check:
    """One validation rule: when ``failed`` is true the record gets ``reason``/``field``/``detail``."""

    failed: Column
    reason: str
    field: str
    detail: Column


def _column_context() -> object:
    """What built Column expressions can be reused with: every Spark Connect session (its
    columns are plain expression trees), or the one JVM of classic sessions."""
    from pyspark.sql.utils import is_remote

    if is_remote():
        return "connect"
    from pyspark import SparkContext

    return ("classic", id(SparkContext._gateway))


def _built_once(build: Callable[[], T_]) -> Callable[[], T_]:
    """``build()``'s column expressions, built on the first call per :func:`_column_context`.

    The validation rules are a few thousand expressions; building them is as many calls into
    the JVM (over a second each time), and they depend on nothing but constants, so a process
    that runs Silver more than once (a notebook, a scheduler, the tests) builds them once.
    """
    built: dict[object, T_] = {}

    @functools.wraps(build)
    def get() -> T_:
        key = _column_context()
        if key not in built:
            built[key] = build()
        return built[key]

    return get


def parse_events(bronze: DataFrame) -> DataFrame:
    """Parse ``raw_event`` of Bronze rows into a struct column ``e`` and classify each record.

    Args:
        bronze: Bronze rows; needs ``raw_event`` (string) and passes every other column through.

    Returns:
        The input columns plus ``e`` (the parsed envelope), ``_emitted_ts`` and ``_clock_ts``
        (``e.emitted_at`` and ``e.payload.sim_clock_utc`` parsed; null when not a time),
        ``_v`` (the record as a VARIANT, only where a mis-typed field must be named),
        ``_check`` (index of the first failed rule, see :func:`error_detail`), ``_error`` and
        ``_error_field`` (null when valid).
    """
    if "ingest_ts" not in bronze.columns:  # records not read from Bronze: judge times by now
        bronze = bronze.withColumn("ingest_ts", F.current_timestamp())
    parsed = bronze.withColumn(
        "e", F.from_json(F.col("raw_event"), schemas.envelope_schema(), JSON_OPTIONS)
    )
    # The two times, parsed once here for the checks and the Silver columns that use them.
    parsed = parsed.withColumn(_EMITTED_TS, _timestamp(F.col("e.emitted_at"))).withColumn(
        _CLOCK_TS, _timestamp(F.col("e.payload.sim_clock_utc"))
    )
    parsed = parsed.withColumn("_needs_variant", _looks_mistyped())
    parsed = parsed.withColumn(
        "_v", F.when(F.col("_needs_variant"), F.expr("try_parse_json(raw_event)"))
    )
    groups = _check_groups()
    checks = [check for group in groups for check in group]
    positions = []
    for group, guarded in zip(groups, _GUARDED_GROUPS, strict=True):
        # One array_position per group keeps the generated code small enough to compile.
        position = F.array_position(F.array(*[c.failed for c in group]), True).cast("int")
        if guarded:
            position = F.when(F.col("_v").isNotNull(), position).otherwise(F.lit(0))
        positions.append(position)
    parsed = parsed.withColumn("_pos", F.array(*positions))
    index = F.when(F.lit(False), F.lit(None).cast("int"))
    offset = 0
    for g, group in enumerate(groups):
        position = F.col("_pos")[g]
        index = index.when(position > 0, position + F.lit(offset - 1))
        offset += len(group)
    reasons = F.array(*[F.lit(c.reason) for c in checks])
    fields = F.array(*[F.lit(c.field) for c in checks])
    parsed = parsed.withColumn("_check", index)
    # An added ingest_ts stays: error_detail() names it in the message of a far emitted_at.
    return parsed.drop("_needs_variant", "_pos").select(
        "*",
        F.try_element_at(reasons, F.col("_check") + 1).alias("_error"),
        F.try_element_at(fields, F.col("_check") + 1).alias("_error_field"),
    )


@_built_once
def error_detail() -> Column:
    """A message naming the field, what was wrong and the allowed form or range.

    Evaluate it on failed rows only (it is a large expression), as :func:`quarantine_rows` does.
    """
    detail = F.when(F.lit(False), F.lit(None).cast("string"))
    checks = [check for group in _check_groups() for check in group]
    for i, check in enumerate(checks):
        detail = detail.when(F.col("_check") == i, check.detail.cast("string"))
    return detail


@_built_once
def _looks_mistyped() -> Column:
    """True where a second (VARIANT) look is needed to name a mis-typed field."""
    corrupt = F.col(f"e.{schemas.CORRUPT_COLUMN}").isNotNull()
    for path in _string_paths():
        value = F.col(path)
        # Every text the pattern matches starts with one of these characters; comparing the
        # first one spares most values a Java String and a regex matcher (a UUID, a name).
        could_be_token = F.substring(value, 1, 1).isin(*_NON_STRING_TOKEN_STARTS)
        corrupt = corrupt | (could_be_token & value.rlike(_NON_STRING_TOKEN))
    return corrupt


def _string_paths() -> list[str]:
    """Struct paths of every string field Spark would fill from a non-string JSON token."""
    paths = [f"e.{n}" for n, t in events.ENVELOPE_FIELDS.items() if t is str and n != "emitted_at"]
    paths += [f"e.payload.{n}" for n, t in schemas.raw_payload_fields().items() if t is str]
    return paths


def _json_type(path: str) -> Column:
    """JSON type of ``$.path`` in the record (e.g. ``STRING``, ``BIGINT``), null when absent."""
    return F.expr(f"schema_of_variant(variant_get(_v, '$.{path}'))")


def _field_check(path: str, py_type: type, required: bool) -> _Check:
    """Missing (when required) or wrong JSON type of one field at struct path ``e.<path>``.

    A non-string field of the wrong JSON type parses to null, so "null" already covers it; the
    VARIANT look (``_v``, set only on suspicious records) tells the two apart for the message
    and catches a string field given a number, boolean or object.
    """
    value = F.col(f"e.{path}")
    expected = _JSON_TYPE_NAMES.get(py_type, "value")
    got = _json_type(path)
    has_variant = F.col("_v").isNotNull()
    if py_type is str:
        wrong_type = has_variant & value.isNotNull() & (got != F.lit("STRING"))
    else:
        wrong_type = has_variant & value.isNull() & got.isNotNull() & (got != F.lit("VOID"))
    if required and py_type is not str:
        failed = value.isNull()
    elif required:
        failed = value.isNull() | wrong_type
    else:
        failed = wrong_type
    detail = F.when(
        wrong_type, F.concat(F.lit(f"{path}: expected {expected}, got "), F.lower(got))
    ).otherwise(F.lit(f"{path}: required field is missing or null"))
    return _Check(failed, "schema_violation", path, detail)


def _form_check(path: str, failed: Column, message: str) -> _Check:
    return _Check(failed, "schema_violation", path, F.lit(f"{path}: {message}"))


#: Which of the :func:`_check_groups` need the VARIANT look (evaluated on suspicious rows only).
_GUARDED_GROUPS = (
    False, False, False, True, False, False, False, False, False, True, False, False, False
)  # fmt: skip


@_built_once
def _check_groups() -> tuple[tuple[_Check, ...], ...]:
    """Every rule, in groups tried in order; see the module docstring."""
    e = "e"
    raw = F.col("raw_event")
    not_object = F.col(f"{e}.{schemas.CORRUPT_COLUMN}").isNotNull() & (
        F.col("_v").isNull() | ~F.expr("schema_of_variant(_v)").startswith("OBJECT")
    )
    invalid_json = _Check(
        raw.isNull() | F.col(e).isNull() | not_object,
        "invalid_json",
        "raw_event",
        F.when(raw.isNull(), F.lit("raw_event is null"))
        .when(F.trim(raw) == "", F.lit("raw_event is empty"))
        .when(F.col("_v").isNull(), F.lit("raw_event is not valid JSON"))
        .otherwise(F.lit("raw_event is not a JSON object")),
    )
    unsupported = _Check(
        F.col(f"{e}.schema_version") != F.lit(events.SCHEMA_VERSION),
        "unsupported_schema_version",
        "schema_version",
        F.concat(
            F.lit("schema_version "),
            F.col(f"{e}.schema_version").cast("string"),
            F.lit(f" is not supported (supported: {events.SCHEMA_VERSION})"),
        ),
    )
    envelope = {n: t for n, t in events.ENVELOPE_FIELDS.items() if n != "schema_version"}
    event_type = F.col(f"{e}.event_type")
    is_raw = event_type == F.lit(events.SIMULATION_RAW)

    def raw_only(check: _Check) -> _Check:
        return _Check(is_raw & check.failed, check.reason, check.field, check.detail)

    out_of_range = []
    for name, (low, high) in events.PAYLOAD_RANGES.items():
        value = F.col(f"{e}.payload.{name}")
        outside = (value < F.lit(low)) | (value > F.lit(high)) | F.isnan(value.cast("double"))
        out_of_range.append(
            _Check(
                is_raw & outside,
                "out_of_range",
                f"payload.{name}",
                F.concat(
                    F.lit(f"payload.{name} = "),
                    value.cast("string"),
                    F.lit(f" is outside the physical range [{low:g}, {high:g}]"),
                ),
            )
        )
    groups = [
        [invalid_json],
        [_field_check("schema_version", int, required=True)],
        [unsupported],
        [_field_check(n, t, required=False) for n, t in envelope.items() if t is str],
        [_field_check(n, t, required=True) for n, t in envelope.items()],
        [c for n in envelope for c in _envelope_form_checks(n)],
        _control_character_checks(is_raw),
        [_unknown_field_check()],
        [
            raw_only(_field_check(f"payload.{n}", t, True))
            for n, t in events.RAW_PAYLOAD_FIELDS.items()
        ],
        [
            raw_only(_field_check(f"payload.{n}", t, required=False))
            for n, t in events.OPTIONAL_RAW_PAYLOAD_FIELDS.items()
        ],
        _other_payload_checks(event_type),
        out_of_range,
        _plausibility_checks(is_raw, PLAUSIBILITY),
    ]
    return tuple(tuple(group) for group in groups)


def _control_character_checks(is_raw: Column) -> list[_Check]:
    """Envelope strings (and the simulated clock) may hold no control characters.

    A trailing newline in ``event_id`` would otherwise pass a ``^...$`` pattern (``$`` matches
    before a final line break) and make two ids of one event.

    One regular expression over the fields joined spares a valid record one Java String and
    matcher per field; only a record where it finds a control character looks at each field.
    """
    names = [name for name, kind in events.ENVELOPE_FIELDS.items() if kind is str]
    clock = F.col("e.payload.sim_clock_utc")
    joined = F.concat_ws("", *[F.col(f"e.{name}") for name in names], clock)
    any_control = joined.rlike(_CONTROL)

    def has_control(value: Column) -> Column:
        return any_control & value.rlike(_CONTROL)

    checks = [
        _form_check(name, has_control(F.col(f"e.{name}")), "must not contain control characters")
        for name in names
    ]
    checks.append(
        _Check(
            is_raw & has_control(clock),
            "schema_violation",
            "payload.sim_clock_utc",
            F.lit("payload.sim_clock_utc: must not contain control characters"),
        )
    )
    return checks


def _unknown_field_check() -> _Check:
    """Schema version 1 defines every top-level field; another one is a producer's mistake.

    Tried after the required-field checks, so every defined field is there: a record with
    no more keys than that holds no other, and only one with more is compared key by key.
    """
    allowed = F.array(*[F.lit(n) for n in events.ENVELOPE_FIELDS])
    keys = F.json_object_keys(F.col("raw_event"))
    unknown = F.array_except(keys, allowed)
    return _Check(
        (F.size(keys) > len(events.ENVELOPE_FIELDS)) & (F.size(unknown) > 0),
        "schema_violation",
        "raw_event",
        F.concat(
            F.lit("unknown envelope field(s) "),
            F.to_json(F.slice(unknown, 1, 5)),
            F.lit(
                f" (schema_version {events.SCHEMA_VERSION} allows {list(events.ENVELOPE_FIELDS)})"
            ),
        ),
    )


def _plausibility_checks(is_raw: Column, window: Plausibility) -> list[_Check]:
    """Integers and times that parse but cannot be true (see :class:`Plausibility`)."""
    seq = F.col("e.seq")
    emitted = F.col(_EMITTED_TS)
    ingest = F.col("ingest_ts")

    def seconds(delta_s: float) -> Column:
        return F.expr(f"make_dt_interval(0, 0, 0, {delta_s:.0f})")

    too_early = emitted < ingest - seconds(window.max_age_s)
    too_late = emitted > ingest + seconds(window.max_ahead_s)
    clock_text = F.col("e.payload.sim_clock_utc")
    clock = F.col(_CLOCK_TS)
    clock_form = clock_text.isNotNull() & (~clock_text.rlike(_UTC_PATTERN) | clock.isNull())
    clock_far = (clock < emitted - seconds(window.max_age_s)) | (
        clock > emitted + seconds(window.max_sim_clock_ahead_s)
    )
    return [
        _Check(
            seq > F.lit(SEQ_MAX),
            "out_of_range",
            "seq",
            F.concat(F.lit("seq = "), seq.cast("string"), F.lit(f" is above {SEQ_MAX}")),
        ),
        _Check(
            too_early | too_late,
            "out_of_range",
            "emitted_at",
            F.concat(
                F.lit("emitted_at = "),
                F.col("e.emitted_at"),
                F.lit(" is implausibly far from the ingest time "),
                F.date_format(ingest, "yyyy-MM-dd'T'HH:mm:ss'Z'"),
                F.lit(
                    f" (allowed: {window.max_age_s / 86400:g} days before to "
                    f"{window.max_ahead_s / 3600:g} h after)"
                ),
            ),
        ),
        _Check(
            is_raw & clock_form,
            "schema_violation",
            "payload.sim_clock_utc",
            F.concat(
                F.lit("payload.sim_clock_utc = "),
                F.to_json(F.array(clock_text)),
                F.lit(" is not a UTC ISO-8601 time, e.g. 2026-11-27T14:06:24.123456Z"),
            ),
        ),
        _Check(
            is_raw & clock_far,
            "out_of_range",
            "payload.sim_clock_utc",
            F.concat(
                F.lit("payload.sim_clock_utc = "),
                clock_text,
                F.lit(" is implausibly far from emitted_at = "),
                F.col("e.emitted_at"),
            ),
        ),
    ]


def _envelope_form_checks(name: str) -> list[_Check]:
    value = F.col(f"e.{name}")
    if name == "event_id":
        return [_form_check(name, ~value.rlike(_UUID_PATTERN), "must be a UUID")]
    if name == "event_type":
        return [
            _form_check(
                name, ~value.isin(*events.EVENT_TYPES), f"must be one of {list(events.EVENT_TYPES)}"
            )
        ]
    if name in ("vehicle_id", "run_id"):
        bad = (F.length(value) < 1) | (F.length(value) > _ID_MAX_LENGTH)
        return [_form_check(name, bad, f"must be 1 to {_ID_MAX_LENGTH} characters")]
    if name == "seq":
        return [_form_check(name, value < 0, "must be >= 0")]
    if name == "sim_time_s":
        bad = (value < 0) | F.isnan(value) | (value == float("inf"))
        return [_form_check(name, bad, "must be a finite number >= 0")]
    if name == "emitted_at":
        bad = ~value.rlike(_UTC_PATTERN) | F.col(_EMITTED_TS).isNull()
        return [
            _form_check(name, bad, "must be a UTC ISO-8601 time, e.g. 2026-11-27T14:06:24.123456Z")
        ]
    return []


def _other_payload_checks(event_type: Column) -> list[_Check]:
    """Required payload fields of the engine, command and rejection events."""
    rules: list[tuple[str, str, Column, str]] = []
    for kind in (events.ENGINE_STARTED, events.ENGINE_STOPPED):
        cause = F.col("e.payload.cause")
        rules.append(
            (
                kind,
                "payload.cause",
                ~cause.isin(*events.ENGINE_EVENT_CAUSES) | cause.isNull(),
                f"must be one of {list(events.ENGINE_EVENT_CAUSES)}",
            )
        )
    for name in ("command_id", "type"):
        rules.append(
            (
                events.DRIVER_COMMAND,
                f"payload.{name}",
                F.col(f"e.payload.{name}").isNull(),
                "required field is missing or null",
            )
        )
    for name in ("reason", "message"):
        value = F.col(f"e.payload.{name}")
        rules.append(
            (
                events.COMMAND_REJECTED,
                f"payload.{name}",
                value.isNull() | (F.length(value) < 1),
                "required non-empty string is missing",
            )
        )
    return [
        _form_check(path, (event_type == F.lit(kind)) & failed, message)
        for kind, path, failed, message in rules
    ]


def _timestamp(text: Column) -> Column:
    """Parse a UTC ISO-8601 text (``Z`` or ``+00:00``, 0-9 fraction digits) to a timestamp."""
    return schemas.parse_utc(text)


def _flat_values() -> dict[str, Column]:
    """The envelope and payload of ``e`` by Silver column name (``emitted_at`` parsed), from
    the output of :func:`parse_events`."""
    values = {f.name: F.col(f"e.{f.name}") for f in schemas.ENVELOPE_COLUMNS}
    values["emitted_at"] = F.col(_EMITTED_TS)
    values.update({n: F.col(f"e.payload.{n}") for n in schemas.raw_payload_fields()})
    values.update(
        {col: F.col(f"e.payload.{n}") for n, col in schemas.EVENT_PAYLOAD_COLUMNS.items()}
    )
    return values


def _flat_columns() -> list[Column]:
    """The envelope and payload of ``e`` as top-level Silver columns."""
    return [value.alias(name) for name, value in _flat_values().items()]


#: ``_table`` of :func:`routed_rows`: the Silver table a record belongs to.
TELEMETRY, EVENTS, QUARANTINE = "telemetry", "events", "quarantine"


def routed_schema() -> T.StructType:
    """Columns of :func:`routed_rows`: ``_table``, then every column of the three Silver tables
    (a name the tables share has the same type in each)."""
    fields: dict[str, T.StructField] = {"_table": T.StructField("_table", T.StringType())}
    for schema in (
        schemas.telemetry_schema(),
        schemas.events_schema(),
        schemas.quarantine_schema(),
    ):
        for f in schema.fields:
            fields.setdefault(f.name, f)
    return T.StructType(list(fields.values()))


def routed_rows(parsed: DataFrame) -> DataFrame:
    """Every record of :func:`parse_events`, once, tagged with the Silver table it belongs to.

    One parse feeds all three tables: the rows of a ``_table``
    value, with the columns of that table's schema, are :func:`telemetry_rows`,
    :func:`event_rows` or :func:`quarantine_rows` of the same records (before deduplication),
    except ``_error_detail``, which stays null here: the message is a very large expression,
    so the job builds it with :func:`quarantine_rows` from the failed records alone.
    Valid records carry the typed envelope and payload; failed ones their raw value and reason.

    Args:
        parsed: Output of :func:`parse_events`.
    """
    failed = F.col("_error").isNotNull()
    table = (
        F.when(failed, F.lit(QUARANTINE))
        .when(F.col("e.event_type") == F.lit(events.SIMULATION_RAW), F.lit(TELEMETRY))
        .otherwise(F.lit(EVENTS))
    )
    values = _flat_values()
    values.update({name: F.col(name) for name in parsed.columns if name not in ("e", "_v")})
    failed_only = ("key", "raw_event", "raw_event_bytes", "_error", "_error_field")
    columns = [table.alias("_table")]
    for f in routed_schema().fields[1:]:
        if f.name not in values:
            value = F.lit(None)
        elif f.name in failed_only:
            value = F.when(failed, values[f.name])
        else:
            value = values[f.name]
        # Cast to the type's DDL name, not the DataType object: a Spark Connect client sends
        # StringType() as an explicit 'string collate UTF8_BINARY', which Delta then records in
        # the table schema and deltalake cannot read.
        columns.append(value.cast(f.dataType.simpleString()).alias(f.name))
    return parsed.select(*columns)


def valid_events(parsed: DataFrame) -> DataFrame:
    """Valid records of any type, flattened to the envelope + payload + lineage columns.

    Args:
        parsed: Output of :func:`parse_events`.
    """
    valid = parsed.where(F.col("_error").isNull()).select("*", *_flat_columns())
    names = [f.name for f in schemas.ENVELOPE_COLUMNS]
    names += list(schemas.raw_payload_fields()) + list(schemas.EVENT_PAYLOAD_COLUMNS.values())
    # a column both telemetry and the other event types carry (``sim_clock_utc``) once
    return valid.select(
        *dict.fromkeys(names),
        *[
            (
                F.col(f.name)
                if f.name in parsed.columns
                else F.lit(None).cast(f.dataType.simpleString())
            ).alias(f.name)
            for f in schemas.LINEAGE_FIELDS
        ],
    )


def duplicate_ids(valid: DataFrame, seen_ids: DataFrame | None = None) -> DataFrame:
    """The ``event_id`` values of ``valid`` that are not simply new: repeated within ``valid``
    or already in Silver.

    Args:
        valid: Valid records (``event_id``).
        seen_ids: ``event_id`` column of the events Silver already holds (earlier runs).

    Returns:
        ``event_id`` and ``already`` (true when Silver holds it: every copy is a duplicate).
        Usually empty; found on the narrow id column, so whole rows are shuffled only for these.
    """
    counts = valid.groupBy("event_id").agg(F.count(F.lit(1)).alias("_copies"))
    if seen_ids is None:
        already = F.lit(False)
    else:
        seen = seen_ids.select("event_id").distinct().withColumn("_seen", F.lit(True))
        counts = counts.join(seen, "event_id", "left")
        already = F.col("_seen").isNotNull()
    return counts.where((F.col("_copies") > 1) | already).select(
        "event_id", already.alias("already")
    )


def deduplicate(
    valid: DataFrame, seen_ids: DataFrame | None = None, suspects: DataFrame | None = None
) -> DataFrame:
    """Keep each ``event_id`` once: the first Kafka record of it, and none already in Silver.

    The first record is the one with the lowest (``bronze_version``, ``topic``, ``partition``,
    ``offset``). No side is broadcast by force: Spark's adaptive execution broadcasts the
    suspects when they are few (the usual case) and shuffles them when they are many (a
    replayed topic), so memory stays bounded either way.

    Args:
        valid: Valid records (output of :func:`valid_events` or the valid rows of
            :func:`routed_rows`).
        seen_ids: ``event_id`` column of the events Silver already holds (earlier runs).
        suspects: :func:`duplicate_ids` of the same inputs, when the caller already has it.

    Returns:
        ``valid`` without duplicates; ``valid.count() - result.count()`` is the duplicate count.
    """
    if suspects is None:
        suspects = duplicate_ids(valid, seen_ids)
    clean = valid.join(suspects.select("event_id"), "event_id", "left_anti")
    order = Window.partitionBy("event_id").orderBy("bronze_version", "topic", "partition", "offset")
    firsts = (
        valid.join(suspects.where(~F.col("already")).select("event_id"), "event_id", "left_semi")
        .withColumn("_n", F.row_number().over(order))
        .where("_n = 1")
        .drop("_n")
    )
    return clean.unionByName(firsts)


def _conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    """``df`` with exactly the columns of ``schema`` (missing optional ones as nulls)."""
    return df.select(
        *[
            (F.col(f.name) if f.name in df.columns else F.lit(None))
            .cast(f.dataType.simpleString())
            .alias(f.name)
            for f in schema.fields
        ]
    )


def telemetry_rows(unique: DataFrame) -> DataFrame:
    """``silver/telemetry`` rows: ``simulation.raw`` events with the typed payload columns."""
    raw = unique.where(F.col("event_type") == events.SIMULATION_RAW)
    return _conform(raw, schemas.telemetry_schema())


def event_rows(unique: DataFrame) -> DataFrame:
    """``silver/events`` rows: every other event type, with its payload fields as text."""
    other = unique.where(F.col("event_type") != events.SIMULATION_RAW)
    return _conform(other, schemas.events_schema())


def quarantine_rows(parsed: DataFrame) -> DataFrame:
    """``silver/quarantine`` rows: every record that failed validation, with its raw value."""
    schema = schemas.quarantine_schema()
    failed = parsed.where(F.col("_error").isNotNull()).withColumn("_error_detail", error_detail())
    return _conform(failed, schema)
