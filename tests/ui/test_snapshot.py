"""The dashboard's still picture (SVG) and its stopped state: what an exported notebook shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from vehsim.errors import VehsimError
from vehsim.ui.dashboard import SNAPSHOT_MIMETYPE, Dashboard
from vehsim.ui.snapshot import (
    DialSpec,
    Snapshot,
    arc_path,
    dashboard_svg,
    format_value,
    scale_angle_deg,
)

from .fakes import fake_source

SVG = "{http://www.w3.org/2000/svg}"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def texts(svg: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(svg).iter(f"{SVG}text")]


def test_the_scale_runs_clockwise_from_lower_left_to_lower_right():
    assert scale_angle_deg(0, 0, 100) == 225.0
    assert scale_angle_deg(100, 0, 100) == -45.0
    assert scale_angle_deg(50, 0, 100) == 90.0  # straight up
    assert scale_angle_deg(-20, 0, 100) == 225.0 and scale_angle_deg(500, 0, 100) == -45.0
    assert scale_angle_deg(5, 5, 5) == 225.0  # an empty scale does not divide by zero


def test_arcs_longer_than_half_a_turn_take_the_large_arc_flag():
    assert " 0 1 1 " in arc_path(0, 0, 10, 225, -45)  # 270°
    assert " 0 0 1 " in arc_path(0, 0, 10, 225, 135)  # 90°


def test_values_print_as_the_live_views_print_them():
    assert format_value(3299.6, 0) == "3,300"
    assert format_value(6.25, 1) == "6.2"
    for unknown in (None, float("nan"), True, "x"):
        assert format_value(unknown, 1) == "–"


def test_the_picture_is_valid_svg_with_every_dial_lane_and_the_badge():
    dials = [
        DialSpec("engine_rpm", "Engine speed", "rpm", 0, 7000, 1000, tick_label_scale=1000),
        DialSpec("vehicle_speed_kph", "Speed", "km/h", 0, 240, 40, zones=[[0, 20, "cold"]]),
    ]
    lanes = [
        {"key": "vehicle_speed_kph", "label": "Speed", "unit": "km/h", "color": "#4cc2ff",
         "min": 0, "max": 200, "decimals": 0},
    ]  # fmt: skip
    history = [(float(t), {"vehicle_speed_kph": 2.0 * t}) for t in range(30)]
    svg = dashboard_svg(
        Snapshot(
            title="car <one> & co",
            subtitle="simulated",
            badge="STOPPED",
            sim_time_s=29.0,
            dials=dials,
            values={"engine_rpm": 2150.0, "vehicle_speed_kph": 58.0},
            gear_text="3",
            readouts=[("Consumption", "6.2", "L/100 km")],
            lanes=lanes,
            history=history,
        )
    )
    root = ET.fromstring(svg)  # well-formed, text escaped
    shown = texts(svg)
    assert "car <one> & co" in shown and "STOPPED" in shown and "0:29.0" in shown
    assert {"2,150", "58", "3", "Consumption: 6.2 L/100 km"} <= set(shown)
    assert len(root.findall(f".//{SVG}g[@class='vehsim-snapshot-dial']")) == 2
    needles = root.findall(f".//{SVG}line[@class='vehsim-snapshot-needle']")
    assert len(needles) == 2
    lane = root.find(f".//{SVG}g[@class='vehsim-snapshot-lane']")
    assert len(lane.find(f"{SVG}polyline").get("points").split()) == len(history)
    assert "simulated time [s]" in shown


def test_an_unknown_reading_draws_no_needle():
    spec = DialSpec("coolant_temp_c", "Coolant", "°C", 10, 130, 30)
    svg = dashboard_svg(Snapshot("t", "", "LOCAL", 0.0, [spec], {}))
    assert not ET.fromstring(svg).findall(f".//{SVG}line[@class='vehsim-snapshot-needle']")
    assert "–" in texts(svg)


@pytest.fixture
def dash() -> Dashboard:
    return Dashboard(fake_source("compact-suv"), autostart=False, unwatched_after_s=None)


def test_the_dashboard_displays_its_widget_and_its_picture(dash):
    dash.command({"type": "start_engine"})
    dash.command({"type": "throttle", "value": 40})
    dash.run_for(5.0)
    bundle = dash._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == dash.widget.model_id
    shown = texts(bundle[SNAPSHOT_MIMETYPE])
    assert "LOCAL" in shown
    assert f"{dash.reading.values['engine_rpm']:,.0f}" in shown


class _Handle:
    def __init__(self):
        self.updates = []

    def update(self, obj, raw=False):
        self.updates.append((obj, raw))


def test_stop_leaves_a_visibly_stopped_dashboard_and_redraws_its_picture(dash):
    handle = _Handle()
    dash._displays.append(handle)  # as _ipython_display_ records each output
    dash.command({"type": "start_engine"})
    dash.run_for(2.0)
    dash.stop()
    assert dash.stopped and not dash.status.running
    controls = dash.controls
    for control in (controls.start, controls.stop, controls.throttle, controls.brake,
                    controls.gear_mode, controls.gear_up, controls.gear_down, controls.profile,
                    dash.picker, dash.trip_reset):  # fmt: skip
        assert control.disabled, control
    assert "vehsim-stopped" in dash.widget._dom_classes
    ((bundle, raw),) = handle.updates
    assert raw and "STOPPED" in texts(bundle[SNAPSHOT_MIMETYPE])
    with pytest.raises(VehsimError, match="stopped"):
        dash.command({"type": "throttle", "value": 10})
    with pytest.raises(VehsimError, match="stopped"):
        dash.run_for(1.0)
    dash.stop()  # twice: nothing more happens
    assert len(handle.updates) == 1


def test_displaying_keeps_a_handle_to_redraw(dash, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()  # display handles need a shell (a kernel has one)
    try:
        dash._ipython_display_()
    finally:
        InteractiveShell.clear_instance()
    assert len(dash._displays) == 1
