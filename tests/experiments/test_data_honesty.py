"""Experiments say which table fed them and how many rows; ``vehsim mlflow-ui`` serves the store."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from argparse import Namespace

import numpy as np
import pytest

from vehsim.config import load_settings

pytest.importorskip("mlflow", reason="needs the [ml] extra")
pytest.importorskip("deltalake", reason="needs the [ml] extra")

from vehsim_experiments.cli import (  # noqa: E402
    UI_HOST,
    Reporter,
    _mlflow_ui,
    mlflow_ui_command,
)
from vehsim_experiments.datasets import FEATURES  # noqa: E402
from vehsim_experiments.runner import (  # noqa: E402
    MIN_ROWS_PER_FEATURE,
    PRESETS,
    rows_needed,
)


def test_rows_needed_is_ten_per_feature():
    assert MIN_ROWS_PER_FEATURE == 10
    assert rows_needed(PRESETS["fuel"]) == 10 * len(FEATURES) == 120


def test_small_gold_table_is_named_counted_and_flagged(vehsim_env, capsys):
    """20 Gold rows for 12 features: the run trains, and says so everywhere with the remedy."""
    import pandas as pd
    from deltalake import write_deltalake
    from mlflow import MlflowClient

    from vehsim.cli import main

    settings = load_settings()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.uniform(1, 2, 20) for c in FEATURES})
    frame["fuel_l_per_100km"] = 5 + frame["mass_kg"]
    frame["vehicle"] = "compact-sedan"
    uri = settings.table_uri("gold", "features")
    write_deltalake(uri, frame)

    code = main(
        [
            "experiment",
            "fuel",
            "--data",
            "gold",
            "--models",
            "ridge",
            "--registered-model",
            "tiny-gold",
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    summary = json.loads(out)
    assert summary["data_source"] == "gold"
    assert summary["data_table"] == uri
    assert summary["data_rows"] == 20
    assert summary["n_train"] + summary["n_test"] == 20
    assert summary["rows_needed"] == 120
    warning = summary["data_warning"]
    assert "20 usable rows" in warning and "120" in warning and "--data simulated" in warning
    # --quiet keeps the warning, drops the progress lines
    assert f"warning: {warning}" in err
    assert "training ridge" not in err

    run = MlflowClient(settings.mlflow_tracking_uri).get_run(summary["runs"][0]["run_id"])
    assert run.data.tags["vehsim.data_table"] == uri
    assert run.data.tags["vehsim.data_rows"] == "20"
    assert run.data.tags["vehsim.data_warning"] == warning
    assert run.data.params["n_rows"] == "20"


def test_reporter_lines_and_bar():
    lines = []

    class Capture(Reporter):
        def __call__(self, text):
            stderr, sys.stderr = sys.stderr, io.StringIO()
            try:
                super().__call__(text)
                lines.append(sys.stderr.getvalue())
            finally:
                sys.stderr = stderr

    quiet = Capture(quiet=True, interactive=False)
    quiet("training ridge on 90 rows")
    quiet("warning: too few rows")
    quiet("simulated 1/2: udds at 25 °C, cold start")
    assert lines == ["", "warning: too few rows\n", ""]

    lines.clear()
    loud = Capture(quiet=False, interactive=False)
    loud("simulated 1/2: udds at 25 °C, cold start")
    assert lines == ["simulated 1/2: udds at 25 °C, cold start\n"]


def test_mlflow_ui_command_serves_the_projects_store_on_loopback(vehsim_env, capsys):
    settings = load_settings()
    cmd = mlflow_ui_command(settings, 5123)
    assert cmd[1:4] == ["-m", "mlflow", "ui"]
    assert cmd[cmd.index("--backend-store-uri") + 1] == settings.mlflow_tracking_uri
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" == UI_HOST
    assert cmd[cmd.index("--port") + 1] == "5123"
    dest = cmd[cmd.index("--artifacts-destination") + 1]
    assert dest == (settings.home / "mlflow-artifacts").resolve().as_uri()

    seen = []
    assert _mlflow_ui(Namespace(port=5123), run=lambda c: seen.append(c) or 0) == 0
    assert seen == [cmd]
    assert "http://127.0.0.1:5123" in capsys.readouterr().err
    assert _mlflow_ui(Namespace(port=5123), run=lambda c: 1) == 1


def test_mlflow_ui_bad_port_is_bad_input(vehsim_env, capsys):
    from vehsim.cli import main

    assert main(["mlflow-ui", "--port", "70000"]) == 2
    assert "--port must be from 1 to 65535" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
@pytest.mark.slow
def test_mlflow_ui_answers_on_loopback(vehsim_env):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vehsim.cli", "mlflow-ui", "--port", str(port)],
        env={**os.environ, **vehsim_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "MLflow UI did not answer within 180 s"
                time.sleep(1)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)


def test_fallback_to_simulation_announces_a_cold_kernel(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("VEHSIM_NO_JIT", raising=False)
    monkeypatch.setenv("VEHSIM_NUMBA_CACHE", str(tmp_path))  # nothing compiled here
    reporter = Reporter(quiet=False, interactive=False)
    reporter("Gold features missing or incomplete: simulating a feature table")
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "Gold features missing or incomplete: simulating a feature table",
        "compiling the simulation kernel once, ~25 s (later runs start at once) ...",
    ]
    Reporter(quiet=True, interactive=False)("Gold features missing or incomplete: simulating")
    assert capsys.readouterr().err == ""
