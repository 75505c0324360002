"""Write ``corpus.jsonl``: the hostile inputs of issue 12, as data (format: ``README.md``).

Run ``python tests/hostile/generate_corpus.py`` after changing this file; a test fails while the
committed corpus and this generator disagree. Everything here is deterministic (ids are UUID-5s
of the entry name), so the corpus only changes when an entry does.

Two targets:

- ``commands``: messages for the commands topic, sent to ``vehsim drive --driver commands``.
  ``${vehicle}`` is a 2-gear car of the run, ``${other}`` an 8-gear one.
- ``telemetry``: records for the telemetry topic, for Bronze and Silver (events that are wrong
  in ways the runtime never produces, and Kafka record timestamps no calendar can hold).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).with_name("corpus.jsonl")
_NAMESPACE = uuid.UUID("6f1d3c52-9a7e-4f0b-8d2a-5c4e3b2a1f00")

#: Vehicle and run of every telemetry record (no run of the runtime uses them).
TELEMETRY_VEHICLE = "hostile-car-000"
TELEMETRY_RUN = "hostile-corpus-run"
#: A valid ``emitted_at``/``sim_clock_utc`` the hostile variants differ from: the time the
#: corpus is loaded (see ``corpus.load``), so that it lies inside any window around ingest time.
BASE_TIME = "${now}"


def _id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _repeat(text: str, times: int) -> dict[str, Any]:
    return {"repeat": text, "times": times}


def _command(name: str, **fields: Any) -> str:
    """A command message's JSON text with the usual envelope, ``fields`` overriding it."""
    message = {"schema_version": 1, "command_id": _id(name), "vehicle_id": "${vehicle}"}
    message.update(fields)
    return json.dumps({k: v for k, v in message.items() if v is not _DROP})


_DROP = object()


def _envelope_prefix(name: str, command_type: str, vehicle: str = "${vehicle}") -> str:
    """The start of a command's JSON text up to (and including) ``"value": ``."""
    return (
        f'{{"schema_version": 1, "command_id": "{_id(name)}", "vehicle_id": "{vehicle}", '
        f'"type": "{command_type}", "value": '
    )


def _rejected(reason: str, stream: str = "vehicle", field: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"outcome": "rejected", "reason": reason, "stream": stream}
    if field is not None:
        out["field"] = field
    return out


_APPLIED = {"outcome": "applied", "stream": "vehicle"}
_APPLIED_EACH = {"outcome": "applied", "stream": "each"}
_IGNORED = {"outcome": "ignored"}


