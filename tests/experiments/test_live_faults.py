"""A fault in a live car: the timeline of codes and diagnoses, and who named the fault first."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from vehsim import events as ev
from vehsim.errors import ConfigError, ParameterError
from vehsim_experiments.live_faults import arrivals, faulty_car, watch

FAULT = "thermostat_stuck_open"


def timeline(rows):
    columns = ["sim_time_s", "pending", "confirmed", "diagnosis"]
    return pd.DataFrame(rows, columns=columns)


def test_arrivals_name_the_first_time_of_each():
    when = arrivals(
        timeline(
            [
                (100.0, "", "", "none"),
                (130.0, "", "", FAULT),  # after the onset at 120 s
                (200.0, "P0128", "", FAULT),
                (230.0, "", "P0128", FAULT),
            ]
        ),
        FAULT,
        120.0,
    )
    assert (when.code, when.model_s, when.pending_s, when.confirmed_s) == ("P0128", 130, 200, 230)
    assert when.lead_s == 100.0 and math.isnan(when.other_before_s)
    assert when.sentence() == (
        "the model named thermostat_stuck_open 10 s after its onset, 100 s before P0128 was "
        "confirmed"
    )
    table = when.table()
    assert table["after_onset_s"].tolist() == [0.0, 10.0, 80.0, 110.0]


def test_a_false_alarm_a_late_model_and_a_code_that_never_comes():
    rows = [(60.0, "", "", "vacuum_leak"), (90.0, "", "P0128", None), (200.0, "", "P0128", FAULT)]
    late = arrivals(timeline(rows), FAULT, 70.0)
    assert late.other_before_s == 60.0
    assert late.pending_s == late.confirmed_s == 90.0  # confirmed at once also counts as stored
    assert late.lead_s == -110.0 and "the on-board monitor was first" in late.sentence()
    no_code = arrivals(timeline([(200.0, "", "", FAULT)]), FAULT, 30.0)
    assert no_code.lead_s == math.inf and "not confirmed in this drive" in no_code.sentence()
    never = arrivals(timeline([(200.0, "", "", "none")]), FAULT, 30.0)
    assert math.isnan(never.lead_s) and "never named" in never.sentence()


class NamesTheFault:
    """A scorer that names ``fault`` for every 10th reading."""

    def __init__(self):
        self.fed = []

    def feed(self, value):
        self.fed.append(json.loads(value))

    def score(self):
        last = self.fed[-1]
        if len(self.fed) % 10:
            return []
        payload = {
            "fault": FAULT, "probability": 0.9, "model": "m", "model_version": "1",
            "source_run_id": last["run_id"], "window_end_s": last["sim_time_s"],
        }  # fmt: skip
        return [
            ev.make_event(
                ev.DIAGNOSTIC_PREDICTION, last["vehicle_id"], "s", 0, last["sim_time_s"], payload
            )
        ]


def test_watch_records_the_car_its_codes_and_the_panel_each_step():
    car = faulty_car("compact-sedan", FAULT, 1.0, 5.0, scorer=NamesTheFault(), ambient_temp_c=-7)
    frame = watch(car, 20.0, step_s=1.0)
    assert frame["sim_time_s"].tolist() == pytest.approx([float(k) for k in range(1, 21)])
    assert frame["vehicle_speed_kph"].max() > 0  # the profile drives it
    assert frame["diagnosis"].isna().sum() == 9 and frame["diagnosis"].iloc[-1] == FAULT
    assert frame["window_end_s"].iloc[-1] == pytest.approx(20.0)
    assert set(frame["pending"]) == {""} and not frame["mil_on"].any()
    assert arrivals(frame, FAULT, 5.0).model_s == pytest.approx(10.0)


def test_watch_and_the_car_refuse_what_they_cannot_drive():
    with pytest.raises(ConfigError, match="local Dashboard or LocalSource"):
        watch(object(), 10.0)
    with pytest.raises(ParameterError, match="unknown fault"):
        faulty_car("compact-sedan", "flat_battery", scorer=None)
