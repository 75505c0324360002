"""Config-driven MLflow experiments: train, evaluate on a held-out split, log, register.

An :class:`ExperimentConfig` names the target, the data source, the seed and a list of
:class:`ModelSpec` (model kind and hyper-parameters). :func:`run_experiment` trains one MLflow run
per model spec, logs parameters, metrics (MAE, RMSE, R² on the held-out split), the model with its
signature, a predicted-vs-actual plot and the tags that make the run reproducible, and registers
each model under ``config.registered_model_name``.

The held-out split is grouped (:func:`vehsim_experiments.evaluation.grouped_split`): test rows
come from vehicles and runs that training never saw. The best version of the invocation (lowest
held-out RMSE) takes the alias ``champion`` only if it beats the current champion, scored now on
the same test rows (:func:`vehsim_experiments.evaluation.champion_decision`).

Configs come from presets (:data:`PRESETS`) or a YAML file (:func:`load_config`).

Data honesty: the summary and every run name the table that fed them and how many usable rows
it had. Fewer than :data:`MIN_USABLE_ROWS` rows is an error; fewer than
:data:`MIN_ROWS_PER_FEATURE` rows per feature (120 for the 12 default features) trains anyway
but warns on stderr, in the summary (``data_warning``) and as a run tag, and names the remedy:
``--data simulated`` or a longer drive.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import vehsim
from vehsim.config import Settings, load_settings
from vehsim.errors import ConfigError
from vehsim_experiments.datasets import (
    FEATURES,
    SOURCES,
    TARGETS,
    Dataset,
    SimulationConfig,
    load_dataset,
)
from vehsim_experiments.evaluation import (
    CHAMPION_ALIAS,
    SPLIT_ARTIFACT,
    champion_decision,
    grouped_split,
)

MODEL_KINDS = ("ridge", "gradient_boosting", "random_forest")
#: Below this many usable rows there is nothing to split into train and test.
MIN_USABLE_ROWS = 8
#: Rows per feature below which the models fit noise more than the effect: the usual rule of
#: thumb of 10 events per variable for regression (Harrell, *Regression Modeling Strategies*,
#: 2nd ed., 2015, sec. 4.4). The demo's ~90 Gold rows for 12 features gave R² of about 0.2;
#: the simulated table (hundreds of rows) 0.93-0.999.
MIN_ROWS_PER_FEATURE = 10
_REMEDY = (
    "use --data simulated, or drive longer (vehsim drive --duration-s ...) and rerun "
    "vehsim pipeline all"
)


def rows_needed(config: ExperimentConfig) -> int:
    """Usable rows below which ``config``'s models are not worth trusting (see module doc)."""
    return max(MIN_USABLE_ROWS, MIN_ROWS_PER_FEATURE * len(config.features))


def data_table(data: Dataset, settings: Settings) -> str:
    """Which table fed an experiment: the Gold table's URI, or the simulated table's version."""
    if data.source == "gold":
        return settings.table_uri("gold", "features")
    return data.version


@dataclass(frozen=True)
class ModelSpec:
    """One model to train: a kind from :data:`MODEL_KINDS` and its hyper-parameters."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines an experiment; its hash is logged with every run."""

    experiment: str
    target: str
    registered_model_name: str
    models: tuple[ModelSpec, ...]
    features: tuple[str, ...] = tuple(FEATURES)
    data_source: str = "auto"
    simulation: SimulationConfig = SimulationConfig()
    #: Share of the vehicles, and of the runs, held out for the test set (grouped split).
    test_frac: float = 0.25
    seed: int = 0

    def validate(self) -> ExperimentConfig:
        """Return self, or raise :class:`ConfigError` naming the bad field and what is allowed."""
        if self.target not in TARGETS:
            raise ConfigError(f"target must be one of {sorted(TARGETS)}, got {self.target!r}")
        unknown = sorted(set(self.features) - set(FEATURES))
        if unknown or not self.features:
            raise ConfigError(
                f"features must be a non-empty subset of {sorted(FEATURES)}; unknown: {unknown}"
            )
        if self.data_source not in SOURCES:
            raise ConfigError(f"data_source must be one of {SOURCES}, got {self.data_source!r}")
        if not 0.05 <= self.test_frac <= 0.5:
            raise ConfigError(f"test_frac must be from 0.05 to 0.5, got {self.test_frac}")
        if not self.models:
            raise ConfigError("models must list at least one model")
        for spec in self.models:
            if spec.kind not in MODEL_KINDS:
                raise ConfigError(f"model kind must be one of {MODEL_KINDS}, got {spec.kind!r}")
        return self

    def content_hash(self) -> str:
        """SHA-256 (16 hex digits) of the whole configuration."""
        return hashlib.sha256(
            json.dumps(asdict(self), sort_keys=True, default=str).encode()
        ).hexdigest()[:16]


