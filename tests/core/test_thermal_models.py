"""Thermal model variants: the three-node model's invariants, and the default left as it was.

The three-node model (``thermal.model: three_node``) adds a cylinder-head mass; its numbers come
from ``generic_models.yaml`` (``thermal.three_node``), with the head's capacity taken out of the
coolant's so that the engine's total heat capacity is the lumped model's.
"""

import numpy as np
import pytest
import yaml

import vehsim
from vehsim.errors import ParameterError
from vehsim.params import from_dict
from vehsim.physics import thermal
from vehsim.testcar import generic_models


def three_node(params: vehsim.VehicleParams) -> vehsim.VehicleParams:
    """``params`` with the three-node thermal model, sized by the generic models."""
    g = generic_models()["thermal"]["three_node"]
    disp_l = params["displacement_l"]
    head_jpk = g["head_capacity_jpk_per_l"] * disp_l
    doc = params.to_dict()
    doc["thermal"].update(
        model="three_node",
        head_capacity_jpk=head_jpk,
        ua_head_coolant_wpk=g["ua_head_coolant_wpk_per_l"] * disp_l,
        heat_to_head_frac=g["heat_to_head_frac"],
        coolant_capacity_jpk=params["coolant_capacity_jpk"] - head_jpk,
    )
    return from_dict(doc, origin=f"{params.name} (three-node)")


@pytest.fixture(scope="module")
def suv():
    return vehsim.load_vehicle("compact-suv")


@pytest.fixture(scope="module")
def cold_udds(suv):
    """Lumped and three-node compact SUV, cold start on UDDS, 1 Hz telemetry."""
    return {
        "lumped": vehsim.simulate(suv, "udds", dt_s=0.02, start="cold"),
        "three_node": vehsim.simulate(three_node(suv), "udds", dt_s=0.02, start="cold"),
    }


def test_three_node_rates_conserve_energy():
    # Radiator, bay and thermostat closed off: the heat put in must equal sum(C dT/dt) (to 1e-12).
    caps = (12_000.0, 55_000.0, 12_000.0)
    heat = (3_000.0, 2_500.0, 800.0)
    rates = thermal.three_node_rates_cps(
        95.0, 60.0, 40.0, 20.0, *heat, *caps, 230.0, 120.0, 500.0, 0.0, 0.0
    )
    stored_w = sum(c * r for c, r in zip(caps, rates, strict=True))
    assert stored_w == pytest.approx(sum(heat), rel=1e-12)


def test_three_node_rates_pass_heat_from_hot_head_to_coolant():
    d_head, d_coolant, _ = thermal.three_node_rates_cps(
        95.0,
        60.0,
        60.0,
        20.0,
        0.0,
        0.0,
        0.0,
        12_000.0,
        55_000.0,
        12_000.0,
        230.0,
        0.0,
        0.0,
        0.0,
        0.0,
    )
    assert d_head < 0.0 < d_coolant
    assert 12_000.0 * d_head == pytest.approx(-55_000.0 * d_coolant, rel=1e-12)


def test_three_node_warms_up_head_first_and_settles_at_the_thermostat(suv, cold_udds):
    t = cold_udds["three_node"].telemetry
    assert np.isfinite(t[["head_temp_c", "coolant_temp_c", "oil_temp_c"]].to_numpy()).all()
    warming = t[(t["time_s"] > 30) & (t["coolant_temp_c"] < suv["thermostat_open_c"] - 5)]
    assert len(warming) > 100
    assert (warming["head_temp_c"] > warming["coolant_temp_c"]).all()  # heat flows head → coolant
    last = t.iloc[-1]
    assert suv["thermostat_open_c"] - 5 < last["coolant_temp_c"] < suv["fan_on_c"] + 5
    assert last["coolant_temp_c"] < last["head_temp_c"] < last["coolant_temp_c"] + 15


def test_three_node_energy_is_sensible_against_the_lumped_model(cold_udds):
    # Same total heat capacity: the coolant reaches warm within a minute of the lumped model and
    # the fuel used differs by little (cold enrichment follows the coolant).
    lumped, split = (cold_udds[k] for k in ("lumped", "three_node"))
    warm_c = 70.0

    def warm_at(result):
        t = result.telemetry
        return float(t.loc[t["coolant_temp_c"] >= warm_c, "time_s"].iloc[0])

    assert abs(warm_at(split) - warm_at(lumped)) < 60.0
    assert split.summary["fuel_l"] == pytest.approx(lumped.summary["fuel_l"], rel=0.02)
    assert split.summary["distance_km"] == pytest.approx(lumped.summary["distance_km"], rel=1e-3)


def test_default_model_is_lumped_and_unchanged(suv, cold_udds):
    assert suv.submodel("thermal") == "lumped"
    assert "model" not in suv.to_dict()["thermal"]  # the file, and its content hash, unchanged
    doc = suv.to_dict()
    doc["thermal"]["model"] = "lumped"
    explicit = vehsim.simulate(from_dict(doc), "udds", dt_s=0.02, start="cold")
    assert explicit.telemetry.equals(cold_udds["lumped"].telemetry)
    t = cold_udds["lumped"].telemetry
    assert (t["head_temp_c"] == t["coolant_temp_c"]).all()


def test_one_kernel_serves_a_mixed_fleet_bit_for_bit(suv):
    split = three_node(suv)
    fleet = vehsim.Simulator([suv, split, suv], dt_s=0.05, start="cold")
    fleet.set_driver(slice(None), "cycle:us06")
    fleet.run_steps(4000)
    for i, params in enumerate([suv, split, suv]):
        one = vehsim.Simulator([params], dt_s=0.05, start="cold")
        one.set_driver(0, "cycle:us06")
        one.run_steps(4000)
        assert np.array_equal(one.state[0], fleet.state[i]), i


def test_three_node_parameters_are_validated_by_name(suv):
    doc = three_node(suv).to_dict()
    del doc["thermal"]["ua_head_coolant_wpk"]
    with pytest.raises(ParameterError, match=r"thermal\.ua_head_coolant_wpk is missing.*W/K"):
        from_dict(doc)
    doc = suv.to_dict()
    doc["thermal"]["head_capacity_jpk"] = 10_000.0
    with pytest.raises(
        ParameterError, match=r"thermal\.head_capacity_jpk belongs to thermal model"
    ):
        from_dict(doc)
    doc = suv.to_dict()
    doc["thermal"]["model"] = "five_node"
    with pytest.raises(
        ParameterError, match=r"thermal\.model must be one of \['lumped', 'three_node'\]"
    ):
        from_dict(doc)


def test_three_node_round_trips_through_its_file(suv, tmp_path):
    split = three_node(suv)
    path = tmp_path / "suv-three-node.yaml"
    path.write_text(yaml.safe_dump(split.to_dict(), sort_keys=False))
    again = vehsim.load_vehicle(path)
    assert again.submodel("thermal") == "three_node"
    assert again.content_hash() == split.content_hash() != suv.content_hash()
