"""Local mode with the real simulator: commands move the car, time follows the caller's clock."""

from __future__ import annotations

import pytest

from vehsim.errors import CommandError, ParameterError
from vehsim.ui.dtc import NO_CODES
from vehsim.ui.sources import LocalSource


@pytest.fixture(scope="module")
def car() -> LocalSource:
    return LocalSource("compact-sedan")


def test_throttle_raises_engine_and_road_speed(car):
    idle = car.advance(0.5).payload
    assert not idle["engine_on"] and idle["engine_rpm"] < 300
    car.send({"type": "start_engine"})
    running = car.advance(3.0).payload
    assert running["engine_on"] and running["engine_rpm"] > 500
    car.send({"type": "throttle", "value": 50})
    moving = car.advance(8.0).payload
    assert moving["engine_rpm"] > running["engine_rpm"]
    assert moving["vehicle_speed_kph"] > 20
    car.send({"type": "throttle", "value": 0})
    car.send({"type": "brake", "value": 80})
    assert car.advance(10.0).payload["vehicle_speed_kph"] < 1.0


def test_bad_commands_are_refused_with_the_allowed_range(car):
    with pytest.raises(CommandError, match="0 to 100"):
        car.send({"type": "throttle", "value": 150})
    with pytest.raises(CommandError):
        car.send({"type": "warp_drive"})


def test_poll_simulates_the_wall_time_elapsed_in_whole_steps():
    source = LocalSource("compact-sedan")
    assert source.poll(100.0)[0].sim_time_s == 0.0  # the first poll only starts the clock
    assert source.poll(100.0) == []
    assert source.poll(100.034)[0].sim_time_s == pytest.approx(0.03)
    assert source.poll(100.050)[0].sim_time_s == pytest.approx(0.05)  # the remainder carried over
    assert source.poll(200.0)[0].sim_time_s == pytest.approx(0.30)  # a stall is capped at 0.25 s
    source.pause()
    assert source.poll(300.0)[0].sim_time_s == pytest.approx(
        0.30
    )  # unwatched time is not simulated


def test_dial_scale_and_spec_sheet_follow_the_vehicle():
    source = LocalSource("compact-sedan")
    hints = source.cluster_hints()
    assert hints.redline_rpm == source.params.values["max_speed_rpm"]
    assert hints.max_gear == source.params.n_gears
    assert hints.spec.name == "compact-sedan"


def test_switching_cars_starts_a_new_one_from_rest():
    source = LocalSource("compact-sedan")
    source.send({"type": "start_engine"})
    source.send({"type": "throttle", "value": 60})
    assert source.advance(8.0).payload["vehicle_speed_kph"] > 20
    source.follow("pickup-v8")
    assert source.vehicle_id == "pickup-v8" and source.params.name == "pickup-v8"
    assert source.cluster_hints().spec.name == "pickup-v8"
    assert source.describe() == "simulated in this kernel: pickup-v8"
    fresh = source.advance(1.0)
    assert fresh.sim_time_s == pytest.approx(1.0) and fresh.vehicle_id == "pickup-v8"
    assert not fresh.payload["engine_on"] and fresh.payload["vehicle_speed_kph"] == 0
    assert fresh.payload["odometer_km"] == 0 and fresh.payload["throttle_pct"] == 0
    with pytest.raises(ParameterError, match="no vehicle 'bus'"):
        source.follow("bus")
    assert source.vehicle_id == "pickup-v8"  # a refused switch leaves the car as it was


def test_a_misfiring_car_lights_the_check_engine_lamp():
    from vehsim.faults import FaultSpec

    source = LocalSource("compact-sedan")
    assert source.diagnostics() == NO_CODES
    source.sim.inject_fault(0, FaultSpec("misfire_cylinder_1", 1.0, 0.0))
    source.send({"type": "start_engine"})
    for _ in range(480):  # the monitors run after each advance, as the dashboard's ticks do
        source.advance(0.5)  # two 1000-revolution windows at idle take ~160 s
    status = source.diagnostics()
    assert status.mil_on
    assert [(c.code, c.status) for c in status.codes] == [("P0301", "confirmed")]
    assert status.codes[0].description == "Cylinder 1 misfire detected"
