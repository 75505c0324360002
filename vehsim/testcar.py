"""Vehicles from spec sheets: the fields of the EPA Test Car List, filled with generic models.

A test-car row gives the equivalent test weight, target road-load coefficients, displacement,
rated power, cylinders, transmission type and gears, drive, axle ratio and N/V ratio. What it
lacks (torque curve, gear ratios, fuel map, thermal masses) comes from the generic models in
``vehsim/data/generic_models.yaml``, scaled by size and power.

Real lists are untidy. A row that vehsim cannot simulate raises :class:`TestCarRowError`, whose
``reason`` is machine-readable (``unsupported_powertrain: electric``, ``invalid_field: <column> =
<value> (<allowed range>)``); a field that is empty but that the generic models estimate well
from the others (cylinders from displacement, N/V ratio from axle ratio and gears, axle ratio
from N/V ratio and gears) is estimated, and the vehicle says so (``meta["estimated_fields"]``).

:func:`read_testcar_file` reads the list as EPA publishes it (CSV or XLSX, every column, one row
per test) or a flat file with one row per car (the calibration subset's layout);
:func:`cars_from_testcar_list` turns either into cars, pairing a car's FTP and HWFE tests by test vehicle
id and configuration, and gives every other row a reason.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from vehsim.constants import KG_PER_LB, MPS_PER_MPH, N_PER_LBF
from vehsim.errors import ParameterError
from vehsim.params import VehicleParams, from_dict
from vehsim.physics.gearbox import generic_ratios
from vehsim.physics.options import variant_param_fields
from vehsim.units import hp_to_w, lb_to_kg

#: EPA Test Car List column names used here.
COL_ID = "Test Vehicle ID"
COL_CONFIG = "Test Veh Configuration #"
COL_MAKE = "Represented Test Veh Make"
COL_MODEL = "Represented Test Veh Model"
COL_DISPLACEMENT = "Test Veh Displacement (L)"
COL_POWER = "Rated Horsepower"
COL_CYLINDERS = "# of Cylinders and Rotors"
COL_TRANSMISSION = "Tested Transmission Type"
COL_GEARS = "# of Gears"
COL_DRIVE = "Drive System Description"
COL_ETW = "Equivalent Test Weight (lbs.)"
COL_AXLE = "Axle Ratio"
COL_NV = "N/V Ratio"
COL_A = "Target Coef A (lbf)"
COL_B = "Target Coef B (lbf/mph)"
COL_C = "Target Coef C (lbf/mph**2)"
COL_BAG = ("FE Bag 1", "FE Bag 2", "FE Bag 3")
#: Columns of the list as published (one row per test): the test procedure, the test fuel and
#: the test's fuel economy (EPA, "Test Car List Data Files", field descriptions).
COL_PROCEDURE_CD = "Test Procedure Cd"
COL_PROCEDURE = "Test Procedure Description"
COL_CATEGORY = "Test Category"
COL_FUEL_CD = "Test Fuel Type Cd"
COL_FUEL = "Test Fuel Type Description"
COL_FE = "RND_ADJ_FE"
COL_FE_UNIT = "FE_UNIT"
#: Columns of the flat layout (one row per car): unadjusted FTP composite and HWFE [mpg].
COL_FTP = "FE_FTP_mpg_unadj"
COL_HWFE = "FE_HWFE_mpg_unadj"

REQUIRED_COLUMNS = (
    COL_ID,
    COL_DISPLACEMENT,
    COL_POWER,
    COL_CYLINDERS,
    COL_TRANSMISSION,
    COL_GEARS,
    COL_DRIVE,
    COL_ETW,
    COL_AXLE,
    COL_NV,
    COL_A,
    COL_B,
    COL_C,
)

#: Numeric fields of a test-car row: column, allowed range and unit (checked in this order).
NUMERIC_FIELDS: tuple[tuple[str, float, float, str], ...] = (
    (COL_DISPLACEMENT, 0.5, 10.0, "L"),
    (COL_POWER, 40.0, 1600.0, "hp"),
    (COL_CYLINDERS, 1.0, 16.0, "cylinders"),
    (COL_GEARS, 1.0, 10.0, "gears"),
    (COL_ETW, 1000.0, 12000.0, "lb"),
    (COL_AXLE, 1.5, 7.0, "-"),
    (COL_NV, 10.0, 80.0, "rpm/mph"),
    (COL_A, 0.0, 300.0, "lbf"),
    (COL_B, -5.0, 5.0, "lbf/mph"),
    (COL_C, 0.005, 0.2, "lbf/mph²"),
)
#: Text fields a car needs, with what they must say.
TEXT_FIELDS = (
    (COL_TRANSMISSION, "a transmission description"),
    (COL_DRIVE, "a drive system description"),
)
#: Fields the generic models estimate when they are empty (``estimates`` in generic_models.yaml).
ESTIMATED_FIELDS = (COL_CYLINDERS, COL_NV, COL_AXLE)

#: Powertrains vehsim does not simulate (a spark-ignition engine and a stepped, CVT or manual
#: gearbox is what it models), as named in skip reasons.
ELECTRIC = "electric"
PLUG_IN_HYBRID = "plug-in hybrid"
HYBRID = "hybrid"
DIESEL = "diesel"
FUEL_CELL = "fuel cell"
NATURAL_GAS = "natural gas"

#: Skip reasons (``reason`` of :class:`TestCarRowError` and of skipped rows).
REASON_POWERTRAIN = "unsupported_powertrain"
REASON_FIELD = "invalid_field"
REASON_DUPLICATE = "duplicate_test"
#: Rows of the published list that are not a car's FTP or HWFE test on gasoline (US06, SC03,
#: cold CO, E85 tests of a flexible-fuel car): not errors, just not what validation compares.
REASON_OTHER_TEST = "other_test"
REASON_OTHER_FUEL = "other_fuel"

#: Test kinds a row of the published list can be.
FTP = "FTP"
HWFE = "HWFE"


class TestCarRowError(ParameterError):
    """A test-car row vehsim cannot build, with a machine-readable ``reason``.

    ``reason`` is ``unsupported_powertrain: <powertrain>`` or ``invalid_field: <column> =
    <value> (<allowed range>)``; ``column`` names the field at fault (``None`` for a powertrain).
    """

    __test__ = False  # a library class, not a pytest test class

    def __init__(self, message: str, reason: str, column: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.column = column


@lru_cache(maxsize=1)
def generic_models() -> dict[str, Any]:
    text = resources.files("vehsim").joinpath("data", "generic_models.yaml").read_text()
    return yaml.safe_load(text)


def _empty(value: Any) -> bool:
    """Whether a cell holds nothing (a blank cell, ``NaN``, ``None`` or whitespace)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _shown(value: Any) -> str:
    """A cell as a skip reason shows it: ``empty``, the number as written, or the text."""
    if _empty(value):
        return "empty"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).strip()


