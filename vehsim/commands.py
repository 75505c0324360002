"""Driver commands: what a person (or the commands topic) can ask of a car, validated.

Wire form: ``{"type": "throttle", "value": 40}``. Types and values:

============== =========================== ==========================================
type           value                       effect
============== =========================== ==========================================
start_engine   (none)                      crank and start the engine
stop_engine    (none)                      switch the engine off
throttle       0 to 100 [%]                accelerator pedal position
brake          0 to 100 [%]                brake pedal position
gear_mode      "auto" or "manual"          automatic shifting, or hold ``gear``
gear           1 to number of gears        gear to hold in manual mode
profile        "eco", "normal", "aggressive"  driving style of the profile driver
============== =========================== ==========================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vehsim.errors import CommandError
from vehsim.physics.driver import PROFILE_NAMES

COMMAND_TYPES = ("start_engine", "stop_engine", "throttle", "brake", "gear_mode", "gear", "profile")
GEAR_MODES = ("auto", "manual")
MAX_GEAR = 10


@dataclass(frozen=True)
class Command:
    """A validated driver command. ``value`` is a float (pedals in %, gear) or a name."""

    type: str
    value: float | str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.value is not None:
            out["value"] = self.value
        return out


def _pct(value: Any, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(
            f"{kind}: value must be a number from 0 to 100 (%), got {value!r}",
            field="value",
            reason="wrong_type",
        )
    if not math.isfinite(value):
        raise CommandError(
            f"{kind}: value must be a finite number from 0 to 100 (%), got {value!r}",
            field="value",
            reason="out_of_range",
        )
    if not 0.0 <= value <= 100.0:
        raise CommandError(
            f"{kind}: value {value:g} % is out of range (0 to 100 %)",
            field="value",
            reason="out_of_range",
        )
    return float(value)


def parse_command(obj: Mapping[str, Any]) -> Command:
    """Validate a command mapping; raise :class:`CommandError` naming the field and range."""
    if not isinstance(obj, Mapping):
        raise CommandError(
            f"a command must be an object, got {type(obj).__name__}", field=None, reason="malformed"
        )
    kind = obj.get("type")
    if kind not in COMMAND_TYPES:
        raise CommandError(
            f"type must be one of {list(COMMAND_TYPES)}, got {kind!r}",
            field="type",
            reason="unknown_type" if kind is not None else "missing_field",
        )
    value = obj.get("value")
    if kind in ("start_engine", "stop_engine"):
        return Command(kind)
    if "value" not in obj:
        raise CommandError(f"{kind}: value is required", field="value", reason="missing_field")
    if kind in ("throttle", "brake"):
        return Command(kind, _pct(value, kind))
    if kind == "gear_mode":
        if value not in GEAR_MODES:
            raise CommandError(
                f"gear_mode: value must be one of {list(GEAR_MODES)}, got {value!r}",
                field="value",
                reason="out_of_range",
            )
        return Command(kind, value)
    if kind == "gear":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or int(value) != value
            or not 1 <= value <= MAX_GEAR
        ):
            raise CommandError(
                f"gear: value must be a whole number from 1 to {MAX_GEAR}, got {value!r}",
                field="value",
                reason="out_of_range",
            )
        return Command(kind, float(value))
    if value not in PROFILE_NAMES:
        raise CommandError(
            f"profile: value must be one of {list(PROFILE_NAMES)}, got {value!r}",
            field="value",
            reason="out_of_range",
        )
    return Command(kind, value)
