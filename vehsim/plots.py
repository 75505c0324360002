"""Analysis plots (matplotlib): a run over a cycle, and validation against EPA figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vehsim.constants import GASOLINE_DENSITY_KGPL
from vehsim.cycles import Cycle
from vehsim.simulator import Result
from vehsim.units import mps_to_kph


def _pyplot():
    # matplotlib (~0.3 s) loads with the first plot, and picks a backend that draws off-screen
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(result: Result, cycle: Cycle, path: str | Path | None = None):
    """Speed vs the cycle's target, fuel rate and coolant/oil temperature over time."""
    plt = _pyplot()
    t = result.telemetry
    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True, constrained_layout=True)
    axes[0].plot(
        cycle.time_s, mps_to_kph(cycle.speed_mps), color="0.6", lw=2.5, label=f"{cycle.name} target"
    )
    axes[0].plot(t["time_s"], mps_to_kph(t["speed_mps"]), color="tab:blue", lw=1, label="vehicle")
    axes[0].set_ylabel("speed [km/h]")
    axes[0].legend(loc="upper right")
    axes[1].plot(
        t["time_s"], t["fuel_rate_gps"] * 3.6 / GASOLINE_DENSITY_KGPL, color="tab:orange", lw=0.8
    )
    axes[1].set_ylabel("fuel rate [L/h]")
    axes[2].plot(t["time_s"], t["coolant_temp_c"], label="coolant", color="tab:red")
    axes[2].plot(t["time_s"], t["oil_temp_c"], label="oil", color="tab:brown", ls="--")
    axes[2].set_ylabel("temperature [°C]")
    axes[2].set_xlabel("time [s]")
    axes[2].legend(loc="lower right")
    s = result.summary
    fig.suptitle(
        f"{s['vehicle']} on {s['cycle']} ({s['start']} start): {s['fuel_l_per_100km']:.2f} L/100 km, "
        f"{s['mpg']:.1f} mpg, {s['distance_km']:.2f} km"
    )
    for ax in axes:
        ax.grid(alpha=0.3)
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def plot_validation(results: pd.DataFrame, path: str | Path | None = None):
    """Predicted vs EPA unadjusted fuel economy (FTP and HWFE) with ±10% bands."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    for ax, key, title in ((axes[0], "ftp", "FTP-75 (city)"), (axes[1], "hwfe", "HWFET (highway)")):
        epa, pred = results[f"{key}_mpg_epa"], results[f"{key}_mpg_pred"]
        lo, hi = min(epa.min(), pred.min()) * 0.9, max(epa.max(), pred.max()) * 1.1
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=1)
        ax.fill_between(
            [lo, hi],
            [lo * 0.9, hi * 0.9],
            [lo * 1.1, hi * 1.1],
            color="tab:green",
            alpha=0.12,
            label="±10%",
        )
        ax.scatter(epa, pred, s=18, color="tab:blue")
        err = results[f"{key}_error_pct"].abs()
        ax.set_title(
            f"{title}: median |error| {err.median():.1f}%, {(err <= 10).mean():.0%} within ±10%"
        )
        ax.set_xlabel("EPA unadjusted [mpg]")
        ax.set_ylabel("vehsim [mpg]")
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