def _text(row: Mapping[str, Any], col: str) -> str:
    value = row.get(col)
    return "" if _empty(value) else str(value).strip()


def read_testcar_file(path: str | Path) -> pd.DataFrame:
    """Read an EPA Test Car List, CSV or XLSX, as downloaded or as a flat file (one row per car).

    Every column is kept; the columns vehsim needs (:data:`REQUIRED_COLUMNS`) must be there, by
    their EPA names (the same in every model year since 2010). An error names the missing ones.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"test-car file {path} does not exist")
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        try:
            frame = pd.read_excel(path, dtype={COL_ID: str, COL_CONFIG: str})
        except ImportError as exc:
            raise ParameterError(
                f"{path}: reading Excel files needs openpyxl: pip install 'vehsim[xlsx]' "
                "(or save the sheet as CSV)"
            ) from exc
    else:
        # The published CSVs are Windows-1252 in some years; UTF-8 files read either way.
        try:
            frame = pd.read_csv(path, dtype={COL_ID: str, COL_CONFIG: str}, low_memory=False)
        except UnicodeDecodeError:
            frame = pd.read_csv(
                path, dtype={COL_ID: str, COL_CONFIG: str}, low_memory=False, encoding="cp1252"
            )
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ParameterError(f"{path}: missing EPA Test Car List column(s) {missing}")
    return frame


#: The name this function had before it read XLSX files too.
read_testcar_csv = read_testcar_file


def _marker_pattern(markers) -> re.Pattern:
    """Whole-word, case-insensitive match of any of ``markers`` (so HEV does not match MHEV)."""
    words = "|".join(re.escape(str(m)) for m in markers)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{words})(?![A-Za-z0-9])", re.IGNORECASE)


def fuel_powertrain(fuel: str) -> str | None:
    """The powertrain a test fuel implies (``None`` for gasoline or an unknown text)."""
    text = fuel.lower()
    if "electric" in text:
        return ELECTRIC
    if "diesel" in text:
        return DIESEL
    if "hydrogen" in text:
        return FUEL_CELL
    if "natural gas" in text or "cng" in text:
        return NATURAL_GAS
    return None


def is_gasoline(fuel: str) -> bool:
    """Whether a test fuel is gasoline (certification gasoline, E10 and E0 alike)."""
    text = fuel.lower()
    return "gasoline" in text or re.search(r"\be(0|10)\b", text) is not None or text == ""


def row_powertrain(row: Mapping[str, Any], models: Mapping[str, Any] | None = None) -> str | None:
    """The unsupported powertrain one row shows, or ``None`` for a conventional gasoline car.

    From the test fuel (electricity, diesel, hydrogen, natural gas), a charge-depleting test
    procedure, the model designation (``powertrain`` markers of generic_models.yaml: "Hybrid",
    "PHEV", ...; mild hybrids are conventional cars with stop-start) and, in a flat file without
    a fuel column, an engine without displacement or cylinders (an electric car).
    """
    g = generic_models() if models is None else models
    fuel = _text(row, COL_FUEL)
    by_fuel = fuel_powertrain(fuel)
    procedure = f"{_text(row, COL_PROCEDURE)} {_text(row, COL_CATEGORY)}".lower()
    charge_depleting = "charge depleting" in procedure or _text(row, COL_CATEGORY).upper() == "CD"
    if by_fuel == ELECTRIC and not charge_depleting:
        return ELECTRIC
    if by_fuel is not None and by_fuel != ELECTRIC:
        return by_fuel
    model = _text(row, COL_MODEL)
    if _marker_pattern(g["powertrain"]["plug_in_hybrid_model_markers"]).search(model):
        return PLUG_IN_HYBRID
    if charge_depleting:
        return ELECTRIC if by_fuel == ELECTRIC else PLUG_IN_HYBRID
    if _marker_pattern(g["powertrain"]["hybrid_model_markers"]).search(model):
        return HYBRID
    if not fuel:
        disp, cyl = row.get(COL_DISPLACEMENT), row.get(COL_CYLINDERS)
        if (_empty(disp) or _number(disp) == 0.0) and (_empty(cyl) or _number(cyl) == 0.0):
            return ELECTRIC
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _powertrain_error(vid: str, powertrain: str, row: Mapping[str, Any]) -> TestCarRowError:
    evidence = [
        f"'{c}' = {_text(row, c)}" for c in (COL_FUEL, COL_PROCEDURE, COL_MODEL) if _text(row, c)
    ]
    return TestCarRowError(
        f"test car {vid}: {powertrain} powertrain ({'; '.join(evidence) or 'no engine'}); vehsim "
        "simulates gasoline cars with a conventional or mild-hybrid powertrain",
        f"{REASON_POWERTRAIN}: {powertrain}",
    )


def _field_error(vid: str, col: str, value: Any, allowed: str) -> TestCarRowError:
    shown = _shown(value)
    if _empty(value):
        message = f"test car {vid}: '{col}' is empty ({allowed})"
    elif _number(value) is None:
        message = f"test car {vid}: '{col}' must be {allowed}, got {shown!r}"
    else:
        message = f"test car {vid}: '{col}' = {shown} is out of range ({allowed})"
    return TestCarRowError(message, f"{REASON_FIELD}: {col} = {shown} ({allowed})", col)


def wheel_radius_m(etw_kg: float, models: Mapping[str, Any]) -> float:
    """Generic tyre rolling radius [m] from the test weight (larger cars, larger wheels)."""
    veh = models["vehicle"]
    radius = (
        veh["wheel_radius_m_at_3000lb"]
        + veh["wheel_radius_m_per_1000lb"] * (etw_kg / KG_PER_LB - 3000) / 1000
    )
    return min(max(radius, veh["wheel_radius_m_min"]), veh["wheel_radius_m_max"])


def top_gear_ratio(gears: int, transmission: str, models: Mapping[str, Any]) -> float:
    """Typical top-gear (or CVT overdrive) ratio for a gearbox of ``gears`` gears [-]."""
    est = models["estimates"]
    if gearbox_kind(transmission)[0] == "cvt":
        return est["top_gear_ratio_cvt"]
    table = est["top_gear_ratio_by_gears"]
    below = [k for k in table if k <= gears]
    return table[max(below)] if below else table[min(table)]


def nv_from_axle_rpm_per_mph(
    axle: float, gears: int, transmission: str, etw_kg: float, models: Mapping[str, Any]
) -> float:
    """N/V ratio [rpm/mph] from the axle ratio and a typical top gear: ``N/V = i_top i_axle
    60 v_mph / (2 pi r)`` with ``v_mph`` = 0.44704 m/s."""
    overall = top_gear_ratio(gears, transmission, models) * axle
    return overall * 60.0 * MPS_PER_MPH / (2 * math.pi * wheel_radius_m(etw_kg, models))


def cylinders_from_displacement(displacement_l: float, models: Mapping[str, Any]) -> int:
    """Typical cylinder count of an engine of ``displacement_l`` (bands of generic_models.yaml)."""
    est = models["estimates"]
    for upper_l, cylinders in est["cylinders_by_displacement_l"]:
        if displacement_l < upper_l:
            return int(cylinders)
    return int(est["cylinders_above"])


def spec_from_testcar(
    row: Mapping[str, Any], models: Mapping[str, Any] | None = None, estimate: bool = True
) -> tuple[dict[str, Any], list[str]]:
    """The checked fields of one test-car row, and the empty ones that were estimated.

    Raises :class:`TestCarRowError` for an unsupported powertrain, a value out of its range, a
    non-number, or an empty field the generic models cannot estimate (or any empty field when
    ``estimate`` is false).
    """
    g = generic_models() if models is None else models
    vid = _text(row, COL_ID) or "?"
    powertrain = row_powertrain(row, g)
    if powertrain is not None:
        raise _powertrain_error(vid, powertrain, row)
    values: dict[str, Any] = {}
    empty = []
    for col, lo, hi, unit in NUMERIC_FIELDS:
        value = row.get(col)
        if _empty(value):
            empty.append(col)
            continue
        number = _number(value)
        if number is None or not lo <= number <= hi:
            raise _field_error(vid, col, value, f"{lo:g} to {hi:g} {unit}")
        values[col] = number
    for col, allowed in TEXT_FIELDS:
        if not _text(row, col):
            raise _field_error(vid, col, row.get(col), allowed)
        values[col] = _text(row, col)
    estimated = []
    for col, lo, hi, unit in NUMERIC_FIELDS:
        if col not in empty:
            continue
        guess = None
        if estimate and col == COL_CYLINDERS and COL_DISPLACEMENT in values:
            guess = float(cylinders_from_displacement(values[COL_DISPLACEMENT], g))
        elif estimate and col == COL_NV and {COL_AXLE, COL_GEARS, COL_ETW} <= values.keys():
            guess = nv_from_axle_rpm_per_mph(
                values[COL_AXLE],
                int(values[COL_GEARS]),
                values[COL_TRANSMISSION],
                lb_to_kg(values[COL_ETW]),
                g,
            )
        elif estimate and col == COL_AXLE and {COL_NV, COL_GEARS, COL_ETW} <= values.keys():
            per_unit_axle = nv_from_axle_rpm_per_mph(
                1.0,
                int(values[COL_GEARS]),
                values[COL_TRANSMISSION],
                lb_to_kg(values[COL_ETW]),
                g,
            )
            guess = values[COL_NV] / per_unit_axle
        if guess is None or not lo <= guess <= hi:
            raise _field_error(vid, col, row.get(col), f"{lo:g} to {hi:g} {unit}")
        values[col] = guess
        estimated.append(col)
    return values, estimated


def gearbox_kind(transmission: str) -> tuple[str, bool]:
    """(gearbox type, has torque converter) from the EPA transmission description."""
    text = transmission.lower()
    if "continuously" in text or "cvt" in text:
        return "cvt", True
    if text.startswith("manual"):
        return "manual", False
    if "automated manual" in text:
        return "automatic", False  # dual-clutch / automated manual: clutch launch
    return "automatic", True


def vehicle_from_testcar(
    row: Mapping[str, Any],
    name: str | None = None,
    models: Mapping[str, Any] | None = None,
    estimate: bool = True,
) -> VehicleParams:
    """Build a validated vehicle from one EPA Test Car List row (a mapping of column -> value).

    ``models`` replaces the shipped generic models (``generic_models.yaml``), e.g. to calibrate.
    Empty fields that the generic models estimate (:data:`ESTIMATED_FIELDS`) are estimated
    unless ``estimate`` is false, and listed in ``meta["estimated_fields"]``. A row vehsim cannot
    build raises :class:`TestCarRowError` naming the column (or the powertrain) at fault.
    """
    g = generic_models() if models is None else models
    vid = _text(row, COL_ID) or "?"
    spec, estimated = spec_from_testcar(row, g, estimate)
    disp_l = spec[COL_DISPLACEMENT]
    power_w = hp_to_w(spec[COL_POWER])
    cylinders = int(round(spec[COL_CYLINDERS]))
    gears = int(spec[COL_GEARS])
    etw_kg = lb_to_kg(spec[COL_ETW])
    axle = spec[COL_AXLE]
    nv = spec[COL_NV]
    a_lbf = spec[COL_A]
    b_lbf = spec[COL_B]
    c_lbf = spec[COL_C]
    transmission = spec[COL_TRANSMISSION]
    drive = spec[COL_DRIVE]
    gtype, has_converter = gearbox_kind(transmission)
    model = _text(row, COL_MODEL)
    # Cylinder deactivation is common on engines of eight or more cylinders (GM AFM/DFM, FCA
    # MDS, VW group COD, Mercedes, Lamborghini); the spec sheet gives the cylinder count only.
    deactivation = cylinders >= g["engine"]["deactivation_min_cylinders"]
    mild_hybrid = any(m.lower() in model.lower() for m in g["engine"]["mild_hybrid_model_markers"])

    eng, gb, veh, th, wr = g["engine"], g["gearbox"], g["vehicle"], g["thermal"], g["wear"]
    specific_power = power_w / disp_l
    turbo = specific_power > eng["turbo_specific_power_w_per_l"]
    per_cyl = disp_l / cylinders
    small_l, large_l = eng["cylinder_l_small"], eng["cylinder_l_large"]
    x = min(max((per_cyl - small_l) / (large_l - small_l), 0.0), 1.0)
    rated_rpm = eng["rated_speed_rpm_small"] + x * (
        eng["rated_speed_rpm_large"] - eng["rated_speed_rpm_small"]
    )
    if turbo:
        rated_rpm -= eng["rated_speed_rpm_turbo_drop"]
    shape = eng["curve_torque_frac_turbo" if turbo else "curve_torque_frac_na"]
    speeds = [f * rated_rpm for f in eng["curve_speed_frac"]]
    peak_power_per_torque = max(s * t for s, t in zip(speeds, shape, strict=True)) * math.pi / 30.0
    peak_torque = power_w / peak_power_per_torque
    curve_nm = [t * peak_torque for t in shape]

    radius = wheel_radius_m(etw_kg, g)
    # N/V: engine rpm per mph in top gear -> overall top ratio = N/V · 2π r / (60 · 0.44704).
    overall_top = nv * 2 * math.pi * radius / (60.0 * MPS_PER_MPH)
    top = overall_top / axle
    if gtype == "cvt":
        ratios = [top * gb["cvt_spread"], top]
        efficiency = gb["efficiency_cvt"]
        spin = gb["spin_loss_nm_cvt"]
    else:
        spread = (
            gb["spread_by_gears"].get(gears)
            or gb["spread_by_gears"][max(k for k in gb["spread_by_gears"] if k <= gears)]
        )
        ratios = generic_ratios(gears, top, spread)
        kind = (
            "manual"
            if gtype == "manual"
            else ("automatic" if has_converter else "automated_manual")
        )
        efficiency = gb[f"efficiency_{kind}"]
        spin = gb[f"spin_loss_nm_{kind}"]
    ratios = [min(max(r, gb["ratio_min"]), gb["ratio_max"]) for r in ratios]

    coolant_cap = th["coolant_capacity_jpk_base"] + th["coolant_capacity_jpk_per_l"] * disp_l
    # The radiator rejects rated-power heat at its design difference above ambient.
    ua_full_wpk = power_w / th["radiator_design_difference_k"]
    drive_frac = (
        1.0  # all wheels driven
        if "all" in drive.lower() or "4-wheel" in drive.lower() or "4wd" in drive.lower()
        else (
            veh["drive_axle_load_frac_front"]
            if "front" in drive.lower()
            else veh["drive_axle_load_frac_rear"]
        )
    )
    doc = {
        "name": name or f"testcar-{vid}",
        "source": f"EPA 2022 Test Car List, test vehicle {vid} ({_text(row, COL_MAKE)} {model}); "
        "unlisted parameters from vehsim generic models",
        "notes": f"{transmission}, {gears} gears, {drive}; {'turbocharged' if turbo else 'naturally aspirated'}"
        f"{', mild hybrid (belt starter-generator, stop-start)' if mild_hybrid else ''}"
        f"{', cylinder deactivation' if deactivation else ''} "
        f"(specific power {specific_power / 1000:.0f} kW/L)"
        f"{'; estimated: ' + ', '.join(estimated) if estimated else ''}",
        "vehicle": {
            "mass_kg": etw_kg,
            "road_load_a_n": a_lbf * N_PER_LBF,
            "road_load_b_n_per_mps": b_lbf * N_PER_LBF / MPS_PER_MPH,
            "road_load_c_n_per_mps2": c_lbf * N_PER_LBF / MPS_PER_MPH**2,
            "wheel_radius_m": radius,
            "rotating_mass_frac": veh["rotating_mass_frac"],
            "tyre_mu": veh["tyre_mu"],
            "drive_axle_load_frac": drive_frac,
            "fuel_tank_l": min(
                max(
                    veh["fuel_tank_l_at_2l"] + veh["fuel_tank_l_per_l"] * (disp_l - 2.0),
                    veh["fuel_tank_l_min"],
                ),
                veh["fuel_tank_l_max"],
            ),
        },
        "engine": {
            "displacement_l": disp_l,
            "cylinders": cylinders,
            "rated_power_w": power_w,
            "rated_speed_rpm": rated_rpm,
            "idle_speed_rpm": eng["idle_speed_rpm"],
            "max_speed_rpm": rated_rpm * eng["max_speed_over_rated"],
            "inertia_kgm2": max(eng["inertia_kgm2_per_l"] * disp_l, eng["inertia_kgm2_min"]),
            "friction_scale": eng["friction_scale"]
            * max(
                specific_power / eng["friction_reference_specific_power_w_per_l"],
                eng["friction_specific_power_ratio_min"],
            )
            ** eng["friction_specific_power_exponent"],
            "pumping_mep_idle_pa": eng["pumping_mep_idle_pa"],
            "atmospheric_bmep_pa": eng["atmospheric_bmep_pa"],
            "eta_indicated": eng["eta_indicated"],
            # Electrical and cooling loads grow with the engine they serve (pumps, fans,
            # alternator): a base load plus a share of rated power.
            "accessory_power_w": eng["accessory_power_w"]
            + eng["accessory_power_w_per_kw"] * power_w / 1000.0,
            "cold_enrichment_gain": eng["cold_enrichment_gain"],
            "crank_duration_s": eng["crank_duration_s"],
            "start_fuel_g": eng["start_fuel_g"] * disp_l / eng["start_fuel_reference_l"],
            "fuel_cutoff_min_rpm": eng["fuel_cutoff_min_rpm"],
            "fuel_cutoff_delay_s": eng["fuel_cutoff_delay_s"],
            "idle_stop": int(mild_hybrid),
            **(_mild_hybrid_fields(eng) if mild_hybrid else {}),
            "deactivation_active_frac": eng["deactivation_active_frac"] if deactivation else 1.0,
            "deactivation_max_bmep_pa": eng["deactivation_max_bmep_pa"] if deactivation else 0.0,
            "deactivation_min_rpm": eng["deactivation_min_rpm"],
            "deactivation_max_rpm": eng["deactivation_max_rpm"],
            "deactivation_delay_s": eng["deactivation_delay_s"],
            "torque_curve_rpm": speeds,
            "torque_curve_nm": curve_nm,
        },
        "gearbox": {
            "type": gtype,
            "ratios": ratios,
            "final_drive_ratio": axle,
            "efficiency": efficiency * (gb["efficiency_awd_factor"] if drive_frac >= 1.0 else 1.0),
            "spin_loss_nm": spin,
            "shift_duration_s": gb["shift_duration_s"],
            "converter_stall_rpm": gb["converter_stall_rpm"],
            "converter_stall_torque_ratio": gb["converter_stall_torque_ratio"]
            if has_converter
            else 1.0,
            "lockup_min_gear": min(gb["lockup_min_gear"], len(ratios)) if gtype != "cvt" else 1,
        },
        "thermal": {
            "coolant_capacity_jpk": coolant_cap,
            "oil_capacity_jpk": th["oil_capacity_jpk_base"] + th["oil_capacity_jpk_per_l"] * disp_l,
            "ua_oil_coolant_wpk": th["ua_oil_coolant_wpk_per_l"] * disp_l,
            "ua_radiator_min_wpk": th["radiator_still_air_frac"] * ua_full_wpk,
            "ua_radiator_wpk_per_mps": th["radiator_ram_frac"]
            * ua_full_wpk
            / th["radiator_ram_reference_mps"],
            "ua_fan_wpk": th["radiator_fan_frac"] * ua_full_wpk,
            "ua_bay_wpk": th["ua_bay_wpk"] * (1.0 + th["ua_bay_growth_per_l"] * disp_l),
            "thermostat_open_c": th["thermostat_open_c"],
            "thermostat_full_c": th["thermostat_full_c"],
            "fan_on_c": th["fan_on_c"],
            "fan_off_c": th["fan_off_c"],
            "heat_to_coolant_frac": th["heat_to_coolant_frac"],
            "warm_coolant_temp_c": th["warm_coolant_temp_c"],
        },
        "wear": {
            "brake_pad_life_j": wr["brake_pad_life_j"] * etw_kg / wr["brake_pad_life_reference_kg"],
            "tyre_life_m": wr["tyre_life_m"],
            "tyre_slip_gain": wr["tyre_slip_gain"],
            "engine_life_rev": wr["engine_life_rev"],
            "engine_cold_gain": wr["engine_cold_gain"],
            "gearbox_life_rev": wr["gearbox_life_rev"],
            "oil_life_rev": wr["oil_life_rev"],
            "radiator_fouling_per_m": wr["radiator_fouling_per_m"],
        },
        "meta": {
            "testcar_id": vid,
            "shift_eco_bias": gb["shift_eco_bias_manual"]
            if gtype == "manual"
            else gb["shift_eco_bias"],
            **({"estimated_fields": list(estimated)} if estimated else {}),
        },
    }
    return from_dict(doc, origin=f"test car {vid}")


def _mild_hybrid_fields(engine_models: Mapping[str, Any]) -> dict[str, Any]:
    """The engine fields of the generic 48 V belt starter-generator (``physics/hybrid.py``): the
    variant's name and every parameter the option table gives it, from the generic models."""
    variant = "belt_starter_generator"
    return {
        "hybrid": variant,
        **{
            key: engine_models[key]
            for _, key, *_, submodel, name in variant_param_fields()
            if (submodel, name) == ("hybrid", variant)
        },
    }


