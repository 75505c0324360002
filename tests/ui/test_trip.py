"""Trip computer: figures from the counters at the reset and now, hand-checked values."""

import pytest

from vehsim.ui.trip import (
    MIN_AVERAGE_DISTANCE_KM,
    MIN_AVERAGE_TIME_S,
    TripComputer,
    average_consumption_l_per_100km,
    average_speed_kph,
    trip_figures,
    trip_start,
)


def reading(odometer_km: float, fuel_used_l: float) -> dict:
    return {"odometer_km": odometer_km, "fuel_used_l": fuel_used_l}


def test_averages_by_hand():
    assert average_speed_kph(10.0, 600.0) == pytest.approx(60.0)  # 10 km in 10 min
    assert average_consumption_l_per_100km(0.7, 10.0) == pytest.approx(7.0)
    assert average_speed_kph(0.01, MIN_AVERAGE_TIME_S - 0.01) is None
    assert average_consumption_l_per_100km(0.01, MIN_AVERAGE_DISTANCE_KM - 1e-6) is None


def test_figures_are_differences_of_the_counters():
    start = trip_start(100.0, reading(1200.0, 80.0))
    figures = trip_figures(start, 100.0 + 1800.0, reading(1230.0, 82.1))
    assert figures.distance_km == pytest.approx(30.0)
    assert figures.time_s == pytest.approx(1800.0)
    assert figures.average_speed_kph == pytest.approx(60.0)
    assert figures.average_consumption_l_per_100km == pytest.approx(7.0)
    assert figures.fuel_used_l == pytest.approx(2.1)


def test_a_payload_without_counters_shows_time_only():
    figures = trip_figures(trip_start(0.0, {}), 12.0, {"engine_rpm": 800.0})
    assert figures.time_s == 12.0
    assert figures.distance_km is None and figures.fuel_used_l is None
    assert figures.average_speed_kph is None and figures.average_consumption_l_per_100km is None


def test_computer_restarts_when_the_counters_go_back():
    trip = TripComputer()
    trip.update(5.0, reading(10.0, 1.0))
    assert trip.update(65.0, reading(11.0, 1.1)).distance_km == pytest.approx(1.0)
    # another run (or car): time and counters restart
    assert trip.update(1.0, reading(0.2, 0.01)).distance_km == 0.0
    assert trip.update(61.0, reading(1.2, 0.08)).distance_km == pytest.approx(1.0)
    trip.reset()
    assert trip.figures is None and trip.update(70.0, reading(1.3, 0.09)).distance_km == 0.0
