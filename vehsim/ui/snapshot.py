"""A still picture of the dashboard as SVG, for places where widgets cannot run.

A notebook exported to HTML (or opened where no kernel runs) has no widget manager: the
cluster's anywidget views would render nothing. The dashboard's display therefore carries this
picture beside the widget view (``image/svg+xml``): JupyterLab and Voila show the live widget,
an exported page shows the picture of the dashboard as it last was (see
:meth:`vehsim.ui.dashboard.Dashboard.stop`). Pure functions of plain data, no matplotlib (the
dashboard's kernel never loads it), text escaped.

Geometry follows the live dials (``dial.js``): a 270° scale from the lower left (the minimum)
clockwise to the lower right (the maximum).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

#: Colours of the dark theme (``theme.css``).
BACKGROUND = "#0f141b"
PANEL = "#161d27"
EDGE = "#253042"
INK = "#e8edf3"
MUTED = "#8d99ab"
ZONE_COLOURS = {"cold": "#4cc2ff", "warn": "#ffb020", "alarm": "#ff4d4f"}
BADGE_COLOURS = {"LOCAL": "#4cc2ff", "CONNECTED": "#38d39f", "STOPPED": "#ff4d4f"}

#: The scale's sweep [degrees] and where it starts (the minimum, lower left), counter-clockwise
#: from the positive x axis.
SWEEP_DEG = 270.0
START_DEG = 225.0

WIDTH_PX = 960
DIAL_ROW_Y_PX = 60
DIAL_ROW_H_PX = 210
LANE_H_PX = 38
#: Spacing of the chart's time ticks [s].
TIME_TICK_S = 30.0


@dataclass(frozen=True)
class DialSpec:
    """One dial: the reading's ``key``, label, unit, scale and coloured ``[low, high, kind]``
    zones; ``tick_label_scale`` divides the tick labels (1000 for rpm)."""

    key: str
    label: str
    unit: str
    min: float
    max: float
    major_step: float
    decimals: int = 0
    zones: Sequence[Sequence[Any]] = ()
    tick_label_scale: float = 1.0
    radius_px: float = 80.0


@dataclass(frozen=True)
class Snapshot:
    """What the picture shows: the title bar, the dials' reading, a few readouts and the
    chart's history (``(sim_time_s, {lane key: value})``)."""

    title: str
    subtitle: str
    badge: str  # LOCAL, CONNECTED or STOPPED
    sim_time_s: float
    dials: Sequence[DialSpec]
    values: Mapping[str, Any]
    gear_text: str = "N"
    readouts: Sequence[tuple[str, str, str]] = ()  # (label, value text, unit)
    lanes: Sequence[Mapping[str, Any]] = ()  # chart_series() entries
    history: Sequence[tuple[float, Mapping[str, Any]]] = field(default_factory=tuple)
    window_s: float = 180.0


def scale_angle_deg(value: float, low: float, high: float) -> float:
    """Where ``value`` points on a dial from ``low`` to ``high`` [degrees, counter-clockwise from
    +x]; values outside the scale stop at its ends."""
    span = high - low
    frac = 0.0 if span <= 0 else min(1.0, max(0.0, (value - low) / span))
    return START_DEG - SWEEP_DEG * frac


def _point(cx: float, cy: float, r: float, angle_deg: float) -> tuple[float, float]:
    a = math.radians(angle_deg)
    return cx + r * math.cos(a), cy - r * math.sin(a)  # SVG's y axis points down


def arc_path(cx: float, cy: float, r: float, from_deg: float, to_deg: float) -> str:
    """SVG path of the arc from ``from_deg`` clockwise to ``to_deg`` (``to_deg < from_deg``)."""
    x0, y0 = _point(cx, cy, r, from_deg)
    x1, y1 = _point(cx, cy, r, to_deg)
    large = 1 if from_deg - to_deg > 180.0 else 0
    return f"M{x0:.1f},{y0:.1f} A{r:.1f},{r:.1f} 0 {large} 1 {x1:.1f},{y1:.1f}"


