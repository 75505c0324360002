"""Live scoring in local mode: a ``vehsim.scorers`` plug-in applied to the car in this kernel.

In connected mode ``vehsim score`` scores the telemetry on the broker and the dashboard folds its
``diagnostic.prediction`` and ``driver.coaching`` events into the panel. In local mode there is
no broker: the local source hands each reading, as the ``simulation.raw`` event a car would
publish, to a scorer in this process, and folds what it returns the same way
(:func:`vehsim.ui.advice.apply_advice_event`).

The scorer comes from a plug-in, so that ``vehsim`` never imports MLflow: an entry point of the
group :data:`SCORER_GROUP` names a callable ``(settings) -> LiveScorer``. ``vehsim_experiments``
registers ``champion`` (``vehsim_experiments.score.champion_scorer``: the champion models of the
configured MLflow store). A plug-in with nothing to score with raises :class:`ScorerUnavailable`
saying what is missing and what to do; the panel shows it.

:class:`LocalAdvisor` loads the plug-in on a thread of its own (MLflow and the models take
seconds; the kernel's loop never waits), tries again every :data:`RETRY_S` while the dashboard
is watched, and scores on the caller's thread once loaded: ``score()`` returns at once when no
window is due, and scores one window (tens of milliseconds) every few seconds of driving.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from vehsim import events as ev
from vehsim.config import Settings, load_settings
from vehsim.errors import VehsimError
from vehsim.ui.advice import NO_ADVICE, AdvicePanel, apply_advice_event

log = logging.getLogger(__name__)

#: The entry-point group of scorer plug-ins.
SCORER_GROUP = "vehsim.scorers"
#: How long after a failed or unavailable scorer the next attempt starts [s, wall clock].
RETRY_S = 60.0
#: Advice events kept for inspection (:attr:`LocalAdvisor.events`).
KEPT_EVENTS = 1000

#: Panel notes ``(text, detail)`` of the advisor's states.
LOADING = ("Loading the champion models", "scoring starts once they are loaded")
WAITING = ("No diagnosis yet", "the first comes after a minute of driving")
SCORING_OFF = ("Live scoring off", "the local source was given no scorer")


class ScorerUnavailable(VehsimError):
    """A scorer plug-in has nothing to score with: ``reason`` (what is missing) and ``remedy``
    (what to do), e.g. ``no champion model`` and ``run vehsim experiment fault``."""

    def __init__(self, reason: str, remedy: str):
        super().__init__(f"{reason}: {remedy}")
        self.reason = reason
        self.remedy = remedy

    @property
    def note(self) -> tuple[str, str]:
        """The panel's note: the reason as a heading, the remedy below."""
        return self.reason[:1].upper() + self.reason[1:], self.remedy


@runtime_checkable
class LiveScorer(Protocol):
    """What the advisor asks of a scorer (``vehsim_experiments.score.Scorer`` provides it)."""

    def feed(self, value: bytes | str) -> None:
        """Take one encoded event; never raises on bad input."""
        ...

    def score(self) -> list[Mapping[str, Any]]:
        """The events of every window due since the last call (at once when none is)."""
        ...


def installed_scorer(settings: Settings | None = None) -> LiveScorer:
    """The scorer of the first installed ``vehsim.scorers`` plug-in (by name).

    Raises:
        ScorerUnavailable: no plug-in is installed or loads, or the plug-in has nothing to
            score with.
    """
    plugins = sorted(entry_points(group=SCORER_GROUP), key=lambda e: e.name)
    if not plugins:
        raise ScorerUnavailable(
            "no scorer installed", "install vehsim with its experiments: pip install 'vehsim[ml]'"
        )
    problems = []
    for plugin in plugins:
        try:
            factory = plugin.load()
        except ImportError as exc:
            problems.append(f"{plugin.name}: {exc}")
            continue
        return factory(settings or load_settings())
    raise ScorerUnavailable("no scorer loads", "; ".join(problems))


