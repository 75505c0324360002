"""Validation against EPA certification tests: FTP-75 (cold start, three bags) and HWFET.

FTP-75 (40 CFR 86.130-00 and 86.137-94): the UDDS driven from a cold start (bag 1: 0-505 s,
bag 2: 505-1369 s), a 10-minute soak with the engine off, then the first 505 s again from a hot
start (bag 3). City fuel economy weights the cold and hot halves 0.43 / 0.57
(40 CFR 600.113-12(a)): ``1 / (0.43 (F1+F2)/(D1+D2) + 0.57 (F3+F2)/(D3+D2))``.
HWFET (40 CFR 600 Appendix I) is driven warm after its preconditioning run.
All fuel economies here are unadjusted (the test-cell values, not the window sticker's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from vehsim.constants import GASOLINE_DENSITY_KGPL, L_PER_GALLON, M_PER_MILE
from vehsim.cycles import UDDS_BAG1_END_S, load_cycle
from vehsim.layout import S
from vehsim.params import VehicleParams
from vehsim.simulator import Simulator
from vehsim.testcar import COL_BAG, COL_FTP, COL_HWFE, COL_ID, vehicle_from_testcar

SOAK_S = 600.0
COLD_WEIGHT = 0.43
HOT_WEIGHT = 0.57
#: EPA's bag 3 / bag 1 fuel-economy ratio on the 2022 Test Car List: median and the band the
#: cold-start acceptance counts (docs/validation.md).
BAG_RATIO_MEDIAN_EPA = 1.147
BAG_RATIO_BAND = (1.08, 1.22)
#: FTP test-cell temperature [°C] (40 CFR 86.130: 20-30 °C; nominal 25 °C).
FTP_AMBIENT_C = 25.0


def _gallons(fuel_g):
    return np.asarray(fuel_g) / 1e3 / GASOLINE_DENSITY_KGPL / L_PER_GALLON


def _miles(distance_m):
    return np.asarray(distance_m) / M_PER_MILE


#: The runs of a validation, in order; ``on_stage`` callbacks receive each name once it is done.
STAGES = ("FTP-75 bags 1-2", "FTP-75 soak", "FTP-75 bag 3", "HWFET")


def _done(on_stage: Callable[[str], None] | None, stage: str) -> None:
    if on_stage is not None:
        on_stage(stage)


def ftp75(
    vehicles: Sequence[VehicleParams],
    dt_s: float = 0.1,
    ambient_temp_c: float = FTP_AMBIENT_C,
    on_stage: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """FTP-75 bag and composite fuel economies [mpg], one row per vehicle (fleet run).

    ``on_stage`` is called with each finished stage of :data:`STAGES` (progress display).
    """
    udds = load_cycle("udds")
    bag3_cycle = udds.slice(0, UDDS_BAG1_END_S, "udds-bag3")
    sim = Simulator(vehicles, dt_s=dt_s, ambient_temp_c=ambient_temp_c, start="cold")
    sim.set_driver(slice(None), udds)
    steps_per_s = int(round(1.0 / dt_s))
    records = sim.run_steps(int(round(udds.duration_s / dt_s)), steps_per_s)
    _done(on_stage, STAGES[0])
    fuel = records[:, :, S["fuel_used_g"]]
    dist = records[:, :, S["odometer_m"]]
    k1 = UDDS_BAG1_END_S - 1
    f1, d1 = fuel[k1], dist[k1]
    f2, d2 = fuel[-1] - f1, dist[-1] - d1
    outside = records[-1, :, S["time_outside_tolerance_s"]].copy()
    # Soak: engine off, parked.
    sim.set_driver(slice(None), "commands")
    for i in range(sim.n_vehicles):
        sim.apply(i, {"type": "stop_engine"})
        sim.apply(i, {"type": "brake", "value": 100})
    sim.run_steps(int(round(SOAK_S / dt_s)))
    _done(on_stage, STAGES[1])
    before3 = sim.state[:, S["fuel_used_g"]].copy(), sim.state[:, S["odometer_m"]].copy()
    out_before3 = sim.state[:, S["time_outside_tolerance_s"]].copy()
    sim.set_driver(slice(None), bag3_cycle)
    sim.run_steps(int(round(bag3_cycle.duration_s / dt_s)))
    _done(on_stage, STAGES[2])
    f3 = sim.state[:, S["fuel_used_g"]] - before3[0]
    d3 = sim.state[:, S["odometer_m"]] - before3[1]
    outside += sim.state[:, S["time_outside_tolerance_s"]] - out_before3

    g1, g2, g3 = _gallons(f1), _gallons(f2), _gallons(f3)
    m1, m2, m3 = _miles(d1), _miles(d2), _miles(d3)
    composite = 1.0 / (COLD_WEIGHT * (g1 + g2) / (m1 + m2) + HOT_WEIGHT * (g3 + g2) / (m3 + m2))
    return pd.DataFrame(
        {
            "vehicle": [v.name for v in vehicles],
            "bag1_mpg": m1 / g1,
            "bag2_mpg": m2 / g2,
            "bag3_mpg": m3 / g3,
            "ftp_mpg": composite,
            "ftp_time_outside_tolerance_s": outside,
            "ftp_duration_s": 2 * UDDS_BAG1_END_S + (udds.duration_s - UDDS_BAG1_END_S),
        }
    )


def hwfet(
    vehicles: Sequence[VehicleParams],
    dt_s: float = 0.1,
    ambient_temp_c: float = FTP_AMBIENT_C,
    on_stage: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """HWFET fuel economy [mpg] from a warm engine, one row per vehicle (fleet run)."""
    cycle = load_cycle("hwfet")
    sim = Simulator(vehicles, dt_s=dt_s, ambient_temp_c=ambient_temp_c, start="hot")
    sim.set_driver(slice(None), cycle)
    sim.run_steps(int(round(cycle.duration_s / dt_s)))
    _done(on_stage, STAGES[3])
    return pd.DataFrame(
        {
            "vehicle": [v.name for v in vehicles],
            "hwfe_mpg": _miles(sim.state[:, S["odometer_m"]])
            / _gallons(sim.state[:, S["fuel_used_g"]]),
            "hwfe_time_outside_tolerance_s": sim.state[:, S["time_outside_tolerance_s"]],
            "hwfe_duration_s": cycle.duration_s,
        }
    )


def validate_testcars(
    frame: pd.DataFrame,
    dt_s: float = 0.1,
    models: dict | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Predicted vs EPA fuel economies for every row of an EPA Test Car List frame.

    ``on_stage`` is called with each finished stage of :data:`STAGES` (progress display).
    """
    vehicles = [vehicle_from_testcar(row, models=models) for row in frame.to_dict("records")]
    ftp = ftp75(vehicles, dt_s, on_stage=on_stage)
    hw = hwfet(vehicles, dt_s, on_stage=on_stage)
    out = pd.DataFrame({"test_vehicle_id": frame[COL_ID].astype(str).to_numpy()})
    out["ftp_mpg_pred"] = ftp["ftp_mpg"].to_numpy()
    out["ftp_mpg_epa"] = frame[COL_FTP].to_numpy(dtype=float) if COL_FTP in frame else np.nan
    out["hwfe_mpg_pred"] = hw["hwfe_mpg"].to_numpy()
    out["hwfe_mpg_epa"] = frame[COL_HWFE].to_numpy(dtype=float) if COL_HWFE in frame else np.nan
    out["bag3_over_bag1_pred"] = (ftp["bag3_mpg"] / ftp["bag1_mpg"]).to_numpy()
    if all(c in frame for c in COL_BAG):
        out["bag3_over_bag1_epa"] = (frame[COL_BAG[2]] / frame[COL_BAG[0]]).to_numpy(dtype=float)
    out["ftp_error_pct"] = 100.0 * (out["ftp_mpg_pred"] / out["ftp_mpg_epa"] - 1.0)
    out["hwfe_error_pct"] = 100.0 * (out["hwfe_mpg_pred"] / out["hwfe_mpg_epa"] - 1.0)
    out["ftp_within_tolerance_frac"] = (
        1.0 - ftp["ftp_time_outside_tolerance_s"].to_numpy() / ftp["ftp_duration_s"].to_numpy()
    )
    out["hwfe_within_tolerance_frac"] = (
        1.0 - hw["hwfe_time_outside_tolerance_s"].to_numpy() / hw["hwfe_duration_s"].to_numpy()
    )
    return out


def summary(results: pd.DataFrame) -> dict:
    """Median absolute errors and shares within 5% / 10% (the acceptance figures)."""
    out: dict = {"summary": True, "vehicles": int(len(results))}
    for key in ("ftp", "hwfe"):
        err = results[f"{key}_error_pct"].abs().dropna()
        out[f"{key}_median_abs_error_pct"] = round(float(err.median()), 3) if len(err) else None
        out[f"{key}_within_5pct_share"] = round(float((err <= 5).mean()), 4) if len(err) else None
        out[f"{key}_within_10pct_share"] = round(float((err <= 10).mean()), 4) if len(err) else None
    ratio = results["bag3_over_bag1_pred"]
    out["bag3_over_bag1_median"] = round(float(ratio.median()), 4)
    low, high = BAG_RATIO_BAND
    out[f"bag3_over_bag1_in_{low:g}_{high:g}_share"] = round(
        float(((ratio >= low) & (ratio <= high)).mean()), 4
    )
    out["trace_within_tolerance_min_frac"] = round(
        float(
            min(
                results["ftp_within_tolerance_frac"].min(),
                results["hwfe_within_tolerance_frac"].min(),
            )
        ),
        5,
    )
    return out