def mild_hybrid(params: VehicleParams, models: Mapping[str, Any] | None = None) -> VehicleParams:
    """``params`` as a 48 V mild hybrid: the generic belt starter-generator and stop-start.

    What a test car whose model designation says MHEV, eTorque or 48V gets; for a study of what
    the machine saves on any vehicle (``vehsim.mild_hybrid(vehsim.load_vehicle("compact-suv"))``).
    """
    g = generic_models() if models is None else models
    doc = params.to_dict()
    doc["name"] = f"{params.name}-mild-hybrid"
    doc["engine"].update(idle_stop=1, **_mild_hybrid_fields(g["engine"]))
    return from_dict(doc, origin=doc["name"])


@dataclass(frozen=True)
class TestCar:
    """One car of a test-car file: its row (flat layout: spec fields and EPA figures under
    :data:`COL_FTP`, :data:`COL_HWFE`, :data:`COL_BAG`) and the file rows it came from."""

    __test__ = False

    row: dict[str, Any]
    rows: tuple[int, ...]

    @property
    def test_vehicle_id(self) -> str:
        return _text(self.row, COL_ID)


@dataclass(frozen=True)
class SkippedRow:
    """Rows of a test-car file that give no car, and why (machine-readable ``reason``).

    ``bad`` rows are errors of the data (``--strict`` stops at the first); the others are rows
    of tests or fuels that validation does not compare (a US06 test, an E85 test).
    """

    rows: tuple[int, ...]
    test_vehicle_id: str
    reason: str
    bad: bool = True
    message: str = field(default="", compare=False)