class LocalAdvisor:
    """The diagnosis and coaching panel of the car simulated in this kernel.

    Args:
        scorer: ``"auto"``: the installed plug-in (:func:`installed_scorer`), loaded on a thread;
            a :class:`LiveScorer` to use as it is; a callable ``() -> LiveScorer`` (called on
            the thread, may raise :class:`ScorerUnavailable`); ``None``: no scoring.
        settings: configuration for the plug-in; default :func:`vehsim.config.load_settings`.
        retry_s: wait after a failed or unavailable scorer before trying again [s].
        clock: wall clock [s] (tests).
    """

    def __init__(
        self,
        scorer: Any = "auto",
        *,
        settings: Settings | None = None,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.retry_s = retry_s
        self._clock = clock
        self._lock = threading.Lock()
        self._scorer: LiveScorer | None = None
        self._factory: Callable[[], LiveScorer] | None = None
        self._loader: threading.Thread | None = None
        self._next_try_s = 0.0
        self._note: tuple[str, str] | None = SCORING_OFF
        self._closed = False
        #: The ``diagnostic.prediction`` and ``driver.coaching`` events of every car run so far.
        self.events: deque[Mapping[str, Any]] = deque(maxlen=KEPT_EVENTS)
        self.vehicle_id = ""
        self.run_id = ""
        self._seq = 0
        self._panel = NO_ADVICE
        if isinstance(scorer, LiveScorer):
            self._scorer, self._note = scorer, WAITING
        elif scorer == "auto":
            self._factory = lambda: installed_scorer(settings)
        elif callable(scorer):
            self._factory = scorer
        elif scorer is not None:
            raise VehsimError(
                f"scorer must be 'auto', None, a scorer (feed, score) or a function returning "
                f"one, got {scorer!r}"
            )
        if self._factory is not None:
            self._load()

    # -- loading ---------------------------------------------------------------------------------
    def _load(self) -> None:
        """Start loading the scorer on a thread of its own (once at a time)."""
        with self._lock:
            if self._loader is not None and self._loader.is_alive():
                return
            self._note = LOADING
            self._loader = threading.Thread(
                target=self._run_factory, name="vehsim-ui-scorer", daemon=True
            )
            self._loader.start()

    def _run_factory(self) -> None:
        try:
            scorer = self._factory()  # type: ignore[misc]
            if not isinstance(scorer, LiveScorer):
                raise VehsimError(f"the scorer plug-in gave {scorer!r}, not a scorer")
        except ScorerUnavailable as exc:
            log.info("live scoring unavailable: %s", exc)
            self._failed(exc.note)
            return
        except Exception as exc:  # a broken plug-in or store: say it, keep the dashboard alive
            log.warning("live scoring: the scorer did not load", exc_info=True)
            self._failed(("Scoring unavailable", f"the scorer did not load: {exc}"))
            return
        with self._lock:
            self._scorer = scorer
            self._note = WAITING

    def _failed(self, note: tuple[str, str]) -> None:
        with self._lock:
            self._note = note
            self._next_try_s = self._clock() + self.retry_s

    def wait_ready(self, timeout_s: float = 60.0) -> bool:
        """Wait for the scorer to load (scripts, notebooks, tests); True when there is one."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout_s)
        return self._scorer is not None

    @property
    def ready(self) -> bool:
        """Whether a scorer is loaded."""
        return self._scorer is not None

    # -- the car ---------------------------------------------------------------------------------
    def new_run(self, vehicle_id: str) -> None:
        """A new car (or the same one from rest): a new telemetry run, an empty panel."""
        self.vehicle_id = vehicle_id
        self.run_id = str(uuid.uuid4())
        self._seq = 0
        self._panel = NO_ADVICE

    def offer(self, sim_time_s: float, payload: Mapping[str, Any]) -> None:
        """Score one reading of the car (its ``simulation.raw`` payload at ``sim_time_s``)."""
        scorer = self._scorer
        if scorer is None:
            if self._factory is not None and not self._closed and self._clock() >= self._next_try_s:
                self._load()
            return
        event = ev.make_event(
            ev.SIMULATION_RAW, self.vehicle_id, self.run_id, self._seq, sim_time_s, payload
        )
        self._seq += 1
        try:
            scorer.feed(json.dumps(event))
            out = scorer.score()
        except Exception as exc:  # a model that breaks: say it once, try a fresh load later
            log.warning("live scoring failed", exc_info=True)
            with self._lock:
                self._scorer = None
            self._failed(("Scoring failed", f"{type(exc).__name__}: {exc}"))
            return
        for item in out:
            if item.get("event_type") in (ev.DIAGNOSTIC_PREDICTION, ev.DRIVER_COACHING):
                self.events.append(item)
                if item.get("vehicle_id") == self.vehicle_id:
                    self._panel = apply_advice_event(self._panel, item)

    def panel(self) -> AdvicePanel:
        """The panel of the current car run, with a note saying what the scorer is doing."""
        return replace(self._panel, note=self._note)

    def close(self) -> None:
        """No further loading (a load under way finishes on its daemon thread)."""
        self._closed = True


__all__ = [
    "SCORER_GROUP",
    "LiveScorer",
    "LocalAdvisor",
    "ScorerUnavailable",
    "installed_scorer",
]
