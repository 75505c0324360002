"""``vehsim simulate`` and ``vehsim validate``: offline runs from the command line.

The result goes to stdout, as JSON (valid JSON: ``null`` for a number that does not exist) or as
a table for a person (``--format``; default: a table on a terminal, JSON otherwise). Everything
else (the one-off kernel compile, progress) goes to stderr and stays silent with ``--quiet``.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from vehsim.errors import ParameterError
from vehsim.output import add_output_options, dumps, format_pairs, format_rows, output_format

# Every `vehsim` command loads this plug-in to build its help: the simulation (Numba, pandas)
# and the Kafka client load inside the command functions below, not here.


class DeprecatedAlias(argparse.Action):
    """An option's old spelling: still accepted, with a warning on stderr naming the new one.

    ``parser.add_argument("--ambient-c", dest="ambient_temp_c", type=float,
    action=DeprecatedAlias, new="--ambient-temp-c")``.
    """

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        kwargs.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"{parser.prog}: {option_string} is deprecated and will go; use {self.new}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_ambient_option(p: argparse.ArgumentParser, default: float | None = 20.0) -> None:
    """``--ambient-temp-c`` (every command's spelling), and the old ``--ambient-c``; a default
    of ``None`` lets the command tell "not given" (it then uses 20 °C)."""
    p.add_argument(
        "--ambient-temp-c",
        dest="ambient_temp_c",
        type=float,
        default=default,
        metavar="C",
        help=f"ambient temperature [°C] (default {20.0 if default is None else default:g})",
    )
    p.add_argument(
        "--ambient-c", dest="ambient_temp_c", type=float, action=DeprecatedAlias,
        new="--ambient-temp-c",
    )  # fmt: skip


def add_state_options(p: argparse.ArgumentParser) -> None:
    """``--state FILE`` and ``--wear-scale K`` (``vehsim simulate``, ``vehsim drive``)."""
    p.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="the car's lasting state (odometer, wear, oil life, fuel level; JSON, "
        "vehsim.vehicle_state): start from FILE if it exists, write the end state to it",
    )
    p.add_argument(
        "--wear-scale",
        type=float,
        default=1.0,
        metavar="K",
        help="wear advances K times faster than the rest of the physics (default 1)",
    )


def shipped_vehicles() -> list[str]:
    """Names of the shipped vehicle files, read without loading the simulation (help text)."""
    folder = resources.files("vehsim").joinpath("data", "vehicles")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def register_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="drive one vehicle over a cycle and print a summary")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--scenario",
        type=Path,
        help="scenario YAML (vehicles, driver, cycle or profile, ambient, faults; "
        "docs/faults.md); one summary per vehicle",
    )
    src.add_argument(
        "--vehicle",
        help=f"shipped vehicle ({', '.join(shipped_vehicles())}) or a vehicle YAML file",
    )
    src.add_argument("--testcar-csv", type=Path, help="CSV with EPA Test Car List columns")
    p.add_argument("--testcar-id", help="'Test Vehicle ID' of the row to use (with --testcar-csv)")
    p.add_argument(
        "--mild-hybrid",
        action="store_true",
        help="the vehicle as a 48 V mild hybrid: the generic belt starter-generator and "
        "stop-start (docs/validation.md); the summary adds what the machine recovered",
    )
    p.add_argument(
        "--cycle",
        help="udds, hwfet, us06, wltc3b, or a CSV (time_s,speed_mps[,grade]); required "
        "unless --scenario",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[:SEVERITY[@ONSET_S]]",
        help="inject a fault (repeatable; severity 0-1, default 1; onset [s], default 0); "
        "'vehsim faults' lists them",
    )
    p.add_argument("--dt-s", type=float, default=0.01, help="step [s] (default 0.01)")
    p.add_argument("--seed", type=int, default=0)
    add_ambient_option(p)
    p.add_argument("--start", choices=("cold", "hot"), default="cold")
    add_state_options(p)
    p.add_argument("--out", type=Path, help="write 1 Hz telemetry to this Parquet file")
    p.add_argument(
        "--plot", type=Path, help="write a PNG: speed vs target, fuel rate, coolant temperature"
    )
    add_output_options(p)
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


def _run_scenario(args) -> int:
    from vehsim.progress import announce_kernel_compile
    from vehsim.scenario import load_scenario, run_scenario

    if args.cycle or args.fault or args.out or args.plot or args.state or args.mild_hybrid:
        raise ParameterError(
            "--scenario holds the vehicles, driver and faults: drop --cycle, --fault, --out, "
            "--plot, --state and --mild-hybrid (or put the faults in the scenario file)"
        )
    scenario = load_scenario(args.scenario)
    announce_kernel_compile(args.quiet)
    summaries = run_scenario(scenario)
    for summary in summaries:
        print(dumps(summary) if output_format(args) == "json" else format_pairs(summary))
    return 0


def run_simulate(args) -> int:
    import vehsim
    from vehsim.faults import parse_fault_spec
    from vehsim.progress import announce_font_cache, announce_kernel_compile

    if args.scenario:
        return _run_scenario(args)
    if not args.cycle:
        raise ParameterError("--cycle is required (or give a --scenario file)")
    faults = [parse_fault_spec(text) for text in args.fault]
    params = _vehicle(args)
    if args.mild_hybrid and params.submodel("hybrid") == "none":  # a mild hybrid keeps its own
        params = vehsim.mild_hybrid(params)
    cycle = vehsim.load_cycle(args.cycle)
    announce_kernel_compile(args.quiet)
    state = args.state if args.state and args.state.exists() else None
    result = vehsim.simulate(
        params,
        cycle,
        dt_s=args.dt_s,
        seed=args.seed,
        ambient_temp_c=args.ambient_temp_c,
        start=args.start,
        faults=faults,
        state=state,
        wear_time_scale=args.wear_scale,
    )
    if args.state:
        result.vehicle_state.save(args.state)
        result.summary["state_file"] = str(args.state)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result.to_parquet(args.out)
        result.summary["telemetry_file"] = str(args.out)
    if args.plot:
        announce_font_cache(args.quiet)
        from vehsim.plots import plot_run

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_run(result, cycle, args.plot)
        result.summary["plot_file"] = str(args.plot)
    if output_format(args) == "json":
        print(dumps(result.summary))
    else:
        print(format_pairs(result.summary))
    return 0


def register_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="FTP-75 and HWFET for every car of an EPA Test Car List (CSV or XLSX)",
        description="Every row gets a line: a car's result, or a skip with its reason "
        "(unsupported_powertrain, invalid_field, duplicate_test; other_test and other_fuel for "
        "rows of tests validation does not compare). Exit 0 when at least one car was "
        "validated, 2 when none could be (or, with --strict, at the first bad row).",
    )
    p.add_argument(
        "--testcar-csv",
        type=Path,
        required=True,
        metavar="FILE",
        help="EPA Test Car List as downloaded (CSV or XLSX, one row per test) or one row per car",
    )
    p.add_argument("--dt-s", type=float, default=0.1, help="step [s] (default 0.1)")
    p.add_argument("--plot", type=Path, help="write a PNG of predicted vs EPA fuel economy")
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first row that cannot be validated (exit 2) instead of skipping it",
    )
    add_output_options(p)
    p.set_defaults(func=run_validate)


#: Columns of the ``validate`` table (the JSON lines carry every column).
VALIDATE_TABLE_COLUMNS = (
    "test_vehicle_id",
    "ftp_mpg_pred",
    "ftp_mpg_epa",
    "ftp_error_pct",
    "hwfe_mpg_pred",
    "hwfe_mpg_epa",
    "hwfe_error_pct",
    "bag3_over_bag1_pred",
    "estimated",
)
#: Columns of the table of skipped rows.
SKIPPED_TABLE_COLUMNS = ("rows", "test_vehicle_id", "reason")


def run_validate(args) -> int:
    from vehsim.progress import announce_font_cache, announce_kernel_compile, progress_bar
    from vehsim.testcar import read_testcar_file
    from vehsim.validate import build_testcars, validate_batch

    frame = read_testcar_file(args.testcar_csv)
    if args.strict:  # the whole file is checked before the kernel compiles or anything runs
        build_testcars(frame, strict=True)
    if not args.quiet:
        print(
            f"validating the test cars of {len(frame)} rows on FTP-75 and HWFET ...",
            file=sys.stderr,
        )
    announce_kernel_compile(args.quiet)
    with progress_bar(0, desc="validate", unit="run", quiet=args.quiet) as bar:

        def progress(done: int, total: int, stage: str) -> None:
            bar.total = total
            bar.set_postfix_str(stage, refresh=False)
            bar.update(done - bar.n)

        batch = validate_batch(frame, dt_s=args.dt_s, strict=args.strict, on_progress=progress)
    lines = batch.lines()
    totals = batch.summary()
    if output_format(args) == "json":
        for line in lines:
            print(dumps(line))
        print(dumps(totals))
    else:
        validated = [
            {**line, "estimated": ",".join(line["estimated_fields"]) or "-"}
            for line in lines
            if line["status"] == "validated"
        ]
        print(format_rows(validated, VALIDATE_TABLE_COLUMNS))
        skipped = [
            {**line, "rows": ",".join(str(r) for r in line["rows"])}
            for line in lines
            if line["status"] == "skipped"
        ]
        if skipped:
            print()
            print(format_rows(skipped, SKIPPED_TABLE_COLUMNS))
        print()
        print(
            format_pairs(
                {
                    k: (", ".join(f"{r}: {n}" for r, n in v.items()) or "-")
                    if isinstance(v, dict)
                    else v
                    for k, v in totals.items()
                    if k != "summary"
                }
            )
        )
    if args.plot and len(batch.results):
        announce_font_cache(args.quiet)
        from vehsim.plots import plot_validation

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_validation(batch.results, args.plot)
    if not len(batch.results):
        raise ParameterError(
            f"{args.testcar_csv}: no car could be validated ({len(frame)} rows, every one "
            "skipped; the lines above give each reason)"
        )
    return 0


def register_faults(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("faults", help="list the injectable faults and the codes they can set")
    add_output_options(p)
    p.set_defaults(func=run_faults)


def run_faults(args) -> int:
    from vehsim.faults import FAULTS

    rows = [
        {
            "name": f.name,
            "code": f.code or "-",
            "effect": f.effect,
            "conditions": f.conditions or "no monitor sees it",
            "source": f.source,
        }
        for f in FAULTS
    ]
    if output_format(args) == "json":
        for row in rows:
            print(dumps(row))
    else:
        for row in rows:
            print(format_pairs(row))
            print()
    return 0