def command_entries() -> list[dict[str, Any]]:
    """Hostile (and a few valid) commands-topic messages with what the runtime must do."""
    e: list[dict[str, Any]] = []

    def add(name, finding, category, value, expect, note, command_id=True):
        entry = {
            "id": name,
            "target": "commands",
            "finding": finding,
            "category": category,
            "command_id": _id(name) if command_id else None,
            "key": "${vehicle}",
            "value": value if isinstance(value, list) or value is None else [value],
            "expect": expect,
            "note": note,
        }
        e.append(entry)

    # Finding 1: size. Unparsed, so answered under "*" without the command's id.
    big = _envelope_prefix("huge-1mb", "gear_mode")
    add(
        "huge-1mb",
        1,
        "too_large",
        [big + '"', _repeat("x", 1_000_000), '"}'],
        _rejected("too_large", "*", "message"),
        "1 MB command for a car of the run: its rejection must stay small",
        command_id=False,
    )
    limit_pad = 8 * 1024 - len(_envelope_prefix("just-over-limit", "gear_mode")) - 3 + 1
    add("just-over-limit", 1, "too_large",
        [_envelope_prefix("just-over-limit", "gear_mode") + '"', _repeat("x", limit_pad), '"}'],
        _rejected("too_large", "*", "message"), "one byte over the 8 KiB bound",
        command_id=False)  # fmt: skip
    add("long-value-under-limit", 1, "long_text",
        [_envelope_prefix("long-value-under-limit", "gear_mode") + '"', _repeat("y", 8000), '"}'],
        _rejected("out_of_range", field="value"),
        "8,000-character value within the bound: the rejection carries an excerpt")  # fmt: skip
    add("long-command-id", 1, "long_text",
        json.dumps({"schema_version": 1, "command_id": "c" * 5000, "vehicle_id": "${vehicle}",
                    "type": "throttle", "value": 5}),
        _rejected("too_long", field="command_id"), "a 5,000-character command_id",
        command_id=False)  # fmt: skip

    # Finding 4: numbers and constants Python's json accepts but the runtime cannot use.
    add("throttle-1e400-int", 4, "huge_number",
        [_envelope_prefix("throttle-1e400-int", "throttle") + "1", _repeat("0", 400), "}"],
        _rejected("out_of_range", field="value"),
        "1 followed by 400 zeros: OverflowError in math.isfinite before")  # fmt: skip
    add("gear-minus-4000-digits", 4, "huge_number",
        [_envelope_prefix("gear-minus-4000-digits", "gear") + "-1", _repeat("0", 4000), "}"],
        _rejected("out_of_range", field="value"), "an integer of 4,001 digits")  # fmt: skip
    add(
        "throttle-1e400-float",
        4,
        "huge_number",
        _envelope_prefix("throttle-1e400-float", "throttle") + "1e400}",
        _rejected("out_of_range", field="value"),
        "parses as float infinity",
    )
    for name, constant in (("nan-in-list", "[NaN]"), ("nan", "NaN"), ("infinity", "Infinity"),
                           ("minus-infinity", "-Infinity")):  # fmt: skip
        add(f"throttle-{name}", 4, "non_finite",
            _envelope_prefix(f"throttle-{name}", "throttle") + constant + "}",
            _rejected("malformed", "*", "message"),
            f"{constant} is not JSON: EventError and a seq gap before", command_id=False)  # fmt: skip

    # Finding 5: nesting, checked on the text before parsing.
    add("depth-10000", 5, "too_deep",
        [_envelope_prefix("depth-10000", "throttle"), _repeat("[", 10_000), "1",
         _repeat("]", 10_000), "}"],
        _rejected("too_large", "*", "message"),
        "depth 10,000: RecursionError and a 1.1 s reconnect before; over 8 KiB, so too_large",
        command_id=False)  # fmt: skip
    add("depth-3000", 5, "too_deep",
        [_envelope_prefix("depth-3000", "throttle"), _repeat("[", 3000), "1", _repeat("]", 3000),
         "}"],
        _rejected("too_deep", "*", "message"), "depth 3,000 within 8 KiB",
        command_id=False)  # fmt: skip
    add(
        "depth-3000-in-string",
        5,
        "too_deep",
        [_envelope_prefix("depth-3000-in-string", "throttle") + '"', _repeat("[", 3000), '"}'],
        _rejected("wrong_type", field="value"),
        "brackets inside a string do not nest",
    )
    add("depth-9", 5, "too_deep",
        _envelope_prefix("depth-9", "throttle") + "[" * 8 + "1" + "]" * 8 + "}",
        _rejected("too_deep", "*", "message"), "one level past the bound of 8",
        command_id=False)  # fmt: skip
    add(
        "depth-8",
        5,
        "too_deep",
        _envelope_prefix("depth-8", "throttle") + "[" * 7 + "1" + "]" * 7 + "}",
        _rejected("wrong_type", field="value"),
        "at the bound: parsed, then the value is wrong",
    )

    # Not a command at all.
    not_json = [
        ("not-json", "this is not json"),
        ("empty", ""),
        ("unterminated-string", '{"schema_version": 1, "vehicle_id": "${vehicle}", "type": "'),
        ("top-level-array", '[1, 2, 3]'),
        ("top-level-string", '"start_engine"'),
        ("top-level-null", "null"),
    ]  # fmt: skip
    for name, text in not_json:
        add(name, 1, "malformed", text, _rejected("malformed", "*", "message"),
            "not a JSON object", command_id=False)  # fmt: skip
    add(
        "invalid-utf8",
        1,
        "malformed",
        [{"hex": "ff fe 7b 22 00 ff"}],
        _rejected("malformed", "*", "message"),
        "bytes that are not UTF-8",
        command_id=False,
    )
    add(
        "tombstone",
        1,
        "malformed",
        None,
        _rejected("malformed", "*", "message"),
        "a record with a null value",
        command_id=False,
    )

    # Envelope errors.
    add("schema-version-2", 1, "envelope", _command("schema-version-2", schema_version=2,
        type="throttle", value=5), _rejected("unsupported_version", field="schema_version"),
        "a future schema version")  # fmt: skip
    add("schema-version-text", 1, "envelope", _command("schema-version-text",
        schema_version="1", type="throttle", value=5),
        _rejected("unsupported_version", field="schema_version"), "version as text")  # fmt: skip
    add(
        "no-vehicle-id",
        1,
        "envelope",
        _command("no-vehicle-id", vehicle_id=_DROP, type="brake", value=5),
        _rejected("missing_field", "*", "vehicle_id"),
        "names no vehicle",
    )
    add(
        "vehicle-id-number",
        1,
        "envelope",
        _command("vehicle-id-number", vehicle_id=7, type="brake", value=5),
        _rejected("missing_field", "*", "vehicle_id"),
        "vehicle_id is not a string",
    )
    add(
        "other-runtime-vehicle",
        1,
        "envelope",
        _command("other-runtime-vehicle", vehicle_id="not-in-this-run", type="start_engine"),
        _IGNORED,
        "for another runtime's car: silently not ours",
    )
    add(
        "vehicle-id-10k",
        1,
        "envelope",
        _command("vehicle-id-10k", vehicle_id="v" * 6000, type="start_engine"),
        _IGNORED,
        "a 6,000-character vehicle id names no car of the run",
    )

    # Command errors.
    for name, fields, reason, field in (
        ("unknown-type", {"type": "warp_drive", "value": 9}, "unknown_type", "type"),
        ("type-object", {"type": {"a": [1]}, "value": 1}, "unknown_type", "type"),
        ("type-missing", {"value": 1}, "missing_field", "type"),
        ("type-control-chars", {"type": "throttle\u0000\n", "value": 1}, "unknown_type", "type"),
        ("throttle-no-value", {"type": "throttle"}, "missing_field", "value"),
        ("throttle-150", {"type": "throttle", "value": 150}, "out_of_range", "value"),
        ("throttle-negative", {"type": "throttle", "value": -0.001}, "out_of_range", "value"),
        ("throttle-true", {"type": "throttle", "value": True}, "wrong_type", "value"),
        ("brake-text", {"type": "brake", "value": "50"}, "wrong_type", "value"),
        ("brake-object", {"type": "brake", "value": {"pct": 50}}, "wrong_type", "value"),
        ("gear-fraction", {"type": "gear", "value": 1.5}, "out_of_range", "value"),
        ("gear-text", {"type": "gear", "value": "3"}, "out_of_range", "value"),
        ("gear-11", {"type": "gear", "value": 11}, "out_of_range", "value"),
        ("gear-7-two-gear-car", {"type": "gear", "value": 7}, "out_of_range", "value"),
        ("gear-mode-lone-surrogate", {"type": "gear_mode", "value": "\ud800"}, "out_of_range",
         "value"),
        ("profile-unknown", {"type": "profile", "value": "ludicrous"}, "out_of_range", "value"),
        ("profile-list", {"type": "profile", "value": ["eco"]}, "out_of_range", "value"),
    ):  # fmt: skip
        add(name, 4, "invalid_command", _command(name, **fields), _rejected(reason, field=field),
            f"rejected as {reason}")  # fmt: skip

    # Finding 9 (live half): a broadcast valid for one car and not the other: all or none.
    add("broadcast-gear-7", 9, "broadcast",
        _command("broadcast-gear-7", vehicle_id="*", type="gear", value=7),
        _rejected("out_of_range", "each", "value"),
        "gear 7 to a 2-gear and an 8-gear car: neither shifts, both say why")  # fmt: skip
    add(
        "broadcast-throttle-150",
        9,
        "broadcast",
        _command("broadcast-throttle-150", vehicle_id="*", type="throttle", value=150),
        _rejected("out_of_range", "each", "value"),
        "invalid for every car",
    )
    add(
        "broadcast-brake-0",
        9,
        "broadcast",
        _command("broadcast-brake-0", vehicle_id="*", type="brake", value=0),
        _APPLIED_EACH,
        "valid for every car: one echo each",
    )

    # Valid commands in the barrage, with noise the runtime ignores.
    add(
        "extra-fields",
        4,
        "valid",
        _command("extra-fields", type="throttle", value=0, extra={"x": [1, 2]}, note="hi"),
        _APPLIED,
        "unknown command fields are ignored",
    )
    add("gear-2-two-gear-car", 9, "valid", _command("gear-2-two-gear-car", type="gear", value=2),
        _APPLIED, "the top gear of the 2-gear car")  # fmt: skip
    return e


