"""The ``vehsim`` command line.

Sub-commands are plug-ins registered under the ``vehsim.cli`` entry-point group, so the core
library never imports the layers built on it (runtime, pipelines, experiments, dashboard). A
plug-in whose optional dependencies are not installed is listed with the extra to install.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib.metadata import entry_points

from vehsim.errors import VehsimError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vehsim", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for ep in sorted(entry_points(group="vehsim.cli"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:
            missing = sub.add_parser(ep.name, help=f"(unavailable: {exc.name} is not installed)")
            missing.set_defaults(func=_unavailable(ep.name, exc))
            continue
        register(sub)
    return parser


def _unavailable(name: str, exc: ImportError):
    def run(_args: argparse.Namespace) -> int:
        print(
            f"vehsim {name}: needs {exc.name!r}, which is not installed. "
            "Install the matching extra, e.g. pip install 'vehsim[all]'.",
            file=sys.stderr,
        )
        return 2

    return run


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("kafka").setLevel(logging.WARNING)
        logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        code = int(args.func(args) or 0)
    except VehsimError as exc:
        print(f"vehsim {args.command}: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    if argv is None and getattr(args, "exit_without_teardown", False):
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End the process with ``code`` once output is flushed, skipping interpreter teardown.

    For commands that load native thread pools (Arrow, delta-rs): after their work is done and
    committed, a worker thread still alive while Python tears down can make the process abort
    (``std::terminate``, exit 134; apache/arrow#34314, delta-io/delta-rs#2184), which would hide
    the command's real exit code from scripts and ``make``. A plug-in opts in with
    ``set_defaults(exit_without_teardown=True)``; ``main(argv)`` called in-process never exits.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
