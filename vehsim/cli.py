"""The ``vehsim`` command line.

Sub-commands are plug-ins registered under the ``vehsim.cli`` entry-point group, so the core
library never imports the layers built on it (runtime, pipelines, experiments, dashboard). A
plug-in whose optional dependencies are not installed is listed with the extra to install.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import threading
import traceback
import urllib.parse
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points

from vehsim.errors import VehsimError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vehsim",
        description="vehsim: a simulated car, its diagnostics and the data platform behind it.",
        epilog=(
            "Exit codes: 0 ok; 1 runtime failure (the reason on stderr, e.g. a broker that "
            "cannot be reached, a Spark job that failed); 2 bad input (a wrong option, vehicle, "
            "cycle or setting, named on stderr). 'vehsim COMMAND --help' for each command."
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for ep in sorted(entry_points(group="vehsim.cli"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:
            missing = sub.add_parser(ep.name, help=f"(unavailable: {exc.name} is not installed)")
            missing.set_defaults(func=_unavailable(ep.name, exc))
            continue
        except AttributeError as exc:  # an installed entry point that its module lacks
            broken = sub.add_parser(ep.name, help=f"(unavailable: {exc})")
            broken.set_defaults(func=_broken(ep.name, exc))
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


def _broken(name: str, exc: Exception):
    def run(_args: argparse.Namespace) -> int:
        print(
            f"vehsim {name}: the plug-in could not be loaded ({exc}); reinstall vehsim "
            "(pip install -e .) so that its entry points match the code.",
            file=sys.stderr,
        )
        return 1

    return run


# Secrets ----------------------------------------------------------------------------------------
#: Environment variables whose values are secrets (configuration takes secrets from the
#: environment only). Their values never reach a log line, at any level, from any library.
SECRET_ENV_VARS = (
    "VEHSIM_KAFKA_SASL_PASSWORD",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
)
#: Parts of connection strings (Azure Storage, Event Hubs) that are secrets of their own.
_SECRET_PARTS = re.compile(r"(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature)=([^;]+)")
#: Shorter values are not redacted (they would blank out ordinary words); no real key is short.
_MIN_SECRET_CHARS = 6
REDACTED = "***"


def configured_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value configured in ``env`` (default: the environment), longest first."""
    env = os.environ if env is None else env
    found: set[str] = set()
    for var in SECRET_ENV_VARS:
        value = env.get(var) or ""
        found.add(value)
        found.update(m.group(1) for m in _SECRET_PARTS.finditer(value))
    return sorted((v for v in found if len(v) >= _MIN_SECRET_CHARS), key=len, reverse=True)


class SecretRedactor(logging.Filter):
    """Replaces configured secrets in log records (message, arguments, traceback) by ``***``.

    Each secret is also matched as it appears inside ``repr``/JSON text (escaped) and in URLs
    (percent-encoded), the forms in which clients print their configuration.
    """

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        forms: set[str] = set()
        for secret in secrets:
            forms.update(
                {
                    secret,
                    repr(secret)[1:-1],
                    json.dumps(secret)[1:-1],
                    urllib.parse.quote(secret, safe=""),
                    urllib.parse.quote_plus(secret),
                }
            )
        forms = {f for f in forms if len(f) >= _MIN_SECRET_CHARS}
        self._pattern = (
            re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
            if forms
            else None
        )

    def redact(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_secret_filter(secrets: Iterable[str] | None = None) -> SecretRedactor:
    """Redact ``secrets`` (default: :func:`configured_secrets`) from every log record of this
    process, whatever the logger, level or handler, and from uncaught exceptions' tracebacks.

    Works at record creation (``logging.setLogRecordFactory``), so handlers added later by a
    library are covered too. Calling it again replaces the secrets (no second layer).
    """
    redactor = SecretRedactor(configured_secrets() if secrets is None else secrets)
    _active_redactor[0] = redactor
    if _active_redactor[1] is None:
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _active_redactor[0].filter(record)
            return record

        logging.setLogRecordFactory(factory)
        sys.excepthook = _redacted_excepthook
        threading.excepthook = _redacted_thread_excepthook
        _active_redactor[1] = factory
    return redactor


#: [the redactor in force, the record factory installed once]
_active_redactor: list = [SecretRedactor(()), None]


def _redacted_excepthook(exc_type, exc, tb) -> None:
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(_active_redactor[0].redact(text))


def _redacted_thread_excepthook(hook_args) -> None:
    if hook_args.exc_type is SystemExit:
        return
    name = hook_args.thread.name if hook_args.thread is not None else "?"
    text = "".join(
        traceback.format_exception(hook_args.exc_type, hook_args.exc_value, hook_args.exc_traceback)
    )
    sys.stderr.write(_active_redactor[0].redact(f"Exception in thread {name}:\n{text}"))


class KafkaDigest(logging.Filter):
    """For handlers: keeps the Kafka client's log to what a user can act on.

    kafka-python logs every refused reconnect of an outage (the publisher reports an outage
    once). Passed: records of other loggers; Kafka records at ``ERROR`` and above; and, once
    per distinct text, Kafka warnings about authentication or TLS (the reason a broker that
    answers cannot be used, e.g. ``IllegalSaslStateError``).
    """

    _WORTH_SAYING = re.compile(r"(?i)sasl|authenticat|ssl|tls|certificate|unsupportedversion")

    def __init__(self):
        super().__init__()
        self._said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("kafka"):
            return True
        if record.levelno >= logging.ERROR and not record.name.startswith("kafka.net"):
            return True
        message = record.getMessage()
        if record.levelno >= logging.WARNING and self._WORTH_SAYING.search(message):
            key = re.sub(r"\d+(\.\d+)?", "N", message)  # the same failure with other numbers
            if key not in self._said:
                self._said.add(key)
                return True
        return False


def quiet_kafka_client() -> None:
    """Install :class:`KafkaDigest` on the root handlers (for long-running commands)."""
    logging.getLogger("kafka").setLevel(logging.WARNING)
    digest = KafkaDigest()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, KafkaDigest) for f in handler.filters):
            handler.addFilter(digest)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redactor = install_secret_filter()
    # numba's compiler logs every bytecode step at DEBUG (a million lines per compile)
    logging.getLogger("numba").setLevel(logging.INFO)
    # py4j's DEBUG is the Python-JVM wire protocol, one line per call: every poll of a
    # streaming query, nothing a user debugs a pipeline with (Spark's own log is in a file)
    logging.getLogger("py4j").setLevel(logging.INFO)
    if not args.verbose:
        logging.getLogger("kafka").setLevel(logging.WARNING)
        logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        code = int(args.func(args) or 0)
    except VehsimError as exc:
        print(redactor.redact(f"vehsim {args.command}: error: {exc}"), file=sys.stderr)
        code = exc.exit_code
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
