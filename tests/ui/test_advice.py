"""The diagnosis and coaching panel: vehsim score's events become display rows."""

from __future__ import annotations

import pytest

from vehsim import events as ev
from vehsim.ui.advice import (
    NO_ADVICE,
    AdviceRow,
    advice_rows,
    apply_advice_event,
    drive_time,
    fault_title,
    panels_from_events,
)

MISFIRE = "misfire_cylinder_1"


def prediction(
    fault=MISFIRE, probability=0.93, end_s=130.0, run="run-1", car="car-0", check=True, **extra
):
    payload = {
        "fault": fault, "probability": probability, "model": "vehsim-fault", "model_version": "3",
        "source_run_id": run, "window_start_s": end_s - 60.0, "window_end_s": end_s,
        "window_end": None, "telemetry_emitted_at": "2026-11-30T08:02:10.000000Z", **extra,
    }  # fmt: skip
    event = ev.make_event(ev.DIAGNOSTIC_PREDICTION, car, "score-run", 0, end_s, payload)
    assert not check or ev.schema_errors(event) == []
    return event


def coaching(
    basis="rule", habit="harsh_acceleration", excess=11.1, end_s=120.0, check=True, **extra
):
    payload = {
        "advice": f"harsh acceleration: about {round(excess)} % more fuel on this trip",
        "habit": habit, "excess_fuel_pct": excess, "basis": basis, "source_run_id": "run-1",
        "window_end_s": end_s, "window_end": None, "fuel_l_per_100km": 8.4,
        "eco_fuel_l_per_100km": None, "trip_distance_km": 1.234, "harsh_accel_count": 4,
        "harsh_brake_count": 1, "fuel_model": None, "fuel_model_version": None, "style": None,
        "style_probability": None, "style_model": None, "style_model_version": None, **extra,
    }  # fmt: skip
    event = ev.make_event(ev.DRIVER_COACHING, "car-0", "score-run", 1, end_s, payload)
    assert not check or ev.schema_errors(event) == []
    return event


def test_an_empty_panel_says_what_it_waits_for():
    (row,) = advice_rows(NO_ADVICE)
    assert row == AdviceRow(
        "diagnosis",
        "Diagnosis",
        "No diagnosis yet",
        "vehsim score publishes one per scored minute of telemetry",
        "info",
    )


def test_a_diagnosed_fault_names_its_code_model_and_window():
    (row,) = advice_rows(apply_advice_event(NO_ADVICE, prediction()))
    assert row == AdviceRow(
        "diagnosis",
        "Diagnosis",
        "Misfire cylinder 1 (P0301)",
        "93 % · vehsim-fault v3 · window to 2:10",
        "alert",
    )
    unsure = advice_rows(apply_advice_event(NO_ADVICE, prediction(probability=0.55)))[0]
    assert (unsure.text, unsure.level) == ("Possible: Misfire cylinder 1 (P0301)", "warn")
    healthy = advice_rows(apply_advice_event(NO_ADVICE, prediction("none", None)))[0]
    assert (healthy.text, healthy.detail, healthy.level) == (
        "No fault seen",
        "vehsim-fault v3 · window to 2:10",
        "ok",
    )


def test_coaching_says_what_its_estimate_rests_on():
    rows = advice_rows(apply_advice_event(NO_ADVICE, coaching()))
    assert rows == [
        AdviceRow(
            "coaching",
            "Coaching",
            "harsh acceleration: about 11 % more fuel on this trip",
            "rule of thumb: 4 harsh accelerations, 1 harsh brakings in 1.2 km",
            "warn",
        )
    ]
    modelled = coaching(
        "model", excess=25.0, eco_fuel_l_per_100km=6.72, fuel_model="vehsim-fuel",
        fuel_model_version="2", style="aggressive", style_probability=0.91,
        style_model="vehsim-driving-style", style_model_version="1",
    )  # fmt: skip
    coach, style = advice_rows(apply_advice_event(NO_ADVICE, modelled))
    assert coach.detail == ("vehsim-fuel v2: 8.4 L/100 km as driven, 6.7 without harsh events")
    assert style == AdviceRow(
        "style",
        "Driving style",
        "aggressive",
        "91 % · vehsim-driving-style v1 · last minute",
        "info",
    )
    smooth = advice_rows(apply_advice_event(NO_ADVICE, coaching(habit="smooth", excess=0.0)))[0]
    assert smooth.level == "ok"
    mild = advice_rows(apply_advice_event(NO_ADVICE, coaching(excess=2.0)))[0]
    assert mild.level == "info"


def test_diagnosis_first_then_coaching():
    panel = NO_ADVICE
    for event in (coaching(), prediction()):
        panel = apply_advice_event(panel, event)
    assert [r.kind for r in advice_rows(panel)] == ["diagnosis", "coaching"]


def test_an_older_window_of_the_same_run_does_not_replace_a_newer_one():
    panel = apply_advice_event(NO_ADVICE, prediction(end_s=130.0))
    stale = apply_advice_event(panel, prediction("none", 0.9, end_s=120.0))
    assert stale is panel
    assert apply_advice_event(panel, prediction("none", 0.9, end_s=140.0)).diagnosis.fault == "none"
    # a new drive of the car starts its clock again
    new_run = apply_advice_event(panel, prediction("none", 0.9, end_s=60.0, run="run-2"))
    assert new_run.diagnosis.source_run_id == "run-2"


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"event_type": "simulation.raw", "payload": {"fault": MISFIRE}},
        {"event_type": "diagnostic.prediction"},
        {"event_type": "diagnostic.prediction", "payload": "oops"},
        {"event_type": "diagnostic.prediction", "payload": {"fault": MISFIRE}},
        {"event_type": "driver.coaching", "payload": {"advice": "x", "source_run_id": "r"}},
        prediction(fault="", check=False),
        prediction(window_end_s="late", check=False),
        prediction(window_end_s=float("nan"), check=False),
        coaching(habit=None, check=False),
    ],
)  # fmt: skip
def test_an_event_without_what_a_row_needs_changes_nothing(event):
    assert apply_advice_event(NO_ADVICE, event) is NO_ADVICE


def test_odd_values_are_shown_without_them():
    panel = apply_advice_event(
        NO_ADVICE, prediction(probability="high", model_version=None, check=False)
    )
    (row,) = advice_rows(panel)
    assert row.detail == "vehsim-fault v? · window to 2:10"


def test_panels_of_many_cars_from_one_stream():
    stream = [
        prediction(car="car-0"),
        prediction("none", 0.99, car="car-1"),
        {"event_type": "simulation.raw", "vehicle_id": "car-2", "payload": {}},
        coaching(),
        {"not": "an event"},
        "not even a mapping",
    ]
    panels = panels_from_events(stream)
    assert set(panels) == {"car-0", "car-1"}
    assert panels["car-0"].diagnosis.fault == MISFIRE and panels["car-0"].coaching is not None
    assert panels["car-1"].diagnosis.fault == "none" and panels["car-1"].coaching is None


def test_titles_and_times():
    assert fault_title("vacuum_leak") == "Vacuum leak (P0171)"
    assert fault_title("dragging_brake") == "Dragging brake"  # no monitor sets a code
    assert fault_title("flux_capacitor_drift") == "Flux capacitor drift"  # unknown: its name
    assert [drive_time(s) for s in (0, 59.9, 130, 3725, -5)] == [
        "0:00", "0:59", "2:10", "1:02:05", "0:00",
    ]  # fmt: skip
