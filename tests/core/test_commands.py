"""Driver commands: property tests on validation, and their effect through the step function."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vehsim
from vehsim.errors import CommandError

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)


# No per-example deadline: the property holds whatever the machine's load; CI runs Spark beside it.
@settings(deadline=None)
@given(
    kind=st.one_of(
        st.sampled_from(
            ["throttle", "brake", "gear", "gear_mode", "profile", "start_engine", "stop_engine"]
        ),
        st.text(max_size=8),
    ),
    value=values,
)
def test_parse_command_accepts_only_valid_commands(kind, value):
    try:
        cmd = vehsim.parse_command({"type": kind, "value": value})
    except CommandError as exc:
        assert exc.field in ("type", "value")
        assert str(exc)
        return
    if cmd.type in ("throttle", "brake"):
        assert isinstance(cmd.value, float) and 0 <= cmd.value <= 100 and math.isfinite(cmd.value)
    elif cmd.type == "gear":
        assert 1 <= cmd.value <= 10
    elif cmd.type == "gear_mode":
        assert cmd.value in ("auto", "manual")
    elif cmd.type == "profile":
        assert cmd.value in ("eco", "normal", "sport", "aggressive")


def test_messages_name_field_and_range():
    with pytest.raises(CommandError, match=r"throttle: value 150 % is out of range \(0 to 100 %\)"):
        vehsim.parse_command({"type": "throttle", "value": 150})
    with pytest.raises(CommandError, match="finite"):
        vehsim.parse_command({"type": "brake", "value": float("nan")})
    with pytest.raises(CommandError, match="type must be one of"):
        vehsim.parse_command({"type": "warp"})


@pytest.fixture(scope="module")
def params():
    return vehsim.load_vehicle("compact-suv")


@settings(max_examples=25, deadline=None)
@given(
    script=st.lists(
        st.tuples(st.sampled_from(["throttle", "brake"]), st.floats(0, 100), st.floats(0.05, 3.0)),
        min_size=1,
        max_size=12,
    ),
    grade=st.floats(-0.15, 0.15),
)
def test_any_pedal_sequence_keeps_the_car_physical(params, script, grade):
    sim = vehsim.Simulator([params], dt_s=0.01, start="hot")
    sim.set_driver(0, "commands")
    sim.set_environment(0, grade_frac=grade)
    prev = sim.snapshot()
    for kind, value, duration in script:
        sim.apply(0, {"type": kind, "value": value})
        sim.advance(duration)
        snap = sim.snapshot()
        assert snap["speed_mps"][0] >= 0
        numbers = [v for v in snap.values() if v.dtype.kind in "biuf"]  # names aside
        assert all(math.isfinite(float(v[0])) for v in numbers)
        for key in (
            "fuel_used_g",
            "odometer_m",
            "engine_wear_frac",
            "tyre_wear_frac",
            "brake_pad_wear_frac",
            "gearbox_wear_frac",
        ):
            assert snap[key][0] >= prev[key][0]
        assert snap["oil_life_frac"][0] <= prev["oil_life_frac"][0]
        assert -40 < snap["coolant_temp_c"][0] < 130
        prev = snap


def test_gear_command_beyond_the_gearbox_is_rejected(params):
    sim = vehsim.Simulator([params])
    with pytest.raises(CommandError, match="exceeds this car's 8 gears"):
        sim.apply(0, {"type": "gear", "value": 9})
    with pytest.raises(CommandError, match="vehicle index 3 out of range"):
        sim.apply(3, {"type": "start_engine"})
