"""Drive cycles: the standard ones shipped with vehsim, or a user's CSV.

A cycle is a 1 Hz speed trace with optional grade: CSV columns ``time_s,speed_mps[,grade]``
(grade as rise/run). Sources of the shipped cycles: ``vehsim/data/SOURCES.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from vehsim.errors import CycleError

#: Name -> file of the cycles shipped with vehsim.
STANDARD_CYCLES = {
    "udds": "udds.csv",
    "hwfet": "hwfet.csv",
    "us06": "us06.csv",
    "wltc3b": "wltc_3b.csv",
}

#: FTP-75 bag boundaries on the UDDS trace [s] (40 CFR 86.137: bag 1 is the first 505 s).
UDDS_BAG1_END_S = 505


@dataclass(frozen=True)
class Cycle:
    """A speed trace at 1 Hz starting at 0 s."""

    name: str
    time_s: np.ndarray
    speed_mps: np.ndarray
    grade_frac: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1])

    @property
    def distance_m(self) -> float:
        return float(np.trapezoid(self.speed_mps, self.time_s))

    def slice(self, start_s: int, end_s: int, name: str | None = None) -> Cycle:
        """The part from ``start_s`` to ``end_s`` (inclusive), re-based to start at 0 s."""
        sel = slice(start_s, end_s + 1)
        return Cycle(
            name or f"{self.name}[{start_s}:{end_s}]",
            self.time_s[sel] - start_s,
            self.speed_mps[sel],
            self.grade_frac[sel],
        )


def list_cycles() -> list[str]:
    return sorted(STANDARD_CYCLES)


def from_frame(frame: pd.DataFrame, name: str) -> Cycle:
    """Validate a trace (``time_s``, ``speed_mps``, optional ``grade``) and resample to 1 Hz."""
    missing = [c for c in ("time_s", "speed_mps") if c not in frame.columns]
    if missing:
        raise CycleError(
            f"cycle {name}: missing column(s) {missing}; need time_s,speed_mps[,grade]"
        )
    try:
        t = frame["time_s"].to_numpy(dtype=float)
        v = frame["speed_mps"].to_numpy(dtype=float)
        g = frame["grade"].to_numpy(dtype=float) if "grade" in frame else np.zeros_like(t)
    except (TypeError, ValueError) as exc:
        raise CycleError(f"cycle {name}: columns must be numbers ({exc})") from exc
    if len(t) < 2:
        raise CycleError(f"cycle {name}: needs at least 2 rows")
    for col, arr in (("time_s", t), ("speed_mps", v), ("grade", g)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise CycleError(f"cycle {name}: {col} is not a finite number at row {bad[0] + 1}")
    if t[0] != 0.0 or np.any(np.diff(t) <= 0):
        raise CycleError(f"cycle {name}: time_s must start at 0 and increase strictly")
    if np.any(v < 0) or np.any(v > 70):
        raise CycleError(f"cycle {name}: speed_mps must be within 0 to 70 m/s")
    if np.any(np.abs(g) > 0.3):
        raise CycleError(f"cycle {name}: grade must be within -0.3 to 0.3 (rise/run)")
    grid = np.arange(0.0, np.floor(t[-1]) + 1.0)
    return Cycle(name, grid, np.interp(grid, t, v), np.interp(grid, t, g))


def load_cycle(name_or_path: str | Path) -> Cycle:
    """A standard cycle by name (``udds``, ``hwfet``, ``us06``, ``wltc3b``) or a CSV file."""
    key = str(name_or_path).lower().replace("_", "").replace("-", "")
    if key in STANDARD_CYCLES:
        resource = resources.files("vehsim").joinpath("data", "cycles", STANDARD_CYCLES[key])
        with resources.as_file(resource) as path:
            return from_frame(pd.read_csv(path), key)
    path = Path(name_or_path)
    if not path.is_file():
        raise CycleError(
            f"unknown cycle {str(name_or_path)!r}: use one of {list_cycles()} or a CSV file path"
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CycleError(f"cycle {path}: not a readable CSV ({exc})") from exc
    return from_frame(frame, path.stem)
