"""Vehicles from spec sheets: the fields of the EPA Test Car List, filled with generic models.

A test-car row gives the equivalent test weight, target road-load coefficients, displacement,
rated power, cylinders, transmission type and gears, drive, axle ratio and N/V ratio. What it
lacks (torque curve, gear ratios, fuel map, thermal masses) comes from the generic models in
``vehsim/data/generic_models.yaml``, scaled by size and power.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
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
from vehsim.units import hp_to_w, lb_to_kg

#: EPA Test Car List column names used here.
COL_ID = "Test Vehicle ID"
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
COL_FTP = "FE_FTP_mpg_unadj"
COL_HWFE = "FE_HWFE_mpg_unadj"
COL_BAG = ("FE Bag 1", "FE Bag 2", "FE Bag 3")

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


@lru_cache(maxsize=1)
def generic_models() -> dict[str, Any]:
    text = resources.files("vehsim").joinpath("data", "generic_models.yaml").read_text()
    return yaml.safe_load(text)


def read_testcar_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV with EPA Test Car List columns; error naming missing columns."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"test-car file {path} does not exist")
    frame = pd.read_csv(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ParameterError(f"{path}: missing EPA Test Car List column(s) {missing}")
    return frame


def _field(row: Mapping[str, Any], col: str, lo: float, hi: float, unit: str, vid: str) -> float:
    value = row.get(col)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"test car {vid}: '{col}' must be a number ({lo:g} to {hi:g} {unit}), got {value!r}"
        ) from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ParameterError(
            f"test car {vid}: '{col}' = {value!r} is out of range ({lo:g} to {hi:g} {unit})"
        )
    return number


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
    row: Mapping[str, Any], name: str | None = None, models: Mapping[str, Any] | None = None
) -> VehicleParams:
    """Build a validated vehicle from one EPA Test Car List row (a mapping of column -> value).

    ``models`` replaces the shipped generic models (``generic_models.yaml``), e.g. to calibrate.
    """
    g = generic_models() if models is None else models
    vid = str(row.get(COL_ID, "?"))
    disp_l = _field(row, COL_DISPLACEMENT, 0.5, 10.0, "L", vid)
    power_w = hp_to_w(_field(row, COL_POWER, 40, 1600, "hp", vid))
    cylinders = int(_field(row, COL_CYLINDERS, 1, 16, "cylinders", vid))
    gears = int(_field(row, COL_GEARS, 1, 10, "gears", vid))
    etw_kg = lb_to_kg(_field(row, COL_ETW, 1000, 12000, "lb", vid))
    axle = _field(row, COL_AXLE, 1.5, 7.0, "-", vid)
    nv = _field(row, COL_NV, 10, 80, "rpm/mph", vid)
    a_lbf = _field(row, COL_A, 0, 300, "lbf", vid)
    b_lbf = _field(row, COL_B, -5, 5, "lbf/mph", vid)
    c_lbf = _field(row, COL_C, 0.005, 0.2, "lbf/mph²", vid)
    transmission = str(row.get(COL_TRANSMISSION, ""))
    drive = str(row.get(COL_DRIVE, ""))
    gtype, has_converter = gearbox_kind(transmission)
    model = str(row.get(COL_MODEL, ""))
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

    radius = (
        veh["wheel_radius_m_at_3000lb"]
        + veh["wheel_radius_m_per_1000lb"] * (etw_kg / KG_PER_LB - 3000) / 1000
    )
    radius = min(max(radius, veh["wheel_radius_m_min"]), veh["wheel_radius_m_max"])
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
        "source": f"EPA 2022 Test Car List, test vehicle {vid} ({row.get(COL_MAKE, '')} {row.get(COL_MODEL, '')}); "
        "unlisted parameters from vehsim generic models",
        "notes": f"{transmission}, {gears} gears, {drive}; {'turbocharged' if turbo else 'naturally aspirated'}"
        f"{', mild hybrid with stop-start' if mild_hybrid else ''}"
        f"{', cylinder deactivation' if deactivation else ''} "
        f"(specific power {specific_power / 1000:.0f} kW/L)",
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
        },
    }
    return from_dict(doc, origin=f"test car {vid}")


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
