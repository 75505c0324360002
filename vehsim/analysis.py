"""Tables for reviewing results: validation points named by make and model, the worst cars, a
sample of the test-car list spread over makes and economy, and the cold-start penalty against
warm-up time.

The notebooks ask these questions; the answers are computed here, so they are tested once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vehsim.cycles import Cycle, load_cycle
from vehsim.errors import ParameterError
from vehsim.layout import S
from vehsim.params import VehicleParams, load_vehicle
from vehsim.simulator import Simulator
from vehsim.study import run_study
from vehsim.testcar import COL_FTP, COL_ID, COL_MAKE, COL_MODEL

#: Columns of :func:`worst_cars`, in order.
WORST_COLUMNS = (
    "make",
    "model",
    "test_vehicle_id",
    "ftp_mpg_epa",
    "ftp_mpg_pred",
    "ftp_error_pct",
    "hwfe_mpg_epa",
    "hwfe_mpg_pred",
    "hwfe_error_pct",
    "worst_abs_error_pct",
)


# --- validation against EPA figures ------------------------------------------------------------


def spread_sample(testcars: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows of a test-car list, at most one per make (makes compared case-blind), spread
    evenly over the FTP fuel economy from the thirstiest to the most frugal; deterministic.

    The first rows of a list are often one maker's variants (two Bugatti Chirons); a sample
    should cover the range the model is claimed for.
    """
    if n < 1:
        raise ParameterError(f"a sample needs n >= 1 cars, got {n}")
    frame = testcars.assign(_make=testcars[COL_MAKE].astype(str).str.strip().str.casefold())
    frame = frame.sort_values([COL_FTP, COL_ID], kind="stable")
    one_per_make = frame.drop_duplicates("_make")
    pool = one_per_make if len(one_per_make) >= n else frame
    if n >= len(pool):
        picked = pool
    else:
        picked = pool.iloc[np.unique(np.linspace(0, len(pool) - 1, n).round().astype(int))]
    return picked.drop(columns="_make")


def with_make_and_model(results: pd.DataFrame, testcars: pd.DataFrame) -> pd.DataFrame:
    """``results`` of :func:`vehsim.validate.validate_testcars` with each car's ``make``,
    ``model`` and a ``label`` (``make model``) from the test-car list it was built from."""
    names = (
        testcars[[COL_ID, COL_MAKE, COL_MODEL]]
        .drop_duplicates(COL_ID)
        .rename(columns={COL_ID: "test_vehicle_id", COL_MAKE: "make", COL_MODEL: "model"})
    )
    names["test_vehicle_id"] = names["test_vehicle_id"].astype(str)
    out = results.assign(test_vehicle_id=results["test_vehicle_id"].astype(str)).merge(
        names, on="test_vehicle_id", how="left"
    )
    out["make"] = out["make"].astype(str).str.strip()
    out["model"] = out["model"].astype(str).str.strip()
    out["label"] = out["make"] + " " + out["model"]
    out.index = results.index
    return out


