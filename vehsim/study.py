"""Studies: what-if sweeps, one-at-a-time sensitivity and global (Sobol) sensitivity.

A study is a table of runs, one row per run and one column per factor. Factors are:

- ``vehicle`` (a shipped vehicle's name), ``cycle`` (a cycle's name), ``start`` (``cold`` or
  ``hot``), ``driver`` (a driving profile's name, as the ``profile`` command takes it: that
  profile's style while following the cycle; missing or ``None``: the vehicle's calibrated
  shift style);
- the environment: ``ambient_temp_c`` [°C], ``solar_load_wpm2`` [W/m²], ``altitude_m`` [m],
  ``wind_mps`` [m/s, head wind positive], ``grade_frac`` [rise/run, replacing the cycle's grade];
- ``payload_kg`` [kg]: mass added to the vehicle, with rolling resistance (the coast-down A term)
  in proportion to the weight (Gillespie, *Fundamentals of Vehicle Dynamics*, 1992, ch. 4:
  ``F_roll = Crr m g``);
- ``mild_hybrid`` (true or false): the vehicle as a 48 V mild hybrid, with the generic belt
  starter-generator and stop-start (:func:`vehsim.testcar.mild_hybrid`);
- any scalar vehicle parameter by its path in the vehicle file (``vehicle.mass_kg``,
  ``engine.friction_scale``, ``vehicle.road_load_c_n_per_mps2``) or by its bare name, and the
  parameters of a submodel variant the run's vehicle uses (``engine.bsg_power_w`` with
  ``mild_hybrid``).

:func:`run_study` runs every row as one vectorised fleet (one :class:`vehsim.Simulator`, every
run a vehicle of it, all advanced together by the compiled kernel) and returns a tidy frame: the
factors, the results (:func:`vehsim.simulator.summarize` and the energy audit of
:mod:`vehsim.energy`) and the hash of each run's parameter set and of the vehicle it started from.
:func:`full_factorial` builds the rows of a full factorial design; :func:`one_at_a_time` and
:func:`plot_tornado` give local sensitivity; :func:`sobol_study` and :func:`sobol_indices` give
global sensitivity through SALib (Saltelli's sampling and estimators; the optional ``study``
extra: ``pip install 'vehsim[study]'``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vehsim.commands import parse_command
from vehsim.cycles import load_cycle
from vehsim.energy import energy_audit
from vehsim.errors import CommandError, ParameterError, VehsimError
from vehsim.layout import S
from vehsim.params import SCALAR_FIELDS, VehicleParams, load_vehicle
from vehsim.physics.options import variant_param_fields
from vehsim.simulator import (
    ENGINE_TEMPERATURE_COLUMNS,
    HOT_START_TEMP_C,
    STARTS,
    Simulator,
    summarize,
)

#: Factors that are not vehicle parameters, with the value a run takes when a study leaves
#: them out.
DEFAULTS: dict[str, Any] = {
    "vehicle": "compact-sedan",
    "cycle": "udds",
    "start": "hot",
    "driver": None,
    "ambient_temp_c": 20.0,
    "solar_load_wpm2": 0.0,
    "altitude_m": 0.0,
    "wind_mps": 0.0,
    "grade_frac": None,
    "payload_kg": 0.0,
    "mild_hybrid": False,
}
#: Units of the non-parameter factors, for labels.
UNITS: dict[str, str] = {
    "ambient_temp_c": "°C",
    "solar_load_wpm2": "W/m²",
    "altitude_m": "m",
    "wind_mps": "m/s",
    "grade_frac": "-",
    "payload_kg": "kg",
}
#: Vehicle parameter -> (section, unit), for factors given by path or by name.
PARAMETERS: dict[str, tuple[str, str]] = {
    key: (sec, unit) for sec, key, unit, *_ in (*SCALAR_FIELDS, *variant_param_fields())
}
#: Results every run reports, with their units (besides the energy audit's ``*_j`` columns).
METRICS: dict[str, str] = {
    "fuel_l_per_100km": "L/100 km",
    "fuel_l": "L",
    "mpg": "mpg",
    "distance_km": "km",
    "fuel_energy_mj": "MJ",
    "wheel_work_mj": "MJ",
    "brake_energy_mj": "MJ",
    "time_outside_tolerance_s": "s",
    "final_coolant_temp_c": "°C",
}


def parameter_key(factor: str) -> str | None:
    """The vehicle parameter a factor names (``engine.friction_scale`` -> ``friction_scale``),
    or None when it is not a parameter. A path whose section is wrong is an error."""
    section, _, key = factor.rpartition(".")
    if key not in PARAMETERS:
        return None
    if section and section != PARAMETERS[key][0]:
        raise ParameterError(
            f"study factor {factor!r}: {key} is in section {PARAMETERS[key][0]!r}, "
            f"so its path is {PARAMETERS[key][0]}.{key}"
        )
    return key


def factor_unit(factor: str) -> str:
    """The unit of a factor's values ('' for names and choices)."""
    key = parameter_key(factor)
    return PARAMETERS[key][1] if key else UNITS.get(factor, "")