_DEFAULT_MODELS = (
    ModelSpec("ridge", {"alpha": 1.0}),
    ModelSpec("gradient_boosting", {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05}),
    ModelSpec("random_forest", {"n_estimators": 200, "min_samples_leaf": 2}),
)

#: Named experiments behind ``vehsim experiment fuel`` and ``vehsim experiment wear``.
PRESETS: dict[str, ExperimentConfig] = {
    "fuel": ExperimentConfig(
        experiment="vehsim-fuel",
        target="fuel_l_per_100km",
        registered_model_name="vehsim-fuel",
        models=_DEFAULT_MODELS,
    ),
    "wear": ExperimentConfig(
        experiment="vehsim-wear",
        target="brake_pad_wear_pct_per_100km",
        registered_model_name="vehsim-wear-brake-pad",
        models=_DEFAULT_MODELS,
    ),
}


def load_config(path: str | Path) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from YAML; keys mirror the dataclass fields.

    ``preset: fuel`` (or ``wear``) starts from a preset and the other keys override it.
    """
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read experiment config ({exc})") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping of experiment settings")
    preset = doc.pop("preset", None)
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"{path}: preset must be one of {sorted(PRESETS)}, got {preset!r}")
    base = asdict(PRESETS[preset]) if preset else {}
    known = {f for f in ExperimentConfig.__dataclass_fields__}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(known)} and 'preset'")
    merged = {**base, **doc}
    try:
        sim = merged.get("simulation") or {}
        merged["simulation"] = SimulationConfig(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in sim.items()}
        )
        merged["models"] = tuple(
            ModelSpec(m["kind"], dict(m.get("params") or {})) for m in merged.get("models", ())
        )
        if "features" in merged:
            merged["features"] = tuple(merged["features"])
        return ExperimentConfig(**merged).validate()
    except (TypeError, KeyError) as exc:
        raise ConfigError(f"{path}: invalid experiment config ({exc})") from exc


def build_model(spec: ModelSpec, seed: int):
    """An unfitted scikit-learn regressor for ``spec`` (features standardised for Ridge)."""
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params = dict(spec.params)
    try:
        if spec.kind == "ridge":
            return make_pipeline(StandardScaler(), Ridge(**params))
        if spec.kind == "gradient_boosting":
            return GradientBoostingRegressor(random_state=seed, **params)
        if spec.kind == "random_forest":
            return RandomForestRegressor(random_state=seed, n_jobs=1, **params)
    except TypeError as exc:
        raise ConfigError(f"model {spec.kind}: invalid hyper-parameter ({exc})") from exc
    raise ConfigError(f"model kind must be one of {MODEL_KINDS}, got {spec.kind!r}")


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and R² (in the target's units, R² unitless)."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "r2": float(r2_score(y_true, y_pred)),
    }


def git_commit(cwd: Path | None = None) -> str:
    """``git rev-parse HEAD`` of the working tree, or ``"unknown"``."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd or Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def reproducibility_tags(config: ExperimentConfig, data: Dataset) -> dict[str, str]:
    """Tags that pin down a run: data version, parameter sets, seed, code and config."""
    tags = {
        "vehsim.data_source": data.source,
        "vehsim.data_version": data.version,
        "vehsim.seed": str(config.seed),
        "vehsim.git_commit": git_commit(),
        "vehsim.version": vehsim.__version__,
        "vehsim.config_hash": config.content_hash(),
        "vehsim.target": config.target,
        "vehsim.param_sets": ",".join(sorted(data.vehicle_hashes)),
    }
    for name, digest in data.vehicle_hashes.items():
        tags[f"vehsim.param_hash.{name}"] = digest
    return tags


def _prediction_plot(y_true: np.ndarray, y_pred: np.ndarray, target: str, title: str):
    # A Figure of its own, no pyplot: no backend to choose, so a notebook that runs an
    # experiment keeps its inline plots.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.scatter(y_true, y_pred, s=14, alpha=0.7)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--", linewidth=1, label="ideal")
    ax.set_xlabel(f"actual {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in ("mlflow", "scikit-learn", "skops", "numpy", "pandas")
    ]


def _experiment_id(client, name: str, settings: Settings) -> str:
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    artifacts = settings.home / "mlflow-artifacts" / name
    artifacts.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(name, artifact_location=artifacts.resolve().as_uri())


