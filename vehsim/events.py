"""The domain-event envelope (schema version 1): field lists, physical ranges, builders, schema.

Every event vehsim publishes, on any transport, is one JSON object::

    {"schema_version": 1, "event_id": "<uuid4>", "event_type": "simulation.raw",
     "vehicle_id": "compact-sedan-000", "run_id": "<uuid4>", "seq": 41,
     "sim_time_s": 4.1, "emitted_at": "2026-11-27T14:06:24.123456Z", "payload": {...}}

This module is the single source of truth for that contract: the runtime builds events with it,
the Silver pipeline reads :data:`RAW_PAYLOAD_FIELDS` and :data:`PAYLOAD_RANGES` for its
``out_of_range`` quarantine, and the packaged JSON Schema (``vehsim/data/schemas/event-v1.json``,
:func:`load_schema`) is generated from it by :func:`build_schema`. It imports no Kafka client.

Payload units are the user-facing ones, spelled in the field names (``_kph``, ``_c``, ``_l``,
``_lph``, ``_pct``, ``_km``); the simulation converts to them once, in
``vehsim.telemetry.raw_payload``. See ``docs/events.md``.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from vehsim.errors import VehsimError

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "data/schemas/event-v1.json"
SCHEMA_ID = "https://vehsim.example/schemas/event-v1.json"

# Event types ---------------------------------------------------------------------------------
SIMULATION_RAW = "simulation.raw"
"""Telemetry sample of one vehicle; payload: :data:`RAW_PAYLOAD_FIELDS`."""
ENGINE_STARTED = "engine.started"
"""The engine went from off to on; payload: :data:`ENGINE_EVENT_FIELDS`."""
ENGINE_STOPPED = "engine.stopped"
"""The engine went from on to off; payload: :data:`ENGINE_EVENT_FIELDS`."""
DRIVER_COMMAND = "driver.command"
"""Echo of an accepted driver command; payload: :data:`COMMAND_EVENT_FIELDS`."""
COMMAND_REJECTED = "command.rejected"
"""A driver command that was malformed or out of range; payload: :data:`REJECTION_FIELDS`."""
DIAGNOSTIC_DTC = "diagnostic.dtc"
"""A trouble code changed status on the car's diagnostics; payload: :data:`DTC_FIELDS`."""
DIAGNOSTIC_PREDICTION = "diagnostic.prediction"
"""A model's diagnosis of one vehicle's telemetry window; payload: :data:`PREDICTION_FIELDS`."""
DRIVER_COACHING = "driver.coaching"
"""Advice to the driver and the fuel estimate it rests on; payload: :data:`COACHING_FIELDS`."""

EVENT_TYPES: tuple[str, ...] = (
    SIMULATION_RAW,
    ENGINE_STARTED,
    ENGINE_STOPPED,
    DRIVER_COMMAND,
    COMMAND_REJECTED,
    DIAGNOSTIC_DTC,
    DIAGNOSTIC_PREDICTION,
    DRIVER_COACHING,
)

# Envelope ------------------------------------------------------------------------------------
#: Envelope fields in wire order, name -> Python type. All required, no others allowed.
ENVELOPE_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "schema_version": int,
        "event_id": str,
        "event_type": str,
        "vehicle_id": str,
        "run_id": str,
        "seq": int,
        "sim_time_s": float,
        "emitted_at": str,
        "payload": dict,
    }
)

# simulation.raw payload ----------------------------------------------------------------------
#: Required fields of the ``simulation.raw`` payload, in wire order, name -> Python type.
RAW_PAYLOAD_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "engine_on": bool,
        "engine_rpm": float,
        "vehicle_speed_kph": float,
        "gear": int,
        "throttle_pct": float,
        "brake_pct": float,
        "coolant_temp_c": float,
        "oil_temp_c": float,
        "fuel_rate_lph": float,
        "fuel_used_l": float,
        "fuel_level_pct": float,
        "odometer_km": float,
        "engine_wear_pct": float,
        "gearbox_wear_pct": float,
        "brake_pad_wear_pct": float,
        "tyre_wear_pct": float,
        "oil_life_pct": float,
        "ambient_temp_c": float,
        "road_grade_pct": float,
    }
)

