"""Ground-truth fault labels: written as JSON lines under VEHSIM_HOME/labels, read back whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vehsim.errors import ParameterError
from vehsim.faults import FaultSpec
from vehsim.labels import (
    FaultLabel,
    append_labels,
    fault_label,
    label_file,
    labels_dir,
    read_labels,
)


def test_labels_append_per_run_and_read_back(tmp_path):
    clock0 = datetime(2026, 11, 27, 14, 0, 0, tzinfo=UTC)
    first = fault_label("run-a", "car-1", FaultSpec("vacuum_leak", 0.5, 120.0), "drive", clock0)
    cleared = fault_label("run-a", "car-1", FaultSpec("vacuum_leak", 0.0, 300.0), "command", clock0)
    other = fault_label("run-b", "car-2", FaultSpec("misfire_cylinder_1"), "simulate")
    written = append_labels([first, cleared], home=tmp_path)
    append_labels([other], home=tmp_path)

    assert written == [label_file("run-a", tmp_path)]
    assert labels_dir(tmp_path) == tmp_path / "labels"
    rows = read_labels(tmp_path)
    assert [(r["run_id"], r["fault"], r["severity"], r["onset_s"]) for r in rows] == [
        ("run-a", "vacuum_leak", 0.5, 120.0),
        ("run-a", "vacuum_leak", 0.0, 300.0),
        ("run-b", "misfire_cylinder_1", 1.0, 0.0),
    ]
    # Onset on the simulation's clock: clock at t=0 plus onset_s (same clock as sim_clock_utc).
    assert rows[0]["onset_sim_clock_utc"].startswith("2026-11-27T14:02:00")
    assert rows[2]["onset_sim_clock_utc"] is None
    line = label_file("run-a", tmp_path).read_text().splitlines()[0]
    assert json.loads(line)["label_schema_version"] == 1


def test_labels_refuse_bad_input(tmp_path):
    with pytest.raises(ParameterError, match="unknown fault"):
        FaultLabel("r", "v", "flat_battery", 1.0, 0.0, None, "drive", "x")
    with pytest.raises(ParameterError, match="source"):
        fault_label("r", "v", FaultSpec("vacuum_leak"), "guess")
    with pytest.raises(ParameterError, match="severity"):
        FaultLabel("r", "v", "vacuum_leak", 1.5, 0.0, None, "drive", "x")
    # A half-written line is an error that names the file and line, not a silent skip.
    append_labels([fault_label("r", "v", FaultSpec("vacuum_leak"), "drive")], home=tmp_path)
    with label_file("r", tmp_path).open("a") as fh:
        fh.write('{"run_id": "r", "vehi')
    with pytest.raises(ParameterError, match=r"r\.jsonl:2"):
        read_labels(tmp_path)


def test_unsafe_run_id_stays_inside_the_labels_folder(tmp_path):
    assert label_file("../../etc/x", tmp_path).parent == tmp_path / "labels"
