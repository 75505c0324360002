"""``vehsim broker start|stop|status`` and ``vehsim drive``: the command-line face of the runtime.

Heavy imports (kafka-python, the simulation) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from dataclasses import asdict
from pathlib import Path

# Every `vehsim` command loads this plug-in to build its help: the simulation (Numba, pandas)
# and the Kafka client load inside the command functions below, not here.

#: Physics step of ``vehsim drive`` unless given [s] (a scenario file's own ``dt_s`` wins).
DEFAULT_DT_S = 0.01


def register_broker(subparsers) -> None:
    parser = subparsers.add_parser(
        "broker",
        help="run the embedded development Kafka broker (Apache Kafka, KRaft, loopback)",
        description=(
            "Start, stop or inspect the embedded Apache Kafka broker of VEHSIM_HOME: one JVM "
            "(broker and KRaft controller) on 127.0.0.1, data in VEHSIM_HOME/kafka, kept "
            "across stops, crashes and kill -9. A restart reuses the last port when it is "
            "free. Production points VEHSIM_KAFKA_BOOTSTRAP at a Kafka cluster instead."
        ),
    )
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="client port (default: the last start's if free, else a free one)",
    )
    parser.add_argument("--json", action="store_true", help="print the broker record as JSON")
    parser.set_defaults(func=_broker)


def _broker(args: argparse.Namespace) -> int:
    from vehsim.config import load_settings
    from vehsim.stream.broker import EmbeddedBroker

    settings = load_settings()
    broker = EmbeddedBroker(settings)
    if args.action == "start":
        record = broker.start(port=args.port)
        _say(args, record, f"broker running at {record.bootstrap} (pid {record.pid}); "
             f"topics {settings.telemetry_topic}, {settings.commands_topic}; "
             f"data {record.data_dir}, log {record.log_path}")  # fmt: skip
        return 0
    if args.action == "stop":
        stopped = broker.stop()
        print("broker stopped" if stopped else "no broker was running", file=sys.stderr)
        return 0
    record = broker.status()
    if record is None:
        if args.json:
            print(json.dumps(None))
        print(f"no embedded broker running for VEHSIM_HOME={settings.home}", file=sys.stderr)
        return 1
    if args.port is not None and args.port != record.port:
        print(f"broker runs on port {record.port}, not {args.port}", file=sys.stderr)
        return 1
    _say(args, record, f"broker running at {record.bootstrap} (pid {record.pid})")
    return 0


def _say(args, record, text: str) -> None:
    if args.json:
        print(json.dumps(asdict(record)))
    else:
        print(text)


def _speedup(text: str) -> float:
    if text.lower() in ("max", "inf"):
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"speedup must be a number > 0 or 'max', got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"speedup must be > 0 or 'max', got {text!r}")
    return value


#: Exit code of ``vehsim drive`` when the run ended but not every event reached Kafka (some stay
#: spooled for the next run, or were set aside as undeliverable): the project's "failed at run
#: time" (README, exit codes). 2 is a usage or config error.
DRIVE_UNDELIVERED = 1


def register_drive(subparsers) -> None:
    from vehsim.cli_sim import add_ambient_option, add_state_options

    parser = subparsers.add_parser(
        "drive",
        help="simulate cars live: telemetry events to Kafka, driver commands from Kafka",
        description=(
            "Run one or many vehicles in real time (or sped up), publishing events to the "
            "telemetry topic and obeying commands from the commands topic. Events are spooled "
            "durably while Kafka is unreachable and replayed when it returns. Ctrl-C stops "
            "cleanly. Exit code 1: the run ended but some events were not delivered (they stay "
            "spooled for the next run, or were set aside under VEHSIM_HOME/dead-letter)."
        ),
    )
    who = parser.add_mutually_exclusive_group()
    parser.add_argument("--vehicles", type=int, default=None, metavar="N", help="number of cars")
    who.add_argument("--vehicle", metavar="NAME", help="parameter set of every car")
    who.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="scenario YAML (vehicles and their faults, driver, ambient, start, step, seed; "
        "docs/faults.md) instead of --vehicle/--vehicles/--driver/--fault/--ambient-temp-c",
    )
    parser.add_argument(
        "--driver",
        default=None,
        help="cycle:<name>, profile:<eco|normal|aggressive> or commands (default cycle:udds)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[:SEVERITY[@ONSET_S]]",
        help="give every car a fault (repeatable; severity 0-1, default 1; onset [s of "
        "simulated time], default 0); 'vehsim faults' lists them",
    )
    parser.add_argument(
        "--speedup",
        type=_speedup,
        default=1.0,
        metavar="K",
        help="sim seconds per wall second, or max",
    )
    parser.add_argument(
        "--duration-s",
        type=float,
        default=None,
        metavar="S",
        help="simulated seconds (default: until stopped)",
    )
    parser.add_argument(
        "--rate-hz", type=float, default=10.0, metavar="R", help="telemetry rate per car"
    )
    parser.add_argument("--dt-s", type=float, default=DEFAULT_DT_S, help="physics step [s]")
    parser.add_argument("--seed", type=int, default=0)
    add_ambient_option(parser, default=None)
    add_state_options(parser)
    parser.add_argument("--run-id", default=None, help="identifier of this run (default: new UUID)")
    parser.add_argument(
        "--id-prefix",
        default=None,
        help="vehicle ids <prefix>-<index> (default: <vehicle>-<index>)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=_drive)


def _drive_config(args: argparse.Namespace):
    """The run's :class:`DriveConfig` from the options, or from ``--scenario``; bad input is a
    :class:`~vehsim.errors.VehsimError` naming it, before anything starts."""
    from vehsim.errors import ConfigError
    from vehsim.faults import parse_fault_spec
    from vehsim.stream.runtime import DriveConfig, config_from_scenario, fleet

    ids_for = (
        (lambda n: [f"{args.id_prefix}-{i:03d}" for i in range(n)]) if args.id_prefix else None
    )
    if args.scenario is not None:
        from vehsim.scenario import load_scenario

        clashing = [
            option
            for option, value in (
                ("--vehicles", args.vehicles),
                ("--driver", args.driver),
                ("--fault", args.fault or None),
                ("--ambient-temp-c", args.ambient_temp_c),
            )
            if value is not None
        ]
        if clashing:
            raise ConfigError(
                f"--scenario holds the vehicles, driver, faults and ambient: drop "
                f"{', '.join(clashing)} (or put them in the scenario file)"
            )
        scenario = load_scenario(args.scenario)
        return config_from_scenario(
            scenario,
            vehicle_ids=ids_for(len(scenario.vehicles)) if ids_for else None,
            speedup=args.speedup,
            duration_s=args.duration_s,
            rate_hz=args.rate_hz,
            dt_s=args.dt_s if args.dt_s != DEFAULT_DT_S else None,
            seed=args.seed if args.seed != 0 else None,
        )
    faults = [parse_fault_spec(text) for text in args.fault]
    names = fleet(1 if args.vehicles is None else args.vehicles, args.vehicle)
    return DriveConfig(
        vehicles=names,
        vehicle_ids=ids_for(len(names)) if ids_for else None,
        driver=args.driver or "cycle:udds",
        speedup=args.speedup,
        duration_s=args.duration_s,
        rate_hz=args.rate_hz,
        dt_s=args.dt_s,
        seed=args.seed,
        ambient_temp_c=20.0 if args.ambient_temp_c is None else args.ambient_temp_c,
        faults=[list(faults) for _ in names] if faults else None,
    )


def _drive(args: argparse.Namespace) -> int:

    from vehsim.config import load_settings
    from vehsim.stream.runtime import DriveRuntime

    if not getattr(args, "verbose", False):
        # kafka-python logs every refused reconnect during an outage (the publisher reports it
        # once); only its authentication/TLS complaints are worth showing, each once.
        from vehsim.cli import quiet_kafka_client

        quiet_kafka_client()
    settings = load_settings()
    config = _drive_config(args)
    names = list(config.vehicles)
    if args.state is not None and len(names) != 1:
        from vehsim.errors import ConfigError

        raise ConfigError(
            f"--state holds one car's state: drive one vehicle with it, not {len(names)}"
        )

    def progress(p) -> None:
        print(p.line(), file=sys.stderr, flush=True)

    runtime = DriveRuntime(
        config, settings, run_id=args.run_id, progress=None if args.quiet else progress
    )
    runtime.sim.set_wear_time_scale(slice(None), args.wear_scale)
    if args.state is not None and args.state.exists():
        runtime.sim.restore_state(0, args.state)
    interrupts = 0

    def on_signal(signum, _frame) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt  # second Ctrl-C: leave now, the spool keeps what is unsent
        print(
            f"vehsim drive: {signal.Signals(signum).name}, stopping and flushing", file=sys.stderr
        )
        runtime.stop()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(
        f"vehsim drive: run {runtime.run_id}, {len(names)} vehicle(s) "
        f"{', '.join(runtime.vehicle_ids[:5])}{' ...' if len(names) > 5 else ''}, "
        f"driver {config.driver}, topic {settings.telemetry_topic}",
        file=sys.stderr,
        flush=True,
    )
    try:
        final = runtime.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if args.state is not None:
        runtime.sim.save_state(0, args.state)
    summary = {
        "run_id": final.run_id,
        "vehicle_ids": runtime.vehicle_ids,
        "sim_time_s": round(final.sim_time_s, 3),
        "wall_s": round(final.wall_s, 3),
        "events": final.events,
        "acked": final.acked,
        "spooled": final.pending,
        "replayed": final.replayed,
        "outages": final.outages,
        "commands_applied": final.commands_applied,
        "commands_rejected": final.commands_rejected,
        "dead_lettered": final.dead_lettered,
        "cpu_s": round(final.cpu_s, 3),
    }
    summary["faults"] = {
        vid: [spec.as_dict() for spec in runtime.sim.faults(i)]
        for i, vid in enumerate(runtime.vehicle_ids)
    }
    summary["dtc_confirmed"] = {
        vid: runtime.sim.dtc(i)["confirmed"] for i, vid in enumerate(runtime.vehicle_ids)
    }
    summary["fault_labels"] = runtime.labels_written
    print(json.dumps(summary))
    if final.pending:
        print(
            f"vehsim drive: {final.pending} event(s) could not be delivered and stay spooled "
            f"under {settings.spool_dir}; the next 'vehsim drive' sends them",
            file=sys.stderr,
        )
    if final.dead_lettered:
        print(
            f"vehsim drive: {final.dead_lettered} event(s) could never be delivered (too large "
            f"for Kafka) and were set aside in {runtime.publisher.dead_letter_path}",
            file=sys.stderr,
        )
    return DRIVE_UNDELIVERED if final.pending or final.dead_lettered else 0
