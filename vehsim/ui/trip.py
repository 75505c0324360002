"""The trip computer: distance, time, average speed, average consumption and fuel used since a reset.

A trip is the difference between two readings of the car's own counters (odometer, fuel used,
simulated time), so it is exact whatever the display rate and identical in both modes. The
figures are pure functions of the reading at the reset and the reading now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vehsim.ui.readings import number

#: Trip distance below which averages per distance are not shown [km]: over the first metres
#: the ratio of two tiny counters says nothing (the same floor as Gold's per-distance figures).
MIN_AVERAGE_DISTANCE_KM = 0.1
#: Trip time below which the average speed is not shown [s].
MIN_AVERAGE_TIME_S = 1.0


@dataclass(frozen=True)
class TripStart:
    """The counters at the reset; a counter the payload lacks is ``None``."""

    sim_time_s: float
    odometer_km: float | None
    fuel_used_l: float | None


@dataclass(frozen=True)
class TripFigures:
    """What the trip computer shows; ``None`` where there is nothing meaningful to show yet."""

    distance_km: float | None
    time_s: float
    average_speed_kph: float | None
    average_consumption_l_per_100km: float | None
    fuel_used_l: float | None


def trip_start(sim_time_s: float, payload: Mapping[str, object]) -> TripStart:
    """A trip starting at this reading."""
    return TripStart(sim_time_s, number(payload, "odometer_km"), number(payload, "fuel_used_l"))


def average_speed_kph(distance_km: float, time_s: float) -> float | None:
    """Distance over time [km/h]; ``None`` before :data:`MIN_AVERAGE_TIME_S`."""
    if time_s < MIN_AVERAGE_TIME_S:
        return None
    return distance_km / (time_s / 3600.0)


def average_consumption_l_per_100km(fuel_used_l: float, distance_km: float) -> float | None:
    """Fuel over distance [L/100 km]; ``None`` before :data:`MIN_AVERAGE_DISTANCE_KM`."""
    if distance_km < MIN_AVERAGE_DISTANCE_KM:
        return None
    return 100.0 * fuel_used_l / distance_km


def _since(now: float | None, start: float | None) -> float | None:
    if now is None or start is None:
        return None
    return max(0.0, now - start)


def trip_figures(start: TripStart, sim_time_s: float, payload: Mapping[str, object]) -> TripFigures:
    """The trip from ``start`` to this reading."""
    distance_km = _since(number(payload, "odometer_km"), start.odometer_km)
    fuel_l = _since(number(payload, "fuel_used_l"), start.fuel_used_l)
    time_s = max(0.0, sim_time_s - start.sim_time_s)
    return TripFigures(
        distance_km=distance_km,
        time_s=time_s,
        average_speed_kph=None if distance_km is None else average_speed_kph(distance_km, time_s),
        average_consumption_l_per_100km=(
            None
            if distance_km is None or fuel_l is None
            else average_consumption_l_per_100km(fuel_l, distance_km)
        ),
        fuel_used_l=fuel_l,
    )


def counters_went_back(start: TripStart, sim_time_s: float, payload: Mapping[str, object]) -> bool:
    """True when this reading is older than the trip's start: another run or another car."""
    odometer = number(payload, "odometer_km")
    fuel = number(payload, "fuel_used_l")
    return (
        sim_time_s < start.sim_time_s
        or (odometer is not None and start.odometer_km is not None and odometer < start.odometer_km)
        or (fuel is not None and start.fuel_used_l is not None and fuel < start.fuel_used_l)
    )


class TripComputer:
    """A resettable trip over a stream of readings (one car's)."""

    def __init__(self) -> None:
        self.start: TripStart | None = None
        self.figures: TripFigures | None = None

    def reset(self) -> None:
        """Start a new trip at the next reading."""
        self.start = None
        self.figures = None

    def update(self, sim_time_s: float, payload: Mapping[str, object]) -> TripFigures:
        """The trip up to this reading (a new trip when the counters went back)."""
        if self.start is None or counters_went_back(self.start, sim_time_s, payload):
            self.start = trip_start(sim_time_s, payload)
        self.figures = trip_figures(self.start, sim_time_s, payload)
        return self.figures
