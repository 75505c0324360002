"""The instrument cluster in the kernel: consumption, trip computer, wear, spec sheet, vehicle
picker, check-engine lamp and codes (stand-in simulator, no browser)."""

from __future__ import annotations

import pytest

from vehsim.params import load_vehicle
from vehsim.ui.dashboard import Dashboard
from vehsim.ui.dtc import DiagnosticStatus, TroubleCode
from vehsim.ui.readings import SERVICE_WEAR_PCT, consumption_l_per_100km, quantize
from vehsim.ui.sources import hints_for

from .fakes import FakeFleet, fake_source


@pytest.fixture
def dash() -> Dashboard:
    return Dashboard(fake_source("compact-suv"), autostart=False, unwatched_after_s=None)


def drive(dash: Dashboard, throttle_pct: float, duration_s: float) -> None:
    dash.command({"type": "start_engine"})
    dash.command({"type": "throttle", "value": throttle_pct})
    dash.run_for(duration_s)


def test_consumption_reads_per_hour_standing_and_per_distance_moving(dash):
    dash.command({"type": "start_engine"})
    dash.run_for(2.0)
    assert dash.reading.values["consumption_unit"] == "L/h"
    assert dash.reading.values["consumption"] == quantize(dash.latest.payload["fuel_rate_lph"], 0.1)
    drive(dash, 50, 8.0)
    payload = dash.latest.payload
    assert payload["vehicle_speed_kph"] > 5
    assert dash.reading.values["consumption_unit"] == "L/100 km"
    expected = consumption_l_per_100km(payload["fuel_rate_lph"], payload["vehicle_speed_kph"])
    assert dash.reading.values["consumption"] == quantize(expected, 0.1)


def test_consumption_follows_the_throttle(dash):
    drive(dash, 20, 20.0)
    gentle = dash.reading.values["consumption"]
    dash.command({"type": "throttle", "value": 90})
    dash.run_for(1.0)
    assert dash.reading.values["consumption"] > gentle


def test_trip_counts_from_the_reset(dash):
    drive(dash, 60, 30.0)
    first = dash.trip.figures
    start = dash.trip.start  # the first reading shown (0.1 s in)
    assert first.distance_km == pytest.approx(
        dash.latest.payload["odometer_km"] - start.odometer_km, abs=1e-12
    )
    assert first.time_s == pytest.approx(30.0 - start.sim_time_s, abs=1e-9)
    assert first.average_speed_kph == pytest.approx(first.distance_km / first.time_s * 3600)
    assert first.average_consumption_l_per_100km == pytest.approx(
        100 * first.fuel_used_l / first.distance_km
    )
    assert "vehsim-trip-distance" in dash.trip_panel.value
    assert f"{first.distance_km:.2f}" in dash.trip_panel.value

    dash.trip_reset.click()
    assert dash.trip.figures.distance_km == 0 and dash.trip.figures.time_s == 0
    assert "0.00" in dash.trip_panel.value
    dash.run_for(5.0)
    assert 0 < dash.trip.figures.distance_km < first.distance_km
    assert dash.trip.figures.time_s == pytest.approx(5.0, abs=0.2)


def test_wear_panel_shows_every_part_and_the_service_threshold(dash):
    drive(dash, 60, 20.0)
    html = dash.wear_panel.value
    for key in (
        "engine_wear_pct",
        "gearbox_wear_pct",
        "brake_pad_wear_pct",
        "tyre_wear_pct",
        "oil_life_pct",
    ):
        assert f'data-key="{key}"' in html
    assert f"service lamp at {SERVICE_WEAR_PCT:g} % worn" in html
    assert f"{dash.latest.payload['engine_wear_pct']:.3f}" in html
    assert "vehsim-due" not in html and "wear ×" not in html


def test_spec_sheet_and_picker_over_the_shipped_vehicles(dash):
    assert "compact-suv" in dash.spec.value and "8-speed automatic" in dash.spec.value
    assert "vehsim-spec-power" in dash.spec.value and "vehsim-spec-max-rpm" in dash.spec.value
    assert "pickup-v8" in dash.picker.options and dash.picker.value == "compact-suv"
    assert dash.picker.layout.display == "flex"


