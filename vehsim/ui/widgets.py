"""Small anywidget building blocks: dial, readout, gear indicator, warning lights, title bar,
strip chart, and the :class:`Reading` they can share.

Each draws with SVG, canvas or plain HTML (no matplotlib, no icon fonts), so it renders offline
and stays smooth at 20-30 updates per second. Values are user units (km/h, rpm, °C, %), as the
``simulation.raw`` payload carries them (:mod:`vehsim.telemetry` converts once, at the edge).

**One reading per instant.** A dial, a readout, the gear indicator and the chart's lane labels
bound to one :class:`Reading` (their ``reading`` trait) draw its ``values`` and nothing else. The
kernel sets those values once per display tick, in one message, and every bound view redraws in
the same browser task, so no frame shows a quantity twice with two different numbers (a dial at
11 km/h beside a chart label at 7.0 km/h).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import anywidget
import ipywidgets
import traitlets

_HERE = Path(__file__).parent
_CSS = _HERE / "theme.css"


def _bound_module(name: str) -> str:
    """The ES module ``name`` with the reading binding (``reading.js``) in front of it."""
    return (_HERE / "reading.js").read_text() + "\n" + (_HERE / name).read_text()


class Reading(ipywidgets.Widget):
    """The reading on screen: one sample's values (``key -> number or text``) and its time.

    It has no view of its own; views bound to it (``reading=`` on :class:`Dial`,
    :class:`Readout`, :class:`GearIndicator`, :class:`RollingChart`) show ``values[key]``.
    """

    values = traitlets.Dict().tag(sync=True)

    def show(self, values: Mapping[str, object]) -> bool:
        """Replace the values; one message, none when nothing changed. True when sent."""
        values = dict(values)
        if values == self.values:
            return False
        self.values = values
        return True


class Dial(anywidget.AnyWidget):
    """A round gauge with a needle, coloured zones and a numeric readout (class ``vehsim-value``).

    Bound to a :class:`Reading` (``reading``, ``key``), needle and readout show
    ``reading.values[key]``; unbound, they show what :meth:`show` set.
    """

    _esm = _bound_module("dial.js")
    _css = _CSS

    reading = anywidget.WidgetTrait().tag(sync=True)
    key = traitlets.Unicode("").tag(sync=True)
    #: The number in the readout, rounded to ``decimals`` (unbound dials).
    value = traitlets.Float(0.0).tag(sync=True)
    #: Where the needle points: finer than the readout (1/1000 of the scale), so needles move
    #: smoothly even while the rounded readout stands still.
    needle = traitlets.Float(0.0).tag(sync=True)
    min = traitlets.Float(0.0).tag(sync=True)
    max = traitlets.Float(100.0).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    unit = traitlets.Unicode("").tag(sync=True)
    decimals = traitlets.Int(0).tag(sync=True)
    major_step = traitlets.Float(10.0).tag(sync=True)
    minor_step = traitlets.Float(0.0).tag(sync=True)
    tick_label_scale = traitlets.Float(1.0).tag(sync=True)
    #: ``[low, high, kind]`` bands, kind one of ``cold``, ``warn``, ``alarm``.
    zones = traitlets.List(traitlets.List()).tag(sync=True)
    size_px = traitlets.Int(200).tag(sync=True)
    alarm = traitlets.Bool(False).tag(sync=True)

    def show(self, value: float) -> None:
        """Show ``value`` on an unbound dial; one message, none when nothing visible changed."""
        value = float(value)
        rounded = round(value, self.decimals)
        step = (self.max - self.min) / 1000.0 or 1.0
        needle = round(round(value / step) * step, 6)
        if rounded != self.value or needle != self.needle:
            with self.hold_sync():
                self.value = rounded
                self.needle = needle


class Readout(anywidget.AnyWidget):
    """A labelled number with its unit (class ``vehsim-value``), bound to a :class:`Reading`.

    Shows ``reading.values[key]`` with ``decimals``; the unit is ``reading.values[unit_key]``
    when ``unit_key`` is set (a unit that changes with the reading), ``unit`` otherwise.
    """

    _esm = _bound_module("readout.js")
    _css = _CSS

    reading = anywidget.WidgetTrait().tag(sync=True)
    key = traitlets.Unicode("").tag(sync=True)
    unit_key = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    unit = traitlets.Unicode("").tag(sync=True)
    decimals = traitlets.Int(1).tag(sync=True)


class GearIndicator(anywidget.AnyWidget):
    """The engaged gear (``N`` for neutral) and the gearbox mode.

    Bound to a :class:`Reading`, gear and engine state come from its ``gear`` and
    ``engine_on`` values; unbound, from the traits below.
    """

    _esm = _bound_module("gear.js")
    _css = _CSS

    reading = anywidget.WidgetTrait().tag(sync=True)
    gear = traitlets.Int(0).tag(sync=True)
    mode = traitlets.Unicode("auto").tag(sync=True)
    #: ``automatic``, ``manual``, ``cvt`` or empty when unknown; a CVT shows ``D``, not a number.
    gearbox = traitlets.Unicode("").tag(sync=True)
    engine_on = traitlets.Bool(False).tag(sync=True)


class WarningLights(anywidget.AnyWidget):
    """Labelled lamps; ``lamps`` lists ``[key, text, severity]``, ``lit`` the keys that are on."""

    _esm = _HERE / "lights.js"
    _css = _CSS

    lamps = traitlets.List(traitlets.List()).tag(sync=True)
    lit = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def show(self, lit: Iterable[str]) -> None:
        keys = sorted(lit)
        if keys != self.lit:
            self.lit = keys


class StatusBar(anywidget.AnyWidget):
    """Title, mode badge and simulated clock. Its views send heartbeats while on screen.

    ``running`` false (a stopped dashboard) turns the badge into STOPPED.
    """

    _esm = _HERE / "status.js"
    _css = _CSS

    title = traitlets.Unicode("vehsim").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("local").tag(sync=True)
    mode_detail = traitlets.Unicode("").tag(sync=True)
    sim_time_s = traitlets.Float(0.0).tag(sync=True)
    running = traitlets.Bool(True).tag(sync=True)


class RollingChart(anywidget.AnyWidget):
    """Strip chart of the last ``window_s`` seconds, one lane per series, drawn on a canvas.

    Samples are buffered in the kernel and sent in small batches by :meth:`flush`; a view that
    opens later asks for the history kept here, so a reloaded page shows the past minutes too.
    Each lane's label (class ``vehsim-chart-label``, ``data-key`` the series key, number in
    ``vehsim-chart-value``) shows the bound :class:`Reading`'s value, else the newest sample.
    """

    _esm = _bound_module("chart.js")
    _css = _CSS

    reading = anywidget.WidgetTrait().tag(sync=True)
    #: ``{"key", "label", "unit", "color", "min", "max", "decimals"}`` per lane, and
    #: ``"step": True`` for a quantity that jumps (the gear).
    series = traitlets.List(traitlets.Dict()).tag(sync=True)
    window_s = traitlets.Float(180.0).tag(sync=True)
    lane_px = traitlets.Int(78).tag(sync=True)

    def __init__(self, series: Sequence[Mapping], window_s: float = 180.0, **kwargs):
        super().__init__(series=[dict(s) for s in series], window_s=window_s, **kwargs)
        self._history: deque[tuple[float, dict[str, float]]] = deque()
        self._pending: list[tuple[float, dict[str, float]]] = []
        self.on_msg(self._on_view_message)

    def append(self, t_s: float, values: Mapping[str, float]) -> None:
        """Buffer one sample at simulated time ``t_s`` (seconds)."""
        if self._history and t_s < self._history[-1][0]:
            self.reset()
        sample = (float(t_s), {s["key"]: _number(values.get(s["key"])) for s in self.series})
        self._history.append(sample)
        self._pending.append(sample)
        while self._history and self._history[0][0] < t_s - self.window_s:
            self._history.popleft()

    def flush(self) -> None:
        """Send the buffered samples to every view."""
        if self._pending:
            self.send(self._batch(self._pending))
            self._pending = []

    def reset(self) -> None:
        self._history.clear()
        self._pending = []
        self.send({"type": "reset"})

    @property
    def history(self) -> list[tuple[float, dict[str, float]]]:
        return list(self._history)

    def _batch(self, samples: Sequence[tuple[float, dict[str, float]]]) -> dict:
        return {
            "type": "append",
            "t": [t for t, _ in samples],
            "series": {s["key"]: [v[s["key"]] for _, v in samples] for s in self.series},
        }

    def _on_view_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "history":
            self._pending = []
            self.send({"type": "reset"})
            if self._history:
                self.send(self._batch(list(self._history)))


def _number(value) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if number == number else None
