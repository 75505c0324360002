"""Calibration of the generic models on the EPA Test Car List calibration subset.

Only global, physically meaningful parameters are fitted (indicated efficiency, friction and
pumping levels, cold-start enrichment, gearbox losses by type); no vehicle gets a parameter of
its own, so the result can be checked on vehicles held out of the calibration. The objective is
robust (median absolute errors plus a smooth count of vehicles outside ±10%), so that a few
atypical cars (track-focused supercars, mild hybrids) do not pull the population fit.

Generalisation is measured, not assumed: :func:`cross_validate` runs the same procedure k times
(5 folds by default), each time calibrating on four fifths of the subset and predicting the
fifth it did not see, from the same literature start (``PRIOR``) rather than from the shipped
values (those were fitted on all 45 cars, so starting from them would leak the held-out cars
into every fold). Every evaluation is one fleet run: all cars of a fold in one kernel call.

    python experiments/calibration.py [max_evals] [prior|shipped]          # all 45 cars
    python experiments/calibration.py --cv [max_evals] [k] [results.csv]   # k-fold CV
    (either with --fix=section.key=value to hold a parameter instead of fitting it and
    --prior-weight=W to weigh the prior otherwise than PRIOR_WEIGHT, 0 for none; --cv with
    --seed=N to deal the cars into other folds than CV_SEED's)
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vehsim import testcar
from vehsim.validate import BAG_RATIO_BAND, BAG_RATIO_MEDIAN_EPA, summary, validate_testcars

#: (section, key) of every fitted global parameter, with bounds. These are the parameters the
#: subset informs: each moves the errors of many cars, or of a whole gearbox type, by a per cent
#: or more over its range. The overrun cut-off (speed, delay), the intake pressure's load scale,
#: the converter's stall torque ratio and the cylinder deactivation window moved every car's
#: error by about the same few hundredths of a point per 5% of their range, as the indicated
#: efficiency does, so their fold fits wandered with no gain: they hold typical values in
#: generic_models.yaml (docs/validation.md, Calibration).
FITTED: tuple[tuple[str, str, float, float], ...] = (
    ("engine", "eta_indicated", 0.33, 0.47),
    ("engine", "friction_scale", 0.35, 1.0),
    ("engine", "friction_specific_power_exponent", 0.0, 1.2),
    ("engine", "accessory_power_w_per_kw", 0.0, 5.0),
    ("engine", "pumping_mep_idle_pa", 15_000.0, 70_000.0),
    ("engine", "cold_enrichment_gain", 0.05, 0.8),
    ("gearbox", "spin_loss_nm_automatic", 0.5, 8.0),
    ("gearbox", "spin_loss_nm_cvt", 0.0, 8.0),
    ("gearbox", "spin_loss_nm_automated_manual", 0.0, 8.0),
    ("gearbox", "efficiency_cvt", 0.85, 0.98),
    ("gearbox", "shift_eco_bias", -1.0, 1.5),
    ("gearbox", "shift_eco_bias_manual", -5.0, 0.0),
    ("engine", "idle_speed_rpm", 600.0, 800.0),
)
#: Where every calibration starts: values from the literature and from typical engines, not
#: fitted to the subset (Heywood 1988: indicated efficiency ~0.38, part-load pumping ~0.4 bar;
#: modern low-friction engines ~70% of Heywood's eq. 13.22; idle ~700 rpm).
PRIOR: dict[tuple[str, str], float] = {
    ("engine", "eta_indicated"): 0.38,
    ("engine", "friction_scale"): 0.7,
    ("engine", "friction_specific_power_exponent"): 0.5,
    ("engine", "accessory_power_w_per_kw"): 1.0,
    ("engine", "pumping_mep_idle_pa"): 40_000.0,
    ("engine", "cold_enrichment_gain"): 0.2,
    ("gearbox", "spin_loss_nm_automatic"): 2.0,
    ("gearbox", "spin_loss_nm_cvt"): 2.0,
    ("gearbox", "spin_loss_nm_automated_manual"): 2.0,
    ("gearbox", "efficiency_cvt"): 0.92,
    ("gearbox", "shift_eco_bias"): 0.0,
    ("gearbox", "shift_eco_bias_manual"): -3.0,  # light-pedal upshift near 2500 rpm
    ("engine", "idle_speed_rpm"): 700.0,
}
#: How far the literature leaves each fitted parameter from :data:`PRIOR` (one standard
#: deviation of a Gaussian prior, in the parameter's unit). The objective adds
#: ``PRIOR_WEIGHT ((value - prior) / sd)²`` for each, so a parameter leaves its prior only as far
#: as the cars insist (a maximum a posteriori estimate, ridge-like: Tikhonov regularisation). Wide
#: where the subset pins a parameter down on its own (indicated efficiency, idle speed, the
#: gearbox losses: their fold values agree); narrow where two parameters trade against each other
#: or few cars inform one, which otherwise wander from fold to fold and predict the held-out cars
#: worse (docs/validation.md): friction level against its growth with specific power, accessory
#: load against part-load pumping, the manual shift schedule (three cars).
PRIOR_SD: dict[tuple[str, str], float] = {
    # modern engines: 0.6-0.8 of Heywood's eq. 13.22 (roller followers, low-tension rings)
    ("engine", "friction_scale"): 0.1,
    # high-output engines carry somewhat more friction per litre; a square-root growth, ±0.25
    ("engine", "friction_specific_power_exponent"): 0.25,
    # alternator and engine-driven pumps in the test cell: ~0.5-1.5 W per kW of rated power
    ("engine", "accessory_power_w_per_kw"): 0.5,
    # part-load pumping of a throttled engine at light load: ~0.3-0.5 bar (Heywood 1988, §13.4)
    ("engine", "pumping_mep_idle_pa"): 10_000.0,
    # the test driver's upshift at light pedal, ±150 rpm (40 CFR 86.128: the manufacturer's
    # recommended shift points)
    ("gearbox", "shift_eco_bias_manual"): 0.5,
}
#: Weight of the prior [objective points per squared standard deviation]: one standard
#: deviation from the prior costs as much as two cars outside ±10% (``OUTSIDE_WEIGHT``). Chosen
#: among 0.5, 1 and 2 by cross-validation on two dealings of the folds (docs/validation.md): at
#: 2 the cars move the friction growth a little from its prior and leave the others there.
PRIOR_WEIGHT = 2.0
#: Folds of the cross-validation and the seed that deals the cars into them.
CV_FOLDS = 5
CV_SEED = 2022
#: Weight of each vehicle outside ±10% (the acceptance counts them) [objective points].
OUTSIDE_WEIGHT = 1.0
#: Width of the smooth step that counts a vehicle outside ±10% [% points]. A car a few points
#: beyond the line still tells the optimiser which way is in: with a 1-point step the count was
#: flat there, and a parameter that moves only a few cars (the manual shift schedule) was left
#: where they sat 5-6 points outside. Far beyond (track cars 35-40% off) it saturates, so they
#: still do not pull the population fit.
OUTSIDE_WIDTH_PCT = 2.5
#: Weight of each vehicle whose bag 3 / bag 1 leaves 1.08-1.22 [objective points].
BAG_OUTSIDE_WEIGHT = 0.5


def _logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


#: First simplex of a Nelder-Mead run: steps of this share of each parameter's range; every
#: restart from the best point so far takes half the step of the run before.
SIMPLEX_STEP_FRAC = 0.12
#: A restart that improves the objective by less than this ends the search [objective points].
RESTART_MIN_GAIN = 0.02


def _nelder_mead_restarts(f: Callable[[np.ndarray], float], n: int, max_evals: int) -> np.ndarray:
    """Minimise ``f`` over ``n`` scaled parameters from 0 with Nelder-Mead, restarted from its best
    point with a fresh, smaller simplex until the budget is spent or a restart gains nothing.

    A simplex in many dimensions collapses onto a subspace on a rough objective (medians and
    counts) and stops short of the minimum; a restart rebuilds it around the best point, the
    usual remedy (Kelley, "Detection and remediation of stagnation in the Nelder-Mead algorithm
    using a sufficient decrease condition", SIAM J. Optim. 10, 1999). Above 8 parameters the
    expansion and contraction coefficients adapt to the dimension (Gao and Han, "Implementing the
    Nelder-Mead simplex algorithm with adaptive parameters", Comput. Optim. Appl. 51, 2012).
    """
    from scipy.optimize import minimize  # ~0.5 s, and only a calibration needs it

    x, best, step, used = np.zeros(n), np.inf, SIMPLEX_STEP_FRAC, 0
    while max_evals - used > 2 * (n + 1):
        res = minimize(
            f,
            x,
            method="Nelder-Mead",
            options={
                "maxfev": max_evals - used,
                "initial_simplex": np.vstack([x, x + step * np.eye(n)]),
                "xatol": 1e-3,
                "fatol": 1e-3,
                "adaptive": n > 8,
            },
        )
        used += res.nfev
        gain = best - res.fun
        if res.fun < best:
            x, best = res.x, res.fun
        if gain < RESTART_MIN_GAIN:
            break
        step /= 2
    return x


def _apply(base: dict, x: Sequence[float], fitted=FITTED) -> dict:
    models = copy.deepcopy(base)
    for (section, key, lo, hi), value in zip(fitted, x, strict=True):
        models[section][key] = float(np.clip(value, lo, hi))
    return models


def _with_fixed(fixed: dict[tuple[str, str], float] | None) -> tuple[dict, tuple]:
    """The generic models with ``fixed`` parameters set, and the parameters left to fit."""
    base = copy.deepcopy(testcar.generic_models())
    for (section, key), value in (fixed or {}).items():
        base[section][key] = float(value)
    return base, tuple(p for p in FITTED if (p[0], p[1]) not in (fixed or {}))


def evaluate(frame: pd.DataFrame, models: dict) -> pd.DataFrame:
    """Validation results with the generic models replaced by ``models`` (one fleet run; every
    car of the calibration subset must build)."""
    return validate_testcars(frame, models=models, strict=True)


def prior_penalty(values: dict[tuple[str, str], float], weight: float = PRIOR_WEIGHT) -> float:
    """Distance of fitted ``values`` from :data:`PRIOR` in prior standard deviations, squared
    and weighted (only the parameters of :data:`PRIOR_SD`) [objective points]."""
    return weight * sum(
        ((value - PRIOR[p]) / PRIOR_SD[p]) ** 2 for p, value in values.items() if p in PRIOR_SD
    )


def objective(results: pd.DataFrame) -> float:
    """Median absolute errors plus a smooth count of vehicles outside ±10% (the acceptance
    figures), the distance of the bag 3 / bag 1 median from EPA's 1.147 and a smooth count of
    vehicles whose bag 3 / bag 1 leaves 1.08-1.22."""
    ratio = results["bag3_over_bag1_pred"].to_numpy()
    total = abs(float(np.median(ratio)) - BAG_RATIO_MEDIAN_EPA) * 100
    low, high = BAG_RATIO_BAND
    # Vehicles whose bag 3 / bag 1 leaves EPA's 1.08-1.22 band (the acceptance counts them).
    total += BAG_OUTSIDE_WEIGHT * float(
        (_logistic((low - ratio) / 0.005) + _logistic((ratio - high) / 0.005)).sum()
    )
    for key in ("ftp", "hwfe"):
        err = results[f"{key}_error_pct"].abs().to_numpy()
        outside = _logistic((err - 10.0) / OUTSIDE_WIDTH_PCT)
        total += float(np.median(err)) + OUTSIDE_WEIGHT * float(outside.sum())
    return total


def calibrate(
    frame: pd.DataFrame,
    max_evals: int = 300,
    progress: Callable[[int, float], None] | None = None,
    start: str = "prior",
    fixed: dict[tuple[str, str], float] | None = None,
    prior_weight: float = PRIOR_WEIGHT,
) -> tuple[dict, pd.DataFrame]:
    """Fit the global parameters with Nelder-Mead (restarted until it stops gaining); return the
    models and their results. The objective is :func:`objective` plus :func:`prior_penalty`
    (``prior_weight``, 0 for none).

    ``start``: ``"prior"`` (:data:`PRIOR`, what cross-validation uses) or ``"shipped"`` (the
    values in generic_models.yaml, to refine them). ``fixed``: parameters of :data:`FITTED` held
    at a given value instead of fitted.
    """
    base, fitted = _with_fixed(fixed)
    if start == "prior":
        x0 = np.array([PRIOR[(s, k)] for s, k, *_ in fitted], dtype=float)
    else:
        x0 = np.array([base[s][k] for s, k, *_ in fitted], dtype=float)
    scale = np.array([hi - lo for *_, lo, hi in fitted])
    count = [0]

    def f(z):
        count[0] += 1
        models = _apply(base, x0 + z * scale, fitted)
        value = objective(evaluate(frame, models)) + prior_penalty(
            {(s, k): models[s][k] for s, k, *_ in fitted}, prior_weight
        )
        if progress:
            progress(count[0], value)
        return value

    z = _nelder_mead_restarts(f, len(fitted), max_evals)
    models = _apply(base, x0 + z * scale, fitted)
    return models, evaluate(frame, models)


def folds(n_cars: int, k: int = CV_FOLDS, seed: int = CV_SEED) -> list[np.ndarray]:
    """Positions of the held-out cars of each of ``k`` folds (a seeded shuffle, dealt in turn)."""
    order = np.random.default_rng(seed).permutation(n_cars)
    return [np.sort(order[i::k]) for i in range(k)]


def cross_validate(
    frame: pd.DataFrame,
    max_evals: int = 300,
    k: int = CV_FOLDS,
    progress: Callable[[int, int, float], None] | None = None,
    fixed: dict[tuple[str, str], float] | None = None,
    seed: int = CV_SEED,
    prior_weight: float = PRIOR_WEIGHT,
) -> tuple[pd.DataFrame, list[dict]]:
    """k-fold cross-validation of :func:`calibrate` (from :data:`PRIOR`, ``fixed`` held; the cars
    dealt into folds by ``seed``).

    Returns the held-out results (one row per car, predicted by the models of the fold that did
    not see it, in the frame's order, with a ``fold`` column) and each fold's fitted values.
    """
    parts, fitted = [], []
    for fold, held_out in enumerate(folds(len(frame), k, seed)):
        train = frame.drop(frame.index[held_out])
        models, _ = calibrate(
            train,
            max_evals,
            progress=None if progress is None else (lambda n, v, f=fold: progress(f, n, v)),
            fixed=fixed,
            prior_weight=prior_weight,
        )
        results = evaluate(frame.iloc[held_out], models)
        results.index = frame.index[held_out]
        parts.append(results.assign(fold=fold))
        fitted.append({f"{s}.{key}": models[s][key] for s, key, *_ in FITTED})
    return pd.concat(parts).sort_index(), fitted


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith(("--fix=", "--seed=", "--prior-weight="))]
    seeds = [int(a[len("--seed=") :]) for a in sys.argv[1:] if a.startswith("--seed=")]
    weights = [float(a.split("=")[1]) for a in sys.argv[1:] if a.startswith("--prior-weight=")]
    prior_weight = weights[-1] if weights else PRIOR_WEIGHT
    # --fix=section.key=value holds a parameter of FITTED at a value (repeatable)
    fixed = {
        tuple(a[len("--fix=") :].split("=")[0].split(".", 1)): float(a.split("=")[-1])
        for a in sys.argv[1:]
        if a.startswith("--fix=")
    }
    frame = testcar.calibration_frame()
    if args[:1] == ["--cv"]:
        evals = int(args[1]) if len(args) > 1 else 300
        k = int(args[2]) if len(args) > 2 else CV_FOLDS
        out = Path(args[3]) if len(args) > 3 else Path("calibration_cv_results.csv")
        results, fitted = cross_validate(
            frame,
            evals,
            k,
            progress=lambda f, n, v: (
                _log(f"fold {f}: eval {n}: objective {v:.3f}") if n % 25 == 0 else None
            ),
            fixed=fixed,
            seed=seeds[-1] if seeds else CV_SEED,
            prior_weight=prior_weight,
        )
        results.to_csv(out, index=False)
        print(json.dumps({"cross_validated": summary(results), "folds": fitted}))
    else:
        models, results = calibrate(
            frame,
            max_evals=int(args[0]) if args else 200,
            progress=lambda n, v: _log(f"eval {n}: objective {v:.3f}") if n % 10 == 0 else None,
            start=args[1] if len(args) > 1 else "shipped",
            fixed=fixed,
            prior_weight=prior_weight,
        )
        print(json.dumps({s + "." + k: models[s][k] for s, k, *_ in FITTED}, indent=1))
        print(json.dumps(summary(results)))
