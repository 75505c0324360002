"""Driver feel: pedal maps per profile, pedal lag, lift-off at the red line (issue 16).

Unit checks of the pedal functions (hand-checked values), validation of the profiles file, and
behaviour: a sport driver reaches the same target speed sooner than an eco driver and uses more
fuel doing it, for the profile driver and for a person's pedal commands alike; the pedal never
moves faster than its profile allows, so the throttle's rate of change is bounded; the driver lifts
off at the red line.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import yaml

import vehsim
from vehsim.driver_profiles import (
    PROFILE_NAMES,
    load_driver_profiles,
    profile_index,
    profiles_from_dict,
)
from vehsim.errors import ParameterError
from vehsim.layout import DRIVER_PROFILE, S
from vehsim.physics.driver import pedal_for_demand_frac, pedal_map_frac, rate_limited_frac

DT_S = 0.01


def test_pedal_map_hand_checked_values_and_inverse():
    # eco map of the shipped file: 0, 12, 30, 55, 100 % at pedal 0, 25, 50, 75, 100 %.
    assert pedal_map_frac(0.5, 0.12, 0.30, 0.55) == pytest.approx(0.30)
    assert pedal_map_frac(0.375, 0.12, 0.30, 0.55) == pytest.approx(0.21)  # half-way 12..30
    assert pedal_map_frac(1.0, 0.12, 0.30, 0.55) == 1.0
    assert pedal_map_frac(0.0, 0.12, 0.30, 0.55) == 0.0
    # normal is the identity
    for p in np.linspace(0.0, 1.0, 11):
        assert pedal_map_frac(p, 0.25, 0.5, 0.75) == pytest.approx(p, abs=1e-15)
    for p in np.linspace(0.0, 1.0, 21):
        d = pedal_map_frac(p, 0.40, 0.68, 0.88)
        assert pedal_for_demand_frac(d, 0.40, 0.68, 0.88) == pytest.approx(p, abs=1e-12)


def test_rate_limit_moves_no_faster_than_its_rates():
    assert rate_limited_frac(0.0, 1.0, 1.5, 3.0, 0.1) == pytest.approx(0.15)
    assert rate_limited_frac(1.0, 0.0, 1.5, 3.0, 0.1) == pytest.approx(0.7)
    assert rate_limited_frac(0.5, 0.52, 1.5, 3.0, 0.1) == pytest.approx(0.52)


def test_shipped_profiles_are_ordered_eco_to_sport():
    profiles = load_driver_profiles()
    assert tuple(profiles) == PROFILE_NAMES
    eco, normal, sport = (profiles[n] for n in PROFILE_NAMES)
    assert eco.pedal_apply_frac_per_s < normal.pedal_apply_frac_per_s < sport.pedal_apply_frac_per_s
    assert eco.pedal_map_frac[2] < normal.pedal_map_frac[2] < sport.pedal_map_frac[2]
    assert eco.pedal_max_frac < normal.pedal_max_frac <= sport.pedal_max_frac


@pytest.fixture()
def profiles_doc():
    from importlib import resources

    return yaml.safe_load(
        resources.files("vehsim").joinpath("data", "driver_profiles.yaml").read_text()
    )


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["profiles"]["eco"].update(pedal_map_pct=[0, 30, 20, 60, 100]), "increase"),
        (lambda d: d["profiles"]["eco"].update(pedal_map_pct=[0, 10, 20, 60, 90]), "end at 100"),
        (lambda d: d["profiles"]["eco"].update(pedal_map_pct=[0, 10, 60, 100]), "list of 5"),
        (
            lambda d: d["profiles"]["sport"].update(pedal_apply_pct_per_s=5000),
            "profiles.sport.pedal_apply_pct_per_s = 5000 %/s is out of range",
        ),
        (lambda d: d["profiles"].pop("normal"), "profiles must be exactly"),
        (lambda d: d["profiles"]["eco"].update(pedal_lag_s=1.0), "unknown field"),
        (lambda d: d["liftoff"].update(resume_frac=0.99), "resume_frac must be below"),
        (lambda d: d.pop("source"), "'source' is required"),
    ],
)
def test_invalid_profiles_are_refused_naming_the_field(profiles_doc, edit, message):
    doc = copy.deepcopy(profiles_doc)
    edit(doc)
    with pytest.raises(ParameterError, match=message):
        profiles_from_dict(doc, "test profiles")


def test_old_profile_name_aggressive_still_works_with_a_warning():
    with pytest.warns(DeprecationWarning, match="'sport'"):
        assert profile_index("aggressive") == PROFILE_NAMES.index("sport")
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-sedan")])
    with pytest.warns(DeprecationWarning):
        sim.set_driver(0, "profile:aggressive")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim.apply(0, {"type": "profile", "value": "aggressive"})  # commands: accepted quietly
    with pytest.raises(ParameterError, match="eco"):
        sim.set_driver(0, "profile:relaxed")


def _profile_run(profile: str, target_mps: float, duration_s: float) -> np.ndarray:
    """The profile driver from standstill towards one cruise speed, the same plan for every
    profile (warm engine): records every 0.1 s."""
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-suv")], dt_s=DT_S, start="hot")
    sim.set_driver(0, f"profile:{profile}")
    sim.state[0, S["profile_phase"]] = 1.0  # accelerate to and hold the cruise speed
    sim.state[0, S["profile_cruise_mps"]] = target_mps
    sim.state[0, S["profile_timer_s"]] = 10.0 * duration_s  # no new plan during the run
    return sim.run_steps(int(round(duration_s / DT_S)), 10)[:, 0, :]


def _commands_run(profile: str, pedal_pct: float, duration_s: float) -> np.ndarray:
    """A person's pedal, the same commands for every profile: the profile only sets the feel."""
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-suv")], dt_s=DT_S, start="hot")
    sim.set_driver(0, "commands")
    sim.apply(0, {"type": "profile", "value": profile})
    sim.apply(0, {"type": "throttle", "value": pedal_pct})
    return sim.run_steps(int(round(duration_s / DT_S)), 10)[:, 0, :]