#: Optional fields of the ``simulation.raw`` payload, name -> Python type. Type-checked when
#: present; any other extra field is allowed and passed through untouched.
OPTIONAL_RAW_PAYLOAD_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "vehicle_model": str,
        "driver_mode": str,
        "gear_mode": str,
        "engine_torque_nm": float,
        "engine_power_kw": float,
        "accel_mps2": float,
        # The simulation's clock (UTC ISO-8601): the run's start plus sim_time_s. Equal to
        # emitted_at in real time; ahead of it in a sped-up run. Event time for windows.
        "sim_clock_utc": str,
    }
)

#: Physically possible range (inclusive ``(min, max)``, payload units) of every numeric payload
#: field. A value outside is a defect, not an extreme; Silver quarantines it as ``out_of_range``.
PAYLOAD_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "engine_rpm": (0.0, 10_000.0),
        "vehicle_speed_kph": (0.0, 400.0),
        "gear": (-1, 12),  # -1 reverse, 0 neutral
        "throttle_pct": (0.0, 100.0),
        "brake_pct": (0.0, 100.0),
        "coolant_temp_c": (-60.0, 300.0),
        "oil_temp_c": (-60.0, 300.0),
        "fuel_rate_lph": (0.0, 500.0),
        "fuel_used_l": (0.0, 1_000_000.0),
        "fuel_level_pct": (0.0, 100.0),
        "odometer_km": (0.0, 10_000_000.0),
        "engine_wear_pct": (0.0, 100.0),
        "gearbox_wear_pct": (0.0, 100.0),
        "brake_pad_wear_pct": (0.0, 100.0),
        "tyre_wear_pct": (0.0, 100.0),
        "oil_life_pct": (0.0, 100.0),
        "ambient_temp_c": (-60.0, 70.0),
        "road_grade_pct": (-100.0, 100.0),
        "engine_torque_nm": (-2_000.0, 5_000.0),
        "engine_power_kw": (-500.0, 2_000.0),
        "accel_mps2": (-30.0, 30.0),
    }
)

# Payloads of the other event types -----------------------------------------------------------
#: ``engine.started`` / ``engine.stopped`` payload. ``cause`` is ``"command"`` (a driver command)
#: or ``"driver"`` (the simulated driver or the simulation itself, e.g. fuel ran out);
#: ``command_id`` is set when a command caused it.
ENGINE_EVENT_FIELDS: Mapping[str, type] = MappingProxyType({"cause": str, "command_id": str})
ENGINE_EVENT_CAUSES: tuple[str, ...] = ("command", "driver")

#: ``driver.command`` payload: the accepted command as received.
COMMAND_EVENT_FIELDS: Mapping[str, type] = MappingProxyType(
    {"command_id": str, "type": str, "value": object}
)

#: ``command.rejected`` payload: what was received, which field was wrong, why, and a message
#: naming the allowed range. ``command_id``/``type``/``value`` are null when absent or unreadable;
#: ``raw`` holds an excerpt of the received text when it was not a usable JSON object. Nothing
#: received is copied whole: every text is cut to :data:`MAX_EXCERPT_CHARS` (see :func:`excerpt`)
#: and a ``value`` that is not a short JSON scalar is replaced by an excerpt of its JSON text.
REJECTION_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "command_id": str,
        "type": str,
        "value": object,
        "field": str,
        "reason": str,
        "message": str,
        "raw": str,
    }
)

# Commands topic wire format ------------------------------------------------------------------
COMMAND_SCHEMA_VERSION = 1
BROADCAST_VEHICLE_ID = "*"
"""A command addressed to ``"*"`` applies to every vehicle of the runtime that receives it."""

#: Fields of a message on the commands topic (``value`` optional for commands without one).
COMMAND_MESSAGE_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "schema_version": int,
        "command_id": str,
        "vehicle_id": str,
        "issued_at": str,
        "type": str,
        "value": object,
    }
)


#: Largest commands-topic message the runtime reads [bytes]. A real command is ~200 bytes; a
#: larger message is rejected as ``too_large`` before it is decoded or parsed.
MAX_COMMAND_BYTES = 8 * 1024
#: Deepest nesting of arrays and objects in a command message (the message object is depth 1).
#: Checked on the text before parsing; a deeper message is rejected as ``too_deep``.
MAX_COMMAND_DEPTH = 8
#: Longest text copied from a received command into an event [characters], marker excluded.
MAX_EXCERPT_CHARS = 200


def excerpt(text: str, limit: int = MAX_EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more characters]"


