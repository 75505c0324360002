"""Cars for the picker and their spec sheets: shipped, from a file, from an EPA test-car row."""

import pytest

from vehsim.errors import ParameterError
from vehsim.params import list_vehicles, load_vehicle
from vehsim.testcar import calibration_frame
from vehsim.ui.vehicles import VehicleChoices, spec_sheet, vehicle_params


def test_spec_sheet_of_a_shipped_car_in_spec_sheet_units():
    params = load_vehicle("compact-suv")
    spec = spec_sheet(params)
    assert spec.name == "compact-suv"
    assert spec.rated_power_kw == pytest.approx(params.values["rated_power_w"] / 1000)
    assert spec.mass_kg == params.values["mass_kg"]
    assert spec.displacement_l == 1.5 and spec.gears == 8 and spec.gearbox == "automatic"
    assert spec.max_engine_speed_rpm == params.values["max_speed_rpm"]
    lines = {key: (value, unit) for key, _label, value, unit in spec.lines()}
    assert lines["power"] == ("130", "kW") and lines["gears"] == ("8-speed automatic", "")
    assert lines["max-rpm"] == ("6022", "rpm")  # 6022.5 rounds half to even


def test_an_epa_test_car_row_becomes_a_car_named_after_its_id():
    row = calibration_frame().iloc[0]  # a pandas row, as a notebook would pass it
    params = vehicle_params(row)
    assert params.name == f"testcar-{row['Test Vehicle ID']}"
    assert params.n_gears == int(row["# of Gears"])
    assert vehicle_params(row.to_dict()).content_hash() == params.content_hash()


def test_choices_offer_shipped_cars_then_extras_under_unique_names():
    extra = load_vehicle("compact-suv")  # same name as a shipped car
    choices = VehicleChoices([extra])
    assert choices.names == [*list_vehicles(), "compact-suv (2)"]
    assert choices.params("compact-suv (2)") is extra
    assert choices.params("pickup-v8").name == "pickup-v8"  # loaded when picked
    with pytest.raises(ParameterError, match="no vehicle 'bus'"):
        choices.params("bus")


def test_what_cannot_be_a_car_is_refused_by_name():
    with pytest.raises(ParameterError, match="got int"):
        vehicle_params(42)
    with pytest.raises(ParameterError, match="unknown vehicle 'bus'"):
        vehicle_params("bus")
    with pytest.raises(ParameterError, match="'name' is required"):
        vehicle_params({"engine": {}})
