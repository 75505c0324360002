"""HTML of the cluster's text panels: spec sheet, trip computer, wear, trouble codes, diagnosis
and coaching.

Pure functions from figures to markup (escaped, system fonts, no scripts), so what a panel says
is tested without a browser and the widgets only swap the markup when it changed. The class
names are the stable hooks listed in ``docs/ui.md``.
"""

from __future__ import annotations

from html import escape

from vehsim.ui.advice import AdvicePanel, advice_rows
from vehsim.ui.dtc import DiagnosticStatus
from vehsim.ui.readings import WearRow
from vehsim.ui.trip import TripFigures
from vehsim.ui.vehicles import SpecSheet

DASH = "–"


def fixed(value: float | None, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, or a dash for nothing to show."""
    return DASH if value is None else f"{value:.{decimals}f}"


def clock(time_s: float) -> str:
    """``m:ss`` below an hour, ``h:mm:ss`` from one hour."""
    total = int(time_s)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def wear_text(value_pct: float | None) -> str:
    """Wear to the digit that moves during a drive: 3 decimals below 1 %, 1 from there."""
    if value_pct is None:
        return DASH
    return f"{value_pct:.3f}" if value_pct < 1.0 else f"{value_pct:.1f}"


def _item(css: str, label: str, value: str, unit: str = "") -> str:
    unit_html = f'<span class="vehsim-unit">{escape(unit)}</span>' if unit else ""
    return (
        f'<div class="vehsim-item {css}"><span class="vehsim-item-label">{escape(label)}</span>'
        f'<span class="vehsim-item-value"><span class="vehsim-value">{escape(value)}</span>'
        f"{unit_html}</span></div>"
    )


def spec_html(spec: SpecSheet | None, vehicle: str) -> str:
    """The header's spec sheet; with no parameters known, the car's name alone."""
    name = spec.name if spec is not None else vehicle
    lines = [] if spec is None else spec.lines()
    items = "".join(
        _item(f"vehsim-spec-{k}", label, value, unit) for k, label, value, unit in lines
    )
    return f'<div class="vehsim-spec-sheet"><div class="vehsim-spec-name">{escape(name or DASH)}</div>{items}</div>'


def trip_html(figures: TripFigures | None) -> str:
    """The trip computer's five figures."""
    f = figures or TripFigures(None, 0.0, None, None, None)
    return "".join(
        [
            _item("vehsim-trip-distance", "Distance", fixed(f.distance_km, 2), "km"),
            _item("vehsim-trip-time", "Time", clock(f.time_s)),
            _item(
                "vehsim-trip-average-speed", "Average speed", fixed(f.average_speed_kph, 1), "km/h"
            ),
            _item(
                "vehsim-trip-average-consumption",
                "Average consumption",
                fixed(f.average_consumption_l_per_100km, 1),
                "L/100 km",
            ),
            _item("vehsim-trip-fuel-used", "Fuel used", fixed(f.fuel_used_l, 2), "L"),
        ]
    )


def wear_html(rows: list[WearRow], wear_time_scale: float = 1.0) -> str:
    """One bar per part (share of life used; oil: left) with the service lamp's threshold."""
    lines = []
    for row in rows:
        fill = 0.0 if row.value_pct is None else min(100.0, max(0.0, row.value_pct))
        due = " vehsim-due" if row.due else ""
        what = "left" if row.life_left else "used"
        rule = f"service at {row.limit_pct:g} % {what}"
        lines.append(
            f'<div class="vehsim-wear-row{due}" data-key="{escape(row.key)}" title="{escape(rule)}">'
            f'<span class="vehsim-item-label">{escape(row.label)}</span>'
            f'<span class="vehsim-wear-bar"><span class="vehsim-wear-fill" style="width:{fill:.2f}%"></span>'
            f'<span class="vehsim-wear-limit" style="left:{row.limit_pct:g}%"></span></span>'
            f'<span class="vehsim-item-value"><span class="vehsim-value">{wear_text(row.value_pct)}</span>'
            f'<span class="vehsim-unit">%</span></span></div>'
        )
    worn = next((r.limit_pct for r in rows if not r.life_left), None)
    oil = next((r.limit_pct for r in rows if r.life_left), None)
    note = []
    if worn is not None:
        note.append(f"service lamp at {worn:g} % worn")
    if oil is not None:
        note.append(f"oil life {oil:g} % left")
    if wear_time_scale != 1.0:
        note.append(f'<span class="vehsim-wear-scale">wear ×{wear_time_scale:g}</span>')
    return "".join(lines) + f'<div class="vehsim-panel-note">{", ".join(note)}</div>'


def dtc_html(status: DiagnosticStatus) -> str:
    """The check-engine lamp's state and the stored codes with their descriptions."""
    lamp = (
        '<div class="vehsim-mil vehsim-lit">Check engine lamp on</div>'
        if status.mil_on
        else '<div class="vehsim-mil">Check engine lamp off</div>'
    )
    if not status.codes:
        return lamp + '<div class="vehsim-dtc-none">No trouble codes</div>'
    codes = "".join(
        f'<div class="vehsim-dtc-code vehsim-dtc-{escape(c.status)}" data-code="{escape(c.code)}">'
        f'<span class="vehsim-dtc-id">{escape(c.code)}</span>'
        f'<span class="vehsim-dtc-description">{escape(c.description)}</span>'
        f'<span class="vehsim-dtc-status">{escape(c.status)}</span></div>'
        for c in status.codes
    )
    return lamp + codes


def advice_html(panel: AdvicePanel) -> str:
    """The diagnosis and coaching rows (:func:`vehsim.ui.advice.advice_rows`): a label, the
    text (fault and its code, or the advice), and what it rests on (probability and model, or
    the estimate); the level (``info``, ``ok``, ``warn``, ``alert``) colours the text."""
    return "".join(
        f'<div class="vehsim-advice-row vehsim-advice-{escape(r.kind)} vehsim-level-{escape(r.level)}">'
        f'<span class="vehsim-item-label">{escape(r.label)}</span>'
        f'<span class="vehsim-advice-text">{escape(r.text)}</span>'
        f'<span class="vehsim-advice-detail">{escape(r.detail)}</span></div>'
        for r in advice_rows(panel)
    )