def format_value(value: Any, decimals: int) -> str:
    """A reading as the live views print it (thousands separated), ``–`` when unknown."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if not math.isfinite(value):
        return "–"
    return f"{value:,.{decimals}f}"


def _text(x, y, text, size, colour=INK, anchor="middle", weight="normal", css="") -> str:
    cls = f' class="{css}"' if css else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" '
        f'text-anchor="{anchor}" font-weight="{weight}"{cls}>{escape(str(text))}</text>'
    )


def dial_svg(spec: DialSpec, value: Any, cx: float, cy: float) -> str:
    """One dial: scale, zones, ticks with labels, needle, the value and the unit."""
    r = spec.radius_px
    parts = [f'<g class="vehsim-snapshot-dial" data-key="{escape(spec.key)}">']
    parts.append(
        f'<path d="{arc_path(cx, cy, r, START_DEG, START_DEG - SWEEP_DEG)}" fill="none" '
        f'stroke="{EDGE}" stroke-width="6"/>'
    )
    for low, high, kind in spec.zones:
        a0 = scale_angle_deg(float(low), spec.min, spec.max)
        a1 = scale_angle_deg(float(high), spec.min, spec.max)
        if a0 - a1 > 0.1:
            colour = ZONE_COLOURS.get(str(kind), MUTED)
            parts.append(
                f'<path d="{arc_path(cx, cy, r, a0, a1)}" fill="none" stroke="{colour}" '
                'stroke-width="6"/>'
            )
    if spec.major_step > 0:
        n = int(math.floor((spec.max - spec.min) / spec.major_step + 1e-9))
        for k in range(n + 1):
            tick = spec.min + k * spec.major_step
            a = scale_angle_deg(tick, spec.min, spec.max)
            x0, y0 = _point(cx, cy, r - 9, a)
            x1, y1 = _point(cx, cy, r + 3, a)
            parts.append(
                f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
                f'stroke="{MUTED}" stroke-width="1.5"/>'
            )
            lx, ly = _point(cx, cy, r - 21, a)
            label = tick / spec.tick_label_scale
            parts.append(_text(lx, ly + 4, f"{label:g}", 10, MUTED))
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is not None and math.isfinite(number):
        a = scale_angle_deg(float(number), spec.min, spec.max)
        nx, ny = _point(cx, cy, r - 14, a)
        parts.append(
            f'<line class="vehsim-snapshot-needle" x1="{cx:.1f}" y1="{cy:.1f}" x2="{nx:.1f}" '
            f'y2="{ny:.1f}" stroke="#ff6a3d" stroke-width="3" stroke-linecap="round"/>'
        )
    parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{INK}"/>')
    value_y = cy + 0.42 * r
    parts.append(
        _text(cx, value_y, format_value(number, spec.decimals), 20, INK, weight="bold",
              css="vehsim-snapshot-value")
    )  # fmt: skip
    parts.append(_text(cx, value_y + 14, spec.unit, 10, MUTED))
    parts.append(_text(cx, value_y + 30, spec.label.upper(), 10, MUTED))
    parts.append("</g>")
    return "".join(parts)


def _lane_svg(
    lane: Mapping[str, Any],
    history: Sequence[tuple[float, Mapping[str, Any]]],
    t_end_s: float,
    window_s: float,
    x0: float,
    y0: float,
    width: float,
) -> str:
    low, high = float(lane["min"]), float(lane["max"])
    span = (high - low) or 1.0
    h = LANE_H_PX - 8
    points = []
    for t, values in history:
        v = values.get(lane["key"])
        if v is None or not isinstance(v, int | float) or not math.isfinite(v):
            continue
        x = x0 + width * (1.0 - (t_end_s - t) / window_s)
        y = y0 + 4 + h * (1.0 - min(1.0, max(0.0, (float(v) - low) / span)))
        points.append(f"{x:.1f},{y:.1f}")
    label = f"{lane['label']} [{lane['unit']}]" if lane.get("unit") else str(lane["label"])
    latest = next(
        (vals.get(lane["key"]) for _t, vals in reversed(history) if vals.get(lane["key"]) is not None),
        None,
    )  # fmt: skip
    parts = [
        f'<g class="vehsim-snapshot-lane" data-key="{escape(str(lane["key"]))}">',
        f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{LANE_H_PX - 2}" '
        f'fill="{BACKGROUND}" stroke="{EDGE}"/>',
        _text(x0 - 8, y0 + 15, label, 10, MUTED, anchor="end"),
        _text(x0 - 8, y0 + 29, format_value(latest, int(lane.get("decimals", 0))), 11, INK,
              anchor="end"),
    ]  # fmt: skip
    if len(points) > 1:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" '
            f'stroke="{escape(str(lane.get("color", INK)))}" stroke-width="1.5"/>'
        )
    parts.append("</g>")
    return "".join(parts)


def dashboard_svg(snapshot: Snapshot) -> str:
    """The dashboard as one SVG document (title bar, dials, readouts, chart)."""
    lanes = list(snapshot.lanes)
    chart_y = DIAL_ROW_Y_PX + DIAL_ROW_H_PX + 44
    height = chart_y + 22 + LANE_H_PX * len(lanes) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="vehsim-snapshot" width="{WIDTH_PX}" '
        f'height="{height}" viewBox="0 0 {WIDTH_PX} {height}" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif">',
        f"<title>{escape(snapshot.title)}: {escape(snapshot.badge)}, "
        f"{escape(snapshot.subtitle)}</title>",
        f'<rect width="{WIDTH_PX}" height="{height}" rx="14" fill="{BACKGROUND}"/>',
        _text(18, 30, snapshot.title, 18, INK, anchor="start", weight="bold"),
        _text(18, 48, snapshot.subtitle, 11, MUTED, anchor="start"),
    ]
    badge_colour = BADGE_COLOURS.get(snapshot.badge, MUTED)
    out.append(
        f'<rect x="{WIDTH_PX - 128}" y="14" width="110" height="26" rx="13" fill="none" '
        f'stroke="{badge_colour}"/>'
    )
    out.append(
        _text(WIDTH_PX - 73, 32, snapshot.badge, 12, badge_colour, weight="bold",
              css="vehsim-snapshot-badge")
    )  # fmt: skip
    minutes, seconds = divmod(max(0.0, snapshot.sim_time_s), 60.0)
    out.append(_text(WIDTH_PX - 142, 32, f"{int(minutes)}:{seconds:04.1f}", 14, MUTED, "end"))

    out.append(
        f'<rect x="10" y="{DIAL_ROW_Y_PX}" width="{WIDTH_PX - 20}" height="{DIAL_ROW_H_PX}" '
        f'rx="12" fill="{PANEL}" stroke="{EDGE}"/>'
    )
    dials = list(snapshot.dials)
    slots = len(dials) + 1  # the gear indicator sits in the middle
    middle = len(dials) // 2
    cy = DIAL_ROW_Y_PX + DIAL_ROW_H_PX / 2 + 8
    for k, spec in enumerate(dials):
        slot = k if k < middle else k + 1
        cx = (WIDTH_PX / slots) * (slot + 0.5)
        out.append(dial_svg(spec, snapshot.values.get(spec.key), cx, cy))
    gx = (WIDTH_PX / slots) * (middle + 0.5)
    out.append(_text(gx, cy - 34, "GEAR", 10, MUTED))
    out.append(_text(gx, cy + 16, snapshot.gear_text, 44, INK, weight="bold"))

    ry = DIAL_ROW_Y_PX + DIAL_ROW_H_PX + 26
    x = 24.0
    for label, value_text, unit in snapshot.readouts:
        item = f"{label}: {value_text} {unit}".strip()
        out.append(_text(x, ry, item, 13, INK, anchor="start"))
        x += 14 + 7.2 * len(item)

    if lanes:
        out.append(
            _text(24, chart_y + 12, f"LAST {snapshot.window_s / 60:g} MINUTES "
                  "(simulated time)", 10, MUTED, anchor="start")
        )  # fmt: skip
        t_end = snapshot.history[-1][0] if snapshot.history else 0.0
        x0, width = 170.0, WIDTH_PX - 190.0
        for k, lane in enumerate(lanes):
            out.append(
                _lane_svg(
                    lane,
                    snapshot.history,
                    t_end,
                    snapshot.window_s,
                    x0,
                    chart_y + 22 + k * LANE_H_PX,
                    width,
                )
            )
        axis_y = chart_y + 22 + LANE_H_PX * len(lanes) + 10
        first = math.ceil(max(0.0, t_end - snapshot.window_s) / TIME_TICK_S) * TIME_TICK_S
        tick = first
        while tick <= t_end + 1e-9:
            x = x0 + width * (1.0 - (t_end - tick) / snapshot.window_s)
            out.append(_text(x, axis_y, f"{tick:g}", 10, MUTED))
            tick += TIME_TICK_S
        out.append(_text(x0 - 8, axis_y, "simulated time [s]", 10, MUTED, anchor="end"))
    out.append("</svg>")
    return "".join(out)


__all__ = ["DialSpec", "Snapshot", "arc_path", "dashboard_svg", "dial_svg", "scale_angle_deg"]
