"""``vehsim pipeline <stage>``: run the Spark jobs of the lake from a shell.

Each stage is one entry of :data:`STAGES`: a function that adds its parser to the ``pipeline``
sub-commands and sets ``func``. Adding a stage is one line in that table. Heavy libraries
(pyspark, deltalake) are imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable

from vehsim_pipelines.labels import add_labels, load_labels

# Every `vehsim` command loads this plug-in to build its help: pyspark, MLflow and the jobs
# load inside the command functions below, not here.


def add_spark_options(parser: argparse.ArgumentParser) -> None:
    """``--master``, ``--remote`` and ``--conf`` for any stage that starts Spark."""
    parser.add_argument(
        "--master", default=None, help="Spark master (default $VEHSIM_SPARK_MASTER or local[*])"
    )
    parser.add_argument(
        "--remote",
        default=None,
        metavar="sc://HOST:PORT",
        help="run on a Spark Connect server instead (default $VEHSIM_SPARK_REMOTE); the "
        "server carries the connectors ('vehsim spark connect start')",
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark setting (repeatable)",
    )


def spark_conf(args: argparse.Namespace) -> dict[str, str]:
    """The ``--conf KEY=VALUE`` settings as a dict (a clear error for a malformed one)."""
    from vehsim.errors import ConfigError

    conf = {}
    for item in args.conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--conf {item!r}: expected KEY=VALUE, e.g. spark.driver.memory=2g")
        conf[key.strip()] = value.strip()
    return conf


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- bronze -----------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def add_bronze(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "bronze",
        help="stream the telemetry topic from Kafka into the Bronze Delta table",
        description=(
            "Stream every Kafka record of the telemetry topic into the Bronze Delta table, "
            "exactly once (offsets checkpointed, commits guarded by Delta txn ids). Runs until "
            "stopped (Ctrl-C / SIGTERM), or with --available-now until the current backlog is in."
        ),
    )
    parser.add_argument(
        "--available-now",
        action="store_true",
        help="ingest what is in Kafka now, then stop",
    )
    parser.add_argument(
        "--trigger-s",
        type=_positive_float,
        default=1.0,
        help="micro-batch interval [s] (default 1)",
    )
    parser.add_argument(
        "--starting-offsets",
        choices=("earliest", "latest"),
        default="earliest",
        help="where a new query starts (default earliest; ignored once checkpointed)",
    )
    parser.add_argument(
        "--max-offsets-per-trigger",
        type=_positive_int,
        default=None,
        help="records per micro-batch at most (default 2000000: few large batches catch up "
        "fastest, each batch has a fixed cost)",
    )
    parser.add_argument(
        "--reset-checkpoint",
        action="store_true",
        help="start a new checkpoint (the old one is kept beside it): after the topic was "
        "recreated or its offsets moved back",
    )
    add_spark_options(parser)
    parser.set_defaults(func=_spark_failures(run_bronze_command))


def run_bronze_command(args: argparse.Namespace) -> int:
    from vehsim.config import load_settings
    from vehsim.errors import RunFailure, VehsimError
    from vehsim.stream.broker import resolve_bootstrap
    from vehsim_pipelines import bronze

    settings = load_settings()
    config = bronze.BronzeConfig(
        trigger_s=args.trigger_s,
        available_now=args.available_now,
        starting_offsets=args.starting_offsets,
        **(
            {}
            if args.max_offsets_per_trigger is None
            else {"max_offsets_per_trigger": args.max_offsets_per_trigger}
        ),
    )
    bootstrap = resolve_bootstrap(settings)  # fails fast, with advice, when no broker is known
    if args.reset_checkpoint:
        moved = bronze.reset_checkpoint(settings)
        _say(f"bronze: old checkpoint kept at {moved}" if moved else "bronze: no checkpoint yet")
    _say(
        f"bronze: {settings.telemetry_topic} on {bootstrap} -> {bronze.bronze_uri(settings)} "
        f"(checkpoint {bronze.checkpoint_path(settings)})"
    )
    spark = bronze.bronze_session(
        master=args.master, conf=spark_conf(args), remote=args.remote, settings=settings
    )
    try:
        if args.available_now:
            return _bronze_available_now(spark, settings, config)
        return _bronze_continuous(spark, settings, config)
    except Exception as exc:
        if isinstance(exc, VehsimError):
            raise
        if type(exc).__name__ == "StreamingQueryException":
            rewound = bronze.rewound_error(exc, bronze.checkpoint_path(settings))
            if rewound is not None:
                raise rewound from exc
            raise RunFailure(f"the Bronze stream failed: {_first_lines(str(exc))}") from exc
        raise
    finally:
        spark.stop()


def _first_lines(text: str, n: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[:n])


def _spark_failures(
    run: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A stage whose Spark work fails ends with a short error that points to the full log.

    Spark's own errors (a failed query, a missing path, a lost executor) carry pages of JVM
    stack; the command shows their first lines and names the driver's log file, which holds all
    of it (``<VEHSIM_HOME>/logs/spark-<app>.log``, see ``pipelines/log4j2.properties``).
    """
    import functools

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        from vehsim.errors import RunFailure, VehsimError
        from vehsim_pipelines.session import log_file

        try:
            return run(args)
        except (VehsimError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if not type(exc).__module__.startswith(("pyspark", "py4j")):
                raise
            logs = ", ".join(str(log_file(app)) for app in ("vehsim-bronze", "vehsim-refine"))
            raise RunFailure(
                f"Spark failed: {_first_lines(str(exc))}\n(the whole story is in {logs})"
            ) from exc

    return guarded


def _bronze_available_now(spark, settings, config) -> int:
    from vehsim_pipelines import bronze

    total = 0

    def show(progress: dict) -> None:
        nonlocal total
        total += int(progress.get("numInputRows", 0))
        _say(bronze.describe_progress(progress, total, None))

    run = bronze.run_bronze_available_now(spark, settings, config, on_progress=show)
    _say(
        f"bronze: done: {run.records:,} records in {run.batches} batch(es), "
        f"{run.duration_s:.1f} s ({run.records_per_s:,.0f} records/s); "
        f"table version {run.table_version}"
    )
    return 0


def _bronze_continuous(spark, settings, config) -> int:
    from vehsim_pipelines import bronze

    stop_requested = False

    def request_stop(signum, _frame) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    query = bronze.start_bronze(spark, settings, config)
    probe = bronze.TopicProbe(settings)
    seen: set[int] = set()
    total = 0
    last_line = time.monotonic()
    try:
        while query.isActive and not stop_requested:
            query.awaitTermination(1.0)
            for progress in map(bronze.progress_dict, query.recentProgress):
                batch = progress["batchId"]
                if batch in seen:
                    continue
                seen.add(batch)
                rows = int(progress.get("numInputRows", 0))
                total += rows
                if rows or time.monotonic() - last_line > 30:
                    lag = probe.lag(bronze.end_offsets_of(progress))
                    _say(bronze.describe_progress(progress, total, lag))
                    last_line = time.monotonic()
    except KeyboardInterrupt:
        stop_requested = True
    finally:
        signal.signal(signal.SIGTERM, previous)
        probe.close()
        if query.isActive:
            _say("bronze: stopping (the running batch finishes or is replayed on restart)")
            query.stop()
    if not stop_requested:
        query.awaitTermination()  # the query ended on its own: raise its error
    _say(f"bronze: stopped after {total:,} rows")
    return 0


# --- silver, gold, all ------------------------------------------------------------------------


def add_silver(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "silver",
        help="validate, deduplicate and flatten new Bronze rows into Silver (+ quarantine, dq)",
        description=(
            "Process the Bronze versions Silver has not seen: parse each event against the "
            "versioned schema, write valid ones to silver/telemetry and silver/events, failed "
            "ones to silver/quarantine with a reason, and a data-quality row to ops/dq_runs."
        ),
    )
    add_spark_options(parser)
    parser.set_defaults(func=_spark_failures(run_silver_command))


def add_gold(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gold",
        help="aggregate new Silver rows into gold/vehicle_minute, gold/trips, gold/features, "
        "gold/diagnostics",
        description="Upsert (MERGE) the Gold tables for every vehicle run with new Silver rows.",
    )
    _add_watermark(parser)
    add_spark_options(parser)
    parser.set_defaults(func=_spark_failures(run_gold_command))


def add_all(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "all",
        help="bronze catch-up (available now), then silver and gold; prints a summary",
        description=(
            "Ingest what is in Kafka now into Bronze, then run Silver and Gold, load the "
            "simulation's fault labels (labels/fault_labels), and print the row counts of every "
            "table and a few headline figures. --skip-bronze works without a broker."
        ),
    )
    parser.add_argument(
        "--skip-bronze", action="store_true", help="do not read Kafka; refine what Bronze holds"
    )
    _add_watermark(parser)
    add_spark_options(parser)
    parser.set_defaults(func=_spark_failures(run_all_command))


def _add_watermark(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--watermark-s",
        type=_positive_float,
        default=600.0,
        help="late events update their window if it ended less than this before the run's "
        "newest event in Gold (default 600)",
    )


def _refine_session(args: argparse.Namespace):
    from vehsim_pipelines.session import build_spark

    conf = {"spark.ui.showConsoleProgress": "false"}
    conf.update(spark_conf(args))
    return build_spark("vehsim-refine", master=args.master, conf=conf, remote=args.remote)


class _OnDemandSession:
    """The command's Spark session, started the first time a job needs one: a run with nothing
    new reads the Delta logs alone and starts no JVM."""

    def __init__(self, args: argparse.Namespace):
        self._args = args
        self.session = None

    def __call__(self):
        if self.session is None:
            self.session = _refine_session(self._args)
        return self.session

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()


def run_silver_command(args: argparse.Namespace) -> int:
    from vehsim.config import load_settings
    from vehsim_pipelines import jobs

    settings = load_settings()
    spark = _OnDemandSession(args)
    try:
        runs = jobs.run_silver(spark, settings, progress=_say)
    finally:
        spark.stop()
    _print_summary({"silver": [r.as_dict() for r in runs]}, settings)
    return 0


def run_gold_command(args: argparse.Namespace) -> int:
    from vehsim.config import load_settings
    from vehsim_pipelines import jobs

    settings = load_settings()
    spark = _OnDemandSession(args)
    try:
        runs = jobs.run_gold(spark, settings, progress=_say, watermark_s=args.watermark_s)
    finally:
        spark.stop()
    _print_summary({"gold": [r.as_dict() for r in runs]}, settings)
    return 0


def run_all_command(args: argparse.Namespace) -> int:
    from vehsim.config import load_settings
    from vehsim_pipelines import jobs

    settings = load_settings()
    result: dict = {}
    if not args.skip_bronze:
        from vehsim.stream.broker import resolve_bootstrap
        from vehsim_pipelines import bronze

        resolve_bootstrap(settings)  # fails fast, with advice, when no broker is known
        conf = {"spark.ui.showConsoleProgress": "false", **spark_conf(args)}
        spark = bronze.bronze_session(
            master=args.master, conf=conf, remote=args.remote, settings=settings
        )
        total = 0

        def show(progress: dict) -> None:
            nonlocal total
            total += int(progress.get("numInputRows", 0))
            _say(bronze.describe_progress(progress, total, None))

        run = bronze.run_bronze_available_now(spark, settings, bronze.BronzeConfig(), show)
        _say(f"bronze: {run.records:,} records in {run.batches} batch(es)")
        result["bronze"] = {"records": run.records, "batches": run.batches}
    else:
        spark = _OnDemandSession(args)
    try:
        result["silver"] = [r.as_dict() for r in jobs.run_silver(spark, settings, progress=_say)]
        result["gold"] = [
            r.as_dict()
            for r in jobs.run_gold(spark, settings, progress=_say, watermark_s=args.watermark_s)
        ]
    finally:
        spark.stop()
    # ground truth into its own area of the lake (delta-rs; no job above reads it)
    result["labels"] = load_labels(settings, _say).as_dict()
    _print_summary(result, settings)
    return 0


def _print_summary(result: dict, settings) -> None:
    """Table versions and row counts and headline figures on stderr; JSON on stdout."""
    import json

    from vehsim_pipelines import jobs

    tables = jobs.table_summary(settings)
    _say("")
    _say(f"{'table':<22} {'version':>8} {'rows':>12}")
    for name, info in tables.items():
        if info is None:
            _say(f"{name:<22} {'-':>8} {'-':>12}")
        else:
            _say(f"{name:<22} {info['version']:>8} {info['rows']:>12,}")
    headline = jobs.headline_figures(settings)
    if headline:
        _say(
            f"fleet: {headline['vehicles']} vehicle(s), {headline['trips']} trip(s), "
            f"{headline['distance_km']:.2f} km, {headline['fuel_used_l']:.3f} L fuel"
            + (
                f", {headline['fleet_l_per_100km']:.2f} L/100 km"
                if headline["fleet_l_per_100km"] is not None
                else ""
            )
            + f", {headline['harsh_events']} harsh event(s)"
        )
    print(json.dumps({**result, "tables": tables, "headline": headline}, default=str))


#: ``vehsim pipeline <name>``: each entry adds one stage's parser.
STAGES: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "bronze": add_bronze,
    "silver": add_silver,
    "gold": add_gold,
    "all": add_all,
    "labels": add_labels,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``vehsim pipeline`` and its stages to the ``vehsim`` command line."""
    parser = subparsers.add_parser(
        "pipeline",
        help="run the lake's Spark jobs (Kafka -> Bronze -> Silver -> Gold)",
        description="Run the Spark jobs of the lake: Kafka -> Bronze -> Silver -> Gold.",
    )
    # The jobs load Arrow and delta-rs thread pools; see vehsim.cli._exit_now.
    parser.set_defaults(exit_without_teardown=True)
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)
    for add in STAGES.values():
        add(stages)
