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
profile        "eco", "normal", "sport"    driver profile: the profile driver's style and
                                           the pedal feel (old name "aggressive": sport)
inject_fault   {"name", "severity" 0..1,   inject a fault (``vehsim.faults``); onset_s
               "onset_s" >= 0} or           counts from the moment the command applies
               "NAME[:SEVERITY[@ONSET_S]]"
clear_fault    a fault name, or "all"      repair the fault (its codes stay until cleared)
clear_dtc      (none)                      clear codes, freeze frame and MIL (OBD mode 04)
============== =========================== ==========================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vehsim.errors import CommandError, ParameterError
from vehsim.faults import FAULT_NAMES, FaultSpec, fault_spec_from_mapping
from vehsim.physics.driver import PROFILE_ALIASES, PROFILE_NAMES

COMMAND_TYPES = (
    "start_engine",
    "stop_engine",
    "throttle",
    "brake",
    "gear_mode",
    "gear",
    "profile",
    "inject_fault",
    "clear_fault",
    "clear_dtc",
)
GEAR_MODES = ("auto", "manual")
MAX_GEAR = 10


@dataclass(frozen=True)
class Command:
    """A validated driver command. ``value`` is a float (pedals in %, gear), a name, or for
    ``inject_fault`` the validated fault as a JSON object ``{name, severity, onset_s}`` (it is
    echoed in events as it is; :meth:`fault_spec` gives the :class:`~vehsim.faults.FaultSpec`)."""

    type: str
    value: float | str | dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.value is not None:
            out["value"] = self.value
        return out

    def fault_spec(self) -> FaultSpec:
        """The fault of an ``inject_fault`` command."""
        if self.type != "inject_fault" or not isinstance(self.value, dict):
            raise CommandError(f"{self.type}: not an inject_fault command", field="type")
        return FaultSpec(**self.value)


#: Longest ``repr`` of a received value quoted in an error message [characters].
_SHOWN_CHARS = 60


def _show(value: Any) -> str:
    """A received value for an error message: its ``repr``, cut short, never raising.

    Integers too large for a float are described, not printed (printing one costs quadratic time).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}..."


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is not a number or not representable.

    ``math.isfinite`` raises ``OverflowError`` on an integer beyond the float range (JSON allows
    ``1`` followed by 400 zeros); that is an out-of-range number, not a crash.
    """
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _pct(value: Any, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(
            f"{kind}: value must be a number from 0 to 100 (%), got {_show(value)}",
            field="value",
            reason="wrong_type",
        )
    number = _finite(value)
    if number is None:
        raise CommandError(
            f"{kind}: value must be a finite number from 0 to 100 (%), got {_show(value)}",
            field="value",
            reason="out_of_range",
        )
    value = number
    if not 0.0 <= value <= 100.0:
        raise CommandError(
            f"{kind}: value {value:g} % is out of range (0 to 100 %)",
            field="value",
            reason="out_of_range",
        )
    return float(value)


def _show_message(text: str) -> str:
    """An error message that quotes received text, cut to a readable length."""
    return text if len(text) <= 4 * _SHOWN_CHARS else f"{text[: 4 * _SHOWN_CHARS]}..."


def parse_command(obj: Mapping[str, Any]) -> Command:
    """Validate a command mapping; raise :class:`CommandError` naming the field and range."""
    if not isinstance(obj, Mapping):
        raise CommandError(
            f"a command must be an object, got {type(obj).__name__}", field=None, reason="malformed"
        )
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in COMMAND_TYPES:  # unhashable types too
        raise CommandError(
            f"type must be one of {list(COMMAND_TYPES)}, got {_show(kind)}",
            field="type",
            reason="unknown_type" if kind is not None else "missing_field",
        )
    value = obj.get("value")
    if kind in ("start_engine", "stop_engine", "clear_dtc"):
        return Command(kind)
    if "value" not in obj:
        raise CommandError(f"{kind}: value is required", field="value", reason="missing_field")
    if kind in ("throttle", "brake"):
        return Command(kind, _pct(value, kind))
    if kind == "gear_mode":
        if not isinstance(value, str) or value not in GEAR_MODES:
            raise CommandError(
                f"gear_mode: value must be one of {list(GEAR_MODES)}, got {_show(value)}",
                field="value",
                reason="out_of_range",
            )
        return Command(kind, value)
    if kind == "gear":
        number = None
        if not isinstance(value, bool) and isinstance(value, (int, float)):
            number = _finite(value)
        if number is None or int(number) != number or not 1 <= number <= MAX_GEAR:
            raise CommandError(
                f"gear: value must be a whole number from 1 to {MAX_GEAR}, got {_show(value)}",
                field="value",
                reason="out_of_range",
            )
        return Command(kind, number)
    if kind == "inject_fault":
        if not isinstance(value, (str, Mapping)):
            raise CommandError(
                "inject_fault: value must be an object {name, severity, onset_s} or a string "
                f"NAME[:SEVERITY[@ONSET_S]], got {_show(value)}",
                field="value",
                reason="wrong_type",
            )
        try:
            spec = fault_spec_from_mapping(
                dict(value) if isinstance(value, Mapping) else value, "inject_fault"
            )
        except ParameterError as exc:
            reason = "unknown_fault" if "unknown fault" in str(exc) else "out_of_range"
            raise CommandError(_show_message(str(exc)), field="value", reason=reason) from None
        return Command(kind, spec.as_dict())
    if kind == "clear_fault":
        if not isinstance(value, str) or value not in (*FAULT_NAMES, "all"):
            raise CommandError(
                f"clear_fault: value must be 'all' or one of {list(FAULT_NAMES)}, got {_show(value)}",
                field="value",
                reason="unknown_fault",
            )
        return Command(kind, value)
    if not isinstance(value, str) or value not in (*PROFILE_NAMES, *PROFILE_ALIASES):
        raise CommandError(
            f"profile: value must be one of {list(PROFILE_NAMES)}, got {_show(value)}",
            field="value",
            reason="out_of_range",
        )
    return Command(kind, value)
