"""Vehicle files: every shipped one validates; bad ones fail naming the field and range."""

import copy

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import vehsim
from vehsim.errors import ParameterError
from vehsim.params import SCALAR_FIELDS, from_dict


@pytest.fixture(scope="module")
def doc():
    return vehsim.load_vehicle("compact-suv").to_dict()


def test_every_shipped_vehicle_loads_and_has_a_source():
    names = vehsim.list_vehicles()
    assert len(names) >= 4
    for name in names:
        v = vehsim.load_vehicle(name)
        assert v.source and "EPA" in v.source
        assert v.name == name


def test_unknown_vehicle_lists_the_known_ones():
    with pytest.raises(ParameterError, match="unknown vehicle 'nope'.*compact-suv"):
        vehsim.load_vehicle("nope")


def test_missing_field_is_named_with_range(doc):
    bad = copy.deepcopy(doc)
    del bad["engine"]["rated_power_w"]
    with pytest.raises(ParameterError, match=r"engine\.rated_power_w is missing .*W"):
        from_dict(bad)


def test_impossible_value_names_field_unit_and_range(doc):
    bad = copy.deepcopy(doc)
    bad["vehicle"]["mass_kg"] = 3_500_000  # grams by mistake
    with pytest.raises(
        ParameterError,
        match=r"vehicle\.mass_kg = 3.5e\+06 kg is out of range \(allowed 300 to 10000 kg\)",
    ):
        from_dict(bad)


def test_wrong_type_and_nan_are_rejected(doc):
    bad = copy.deepcopy(doc)
    bad["engine"]["idle_speed_rpm"] = "700"
    with pytest.raises(ParameterError, match="idle_speed_rpm must be a number"):
        from_dict(bad)
    bad["engine"]["idle_speed_rpm"] = float("nan")
    with pytest.raises(ParameterError, match="idle_speed_rpm must be finite"):
        from_dict(bad)


def test_ratios_must_decrease(doc):
    bad = copy.deepcopy(doc)
    bad["gearbox"]["ratios"] = sorted(bad["gearbox"]["ratios"])
    with pytest.raises(ParameterError, match="must decrease"):
        from_dict(bad)


def test_deactivation_speed_band_must_be_ordered(doc):
    bad = copy.deepcopy(doc)
    bad["engine"]["deactivation_min_rpm"] = 3000.0
    bad["engine"]["deactivation_max_rpm"] = 1000.0
    with pytest.raises(ParameterError, match="deactivation_min_rpm <= deactivation_max_rpm"):
        from_dict(bad)


def test_round_trip_through_yaml_keeps_the_hash(doc, tmp_path):
    path = tmp_path / "car.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert vehsim.load_vehicle(path).content_hash() == from_dict(doc).content_hash()


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, len(SCALAR_FIELDS) - 1),
    value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.none()),
)
def test_any_corrupted_field_is_either_accepted_in_range_or_named(doc, index, value):
    section, key, _unit, lo, hi = SCALAR_FIELDS[index]
    bad = copy.deepcopy(doc)
    bad[section][key] = value
    try:
        params = from_dict(bad)
    except ParameterError as exc:
        assert (
            key in str(exc)
            or "torque curve" in str(exc)
            or "thermostat" in str(exc)
            or "fan_off_c" in str(exc)
            or "rated_speed_rpm" in str(exc)
        )
    else:
        assert lo <= params[key] <= hi


def test_drag_area_and_rolling_resistance_instead_of_coastdown(doc):
    alt = copy.deepcopy(doc)
    for key in ("road_load_a_n", "road_load_b_n_per_mps", "road_load_c_n_per_mps2"):
        del alt["vehicle"][key]
    alt["vehicle"].update(crr=0.009, drag_area_m2=0.7)
    params = from_dict(alt)
    # A = 0.009 * m * 9.80665, C = 0.5 * 1.225 * 0.7 = 0.42875 (hand-checked)
    assert params["road_load_a_n"] == pytest.approx(0.009 * alt["vehicle"]["mass_kg"] * 9.80665)
    assert params["road_load_c_n_per_mps2"] == pytest.approx(0.42875)
    alt["vehicle"]["road_load_a_n"] = 100.0
    with pytest.raises(ParameterError, match="not both"):
        from_dict(alt)
