"""Analysis plots (matplotlib) a reviewer can read: units on every axis, errors in their own
panel, baselines drawn, points named.

- :func:`plot_run`: a run over a cycle, with its speed error against EPA's trace tolerance;
- :func:`plot_validation`: predicted against EPA's figures, the worst cars named;
- :func:`plot_heatmap`: a table of one result (fleet × cycle), annotated, and each cell against
  its column's median;
- :func:`plot_cold_start`: cold-start fuel penalty against warm-up time;
- :func:`plot_predicted_vs_actual`: held-out predictions of models, with residuals by group;
- :func:`plot_lanes`: recorded quantities over time, one panel (and unit) per quantity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vehsim.constants import GASOLINE_DENSITY_KGPL
from vehsim.cycles import Cycle
from vehsim.physics.driver import TRACE_TOLERANCE_MPS
from vehsim.simulator import Result
from vehsim.units import mps_to_kph

#: The EPA driver trace allows the speed of the trace anywhere within ±1 s (40 CFR 86.115-78).
TRACE_TIME_TOLERANCE_S = 1.0


def _pyplot():
    # matplotlib (~0.3 s) loads with the first plot, and picks a backend that draws off-screen
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def trace_envelope_mps(cycle: Cycle, time_s) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest trace speed within ±1 s of each time [m/s]: the speeds EPA's driver
    tolerance measures from (the trace is linear between whole seconds, so its extremes in a
    window are at the window's ends or at the whole seconds inside it)."""
    t = np.asarray(time_s, dtype=float)
    dt = TRACE_TIME_TOLERANCE_S
    candidates = np.stack(
        [
            np.interp(x, cycle.time_s, cycle.speed_mps)
            for x in (t - dt, t + dt, np.floor(t), np.floor(t) + 1.0)
        ]
    )
    return candidates.min(axis=0), candidates.max(axis=0)


def plot_run(result: Result, cycle: Cycle, path: str | Path | None = None):
    """Speed against the cycle's target, the speed error inside EPA's tolerance band, fuel rate
    and coolant/oil temperature over time."""
    plt = _pyplot()
    t = result.telemetry
    time_s = t["time_s"].to_numpy()
    fig, axes = plt.subplots(
        4,
        1,
        figsize=(11, 9.5),
        sharex=True,
        constrained_layout=True,
        gridspec_kw={"height_ratios": [2.2, 1.2, 1.2, 1.2]},
    )
    axes[0].plot(
        cycle.time_s, mps_to_kph(cycle.speed_mps), color="0.6", lw=2.5, label=f"{cycle.name} target"
    )
    axes[0].plot(t["time_s"], mps_to_kph(t["speed_mps"]), color="tab:blue", lw=1, label="vehicle")
    axes[0].set_ylabel("speed [km/h]")
    axes[0].legend(loc="upper right")
    target_mps = np.interp(time_s, cycle.time_s, cycle.speed_mps)
    lo_mps, hi_mps = trace_envelope_mps(cycle, time_s)
    error_kph = mps_to_kph(t["speed_mps"].to_numpy() - target_mps)
    axes[1].fill_between(
        time_s,
        mps_to_kph(lo_mps - TRACE_TOLERANCE_MPS - target_mps),
        mps_to_kph(hi_mps + TRACE_TOLERANCE_MPS - target_mps),
        color="tab:green",
        alpha=0.15,
        lw=0,
        label="EPA tolerance (±2 mph, ±1 s)",
    )
    axes[1].axhline(0.0, color="0.4", lw=0.8)
    axes[1].plot(time_s, error_kph, color="tab:blue", lw=0.8, label="vehicle − target")
    axes[1].set_ylabel("speed error [km/h]")
    axes[1].legend(loc="upper right", fontsize="small")
    axes[2].plot(
        t["time_s"], t["fuel_rate_gps"] * 3.6 / GASOLINE_DENSITY_KGPL, color="tab:orange", lw=0.8
    )
    axes[2].set_ylabel("fuel rate [L/h]")
    axes[3].plot(t["time_s"], t["coolant_temp_c"], label="coolant", color="tab:red")
    axes[3].plot(t["time_s"], t["oil_temp_c"], label="oil", color="tab:brown", ls="--")
    axes[3].set_ylabel("temperature [°C]")
    axes[3].set_xlabel("time [s]")
    axes[3].legend(loc="lower right")
    s = result.summary
    fig.suptitle(
        f"{s['vehicle']} on {s['cycle']} ({s['start']} start): {s['fuel_l_per_100km']:.2f} L/100 km, "
        f"{s['mpg']:.1f} mpg, {s['distance_km']:.2f} km; "
        f"{s['time_outside_tolerance_s']:.0f} s outside the trace tolerance"
    )
    for ax in axes:
        ax.grid(alpha=0.3)
    return _done(fig, path)


