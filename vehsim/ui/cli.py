"""``vehsim dashboard``: serve the stakeholder dashboard with Voila (127.0.0.1 by default)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from vehsim.errors import ConfigError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the live dashboard (Voila) on 127.0.0.1",
        description="Serve notebooks/dashboard.ipynb with Voila on 127.0.0.1 (or --ip). The "
        "dashboard runs the car in its own kernel (local mode) unless VEHSIM_KAFKA_BOOTSTRAP is "
        "set or an embedded broker runs under VEHSIM_HOME (connected mode). Requests whose Host "
        "or Origin is not the server's address get 403; a token is required off loopback. "
        "Ctrl-C stops it.",
    )
    parser.add_argument("--port", type=int, default=None, help="TCP port (default: a free one)")
    parser.add_argument(
        "--notebook", default=None, help="notebook to serve (default: notebooks/dashboard.ipynb)"
    )
    parser.add_argument(
        "--cull-idle-s",
        type=int,
        default=120,
        help="shut down kernels idle this long (default 120)",
    )
    parser.add_argument(
        "--ip",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else requires a token)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="token the browser must present once (?token=...); default: none on loopback, a "
        "random one otherwise; also read from VEHSIM_DASHBOARD_TOKEN",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="host name browsers may use besides the address (repeatable); others get 403",
    )
    parser.add_argument(
        "--max-kernels",
        type=int,
        default=None,
        help="page views served at once (default 8; each runs a ~66 MiB kernel)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # here, not at the top: every `vehsim` command loads this plug-in to build its help
    from vehsim.ui.mode import detect_mode
    from vehsim.ui.server import DEFAULT_MAX_KERNELS, DashboardServer

    if args.port is not None and not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 1 to 65535, got {args.port}")
    mode = detect_mode()
    server = DashboardServer(
        args.port,
        args.notebook,
        cull_idle_timeout_s=args.cull_idle_s,
        cull_interval_s=max(5, min(30, args.cull_idle_s // 4)),
        ip=args.ip,
        token=args.token if args.token is not None else os.environ.get("VEHSIM_DASHBOARD_TOKEN"),
        allow_hosts=args.allow_host,
        max_kernels=DEFAULT_MAX_KERNELS if args.max_kernels is None else args.max_kernels,
    )

    def _terminate(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        server.start()
        print(
            f"vehsim dashboard ({mode.name} mode: {mode.reason}) at {server.url}", file=sys.stderr
        )
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
