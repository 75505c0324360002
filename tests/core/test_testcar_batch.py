"""Batch validation that never loses the batch: every row of a test-car list gets a line.

``data/testcar_published_layout.csv`` has the EPA Test Car List's published column layout (one
row per test, every column of the 2016-2022 files). Its gasoline cars are real rows of the
calibration subset (Acura ILX with a US06 test and a repeated FTP, Ford Escape with an E85 test,
Hyundai Kona, GMC Acadia with its N/V ratio entered as 4.2, Kia Rio with an empty cylinders
field); the electric car, full hybrid, plug-in hybrid and diesel are synthetic rows in the same
layout. Expected reasons are written out by hand below.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from vehsim.cli import main
from vehsim.testcar import (
    COL_AXLE,
    COL_CYLINDERS,
    COL_DISPLACEMENT,
    COL_NV,
    COL_POWER,
    TestCarRowError,
    calibration_frame,
    cars_from_testcar_list,
    read_testcar_file,
    vehicle_from_testcar,
)
from vehsim.validate import validate_batch

PUBLISHED = Path(__file__).parent / "data" / "testcar_published_layout.csv"

#: Spreadsheet row(s) -> the reason each skipped entry must give.
EXPECTED_SKIPS = {
    (4,): "other_test: US06",
    (5,): "duplicate_test",
    (8,): "other_fuel: E85",
    (11, 12): "invalid_field: N/V Ratio = 4.2 (10 to 80 rpm/mph)",
    (15, 16): "unsupported_powertrain: electric",
    (17, 18): "unsupported_powertrain: hybrid",
    (19, 20): "unsupported_powertrain: plug-in hybrid",
    (21, 22): "unsupported_powertrain: diesel",
}
#: Test vehicle id -> spreadsheet rows of its FTP and HWFE tests (the validated cars).
EXPECTED_CARS = {
    "EK4H1D": [2, 3],
    "LUA86422": [6, 7],
    "OS-U1N0MC120F": [9, 10],
    "SC9R6GU05AC": [13, 14],
}


def strict_loads(text: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def published_batch():
    return validate_batch(read_testcar_file(PUBLISHED))


def test_published_layout_pairs_ftp_and_hwfe_rows_by_vehicle_and_configuration():
    cars, _ = cars_from_testcar_list(read_testcar_file(PUBLISHED))
    by_id = {car.test_vehicle_id: car for car in cars}
    ilx = by_id["EK4H1D"]
    assert ilx.rows == (2, 3)
    # RND_ADJ_FE of each test, the FTP row's bags (the list's figures for the ILX)
    assert ilx.row["FE_FTP_mpg_unadj"] == 31.2 and ilx.row["FE_HWFE_mpg_unadj"] == 49.9
    assert ilx.row["FE Bag 1"] == 31.3 and ilx.row["FE Bag 3"] == 36.1


def test_every_row_gets_exactly_one_line_with_its_reason(published_batch):
    lines = published_batch.lines()
    covered = sorted(r for line in lines for r in line["rows"])
    assert covered == list(range(2, 2 + published_batch.rows_read))  # each row once
    skips = {tuple(x["rows"]): x["reason"] for x in lines if x["status"] == "skipped"}
    assert skips == EXPECTED_SKIPS
    validated = {x["test_vehicle_id"]: x["rows"] for x in lines if x["status"] == "validated"}
    assert validated == EXPECTED_CARS
    assert [x["rows"][0] for x in lines] == sorted(x["rows"][0] for x in lines)  # file order


def test_empty_cylinders_are_estimated_and_flagged(published_batch):
    results = published_batch.results.set_index("test_vehicle_id")
    assert results.loc["SC9R6GU05AC", "estimated_fields"] == [COL_CYLINDERS]
    assert results.loc["EK4H1D", "estimated_fields"] == []
    rio = results.loc["SC9R6GU05AC"]
    assert abs(rio["ftp_error_pct"]) < 10 and abs(rio["hwfe_error_pct"]) < 10


def test_summary_counts_rows_by_reason(published_batch):
    s = published_batch.summary()
    assert s["vehicles"] == 4 and s["rows_read"] == 21
    assert s["rows_validated"] == 8 and s["rows_skipped"] == 13
    assert s["skipped_by_reason"] == {
        "duplicate_test": 1,
        "invalid_field: N/V Ratio": 2,
        "other_fuel": 1,
        "other_test": 1,
        "unsupported_powertrain: diesel": 2,
        "unsupported_powertrain: electric": 2,
        "unsupported_powertrain: hybrid": 2,
        "unsupported_powertrain: plug-in hybrid": 2,
    }
    assert s["vehicles_with_estimates"] == 1
    assert s["estimated_fields"] == {COL_CYLINDERS: 1}


def test_cli_reports_every_car_names_each_skip_and_exits_0(capsys):
    code, out, _ = run_cli(capsys, "validate", "--testcar-csv", str(PUBLISHED), "--quiet")
    assert code == 0
    lines = [strict_loads(x) for x in out.strip().splitlines()]  # strict JSON, null for NaN
    assert lines[-1]["summary"] is True and lines[-1]["vehicles"] == 4
    skipped = [x for x in lines[:-1] if x["status"] == "skipped"]
    assert {x["reason"] for x in skipped} == set(EXPECTED_SKIPS.values())
    kona = next(x for x in lines if x.get("test_vehicle_id") == "OS-U1N0MC120F")
    assert kona["bag3_over_bag1_epa"] is None  # the list has no bags for it


def test_cli_strict_stops_at_the_first_bad_row_with_exit_2(capsys):
    code, out, err = run_cli(
        capsys, "validate", "--testcar-csv", str(PUBLISHED), "--strict", "--quiet"
    )
    assert code == 2 and out == ""
    assert "row 5: test car EK4H1D repeats the FTP of row 2" in err


def test_cli_exits_2_when_no_car_can_be_validated(capsys, tmp_path):
    frame = read_testcar_file(PUBLISHED)
    csv = tmp_path / "none.csv"
    frame.iloc[14:].to_csv(csv, index=False)  # the electric car, hybrids and diesel only
    code, out, err = run_cli(capsys, "validate", "--testcar-csv", str(csv), "--quiet")
    assert code == 2 and "no car could be validated" in err
    lines = [strict_loads(x) for x in out.strip().splitlines()]
    assert lines[-1]["vehicles"] == 0 and lines[-1]["ftp_median_abs_error_pct"] is None
    assert all(x["status"] == "skipped" for x in lines[:-1])


def test_cli_table_and_plot_with_skipped_rows(capsys, tmp_path):
    png = tmp_path / "v.png"
    code, out, _ = run_cli(
        capsys,
        "validate",
        "--testcar-csv",
        str(PUBLISHED),
        "--format",
        "table",
        "--plot",
        str(png),
        "--quiet",
    )
    assert code == 0 and png.stat().st_size > 0
    assert "unsupported_powertrain: electric" in out and "nan" not in out.lower()


def test_workbook_as_downloaded_reads_like_the_csv(tmp_path):
    pytest.importorskip("openpyxl", reason="needs the [xlsx] extra")
    xlsx = tmp_path / "22tstcar.xlsx"
    read_testcar_file(PUBLISHED).to_excel(xlsx, index=False)
    cars_csv, skips_csv = cars_from_testcar_list(read_testcar_file(PUBLISHED))
    cars_xlsx, skips_xlsx = cars_from_testcar_list(read_testcar_file(xlsx))
    assert [c.rows for c in cars_xlsx] == [c.rows for c in cars_csv]
    assert [(s.rows, s.reason) for s in skips_xlsx] == [(s.rows, s.reason) for s in skips_csv]


# --- the flat layout (one row per car, the calibration subset's) and single rows -------------


def _row(model: str) -> dict:
    frame = calibration_frame()
    return frame[frame["Represented Test Veh Model"] == model].iloc[0].to_dict()


def test_flat_layout_skips_duplicates_and_engineless_rows():
    frame = calibration_frame().head(3)
    ev = dict(frame.iloc[0], **{COL_DISPLACEMENT: math.nan, COL_CYLINDERS: math.nan})
    ev["Test Vehicle ID"] = "EV-1"
    frame = pd.concat([frame, frame.iloc[[1]], pd.DataFrame([ev])], ignore_index=True)
    cars, skipped = cars_from_testcar_list(frame)
    assert [c.rows for c in cars] == [(2,), (3,), (4,)]
    assert [(s.rows, s.reason) for s in skipped] == [
        ((5,), "duplicate_test"),
        ((6,), "unsupported_powertrain: electric"),
    ]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (COL_NV, 4.2, "invalid_field: N/V Ratio = 4.2 (10 to 80 rpm/mph)"),
        (COL_POWER, math.nan, "invalid_field: Rated Horsepower = empty (40 to 1600 hp)"),
        (COL_AXLE, "n/a", "invalid_field: Axle Ratio = n/a (1.5 to 7 -)"),
    ],
)
def test_vehicle_from_testcar_names_the_column(column, value, reason):
    row = dict(_row("ACADIA FWD"), **{column: value})
    with pytest.raises(TestCarRowError, match=f"'{column}'") as info:
        vehicle_from_testcar(row)
    assert info.value.reason == reason and info.value.column == column


def test_vehicle_from_testcar_refuses_an_unsupported_powertrain():
    row = dict(_row("ACADIA FWD"), **{"Test Fuel Type Description": "Electricity"})
    with pytest.raises(TestCarRowError, match="electric powertrain") as info:
        vehicle_from_testcar(row)
    assert info.value.reason == "unsupported_powertrain: electric"
    mild = vehicle_from_testcar(_row("Velar MHEV"))  # a mild hybrid is a conventional car
    assert mild["idle_stop"] == 1


def test_estimates_are_close_to_the_list_and_flagged():
    """Estimated from the other fields, within the spread the subset shows (docs/validation.md:
    N/V and axle ratio within about 5% at the median)."""
    row = _row("ACADIA FWD")
    full = vehicle_from_testcar(row)
    for column in (COL_NV, COL_AXLE, COL_CYLINDERS):
        estimated = vehicle_from_testcar(dict(row, **{column: math.nan}))
        assert estimated.meta["estimated_fields"] == [column]
        assert "estimated_fields" not in full.meta
    no_nv = vehicle_from_testcar(dict(row, **{COL_NV: math.nan}))
    assert no_nv.gear_ratios[-1] == pytest.approx(full.gear_ratios[-1], rel=0.1)
    assert vehicle_from_testcar(dict(row, **{COL_CYLINDERS: None}))["cylinders"] == 4
    with pytest.raises(TestCarRowError, match="is empty"):
        vehicle_from_testcar(dict(row, **{COL_CYLINDERS: None}), estimate=False)
