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

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    # append-only table it is derived from the added files (no extra data is written).
    properties={"delta.appendOnly": "true", "delta.enableChangeDataFeed": "true"},
    description="Every Kafka record of the telemetry topic, unparsed (one row per record)",
)
SILVER_TELEMETRY = Table(
    "silver", "telemetry", key=("event_id",), description="Valid simulation.raw events, typed"
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
GOLD_RUNS = Table("ops", "gold_runs", key=("run_id",), description="One row per Gold range")

#: Silver tables in commit order; ``DQ_RUNS`` (written last) marks a range as complete.
SILVER_TABLES = (SILVER_TELEMETRY, SILVER_EVENTS, SILVER_QUARANTINE)
#: Gold tables in commit order; ``GOLD_RUNS`` (written last) marks a range as complete.
GOLD_TABLES = (GOLD_VEHICLE_MINUTE, GOLD_TRIPS, GOLD_FEATURES)
ALL_TABLES = (BRONZE_EVENTS, *SILVER_TABLES, DQ_RUNS, *GOLD_TABLES, GOLD_RUNS)
_BY_ID = {t.id: t for t in ALL_TABLES}


def table(table_id: str) -> Table:
    """The catalog entry of ``layer/name`` (a clear error for an unknown one)."""
    try:
        return _BY_ID[table_id]
    except KeyError:
        raise ConfigError(
            f"unknown lake table {table_id!r}; known: {', '.join(sorted(_BY_ID))}"
        ) from None


_AZURE_SCHEMES = ("abfs://", "abfss://", "az://")


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
        return self.settings.lake_uri.startswith(_AZURE_SCHEMES)

    def spark_path(self, entry: Table) -> str:
        """Location for Spark: the local path, or the ``abfss://...dfs.core.windows.net`` form."""
        uri = self.uri(entry)
        if not self.is_azure:
            return uri
        scheme, _, rest = uri.partition("://")
        if scheme == "abfss" and "@" in rest.partition("/")[0]:
            return uri  # already container@account.dfs...
        account = self.settings.lake_storage_options.get("account_name")
        if not account:
            raise ConfigError(
                "Spark addresses an ADLS Gen2 lake as abfss://container@ACCOUNT.dfs.core."
                "windows.net: set AZURE_STORAGE_ACCOUNT_NAME"
            )
        container, _, path = rest.partition("/")
        return f"abfss://{container}@{account}.dfs.core.windows.net/{path}"

    def spark_conf(self) -> dict[str, str]:
        """Hadoop settings for an ADLS Gen2 lake (account key or service principal)."""
        if not self.is_azure:
            return {}
        opts = self.settings.lake_storage_options
        account = opts.get("account_name")
        if not account:
            return {}
        host = f"{account}.dfs.core.windows.net"
        if opts.get("account_key"):
            return {f"spark.hadoop.fs.azure.account.key.{host}": opts["account_key"]}
        if opts.get("client_id") and opts.get("client_secret") and opts.get("tenant_id"):
            return {
                f"spark.hadoop.fs.azure.account.auth.type.{host}": "OAuth",
                f"spark.hadoop.fs.azure.account.oauth.provider.type.{host}": (
                    "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider"
                ),
                f"spark.hadoop.fs.azure.account.oauth2.client.id.{host}": opts["client_id"],
                f"spark.hadoop.fs.azure.account.oauth2.client.secret.{host}": opts["client_secret"],
                f"spark.hadoop.fs.azure.account.oauth2.client.endpoint.{host}": (
                    f"https://login.microsoftonline.com/{opts['tenant_id']}/oauth2/token"
                ),
            }
        return {}
