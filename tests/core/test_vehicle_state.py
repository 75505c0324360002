"""Wear that can be shown and kept (issue 16): the wear time scale and saved vehicle states.

A saved state restores bit for bit; a run with wear scale K accumulates K times the wear of the
same run at K = 1 (within 1 %); state files are validated with errors naming the field; the CLI
carries a car's state from one run to the next.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import vehsim
from vehsim.cli import main
from vehsim.errors import ParameterError
from vehsim.layout import S
from vehsim.vehicle_state import FIELDS, VehicleState, load_state, state_from_dict

WEAR_COLUMNS = ("engine_wear_frac", "gearbox_wear_frac", "brake_pad_wear_frac", "tyre_wear_frac")


def _udds(vehicle: str = "compact-suv", **kwargs) -> vehsim.Simulator:
    sim = vehsim.Simulator([vehsim.load_vehicle(vehicle)], dt_s=0.05, start="cold", **kwargs)
    sim.set_driver(0, "cycle:udds")
    sim.run_steps(int(round(vehsim.load_cycle("udds").duration_s / 0.05)))
    return sim


def test_saved_state_restores_bit_for_bit(tmp_path):
    driven = _udds()
    saved = driven.vehicle_state(0)
    assert saved.odometer_m > 10_000 and saved.engine_wear_frac > 0 and saved.oil_life_frac < 1
    path = driven.save_state(0, tmp_path / "car.json")

    restored = vehsim.Simulator([vehsim.load_vehicle("compact-suv")], state=path)
    again = restored.vehicle_state(0)
    for name in FIELDS:
        a, b = getattr(saved, name), getattr(again, name)
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), name
    for column in ("odometer_m", *WEAR_COLUMNS, "oil_life_frac"):
        assert restored.state[0, S[column]] == driven.state[0, S[column]]
    # saving the restored car writes the same file
    assert again.save(tmp_path / "again.json").read_text() == path.read_text()


def test_a_restored_car_keeps_wearing_from_where_it_was():
    first = _udds()
    second = _udds(state=first.vehicle_state(0))
    fresh = _udds()
    for column in ("odometer_m", *WEAR_COLUMNS):
        total = second.state[0, S[column]]
        assert total == pytest.approx(2.0 * fresh.state[0, S[column]], rel=0.02), column
    assert second.vehicle_state(0).fuel_level_l < first.vehicle_state(0).fuel_level_l


@pytest.mark.parametrize("scale", [10.0, 1000.0])
def test_wear_scale_k_gives_k_times_the_wear(scale):
    base = _udds()
    fast = _udds(wear_time_scale=scale)
    for column in WEAR_COLUMNS:
        ratio = fast.state[0, S[column]] / base.state[0, S[column]]
        assert ratio == pytest.approx(scale, rel=0.01), column
    used = (1.0 - fast.state[0, S["oil_life_frac"]]) / (1.0 - base.state[0, S["oil_life_frac"]])
    assert used == pytest.approx(scale, rel=0.01)
    # the rest of the physics keeps its pace
    assert fast.state[0, S["odometer_m"]] == pytest.approx(base.state[0, S["odometer_m"]], rel=1e-3)


def test_wear_scale_one_is_the_default_and_changes_nothing():
    a = _udds()
    b = _udds(wear_time_scale=1.0)
    assert np.array_equal(a.state, b.state)


def _doc(**state) -> dict:
    doc = VehicleState(vehicle="compact-suv").to_dict()
    doc["state"].update(state)
    return doc


@pytest.mark.parametrize(
    "doc, message",
    [
        ({**_doc(), "version": 2}, "unsupported version 2"),
        ({**_doc(), "format": "other"}, "'format' must be"),
        (_doc(engine_wear_frac=1.5), r"state.engine_wear_frac = 1.5 1 is out of range"),
        (_doc(odometer_m=-1.0), "state.odometer_m"),
        (_doc(oil_life_frac="full"), "state.oil_life_frac must be a number"),
        (_doc(coolant_temp_c=90.0), "unknown state field"),
        (
            {**_doc(), "units": {**_doc()["units"], "odometer_m": "km"}},
            "units.odometer_m must be 'm'",
        ),
        ({k: v for k, v in _doc().items() if k != "state"}, "'units' and 'state' must be objects"),
    ],
)
def test_invalid_state_files_are_refused_naming_the_field(doc, message):
    with pytest.raises(ParameterError, match=message):
        state_from_dict(doc, "test state")


def test_state_of_another_vehicle_or_a_fuller_tank_is_refused(tmp_path):
    path = VehicleState(vehicle="pickup-v8").save(tmp_path / "pickup.json")
    with pytest.raises(ParameterError, match="saved from 'pickup-v8'"):
        vehsim.Simulator([vehsim.load_vehicle("compact-suv")], state=path)
    too_full = VehicleState(vehicle="compact-suv", fuel_level_l=500.0)
    with pytest.raises(ParameterError, match="more than the"):
        vehsim.Simulator([vehsim.load_vehicle("compact-suv")], state=too_full)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ParameterError, match="not valid JSON"):
        load_state(tmp_path / "bad.json")


def test_simulate_cli_carries_the_state_from_one_run_to_the_next(capsys, tmp_path):
    state_file = tmp_path / "car.json"
    argv = ["simulate", "--vehicle", "compact-sedan", "--cycle", "hwfet", "--dt-s", "0.1"]
    argv += ["--format", "json", "--state", str(state_file), "--wear-scale", "100"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    after_one = load_state(state_file)
    assert after_one.odometer_m == pytest.approx(first["distance_km"] * 1e3, rel=1e-3)
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    after_two = load_state(state_file)
    assert after_two.odometer_m == pytest.approx(2 * after_one.odometer_m, rel=1e-3)
    assert after_two.tyre_wear_frac > after_one.tyre_wear_frac
    assert second["state_file"] == str(state_file)
    assert second["wear_time_scale"] == 100.0
