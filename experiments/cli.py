"""``vehsim experiment fuel|wear|fault|style``: train, log and register the models.

``fuel`` and ``wear`` are the regressors of ``runner.py``; ``fault`` and ``style`` the
classifiers of ``diagnostics.py`` on a sweep's windows (``--sweep FILE`` or ``--sweep-id``).

Progress goes to stderr (a bar for the simulated table on a terminal, nothing with ``--quiet``
but warnings); the JSON summary (data table and rows, run ids, metrics, champion) goes to stdout.
``vehsim mlflow-ui`` serves the MLflow UI over the project's tracking store on loopback.
MLflow and scikit-learn are imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable

# Every `vehsim` command loads this plug-in to build its help: pyspark, MLflow and the jobs
# load inside the command functions below, not here.


def register(subparsers) -> None:
    """Add ``experiment`` with one sub-command per preset to the ``vehsim`` parser."""
    parser = subparsers.add_parser(
        "experiment",
        help="train fuel and wear regressors, fault and driving-style classifiers, tracked in "
        "MLflow",
    )
    sub = parser.add_subparsers(dest="preset", metavar="PRESET", required=True)
    for name, help_text in (
        ("fuel", "fuel consumption [L/100 km] models"),
        ("wear", "wear-rate models (brake pads by default; --target engine_wear_pct_per_100km)"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument(
            "--config",
            help="YAML experiment config (keys of ExperimentConfig; overrides the preset)",
        )
        p.add_argument(
            "--data", choices=("auto", "gold", "simulated"), help="feature source (default auto)"
        )
        p.add_argument("--target", help="target column, e.g. engine_wear_pct_per_100km")
        p.add_argument("--seed", type=int, help="seed of the split and the models")
        p.add_argument(
            "--models", help="comma-separated model kinds: ridge,gradient_boosting,random_forest"
        )
        p.add_argument("--registered-model", help="registry name of the models")
        p.add_argument(
            "-q", "--quiet", action="store_true", help="no progress on stderr (warnings still)"
        )
        p.set_defaults(func=_run)
    for name, help_text in (
        ("fault", "fault classifier on a sweep's telemetry windows (which fault, if any)"),
        ("style", "driving-style classifier (the driver profile) on a sweep's profile drives"),
    ):
        p = sub.add_parser(name, help=help_text)
        source = p.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--sweep",
            metavar="FILE",
            help="the sweep's YAML file: its rows from the lake if vehsim sweep wrote them, "
            "else simulated in this process",
        )
        source.add_argument("--sweep-id", help="a sweep in the lake (the id vehsim sweep printed)")
        if name == "fault":
            p.add_argument(
                "--features",
                choices=("telemetry", "obd"),
                default="telemetry",
                help="telemetry: what live simulation.raw events give (vehsim-fault); obd: "
                "also the OBD readings (vehsim-fault-obd)",
            )
        p.add_argument("--seed", type=int, default=0, help="seed of the split and the model")
        p.add_argument(
            "--test-frac",
            type=float,
            default=0.25,
            help="share of the vehicles and of the runs held out (default 0.25)",
        )
        p.add_argument("--registered-model", help="registry name of the model")
        p.add_argument(
            "-q", "--quiet", action="store_true", help="no progress on stderr (warnings still)"
        )
        p.set_defaults(func=_run_diagnostics, preset=name)


#: ``simulated 3/32: udds at 25 °C, cold start`` from the feature-table simulation.
_SIMULATED = re.compile(r"^simulated (\d+)/(\d+): (.*)$")
#: What ``load_dataset`` says when ``--data auto`` falls back to simulating.
_SIMULATING = "Gold features missing or incomplete"


class Reporter:
    """The ``progress`` callback of :func:`run_experiment`: lines on stderr, a bar for the
    simulated feature table on a terminal; with ``quiet`` only lines starting ``warning:``."""

    def __init__(self, quiet: bool = False, interactive: bool | None = None):
        from vehsim.progress import interactive as on_terminal

        self.quiet = quiet
        self.interactive = on_terminal(quiet) if interactive is None else interactive
        self._bar = None

    def __call__(self, text: str) -> None:
        step = _SIMULATED.match(text)
        if step and self.interactive:
            done, total = int(step.group(1)), int(step.group(2))
            if self._bar is None:
                from vehsim.progress import progress_bar

                self._bar = progress_bar(total, desc="simulating", unit="run")
            self._bar.set_postfix_str(step.group(3), refresh=False)
            self._bar.update(done - self._bar.n)
            if done >= total:
                self.close()
            return
        if self.quiet and not text.startswith("warning:"):
            return
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)
        if text.startswith(_SIMULATING):
            self.before_simulation()

    def before_simulation(self) -> None:
        """Say that the kernel compiles first, if its cache is cold (the simulation follows)."""
        from vehsim.progress import announce_kernel_compile

        announce_kernel_compile(self.quiet)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _run(args: argparse.Namespace) -> int:
    from vehsim.errors import ConfigError
    from vehsim.output import dumps
    from vehsim_experiments.runner import (
        MODEL_KINDS,
        PRESETS,
        load_config,
        run_experiment,
        with_overrides,
    )

    config = load_config(args.config) if args.config else PRESETS[args.preset]
    models = None
    if args.models:
        kinds = [k.strip() for k in args.models.split(",") if k.strip()]
        bad = sorted(set(kinds) - set(MODEL_KINDS))
        if bad or not kinds:
            raise ConfigError(f"--models: unknown kind(s) {bad}; allowed: {', '.join(MODEL_KINDS)}")
        models = tuple(s for s in config.models if s.kind in kinds)
        known = {s.kind for s in models}
        default = {s.kind: s for s in PRESETS[args.preset].models}
        models += tuple(default[k] for k in kinds if k not in known)
    registered = args.registered_model
    if args.target and not registered and not args.config:
        registered = f"vehsim-{args.target.replace('_', '-')}"
    config = with_overrides(
        config,
        data_source=args.data,
        target=args.target,
        seed=args.seed,
        models=models,
        registered_model_name=registered,
    )
    reporter = Reporter(quiet=args.quiet)
    if config.data_source == "simulated":
        reporter.before_simulation()
    try:
        summary = run_experiment(config, progress=reporter)
    finally:
        reporter.close()
    print(dumps(summary, indent=2))  # strict JSON: a metric that is NaN is null
    return 0


def _run_diagnostics(args: argparse.Namespace) -> int:
    from vehsim.errors import ConfigError
    from vehsim.output import dumps
    from vehsim_experiments import diagnostics

    if not 0.05 <= args.test_frac <= 0.5:
        raise ConfigError(f"--test-frac must be from 0.05 to 0.5, got {args.test_frac}")

    def say(text: str) -> None:
        if not args.quiet or text.startswith("warning:"):
            print(text, file=sys.stderr, flush=True)

    data = diagnostics.load_sweep_data(sweep_id=args.sweep_id, config_path=args.sweep, say=say)
    if args.preset == "fault":
        summary = diagnostics.run_fault_experiment(
            data,
            features=args.features,
            seed=args.seed,
            test_frac=args.test_frac,
            registered_model=args.registered_model,
            say=say,
        )
    else:
        summary = diagnostics.run_style_experiment(
            data,
            seed=args.seed,
            test_frac=args.test_frac,
            registered_model=args.registered_model or diagnostics.STYLE_MODEL,
            say=say,
        )
    print(dumps(summary, indent=2))
    return 0


# vehsim mlflow-ui -------------------------------------------------------------------------------
#: MLflow's own default port.
DEFAULT_UI_PORT = 5000
#: Loopback only: the UI has no authentication.
UI_HOST = "127.0.0.1"


def register_mlflow_ui(subparsers) -> None:
    """Add ``mlflow-ui`` to the ``vehsim`` parser."""
    p = subparsers.add_parser(
        "mlflow-ui",
        help="serve the MLflow UI for this project's experiments on 127.0.0.1",
        description="Serve the MLflow UI over the project's tracking store "
        "(settings.mlflow_tracking_uri: MLFLOW_TRACKING_URI, vehsim.toml, or "
        "VEHSIM_HOME/mlflow.db) on loopback. Ctrl-C stops it.",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_UI_PORT, help=f"port (default {DEFAULT_UI_PORT})"
    )
    p.set_defaults(func=_mlflow_ui)


def mlflow_ui_command(settings, port: int) -> list[str]:
    """The ``mlflow ui`` command line for ``settings``' tracking store, bound to loopback."""
    artifacts = settings.home / "mlflow-artifacts"
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        settings.mlflow_tracking_uri,
        # Artifacts of experiments created from the UI go beside the CLI's, not into ./mlartifacts.
        "--artifacts-destination",
        artifacts.resolve().as_uri(),
        "--host",
        UI_HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def _mlflow_ui(args: argparse.Namespace, run: Callable[..., int] = subprocess.call) -> int:
    import importlib.util

    from vehsim.config import load_settings
    from vehsim.errors import ConfigError

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be from 1 to 65535, got {args.port}")
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError("mlflow is not installed; pip install 'vehsim[ml]'")
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    print(
        f"MLflow UI for {settings.mlflow_tracking_uri} at http://{UI_HOST}:{args.port} "
        "(Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        code = run(mlflow_ui_command(settings, args.port))
    except KeyboardInterrupt:
        return 0
    # mlflow exits 1 when the port is taken, with its own message above.
    return 0 if code in (0, -2, 130) else 1