def _time_to_reach_s(records: np.ndarray, speed_mps: float) -> float:
    reached = np.nonzero(records[:, S["speed_mps"]] >= speed_mps)[0]
    assert len(reached), f"never reached {speed_mps} m/s"
    return float(records[reached[0], S["time_s"]])


def test_sport_profile_driver_reaches_the_target_sooner_and_uses_more_fuel_than_eco():
    target_mps = 25.0  # 90 km/h
    runs = {p: _profile_run(p, target_mps, 60.0) for p in PROFILE_NAMES}
    reach = {p: _time_to_reach_s(r, target_mps - 0.5) for p, r in runs.items()}
    fuel = {p: r[-1, S["fuel_used_g"]] for p, r in runs.items()}
    assert reach["sport"] < reach["normal"] < reach["eco"], reach
    assert fuel["sport"] > fuel["eco"], fuel
    # the eco driver never presses deeper than its profile allows
    eco_max = load_driver_profiles()["eco"].pedal_max_frac
    assert runs["eco"][:, S["pedal_frac"]].max() <= eco_max + 1e-12


def test_same_pedal_commands_sport_feel_reaches_speed_sooner_and_uses_more_fuel():
    runs = {p: _commands_run(p, 50.0, 60.0) for p in ("eco", "sport")}
    speed_mps = 45.0 / 3.6
    assert _time_to_reach_s(runs["sport"], speed_mps) < _time_to_reach_s(runs["eco"], speed_mps)
    assert runs["sport"][-1, S["fuel_used_g"]] > runs["eco"][-1, S["fuel_used_g"]]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_pedal_lag_bounds_the_throttle_rate_of_change(profile):
    """Step commands 0 -> 100 -> 0 %: the pedal moves at most at the profile's rates, and the
    throttle (the torque demand the map gives) at most at those rates times the map's
    steepest slope."""
    feel = load_driver_profiles()[profile]
    sim = vehsim.Simulator([vehsim.load_vehicle("sports-coupe")], dt_s=DT_S, start="hot")
    sim.set_driver(0, "commands")
    sim.apply(0, {"type": "profile", "value": profile})
    chunks = []
    for pedal_pct, hold_s in ((100, 4.0), (0, 2.0), (60, 3.0), (0, 1.0)):
        sim.apply(0, {"type": "throttle", "value": pedal_pct})
        chunks.append(sim.run_steps(int(round(hold_s / DT_S)), 1)[:, 0, :])
    rec = np.concatenate(chunks)
    pedal_rate = np.diff(rec[:, S["pedal_frac"]]) / DT_S
    throttle_rate = np.diff(rec[:, S["throttle_frac"]]) / DT_S
    eps = 1e-9
    assert pedal_rate.max() <= feel.pedal_apply_frac_per_s + eps
    assert pedal_rate.min() >= -feel.pedal_release_frac_per_s - eps
    points = np.array(feel.pedal_map_frac)
    steepest = float(np.max(np.diff(points) / 0.25))
    assert throttle_rate.max() <= feel.pedal_apply_frac_per_s * steepest + eps
    assert throttle_rate.min() >= -feel.pedal_release_frac_per_s * steepest - eps
    # the pedal does arrive: full pedal within the time the apply rate needs
    assert rec[:, S["pedal_frac"]].max() == pytest.approx(1.0)