def test_picking_another_car_restarts_it_cleanly(dash):
    drive(dash, 60, 10.0)
    dash.controls.gear_mode.value = "manual"
    dash.picker.value = "pickup-v8"
    assert dash.source.vehicle_id == "pickup-v8"
    assert "pickup-v8" in dash.spec.value and "compact-suv" not in dash.spec.value
    assert dash.chart.history == [] and dash.trip.figures is None
    assert dash.controls.throttle.value == 0 and dash.controls.gear_mode.value == "auto"
    assert dash.cluster.rpm.max == 1000.0 * -(-(dash.hints.redline_rpm + 500) // 1000)
    sample = dash.run_for(0.5)
    assert sample.sim_time_s == pytest.approx(0.5)
    assert not sample.payload["engine_on"] and sample.payload["vehicle_speed_kph"] == 0
    assert dash.source.sim.throttle_pct == 0  # a new car, not the old one's pedal


def test_a_vehicle_the_notebook_passes_is_offered(tmp_path):
    import yaml

    doc = load_vehicle("compact-sedan").to_dict()
    doc["name"] = "my-hatchback"
    path = tmp_path / "my-hatchback.yaml"
    path.write_text(yaml.safe_dump(doc))
    dash = Dashboard(fake_source("compact-suv", vehicles=[path]), autostart=False)
    assert "my-hatchback" in dash.picker.options
    dash.picker.value = "my-hatchback"
    assert "my-hatchback" in dash.spec.value


def test_check_engine_lamp_and_codes_in_local_mode(dash):
    dash.run_for(0.1)
    assert "No trouble codes" in dash.dtc_panel.value
    assert "mil" not in dash.cluster.lights.lit
    dash.source.sim.codes = {"confirmed": ["P0301"], "pending": ["P0171"]}
    dash.source.sim.mil_on = True
    dash.run_for(0.1)
    html = dash.dtc_panel.value
    assert "P0301" in html and "Cylinder 1 misfire detected" in html
    assert "P0171" in html and "System too lean" in html
    assert html.index("P0301") < html.index("P0171")  # confirmed first
    assert "mil" in dash.cluster.lights.lit


def test_check_engine_lamp_and_codes_in_connected_mode():
    fleet = FakeFleet(["car-a", "car-b"])
    fleet.codes["car-b"] = DiagnosticStatus(
        True, (TroubleCode("P0217", "Engine coolant over temperature condition", "confirmed"),)
    )
    dash = Dashboard(fleet, autostart=False)
    fleet.publish(1.0, {"engine_on": True, "engine_rpm": 900.0})
    dash.tick(0.0)
    assert "No trouble codes" in dash.dtc_panel.value
    dash.picker.value = "car-b"
    fleet.publish(1.1, {"engine_on": True, "engine_rpm": 900.0})
    dash.tick(0.1)
    assert "P0217" in dash.dtc_panel.value and "mil" in dash.cluster.lights.lit


def test_a_connected_car_gets_its_spec_sheet_once_its_model_is_known():
    fleet = FakeFleet(["car-a"])
    dash = Dashboard(fleet, autostart=False)
    assert "car-a" in dash.spec.value and "vehsim-spec-power" not in dash.spec.value
    fleet.hints = hints_for(load_vehicle("pickup-v8"))
    fleet.publish(0.1, {"engine_on": False, "vehicle_model": "pickup-v8"})
    dash.tick(0.0)
    assert "pickup-v8" in dash.spec.value and "vehsim-spec-power" in dash.spec.value
    assert dash.chart.series[2]["max"] == load_vehicle("pickup-v8").n_gears


def test_the_lamp_and_codes_come_from_the_reading_when_it_carries_them():
    fleet = FakeFleet(["car-a"])
    fleet.codes["car-a"] = DiagnosticStatus(
        True, (TroubleCode("P0301", "from events", "confirmed"),)
    )
    dash = Dashboard(fleet, autostart=False)
    fleet.publish(1.0, {"engine_on": True, "mil_on": False, "dtc_confirmed": [], "dtc_pending": []})
    dash.tick(0.0)
    assert "No trouble codes" in dash.dtc_panel.value and "mil" not in dash.cluster.lights.lit
    fleet.publish(1.1, {"engine_on": True, "mil_on": True, "dtc_confirmed": ["P0128"]})
    dash.tick(0.1)
    assert "P0128" in dash.dtc_panel.value and "P0301" not in dash.dtc_panel.value
    assert "mil" in dash.cluster.lights.lit


def test_wear_running_faster_than_the_physics_is_shown():
    fleet = FakeFleet(["car-a"])
    dash = Dashboard(fleet, autostart=False)
    fleet.publish(1.0, {"engine_wear_pct": 12.0, "wear_time_scale": 500.0})
    dash.tick(0.0)
    assert "wear ×500" in dash.wear_panel.value and "12.0" in dash.wear_panel.value