def _event(name: str, **changes: Any) -> dict[str, Any]:
    """A valid ``simulation.raw`` event of the corpus run, with ``changes`` applied."""
    payload = {
        "engine_on": True, "engine_rpm": 1500.0, "vehicle_speed_kph": 42.0, "gear": 3,
        "throttle_pct": 20.0, "brake_pct": 0.0, "coolant_temp_c": 90.0, "oil_temp_c": 95.0,
        "fuel_rate_lph": 3.5, "fuel_used_l": 0.4, "fuel_level_pct": 80.0, "odometer_km": 1.2,
        "engine_wear_pct": 0.001, "gearbox_wear_pct": 0.001, "brake_pad_wear_pct": 0.002,
        "tyre_wear_pct": 0.001, "oil_life_pct": 99.9, "ambient_temp_c": 20.0,
        "road_grade_pct": 0.0, "sim_clock_utc": BASE_TIME,
    }  # fmt: skip
    event = {
        "schema_version": 1,
        "event_id": _id(name),
        "event_type": "simulation.raw",
        "vehicle_id": TELEMETRY_VEHICLE,
        "run_id": TELEMETRY_RUN,
        "seq": 0,
        "sim_time_s": 10.0,
        "emitted_at": BASE_TIME,
        "payload": payload,
    }
    for key, value in changes.items():
        if key.startswith("payload__"):
            payload[key.removeprefix("payload__")] = value
        else:
            event[key] = value
    return event


