"""Driver profiles as data: pedal maps, pedal rate limits and red-line lift-off, validated on load.

The parameters live in ``vehsim/data/driver_profiles.yaml`` (user units: % and %/s, with their
sources); :func:`load_driver_profiles` checks every field (type, range, shape of the pedal map)
and returns them in the kernel's units (fractions, fractions per second). The simulator writes a
profile's values into the input columns of the vehicles that use it, so the compiled kernel
reads them per vehicle and never freezes a data file into machine code.

Pure Python, no Numba.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vehsim.errors import ParameterError

#: Profile names in code order (the ``profile`` input column holds the index; the kernel's
#: profile table in ``physics/driver.py`` has one row per name, in this order).
PROFILE_NAMES: tuple[str, ...] = ("eco", "normal", "sport")
#: Pedal positions of the pedal map's points [-] (0, 25, 50, 75 and 100 %).
PEDAL_MAP_POINTS_FRAC: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)

#: (field, unit, min, max) of a profile's scalar fields, in file units.
_PROFILE_FIELDS: tuple[tuple[str, str, float, float], ...] = (
    ("pedal_apply_pct_per_s", "%/s", 10.0, 2_000.0),
    ("pedal_release_pct_per_s", "%/s", 10.0, 2_000.0),
    ("pedal_max_pct", "%", 10.0, 100.0),
)
_LIFTOFF_FIELDS: tuple[tuple[str, str, float, float], ...] = (
    ("redline_frac", "-", 0.5, 1.0),
    ("resume_frac", "-", 0.5, 1.0),
)


@dataclass(frozen=True)
class DriverProfile:
    """One profile in kernel units.

    Attributes:
        name: ``eco``, ``normal`` or ``sport``.
        pedal_map_frac: torque demand [-] at the pedal positions of :data:`PEDAL_MAP_POINTS_FRAC`
            (0 at 0, 1 at 1, strictly increasing).
        pedal_apply_frac_per_s: fastest pedal travel when pressing [1/s].
        pedal_release_frac_per_s: fastest pedal travel when lifting [1/s].
        pedal_max_frac: deepest pedal the profile driver uses [-].
        liftoff_redline_frac, liftoff_resume_frac: engine speed, as a share of its maximum,
            at which the driver lifts off and presses again [-].
    """

    name: str
    pedal_map_frac: tuple[float, ...]
    pedal_apply_frac_per_s: float
    pedal_release_frac_per_s: float
    pedal_max_frac: float
    liftoff_redline_frac: float
    liftoff_resume_frac: float

    def input_values(self) -> dict[str, float]:
        """The profile as values of the simulator's input columns (``layout.INPUT_COLUMNS``)."""
        return {
            "pedal_map_25_frac": self.pedal_map_frac[1],
            "pedal_map_50_frac": self.pedal_map_frac[2],
            "pedal_map_75_frac": self.pedal_map_frac[3],
            "pedal_apply_frac_per_s": self.pedal_apply_frac_per_s,
            "pedal_release_frac_per_s": self.pedal_release_frac_per_s,
            "pedal_max_frac": self.pedal_max_frac,
            "liftoff_redline_frac": self.liftoff_redline_frac,
            "liftoff_resume_frac": self.liftoff_resume_frac,
        }


