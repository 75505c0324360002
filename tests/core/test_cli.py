"""The command line: JSON summaries, and bad input that exits non-zero naming the problem."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from vehsim.cli import main

SUMMARY_KEYS = {
    "distance_km",
    "fuel_l",
    "fuel_l_per_100km",
    "mpg",
    "max_speed_error_mph",
    "time_outside_tolerance_s",
    "final_coolant_temp_c",
    "engine_wear_pct_delta",
    "brake_pad_wear_pct_delta",
    "tyre_wear_pct_delta",
    "oil_life_pct_delta",
}


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_prints_summary_and_writes_parquet_and_plot(capsys, tmp_path):
    out_file, png = tmp_path / "run.parquet", tmp_path / "run.png"
    code, out, _ = run_cli(
        capsys,
        "simulate",
        "--vehicle",
        "compact-sedan",
        "--cycle",
        "hwfet",
        "--dt-s",
        "0.05",
        "--out",
        str(out_file),
        "--plot",
        str(png),
    )
    assert code == 0
    summary = json.loads(out)
    assert SUMMARY_KEYS <= summary.keys()
    assert summary["distance_km"] == pytest.approx(16.51, rel=0.01)
    assert len(pd.read_parquet(out_file)) == 765
    assert png.stat().st_size > 20_000


def test_simulate_from_testcar_csv(capsys):
    from importlib import resources

    csv = resources.files("vehsim").joinpath("data", "testcar", "testcar_2022_calibration.csv")
    code, out, _ = run_cli(
        capsys,
        "simulate",
        "--testcar-csv",
        str(csv),
        "--testcar-id",
        "EK4H1D",
        "--cycle",
        "udds",
        "--dt-s",
        "0.1",
    )
    assert code == 0 and json.loads(out)["vehicle"] == "testcar-EK4H1D"


def test_user_cycle_csv(capsys, tmp_path):
    csv = tmp_path / "ramp.csv"
    csv.write_text("time_s,speed_mps,grade\n0,0,0\n10,10,0.02\n40,10,0.02\n50,0,0\n")
    code, out, _ = run_cli(capsys, "simulate", "--vehicle", "compact-suv", "--cycle", str(csv))
    assert code == 0 and json.loads(out)["cycle"] == "ramp"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vehicle", "no-such-car", "--cycle", "udds"], "unknown vehicle 'no-such-car'"),
        (["--vehicle", "compact-suv", "--cycle", "nyc"], "unknown cycle 'nyc'"),
        (
            ["--vehicle", "compact-suv", "--cycle", "udds", "--dt-s", "5"],
            "dt_s must be from 0.001 to 1.0 s",
        ),
        (
            ["--vehicle", "compact-suv", "--cycle", "udds", "--ambient-c", "nan"],
            "ambient_temp_c must be finite",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_problem(capsys, argv, message):
    code, _, err = run_cli(capsys, "simulate", *argv)
    assert code == 2
    assert message in err


def test_invalid_vehicle_file_names_field_and_range(capsys, tmp_path):
    import yaml

    import vehsim

    doc = vehsim.load_vehicle("compact-suv").to_dict()
    doc["vehicle"]["wheel_radius_m"] = 3.2
    path = tmp_path / "car.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, _, err = run_cli(capsys, "simulate", "--vehicle", str(path), "--cycle", "udds")
    assert code == 2
    assert "vehicle.wheel_radius_m = 3.2 m is out of range (allowed 0.2 to 0.6 m)" in err


def test_validate_prints_one_line_per_vehicle_and_a_summary(capsys, tmp_path):
    from vehsim.testcar import calibration_frame

    csv = tmp_path / "three.csv"
    calibration_frame().head(3).to_csv(csv, index=False)
    code, out, _ = run_cli(capsys, "validate", "--testcar-csv", str(csv))
    lines = [json.loads(x) for x in out.strip().splitlines()]
    assert code == 0 and len(lines) == 4
    assert {
        "test_vehicle_id",
        "ftp_mpg_pred",
        "ftp_mpg_epa",
        "hwfe_mpg_pred",
        "hwfe_mpg_epa",
        "bag3_over_bag1_pred",
        "ftp_error_pct",
        "hwfe_error_pct",
    } <= lines[0].keys()
    assert lines[-1]["summary"] is True and lines[-1]["vehicles"] == 3


def test_console_script_is_installed():
    proc = subprocess.run(
        [sys.executable, "-m", "vehsim.cli", "simulate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--testcar-csv" in proc.stdout


def test_import_vehsim_is_light():
    """The library's top level loads nothing heavy until a simulation name is used."""
    code = (
        "import sys, vehsim, vehsim.config, vehsim.events; "
        "heavy = [m for m in ('numba', 'pandas', 'pyspark', 'mlflow', 'kafka', 'ipywidgets') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