def telemetry_entries() -> list[dict[str, Any]]:
    """Hostile telemetry records with what Bronze and Silver must do with them."""
    e: list[dict[str, Any]] = []

    def add(name, finding, category, value, silver, note, *, timestamp_ms=None, bronze="kept"):
        e.append(
            {
                "id": name,
                "target": "telemetry",
                "finding": finding,
                "category": category,
                "event_id": _id(name),
                "key": TELEMETRY_VEHICLE,
                "value": value if isinstance(value, list) or value is None else [value],
                "timestamp_ms": timestamp_ms,
                "expect": {"bronze": bronze, "silver": silver},
                "note": note,
            }
        )

    def event(name, seq, **changes):
        return json.dumps(_event(name, seq=seq, **changes))

    accept, quarantine = "accepted", "quarantined"
    add("valid", 2, "control", event("valid", 0), accept, "a valid event: the control")
    for name, stamp in (("emitted-year-0001", "0001-01-01T00:00:00.000000Z"),
                        ("emitted-year-0000", "0000-01-01T00:00:00.000000Z"),
                        ("emitted-year-9999", "9999-12-31T23:59:59.999999Z")):  # fmt: skip
        add(name, 2, "far_timestamp", event(name, 1, emitted_at=stamp), quarantine,
            "emitted_at far outside the window around ingest time")  # fmt: skip
    add(
        "seq-2-62",
        2,
        "huge_integer",
        event("seq-2-62", 2**62),
        quarantine,
        "seq 2^62: OverflowError in the DQ arithmetic before",
    )
    add("seq-2-64", 2, "huge_integer", event("seq-2-64", 2**64), quarantine, "seq beyond int64")
    add("seq-negative", 2, "huge_integer", event("seq-negative", -1), quarantine, "seq below 0")
    add("event-id-newline", 9, "control_chars",
        json.dumps(_event("event-id-newline", seq=3, event_id=_id("event-id-newline") + "\n")),
        quarantine, "trailing newline in event_id")  # fmt: skip
    add("emitted-at-newline", 9, "control_chars",
        event("emitted-at-newline", 4, emitted_at=BASE_TIME + "\n"), quarantine,
        "trailing newline in emitted_at")  # fmt: skip
    add("vehicle-id-nul", 9, "control_chars",
        event("vehicle-id-nul", 5, vehicle_id=TELEMETRY_VEHICLE + "\u0000"), quarantine,
        "NUL in vehicle_id")  # fmt: skip
    add("unknown-envelope-field", 9, "unknown_field",
        event("unknown-envelope-field", 6, colour="red"), quarantine,
        "schema_version 1 allows no other envelope fields")  # fmt: skip
    for name, clock in (("sim-clock-year-12345", "12345-01-01T00:00:00Z"),
                        ("sim-clock-not-a-time", "not a time"),
                        ("sim-clock-month-13", "2026-13-45T25:61:61Z"),
                        ("sim-clock-year-0000", "0000-01-01T00:00:00Z"),
                        ("sim-clock-empty", "")):  # fmt: skip
        add(name, 9, "bad_sim_clock", event(name, 7, payload__sim_clock_utc=clock), quarantine,
            "sim_clock_utc that is not a UTC time Gold can window")  # fmt: skip
    add("ingest-lag-poison", 9, "far_timestamp",
        event("ingest-lag-poison", 8, emitted_at="1970-01-01T00:00:01.000000Z"), quarantine,
        "would put 1.8e9 s of ingest lag into the DQ metrics")  # fmt: skip
    add("payload-1e308", 2, "huge_number", event("payload-1e308", 9, payload__engine_rpm=1e308),
        quarantine, "out of range by 300 orders of magnitude")  # fmt: skip
    for name, stamp in (("kafka-ts-year-10000", 253_402_300_800_000),
                        ("kafka-ts-2-62", 2**62)):  # fmt: skip
        add(name, 3, "kafka_timestamp", event(name, 10), accept,
            "a producer-set Kafka timestamp Spark's source cannot convert: the broker refuses "
            "it (over an hour ahead), nothing behind it waits", timestamp_ms=stamp)  # fmt: skip
    add(
        "kafka-ts-0",
        3,
        "kafka_timestamp",
        event("kafka-ts-0", 11),
        accept,
        "Kafka timestamp 1970-01-01",
        timestamp_ms=0,
    )
    add("not-json", 2, "malformed", "{not json", quarantine, "not JSON")
    add("empty", 2, "malformed", "", quarantine, "an empty record")
    add("tombstone", 2, "malformed", None, quarantine, "a null value")
    add("invalid-utf8", 2, "malformed", [{"hex": "ff fe 7b 7d"}], quarantine, "not UTF-8")
    add("big-event", 2, "too_large",
        [json.dumps(_event("big-event", seq=12))[:-2] + ', "padding": "', _repeat("p", 900_000),
         '"}}'], accept, "a 900 KB event (an unknown payload field is allowed)")  # fmt: skip
    return e


def entries() -> list[dict[str, Any]]:
    return command_entries() + telemetry_entries()


def render() -> str:
    return "".join(json.dumps(entry, ensure_ascii=True) + "\n" for entry in entries())


if __name__ == "__main__":
    CORPUS.write_text(render(), encoding="ascii")
    print(f"wrote {CORPUS} ({len(entries())} entries)")