def worst_cars(results: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """The ``n`` cars furthest from EPA's figures (largest of the FTP and HWFE |error| [%]),
    worst first, with make and model (``results`` from :func:`with_make_and_model`)."""
    worst = results[["ftp_error_pct", "hwfe_error_pct"]].abs().max(axis=1)
    out = results.assign(worst_abs_error_pct=worst).sort_values(
        "worst_abs_error_pct", ascending=False
    )
    columns = [c for c in WORST_COLUMNS if c in out.columns]
    return out[columns].head(n).reset_index(drop=True)


# --- cold start --------------------------------------------------------------------------------


def warmup_time_s(time_s, coolant_temp_c, warm_coolant_temp_c: float) -> float:
    """When the coolant first reaches ``warm_coolant_temp_c`` [s] (the engine's own warm
    temperature, where its cold-start enrichment ends); NaN if it never does.

    Args:
        time_s: sample times [s], increasing.
        coolant_temp_c: coolant temperature at those times [°C].
        warm_coolant_temp_c: the engine's warm coolant temperature [°C].
    """
    t = np.asarray(time_s, dtype=float)
    temp = np.asarray(coolant_temp_c, dtype=float)
    if t.shape != temp.shape:
        raise ParameterError(f"time_s and coolant_temp_c differ in shape: {t.shape}, {temp.shape}")
    warm = np.flatnonzero(temp >= warm_coolant_temp_c)
    return float(t[warm[0]]) if warm.size else float("nan")


def cold_start_study(
    vehicles: Sequence[str | VehicleParams],
    ambient_temps_c: Sequence[float],
    cycle: str | Cycle = "udds",
    dt_s: float = 0.1,
    record_every_s: float = 1.0,
) -> pd.DataFrame:
    """Every vehicle at every ambient temperature over ``cycle``, from a cold and a hot start.

    The fuel figures come from :func:`vehsim.study.run_study` (one fleet, cold and hot runs
    together); the warm-up time from a second fleet of the cold runs recorded every
    ``record_every_s`` (:func:`warmup_time_s`).

    Returns:
        One row per vehicle and ambient temperature: ``vehicle``, ``ambient_temp_c``,
        ``fuel_cold_l_per_100km``, ``fuel_hot_l_per_100km``, ``cold_start_penalty_pct``
        (cold over hot, [%]), ``extra_fuel_ml`` (what the cold start cost over the cycle [mL]),
        ``warm_coolant_temp_c`` and ``warmup_time_s`` (NaN: not warm by the end of the cycle).
    """
    if not vehicles or not ambient_temps_c:
        raise ParameterError("a cold-start study needs at least one vehicle and one ambient")
    cars = [v if isinstance(v, VehicleParams) else load_vehicle(v) for v in vehicles]
    cycle = cycle if isinstance(cycle, Cycle) else load_cycle(cycle)
    pairs = [(car, float(t)) for car in cars for t in ambient_temps_c]
    runs = run_study(
        [
            {"vehicle": car.name, "ambient_temp_c": t, "cycle": cycle.name, "start": start}
            for car, t in pairs
            for start in ("cold", "hot")
        ],
        dt_s=dt_s,
    )
    fuel = runs.set_index(["vehicle", "ambient_temp_c", "start"])

    sim = Simulator(
        [car for car, _ in pairs],
        dt_s=dt_s,
        ambient_temp_c=np.array([t for _, t in pairs]),
        start="cold",
    )
    for i in range(len(pairs)):
        sim.set_driver(i, cycle)
    every = max(1, int(round(record_every_s / dt_s)))
    records = sim.run_steps(int(round(cycle.duration_s / dt_s)), every)
    time_s = np.arange(1, records.shape[0] + 1) * every * dt_s

    rows = []
    for i, (car, t) in enumerate(pairs):
        cold = fuel.loc[(car.name, t, "cold")]
        hot = fuel.loc[(car.name, t, "hot")]
        warm_c = float(car["warm_coolant_temp_c"])
        rows.append(
            {
                "vehicle": car.name,
                "ambient_temp_c": t,
                "fuel_cold_l_per_100km": float(cold["fuel_l_per_100km"]),
                "fuel_hot_l_per_100km": float(hot["fuel_l_per_100km"]),
                "cold_start_penalty_pct": 100.0
                * (cold["fuel_l_per_100km"] / hot["fuel_l_per_100km"] - 1.0),
                "extra_fuel_ml": 1000.0 * float(cold["fuel_l"] - hot["fuel_l"]),
                "warm_coolant_temp_c": warm_c,
                "warmup_time_s": warmup_time_s(time_s, records[:, i, S["coolant_temp_c"]], warm_c),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "WORST_COLUMNS",
    "cold_start_study",
    "spread_sample",
    "warmup_time_s",
    "with_make_and_model",
    "worst_cars",
]
