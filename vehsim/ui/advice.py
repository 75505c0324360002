"""The diagnosis and coaching panel: what the dashboard shows of ``vehsim score``'s events.

``vehsim score`` (``experiments/score.py``) publishes, per car, a ``diagnostic.prediction`` for
each scored window (the fault a model sees, its probability, the model and version) and a
``driver.coaching`` per minute (advice with the fuel estimate it rests on, and the driving style a
classifier sees); ``docs/events.md`` has the payloads. This module turns them into display rows,
with no widgets and no I/O, the same in local and connected mode:

    panel = NO_ADVICE
    for event in events_of_the_followed_car:
        panel = apply_advice_event(panel, event)
    rows = advice_rows(panel)   # [AdviceRow(kind, label, text, detail, level), ...]

A payload that lacks what a row needs leaves the panel as it was; an event about an older window
of the same telemetry run than the one shown does not replace it. A source that knows why nothing
comes (local mode without a champion model, :mod:`vehsim.ui.scoring`) says so in the panel's
``note``, the row shown while there is nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from vehsim.events import DIAGNOSTIC_PREDICTION, DRIVER_COACHING, NO_FAULT
from vehsim.faults import FAULTS

#: Probability from which a diagnosed fault is shown as an alert rather than a warning [-]: the
#: model is then right four times in five by its own account; below, the row says "possible".
ALERT_PROBABILITY = 0.8
#: Extra fuel from which coaching is shown as a warning rather than as information [%]: the low
#: end of the published effect of aggressive driving (10 % lower mileage, about 11 % more fuel;
#: ``vehsim_experiments.score.AGGRESSIVE_MILEAGE_LOSS``) halved.
WARN_EXCESS_FUEL_PCT = 5.0

#: Display levels of a row, calmest first (the dashboard maps them to its colours).
LEVELS = ("info", "ok", "warn", "alert")

_FAULTS = {f.name: f for f in FAULTS}


@dataclass(frozen=True)
class Diagnosis:
    """The latest ``diagnostic.prediction`` of a car."""

    fault: str
    probability: float | None
    model: str
    model_version: str
    source_run_id: str
    window_end_s: float


@dataclass(frozen=True)
class Coaching:
    """The latest ``driver.coaching`` of a car."""

    advice: str
    habit: str
    excess_fuel_pct: float | None
    basis: str
    source_run_id: str
    window_end_s: float
    fuel_l_per_100km: float | None = None
    eco_fuel_l_per_100km: float | None = None
    trip_distance_km: float | None = None
    harsh_accel_count: int | None = None
    harsh_brake_count: int | None = None
    fuel_model: str | None = None
    fuel_model_version: str | None = None
    style: str | None = None
    style_probability: float | None = None
    style_model: str | None = None
    style_model_version: str | None = None


@dataclass(frozen=True)
class AdvicePanel:
    """What the panel knows of one car."""

    diagnosis: Diagnosis | None = None
    coaching: Coaching | None = None
    #: What to show while there is no diagnosis or coaching, when the source knows why:
    #: ``(text, detail)``, e.g. ``("No champion model", "run vehsim experiment fault")``.
    note: tuple[str, str] | None = None


NO_ADVICE = AdvicePanel()


@dataclass(frozen=True)
class AdviceRow:
    """One line of the panel: ``kind`` (``diagnosis``, ``coaching``, ``style``), a short
    ``label``, the ``text`` to show large, a ``detail`` line (what it rests on) and a ``level``
    of :data:`LEVELS`."""

    kind: str
    label: str
    text: str
    detail: str
    level: str


# --- events -> panel ------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _newer(old: Diagnosis | Coaching | None, run: str, end_s: float) -> bool:
    """Whether a window ending at ``end_s`` of telemetry run ``run`` may replace ``old``."""
    return old is None or old.source_run_id != run or end_s >= old.window_end_s


def apply_advice_event(panel: AdvicePanel, event: Mapping[str, Any]) -> AdvicePanel:
    """The panel after one event (any type; only the two of ``vehsim score`` change it)."""
    kind = event.get("event_type") if isinstance(event, Mapping) else None
    payload = event.get("payload") if kind in (DIAGNOSTIC_PREDICTION, DRIVER_COACHING) else None
    if not isinstance(payload, Mapping):
        return panel
    run, end_s = _text(payload.get("source_run_id")), _number(payload.get("window_end_s"))
    if run is None or end_s is None:
        return panel
    if kind == DIAGNOSTIC_PREDICTION:
        fault, model = _text(payload.get("fault")), _text(payload.get("model"))
        if fault is None or model is None or not _newer(panel.diagnosis, run, end_s):
            return panel
        probability = _number(payload.get("probability"))
        diagnosis = Diagnosis(
            fault, probability, model, str(payload.get("model_version") or "?"), run, end_s
        )
        return replace(panel, diagnosis=diagnosis)
    advice, habit = _text(payload.get("advice")), _text(payload.get("habit"))
    basis = _text(payload.get("basis"))
    if advice is None or habit is None or basis is None or not _newer(panel.coaching, run, end_s):
        return panel
    numbers = ("fuel_l_per_100km", "eco_fuel_l_per_100km", "trip_distance_km", "style_probability")
    counts = ("harsh_accel_count", "harsh_brake_count")
    texts = ("fuel_model", "fuel_model_version", "style", "style_model", "style_model_version")
    coaching = Coaching(
        advice,
        habit,
        _number(payload.get("excess_fuel_pct")),
        basis,
        run,
        end_s,
        **{k: _number(payload.get(k)) for k in numbers},
        **{k: None if (n := _number(payload.get(k))) is None else int(n) for k in counts},
        **{k: _text(payload.get(k)) for k in texts},
    )
    return replace(panel, coaching=coaching)


def panels_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, AdvicePanel]:
    """``{vehicle_id: panel}`` from a stream of events of any types and cars, in order."""
    panels: dict[str, AdvicePanel] = {}
    for event in events:
        vehicle_id = event.get("vehicle_id") if isinstance(event, Mapping) else None
        if isinstance(vehicle_id, str):
            panel = panels.get(vehicle_id, NO_ADVICE)
            updated = apply_advice_event(panel, event)
            if updated is not panel:
                panels[vehicle_id] = updated
    return panels


# --- panel -> rows --------------------------------------------------------------------------------
def fault_title(name: str) -> str:
    """``misfire_cylinder_1`` -> ``Misfire cylinder 1 (P0301)``; the code when a monitor sets
    one (``vehsim.faults``); a fault this version does not know is shown by its name."""
    text = name.replace("_", " ").strip().capitalize() or name
    code = _FAULTS[name].code if name in _FAULTS else ""
    return f"{text} ({code})" if code else text


def drive_time(seconds: float) -> str:
    """Simulated time of the drive as ``m:ss`` (``h:mm:ss`` from an hour on)."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _percent(probability: float | None) -> str:
    return "" if probability is None else f"{probability * 100:.0f} %"


