"""The dashboard's behaviour in the kernel, driven through a stand-in simulator (no browser)."""

from __future__ import annotations

import asyncio

import pytest

from vehsim.errors import CommandError, VehsimError
from vehsim.ui.dashboard import Dashboard
from vehsim.ui.readings import DISPLAY_DECIMALS, quantize
from vehsim.ui.sources import ClusterHints

from .fakes import FakeFleet, fake_source


@pytest.fixture
def dash() -> Dashboard:
    return Dashboard(fake_source("compact-suv"), autostart=False, unwatched_after_s=None)


def shown(dash: Dashboard, key: str):
    """What every view bound to the dashboard's reading shows for ``key``."""
    return dash.reading.values.get(key)


def test_throttle_raises_rpm_and_speed_on_the_dials(dash):
    dash.run_for(1.0)
    assert shown(dash, "engine_rpm") == 0 and shown(dash, "vehicle_speed_kph") == 0
    dash.command({"type": "start_engine"})
    dash.command({"type": "throttle", "value": 60})
    dash.run_for(3.0)
    rpm_at_3_s, speed_at_3_s = shown(dash, "engine_rpm"), shown(dash, "vehicle_speed_kph")
    assert rpm_at_3_s > 2000
    assert speed_at_3_s > 5
    dash.command({"type": "throttle", "value": 0})
    dash.command({"type": "brake", "value": 80})
    dash.run_for(3.0)
    assert shown(dash, "vehicle_speed_kph") < speed_at_3_s
    assert shown(dash, "engine_rpm") < rpm_at_3_s


def test_one_reading_feeds_every_view_of_a_quantity(dash):
    """Dials, gear indicator, consumption readout and chart labels are bound to one Reading,
    and print each quantity with the same decimals."""
    dash.command({"type": "start_engine"})
    dash.command({"type": "throttle", "value": 33})
    dash.run_for(2.0)
    for view in (*dash.cluster.dials, dash.cluster.gear, dash.consumption, dash.chart):
        assert view.reading is dash.reading
    lanes = {lane["key"]: lane["decimals"] for lane in dash.chart.series}
    for dial in dash.cluster.dials:
        assert dial.decimals == DISPLAY_DECIMALS[dial.key]
        assert lanes.get(dial.key, dial.decimals) == dial.decimals
    payload = dash.latest.payload
    for key in ("engine_rpm", "vehicle_speed_kph", "coolant_temp_c", "throttle_pct"):
        assert shown(dash, key) == quantize(payload[key], dash.cluster.resolution(key))
        assert abs(shown(dash, key) - payload[key]) <= dash.cluster.resolution(key) / 2 + 1e-9
    assert shown(dash, "gear") == payload["gear"]


def test_an_invisible_change_sends_nothing(dash):
    dash.run_for(0.5)
    sent = []
    dash.reading.observe(lambda change: sent.append(change), names="values")
    dash.run_for(0.5)  # engine off, car at rest: nothing visible moves
    assert sent == []


def test_commands_from_code_move_the_controls_without_sending_twice(dash):
    sent = []
    original = dash.source.send
    dash.source.send = lambda c: (sent.append(dict(c)), original(c))
    dash.command({"type": "throttle", "value": 45})
    dash.command({"type": "gear_mode", "value": "manual"})
    assert dash.controls.throttle.value == 45
    assert dash.controls.gear_mode.value == "manual"
    assert not dash.controls.gear_up.disabled
    assert sent == [{"type": "throttle", "value": 45}, {"type": "gear_mode", "value": "manual"}]


def test_user_controls_send_commands(dash):
    sent = []
    dash.source.send = sent.append
    dash.controls.start.click()
    dash.controls.throttle.value = 30
    dash.controls.brake.value = 10
    dash.controls.gear_mode.value = "manual"
    dash.controls.gear_up.click()
    dash.controls.profile.value = "eco"
    dash.controls.stop.click()
    assert sent == [
        {"type": "start_engine"},
        {"type": "throttle", "value": 30},
        {"type": "brake", "value": 10},
        {"type": "gear_mode", "value": "manual"},
        {"type": "gear", "value": 1},
        {"type": "profile", "value": "eco"},
        {"type": "stop_engine"},
    ]


def test_a_refused_command_is_reported_not_raised(dash):
    def refuse(_command):
        raise CommandError("throttle value must be 0..100 %, got 120")

    dash.source.send = refuse
    dash.controls.throttle.value = 100
    assert "Command refused" in dash.status.message and "0..100" in dash.status.message
    with pytest.raises(CommandError):
        dash.command({"type": "throttle", "value": 120})