def _number(origin: str, path: str, value: Any, unit: str, lo: float, hi: float) -> float:
    allowed = f"allowed {lo:g} to {hi:g} {unit}".rstrip()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{origin}: {path} must be a finite number ({allowed}), got {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(f"{origin}: {path} = {value:g} {unit} is out of range ({allowed})")
    return float(value)


def _mapping(origin: str, path: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ParameterError(f"{origin}: {path} must be a mapping, got {type(value).__name__}")
    return value


def _pedal_map(origin: str, path: str, value: Any) -> tuple[float, ...]:
    n = len(PEDAL_MAP_POINTS_FRAC)
    if not isinstance(value, list) or len(value) != n:
        raise ParameterError(
            f"{origin}: {path} must be a list of {n} torque demands [%] at pedal "
            f"{', '.join(f'{p * 100:g}' for p in PEDAL_MAP_POINTS_FRAC)} %, got {value!r}"
        )
    pct = [_number(origin, f"{path}[{k}]", v, "%", 0.0, 100.0) for k, v in enumerate(value)]
    if pct[0] != 0.0 or pct[-1] != 100.0:
        raise ParameterError(
            f"{origin}: {path} must start at 0 % and end at 100 % (no pedal, no torque; full "
            f"pedal, full torque), got {pct[0]:g} and {pct[-1]:g}"
        )
    if any(b <= a for a, b in zip(pct, pct[1:], strict=False)):
        raise ParameterError(f"{origin}: {path} must increase strictly with pedal, got {pct}")
    return tuple(p / 100.0 for p in pct)


def profiles_from_dict(doc: Any, origin: str = "driver profiles") -> dict[str, DriverProfile]:
    """Validate a driver-profiles document; return the profiles by name, in kernel units."""
    doc = _mapping(origin, "the file", doc)
    for key in ("source", "notes"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ParameterError(f"{origin}: '{key}' is required (a non-empty text)")
    unknown = set(doc) - {"name", "source", "notes", "liftoff", "profiles"}
    if unknown:
        raise ParameterError(f"{origin}: unknown field(s) {sorted(unknown)}")
    liftoff = _mapping(origin, "liftoff", doc.get("liftoff"))
    extra = set(liftoff) - {f for f, *_ in _LIFTOFF_FIELDS}
    if extra:
        raise ParameterError(f"{origin}: unknown field(s) in liftoff: {sorted(extra)}")
    lift = {
        f: _number(origin, f"liftoff.{f}", liftoff.get(f), unit, lo, hi)
        for f, unit, lo, hi in _LIFTOFF_FIELDS
    }
    if not lift["resume_frac"] < lift["redline_frac"]:
        raise ParameterError(f"{origin}: liftoff.resume_frac must be below liftoff.redline_frac")
    profiles = _mapping(origin, "profiles", doc.get("profiles"))
    if set(profiles) != set(PROFILE_NAMES):
        raise ParameterError(
            f"{origin}: profiles must be exactly {list(PROFILE_NAMES)}, got {sorted(profiles)}"
        )
    out = {}
    for name in PROFILE_NAMES:
        entry = _mapping(origin, f"profiles.{name}", profiles[name])
        extra = set(entry) - {f for f, *_ in _PROFILE_FIELDS} - {"pedal_map_pct"}
        if extra:
            raise ParameterError(f"{origin}: unknown field(s) in profiles.{name}: {sorted(extra)}")
        values = {
            f: _number(origin, f"profiles.{name}.{f}", entry.get(f), unit, lo, hi) / 100.0
            for f, unit, lo, hi in _PROFILE_FIELDS
        }
        out[name] = DriverProfile(
            name=name,
            pedal_map_frac=_pedal_map(
                origin, f"profiles.{name}.pedal_map_pct", entry.get("pedal_map_pct")
            ),
            pedal_apply_frac_per_s=values["pedal_apply_pct_per_s"],
            pedal_release_frac_per_s=values["pedal_release_pct_per_s"],
            pedal_max_frac=values["pedal_max_pct"],
            liftoff_redline_frac=lift["redline_frac"],
            liftoff_resume_frac=lift["resume_frac"],
        )
    return out


def load_driver_profiles(path: str | Path | None = None) -> dict[str, DriverProfile]:
    """The driver profiles of ``path`` (default: the shipped ``driver_profiles.yaml``)."""
    if path is None:
        return _shipped()
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"driver profiles file {path} does not exist")
    return _parse(path.read_text(), str(path))


@functools.cache
def _shipped() -> dict[str, DriverProfile]:
    text = resources.files("vehsim").joinpath("data", "driver_profiles.yaml").read_text()
    return _parse(text, "driver_profiles.yaml")


def _parse(text: str, origin: str) -> dict[str, DriverProfile]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"{origin}: not valid YAML ({exc})") from exc
    return profiles_from_dict(doc, origin)


#: Old spellings of profile names that are still accepted (with a deprecation warning where a
#: person typed them): old name -> current name.
PROFILE_ALIASES: dict[str, str] = {"aggressive": "sport"}


def profile_index(name: str, origin: str = "driver profile", warn: bool = True) -> int:
    """The code of profile ``name`` (an alias counts, with a DeprecationWarning if ``warn``)."""
    if name in PROFILE_ALIASES:
        current = PROFILE_ALIASES[name]
        if warn:
            warnings.warn(
                f"{origin}: profile {name!r} is now called {current!r}; the old name will go",
                DeprecationWarning,
                stacklevel=3,
            )
        name = current
    if name not in PROFILE_NAMES:
        raise ParameterError(f"{origin} must be one of {list(PROFILE_NAMES)}, got {name!r}")
    return PROFILE_NAMES.index(name)
