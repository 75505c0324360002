"""``vehsim experiment fuel|wear``: train, log and register the fuel and wear models.

Progress goes to stderr; the JSON summary (run ids, metrics, champion) goes to stdout.
MLflow and scikit-learn are imported inside the handler only.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    """Add ``experiment`` with one sub-command per preset to the ``vehsim`` parser."""
    parser = subparsers.add_parser(
        "experiment",
        help="train fuel and wear models on Gold (or simulated) features, tracked in MLflow",
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
        p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from vehsim.errors import ConfigError
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
    summary = run_experiment(config)
    print(json.dumps(summary, indent=2))
    return 0