def factor_label(factor: str) -> str:
    """A factor's name with its unit, for plot labels (``ambient_temp_c [°C]``)."""
    unit = factor_unit(factor)
    return f"{factor} [{unit}]" if unit else factor


def _check_factor(name: str) -> None:
    if name in DEFAULTS or parameter_key(name) is not None:
        return
    raise ParameterError(
        f"unknown study factor {name!r}: use one of {sorted(DEFAULTS)} or a vehicle parameter "
        f"by path (vehicle.mass_kg, engine.friction_scale, ...)"
    )


def full_factorial(levels: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Every combination of the levels of every factor, one row per run (last factor fastest)."""
    for name, values in levels.items():
        _check_factor(name)
        if isinstance(values, (str, bytes)) or len(values) == 0:
            raise ParameterError(f"study factor {name!r} needs a list of levels, got {values!r}")
    names = list(levels)
    return pd.DataFrame(list(itertools.product(*(levels[n] for n in names))), columns=names)


def _mild_hybrid_level(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return bool(value)
    raise ParameterError(f"study factor mild_hybrid must be true or false, got {value!r}")


def _vehicle_of(row: Mapping[str, Any], base: VehicleParams) -> VehicleParams:
    """The run's parameter set: the base vehicle (as a mild hybrid when asked) with its parameter
    factors and payload."""
    if _mild_hybrid_level(row.get("mild_hybrid", False)):
        from vehsim.testcar import mild_hybrid  # the generic machine lives with the generic models

        base = mild_hybrid(base)
    changes: dict[str, float] = {}
    for name, value in row.items():
        key = parameter_key(name)
        if key is not None:
            changes[key] = float(value)
    payload = float(row.get("payload_kg", 0.0))
    if payload:
        mass = changes.get("mass_kg", base["mass_kg"])
        a_n = changes.get("road_load_a_n", base["road_load_a_n"])
        changes["mass_kg"] = mass + payload
        changes["road_load_a_n"] = a_n * (mass + payload) / mass
    return base.replace(**changes) if changes else base


def _base_value(base: VehicleParams, run_vehicle: VehicleParams, factor: str) -> float:
    """A parameter factor's value in a run whose row leaves it out: the shipped vehicle's, or the
    run's own for a variant's parameter the shipped vehicle lacks (a mild hybrid's machine)."""
    key = parameter_key(factor)
    return base.values.get(key, run_vehicle.values.get(key, math.nan))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def run_study(
    runs: pd.DataFrame | Sequence[Mapping[str, Any]],
    dt_s: float = 0.1,
    seed: int = 0,
    defaults: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run every row of ``runs`` as one vectorised fleet; return the tidy results.

    Args:
        runs: one row per run, one column per factor (see the module's docstring); factors a
            row leaves out take ``defaults``, then :data:`DEFAULTS`.
        dt_s: the kernel's step [s].
        seed: seed of the per-vehicle generators.
        defaults: values for factors the rows leave out (``{"cycle": "hwfet"}``).

    Returns:
        One row per run, in the order given: ``run``, every factor, the results
        (:data:`METRICS` and the summary's other figures), the energy audit (``*_j``, see
        :func:`vehsim.energy.energy_audit`) and ``param_hash`` (the run's parameter set) and
        ``base_param_hash`` (the shipped vehicle it was made from).

    Every run drives its own cycle from its own start; runs on shorter cycles are read out when
    their cycle ends, while the fleet goes on for the longer ones.
    """
    frame = pd.DataFrame(list(runs)) if not isinstance(runs, pd.DataFrame) else runs.copy()
    if frame.empty:
        raise ParameterError("a study needs at least one run")
    for name in frame.columns:
        _check_factor(name)
    settings = {**DEFAULTS, **(defaults or {})}
    for name in settings:
        _check_factor(name)
    # A factor a row leaves empty (NaN where rows of different factors met) takes its default.
    rows = [
        {**settings, **{k: v for k, v in row.items() if not _is_missing(v)}}
        for row in frame.to_dict("records")
    ]

    bases: dict[str, VehicleParams] = {}
    vehicles: list[VehicleParams] = []
    cache: dict[tuple, VehicleParams] = {}
    for row in rows:
        name = str(row["vehicle"])
        if name not in bases:
            bases[name] = load_vehicle(name)
        key = (
            name,
            tuple(
                sorted(
                    (k, v)
                    for k, v in row.items()
                    if parameter_key(k) or k in ("payload_kg", "mild_hybrid")
                )
            ),
        )
        if key not in cache:
            cache[key] = _vehicle_of(row, bases[name])
        vehicles.append(cache[key])
        if row["start"] not in STARTS[:2]:
            raise ParameterError(
                f"study factor start must be 'cold' or 'hot', got {row['start']!r}"
            )
        if not _is_missing(row["driver"]):
            try:  # the profile command's own check, so the names stay in one place
                parse_command({"type": "profile", "value": row["driver"]})
            except CommandError as exc:
                raise ParameterError(f"study factor driver: {exc}") from exc

    def column(name: str) -> np.ndarray:
        return np.array([float(row[name]) for row in rows])

    sim = Simulator(
        vehicles,
        dt_s=dt_s,
        seed=seed,
        ambient_temp_c=column("ambient_temp_c"),
        altitude_m=column("altitude_m"),
        wind_mps=column("wind_mps"),
        solar_load_wpm2=column("solar_load_wpm2"),
        start="cold",
    )
    cycles = {}
    n_steps = np.zeros(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        name = str(row["cycle"])
        if name not in cycles:
            cycles[name] = load_cycle(name)
        sim.set_driver(i, cycles[name])
        n_steps[i] = int(round(cycles[name].duration_s / dt_s))
        if row["start"] == "hot":  # as Simulator(start="hot"): a warm engine after the soak
            for temp_column in ENGINE_TEMPERATURE_COLUMNS:
                sim.state[i, S[temp_column]] = HOT_START_TEMP_C
        if not _is_missing(row["driver"]):
            sim.apply(i, {"type": "profile", "value": row["driver"]})
        if not _is_missing(row["grade_frac"]):
            sim.set_environment(i, grade_frac=float(row["grade_frac"]))

    initial = sim.state.copy()
    final = np.empty_like(initial)
    done = 0
    for until in np.unique(n_steps):  # one kernel call per cycle length, the whole fleet each
        sim.run_steps(int(until - done))
        done = int(until)
        final[n_steps == until] = sim.state[n_steps == until]

    out = []
    for i, row in enumerate(rows):
        summary = summarize(final[i], initial[i], float(row["ambient_temp_c"]))
        out.append(
            {
                "run": i,
                **{name: row[name] for name in settings},
                **{
                    name: row.get(name, _base_value(bases[str(row["vehicle"])], vehicles[i], name))
                    for name in frame.columns
                    if name not in settings
                },
                **summary,
                **energy_audit(final[i], initial[i], sim.params[i]),
                "param_hash": vehicles[i].content_hash(),
                "base_param_hash": bases[str(row["vehicle"])].content_hash(),
            }
        )
    return pd.DataFrame(out)


# --- one at a time ---------------------------------------------------------------------------


def one_at_a_time(
    ranges: Mapping[str, tuple[Any, Any]],
    baseline: Mapping[str, Any] | None = None,
    metric: str = "fuel_l_per_100km",
    cycles: Sequence[str] | None = None,
    **run_kwargs,
) -> pd.DataFrame:
    """Local sensitivity: each factor at its low and its high level, the others at baseline.

    Args:
        ranges: factor -> (low, high).
        baseline: the baseline's factors (missing ones: :data:`DEFAULTS` and the vehicle's own
            parameters).
        metric: the result to compare (a column of :func:`run_study`).
        cycles: run the whole design on each of these cycles (default: the baseline's).
        run_kwargs: passed to :func:`run_study`.

    Returns:
        One row per cycle and factor: ``low``, ``high``, the metric at baseline, low and high,
        and ``swing`` (``|high - low|`` of the metric), sorted by swing within a cycle.
    """
    baseline = dict(baseline or {})
    for name in ranges:
        _check_factor(name)
    cycles = list(cycles) if cycles else [baseline.get("cycle", DEFAULTS["cycle"])]
    design = []
    for cycle in cycles:
        design.append({**baseline, "cycle": cycle, "_role": ("baseline", None)})
        for name, (low, high) in ranges.items():
            design.append({**baseline, "cycle": cycle, name: low, "_role": ("low", name)})
            design.append({**baseline, "cycle": cycle, name: high, "_role": ("high", name)})
    roles = [row.pop("_role") for row in design]
    results = run_study(design, **run_kwargs)
    if metric not in results:
        raise ParameterError(f"unknown study result {metric!r}; results: {sorted(results.columns)}")
    rows = []
    for cycle in cycles:
        on_cycle = [k for k in range(len(design)) if design[k]["cycle"] == cycle]
        base_value = next(results[metric].iloc[k] for k in on_cycle if roles[k][0] == "baseline")
        for name, (low, high) in ranges.items():
            value = {roles[k][0]: results[metric].iloc[k] for k in on_cycle if roles[k][1] == name}
            rows.append(
                {
                    "cycle": cycle,
                    "factor": name,
                    "unit": factor_unit(name),
                    "low": low,
                    "high": high,
                    "metric": metric,
                    "baseline_value": base_value,
                    "low_value": value["low"],
                    "high_value": value["high"],
                    "swing": abs(value["high"] - value["low"]),
                }
            )
    frame = pd.DataFrame(rows)
    return frame.sort_values(["cycle", "swing"], ascending=[True, False], ignore_index=True)


def plot_tornado(
    oat: pd.DataFrame, metric_label: str | None = None, path: str | Path | None = None
):
    """Tornado plot of :func:`one_at_a_time`: one panel per cycle, the widest swing on top.

    Bars start at the baseline value; each factor's low level is the lower (blue) bar, its high
    level the upper (orange) one, each labelled with its level and unit.
    """
    from vehsim.plots import _pyplot

    plt = _pyplot()
    cycles = list(dict.fromkeys(oat["cycle"]))
    metric = oat["metric"].iloc[0]
    label = metric_label or f"{metric} [{METRICS.get(metric, '-')}]"
    n = max(oat.groupby("cycle").size())
    fig, axes = plt.subplots(
        1, len(cycles), figsize=(6.5 * len(cycles), 1.6 + 0.8 * n), constrained_layout=True
    )
    axes = np.atleast_1d(axes)
    for ax, cycle in zip(axes, cycles, strict=True):
        part = oat[oat["cycle"] == cycle].sort_values("swing")
        base = float(part["baseline_value"].iloc[0])
        y = np.arange(len(part))
        for level, offset, color in (("low", -0.2, "tab:blue"), ("high", 0.2, "tab:orange")):
            values = part[f"{level}_value"].to_numpy(dtype=float)
            ax.barh(y + offset, values - base, 0.4, left=base, color=color, label=f"{level} level")
            settings = zip(values, part[level], part["unit"], strict=True)
            for k, (value, setting, unit) in enumerate(settings):
                text = f"{setting:.3g}" if isinstance(setting, (int, float)) else str(setting)
                unit_text = "" if unit in ("", "-") else f" {unit}"
                ax.annotate(
                    f" {text}{unit_text} ",
                    (value, y[k] + offset),
                    ha="left" if value >= base else "right",
                    va="center",
                    fontsize="small",
                )
        ax.axvline(base, color="0.2", lw=1)
        ax.set_yticks(
            y,
            [f"{f}\n[{u}]" if u else f for f, u in zip(part["factor"], part["unit"], strict=True)],
        )
        ax.set_xlabel(label)
        ax.set_title(f"{cycle}: baseline {base:.3g} {METRICS.get(metric, '')}")
        ax.margins(x=0.3)
        ax.grid(axis="x", alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, fontsize="small")
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


# --- Sobol ------------------------------------------------------------------------------------


def _salib():
    try:
        # SALib (the [study] extra) only for a Sobol analysis
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample
    except ImportError as exc:
        raise VehsimError(
            "global sensitivity (Sobol indices) needs SALib: pip install 'vehsim[study]'"
        ) from exc
    return sample, analyze


def sobol_problem(bounds: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """SALib's problem definition for uniformly distributed factors within ``bounds``."""
    if not bounds:
        raise ParameterError("a Sobol study needs at least one factor with bounds")
    for name, (low, high) in bounds.items():
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ParameterError(
                f"Sobol factor {name!r}: need finite low < high, got ({low}, {high})"
            )
    return {
        "num_vars": len(bounds),
        "names": list(bounds),
        "bounds": [[float(lo), float(hi)] for lo, hi in bounds.values()],
    }


def sobol_sample(bounds: Mapping[str, tuple[float, float]], n: int, seed: int = 0) -> pd.DataFrame:
    """Saltelli's sample for first- and total-order indices: ``n × (factors + 2)`` rows.

    ``n`` must be a power of 2 (Sobol' sequences balance only then).
    """
    if n < 2 or n & (n - 1):
        raise ParameterError(f"Sobol sample size n must be a power of 2 (>= 2), got {n}")
    sample, _ = _salib()
    problem = sobol_problem(bounds)
    x = sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    return pd.DataFrame(x, columns=problem["names"])


def sobol_analyze(
    bounds: Mapping[str, tuple[float, float]], y: np.ndarray, seed: int = 0
) -> pd.DataFrame:
    """First-order (``S1``) and total (``ST``) indices with 95 % bootstrap half-widths."""
    _, analyze = _salib()
    problem = sobol_problem(bounds)
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(y)):
        raise VehsimError("Sobol analysis: the model gave non-finite results for some runs")
    si = analyze.analyze(problem, y, calc_second_order=False, seed=seed, print_to_console=False)
    return pd.DataFrame(
        {
            "factor": problem["names"],
            "S1": si["S1"],
            "S1_conf": si["S1_conf"],
            "ST": si["ST"],
            "ST_conf": si["ST_conf"],
        }
    )


def sobol_indices(
    model: Callable[[pd.DataFrame], np.ndarray],
    bounds: Mapping[str, tuple[float, float]],
    n: int = 1024,
    seed: int = 0,
) -> pd.DataFrame:
    """Sobol indices of any ``model`` (a function of a frame of factor values, one row a run)."""
    x = sobol_sample(bounds, n, seed)
    return sobol_analyze(bounds, model(x), seed)


def sobol_study(
    bounds: Mapping[str, tuple[float, float]],
    n: int = 64,
    baseline: Mapping[str, Any] | None = None,
    metric: str = "fuel_l_per_100km",
    cycles: Sequence[str] | None = None,
    seed: int = 0,
    **run_kwargs,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Global sensitivity of a simulation result to continuous factors, per cycle.

    Samples the factors uniformly within ``bounds`` (Saltelli's scheme, ``n`` a power of 2),
    runs every sample on every cycle as one fleet, and estimates the indices.

    Returns:
        (indices, runs): one row per cycle and factor (``S1``, ``ST`` and their 95 % half-widths),
        and the study's tidy runs with a ``sample`` column.
    """
    baseline = dict(baseline or {})
    cycles = list(cycles) if cycles else [baseline.get("cycle", DEFAULTS["cycle"])]
    x = sobol_sample(bounds, n, seed)
    design = pd.concat(
        [x.assign(cycle=c, sample=np.arange(len(x))) for c in cycles], ignore_index=True
    )
    for name, value in baseline.items():
        if name not in design:
            design[name] = [value] * len(design)
    runs = run_study(design.drop(columns="sample"), **run_kwargs)
    runs.insert(1, "sample", design["sample"].to_numpy())
    indices = []
    for cycle in cycles:
        y = runs.loc[runs["cycle"] == cycle, metric].to_numpy(dtype=float)
        indices.append(sobol_analyze(bounds, y, seed).assign(cycle=cycle, metric=metric))
    return pd.concat(indices, ignore_index=True), runs


def plot_sobol(indices: pd.DataFrame, path: str | Path | None = None):
    """Bars of first-order and total Sobol indices per factor, one panel per cycle, with 95 %
    confidence half-widths."""
    from vehsim.plots import _pyplot

    plt = _pyplot()
    cycles = list(dict.fromkeys(indices["cycle"])) if "cycle" in indices else [None]
    fig, axes = plt.subplots(
        1, len(cycles), figsize=(6 * len(cycles), 4.5), constrained_layout=True, sharey=True
    )
    axes = np.atleast_1d(axes)
    for ax, cycle in zip(axes, cycles, strict=True):
        part = indices if cycle is None else indices[indices["cycle"] == cycle]
        y = np.arange(len(part))
        ax.barh(y - 0.2, part["S1"], 0.4, xerr=part["S1_conf"], label="first order S1")
        ax.barh(y + 0.2, part["ST"], 0.4, xerr=part["ST_conf"], label="total ST")
        ax.set_yticks(y, [factor_label(f) for f in part["factor"]])
        ax.set_xlabel("Sobol index [-] (share of output variance)")
        metric = part["metric"].iloc[0] if "metric" in part else "output"
        ax.set_title(f"{cycle}: {metric}" if cycle else metric)
        ax.axvline(0, color="0.2", lw=0.8)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


__all__ = [
    "DEFAULTS",
    "METRICS",
    "full_factorial",
    "run_study",
    "one_at_a_time",
    "plot_tornado",
    "sobol_problem",
    "sobol_sample",
    "sobol_analyze",
    "sobol_indices",
    "sobol_study",
    "plot_sobol",
    "factor_label",
    "factor_unit",
    "parameter_key",
]
