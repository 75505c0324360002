"""Analysis plots: every axis labelled with its unit, errors and baselines drawn, points named.

The figures are inspected through matplotlib's objects (labels, texts, artists), not pixels.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import vehsim
from vehsim.cycles import Cycle
from vehsim.plots import (
    plot_cold_start,
    plot_heatmap,
    plot_lanes,
    plot_predicted_vs_actual,
    plot_run,
    plot_validation,
    trace_envelope_mps,
)

UNIT = re.compile(r"\[[^\]]+\]")


def assert_units_on_every_axis(fig, categorical: tuple[str, ...] = ()):
    """Every labelled axis of a plotted panel names its unit (``categorical``: axes of names)."""
    for ax in fig.axes:
        if not ax.get_visible() or (not ax.has_data() and not ax.get_images()):
            continue
        assert ax.get_ylabel(), "a panel without a y label"
        for label in (ax.get_xlabel(), ax.get_ylabel()):
            if label and label not in categorical:
                assert UNIT.search(label), f"axis label without a unit: {label!r}"


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_trace_envelope_is_the_min_and_max_within_one_second():
    cycle = Cycle("t", np.arange(6.0), np.array([0.0, 1.0, 5.0, 2.0, 2.0, 0.0]), np.zeros(6))
    lo, hi = trace_envelope_mps(cycle, [2.0, 2.5, 0.0])
    assert lo.tolist() == [1.0, 2.0, 0.0]
    assert hi.tolist() == [5.0, 5.0, 1.0]


def test_run_plot_has_a_speed_error_panel_inside_the_tolerance_band():
    car = vehsim.load_vehicle("compact-sedan")
    cycle = vehsim.load_cycle("udds")
    run = vehsim.simulate(car, cycle, start="hot", dt_s=0.1)
    fig = plot_run(run, cycle)
    assert_units_on_every_axis(fig)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["speed [km/h]", "speed error [km/h]", "fuel rate [L/h]", "temperature [°C]"]
    band = fig.axes[1].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() <= -3.2 and band.max() >= 3.2  # at least ±2 mph everywhere
    assert "outside the trace tolerance" in fig._suptitle.get_text()


def test_validation_plot_names_the_worst_cars():
    results = pd.DataFrame(
        {
            "ftp_mpg_epa": [20.0, 30.0, 40.0],
            "ftp_mpg_pred": [21.0, 24.0, 40.5],
            "hwfe_mpg_epa": [30.0, 40.0, 50.0],
            "hwfe_mpg_pred": [29.0, 41.0, 60.0],
            "label": ["Alpha One", "Beta Two", "Gamma Three"],
        }
    )
    results["ftp_error_pct"] = 100 * (results.ftp_mpg_pred / results.ftp_mpg_epa - 1)
    results["hwfe_error_pct"] = 100 * (results.hwfe_mpg_pred / results.hwfe_mpg_epa - 1)
    fig = plot_validation(results, label="label", n_named=1)
    assert_units_on_every_axis(fig)
    assert texts(fig) == ["Beta Two (-20 %)", "Gamma Three (+20 %)"]


def test_heatmap_annotates_each_cell_and_its_distance_from_the_column_median():
    table = pd.DataFrame(
        [[5.0, 4.0], [10.0, 8.0], [7.5, 6.0]],
        index=pd.Index(["a", "b", "c"], name="vehicle"),
        columns=pd.Index(["udds", "hwfet"], name="cycle"),
    )
    fig = plot_heatmap(table, "fuel [L/100 km]")
    values, relative = fig.axes[0], fig.axes[1]
    assert [t.get_text() for t in values.texts] == ["5.0", "4.0", "10.0", "8.0", "7.5", "6.0"]
    assert [t.get_text() for t in relative.texts] == ["-33", "-33", "+33", "+33", "+0", "+0"]
    colourbars = [ax.get_ylabel() for ax in fig.axes[2:]]
    assert colourbars == ["fuel [L/100 km]", "against the cycle's fleet median [%]"]


def test_cold_start_plot_has_units_and_the_hot_start_baseline():
    frame = pd.DataFrame(
        {
            "vehicle": ["a", "a", "b", "b"],
            "ambient_temp_c": [-7.0, 20.0, -7.0, 20.0],
            "warmup_time_s": [900.0, 500.0, 950.0, 600.0],
            "cold_start_penalty_pct": [20.0, 10.0, 25.0, 12.0],
        }
    )
    fig = plot_cold_start(frame)
    assert_units_on_every_axis(fig)
    ax = fig.axes[0]
    assert any(list(line.get_ydata()) == [0.0, 0.0] for line in ax.lines)  # the baseline
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a", "b", "-7 °C ambient", "20 °C ambient"]


def test_predicted_vs_actual_shows_each_model_and_residuals_by_group():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "vehicle": np.repeat(["car-a", "car-b"], 10).tolist() * 2,
            "model": ["ridge"] * 20 + ["baseline"] * 20,
            "actual": np.tile(np.linspace(5, 10, 20), 2),
        }
    )
    frame["predicted"] = frame["actual"] + rng.normal(0, 0.2, len(frame))
    fig = plot_predicted_vs_actual(frame, unit="L/100 km", quantity="fuel")
    assert_units_on_every_axis(fig, categorical=("vehicle",))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0] == "1:1" and legend[1].startswith("ridge (RMSE ")
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["car-a", "car-b"]


def test_lanes_get_a_panel_and_a_unit_each():
    frame = pd.DataFrame(
        {"sim_time_s": [0.0, 1.0, 2.0], "vehicle_speed_kph": [0, 5, 9], "gear": [0, 1, 2]}
    )
    lanes = [
        {"key": "vehicle_speed_kph", "label": "Speed", "unit": "km/h"},
        {"key": "gear", "label": "Gear", "unit": "", "step": True},
        {"key": "throttle_pct", "label": "Throttle", "unit": "%"},  # not recorded: left out
    ]
    fig = plot_lanes(frame, lanes)
    assert_units_on_every_axis(fig)
    assert [ax.get_ylabel() for ax in fig.axes] == ["Speed [km/h]", "Gear [-]"]
    assert fig.axes[-1].get_xlabel() == "simulated time [s]"
    with pytest.raises(ValueError, match="none of the lanes"):
        plot_lanes(frame, lanes[2:])


def test_lanes_by_group_draw_a_named_line_per_group():
    frame = pd.DataFrame(
        {
            "sim_time_s": [0.0, 1.0, 0.0, 1.0],
            "vehicle_id": ["a-000", "a-000", "b-001", "b-001"],
            "speed_kph": [0.0, 5.0, 0.0, 7.0],
        }
    )
    lanes = [{"key": "speed_kph", "label": "Speed", "unit": "km/h"}]
    fig = plot_lanes(frame, lanes, group="vehicle_id", labels={"a-000": "a on UDDS"})
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a on UDDS", "b-001"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
