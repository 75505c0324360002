"""The event envelope contract: schema file in sync with the module, builders, validation."""

from __future__ import annotations

import json
import math
import uuid
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vehsim import events


def _valid_payload() -> dict:
    payload = {}
    for name, py_type in events.RAW_PAYLOAD_FIELDS.items():
        if py_type is bool:
            payload[name] = True
        else:
            low, high = events.PAYLOAD_RANGES[name]
            payload[name] = py_type((low + high) / 2) if py_type is float else int(low) + 1
    return payload


def test_packaged_schema_is_generated_from_module():
    text = resources.files("vehsim").joinpath(events.SCHEMA_RESOURCE).read_text()
    assert json.loads(text) == events.build_schema(), "run: python -m vehsim.events"
    assert events.load_schema() == events.build_schema()


def test_contract_constants():
    assert events.SCHEMA_VERSION == 1
    assert events.EVENT_TYPES == (
        "simulation.raw",
        "engine.started",
        "engine.stopped",
        "driver.command",
        "command.rejected",
        "diagnostic.dtc",
        "diagnostic.prediction",
        "driver.coaching",
    )
    assert list(events.ENVELOPE_FIELDS) == [
        "schema_version", "event_id", "event_type", "vehicle_id", "run_id", "seq",
        "sim_time_s", "emitted_at", "payload",
    ]  # fmt: skip
    numeric = [n for n, t in events.RAW_PAYLOAD_FIELDS.items() if t is not bool]
    assert set(numeric) <= set(events.PAYLOAD_RANGES), "every numeric field has a range"
    for low, high in events.PAYLOAD_RANGES.values():
        assert low < high


def test_built_event_validates_and_round_trips():
    run_id = str(uuid.uuid4())
    event = events.make_event(events.SIMULATION_RAW, "car-000", run_id, 3, 0.3, _valid_payload())
    assert list(event) == list(events.ENVELOPE_FIELDS)
    assert events.schema_errors(event) == []
    decoded = json.loads(events.encode_event(event))
    assert decoded == event
    uuid.UUID(decoded["event_id"])
    assert decoded["emitted_at"].endswith("Z")


@pytest.mark.parametrize("missing", list(events.RAW_PAYLOAD_FIELDS))
def test_every_raw_field_is_required(missing):
    payload = _valid_payload()
    del payload[missing]
    event = events.make_event(events.SIMULATION_RAW, "car", "run", 0, 0.0, payload)
    errors = events.schema_errors(event)
    assert any(missing in e for e in errors), errors


def test_out_of_range_fields_and_schema_agree():
    payload = _valid_payload()
    payload["vehicle_speed_kph"] = 401.0
    payload["coolant_temp_c"] = -61.0
    payload["engine_rpm"] = math.nan
    assert events.out_of_range_fields(payload) == [
        "engine_rpm",
        "vehicle_speed_kph",
        "coolant_temp_c",
    ]
    payload["engine_rpm"] = 800.0
    errors = events.schema_errors(events.make_event("simulation.raw", "c", "r", 0, 0.0, payload))
    assert len(errors) == 2


def test_extra_payload_fields_pass_but_known_optionals_are_typed():
    payload = _valid_payload() | {"something_new": [1, 2]}
    assert (
        events.schema_errors(events.make_event("simulation.raw", "c", "r", 0, 0.0, payload)) == []
    )
    payload["gear_mode"] = 3
    assert events.schema_errors(events.make_event("simulation.raw", "c", "r", 0, 0.0, payload))


def test_envelope_rejects_unknowns():
    with pytest.raises(events.EventError, match="event_type must be one of"):
        events.make_event("simulation.cooked", "c", "r", 0, 0.0, {})
    with pytest.raises(events.EventError, match="seq"):
        events.make_event("simulation.raw", "c", "r", -1, 0.0, {})
    event = events.make_event("engine.started", "c", "r", 0, 0.0, {"cause": "command"})
    event["surprise"] = True
    with pytest.raises(events.EventError, match="surprise"):
        events.validate_event(event)


def test_non_finite_payload_is_refused_when_encoding():
    payload = _valid_payload() | {"engine_rpm": math.inf}
    event = events.make_event("simulation.raw", "c", "r", 0, 0.0, payload)
    with pytest.raises(events.EventError, match="engine_rpm"):
        events.encode_event(event)


def test_other_event_payloads_validate():
    cases = [
        ("engine.started", {"cause": "command", "command_id": str(uuid.uuid4())}),
        ("engine.stopped", {"cause": "driver", "command_id": None}),
        ("driver.command", {"command_id": "x", "type": "throttle", "value": 40}),
        (
            "command.rejected",
            {"command_id": None, "type": None, "value": None, "field": "type",
             "reason": "missing", "message": "type is required", "raw": "{}"},
        ),
    ]  # fmt: skip
    for event_type, payload in cases:
        event = events.make_event(event_type, "c", "r", 0, 1.0, payload)
        assert events.schema_errors(event) == [], event_type
    bad = events.make_event("engine.started", "c", "r", 0, 0.0, {"cause": "magic"})
    assert events.schema_errors(bad)


def test_command_message_shape():
    message = events.make_command("car-000", "throttle", 40)
    assert set(message) == set(events.COMMAND_MESSAGE_FIELDS)
    assert message["schema_version"] == 1
    assert "value" not in events.make_command("car-000", "start_engine")


@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    name=st.sampled_from([n for n, t in events.RAW_PAYLOAD_FIELDS.items() if t is float]),
)
def test_range_check_matches_bounds(value, name):
    low, high = events.PAYLOAD_RANGES[name]
    payload = _valid_payload() | {name: value}
    assert (name in events.out_of_range_fields(payload)) == (not low <= value <= high)


# Bounds on what a received command can put into an event (issue 12, findings 1, 4, 5) ------------
def test_excerpt_cuts_long_text_and_says_how_much():
    assert events.excerpt("short") == "short"
    cut = events.excerpt("x" * 1_000_000)
    assert cut.startswith("x" * events.MAX_EXCERPT_CHARS)
    assert cut.endswith(f"...[{1_000_000 - events.MAX_EXCERPT_CHARS} more characters]")
    assert len(cut) < events.MAX_EXCERPT_CHARS + 40


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=50,
    )
)
def test_value_excerpt_is_always_small_valid_json(value):
    kept = events.value_excerpt(value)
    text = json.dumps(kept, allow_nan=False)  # never NaN/Infinity: encodable in an event
    assert len(text) < 2 * events.MAX_EXCERPT_CHARS + 60


def test_value_excerpt_keeps_short_scalars_and_describes_huge_numbers():
    assert events.value_excerpt(40) == 40 and events.value_excerpt("eco") == "eco"
    assert events.value_excerpt(None) is None and events.value_excerpt(True) is True
    assert events.value_excerpt([float("nan")]) == "[NaN]"
    huge = events.value_excerpt(10**400)  # no quadratic int-to-text conversion
    assert huge == "<integer of about 400 digits>"


def test_json_depth_is_checked_without_parsing():
    assert not events.json_depth_exceeds('{"a": [1, {"b": 2}]}', 3)
    assert events.json_depth_exceeds('{"a": [1, {"b": [2]}]}', 3)
    assert not events.json_depth_exceeds('{"a": "[[[[[[[[[[[[{{{{"}', 1)  # brackets in strings
    assert not events.json_depth_exceeds('{"a": "say \\"[[[[\\""}', 1)  # escaped quotes
    assert events.json_depth_exceeds("[" * 10_000, events.MAX_COMMAND_DEPTH)