def diagnosis_row(diagnosis: Diagnosis) -> AdviceRow:
    """The diagnosis line: the fault (or none), how sure the model is, which model, when."""
    model = f"{diagnosis.model} v{diagnosis.model_version}"
    when = f"window to {drive_time(diagnosis.window_end_s)}"
    sure = _percent(diagnosis.probability)
    detail = " · ".join(x for x in (sure, model, when) if x)
    if diagnosis.fault == NO_FAULT:
        return AdviceRow("diagnosis", "Diagnosis", "No fault seen", detail, "ok")
    likely = diagnosis.probability is None or diagnosis.probability >= ALERT_PROBABILITY
    text = fault_title(diagnosis.fault) if likely else f"Possible: {fault_title(diagnosis.fault)}"
    return AdviceRow("diagnosis", "Diagnosis", text, detail, "alert" if likely else "warn")


def _basis(coaching: Coaching) -> str:
    if coaching.basis == "model":
        model = coaching.fuel_model or "fuel model"
        version = f" v{coaching.fuel_model_version}" if coaching.fuel_model_version else ""
        if coaching.fuel_l_per_100km is not None and coaching.eco_fuel_l_per_100km is not None:
            return (
                f"{model}{version}: {coaching.fuel_l_per_100km:.1f} L/100 km as driven, "
                f"{coaching.eco_fuel_l_per_100km:.1f} without harsh events"
            )
        return f"{model}{version}"
    events = []
    if coaching.harsh_accel_count is not None:
        events.append(f"{coaching.harsh_accel_count} harsh accelerations")
    if coaching.harsh_brake_count is not None:
        events.append(f"{coaching.harsh_brake_count} harsh brakings")
    trip = (
        f" in {coaching.trip_distance_km:.1f} km" if coaching.trip_distance_km is not None else ""
    )
    return "rule of thumb" + (f": {', '.join(events)}{trip}" if events else "")


def coaching_rows(coaching: Coaching) -> list[AdviceRow]:
    """The coaching line (the advice, and what its estimate rests on) and, when a style
    classifier has spoken, the driving-style line."""
    excess = coaching.excess_fuel_pct
    if coaching.habit == "smooth":
        level = "ok"
    elif excess is not None and excess >= WARN_EXCESS_FUEL_PCT:
        level = "warn"
    else:
        level = "info"
    rows = [AdviceRow("coaching", "Coaching", coaching.advice, _basis(coaching), level)]
    if coaching.style is not None:
        sure = _percent(coaching.style_probability)
        model = coaching.style_model or "style model"
        version = f" v{coaching.style_model_version}" if coaching.style_model_version else ""
        detail = " · ".join(x for x in (sure, f"{model}{version}", "last minute") if x)
        rows.append(AdviceRow("style", "Driving style", coaching.style, detail, "info"))
    return rows


def advice_rows(panel: AdvicePanel) -> list[AdviceRow]:
    """The panel's rows, diagnosis first; one row saying what is awaited when it is empty (the
    source's ``note`` when it gave one)."""
    rows = []
    if panel.diagnosis is not None:
        rows.append(diagnosis_row(panel.diagnosis))
    if panel.coaching is not None:
        rows.extend(coaching_rows(panel.coaching))
    if not rows and panel.note is not None:
        rows.append(AdviceRow("diagnosis", "Diagnosis", *panel.note, "info"))
    elif not rows:
        rows.append(
            AdviceRow(
                "diagnosis",
                "Diagnosis",
                "No diagnosis yet",
                "vehsim score publishes one per scored minute of telemetry",
                "info",
            )
        )
    return rows
