"""Validation against EPA certification tests: FTP-75 (cold start, three bags) and HWFET.

FTP-75 (40 CFR 86.130-00 and 86.137-94): the UDDS driven from a cold start (bag 1: 0-505 s,
bag 2: 505-1369 s), a 10-minute soak with the engine off, then the first 505 s again from a hot
start (bag 3). City fuel economy weights the cold and hot halves 0.43 / 0.57
(40 CFR 600.113-12(a)): ``1 / (0.43 (F1+F2)/(D1+D2) + 0.57 (F3+F2)/(D3+D2))``.
HWFET (40 CFR 600 Appendix I) is driven warm after its preconditioning run.
All fuel economies here are unadjusted (the test-cell values, not the window sticker's).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vehsim.constants import GASOLINE_DENSITY_KGPL, L_PER_GALLON, M_PER_MILE
from vehsim.cycles import UDDS_BAG1_END_S, load_cycle
from vehsim.errors import ParameterError
from vehsim.layout import P, S
from vehsim.params import VehicleParams
from vehsim.simulator import Simulator
from vehsim.testcar import (
    COL_BAG,
    COL_FTP,
    COL_HWFE,
    REASON_FIELD,
    REASON_OTHER_FUEL,
    REASON_OTHER_TEST,
    SkippedRow,
    TestCar,
    TestCarRowError,
    cars_from_testcar_list,
    vehicle_from_testcar,
)

SOAK_S = 600.0
COLD_WEIGHT = 0.43
HOT_WEIGHT = 0.57
#: EPA's bag 3 / bag 1 fuel-economy ratio on the 2022 Test Car List: median and the band the
#: cold-start acceptance counts (docs/validation.md).
BAG_RATIO_MEDIAN_EPA = 1.147
BAG_RATIO_BAND = (1.08, 1.22)
#: FTP test-cell temperature [°C] (40 CFR 86.130: 20-30 °C; nominal 25 °C).
FTP_AMBIENT_C = 25.0


def _certification_simulator(vehicles, dt_s, ambient_temp_c, start) -> Simulator:
    """A fleet in the test cell: FTP and HWFET are driven with the air conditioning off (the A/C
    test is the separate SC03, 40 CFR 86.160/86.161), so the climate control draws nothing even
    though the 25 °C cell is above its set point."""
    sim = Simulator(vehicles, dt_s=dt_s, ambient_temp_c=ambient_temp_c, start=start)
    sim.params[:, P["climate_power_w"]] = 0.0
    return sim


def _gallons(fuel_g):
    return np.asarray(fuel_g) / 1e3 / GASOLINE_DENSITY_KGPL / L_PER_GALLON


def _miles(distance_m):
    return np.asarray(distance_m) / M_PER_MILE


#: The runs of a validation, in order; ``on_stage`` callbacks receive each name once it is done.
STAGES = ("FTP-75 bags 1-2", "FTP-75 soak", "FTP-75 bag 3", "HWFET")


def _done(on_stage: Callable[[str], None] | None, stage: str) -> None:
    if on_stage is not None:
        on_stage(stage)


def ftp75(
    vehicles: Sequence[VehicleParams],
    dt_s: float = 0.1,
    ambient_temp_c: float = FTP_AMBIENT_C,
    on_stage: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """FTP-75 bag and composite fuel economies [mpg], one row per vehicle (fleet run).

    ``on_stage`` is called with each finished stage of :data:`STAGES` (progress display).
    """
    udds = load_cycle("udds")
    bag3_cycle = udds.slice(0, UDDS_BAG1_END_S, "udds-bag3")
    sim = _certification_simulator(vehicles, dt_s, ambient_temp_c, "cold")
    sim.set_driver(slice(None), udds)
    # Bag 1, then bag 2: the fleet's state between them gives the bag split (no records kept).
    bag1_steps = int(round(UDDS_BAG1_END_S / dt_s))
    sim.run_steps(bag1_steps)
    f1, d1 = sim.state[:, S["fuel_used_g"]].copy(), sim.state[:, S["odometer_m"]].copy()
    sim.run_steps(int(round(udds.duration_s / dt_s)) - bag1_steps)
    _done(on_stage, STAGES[0])
    f2 = sim.state[:, S["fuel_used_g"]] - f1
    d2 = sim.state[:, S["odometer_m"]] - d1
    outside = sim.state[:, S["time_outside_tolerance_s"]].copy()
    # Soak: engine off, parked.
    sim.set_driver(slice(None), "commands")
    for i in range(sim.n_vehicles):
        sim.apply(i, {"type": "stop_engine"})
        sim.apply(i, {"type": "brake", "value": 100})
    sim.run_steps(int(round(SOAK_S / dt_s)))
    _done(on_stage, STAGES[1])
    before3 = sim.state[:, S["fuel_used_g"]].copy(), sim.state[:, S["odometer_m"]].copy()
    out_before3 = sim.state[:, S["time_outside_tolerance_s"]].copy()
    sim.set_driver(slice(None), bag3_cycle)
    sim.run_steps(int(round(bag3_cycle.duration_s / dt_s)))
    _done(on_stage, STAGES[2])
    f3 = sim.state[:, S["fuel_used_g"]] - before3[0]
    d3 = sim.state[:, S["odometer_m"]] - before3[1]
    outside += sim.state[:, S["time_outside_tolerance_s"]] - out_before3

    g1, g2, g3 = _gallons(f1), _gallons(f2), _gallons(f3)
    m1, m2, m3 = _miles(d1), _miles(d2), _miles(d3)
    composite = 1.0 / (COLD_WEIGHT * (g1 + g2) / (m1 + m2) + HOT_WEIGHT * (g3 + g2) / (m3 + m2))
    return pd.DataFrame(
        {
            "vehicle": [v.name for v in vehicles],
            "bag1_mpg": m1 / g1,
            "bag2_mpg": m2 / g2,
            "bag3_mpg": m3 / g3,
            "ftp_mpg": composite,
            "ftp_time_outside_tolerance_s": outside,
            "ftp_duration_s": 2 * UDDS_BAG1_END_S + (udds.duration_s - UDDS_BAG1_END_S),
        }
    )


def hwfet(
    vehicles: Sequence[VehicleParams],
    dt_s: float = 0.1,
    ambient_temp_c: float = FTP_AMBIENT_C,
    on_stage: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """HWFET fuel economy [mpg] from a warm engine, one row per vehicle (fleet run)."""
    cycle = load_cycle("hwfet")
    sim = _certification_simulator(vehicles, dt_s, ambient_temp_c, "hot")
    sim.set_driver(slice(None), cycle)
    sim.run_steps(int(round(cycle.duration_s / dt_s)))
    _done(on_stage, STAGES[3])
    return pd.DataFrame(
        {
            "vehicle": [v.name for v in vehicles],
            "hwfe_mpg": _miles(sim.state[:, S["odometer_m"]])
            / _gallons(sim.state[:, S["fuel_used_g"]]),
            "hwfe_time_outside_tolerance_s": sim.state[:, S["time_outside_tolerance_s"]],
            "hwfe_duration_s": cycle.duration_s,
        }
    )


#: Cars simulated together in one fleet run; a long list runs in chunks of this many (progress
#: after each, bounded memory). The calibration subset is one chunk.
FLEET_CHUNK_VEHICLES = 200


@dataclass
class Batch:
    """A validated test-car list: one result per car and one entry per row that gave none.

    ``results`` has a row per validated car (``rows``: the file rows it came from, spreadsheet
    numbering; ``estimated_fields``: the empty fields the generic models filled); ``skipped``
    has every other row with its machine-readable reason. Every row of the file is in exactly one
    of them.
    """

    results: pd.DataFrame
    skipped: list[SkippedRow] = field(default_factory=list)
    rows_read: int = 0

    def lines(self) -> list[dict]:
        """One record per result or skip, in file order (what ``vehsim validate`` prints)."""
        out = [(row["rows"][0], {"status": "validated", **row}) for row in self._result_rows()]
        for skip in self.skipped:
            line = {
                "status": "skipped",
                "test_vehicle_id": skip.test_vehicle_id,
                "rows": list(skip.rows),
                "reason": skip.reason,
            }
            if skip.message:
                line["message"] = skip.message
            out.append((skip.rows[0], line))
        return [line for _, line in sorted(out, key=lambda item: item[0])]

    def _result_rows(self) -> list[dict]:
        rows = []
        for record in self.results.to_dict("records"):
            rows.append(
                {
                    k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v)
                    for k, v in record.items()
                }
            )
        return rows

    def counts(self) -> dict:
        """Rows read, validated and skipped (by reason), and the fields estimated."""
        by_reason: Counter[str] = Counter()
        for skip in self.skipped:
            by_reason[reason_key(skip.reason)] += len(skip.rows)
        estimated: Counter[str] = Counter()
        for fields in self.results.get("estimated_fields", []):
            estimated.update(fields)
        return {
            "rows_read": self.rows_read,
            "rows_validated": int(sum(len(r) for r in self.results.get("rows", []))),
            "rows_skipped": int(sum(len(s.rows) for s in self.skipped)),
            "skipped_by_reason": dict(sorted(by_reason.items())),
            "vehicles_with_estimates": int(
                sum(1 for f in self.results.get("estimated_fields", []) if f)
            ),
            "estimated_fields": dict(sorted(estimated.items())),
        }

    def summary(self) -> dict:
        """:func:`summary` of the results plus :meth:`counts`."""
        return {**summary(self.results), **self.counts()}

    def first_bad_row(self) -> SkippedRow | None:
        """The first row (in file order) that is an error of the data, if any."""
        bad = [s for s in self.skipped if s.bad]
        return min(bad, key=lambda s: s.rows[0]) if bad else None


def reason_key(reason: str) -> str:
    """What a skip reason is counted under: the reason without the value of the field."""
    if reason.startswith(REASON_FIELD):
        return reason.split(" = ", 1)[0]
    if reason.startswith((REASON_OTHER_TEST, REASON_OTHER_FUEL)):
        return reason.split(":", 1)[0]
    return reason


def build_testcars(
    frame: pd.DataFrame, models: dict | None = None, strict: bool = False
) -> tuple[list[TestCar], list[VehicleParams], list[SkippedRow]]:
    """Cars of a test-car list built into vehicles, and every row that gives none with its reason.

    ``strict``: raise :class:`~vehsim.testcar.TestCarRowError` (or ``ParameterError``) for the
    first row, in file order, that is an error of the data (an unsupported powertrain, an
    invalid field, a duplicate test) instead of skipping it.
    """
    cars, skipped = cars_from_testcar_list(frame, models)
    built: list[TestCar] = []
    vehicles: list[VehicleParams] = []
    for car in cars:
        try:
            vehicles.append(vehicle_from_testcar(car.row, models=models))
        except TestCarRowError as exc:
            skipped.append(SkippedRow(car.rows, car.test_vehicle_id, exc.reason, True, str(exc)))
            continue
        except ParameterError as exc:  # a derived parameter out of the vehicle file's range
            skipped.append(
                SkippedRow(car.rows, car.test_vehicle_id, "invalid_vehicle", True, str(exc))
            )
            continue
        built.append(car)
    if strict:
        bad = [s for s in skipped if s.bad]
        if bad:
            first = min(bad, key=lambda s: s.rows[0])
            rows = ", ".join(str(r) for r in first.rows)
            raise TestCarRowError(
                f"row{'s' if len(first.rows) > 1 else ''} {rows}: {first.message or first.reason}",
                first.reason,
            )
    return built, vehicles, skipped


def _frame_results(cars: Sequence[TestCar], vehicles, ftp, hw) -> pd.DataFrame:
    rows = [car.row for car in cars]

    def epa(col):
        return np.array([_float(r.get(col)) for r in rows], dtype=float)

    out = pd.DataFrame({"test_vehicle_id": [car.test_vehicle_id for car in cars]})
    out["rows"] = [list(car.rows) for car in cars]
    out["estimated_fields"] = [list(v.meta.get("estimated_fields", [])) for v in vehicles]
    out["ftp_mpg_pred"] = ftp["ftp_mpg"].to_numpy()
    out["ftp_mpg_epa"] = epa(COL_FTP)
    out["hwfe_mpg_pred"] = hw["hwfe_mpg"].to_numpy()
    out["hwfe_mpg_epa"] = epa(COL_HWFE)
    out["bag3_over_bag1_pred"] = (ftp["bag3_mpg"] / ftp["bag1_mpg"]).to_numpy()
    out["bag3_over_bag1_epa"] = epa(COL_BAG[2]) / epa(COL_BAG[0])
    out["ftp_error_pct"] = 100.0 * (out["ftp_mpg_pred"] / out["ftp_mpg_epa"] - 1.0)
    out["hwfe_error_pct"] = 100.0 * (out["hwfe_mpg_pred"] / out["hwfe_mpg_epa"] - 1.0)
    out["ftp_within_tolerance_frac"] = (
        1.0 - ftp["ftp_time_outside_tolerance_s"].to_numpy() / ftp["ftp_duration_s"].to_numpy()
    )
    out["hwfe_within_tolerance_frac"] = (
        1.0 - hw["hwfe_time_outside_tolerance_s"].to_numpy() / hw["hwfe_duration_s"].to_numpy()
    )
    return out


def _float(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


#: Columns of an empty result frame (no car could be validated).
RESULT_COLUMNS = (
    "test_vehicle_id",
    "rows",
    "estimated_fields",
    "ftp_mpg_pred",
    "ftp_mpg_epa",
    "hwfe_mpg_pred",
    "hwfe_mpg_epa",
    "bag3_over_bag1_pred",
    "bag3_over_bag1_epa",
    "ftp_error_pct",
    "hwfe_error_pct",
    "ftp_within_tolerance_frac",
    "hwfe_within_tolerance_frac",
)


def validate_batch(
    frame: pd.DataFrame,
    dt_s: float = 0.1,
    models: dict | None = None,
    strict: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> Batch:
    """Predicted vs EPA fuel economies for every car of a test-car list; every other row skipped
    with its reason (:class:`Batch`).

    ``frame`` is the list as published (one row per test) or flat (one row per car), see
    :func:`vehsim.testcar.cars_from_testcar_list`. ``strict`` raises at the first row that is an
    error of the data. ``on_progress(done, total, stage)`` is called after each stage of each
    fleet chunk (progress display).
    """
    cars, vehicles, skipped = build_testcars(frame, models, strict)
    chunks = [
        range(i, min(i + FLEET_CHUNK_VEHICLES, len(cars)))
        for i in range(0, len(cars), FLEET_CHUNK_VEHICLES)
    ]
    total = len(chunks) * len(STAGES)
    done = [0]

    def stage_done(stage: str) -> None:
        done[0] += 1
        if on_progress is not None:
            on_progress(done[0], total, stage)

    parts = []
    for chunk in chunks:
        fleet = [vehicles[i] for i in chunk]
        ftp = ftp75(fleet, dt_s, on_stage=stage_done)
        hw = hwfet(fleet, dt_s, on_stage=stage_done)
        parts.append(_frame_results([cars[i] for i in chunk], fleet, ftp, hw))
    results = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=RESULT_COLUMNS)
    return Batch(results, skipped, len(frame))


def validate_testcars(
    frame: pd.DataFrame,
    dt_s: float = 0.1,
    models: dict | None = None,
    on_stage: Callable[[str], None] | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Predicted vs EPA fuel economies, one row per validated car of a test-car list.

    Rows that give no car are left out (``strict``: raise at the first that is an error of the
    data); :func:`validate_batch` says which and why. ``on_stage`` is called with each finished
    stage of :data:`STAGES` (progress display).
    """
    progress = None if on_stage is None else (lambda done, total, stage: on_stage(stage))
    return validate_batch(frame, dt_s, models, strict, progress).results