def _done(fig, path: str | Path | None):
    if path is not None:
        fig.savefig(path, dpi=110)
        _pyplot().close(fig)
    return fig


def plot_validation(
    results: pd.DataFrame,
    path: str | Path | None = None,
    label: str | None = None,
    n_named: int = 4,
):
    """Predicted against EPA unadjusted fuel economy (FTP and HWFE): the 1:1 line, ±10 % band,
    and the ``n_named`` worst points of each panel named by the ``label`` column (for example
    make and model, :func:`vehsim.analysis.with_make_and_model`)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), constrained_layout=True)
    for ax, key, title in ((axes[0], "ftp", "FTP-75 (city)"), (axes[1], "hwfe", "HWFET (highway)")):
        epa, pred = results[f"{key}_mpg_epa"], results[f"{key}_mpg_pred"]
        lo, hi = min(epa.min(), pred.min()) * 0.9, max(epa.max(), pred.max()) * 1.1
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, label="vehsim = EPA")
        ax.fill_between(
            [lo, hi],
            [lo * 0.9, hi * 0.9],
            [lo * 1.1, hi * 1.1],
            color="tab:green",
            alpha=0.12,
            label="±10%",
        )
        ax.scatter(epa, pred, s=18, color="tab:blue", label=f"{len(results)} test cars")
        err = results[f"{key}_error_pct"].abs()
        if label is not None and label in results and n_named > 0:
            for i in err.nlargest(n_named).index:
                right_half = epa[i] > 0.5 * (lo + hi)  # name it on the side with room
                ax.annotate(
                    f"{results.at[i, label]} ({results.at[i, f'{key}_error_pct']:+.0f} %)",
                    (epa[i], pred[i]),
                    xytext=(-5 if right_half else 5, -10),
                    textcoords="offset points",
                    ha="right" if right_half else "left",
                    fontsize="x-small",
                    color="0.2",
                )
        ax.set_title(
            f"{title}: median |error| {err.median():.1f}%, {(err <= 10).mean():.0%} within ±10%"
        )
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("EPA unadjusted [mpg]")
        ax.set_ylabel("vehsim [mpg]")
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
    return _done(fig, path)


def plot_heatmap(
    table: pd.DataFrame,
    value_label: str,
    title: str = "",
    decimals: int = 1,
    relative: bool = True,
    path: str | Path | None = None,
):
    """An annotated heat map of ``table`` (rows × columns, e.g. vehicle × cycle).

    With ``relative``, a second panel shows each cell against its column's median [%]: which
    car is frugal or thirsty *for that cycle*, with the cycle's own level taken out.
    """
    plt = _pyplot()
    panels = 2 if relative else 1
    fig, axes = plt.subplots(
        1,
        panels,
        figsize=(1.6 + 1.5 * table.shape[1] * panels + 1.2 * (panels - 1), 1.2 + 0.45 * len(table)),
        constrained_layout=True,
        squeeze=False,
    )
    data = table.to_numpy(dtype=float)
    sheets = [(data, value_label, "viridis", decimals, None)]
    if relative:
        median = np.nanmedian(data, axis=0)
        rel = 100.0 * (data / median - 1.0)
        bound = float(np.nanmax(np.abs(rel))) or 1.0
        sheets.append((rel, "against the cycle's fleet median [%]", "RdBu_r", 0, bound))
    for ax, (values, label, cmap, digits, bound) in zip(axes[0], sheets, strict=True):
        kwargs = {"vmin": -bound, "vmax": bound} if bound is not None else {}
        image = ax.imshow(values, cmap=cmap, aspect="auto", **kwargs)
        ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
        ax.set_yticks(range(len(table)), [str(i) for i in table.index])
        ax.set_xlabel(str(table.columns.name or ""))
        ax.set_ylabel(str(table.index.name or ""))
        mid = np.nanmean(values)
        for (r, c), v in np.ndenumerate(values):
            text = f"{v:+.{digits}f}" if bound is not None else f"{v:.{digits}f}"
            dark = v < mid if bound is None else abs(v) > 0.5 * bound
            ax.text(c, r, text, ha="center", va="center", fontsize="small",
                    color="white" if dark else "black")  # fmt: skip
        fig.colorbar(image, ax=ax, label=label, shrink=0.9)
    if title:
        fig.suptitle(title)
    return _done(fig, path)


def plot_cold_start(
    frame: pd.DataFrame,
    path: str | Path | None = None,
):
    """Cold-start fuel penalty [%] against warm-up time [s], one point per vehicle and ambient
    temperature (rows of :func:`vehsim.analysis.cold_start_study`): colour the ambient, marker
    the vehicle, with the hot-start baseline (0 %) drawn."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    ambients = sorted(frame["ambient_temp_c"].unique())
    cmap = plt.get_cmap("coolwarm")
    colours = {a: cmap(k / max(1, len(ambients) - 1)) for k, a in enumerate(ambients)}
    markers = dict(zip(sorted(frame["vehicle"].unique()), "osD^vPX*", strict=False))
    for vehicle, group in frame.groupby("vehicle"):
        group = group.sort_values("ambient_temp_c")
        ax.plot(group["warmup_time_s"], group["cold_start_penalty_pct"], color="0.75", lw=0.8)
        for row in group.itertuples():
            ax.scatter(
                row.warmup_time_s,
                row.cold_start_penalty_pct,
                color=colours[row.ambient_temp_c],
                marker=markers.get(vehicle, "o"),
                s=46,
                edgecolor="0.2",
                linewidth=0.5,
            )
    ax.axhline(0.0, color="0.3", lw=1)
    for vehicle, marker in markers.items():
        ax.scatter([], [], marker=marker, color="0.5", label=vehicle)
    for ambient in ambients:
        ax.scatter([], [], marker="s", color=colours[ambient], label=f"{ambient:g} °C ambient")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    ax.set_xlabel("warm-up time: coolant reaches the engine's warm temperature [s]")
    ax.set_ylabel("fuel penalty of a cold start over a hot start [%]")
    ax.set_title("Cold start: the longer the warm-up, the larger the penalty (0 % = hot start)")
    ax.grid(alpha=0.3)
    return _done(fig, path)