def value_excerpt(value: Any, limit: int = MAX_EXCERPT_CHARS) -> Any:
    """A received value as an event may carry it: short JSON scalars as they are, else text.

    ``None``, booleans, finite numbers of at most ``limit`` digits and strings of at most
    ``limit`` characters are kept; anything else (arrays, objects, NaN, huge numbers, long text)
    becomes :func:`excerpt` of its JSON text. Never raises, never returns more than ~``limit``.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):
        # the digit count from the bit length: no decimal conversion of a huge number
        if value.bit_length() <= limit * 3:
            return value
        return f"<integer of about {int(value.bit_length() * 0.30103)} digits>"
    if isinstance(value, str):
        return value if len(value) <= limit else excerpt(value, limit)
    try:
        text = json.dumps(value, allow_nan=True, default=repr)
    except (ValueError, TypeError, RecursionError, OverflowError):
        text = f"<unprintable {type(value).__name__}>"
    return excerpt(text, limit)


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when the arrays/objects of JSON ``text`` nest deeper than ``limit`` (no parsing).

    Brackets inside strings do not count; the scan stops at the first level past ``limit``, so
    it is linear in the text and never recurses.
    """
    depth = 0
    for token in _DEPTH_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class EventError(VehsimError, ValueError):
    """An event does not follow the envelope contract."""


def utc_now_iso() -> str:
    """Current UTC time as ISO-8601 with microseconds and a ``Z`` suffix."""
    return utc_iso(datetime.now(UTC))


def utc_iso(moment: datetime) -> str:
    """A UTC datetime as ISO-8601 with microseconds and a ``Z`` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_event(
    event_type: str,
    vehicle_id: str,
    run_id: str,
    seq: int,
    sim_time_s: float,
    payload: Mapping[str, Any],
    *,
    event_id: str | None = None,
    emitted_at: str | None = None,
) -> dict[str, Any]:
    """Build one envelope (a plain dict in wire order).

    Args:
        event_type: One of :data:`EVENT_TYPES`.
        vehicle_id: Vehicle the event is about (also the Kafka key).
        run_id: Identifier of the runtime run that produced it.
        seq: Per-(run, vehicle) sequence number, starting at 0 and increasing by 1.
        sim_time_s: Simulated time of the event [s].
        payload: Event-type specific object.
        event_id: UUID string; a new random UUID when omitted.
        emitted_at: UTC ISO-8601; now when omitted.

    Raises:
        EventError: unknown event type, negative ``seq`` or non-finite ``sim_time_s``.
    """
    if event_type not in EVENT_TYPES:
        raise EventError(f"event_type must be one of {EVENT_TYPES}, got {event_type!r}")
    if seq < 0:
        raise EventError(f"seq must be >= 0, got {seq}")
    if not math.isfinite(sim_time_s) or sim_time_s < 0:
        raise EventError(f"sim_time_s must be a finite number >= 0, got {sim_time_s!r}")
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "vehicle_id": vehicle_id,
        "run_id": run_id,
        "seq": int(seq),
        "sim_time_s": float(sim_time_s),
        "emitted_at": emitted_at or utc_now_iso(),
        "payload": dict(payload),
    }


def make_command(
    vehicle_id: str,
    command_type: str,
    value: Any = None,
    *,
    command_id: str | None = None,
    issued_at: str | None = None,
) -> dict[str, Any]:
    """Build one message for the commands topic (not validated: the runtime does that)."""
    message: dict[str, Any] = {
        "schema_version": COMMAND_SCHEMA_VERSION,
        "command_id": command_id or str(uuid.uuid4()),
        "vehicle_id": vehicle_id,
        "issued_at": issued_at or utc_now_iso(),
        "type": command_type,
    }
    if value is not None:
        message["value"] = value
    return message


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of an event. NaN and infinity are refused (not valid JSON)."""
    try:
        return _ENCODER.encode(event).encode()
    except ValueError as exc:
        bad = [
            k
            for k, v in event.get("payload", {}).items()
            if isinstance(v, float) and not math.isfinite(v)
        ]
        raise EventError(f"event has non-finite payload field(s) {bad}: {exc}") from exc


def out_of_range_fields(payload: Mapping[str, Any]) -> list[str]:
    """Names of numeric payload fields whose value lies outside :data:`PAYLOAD_RANGES`.

    Missing fields and non-numbers are not reported here (they fail the schema instead).
    NaN counts as out of range.
    """
    bad = []
    for name, (low, high) in PAYLOAD_RANGES.items():
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not (low <= value <= high):  # also true for NaN
            bad.append(name)
    return bad