def run_experiment(
    config: ExperimentConfig,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train and log every model of ``config``; return a JSON-ready summary.

    The summary has the experiment name and id, data version, registered model name, one entry
    per run (run id, model kind, version, metrics) and the champion (run id and version).
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from skops.io import dumps, get_untrusted_types

    config = config.validate()
    settings = settings or load_settings()
    say = progress or (lambda text: print(text, file=sys.stderr, flush=True))
    required = (*config.features, config.target)
    data = load_dataset(config.data_source, settings, config.simulation, required, say)
    frame = data.frame.dropna(subset=list(required))
    frame = frame[np.isfinite(frame[config.target])]
    table = data_table(data, settings)
    if len(frame) < MIN_USABLE_ROWS:
        raise ConfigError(
            f"{data.source} feature table {table} has {len(frame)} usable rows; at least "
            f"{MIN_USABLE_ROWS} are needed: {_REMEDY}"
        )
    needed = rows_needed(config)
    data_warning = None
    if len(frame) < needed:
        data_warning = (
            f"{data.source} feature table {table} has {len(frame)} usable rows; "
            f"{len(config.features)} features need at least {needed} "
            f"({MIN_ROWS_PER_FEATURE} per feature) for a model worth trusting: {_REMEDY}"
        )
        say(f"warning: {data_warning}")
    else:
        say(f"training on {data.source} feature table {table}: {len(frame)} usable rows")
    frame = frame.reset_index(drop=True)
    split = grouped_split(frame, config.test_frac, config.seed)
    say(
        f"grouped split: {len(split.test)} test rows from {len(split.test_vehicles)} of "
        f"{split.n_vehicles} vehicles and {split.n_test_runs} of {split.n_runs} runs, "
        f"{len(split.train)} training rows, {split.n_left_out} rows mixing both left out"
        + (f" ({split.note})" if split.note else "")
    )
    X = frame[list(config.features)].astype("float64")
    y = frame[config.target].astype("float64")
    X_train, X_test = X.iloc[split.train], X.iloc[split.test]
    y_train, y_test = y.iloc[split.train], y.iloc[split.test]

    settings.home.mkdir(parents=True, exist_ok=True)
    # mlflow.set_tracking_uri also writes MLFLOW_TRACKING_URI into os.environ, where every later
    # load_settings() of this process (a notebook switching VEHSIM_HOME) would read it back as
    # if the user had set it: keep the variable as it was.
    previous_uri = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    if previous_uri is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous_uri
    with _mlflow_notices(say):  # the first client of a new store creates its database
        client = MlflowClient(settings.mlflow_tracking_uri)
        experiment_id = _experiment_id(client, config.experiment, settings)
    tags = reproducibility_tags(config, data)
    tags["vehsim.data_table"] = table
    tags["vehsim.data_rows"] = str(len(frame))
    if data_warning:
        tags["vehsim.data_warning"] = data_warning
    runs = []
    for spec in config.models:
        model = build_model(spec, config.seed)
        say(f"training {spec.kind} on {len(X_train)} rows ({config.target})")
        model.fit(X_train, y_train)
        metrics = {
            f"test_{k}": v
            for k, v in regression_metrics(y_test.to_numpy(), model.predict(X_test)).items()
        }
        metrics.update(
            {
                f"train_{k}": v
                for k, v in regression_metrics(y_train.to_numpy(), model.predict(X_train)).items()
            }
        )
        with mlflow.start_run(experiment_id=experiment_id, run_name=spec.kind, tags=tags) as run:
            mlflow.log_params(
                {
                    "model_kind": spec.kind,
                    **{f"model.{k}": v for k, v in spec.params.items()},
                    "target": config.target,
                    "features": ",".join(config.features),
                    "data_source": data.source,
                    "data_version": data.version,
                    "n_rows": len(frame),
                    "n_train": len(X_train),
                    "n_test": len(X_test),
                    "n_left_out": split.n_left_out,
                    "split": "grouped",
                    "split_test_vehicles": ",".join(split.test_vehicles)[:500],
                    "test_frac": config.test_frac,
                    "seed": config.seed,
                    "config_hash": config.content_hash(),
                }
            )
            mlflow.log_metrics(metrics)
            mlflow.log_dict(asdict(config), "config.json")
            mlflow.log_dict({**split.describe(), **split.groups()}, SPLIT_ARTIFACT)
            fig = _prediction_plot(
                y_test.to_numpy(),
                model.predict(X_test),
                config.target,
                f"{spec.kind}: R² {metrics['test_r2']:.3f}, RMSE {metrics['test_rmse']:.3g}",
            )
            mlflow.log_figure(fig, "predicted_vs_actual.png")
            with _mlflow_notices(say):  # "Successfully registered model ..."
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=infer_signature(X_train, model.predict(X_train)),
                    input_example=X_train.head(3),
                    registered_model_name=config.registered_model_name,
                    # The types of the model just trained here: skops needs them named to load it.
                    skops_trusted_types=get_untrusted_types(data=dumps(model)),
                    # Pinned from this environment: skips MLflow's slow import-tracing inference.
                    pip_requirements=_pip_requirements(),
                )
        version = str(info.registered_model_version)
        runs.append(
            {
                "run_id": run.info.run_id,
                "model_kind": spec.kind,
                "model_version": version,
                "metrics": metrics,
                "test_predictions": model.predict(X_test),
            }
        )
        say(
            f"{spec.kind}: test RMSE {metrics['test_rmse']:.4g}, R² {metrics['test_r2']:.3f} (run {run.info.run_id})"
        )

    best = min(runs, key=lambda r: r["metrics"]["test_rmse"])
    decision = champion_decision(
        client,
        config.registered_model_name,
        best["model_version"],
        best["test_predictions"],
        frame.iloc[split.test],
        y_test.to_numpy(),
        split,
        metric="test_rmse",
        score=lambda yt, yp: regression_metrics(yt, yp)["rmse"],
        higher_is_better=False,
    )
    _record_decision(client, best["run_id"], decision)
    champion = _champion_entry(client, config.registered_model_name, runs)
    say(
        f"{CHAMPION_ALIAS}: {'moved to' if decision.moved else 'stays at'} "
        f"{config.registered_model_name} version {champion['model_version']} ({decision.reason})"
    )
    return {
        "experiment": config.experiment,
        "experiment_id": experiment_id,
        "tracking_uri": settings.mlflow_tracking_uri,
        "target": config.target,
        "data_source": data.source,
        "data_version": data.version,
        "data_table": table,
        "data_rows": len(frame),
        "n_train": len(X_train),
        "n_test": len(X_test),
        "split": split.describe(),
        "rows_needed": needed,
        "data_warning": data_warning,
        "registered_model": config.registered_model_name,
        "runs": [{k: v for k, v in r.items() if k != "test_predictions"} for r in runs],
        "champion": champion,
        "champion_decision": decision.as_dict(),
    }


