"""A fault injected into a car driving in this process: its trouble code and the model's
diagnosis as they arrive (``notebooks/diagnostics.ipynb``).

The car is the dashboard's local mode (:class:`vehsim.ui.sources.LocalSource`): a driver profile
drives it, the fault starts at its onset, and the source's scorer (the champion fault model,
:func:`vehsim_experiments.score.local_scorer`) scores its readings as ``vehsim score`` scores a
car on the broker. :func:`watch` drives it a step at a time (through the
:class:`vehsim.ui.Dashboard` that shows it, if any) and records each step's reading, the
on-board diagnostics and the panel's diagnosis; :func:`arrivals` says when the model first named
the fault and when the code went pending and was confirmed: the model's lead over the on-board
system, on one car and one drive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vehsim.errors import ConfigError

#: Physics step of the live car [s]: the sweep's (``pipelines/sweeps``), so that the car's
#: telemetry is what the model was trained on.
LIVE_DT_S = 0.1


def faulty_car(
    vehicle: str,
    fault: str,
    severity: float = 1.0,
    onset_s: float = 120.0,
    *,
    scorer: Any,
    profile: str = "normal",
    ambient_temp_c: float = 20.0,
    start: str = "cold",
    dt_s: float = LIVE_DT_S,
    seed: int = 0,
):
    """A local-mode car driven by the driver profile ``profile`` that gets ``fault`` at
    ``onset_s`` [s], its readings scored by ``scorer`` (see ``LocalSource(scorer=...)``).

    Raises:
        ParameterError: an unknown vehicle, fault, profile, or a severity outside 0..1.
    """
    from vehsim.faults import FaultSpec
    from vehsim.ui.sources import LocalSource

    spec = FaultSpec(fault, severity, onset_s)
    source = LocalSource(
        vehicle,
        simulator_options={"ambient_temp_c": ambient_temp_c, "start": start},
        dt_s=dt_s,
        seed=seed,
        scorer=scorer,
    )
    source.sim.set_driver(0, f"profile:{profile}")
    source.sim.inject_fault(0, spec)
    return source


def watch(car, duration_s: float, step_s: float = 1.0) -> pd.DataFrame:
    """Drive ``car`` (a local :class:`vehsim.ui.Dashboard`, whose widgets follow, or a
    :class:`vehsim.ui.sources.LocalSource`) for ``duration_s`` [s], a step of ``step_s`` at a
    time; one row per step: ``sim_time_s``, speed, coolant, ``mil_on``, the ``pending`` and
    ``confirmed`` codes (comma-separated), and the panel's ``diagnosis``, its ``probability``
    and the ``window_end_s`` it is about (empty until the first window is scored)."""
    from vehsim.ui.dashboard import Dashboard
    from vehsim.ui.sources import LocalSource

    if isinstance(car, Dashboard):
        source = car.source

        def step():
            return car.run_for(step_s, sample_every_s=step_s)

    elif isinstance(car, LocalSource):
        source = car

        def step():
            return car.advance(step_s)

    else:
        raise ConfigError(f"watch drives a local Dashboard or LocalSource, got {type(car)!r}")
    if not isinstance(source, LocalSource):
        raise ConfigError("watch needs local mode: in connected mode the car runs elsewhere")
    rows = []
    for _ in range(int(math.floor(duration_s / step_s + 1e-9))):
        sample = step()
        status = source.diagnostics()
        diagnosis = source.advice().diagnosis
        rows.append(
            {
                "sim_time_s": round(sample.sim_time_s, 6),
                "vehicle_speed_kph": sample.payload.get("vehicle_speed_kph"),
                "coolant_temp_c": sample.payload.get("coolant_temp_c"),
                "mil_on": status.mil_on,
                "pending": ",".join(c.code for c in status.codes if c.status == "pending"),
                "confirmed": ",".join(c.code for c in status.codes if c.status == "confirmed"),
                "diagnosis": diagnosis.fault if diagnosis else None,
                "probability": diagnosis.probability if diagnosis else None,
                "window_end_s": diagnosis.window_end_s if diagnosis else None,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Arrivals:
    """When what arrived in a :func:`watch` timeline [s of the car's time; NaN: never]."""

    fault: str
    code: str
    onset_s: float
    model_s: float  # the panel first names the fault (after the onset)
    pending_s: float  # the fault's code first stored, pending or confirmed
    confirmed_s: float  # the code confirmed (the check-engine lamp on)
    other_before_s: float  # the panel names a fault before the onset (a false alarm)

    @property
    def lead_s(self) -> float:
        """How long before the code's confirmation the model named the fault [s] (negative:
        after; NaN: one of them never came; the model first and no code: infinite)."""
        if math.isnan(self.model_s):
            return math.nan
        return self.confirmed_s - self.model_s if not math.isnan(self.confirmed_s) else math.inf

    def sentence(self) -> str:
        """Who was first, and by how much, in words."""
        code = self.code or "no code"
        if math.isnan(self.model_s):
            return f"the model never named {self.fault} in this drive"
        model = f"the model named {self.fault} {self.model_s - self.onset_s:.0f} s after its onset"
        if math.isnan(self.confirmed_s):
            return f"{model}; {code} was not confirmed in this drive"
        lead = self.lead_s
        if lead > 0:
            return f"{model}, {lead:.0f} s before {code} was confirmed"
        return f"{model}, {-lead:.0f} s after {code} was confirmed: the on-board monitor was first"

    def table(self) -> pd.DataFrame:
        """What arrived when, in time after the onset."""
        rows = [
            ("fault starts", self.onset_s),
            (f"model names {self.fault}", self.model_s),
            (f"code {self.code or '(none)'} pending", self.pending_s),
            (f"code {self.code or '(none)'} confirmed, lamp on", self.confirmed_s),
        ]
        frame = pd.DataFrame(rows, columns=["event", "sim_time_s"]).set_index("event")
        return frame.assign(after_onset_s=frame["sim_time_s"] - self.onset_s)


def arrivals(timeline: pd.DataFrame, fault: str, onset_s: float) -> Arrivals:
    """When the model and the on-board system first said so, in a :func:`watch` timeline."""
    from vehsim.faults import fault as catalogue

    code = catalogue(fault).code
    t = timeline["sim_time_s"]

    def first(mask) -> float:
        hits = t[mask]
        return float(hits.min()) if len(hits) else math.nan

    def stored(column: str) -> pd.Series:
        return timeline[column].fillna("").str.split(",").apply(lambda codes: code in codes)

    named = timeline["diagnosis"] == fault
    healthy = timeline["diagnosis"].isna() | (timeline["diagnosis"] == "none")
    return Arrivals(
        fault=fault,
        code=code,
        onset_s=float(onset_s),
        model_s=first(named & (t > onset_s)),
        pending_s=first(stored("pending") | stored("confirmed")) if code else math.nan,
        confirmed_s=first(stored("confirmed")) if code else math.nan,
        other_before_s=first(~healthy & (t <= onset_s)),
    )


def plot_live_fault(timeline: pd.DataFrame, when: Arrivals, title: str = ""):
    """Speed, coolant and the model's diagnosis of a :func:`watch` timeline, with the onset, the
    model's first naming of the fault and the code's pending and confirmed times marked."""
    import matplotlib.pyplot as plt  # pyplot, so that a notebook shows the figure

    fig, (speed, coolant, model) = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True)
    t = timeline["sim_time_s"]
    speed.plot(t, timeline["vehicle_speed_kph"], color="tab:blue", linewidth=0.8)
    speed.set_ylabel("speed [km/h]")
    coolant.plot(t, timeline["coolant_temp_c"], color="tab:red", linewidth=0.9)
    coolant.set_ylabel("coolant [°C]")
    scored = timeline.dropna(subset=["diagnosis"]).drop_duplicates("window_end_s")
    for name, color in ((when.fault, "tab:purple"), ("none", "tab:green")):
        rows = scored[scored["diagnosis"] == name]
        model.scatter(rows["window_end_s"], rows["probability"], s=14, color=color, label=name)
    other = scored[~scored["diagnosis"].isin([when.fault, "none"])]
    if len(other):
        model.scatter(other["window_end_s"], other["probability"], s=14, color="grey",
                      label="another fault")  # fmt: skip
    model.set_ylim(0, 1.05)
    model.set_ylabel("model: class and\nits probability [-]")
    model.set_xlabel("time of the drive [s]")
    marks = (
        (when.onset_s, "black", ":", "fault starts"),
        (when.model_s, "tab:purple", "-", "model names it"),
        (when.pending_s, "tab:orange", "--", f"{when.code} pending"),
        (when.confirmed_s, "tab:orange", "-", f"{when.code} confirmed"),
    )
    for x, color, style, label in marks:
        if not np.isnan(x):
            for ax in (speed, coolant, model):
                ax.axvline(x, color=color, linestyle=style, linewidth=1.0)
            speed.annotate(label, (x, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                           va="top", ha="right", fontsize=7, color=color)  # fmt: skip
    model.legend(loc="lower right", fontsize=7)
    speed.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ = ["Arrivals", "arrivals", "faulty_car", "plot_live_fault", "watch"]
