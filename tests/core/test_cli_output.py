"""What ``simulate`` and ``validate`` print: strict JSON or a table on stdout, notices on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vehsim.cli import main
from vehsim.cli_sim import shipped_vehicles
from vehsim.output import dumps, format_rows, json_ready


def strict_loads(text: str):
    """``json.loads`` that refuses ``NaN``/``Infinity`` (what jq and most parsers do)."""

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_ready_turns_missing_numbers_into_null():
    import numpy as np

    doc = {"a": float("nan"), "b": np.float64("inf"), "c": [np.int64(3), -np.inf], "d": "x"}
    assert json_ready(doc) == {"a": None, "b": None, "c": [3, None], "d": "x"}
    assert strict_loads(dumps(doc)) == {"a": None, "b": None, "c": [3, None], "d": "x"}


def test_strict_parser_refuses_bare_nan():
    with pytest.raises(ValueError, match="not JSON: NaN"):
        strict_loads('{"x": NaN}')


@pytest.fixture
def testcar_without_one_epa_figure(tmp_path):
    """Two test cars; the second has no FTP figure (a blank cell), so its errors are missing."""
    from vehsim.testcar import COL_FTP, calibration_frame

    frame = calibration_frame().head(2).copy()
    frame.loc[frame.index[1], COL_FTP] = float("nan")
    csv = tmp_path / "two.csv"
    frame.to_csv(csv, index=False)
    return csv


def test_validate_json_is_strict_with_null_for_a_missing_epa_figure(
    capsys, testcar_without_one_epa_figure
):
    code, out, _ = run_cli(
        capsys, "validate", "--testcar-csv", str(testcar_without_one_epa_figure), "--quiet"
    )
    assert code == 0
    assert "NaN" not in out
    lines = [strict_loads(x) for x in out.strip().splitlines()]
    assert len(lines) == 3
    assert lines[1]["ftp_mpg_epa"] is None and lines[1]["ftp_error_pct"] is None
    assert isinstance(lines[0]["ftp_error_pct"], float)
    assert lines[-1]["summary"] is True and lines[-1]["vehicles"] == 2


def test_validate_table_for_a_person(capsys, testcar_without_one_epa_figure):
    code, out, err = run_cli(
        capsys,
        "validate",
        "--testcar-csv",
        str(testcar_without_one_epa_figure),
        "--format",
        "table",
        "--quiet",
    )
    assert code == 0 and err == ""
    header, first, second = out.splitlines()[:3]
    assert header.split()[:2] == ["test_vehicle_id", "ftp_mpg_pred"]
    assert second.split()[2] == "-"  # the missing EPA figure
    assert "ftp_median_abs_error_pct" in out and "NaN" not in out and "nan" not in out


def test_simulate_json_and_table_say_the_same(capsys):
    argv = ("simulate", "--vehicle", "compact-sedan", "--cycle", "hwfet", "--dt-s", "0.1", "-q")
    code, out, err = run_cli(capsys, *argv, "--format", "json")
    assert code == 0 and err == ""
    summary = strict_loads(out)
    code, table, err = run_cli(capsys, *argv, "--format", "table")
    assert code == 0 and err == ""
    pairs = dict(line.split(None, 1) for line in table.strip().splitlines())
    assert pairs.keys() == summary.keys()
    assert float(pairs["distance_km"]) == pytest.approx(summary["distance_km"], rel=1e-5)
    assert pairs["vehicle"] == "compact-sedan"


def test_output_defaults_to_json_when_piped():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vehsim.cli",
            "simulate",
            "--vehicle",
            "compact-sedan",
            "--cycle",
            "hwfet",
            "--dt-s",
            "0.1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert strict_loads(proc.stdout)["cycle"] == "hwfet"
    # stderr is not a terminal: no progress bar escapes in a log
    assert "\r" not in proc.stderr


def test_format_rows_aligns_and_marks_missing():
    text = format_rows([{"a": 1.0, "b": None}, {"a": 22.5, "b": "x"}], ["a", "b"])
    assert text.splitlines() == ["   a  b", "   1  -", "22.5  x"]


def test_vehicle_help_lists_the_shipped_vehicles():
    proc = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "simulate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    help_text = " ".join(proc.stdout.split())
    assert shipped_vehicles()
    for name in shipped_vehicles():
        assert name in help_text


# The one-off kernel compile -------------------------------------------------------------------
def test_cold_kernel_cache_is_announced_once(tmp_path, monkeypatch, capsys):
    from vehsim import progress
    from vehsim.physics._jit import cache_dir

    monkeypatch.delenv("VEHSIM_NO_JIT", raising=False)
    monkeypatch.setenv("VEHSIM_NUMBA_CACHE", str(tmp_path))
    assert progress.kernel_cache_dir() == cache_dir()
    assert cache_dir().parent == tmp_path
    assert not progress.kernel_is_compiled()
    assert progress.announce_kernel_compile()
    assert "compiling the simulation kernel once, ~25 s" in capsys.readouterr().err
    assert not progress.announce_kernel_compile(quiet=True)
    assert capsys.readouterr().err == ""

    # what Numba leaves behind once the kernel is compiled
    index = cache_dir() / "vehsim_0123" / "kernel.run_fleet-224.py311.nbi"
    index.parent.mkdir(parents=True)
    index.touch()
    assert progress.kernel_is_compiled()
    assert not progress.announce_kernel_compile()
    assert capsys.readouterr().err == ""


def test_no_jit_means_nothing_to_compile(monkeypatch):
    from vehsim import progress

    monkeypatch.setenv("VEHSIM_NO_JIT", "1")
    assert progress.kernel_cache_dir() is None
    assert progress.kernel_is_compiled()


def test_progress_only_on_a_terminal():
    import io

    from vehsim import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert not progress.interactive(stream=io.StringIO())
    assert progress.interactive(stream=Tty())
    assert not progress.interactive(quiet=True, stream=Tty())
    assert list(progress.progress(range(3))) == [0, 1, 2]  # pytest's stderr: no bar
    with progress.progress_bar(3) as bar:
        bar.update()
        assert bar.disable


# The demo's last lines --------------------------------------------------------------------------
def test_next_steps_lists_what_was_made_and_where_to_go(vehsim_env, tmp_path, capsys):
    from vehsim.config import load_settings
    from vehsim.next_steps import NEXT_COMMANDS, main

    settings = load_settings()
    for table in ("bronze/events", "gold/features"):
        (tmp_path / "vehsim-home" / "lake" / table / "_delta_log").mkdir(parents=True)
    outputs = tmp_path / "demo-output"
    outputs.mkdir()
    (outputs / "udds.png").write_bytes(b"png")
    assert main(["--outputs", str(outputs)]) == 0
    text = capsys.readouterr().out
    assert f"{outputs}/: udds.png" in text
    assert f"{settings.lake_uri}: bronze/events, gold/features" in text
    assert settings.mlflow_tracking_uri in text
    for command, _ in NEXT_COMMANDS:
        assert command in text
    assert {"vehsim dashboard", "jupyter lab notebooks/", "vehsim mlflow-ui"} <= {
        c for c, _ in NEXT_COMMANDS
    }


def test_demo_ends_with_next_steps():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert (
        recipe.rstrip()
        .splitlines()[-1]
        .strip()
        .endswith("-m vehsim.next_steps --outputs $(DEMO_OUT)")
    )
