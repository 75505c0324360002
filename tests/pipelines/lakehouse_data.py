"""Test data for the Silver and Gold jobs: plausible telemetry, a bad-event corpus, Bronze tables.

Everything is deterministic (event ids are UUID5 of the vehicle, run and seq), so expected
results can be written down.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from vehsim import events
from vehsim_pipelines.bronze import BRONZE_SCHEMA

BASE_TIME = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
_NAMESPACE = uuid.UUID("6f1c0b8e-4d0a-4f6e-9b59-1c2d3e4f5a6b")


def event_id(vehicle_id: str, run_id: str, seq: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{vehicle_id}/{run_id}/{seq}"))


def telemetry_payload(seq: int, dt_s: float = 1.0) -> dict:
    """A physically plausible payload at step ``seq``: accelerate, cruise, brake, repeat."""
    phase = seq % 60
    speed_kph = float(min(phase, 30) * 2.0 if phase < 45 else max(0.0, 60.0 - (phase - 45) * 4.0))
    return {
        "engine_on": True,
        "engine_rpm": 800.0 + speed_kph * 30.0,
        "vehicle_speed_kph": speed_kph,
        "gear": 0 if speed_kph == 0 else min(6, 1 + int(speed_kph // 15)),
        "throttle_pct": 30.0 if phase < 30 else 10.0,
        "brake_pct": 40.0 if phase >= 45 else 0.0,
        "coolant_temp_c": min(90.0, 20.0 + seq * 0.5),
        "oil_temp_c": min(100.0, 20.0 + seq * 0.4),
        "fuel_rate_lph": 1.0 + speed_kph * 0.05,
        "fuel_used_l": round(seq * 0.002, 6),
        "fuel_level_pct": 80.0 - seq * 0.001,
        "odometer_km": round(1000.0 + seq * 0.01, 6),
        "engine_wear_pct": 10.0 + seq * 1e-6,
        "gearbox_wear_pct": 5.0 + seq * 1e-6,
        "brake_pad_wear_pct": 20.0 + seq * 2e-6,
        "tyre_wear_pct": 15.0 + seq * 1e-6,
        "oil_life_pct": 90.0 - seq * 1e-5,
        "ambient_temp_c": 20.0,
        "road_grade_pct": 0.0,
    }


def telemetry_event(vehicle_id: str, run_id: str, seq: int, start: datetime = BASE_TIME) -> dict:
    """One ``simulation.raw`` event at 1 Hz (``emitted_at`` = start + seq s)."""
    emitted = (start + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return events.make_event(
        events.SIMULATION_RAW,
        vehicle_id,
        run_id,
        seq,
        float(seq),
        telemetry_payload(seq),
        event_id=event_id(vehicle_id, run_id, seq),
        emitted_at=emitted,
    )


def encode(event: dict) -> str:
    return events.encode_event(event).decode()


@dataclass(frozen=True)
class CorpusItem:
    """One Kafka value of the corpus and what Silver must make of it."""

    value: str | None
    reason: str | None  # quarantine reason, None when the event is valid
    field: str | None = None  # the field the quarantine row must name
    duplicate: bool = False  # a second copy of an earlier valid event


def _mutated(seq: int, change) -> str:
    event = copy.deepcopy(telemetry_event("corpus-car-000", "corpus-run", seq))
    change(event)
    return json.dumps(event)


def _raw_del(value: str) -> str:
    """``value`` with each escaped DEL (``\\u007f``) as the raw character."""
    return value.replace("\\u007f", "\x7f")


def bad_event_corpus() -> list[CorpusItem]:
    """Valid events, every kind of bad event, and duplicates, with the expected outcome.

    Valid events use seq 0..9 of vehicle ``corpus-car-000``; each bad event gets its own seq
    from 100 upwards (their seqs are absent from Silver, which the seq-gap check reports).
    """
    items = [
        CorpusItem(encode(telemetry_event("corpus-car-000", "corpus-run", s)), None)
        for s in range(10)
    ]
    engine = events.make_event(
        events.ENGINE_STARTED,
        "corpus-car-000",
        "corpus-run",
        10,
        10.0,
        {"cause": "driver"},
        event_id=event_id("corpus-car-000", "corpus-run", 10),
        emitted_at="2026-11-27T12:00:10Z",
    )
    items.append(CorpusItem(encode(engine), None))
    # duplicates: byte-identical replays of valid events
    items += [CorpusItem(items[i].value, None, duplicate=True) for i in (0, 3, 10)]
    seq = iter(range(100, 1000))
    # invalid JSON
    for value in (
        "not json at all",
        '{"schema_version": 1, "event_id": ',
        "",
        "[1, 2, 3]",
        '"just a string"',
        "{'single': 'quotes'}",
        '{"x": NaN}',
    ):
        items.append(CorpusItem(value, "invalid_json", "raw_event"))
    # each required envelope field missing
    for name in events.ENVELOPE_FIELDS:
        reason = "schema_violation"
        items.append(CorpusItem(_mutated(next(seq), lambda e, n=name: e.pop(n)), reason, name))
    # each required payload field missing
    for name in events.RAW_PAYLOAD_FIELDS:
        items.append(
            CorpusItem(
                _mutated(next(seq), lambda e, n=name: e["payload"].pop(n)),
                "schema_violation",
                f"payload.{name}",
            )
        )
    # control characters in the envelope strings and the simulated clock: C0 ones escaped (as
    # JSON requires), DEL raw (JSON lets it through unescaped; Python's encoder escapes it)
    for name, char in (
        ("event_id", "\x7f"),
        ("event_type", "\n"),
        ("vehicle_id", "\t"),
        ("vehicle_id", "\x7f"),
        ("run_id", "\x1f"),
        ("run_id", "\x7f"),
        ("emitted_at", "\x00"),
    ):
        items.append(
            CorpusItem(
                _raw_del(_mutated(next(seq), lambda e, n=name, c=char: e.update({n: e[n] + c}))),
                "schema_violation",
                name,
            )
        )
    for char in ("\x00", "\x7f"):
        clock = {"sim_clock_utc": f"2026-11-27T12:00:00Z{char}"}
        items.append(
            CorpusItem(
                _raw_del(_mutated(next(seq), lambda e, c=clock: e["payload"].update(c))),
                "schema_violation",
                "payload.sim_clock_utc",
            )
        )
    # a raw (unescaped) C0 character inside a string is not JSON
    escaped = _mutated(next(seq), lambda e: e.update(run_id="corpus\u0001run"))
    items.append(CorpusItem(escaped.replace("\\u0001", "\x01"), "invalid_json", "raw_event"))
    # top-level fields schema version 1 does not define (the payload may carry extra ones)
    for extra in ({"colour": "red"}, {"colour": None}, {"a": 1, "b": [2]}):
        items.append(
            CorpusItem(
                _mutated(next(seq), lambda e, x=extra: e.update(x)), "schema_violation", "raw_event"
            )
        )
    # wrong types
    wrong = [
        ("seq", lambda e: e.update(seq="7"), "seq"),
        ("seq", lambda e: e.update(seq=7.5), "seq"),
        ("sim_time_s", lambda e: e.update(sim_time_s="soon"), "sim_time_s"),
        ("vehicle_id", lambda e: e.update(vehicle_id=42), "vehicle_id"),
        ("run_id", lambda e: e.update(run_id={"a": 1}), "run_id"),
        ("event_id", lambda e: e.update(event_id="not-a-uuid"), "event_id"),
        ("event_type", lambda e: e.update(event_type="simulation.cooked"), "event_type"),
        ("emitted_at", lambda e: e.update(emitted_at="yesterday"), "emitted_at"),
        ("payload", lambda e: e.update(payload=[1, 2]), "payload"),
        ("schema_version", lambda e: e.update(schema_version="1"), "schema_version"),
        ("engine_rpm", lambda e: e["payload"].update(engine_rpm="fast"), "payload.engine_rpm"),
        ("gear", lambda e: e["payload"].update(gear=2.5), "payload.gear"),
        ("engine_on", lambda e: e["payload"].update(engine_on="yes"), "payload.engine_on"),
        (
            "coolant_temp_c",
            lambda e: e["payload"].update(coolant_temp_c=None),
            "payload.coolant_temp_c",
        ),
        ("gear_mode", lambda e: e["payload"].update(gear_mode=3), "payload.gear_mode"),
        ("accel_mps2", lambda e: e["payload"].update(accel_mps2="quick"), "payload.accel_mps2"),
    ]
    for _name, change, field in wrong:
        items.append(CorpusItem(_mutated(next(seq), change), "schema_violation", field))
    # unknown schema versions
    for version in (0, 2, 99):
        items.append(
            CorpusItem(
                _mutated(next(seq), lambda e, v=version: e.update(schema_version=v)),
                "unsupported_schema_version",
                "schema_version",
            )
        )
    # physically impossible values
    impossible = [
        ("vehicle_speed_kph", -5.0),
        ("engine_rpm", 25_000.0),
        ("coolant_temp_c", 400.0),
        ("oil_temp_c", -80.0),
        ("throttle_pct", 120.0),
        ("gear", 15),
        ("fuel_rate_lph", -1.0),
        ("ambient_temp_c", 90.0),
        ("accel_mps2", 80.0),
    ]
    for name, value in impossible:
        items.append(
            CorpusItem(
                _mutated(next(seq), lambda e, n=name, v=value: e["payload"].update({n: v})),
                "out_of_range",
                f"payload.{name}",
            )
        )
    # a valid event with optional and extra payload fields
    items.append(
        CorpusItem(
            _mutated(
                11,
                lambda e: e["payload"].update(
                    gear_mode="auto", accel_mps2=1.5, extra_field="kept out"
                ),
            ),
            None,
        )
    )
    return items


# --- Bronze tables ----------------------------------------------------------------------------

# The Bronze job's own table schema: test tables are written exactly as the job writes them.
BRONZE_ARROW_SCHEMA = BRONZE_SCHEMA


class BronzeWriter:
    """Appends Kafka-like records to a Bronze Delta table through Spark, one commit per call.

    The first call creates the table with its rows in one commit (version 0), with the Bronze
    catalog entry's partitioning and properties (change data feed, append-only), so a table
    of ``n`` calls has versions ``0 .. n-1``.
    """

    def __init__(self, uri: str, topic: str = "vehsim.telemetry", spark=None):
        self.uri = uri
        self.topic = topic
        self.next_offset = 0
        self._spark = spark

    @property
    def spark(self):
        if self._spark is None:
            from pyspark.sql import SparkSession

            from vehsim_pipelines.session import build_spark

            self._spark = SparkSession.getActiveSession() or build_spark("vehsim-tests")
        return self._spark

    def append(self, values: list[str | None], keys: list[str | None] | None = None) -> None:
        n = len(values)
        now = BASE_TIME + timedelta(seconds=self.next_offset)
        table = pa.table(
            {
                "topic": [self.topic] * n,
                "partition": pa.array([0] * n, pa.int32()),
                "offset": pa.array(range(self.next_offset, self.next_offset + n), pa.int64()),
                "kafka_ts": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
                "key": pa.array(keys or [None] * n, pa.string()),
                "raw_event": pa.array(values, pa.string()),
                "key_bytes": pa.nulls(n, pa.binary()),
                "raw_event_bytes": pa.nulls(n, pa.binary()),
                "ingest_ts": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
                "ingest_date": pa.array([now.date()] * n, pa.date32()),
            },
            schema=BRONZE_ARROW_SCHEMA,
        )
        self.next_offset += n
        write_bronze(self.spark, self.uri, table)

    def append_events(self, batch: list[dict]) -> None:
        self.append([encode(e) for e in batch], [e["vehicle_id"] for e in batch])


def write_bronze(spark, uri: str, rows: pa.Table) -> None:
    """Append Bronze ``rows`` (Arrow, :data:`BRONZE_ARROW_SCHEMA`) to the table at ``uri`` with
    Spark, creating it in the same commit when it is missing."""
    from deltalake import DeltaTable

    from vehsim_pipelines import catalog

    frame = spark.createDataFrame(rows) if rows.num_rows else _empty_frame(spark, rows)
    entry = catalog.BRONZE_EVENTS
    if DeltaTable.is_deltatable(uri):
        frame.write.format("delta").mode("append").save(uri)
        return
    view = f"_bronze_rows_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    properties = ", ".join(f"'{k}' = '{v}'" for k, v in entry.properties.items())
    spark.sql(
        f"CREATE TABLE delta.`{uri}` USING delta PARTITIONED BY ({', '.join(entry.partition_by)}) "
        f"TBLPROPERTIES ({properties}) AS SELECT * FROM {view}"
    )
    spark.catalog.dropTempView(view)


def _empty_frame(spark, rows: pa.Table):
    from pyspark.sql.pandas.types import from_arrow_schema

    return spark.createDataFrame([], from_arrow_schema(rows.schema))
