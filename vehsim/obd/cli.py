"""``vehsim obd``: an OBD-II port (ELM327 over TCP on 127.0.0.1) for one car of a live run."""

from __future__ import annotations

import argparse
import signal
import sys

from vehsim.config import load_settings
from vehsim.errors import ConfigError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "obd",
        help="serve an OBD-II port (ELM327 protocol over TCP) for one live car",
        description=(
            "Serve the ELM327 adapter protocol on 127.0.0.1 for one car of a running "
            "'vehsim drive': SAE J1979 modes 01, 02, 03, 04 (clears the codes in the "
            "simulation too), 07 and 09 over ISO 15765-4 CAN 11/500. Connect a scan tool "
            "to socket://127.0.0.1:PORT, e.g. obd.OBD('socket://127.0.0.1:PORT', "
            "baudrate=38400, fast=False). Ctrl-C stops. See docs/obd.md."
        ),
    )
    parser.add_argument("--vehicle-id", required=True, metavar="ID", help="the car to serve")
    parser.add_argument(
        "--port", type=int, default=35000, metavar="P", help="TCP port (default 35000; 0: any)"
    )
    parser.set_defaults(func=_obd)


def _obd(args: argparse.Namespace) -> int:
    # here, not at the top: every `vehsim` command loads this plug-in to build its help
    from vehsim.obd.live import LiveView
    from vehsim.obd.server import ObdPort

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {args.port}")
    if not args.vehicle_id.strip():
        raise ConfigError("--vehicle-id must name a vehicle (as in vehsim drive's vehicle_ids)")
    settings = load_settings()
    view = LiveView(args.vehicle_id, settings)
    try:
        port = ObdPort(view, args.port)
    except OSError as exc:
        view.close()
        raise ConfigError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    view.start(wait_s=10.0)

    def on_signal(signum, _frame) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(
        f"vehsim obd: {args.vehicle_id} (VIN {port.vin}) on {port.url}, telemetry from "
        f"{settings.telemetry_topic} at {view.bootstrap}",
        file=sys.stderr,
        flush=True,
    )
    try:
        port.serve_forever()
    except KeyboardInterrupt:
        print("vehsim obd: stopping", file=sys.stderr)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        port.close()
    return 0
