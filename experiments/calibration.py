"""Calibration of the generic models on the EPA Test Car List calibration subset.

Only global, physically meaningful parameters are fitted (indicated efficiency, friction and
pumping levels, cold-start enrichment, gearbox losses by type); no vehicle gets a parameter of
its own, so the result can be checked on vehicles held out of the calibration. The objective is
robust (absolute percentage errors capped at 25%) so that a few atypical cars (supercars,
mild hybrids) do not pull the population fit.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from vehsim import testcar
from vehsim.validate import summary, validate_testcars

#: (section, key) of every fitted global parameter, with bounds.
FITTED: tuple[tuple[str, str, float, float], ...] = (
    ("engine", "eta_indicated", 0.33, 0.47),
    ("engine", "friction_scale", 0.35, 1.0),
    ("engine", "friction_specific_power_exponent", 0.0, 1.2),
    ("engine", "pumping_mep_idle_pa", 15_000.0, 70_000.0),
    ("engine", "cold_enrichment_gain", 0.05, 0.8),
    ("engine", "atmospheric_bmep_pa", 700_000.0, 1_300_000.0),
    ("gearbox", "spin_loss_nm_automatic", 0.5, 8.0),
    ("gearbox", "spin_loss_nm_cvt", 0.0, 8.0),
    ("gearbox", "spin_loss_nm_automated_manual", 0.0, 8.0),
    ("gearbox", "efficiency_cvt", 0.85, 0.98),
)
ERROR_CAP_PCT = 25.0
BAG_RATIO_TARGET = 1.147


def _apply(base: dict, x: Sequence[float]) -> dict:
    models = copy.deepcopy(base)
    for (section, key, lo, hi), value in zip(FITTED, x, strict=True):
        models[section][key] = float(np.clip(value, lo, hi))
    return models


def evaluate(frame: pd.DataFrame, models: dict) -> pd.DataFrame:
    """Validation results with the generic models replaced by ``models``."""
    original = testcar.generic_models
    testcar.generic_models = lambda: models  # type: ignore[assignment]
    try:
        return validate_testcars(frame)
    finally:
        testcar.generic_models = original


def objective(results: pd.DataFrame) -> float:
    ftp = results["ftp_error_pct"].abs().clip(upper=ERROR_CAP_PCT).mean()
    hwfe = results["hwfe_error_pct"].abs().clip(upper=ERROR_CAP_PCT).mean()
    bag = abs(results["bag3_over_bag1_pred"].median() - BAG_RATIO_TARGET) * 100
    return float(ftp + hwfe + bag)


def calibrate(frame: pd.DataFrame, max_evals: int = 300,
              progress: Callable[[int, float], None] | None = None) -> tuple[dict, pd.DataFrame]:
    """Fit the global parameters with Nelder-Mead; return the models and their results."""
    from scipy.optimize import minimize

    base = testcar.generic_models()
    x0 = np.array([base[s][k] for s, k, *_ in FITTED], dtype=float)
    scale = np.array([hi - lo for *_, lo, hi in FITTED])
    count = [0]

    def f(z):
        count[0] += 1
        value = objective(evaluate(frame, _apply(base, x0 + z * scale)))
        if progress:
            progress(count[0], value)
        return value

    n = len(FITTED)
    simplex = np.vstack([np.zeros(n), 0.12 * np.eye(n)])  # steps of 12% of each range
    res = minimize(f, np.zeros(n), method="Nelder-Mead",
                   options={"maxfev": max_evals, "initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-3})
    models = _apply(base, x0 + res.x * scale)
    return models, evaluate(frame, models)


if __name__ == "__main__":
    import sys

    frame = testcar.calibration_frame()
    models, results = calibrate(frame, max_evals=int(sys.argv[1]) if len(sys.argv) > 1 else 200,
                                progress=lambda n, v: print(f"eval {n}: objective {v:.3f}", file=sys.stderr)
                                if n % 10 == 0 else None)
    print(json.dumps({s + "." + k: models[s][k] for s, k, *_ in FITTED}, indent=1))
    print(json.dumps(summary(results)))