def test_driver_lifts_off_at_the_red_line_and_presses_again_below_it():
    vehicle = vehsim.load_vehicle("roadster-manual")
    feel = load_driver_profiles()["normal"]
    sim = vehsim.Simulator([vehicle], dt_s=DT_S, start="hot")
    sim.set_driver(0, "commands")
    sim.apply(0, {"type": "gear_mode", "value": "manual"})
    sim.apply(0, {"type": "gear", "value": 2})
    sim.apply(0, {"type": "throttle", "value": 100})
    rec = sim.run_steps(int(round(15.0 / DT_S)), 1)[:, 0, :]
    rpm = rec[:, S["engine_speed_rpm"]]
    lifted = rec[:, S["redline_liftoff"]] > 0.5
    redline = feel.liftoff_redline_frac * vehicle["max_speed_rpm"]
    resume = feel.liftoff_resume_frac * vehicle["max_speed_rpm"]
    assert lifted.any(), "the engine never reached the red line in 2nd at full pedal"
    first = int(np.argmax(lifted))
    assert rpm[first - 1] >= redline  # lifted on the step after the red line showed
    assert rec[lifted, S["pedal_frac"]].min() == 0.0  # foot off while lifted
    # pressed again: lifted and pressing alternate, and lift-off ends only below the resume speed
    ends = np.nonzero(np.diff(lifted.astype(int)) == -1)[0]
    assert len(ends) >= 1
    assert np.all(rpm[ends] < resume)
    assert rpm.max() <= vehicle["max_speed_rpm"]


def test_cycle_follower_has_no_pedal_feel():
    """The EPA trace follower keeps its own pedal (40 CFR 86.115 tolerance): pedal = demand."""
    sim = vehsim.Simulator([vehsim.load_vehicle("compact-suv")], dt_s=DT_S, start="cold")
    sim.set_driver(0, "cycle:udds")
    sim.apply(0, {"type": "profile", "value": "eco"})
    rec = sim.run_steps(int(200 / DT_S), 10)[:, 0, :]
    assert np.array_equal(rec[:, S["pedal_frac"]], rec[:, S["throttle_frac"]])
    assert sim.inputs[0, vehsim.layout.I["driver_mode"]] != DRIVER_PROFILE
