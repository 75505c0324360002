"""Ground-truth fault labels: JSON lines from the simulation side -> labels/fault_labels, for
experiments only; loading twice adds nothing; the live path's jobs never read them."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

import pytest

pytest.importorskip("deltalake", reason="needs the [spark] extra")

from vehsim.faults import FaultSpec  # noqa: E402
from vehsim.labels import append_labels, fault_label  # noqa: E402
from vehsim_pipelines import catalog as cat  # noqa: E402
from vehsim_pipelines import gold, jobs, lake, silver  # noqa: E402
from vehsim_pipelines.labels import load_labels  # noqa: E402


@pytest.fixture
def settings(vehsim_env):
    from vehsim.config import load_settings

    return load_settings()


def test_labels_load_into_their_own_table_once(settings):
    clock0 = datetime(2026, 11, 27, 14, 0, 0, tzinfo=UTC)
    append_labels(
        [
            fault_label("run-b", "car-002", FaultSpec("vacuum_leak", 0.5, 120.0), "drive", clock0),
            fault_label("run-a", "car-001", FaultSpec("misfire_cylinder_1", 0.8, 30.0), "simulate"),
        ],
        home=settings.home,
    )
    first = load_labels(settings)
    assert first.written and first.rows == 2 and first.table.endswith("/labels/fault_labels")
    rows = lake.read_table(first.table).to_pylist()
    assert [(r["run_id"], r["fault"], r["severity"], r["onset_s"]) for r in rows] == [
        ("run-a", "misfire_cylinder_1", 0.8, 30.0),
        ("run-b", "vacuum_leak", 0.5, 120.0),
    ]
    assert rows[0]["onset_sim_clock_utc"] is None
    assert rows[1]["onset_sim_clock_utc"] == datetime(2026, 11, 27, 14, 2, tzinfo=UTC)

    again = load_labels(settings)
    assert not again.written and again.version == first.version, "nothing new: no new version"

    append_labels(
        [fault_label("run-b", "car-002", FaultSpec("vacuum_leak", 0.0, 400.0), "command", clock0)],
        home=settings.home,
    )
    third = load_labels(settings)
    assert third.written and third.rows == 3 and third.version == first.version + 1


def test_no_labels_gives_an_empty_table_readers_find(settings):
    run = load_labels(settings)
    assert run.rows == 0 and lake.read_table(run.table).num_rows == 0


def test_the_live_path_never_reads_the_labels():
    assert cat.LABELS_FAULTS not in cat.ALL_TABLES, "not a table the refinement jobs manage"
    assert cat.table("labels/fault_labels") is cat.LABELS_FAULTS
    for module in (jobs, silver, gold):
        source = inspect.getsource(module)
        assert "LABELS_FAULTS" not in source and "vehsim.labels" not in source, module.__name__


def test_the_cli_stage_prints_a_summary(settings, capsys):
    from vehsim.cli import main

    append_labels(
        [fault_label("r", "v", FaultSpec("gearbox_slip"), "scenario")], home=settings.home
    )
    assert main(["pipeline", "labels"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["labels"]["rows"] == 1 and out["labels"]["written"]