#: ``diagnostic.dtc`` payload: an SAE J2012 code, its description, its new status (one of
#: :data:`DTC_STATUSES`), whether the MIL is on after the change, the simulated time of the
#: change [s] and the freeze frame (object of SI-named values, or null). Built by
#: ``vehsim.diagnostics.DtcChange.payload``.
DTC_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "code": str,
        "description": str,
        "status": str,
        "mil_on": bool,
        "sim_time_s": float,
        "freeze_frame": object,
    }
)
DTC_STATUSES: tuple[str, ...] = ("pending", "confirmed", "cleared", "mil_off")
DTC_CODE_PATTERN = "^[PCBU][0-9A-F]{4}$"

#: ``diagnostic.prediction`` payload (``vehsim score``): the fault a model sees in one vehicle's
#: telemetry window (a name of ``vehsim.faults.FAULT_NAMES``, or :data:`NO_FAULT`), its
#: probability [0-1] (null when the model gives none), the registered model and version, the
#: run of the telemetry it read (the envelope's ``run_id`` is the scorer's run), the window's
#: bounds in that run's simulated time [s], the simulation clock at the window's end (UTC
#: ISO-8601, null when the telemetry carries no ``sim_clock_utc``) and when the car emitted the
#: window's last reading (UTC ISO-8601: telemetry-to-prediction latency is measured from it).
PREDICTION_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "fault": str,
        "probability": float,
        "model": str,
        "model_version": str,
        "source_run_id": str,
        "window_start_s": float,
        "window_end_s": float,
        "window_end": str,
        "telemetry_emitted_at": str,
    }
)
NO_FAULT = "none"

#: ``driver.coaching`` payload (``vehsim score``): a sentence for the driver (``advice``) about
#: one ``habit`` (one of :data:`COACHING_HABITS`), the extra fuel it is estimated to cost on the
#: trip so far [% over the eco estimate; null when not known yet] and what the estimate rests on
#: (``basis``, one of :data:`COACHING_BASES`: the fuel model's prediction for the driver's
#: windows against the same windows with eco-style features, or the published rule of thumb;
#: docs/experiments.md). Optional, null when unknown: the trip's fuel figures [L/100 km], its
#: distance [km] and harsh-event counts, the fuel model and version, and the driving style a
#: classifier sees in the last window with its probability, model and version.
COACHING_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "advice": str,
        "habit": str,
        "excess_fuel_pct": float,
        "basis": str,
        "source_run_id": str,
        "window_end_s": float,
    }
)
OPTIONAL_COACHING_FIELDS: Mapping[str, type] = MappingProxyType(
    {
        "window_end": str,
        "fuel_l_per_100km": float,
        "eco_fuel_l_per_100km": float,
        "trip_distance_km": float,
        "harsh_accel_count": int,
        "harsh_brake_count": int,
        "fuel_model": str,
        "fuel_model_version": str,
        "style": str,
        "style_probability": float,
        "style_model": str,
        "style_model_version": str,
    }
)
COACHING_HABITS: tuple[str, ...] = ("harsh_acceleration", "harsh_braking", "smooth")
COACHING_BASES: tuple[str, ...] = ("model", "rule")


# JSON Schema ---------------------------------------------------------------------------------
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}


def _field_schema(name: str, py_type: type) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _JSON_TYPES[py_type]}
    if name in PAYLOAD_RANGES and py_type in (int, float):
        schema["minimum"], schema["maximum"] = PAYLOAD_RANGES[name]
    return schema


