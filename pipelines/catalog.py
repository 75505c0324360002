"""The lake's tables, declared once: layer/name, key, partitioning, properties, location.

Jobs name a table by its :class:`Table` entry (``catalog.BRONZE_EVENTS``), never by a string
literal; :class:`Catalog` turns an entry into the location each reader needs:

- :meth:`Catalog.uri` for ``deltalake`` (delta-rs) readers outside Spark: a local path or
  ``abfs://container/path`` with :meth:`Catalog.storage_options`;
- :meth:`Catalog.spark_path` for Spark and delta-spark: the same local path, or the
  ``abfss://container@account.dfs.core.windows.net/path`` form Hadoop's ABFS driver addresses,
  with :meth:`Catalog.spark_conf` carrying the account's credentials.

Every table is written by delta-spark and read by delta-rs as well, so the properties below use
only table features both implement (append-only, change data feed, checkpoints); see
``docs/lakehouse.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from vehsim.config import Settings
from vehsim.errors import ConfigError


@dataclass(frozen=True)
class Table:
    """One lake table.

    Attributes:
        layer: ``bronze``, ``silver``, ``gold`` or ``ops``.
        name: table name within the layer.
        key: columns that identify a row (documentation and MERGE conditions).
        partition_by: partition columns.
        properties: Delta table properties set when the table is created.
        description: one line for the table's metadata and the docs.
    """

    layer: str
    name: str
    key: tuple[str, ...]
    partition_by: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def id(self) -> str:
        """``layer/name``, as in the docs and the summaries."""
        return f"{self.layer}/{self.name}"


BRONZE_EVENTS = Table(
    "bronze",
    "events",
    key=("topic", "partition", "offset"),
    partition_by=("ingest_date",),
    # The change feed lets Silver read exactly the rows of a range of Bronze versions; on an
    # append-only table it is derived from the added files (no extra data is written). File
    # statistics only for the record's address and times: Delta's default, the first 32
    # columns, takes min/max of every raw event and costs about a sixth of the write.
    properties={
        "delta.appendOnly": "true",
        "delta.enableChangeDataFeed": "true",
        "delta.dataSkippingStatsColumns": "topic,partition,offset,kafka_ts,ingest_ts",
    },
    description="Every Kafka record of the telemetry topic, unparsed (one row per record)",
)
SILVER_TELEMETRY = Table(
    "silver",
    "telemetry",
    key=("event_id",),
    # File statistics only for the columns reads filter on (the jobs' Bronze version ranges,
    # a vehicle run, a time span): Delta's default, the first 32 columns, doubles the cost of
    # writing the widest table.
    properties={"delta.dataSkippingStatsColumns": "bronze_version,vehicle_id,run_id,emitted_at"},
    description="Valid simulation.raw events, typed",
)
SILVER_EVENTS = Table(
    "silver", "events", key=("event_id",), description="Valid events of the other types"
)
SILVER_QUARANTINE = Table(
    "silver",
    "quarantine",
    key=("topic", "partition", "offset"),
    description="Every Bronze record that failed validation, with the reason",
)
DQ_RUNS = Table("ops", "dq_runs", key=("run_id",), description="One row per Silver range")
GOLD_VEHICLE_MINUTE = Table(
    "gold",
    "vehicle_minute",
    key=("vehicle_id", "run_id", "window_start"),
    description="Per vehicle, run and minute of simulation time",
)
GOLD_TRIPS = Table(
    "gold", "trips", key=("vehicle_id", "run_id"), description="One row per vehicle run (trip)"
)
GOLD_FEATURES = Table(
    "gold",
    "features",
    key=("vehicle_id", "run_id", "window_start"),
    description="ML features and targets per vehicle, run and minute",
)
GOLD_DIAGNOSTICS = Table(
    "gold",
    "diagnostics",
    key=("vehicle_id", "code"),
    description="Per vehicle and trouble code: first and last seen, status, freeze frame",
)
GOLD_RUNS = Table("ops", "gold_runs", key=("run_id",), description="One row per Gold range")

#: Silver tables in commit order; ``DQ_RUNS`` (written last) marks a range as complete.
SILVER_TABLES = (SILVER_TELEMETRY, SILVER_EVENTS, SILVER_QUARANTINE)
#: Gold tables in commit order; ``GOLD_RUNS`` (written last) marks a range as complete.
GOLD_TABLES = (GOLD_VEHICLE_MINUTE, GOLD_TRIPS, GOLD_FEATURES, GOLD_DIAGNOSTICS)
ALL_TABLES = (BRONZE_EVENTS, *SILVER_TABLES, DQ_RUNS, *GOLD_TABLES, GOLD_RUNS)

# Training data sets written by ``vehsim sweep`` (``pipelines/sweep.py``), not by the refinement
# jobs, so not in ALL_TABLES. Each sweep's rows carry its ``sweep_id``.
SWEEP_DRIVES = Table(
    "sweep",
    "drives",
    key=("sweep_id", "drive_id"),
    partition_by=("sweep_id",),
    description="One row per simulated drive: conditions, summary and the trouble codes it set",
)
SWEEP_WINDOWS = Table(
    "sweep",
    "windows",
    key=("sweep_id", "drive_id", "window_index"),
    partition_by=("sweep_id",),
    description="Telemetry features per drive and one-minute window of simulated time",
)
SWEEP_LABELS = Table(
    "sweep",
    "labels",
    key=("sweep_id", "drive_id"),
    partition_by=("sweep_id",),
    description="Ground truth per drive (fault, severity, onset, driver profile): experiments only",
)
SWEEP_TABLES = (SWEEP_WINDOWS, SWEEP_DRIVES, SWEEP_LABELS)

# Ground truth from the simulation side (``vehsim.labels``), loaded by ``vehsim pipeline labels``
# (``pipelines/labels.py``) for experiments only: no Silver or Gold job reads it, so it is not
# in ALL_TABLES.
LABELS_FAULTS = Table(
    "labels",
    "fault_labels",
    key=("run_id", "vehicle_id", "fault", "onset_s", "recorded_at"),
    description="Which fault each simulated vehicle had, how strong, from when: experiments only",
)
LABEL_TABLES = (LABELS_FAULTS,)
_BY_ID = {t.id: t for t in (*ALL_TABLES, *SWEEP_TABLES, *LABEL_TABLES)}


def table(table_id: str) -> Table:
    """The catalog entry of ``layer/name`` (a clear error for an unknown one)."""
    try:
        return _BY_ID[table_id]
    except KeyError:
        raise ConfigError(
            f"unknown lake table {table_id!r}; known: {', '.join(sorted(_BY_ID))}"
        ) from None


_AZURE_SCHEMES = ("abfs://", "abfss://", "az://")
#: Azurite's development account and its published key (the same in every installation, not a
#: secret); ``deltalake`` (object_store) uses them too when ``use_emulator`` is set.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
#: object_store's Blob endpoint for ``use_emulator`` when ``AZURITE_BLOB_STORAGE_URL`` is unset.
_AZURITE_DEFAULT_URL = "http://127.0.0.1:10000"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Catalog:
    """Locations of the catalog's tables under one lake (``settings.lake_uri``)."""

    settings: Settings

    def uri(self, entry: Table) -> str:
        """Location for ``deltalake``: a local path or ``abfs://container/path``."""
        return self.settings.table_uri(entry.layer, entry.name)

    def storage_options(self) -> dict[str, str]:
        """delta-rs storage options (empty for a local lake)."""
        return dict(self.settings.lake_storage_options)

    @property
    def is_azure(self) -> bool:
        """The lake is on Azure storage (``abfs://``, ``abfss://`` or ``az://``)."""
        return self.settings.lake_uri.startswith(_AZURE_SCHEMES)

    def emulator_endpoint(self) -> str | None:
        """The Blob endpoint of a local storage emulator (Azurite) holding the lake, else None.

        The lake is on an emulator when ``AZURE_STORAGE_USE_EMULATOR`` is true (the endpoint is
        then ``$AZURITE_BLOB_STORAGE_URL``, default ``http://127.0.0.1:10000``, as for
        ``deltalake``) or when ``AZURE_STORAGE_ENDPOINT`` points at a loopback address.
        """
        if not self.is_azure:
            return None
        opts = self.settings.lake_storage_options
        if opts.get("use_emulator", "").lower() in ("1", "true", "yes"):
            return os.environ.get("AZURITE_BLOB_STORAGE_URL") or _AZURITE_DEFAULT_URL
        endpoint = opts.get("endpoint")
        if endpoint and urlsplit(endpoint).hostname in _LOOPBACK_HOSTS:
            return endpoint
        return None

    def _account(self) -> str | None:
        account = self.settings.lake_storage_options.get("account_name")
        if not account and self.emulator_endpoint():
            return AZURITE_ACCOUNT
        return account

    def spark_path(self, entry: Table) -> str:
        """Location for Spark: the local path, or the ABFS form of the table's Azure URI.

        ``abfss://container@ACCOUNT.dfs.core.windows.net/path`` (TLS) on Azure; on an emulator
        ``abfs://`` (plain HTTP; :meth:`spark_conf` sends the driver to the emulator's port).
        """
        uri = self.uri(entry)
        if not self.is_azure:
            return uri
        scheme, _, rest = uri.partition("://")
        spark_scheme = "abfs" if self.emulator_endpoint() else "abfss"
        if "@" in rest.partition("/")[0]:
            return f"{spark_scheme}://{rest}"  # already container@account.dfs...
        account = self._account()
        if not account:
            raise ConfigError(
                "Spark addresses an ADLS Gen2 lake as abfss://container@ACCOUNT.dfs.core."
                "windows.net: set AZURE_STORAGE_ACCOUNT_NAME"
            )
        container, _, path = rest.partition("/")
        return f"{spark_scheme}://{container}@{account}.dfs.core.windows.net/{path}"

    def spark_conf(self) -> dict[str, str]:
        """Hadoop settings (``spark.hadoop.*``) that give Spark's ABFS driver the lake's account.

        Account key, SAS token or service principal from the ``AZURE_*`` settings; none when the
        cluster provides the credentials itself (managed identity, Databricks). For an emulator
        lake, also the settings that address Azurite's Blob API on its loopback port. Every
        value that is a credential matches ``spark.redaction.regex`` (see ``session.py``).
        """
        if not self.is_azure:
            return {}
        opts = self.settings.lake_storage_options
        account = self._account()
        if not account:
            return {}
        host = f"{account}.dfs.core.windows.net"
        conf: dict[str, str] = {}
        emulator = self.emulator_endpoint()
        if emulator:
            url = urlsplit(emulator)
            conf.update(
                {
                    # hadoop-azure's own endpoint override: with IP:PORT it addresses
                    # http://IP:PORT/ACCOUNT/container/path, the emulator's path-style URLs.
                    "spark.hadoop.fs.azure.abfs.endpoint": f"{url.hostname}:{url.port or 80}",
                    "spark.hadoop.fs.azure.always.use.https": str(url.scheme == "https").lower(),
                    # Azurite has a flat namespace and no DFS API: ABFS then uses the Blob API.
                    "spark.hadoop.fs.azure.account.hns.enabled": "false",
                    # ABFS's Apache HTTP client needs a TLS socket factory even for http://.
                    "spark.hadoop.fs.azure.networking.library": "JDK_HTTP_URL_CONNECTION",
                }
            )
        key = opts.get("account_key") or (AZURITE_ACCOUNT_KEY if emulator else None)
        if key:
            conf[f"spark.hadoop.fs.azure.account.key.{host}"] = key
        elif opts.get("sas_token"):
            conf[f"spark.hadoop.fs.azure.account.auth.type.{host}"] = "SAS"
            conf[f"spark.hadoop.fs.azure.sas.fixed.token.{host}"] = opts["sas_token"].lstrip("?")
        elif opts.get("client_id") and opts.get("client_secret") and opts.get("tenant_id"):
            conf.update(
                {
                    f"spark.hadoop.fs.azure.account.auth.type.{host}": "OAuth",
                    f"spark.hadoop.fs.azure.account.oauth.provider.type.{host}": (
                        "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider"
                    ),
                    f"spark.hadoop.fs.azure.account.oauth2.client.id.{host}": opts["client_id"],
                    f"spark.hadoop.fs.azure.account.oauth2.client.secret.{host}": opts[
                        "client_secret"
                    ],
                    f"spark.hadoop.fs.azure.account.oauth2.client.endpoint.{host}": (
                        f"https://login.microsoftonline.com/{opts['tenant_id']}/oauth2/token"
                    ),
                }
            )
        return conf