#: Spreadsheet row of the first data row (the header is row 1), as people see the file.
FIRST_DATA_ROW = 2


def is_published_layout(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is the list as EPA publishes it (one row per test) or flat (per car)."""
    return COL_FE in frame.columns and (
        COL_PROCEDURE in frame.columns or COL_CATEGORY in frame.columns
    )


def procedure_kind(row: Mapping[str, Any]) -> str | None:
    """FTP, HWFE or ``None`` (another test) from the list's test procedure columns.

    The FTP is the cold-start city test, "Federal fuel 2-day exhaust (w/can load)" (procedure
    code 21, category "FTP"; 3-day exhaust in older years); the HWFE is the highway test
    (category "HWY", procedure "HWFE"). US06, SC03, cold CO and charge-depleting tests are
    other tests.
    """
    procedure = _text(row, COL_PROCEDURE).lower()
    category = _text(row, COL_CATEGORY).upper()
    if re.search(r"cold|us06|sc03|charge depleting|charge sustaining", procedure):
        return None
    if category in ("HWY", "HWFE", "HWFET") or re.search(r"hwfe|highway", procedure):
        return HWFE
    if category == "FTP" or re.search(r"\bftp\b|udds|exhaust", procedure):
        return FTP
    if _number(row.get(COL_PROCEDURE_CD)) == 21.0:
        return FTP
    return None


def _vehicle_key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (_text(row, COL_ID), _text(row, COL_CONFIG))


def cars_from_testcar_list(
    frame: pd.DataFrame, models: Mapping[str, Any] | None = None
) -> tuple[list[TestCar], list[SkippedRow]]:
    """Cars of a test-car file and its rows that give none, each with its reason.

    Rows are numbered as a spreadsheet shows them (header row 1). A car is a test vehicle id and
    configuration: in the published layout its gasoline FTP and HWFE rows are paired into one
    car (spec fields from the FTP row, ``RND_ADJ_FE`` of each test as its EPA figure, the FTP
    row's bags); in a flat file each row is a car. A car's powertrain is judged on all its rows
    (electricity on some tests and gasoline on others: a plug-in hybrid); a car that cannot be
    simulated is one skipped entry with all its rows. A second row of the same car and test is a
    ``duplicate_test`` (the first is used). The fields themselves are
    checked when the car is built (:func:`vehicle_from_testcar`).
    """
    g = generic_models() if models is None else models
    records = frame.to_dict("records")
    published = is_published_layout(frame)
    groups: dict[tuple[str, str], list[int]] = {}
    skipped: list[SkippedRow] = []
    for i, row in enumerate(records):
        key = _vehicle_key(row)
        if not key[0]:
            error = _field_error("?", COL_ID, row.get(COL_ID), "a test vehicle id")
            skipped.append(SkippedRow((i + FIRST_DATA_ROW,), "", error.reason, message=str(error)))
            continue
        groups.setdefault(key, []).append(i)
    cars: list[TestCar] = []
    for key, members in groups.items():
        vid = key[0]
        powertrains = {row_powertrain(records[i], g) for i in members}
        fuels = {fuel_powertrain(_text(records[i], COL_FUEL)) for i in members}
        powertrain = None
        if ELECTRIC in fuels and (None in fuels or PLUG_IN_HYBRID in powertrains):
            powertrain = PLUG_IN_HYBRID  # electricity on some tests, gasoline on others
        elif powertrains - {None}:
            order = (ELECTRIC, PLUG_IN_HYBRID, HYBRID, DIESEL, FUEL_CELL, NATURAL_GAS)
            powertrain = min(powertrains - {None}, key=order.index)
        if powertrain is not None:
            error = _powertrain_error(vid, powertrain, records[members[0]])
            rows = tuple(i + FIRST_DATA_ROW for i in members)
            skipped.append(SkippedRow(rows, vid, error.reason, message=str(error)))
            continue
        used: dict[str, int] = {}
        for i in members:
            row = records[i]
            kind = procedure_kind(row) if published else "car"
            if kind is None:
                what = _text(row, COL_PROCEDURE) or _text(row, COL_CATEGORY) or "unknown"
                skipped.append(
                    SkippedRow((i + FIRST_DATA_ROW,), vid, f"{REASON_OTHER_TEST}: {what}", False)
                )
            elif published and not is_gasoline(_text(row, COL_FUEL)):
                skipped.append(
                    SkippedRow(
                        (i + FIRST_DATA_ROW,),
                        vid,
                        f"{REASON_OTHER_FUEL}: {_text(row, COL_FUEL)}",
                        False,
                    )
                )
            elif kind in used:
                skipped.append(
                    SkippedRow(
                        (i + FIRST_DATA_ROW,),
                        vid,
                        REASON_DUPLICATE,
                        message=f"test car {vid} repeats the {kind if published else 'car'} "
                        f"of row {used[kind] + FIRST_DATA_ROW}",
                    )
                )
            else:
                used[kind] = i
        if not used:
            continue
        if not published:
            i = used["car"]
            cars.append(TestCar(dict(records[i]), (i + FIRST_DATA_ROW,)))
            continue
        spec_row = records[used.get(FTP, used.get(HWFE))]
        car = dict(spec_row)
        ftp_row = records[used[FTP]] if FTP in used else {}
        hwfe_row = records[used[HWFE]] if HWFE in used else {}
        car[COL_FTP] = _number(ftp_row.get(COL_FE))
        car[COL_HWFE] = _number(hwfe_row.get(COL_FE))
        for col in COL_BAG:
            car[col] = _number(ftp_row.get(col))
        cars.append(TestCar(car, tuple(sorted(i + FIRST_DATA_ROW for i in used.values()))))
    return cars, skipped


#: Shipped vehicles: name -> EPA Test Car List row (test vehicle id, represented model).
SHIPPED_VEHICLES = {
    "compact-sedan": ("EM4T2C", "CIVIC 4DR"),
    "compact-suv": ("LUA86422", "Escape FWD"),
    "pickup-v8": ("R3DS19928", "1500 2WD"),
    "sports-coupe": ("FE-982-PDK-20", "Boxster"),
    "roadster-manual": ("NBF-MZ52", "BRZ"),
}


def calibration_frame() -> pd.DataFrame:
    """The EPA 2022 Test Car List calibration subset shipped with vehsim."""
    with resources.as_file(
        resources.files("vehsim").joinpath("data", "testcar", "testcar_2022_calibration.csv")
    ) as p:
        return pd.read_csv(p)


def _rounded(doc):
    """Six significant digits: readable files, far below any physical uncertainty."""
    if isinstance(doc, dict):
        return {k: _rounded(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_rounded(v) for v in doc]
    if isinstance(doc, float):
        return float(f"{doc:.6g}")
    return doc


def write_shipped_vehicles(directory: Path) -> list[Path]:
    """Write the shipped vehicle files from their test-car rows (maintenance task)."""
    frame = calibration_frame()
    written = []
    for name, (vid, model) in SHIPPED_VEHICLES.items():
        rows = frame[(frame[COL_ID] == vid) & (frame[COL_MODEL] == model)]
        params = vehicle_from_testcar(rows.iloc[0].to_dict(), name=name)
        path = Path(directory) / f"{name}.yaml"
        path.write_text(
            yaml.safe_dump(_rounded(params.to_dict()), sort_keys=False, allow_unicode=True)
        )
        written.append(path)
    return written


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-shipped"]:
        target = Path(__file__).parent / "data" / "vehicles"
        for path in write_shipped_vehicles(target):
            print(path)
