"""Runtime configuration: environment variables, an optional ``vehsim.toml``, and defaults.

Every layer (runtime, pipelines, experiments, dashboard) reads its settings through
:func:`load_settings`, so names of topics, tables and paths are never scattered as literals.

Precedence: environment variable > ``vehsim.toml`` (``$VEHSIM_CONFIG`` or ``./vehsim.toml``) >
default. Secrets (SASL password, connection strings) come from the environment only and are
never included in ``repr`` or logs.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from vehsim.errors import ConfigError

_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Paths are absolute."""

    home: Path
    kafka_bootstrap: str | None
    topic_prefix: str
    telemetry_partitions: int
    lake_uri: str
    checkpoint_dir: Path
    mlflow_tracking_uri: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    lake_storage_options: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def telemetry_topic(self) -> str:
        return f"{self.topic_prefix}vehsim.telemetry"

    @property
    def commands_topic(self) -> str:
        return f"{self.topic_prefix}vehsim.commands"

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def run_dir(self) -> Path:
        """Where pid files and broker records live."""
        return self.home / "run"

    def table_uri(self, layer: str, name: str) -> str:
        """URI of a lake table, e.g. ``table_uri("bronze", "events")``."""
        return f"{self.lake_uri.rstrip('/')}/{layer}/{name}"


def _read_toml(env: Mapping[str, str]) -> dict:
    path = Path(env.get("VEHSIM_CONFIG", "vehsim.toml"))
    if not path.is_file():
        if "VEHSIM_CONFIG" in env:
            raise ConfigError(f"VEHSIM_CONFIG points to {path}, which does not exist")
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    section = data.get("vehsim", data)
    known = {f.name for f in fields(Settings)} | {"home", "lake_uri"}
    unknown = sorted(set(section) - known - {"kafka"})
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {unknown}; known: {sorted(known)}")
    return section


def _storage_options(env: Mapping[str, str]) -> dict[str, str]:
    """delta-rs / adlfs options for an ``abfs://`` or ``az://`` lake, taken from the environment."""
    mapping = {
        "AZURE_STORAGE_ACCOUNT_NAME": "account_name",
        "AZURE_STORAGE_ACCOUNT_KEY": "account_key",
        "AZURE_STORAGE_CONNECTION_STRING": "connection_string",
        "AZURE_STORAGE_SAS_TOKEN": "sas_token",
        "AZURE_STORAGE_ENDPOINT": "endpoint",
        "AZURE_STORAGE_ALLOW_HTTP": "allow_http",
        # Azurite (local development and tests): object_store then takes the Blob endpoint from
        # AZURITE_BLOB_STORAGE_URL (default http://127.0.0.1:10000).
        "AZURE_STORAGE_USE_EMULATOR": "use_emulator",
        "AZURE_CLIENT_ID": "client_id",
        "AZURE_CLIENT_SECRET": "client_secret",
        "AZURE_TENANT_ID": "tenant_id",
    }
    return {opt: env[var] for var, opt in mapping.items() if env.get(var)}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Resolve settings from ``env`` (default ``os.environ``), ``vehsim.toml`` and defaults."""
    env = os.environ if env is None else env
    toml = _read_toml(env)

    def get(var: str, key: str, default):
        if env.get(var) not in (None, ""):
            return env[var]
        return toml.get(key, default)

    home = Path(get("VEHSIM_HOME", "home", ".vehsim")).expanduser().resolve()
    lake_uri = str(get("VEHSIM_LAKE_URI", "lake_uri", home / "lake"))
    if "://" not in lake_uri:
        lake_uri = str(Path(lake_uri).expanduser().resolve())
    partitions_raw = get("VEHSIM_TELEMETRY_PARTITIONS", "telemetry_partitions", 3)
    try:
        partitions = int(partitions_raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"VEHSIM_TELEMETRY_PARTITIONS must be a whole number from 1 to 256, got {partitions_raw!r}"
        ) from None
    if not 1 <= partitions <= 256:
        raise ConfigError(f"VEHSIM_TELEMETRY_PARTITIONS must be from 1 to 256, got {partitions}")
    protocol = str(get("VEHSIM_KAFKA_SECURITY_PROTOCOL", "security_protocol", "PLAINTEXT")).upper()
    if protocol not in _SECURITY_PROTOCOLS:
        raise ConfigError(
            f"VEHSIM_KAFKA_SECURITY_PROTOCOL must be one of {_SECURITY_PROTOCOLS}, got {protocol!r}"
        )
    mechanism = get("VEHSIM_KAFKA_SASL_MECHANISM", "sasl_mechanism", None)
    if mechanism is not None:
        mechanism = str(mechanism).upper()
        if mechanism not in _SASL_MECHANISMS:
            raise ConfigError(
                f"VEHSIM_KAFKA_SASL_MECHANISM must be one of {_SASL_MECHANISMS}, got {mechanism!r}"
            )
    password = env.get("VEHSIM_KAFKA_SASL_PASSWORD") or None
    username = get("VEHSIM_KAFKA_SASL_USERNAME", "sasl_username", None)
    if protocol.startswith("SASL"):
        if mechanism is None:
            mechanism = "PLAIN"
        missing = [
            name
            for name, value in (
                ("VEHSIM_KAFKA_SASL_USERNAME", username),
                ("VEHSIM_KAFKA_SASL_PASSWORD", password),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"security protocol {protocol} needs {' and '.join(missing)} in the environment"
            )
    bootstrap = get("VEHSIM_KAFKA_BOOTSTRAP", "kafka_bootstrap", None)
    return Settings(
        home=home,
        kafka_bootstrap=str(bootstrap) if bootstrap else None,
        topic_prefix=str(get("VEHSIM_TOPIC_PREFIX", "topic_prefix", "")),
        telemetry_partitions=partitions,
        lake_uri=lake_uri,
        checkpoint_dir=Path(get("VEHSIM_CHECKPOINT_DIR", "checkpoint_dir", home / "checkpoints"))
        .expanduser()
        .resolve(),
        mlflow_tracking_uri=str(
            get("MLFLOW_TRACKING_URI", "mlflow_tracking_uri", f"sqlite:///{home / 'mlflow.db'}")
        ),
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username=str(username) if username else None,
        sasl_password=password,
        ssl_cafile=get("VEHSIM_KAFKA_SSL_CAFILE", "ssl_cafile", None),
        lake_storage_options=_storage_options(env),
    )