def _payload_schema(
    required: Mapping[str, type], optional: Mapping[str, type], nullable: bool = False
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, py_type in {**required, **optional}.items():
        if py_type is object:
            properties[name] = {}
            continue
        schema = _field_schema(name, py_type)
        if nullable:
            schema["type"] = [schema["type"], "null"]
        properties[name] = schema
    return {
        "type": "object",
        "required": list(required),
        "properties": properties,
        "additionalProperties": True,
    }


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of schema version 1, generated from this module."""
    envelope_props: dict[str, Any] = {
        "schema_version": {"const": SCHEMA_VERSION},
        "event_id": {"type": "string", "format": "uuid", "pattern": _UUID_PATTERN},
        "event_type": {"enum": list(EVENT_TYPES)},
        "vehicle_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "run_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "seq": {"type": "integer", "minimum": 0},
        "sim_time_s": {"type": "number", "minimum": 0},
        "emitted_at": {"type": "string", "format": "date-time", "pattern": _UTC_PATTERN},
        "payload": {"type": "object"},
    }
    engine_payload = _payload_schema({"cause": str}, {"command_id": str})
    engine_payload["properties"]["cause"] = {"enum": list(ENGINE_EVENT_CAUSES)}
    engine_payload["properties"]["command_id"] = {"type": ["string", "null"]}
    command_payload = _payload_schema({"command_id": str, "type": str, "value": object}, {})
    rejection_payload = _payload_schema(
        {"field": str, "reason": str, "message": str},
        {"command_id": str, "type": str, "value": object, "raw": str},
        nullable=True,
    )
    rejection_payload["properties"]["reason"] = {"type": "string", "minLength": 1}
    rejection_payload["properties"]["message"] = {"type": "string", "minLength": 1}
    dtc_payload = _payload_schema(DTC_FIELDS, {"sim_clock_utc": str})
    dtc_payload["properties"]["code"] = {"type": "string", "pattern": DTC_CODE_PATTERN}
    dtc_payload["properties"]["status"] = {"enum": list(DTC_STATUSES)}
    dtc_payload["properties"]["sim_time_s"] = {"type": "number", "minimum": 0}
    dtc_payload["properties"]["freeze_frame"] = {"type": ["object", "null"]}
    # null where a figure is not known: a model without probabilities, a trip too short
    prediction_payload = _payload_schema(PREDICTION_FIELDS, {}, nullable=True)
    for name in ("fault", "model", "model_version", "source_run_id"):
        prediction_payload["properties"][name] = {"type": "string", "minLength": 1}
    prediction_payload["properties"]["probability"] = {
        "type": ["number", "null"], "minimum": 0, "maximum": 1,
    }  # fmt: skip
    for name in ("window_start_s", "window_end_s"):
        prediction_payload["properties"][name] = {"type": "number", "minimum": 0}
    coaching_payload = _payload_schema(COACHING_FIELDS, OPTIONAL_COACHING_FIELDS, nullable=True)
    coaching_payload["properties"]["advice"] = {"type": "string", "minLength": 1}
    coaching_payload["properties"]["habit"] = {"enum": list(COACHING_HABITS)}
    coaching_payload["properties"]["basis"] = {"enum": list(COACHING_BASES)}
    coaching_payload["properties"]["source_run_id"] = {"type": "string", "minLength": 1}
    coaching_payload["properties"]["window_end_s"] = {"type": "number", "minimum": 0}
    by_type = {
        SIMULATION_RAW: _payload_schema(RAW_PAYLOAD_FIELDS, OPTIONAL_RAW_PAYLOAD_FIELDS),
        ENGINE_STARTED: engine_payload,
        ENGINE_STOPPED: engine_payload,
        DRIVER_COMMAND: command_payload,
        COMMAND_REJECTED: rejection_payload,
        DIAGNOSTIC_DTC: dtc_payload,
        DIAGNOSTIC_PREDICTION: prediction_payload,
        DRIVER_COACHING: coaching_payload,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "vehsim domain event, schema version 1",
        "description": "Generated by vehsim.events.build_schema(); see docs/events.md.",
        "type": "object",
        "required": list(ENVELOPE_FIELDS),
        "properties": envelope_props,
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"event_type": {"const": event_type}}},
                "then": {"properties": {"payload": payload}},
            }
            for event_type, payload in by_type.items()
        ],
    }


# A JSON string (skipped as one token) or a bracket; used by json_depth_exceeds.
_DEPTH_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')

_UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UTC_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|\+00:00)$"


@cache
def load_schema() -> dict[str, Any]:
    """The packaged JSON Schema ``vehsim/data/schemas/event-v1.json`` (parsed, cached)."""
    text = resources.files("vehsim").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator():
    import jsonschema  # ~0.2 s: only a caller that validates events pays for it

    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(event: Any) -> list[str]:
    """Every JSON Schema violation of ``event``, as ``"<path>: <message>"`` strings (empty: valid)."""
    errors = sorted(_validator().iter_errors(event), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<event>'}: {e.message}" for e in errors]


def validate_event(event: Any) -> None:
    """Raise :class:`EventError` naming every violation when ``event`` does not follow the schema."""
    errors = schema_errors(event)
    if errors:
        raise EventError("event does not follow event-v1 schema: " + "; ".join(errors))


if __name__ == "__main__":  # regenerate the packaged schema: python -m vehsim.events
    from pathlib import Path

    target = Path(__file__).parent / SCHEMA_RESOURCE
    target.write_text(json.dumps(build_schema(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")