def test_start_and_stop_buttons_follow_the_engine_state(dash):
    dash.run_for(0.1)
    assert not dash.controls.start.disabled and dash.controls.stop.disabled
    dash.command({"type": "start_engine"})
    dash.run_for(0.1)
    assert dash.controls.start.disabled and not dash.controls.stop.disabled
    assert "engine_on" in dash.cluster.lights.lit
    assert shown(dash, "engine_on") is True


def test_chart_keeps_only_its_window(dash):
    dash.chart.window_s = 5.0
    dash.command({"type": "start_engine"})
    dash.run_for(12.0)
    times = [t for t, _ in dash.chart.history]
    assert times[-1] == pytest.approx(12.0)
    assert times[0] >= 12.0 - 5.0 - 1e-9
    assert len(times) == pytest.approx(51, abs=1)  # 10 samples per simulated second


def test_update_loop_runs_on_the_event_loop_in_wall_clock_time():
    async def scenario():
        dash = Dashboard(fake_source(), unwatched_after_s=None, rate_hz=30)
        dash.command({"type": "start_engine"})
        await asyncio.sleep(1.0)
        dash.stop()
        return dash

    dash = asyncio.run(scenario())
    assert 0.5 <= dash.latest.sim_time_s <= 1.3  # paced by the wall clock, not as fast as possible
    assert dash.updates >= 10
    assert dash.reading.values["engine_rpm"] > 0


def test_unwatched_dashboard_idles_until_a_view_sends_a_heartbeat():
    async def scenario():
        dash = Dashboard(fake_source(), unwatched_after_s=0.5)
        await asyncio.sleep(0.4)
        idle_updates = dash.updates
        dash._on_status_message(None, {"type": "heartbeat"}, [])
        await asyncio.sleep(0.3)
        dash.stop()
        return idle_updates, dash.updates

    idle_updates, watched_updates = asyncio.run(scenario())
    assert idle_updates == 0
    assert watched_updates >= 3


def test_run_for_needs_local_mode():
    dash = Dashboard(FakeFleet(), autostart=False)
    with pytest.raises(VehsimError, match="local mode"):
        dash.run_for(1.0)


def test_gear_indicator_shows_the_gearbox_mode_that_was_set(dash):
    dash.controls.gear_mode.value = "manual"
    assert dash.cluster.gear.mode == "manual"
    dash.command({"type": "gear_mode", "value": "auto"})
    assert dash.cluster.gear.mode == "auto"


def test_history_frame_has_one_row_per_chart_sample(dash):
    dash.command({"type": "start_engine"})
    dash.run_for(2.0)
    frame = dash.history_frame()
    assert list(frame.columns) == [
        "sim_time_s",
        "vehicle_speed_kph",
        "engine_rpm",
        "gear",
        "throttle_pct",
        "coolant_temp_c",
    ]
    assert len(frame) == 20 and frame["sim_time_s"].is_monotonic_increasing


def test_paced_queue_spreads_bursts_and_never_falls_behind():
    from vehsim.ui.sources import PacedQueue, Sample

    queue = PacedQueue(max_backlog=3)
    assert queue.pop_due() == []
    for t in (0.0, 0.033, 0.066):  # one burst of three
        queue.push(Sample(t, {}))
    shown = [[s.sim_time_s for s in queue.pop_due()] for _ in range(4)]
    assert shown == [[0.0], [0.033], [0.066], []]
    for i in range(10):  # a backlog: the older readings go out together, the newest wait
        queue.push(Sample(float(i), {}))
    assert [s.sim_time_s for s in queue.pop_due()] == [float(i) for i in range(8)]
    assert len(queue) == 2


def test_vehicle_picker_appears_with_a_fleet_and_switches_the_followed_car():
    source = FakeFleet(["car-a"])
    dash = Dashboard(source, autostart=False)
    dash.tick(0.0)
    assert dash.picker.layout.display == "none"  # nothing to choose from yet
    source.vehicle_choices.append("car-b")
    dash.tick(0.1)
    assert dash.picker.layout.display == "flex"
    assert dash.picker.value == "car-a" and source.followed == []
    dash.picker.value = "car-b"
    assert source.followed == ["car-b"]
    assert dash.status.mode_detail == "following car-b"


def test_a_cvt_shows_drive_and_offers_no_manual_gears():
    cvt = Dashboard(fake_source("compact-sedan"), autostart=False)  # the shipped CVT
    assert cvt.cluster.gear.gearbox == "cvt"
    assert cvt.controls.gear_mode.disabled
    redline = cvt.hints.redline_rpm
    assert cvt.cluster.rpm.max == 1000.0 * (int((redline + 500) // 1000) + 1)
    stepped = Dashboard(
        FakeFleet(hints=ClusterHints(gearbox="automatic", max_gear=8)), autostart=False
    )
    assert stepped.cluster.gear.gearbox == "automatic" and not stepped.controls.gear_mode.disabled
    assert stepped.chart.series[2]["key"] == "gear" and stepped.chart.series[2]["max"] == 8