@contextlib.contextmanager
def _mlflow_notices(say: Callable[[str], None]):
    """MLflow's own notices (creating its database, registering a model version) go to ``say``
    with the experiment's progress instead of straight to stderr, where a notebook shows them
    as errors. (MLflow writes them to whatever ``sys.stderr`` is at the time.)"""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    finally:  # said even when MLflow failed: its notices may tell why
        for line in captured.getvalue().splitlines():
            if line.strip():
                say(f"mlflow: {line.strip()}")


def _record_decision(client, run_id: str, decision) -> None:
    """Tag the candidate's run with the champion decision (and the incumbent's score)."""
    client.set_tag(run_id, "vehsim.champion_decision", decision.reason[:5000])
    client.set_tag(run_id, "vehsim.champion_moved", str(decision.moved).lower())
    if decision.previous_score is not None and np.isfinite(decision.previous_score):
        client.log_metric(run_id, f"champion_{decision.metric}", decision.previous_score)


def _champion_entry(client, registered_model: str, runs: list[dict]) -> dict[str, Any]:
    """The version the alias points at after the decision (possibly from an earlier run)."""
    version = client.get_model_version_by_alias(registered_model, CHAMPION_ALIAS)
    kind = next((r["model_kind"] for r in runs if r["model_version"] == str(version.version)), None)
    if kind is None:
        kind = client.get_run(version.run_id).data.params.get("model_kind")
    return {
        "run_id": version.run_id,
        "model_version": str(version.version),
        "model_kind": kind,
        "uri": f"models:/{registered_model}@{CHAMPION_ALIAS}",
    }


def with_overrides(config: ExperimentConfig, **changes: Any) -> ExperimentConfig:
    """A copy of ``config`` with some fields replaced (``None`` values are ignored)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None}).validate()


__all__ = [
    "CHAMPION_ALIAS",
    "ExperimentConfig",
    "MIN_ROWS_PER_FEATURE",
    "MIN_USABLE_ROWS",
    "MODEL_KINDS",
    "ModelSpec",
    "PRESETS",
    "build_model",
    "git_commit",
    "load_config",
    "regression_metrics",
    "reproducibility_tags",
    "rows_needed",
    "data_table",
    "run_experiment",
    "with_overrides",
]