def plot_predicted_vs_actual(
    frame: pd.DataFrame,
    unit: str,
    actual: str = "actual",
    predicted: str = "predicted",
    model: str = "model",
    group: str = "vehicle",
    quantity: str = "",
    path: str | Path | None = None,
):
    """Held-out predictions: predicted against actual per model (1:1 line, RMSE in the legend)
    and the residuals (predicted − actual) of each model by ``group``."""
    plt = _pyplot()
    models: Sequence[str] = list(dict.fromkeys(frame[model]))
    groups: Sequence[str] = sorted(frame[group].astype(str).unique())
    fig, axes = plt.subplots(
        1, 2, figsize=(13, 5), constrained_layout=True, gridspec_kw={"width_ratios": [1, 1.3]}
    )
    lo = float(min(frame[actual].min(), frame[predicted].min()))
    hi = float(max(frame[actual].max(), frame[predicted].max()))
    pad = 0.05 * (hi - lo or 1.0)
    axes[0].plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", lw=1, label="1:1")
    width = 0.8 / max(1, len(models))
    for k, name in enumerate(models):
        rows = frame[frame[model] == name]
        residual = rows[predicted] - rows[actual]
        rmse = float(np.sqrt(np.mean(residual**2)))
        axes[0].scatter(rows[actual], rows[predicted], s=20, alpha=0.8,
                        label=f"{name} (RMSE {rmse:.3g} {unit})")  # fmt: skip
        positions = [g + (k - (len(models) - 1) / 2) * width for g in range(len(groups))]
        data = [residual[rows[group].astype(str) == g].to_numpy() for g in groups]
        parts = axes[1].boxplot(
            [d if len(d) else [np.nan] for d in data],
            positions=positions,
            widths=width * 0.9,
            patch_artist=True,
            manage_ticks=False,
        )
        colour = f"C{k}"
        for box in parts["boxes"]:
            box.set_facecolor(colour)
            box.set_alpha(0.6)
        axes[1].scatter([], [], marker="s", color=colour, label=name)
    what = f"{quantity} " if quantity else ""
    axes[0].set_xlabel(f"actual {what}[{unit}]")
    axes[0].set_ylabel(f"predicted {what}[{unit}]")
    axes[0].set_xlim(lo - pad, hi + pad)
    axes[0].set_ylim(lo - pad, hi + pad)
    axes[0].legend(loc="upper left", fontsize="small")
    axes[0].set_title("Held-out rows: predicted against actual")
    axes[1].axhline(0.0, color="0.3", lw=1)
    axes[1].set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    axes[1].set_xlabel(group)
    axes[1].set_ylabel(f"residual, predicted − actual [{unit}]")
    axes[1].legend(loc="best", fontsize="small")
    axes[1].set_title(f"Residuals by {group} (held out: never seen in training)")
    for ax in axes:
        ax.grid(alpha=0.3)
    return _done(fig, path)


