"""``vehsim simulate`` and ``vehsim validate``: offline runs from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vehsim.errors import ParameterError


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def register_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="drive one vehicle over a cycle and print a JSON summary")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--vehicle", help="shipped vehicle name or a vehicle YAML file")
    src.add_argument("--testcar-csv", type=Path, help="CSV with EPA Test Car List columns")
    p.add_argument("--testcar-id", help="'Test Vehicle ID' of the row to use (with --testcar-csv)")
    p.add_argument(
        "--cycle",
        required=True,
        help="udds, hwfet, us06, wltc3b, or a CSV (time_s,speed_mps[,grade])",
    )
    p.add_argument("--dt-s", type=float, default=0.01, help="step [s] (default 0.01)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ambient-c", type=float, default=20.0, help="ambient temperature [°C]")
    p.add_argument("--start", choices=("cold", "hot"), default="cold")
    p.add_argument("--out", type=Path, help="write 1 Hz telemetry to this Parquet file")
    p.add_argument(
        "--plot", type=Path, help="write a PNG: speed vs target, fuel rate, coolant temperature"
    )
    p.set_defaults(func=run_simulate)


def _vehicle(args):
    import vehsim
    from vehsim.testcar import COL_ID, read_testcar_csv

    if args.vehicle:
        return vehsim.load_vehicle(args.vehicle)
    if not args.testcar_id:
        raise ParameterError("--testcar-csv needs --testcar-id (a 'Test Vehicle ID' of the file)")
    frame = read_testcar_csv(args.testcar_csv)
    rows = frame[frame[COL_ID].astype(str) == args.testcar_id]
    if rows.empty:
        raise ParameterError(
            f"no row with Test Vehicle ID {args.testcar_id!r} in {args.testcar_csv}"
        )
    return vehsim.vehicle_from_testcar(rows.iloc[0].to_dict())


def run_simulate(args) -> int:
    import vehsim

    params = _vehicle(args)
    cycle = vehsim.load_cycle(args.cycle)
    result = vehsim.simulate(
        params,
        cycle,
        dt_s=args.dt_s,
        seed=args.seed,
        ambient_temp_c=args.ambient_c,
        start=args.start,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result.to_parquet(args.out)
        result.summary["telemetry_file"] = str(args.out)
    if args.plot:
        from vehsim.plots import plot_run

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_run(result, cycle, args.plot)
        result.summary["plot_file"] = str(args.plot)
    print(json.dumps(result.summary, default=_json_default))
    return 0


def register_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate", help="FTP-75 and HWFET for every vehicle of an EPA Test Car List CSV"
    )
    p.add_argument("--testcar-csv", type=Path, required=True)
    p.add_argument("--dt-s", type=float, default=0.1, help="step [s] (default 0.1)")
    p.add_argument("--plot", type=Path, help="write a PNG of predicted vs EPA fuel economy")
    p.set_defaults(func=run_validate)


def run_validate(args) -> int:
    from vehsim.testcar import read_testcar_csv
    from vehsim.validate import summary, validate_testcars

    frame = read_testcar_csv(args.testcar_csv)
    print(f"validating {len(frame)} vehicles on FTP-75 and HWFET ...", file=sys.stderr)
    results = validate_testcars(frame, dt_s=args.dt_s)
    for row in results.to_dict("records"):
        print(
            json.dumps(
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()},
                default=_json_default,
            )
        )
    print(json.dumps(summary(results), default=_json_default))
    if args.plot:
        from vehsim.plots import plot_validation

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_validation(results, args.plot)
    return 0
