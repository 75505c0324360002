"""Delta table IO of the lake, one convention for every job: Spark moves the data, delta-rs
answers the small questions.

- **Data** is read and written by Spark with delta-spark, on the executors: change-feed reads of
  a version range (:func:`read_changes`), table scans (:func:`read`), appends (:func:`append`)
  and ``MERGE INTO`` upserts (:func:`merge`). Nothing here collects a table to the driver.
- **Metadata** — does the table exist, its version, the app transaction it records — is read
  with ``deltalake`` (delta-rs) from the Delta log alone (:func:`table_version`,
  :func:`txn_version`): no Spark job, and the same answer on a local Spark, a cluster, Spark
  Connect, and in a notebook without Spark. :func:`read_table` reads a small table (a summary,
  a test's expectations) into Arrow the same way.

Idempotency: every write records a Delta *app transaction* ``(app_id, version)`` in its commit
and delta-spark **skips a write whose version the table already records** — the ``txnAppId`` /
``txnVersion`` writer options for appends, the session settings
``spark.databricks.delta.write.txnAppId`` / ``...txnVersion`` for ``MERGE`` (Delta's SQL
idempotent-DML support). For the refinement jobs the version is a Bronze table version: "this
table holds everything derived from Bronze up to version N" (``docs/lakehouse.md``).

Tables are named by their :class:`~vehsim_pipelines.catalog.Table` entry and located by a
:class:`~vehsim_pipelines.catalog.Catalog`: ``catalog.uri(t)`` for delta-rs,
``catalog.spark_path(t)`` for Spark.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from vehsim.errors import VehsimError
from vehsim_pipelines.catalog import Catalog, Table

#: Columns a change-feed read adds; the commit version is kept as ``bronze_version``.
_CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
#: Session settings that make the next Delta DML commit idempotent (delta-spark).
_TXN_APP_ID_CONF = "spark.databricks.delta.write.txnAppId"
_TXN_VERSION_CONF = "spark.databricks.delta.write.txnVersion"


# --- metadata and small reads (delta-rs) -----------------------------------------------------


def open_table(uri: str, storage_options: Mapping[str, str] | None = None) -> DeltaTable | None:
    """The Delta table at ``uri`` (delta-rs), or None when there is none yet."""
    try:
        return DeltaTable(uri, storage_options=dict(storage_options or {}))
    except TableNotFoundError:
        return None


def table_version(catalog: Catalog, table: Table) -> int | None:
    """Current version of ``table`` (None when it does not exist)."""
    found = open_table(catalog.uri(table), catalog.storage_options())
    return None if found is None else found.version()


def txn_version(catalog: Catalog, table: Table, app_id: str) -> int:
    """Last version ``app_id`` recorded in ``table``'s log (-1 when none, or no table)."""
    found = open_table(catalog.uri(table), catalog.storage_options())
    if found is None:
        return -1
    version = found.transaction_version(app_id)
    return -1 if version is None else int(version)


def row_count(catalog: Catalog, table: Table) -> int | None:
    """Rows of ``table`` from the file statistics in its log (None when it does not exist)."""
    found = open_table(catalog.uri(table), catalog.storage_options())
    if found is None:
        return None
    actions = pa.table(found.get_add_actions(flatten=True))
    if "num_records" in actions.column_names:
        return int(pc.sum(actions["num_records"]).as_py() or 0)
    return found.to_pyarrow_table(columns=[]).num_rows


def read_table(
    uri: str,
    storage_options: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    filters: list | None = None,
) -> pa.Table | None:
    """Current content of a small table as Arrow (some columns, a DNF filter); None if missing.

    For summaries, notebooks and tests; the jobs read tables with Spark (:func:`read`).
    """
    found = open_table(uri, storage_options)
    if found is None:
        return None
    return plain_arrow(
        found.to_pyarrow_table(columns=list(columns) if columns else None, filters=filters)
    )


def plain_arrow(table: pa.Table) -> pa.Table:
    """Arrow without view types (delta-rs may return ``string_view``), timestamps in ``UTC``."""
    schema = pa.schema([f.with_type(_plain_type(f.type)) for f in table.schema])
    return table if schema == table.schema else table.cast(schema)


def _plain_type(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(dtype) or pa.types.is_large_string(dtype):
        return pa.string()
    if pa.types.is_binary_view(dtype) or pa.types.is_large_binary(dtype):
        return pa.binary()
    if pa.types.is_timestamp(dtype) and dtype.tz is not None:
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return pa.list_(dtype.value_field.with_type(_plain_type(dtype.value_type)))
    if pa.types.is_struct(dtype):
        return pa.struct([f.with_type(_plain_type(f.type)) for f in dtype])
    return dtype


# --- data (Spark, delta-spark) ---------------------------------------------------------------


def read(spark, catalog: Catalog, table: Table):
    """``table`` as a DataFrame (a lazy scan; filters and column choices are pushed down)."""
    return spark.read.format("delta").load(catalog.spark_path(table))


def read_changes(spark, catalog: Catalog, table: Table, after_version: int, upto_version: int):
    """Rows inserted into ``table`` by versions ``after_version + 1 .. upto_version``.

    Reads the table's change data feed (``delta.enableChangeDataFeed``, set when Bronze is
    created) by version; each row's commit version is returned as ``bronze_version`` (long).
    A lazy DataFrame: the executors read the added files, the driver only plans.
    """
    changes = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", after_version + 1)
        .option("endingVersion", upto_version)
        .load(catalog.spark_path(table))
    )
    from pyspark.sql import functions as F

    keep = [c for c in changes.columns if c not in _CDF_COLUMNS]
    return changes.where(F.col("_change_type") == "insert").select(
        *keep, F.col("_commit_version").cast("long").alias("bronze_version")
    )