def plot_lanes(
    frame: pd.DataFrame,
    lanes: Sequence[dict],
    time: str = "sim_time_s",
    title: str = "",
    group: str | None = None,
    labels: dict | None = None,
    time_label: str = "simulated time [s]",
    path: str | Path | None = None,
):
    """Quantities of ``frame`` over ``time`` (axis label ``time_label``), one panel per lane: quantities of different units
    never share an axis. ``lanes`` are ``{"key", "label", "unit"}`` entries (e.g. the
    dashboard's ``chart.series``); a lane ``frame`` lacks is left out, ``"step": True`` draws
    steps (a gear), ``"marker"`` marks each sample (a few aggregates). With ``group`` (e.g. ``vehicle_id``), one line per group in every panel,
    named in the legend by ``labels[group value]`` (default: the value itself)."""
    plt = _pyplot()
    lanes = [lane for lane in lanes if lane["key"] in frame]
    if not lanes:
        raise ValueError(f"none of the lanes is a column of the frame ({list(frame.columns)})")
    fig, axes = plt.subplots(
        len(lanes), 1, figsize=(10, 1.3 + 1.35 * len(lanes)), sharex=True,
        constrained_layout=True, squeeze=False,
    )  # fmt: skip
    groups = [(None, frame)] if group is None else list(frame.groupby(group, sort=True))
    for ax, lane in zip(axes[:, 0], lanes, strict=True):
        for k, (name, rows) in enumerate(groups):
            rows = rows.sort_values(time)
            colour = lane.get("color", "tab:blue") if group is None else f"C{k}"
            label = None if group is None else (labels or {}).get(name, str(name))
            if lane.get("step"):
                ax.step(rows[time], rows[lane["key"]], where="post", color=colour, lw=1.2,
                        label=label)  # fmt: skip
            else:
                ax.plot(rows[time], rows[lane["key"]], color=colour, lw=1.2, label=label,
                        marker=lane.get("marker"), markersize=4)  # fmt: skip
        unit = lane.get("unit") or "-"
        ax.set_ylabel(f"{lane['label']} [{unit}]")
        ax.grid(alpha=0.3)
    if group is not None:
        axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    axes[-1, 0].set_xlabel(time_label)
    if title:
        fig.suptitle(title)
    return _done(fig, path)
