"""Table IO for the Silver and Gold jobs: Delta tables through delta-rs, Arrow in and out.

The delta-spark jars cannot be loaded everywhere vehsim runs, so Spark never touches a table
directly: tables are read with ``deltalake`` into Arrow (then ``spark.createDataFrame``) and
written from ``DataFrame.toArrow()`` with ``write_deltalake`` or a delta-rs MERGE.

Every commit records a Delta *app transaction* ``(app_id, version)``. For the refinement jobs the
version is a Bronze table version: "this table holds everything derived from Bronze up to
version N". delta-rs records the transaction but does not skip a write whose version is already
recorded, so every writer here checks :func:`txn_version` first (see ``docs/lakehouse.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

#: Columns ``load_cdf`` adds; the commit version is kept as ``bronze_version``.
_CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")


def open_table(uri: str, storage_options: Mapping[str, str] | None = None) -> DeltaTable | None:
    """The Delta table at ``uri``, or None when there is none yet."""
    try:
        return DeltaTable(uri, storage_options=dict(storage_options or {}))
    except TableNotFoundError:
        return None


def table_version(uri: str, storage_options: Mapping[str, str] | None = None) -> int | None:
    """Current version of the table at ``uri`` (None when it does not exist)."""
    table = open_table(uri, storage_options)
    return None if table is None else table.version()


def txn_version(uri: str, app_id: str, storage_options: Mapping[str, str] | None = None) -> int:
    """Last version recorded by ``app_id`` in the table's log (-1 when none or no table)."""
    table = open_table(uri, storage_options)
    if table is None:
        return -1
    version = table.transaction_version(app_id)
    return -1 if version is None else int(version)


def plain_arrow(table: pa.Table) -> pa.Table:
    """Arrow that both delta-rs and Spark accept: no view types, timestamps in ``UTC``.

    ``load_cdf`` returns ``string_view``/``binary_view``; Spark's ``toArrow`` labels
    timestamps ``Etc/UTC``, which delta-rs refuses.
    """
    fields = []
    for field in table.schema:
        fields.append(field.with_type(_plain_type(field.type)))
    schema = pa.schema(fields)
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


def read_inserts(
    uri: str,
    after_version: int,
    upto_version: int,
    storage_options: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Rows appended to an append-only table by versions ``after_version+1 .. upto_version``.

    Reads the change feed (for an append-only table delta-rs derives it from the added files,
    so ``delta.enableChangeDataFeed`` need not be set). The commit version of every row is
    returned as ``bronze_version`` (int64).
    """
    options = dict(storage_options or {})
    parts = []
    start = after_version + 1
    if start == 0:
        # The change feed of version 0 needs delta.enableChangeDataFeed; its snapshot does not.
        first = DeltaTable(uri, version=0, storage_options=options).to_pyarrow_table()
        first = plain_arrow(first)
        parts.append(
            first.append_column("bronze_version", pa.array([0] * first.num_rows, pa.int64()))
        )
        start = 1
    if upto_version >= start:
        table = DeltaTable(uri, storage_options=options)
        reader = table.load_cdf(starting_version=start, ending_version=upto_version)
        data = plain_arrow(pa.RecordBatchReader.from_stream(reader).read_all())
        data = data.filter(pc.equal(data["_change_type"], "insert"))
        version = data["_commit_version"].cast(pa.int64())
        keep = [c for c in data.column_names if c not in _CDF_COLUMNS]
        parts.append(data.select(keep).append_column("bronze_version", version))
    if not parts:
        raise ValueError(f"no versions in ({after_version}, {upto_version}] of {uri}")
    result = pa.concat_tables(parts, promote_options="permissive")
    if columns is not None:
        result = result.select(
            [c for c in result.column_names if c in columns or c == "bronze_version"]
        )
    return result


def read_table(
    uri: str,
    storage_options: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    filters: list | None = None,
) -> pa.Table | None:
    """Current content of a table (optionally some columns / a DNF filter), None if missing."""
    table = open_table(uri, storage_options)
    if table is None:
        return None
    return plain_arrow(
        table.to_pyarrow_table(columns=list(columns) if columns else None, filters=filters)
    )


def _commit(app_id: str, version: int) -> CommitProperties:
    return CommitProperties(app_transactions=[Transaction(app_id, version)])


def append(
    uri: str,
    data: pa.Table,
    app_id: str,
    version: int,
    storage_options: Mapping[str, str] | None = None,
    partition_by: Sequence[str] | None = None,
) -> bool:
    """Append ``data`` recording ``(app_id, version)``, unless that version is already there.

    An empty ``data`` creates the table when it is missing (so readers find it) and otherwise
    writes nothing. Returns True when a commit was made.
    """
    options = dict(storage_options or {})
    table = open_table(uri, options)
    if table is not None and txn_version(uri, app_id, options) >= version:
        return False
    if table is not None and data.num_rows == 0:
        return False
    write_deltalake(
        uri,
        plain_arrow(data),
        mode="append",
        partition_by=list(partition_by) if partition_by else None,
        storage_options=options,
        commit_properties=_commit(app_id, version),
    )
    return True


def upsert(
    uri: str,
    data: pa.Table,
    keys: Sequence[str],
    app_id: str,
    version: int,
    storage_options: Mapping[str, str] | None = None,
) -> bool:
    """MERGE ``data`` into the table on ``keys`` (update matches, insert the rest).

    Records ``(app_id, version)`` and skips when that version is already recorded. Creates the
    table (with ``data``'s schema) when it is missing. Returns True when a commit was made.
    """
    options = dict(storage_options or {})
    data = plain_arrow(data)
    table = open_table(uri, options)
    if table is None:
        write_deltalake(
            uri,
            data,
            mode="append",
            storage_options=options,
            commit_properties=_commit(app_id, version),
        )
        return True
    if txn_version(uri, app_id, options) >= version or data.num_rows == 0:
        return False
    predicate = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    (
        table.merge(
            data,
            predicate=predicate,
            source_alias="s",
            target_alias="t",
            commit_properties=_commit(app_id, version),
        )
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    return True