def summary(results: pd.DataFrame) -> dict:
    """Median absolute errors and shares within 5% / 10% (the acceptance figures)."""
    out: dict = {"summary": True, "vehicles": int(len(results))}
    for key in ("ftp", "hwfe"):
        err = results[f"{key}_error_pct"].astype(float).abs().dropna()
        out[f"{key}_median_abs_error_pct"] = round(float(err.median()), 3) if len(err) else None
        out[f"{key}_within_5pct_share"] = round(float((err <= 5).mean()), 4) if len(err) else None
        out[f"{key}_within_10pct_share"] = round(float((err <= 10).mean()), 4) if len(err) else None
    low, high = BAG_RATIO_BAND
    share_key = f"bag3_over_bag1_in_{low:g}_{high:g}_share"
    if not len(results):  # nothing validated: no figures (JSON null)
        out.update(
            {
                "bag3_over_bag1_median": None,
                share_key: None,
                "trace_within_tolerance_min_frac": None,
            }
        )
        return out
    ratio = results["bag3_over_bag1_pred"].astype(float)
    out["bag3_over_bag1_median"] = round(float(ratio.median()), 4)
    out[share_key] = round(float(((ratio >= low) & (ratio <= high)).mean()), 4)
    out["trace_within_tolerance_min_frac"] = round(
        float(
            min(
                results["ftp_within_tolerance_frac"].min(),
                results["hwfe_within_tolerance_frac"].min(),
            )
        ),
        5,
    )
    return out