def create_table(spark, catalog: Catalog, table: Table, schema) -> None:
    """Create ``table`` empty with ``schema`` (a Spark ``StructType``), its partitioning and
    properties, unless it exists. One commit (version 0) without an app transaction."""
    columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in schema.fields)
    partitioned = (
        f" PARTITIONED BY ({', '.join(f'`{c}`' for c in table.partition_by)})"
        if table.partition_by
        else ""
    )
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS delta.`{catalog.spark_path(table)}` ({columns}) USING delta"
        f"{partitioned}{_properties_clause(table)}"
    )


def _properties_clause(table: Table) -> str:
    if not table.properties:
        return ""
    items = ", ".join(f"'{k}' = '{v}'" for k, v in table.properties.items())
    return f" TBLPROPERTIES ({items})"


def append(df, catalog: Catalog, table: Table, app_id: str, version: int) -> None:
    """Append ``df`` to ``table`` recording ``(app_id, version)``; delta-spark skips the write
    when the table already records that version (a redo after a crash writes nothing twice).

    A missing table is created first, with the catalog's partitioning and properties. An empty
    ``df`` still commits (the app transaction alone), so callers skip it when they want no new
    table version.
    """
    df = _plain_types(df)
    if table.properties and table_version(catalog, table) is None:
        create_table(df.sparkSession, catalog, table, df.schema)
    writer = (
        df.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", version)
        # a column added to a table's schema (schemas.py) is added to a lake written before
        .option("mergeSchema", "true")
    )
    if table.partition_by:
        writer = writer.partitionBy(*table.partition_by)
    writer.save(catalog.spark_path(table))


def _plain_types(df):
    """``df`` with every column cast to its type's DDL name.

    Over Spark Connect a string can arrive typed as an explicit ``string collate UTF8_BINARY``
    (a ``mapInArrow`` output, a ``StringType()`` sent by the client), which Delta then records in
    the table schema and ``deltalake`` cannot read. The cast gives the plain type; where the
    type is already plain, Spark drops it from the plan.
    """
    from pyspark.sql import functions as F

    return df.select(
        *[F.col(f"`{f.name}`").cast(f.dataType.simpleString()).alias(f.name) for f in df.schema]
    )


def merge(spark, df, catalog: Catalog, table: Table, app_id: str, version: int) -> None:
    """``MERGE INTO table`` on its catalog key: update the rows whose key matches, insert the
    rest; records ``(app_id, version)`` and is skipped by delta-spark when the table already
    records that version. A missing table is created by an append of ``df``.

    Several merges of one ``(app_id, version)`` can run at once (on threads) inside one
    :func:`idempotent_dml` block; each then leaves the session settings alone.
    """
    if table_version(catalog, table) is None:
        append(df, catalog, table, app_id, version)
        return
    view = f"_vehsim_merge_{uuid.uuid4().hex}"
    df.createOrReplaceTempView(view)
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in table.key)
    statement = (
        f"MERGE INTO delta.`{catalog.spark_path(table)}` AS t USING {view} AS s "
        f"ON {condition} WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )
    try:
        with idempotent_dml(spark, app_id, version):
            spark.sql(statement)
    finally:
        spark.catalog.dropTempView(view)


@contextmanager
def idempotent_dml(spark, app_id: str, version: int) -> Iterator[None]:
    """Session settings that make the Delta DML inside idempotent, removed afterwards.

    Nested in a block of the same ``(app_id, version)`` it changes nothing, so the DML of
    several threads inside one outer block keeps the settings until that block ends.
    """
    if spark.conf.get(_TXN_APP_ID_CONF, None) == app_id and spark.conf.get(
        _TXN_VERSION_CONF, None
    ) == str(version):
        yield
        return
    spark.conf.set(_TXN_APP_ID_CONF, app_id)
    spark.conf.set(_TXN_VERSION_CONF, str(version))
    try:
        yield
    finally:
        spark.conf.unset(_TXN_APP_ID_CONF)
        spark.conf.unset(_TXN_VERSION_CONF)


class ChangeFeedMissing(VehsimError):
    """The table has no change data feed for the versions a job must read."""


def require_change_feed(catalog: Catalog, table: Table) -> None:
    """Raise :class:`ChangeFeedMissing` unless ``table`` records its change data feed."""
    found = open_table(catalog.uri(table), catalog.storage_options())
    if found is None:
        return
    configuration = found.metadata().configuration
    if str(configuration.get("delta.enableChangeDataFeed", "false")).lower() != "true":
        raise ChangeFeedMissing(
            f"{table.id} at {catalog.uri(table)} does not record its change data feed, which "
            "the Silver job reads by version. Recreate it with the Bronze job (it sets "
            "delta.enableChangeDataFeed=true), or run ALTER TABLE delta.`<path>` SET "
            "TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true') and let Silver start after "
            "that version."
        )


__all__ = [
    "ChangeFeedMissing",
    "append",
    "create_table",
    "idempotent_dml",
    "merge",
    "open_table",
    "plain_arrow",
    "read",
    "read_changes",
    "read_table",
    "require_change_feed",
    "row_count",
    "table_version",
    "txn_version",
]
