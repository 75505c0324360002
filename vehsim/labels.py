"""Ground-truth fault labels: which fault a simulated car has, how strong, and from when.

The simulation knows the truth that a diagnostic system has to infer. It writes that truth here,
beside the event stream and never into it: one JSON line per fault assignment, appended to
``$VEHSIM_HOME/labels/<run_id>.jsonl``. ``vehsim pipeline labels`` loads these files into their
own lake table (``labels/fault_labels``) for experiments; Bronze, Silver and Gold never read them,
so nothing on the live path can learn from the answer.

A label says "from ``onset_s`` of simulated time on, this vehicle has ``fault`` at ``severity``".
Clearing a fault is a label with ``severity`` 0 at the time it was cleared, so the state at time
``t`` is the label of the latest ``onset_s <= t`` per vehicle and fault.

Pure Python: the simulation side imports this without any pipeline dependency.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vehsim.config import load_settings
from vehsim.errors import ParameterError
from vehsim.events import utc_iso, utc_now_iso
from vehsim.faults import FaultSpec

#: Folder under ``VEHSIM_HOME`` that holds the label files.
LABELS_DIRNAME = "labels"
#: Label format version, written into every line.
LABEL_SCHEMA_VERSION = 1
#: Where a label came from (``source``): a batch run, a live drive's start options, a live
#: ``inject_fault``/``clear_fault`` command, a scenario file, a seeded fleet assignment.
LABEL_SOURCES = ("simulate", "drive", "command", "scenario", "fleet_random")
_SAFE_RUN_ID = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class FaultLabel:
    """One fault assignment of one vehicle in one run.

    Attributes:
        run_id: the run (as in the events' ``run_id``).
        vehicle_id: the vehicle (as in the events' ``vehicle_id``).
        fault: fault name from ``vehsim.faults.FAULTS``.
        severity: 0 (healthy, or cleared) to 1 (fully developed) [-].
        onset_s: simulated time from which the severity holds [s].
        onset_sim_clock_utc: the simulation's clock at ``onset_s`` (UTC ISO-8601, the same clock
            as the events' ``sim_clock_utc``), or None for a batch run without a clock.
        source: one of :data:`LABEL_SOURCES`.
        recorded_at: wall-clock time the label was written (UTC ISO-8601).
    """

    run_id: str
    vehicle_id: str
    fault: str
    severity: float
    onset_s: float
    onset_sim_clock_utc: str | None
    source: str
    recorded_at: str

    def __post_init__(self) -> None:
        for name in ("run_id", "vehicle_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ParameterError(f"fault label: {name} must be a non-empty string")
        if self.source not in LABEL_SOURCES:
            raise ParameterError(
                f"fault label: source must be one of {', '.join(LABEL_SOURCES)}, "
                f"got {self.source!r}"
            )
        # FaultSpec checks the name against the catalogue, the severity range and the onset.
        FaultSpec(self.fault, self.severity, self.onset_s)

    def as_dict(self) -> dict[str, Any]:
        return {"label_schema_version": LABEL_SCHEMA_VERSION, **asdict(self)}


def fault_label(
    run_id: str,
    vehicle_id: str,
    spec: FaultSpec,
    source: str,
    sim_clock0_utc: datetime | None = None,
) -> FaultLabel:
    """The label of ``spec`` on one vehicle.

    Args:
        run_id: the run's id.
        vehicle_id: the vehicle's id.
        spec: the fault (a cleared fault: ``FaultSpec(name, 0.0, time_cleared_s)``).
        source: one of :data:`LABEL_SOURCES`.
        sim_clock0_utc: the simulation's clock at simulated time 0 (the live runtime's
            ``sim_clock_utc - sim_time_s``); gives ``onset_sim_clock_utc``. None for batch runs.
    """
    onset_clock = None
    if sim_clock0_utc is not None:
        onset_clock = utc_iso(sim_clock0_utc + timedelta(seconds=spec.onset_s))
    return FaultLabel(
        run_id=run_id,
        vehicle_id=vehicle_id,
        fault=spec.name,
        severity=float(spec.severity),
        onset_s=float(spec.onset_s),
        onset_sim_clock_utc=onset_clock,
        source=source,
        recorded_at=utc_now_iso(),
    )


def labels_dir(home: Path | str | None = None) -> Path:
    """``<home>/labels`` (``home`` defaults to the settings' ``VEHSIM_HOME``)."""
    base = Path(home) if home is not None else load_settings().home
    return base / LABELS_DIRNAME


def label_file(run_id: str, home: Path | str | None = None) -> Path:
    """The file that holds the labels of ``run_id`` (unsafe characters become ``_``)."""
    return labels_dir(home) / f"{_SAFE_RUN_ID.sub('_', run_id)}.jsonl"


def append_labels(labels: Iterable[FaultLabel], home: Path | str | None = None) -> list[Path]:
    """Append ``labels`` as JSON lines to their runs' files; returns the files written.

    Each line is written with one ``write`` on a file opened for appending and flushed to disk
    before returning, so a reader never sees half a line from a finished call and concurrent
    writers of one run do not interleave within a line.
    """
    by_file: dict[Path, list[str]] = {}
    for label in labels:
        if not isinstance(label, FaultLabel):
            raise ParameterError(f"append_labels takes FaultLabel objects, got {type(label)}")
        line = json.dumps(label.as_dict(), separators=(",", ":"), allow_nan=False) + "\n"
        by_file.setdefault(label_file(label.run_id, home), []).append(line)
    for path, lines in by_file.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
    return list(by_file)


def read_labels(home: Path | str | None = None) -> list[dict[str, Any]]:
    """Every label under ``<home>/labels``, in file then line order.

    A line that is not a complete label (a writer killed mid-line) is an error naming the file
    and line, not a silent skip.
    """
    out: list[dict[str, Any]] = []
    folder = labels_dir(home)
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for lineno, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                    row.pop("label_schema_version", None)
                    FaultLabel(**row)
                except (json.JSONDecodeError, TypeError, ParameterError) as exc:
                    raise ParameterError(
                        f"{path}:{lineno}: not a valid fault label ({exc})"
                    ) from None
                out.append(row)
    return out
