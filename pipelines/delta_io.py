"""Delta Lake IO through delta-rs: idempotent (txn-guarded) commits on local disk or ADLS Gen2.

Every streaming write records a Delta *transaction identifier* ``(app_id, version)`` with its
commit, where ``app_id`` identifies the query and ``version`` is the micro-batch id. delta-rs
records the identifier but does not skip a write whose version is already recorded, so every
commit here is guarded: it is skipped when ``version <= committed_version(app_id)``. A batch that
Spark replays after a crash therefore never lands twice.

Two shapes of write are offered:

* :func:`guarded_append` writes an Arrow table in one call (driver-side writes, ``foreachBatch``);
* :func:`write_data_files` (on executors) + :func:`commit_files` (on the driver) split the work
  so that data files are written where the data is and only their list reaches the driver.

Table URIs are local paths or ``abfs://`` / ``az://`` URIs; ``storage_options`` are delta-rs
object-store options (``settings.lake_storage_options``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

log = logging.getLogger(__name__)

StorageOptions = Mapping[str, str] | None


def _opts(storage_options: StorageOptions) -> dict[str, str] | None:
    return dict(storage_options) if storage_options else None


def table_exists(uri: str, storage_options: StorageOptions = None) -> bool:
    """Whether a Delta table exists at ``uri``."""
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(uri, storage_options=_opts(storage_options))


def load_table(uri: str, storage_options: StorageOptions = None):
    """The latest snapshot of the Delta table at ``uri`` (``deltalake.DeltaTable``)."""
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options=_opts(storage_options))


def ensure_table(
    uri: str,
    schema: pa.Schema,
    partition_by: Sequence[str] = (),
    storage_options: StorageOptions = None,
    configuration: Mapping[str, str] | None = None,
    name: str | None = None,
    description: str | None = None,
):
    """Create the table with ``schema`` unless it exists; return it.

    An existing table must have the same column names and types, or a clear error is raised
    (an old table under the same path is never silently reused with another layout).
    """
    from deltalake import DeltaTable

    from vehsim.errors import VehsimError

    if table_exists(uri, storage_options):
        table = load_table(uri, storage_options)
        existing = pa.schema(table.schema())
        mismatched = [
            f"{field.name}: table has {existing.field(field.name).type if field.name in existing.names else 'no such column'}, expected {field.type}"
            for field in schema
            if field.name not in existing.names
            or not _same_type(existing.field(field.name).type, field.type)
        ]
        if mismatched:
            raise VehsimError(
                f"the Delta table at {uri} has another layout ({'; '.join(mismatched)}); "
                "move it away or point the lake elsewhere"
            )
        return table
    return DeltaTable.create(
        uri,
        schema,
        mode="ignore",
        partition_by=list(partition_by) or None,
        name=name,
        description=description,
        configuration=dict(configuration) if configuration else None,
        storage_options=_opts(storage_options),
    )


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    """Type equality that ignores string/binary view and large variants and the UTC spelling."""

    def norm(t: pa.DataType) -> pa.DataType:
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return pa.string()
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
            return pa.binary()
        if pa.types.is_timestamp(t):
            return pa.timestamp("us", tz="UTC" if t.tz else None)
        return t

    return norm(a).equals(norm(b))


def committed_version(uri: str, app_id: str, storage_options: StorageOptions = None) -> int | None:
    """The last version (batch id) committed by ``app_id`` to the table, or None.

    None also when the table does not exist yet.
    """
    if not table_exists(uri, storage_options):
        return None
    return load_table(uri, storage_options).transaction_version(app_id)


def conform(data: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """Select and cast ``data`` to ``schema`` (Spark's ``Etc/UTC`` timestamps become ``UTC``)."""
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"data lacks column(s) {missing}; has {table.column_names}")
    return table.select(schema.names).cast(schema)


def _commit_properties(app_id: str, version: int, custom_metadata: Mapping[str, Any] | None):
    from deltalake import CommitProperties, Transaction

    metadata = {"vehsim.appId": app_id, "vehsim.batchId": str(version)}
    metadata.update(custom_metadata or {})
    return CommitProperties(
        custom_metadata=metadata,
        app_transactions=[
            Transaction(app_id=app_id, version=version, last_updated=int(time.time() * 1000))
        ],
    )


def guarded_append(
    uri: str,
    data: pa.Table,
    app_id: str,
    version: int,
    partition_by: Sequence[str] = (),
    storage_options: StorageOptions = None,
    custom_metadata: Mapping[str, Any] | None = None,
) -> bool:
    """Append ``data`` with txn ``(app_id, version)`` unless that version is already committed.

    Returns:
        True when the commit happened, False when it was skipped as a replay.
    """
    from deltalake import write_deltalake

    done = committed_version(uri, app_id, storage_options)
    if done is not None and version <= done:
        log.info("skip %s batch %d: already committed (txn version %d)", app_id, version, done)
        return False
    write_deltalake(
        uri,
        data,
        mode="append",
        partition_by=list(partition_by) or None,
        storage_options=_opts(storage_options),
        commit_properties=_commit_properties(app_id, version, custom_metadata),
    )
    return True


# --- executors write files, the driver commits them ------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """A Parquet file written into a table directory, not yet part of the table."""

    path: str  # relative to the table root
    size_bytes: int
    partition_values: tuple[tuple[str, str | None], ...]
    modification_time_ms: int
    stats: str  # Delta statistics JSON
    num_records: int


def storage_filesystem(uri: str, storage_options: StorageOptions = None):
    """A pyarrow filesystem rooted at ``uri`` that uses delta-rs' object store and options."""
    from deltalake.fs import DeltaStorageHandler
    from pyarrow.fs import PyFileSystem

    return PyFileSystem(DeltaStorageHandler(uri, _opts(storage_options)))


def _partition_text(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _stat_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        if hasattr(value, "hour"):  # timestamp: Delta wants millisecond precision and a Z
            text = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        return text
    return value


class FileStats:
    """Delta ``stats`` of one file, accumulated batch by batch.

    Record count and null counts of every column; min/max of integer, timestamp and date
    columns (the ones readers prune on: offsets, partitions, event times).
    """

    def __init__(self) -> None:
        self.num_records = 0
        self.nulls: dict[str, int] = {}
        self.mins: dict[str, Any] = {}
        self.maxs: dict[str, Any] = {}

    def update(self, table: pa.Table) -> None:
        self.num_records += table.num_rows
        for name, column in zip(table.column_names, table.columns, strict=True):
            self.nulls[name] = self.nulls.get(name, 0) + column.null_count
            t = column.type
            if not (pa.types.is_integer(t) or pa.types.is_timestamp(t) or pa.types.is_date(t)):
                continue
            if column.null_count == len(column):
                continue
            lo_hi = pc.min_max(column)
            lo, hi = lo_hi["min"].as_py(), lo_hi["max"].as_py()
            self.mins[name] = lo if name not in self.mins else min(self.mins[name], lo)
            self.maxs[name] = hi if name not in self.maxs else max(self.maxs[name], hi)

    def to_json(self) -> str:
        return json.dumps(
            {
                "numRecords": self.num_records,
                "minValues": {k: _stat_value(v) for k, v in self.mins.items()},
                "maxValues": {k: _stat_value(v) for k, v in self.maxs.items()},
                "nullCount": self.nulls,
            }
        )


def file_stats(table: pa.Table) -> str:
    """Delta ``stats`` JSON of one file holding ``table``."""
    stats = FileStats()
    stats.update(table)
    return stats.to_json()


def _partition_dir(partition_values: Sequence[tuple[str, str | None]]) -> str:
    from urllib.parse import quote

    return "/".join(
        f"{name}={quote(value, safe='') if value is not None else '__HIVE_DEFAULT_PARTITION__'}"
        for name, value in partition_values
    )


def write_data_files(
    uri: str,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    partition_by: Sequence[str] = (),
    storage_options: StorageOptions = None,
    file_prefix: str = "part",
    max_rows_per_file: int = 1_000_000,
) -> list[DataFile]:
    """Write ``batches`` as Parquet files under the table directory; commit nothing.

    Rows are conformed to ``schema`` and split by the values of ``partition_by`` (Hive-style
    directories; partition columns are not stored in the files, as Delta expects). Batches are
    streamed to the files, so memory stays bounded by one batch per open file.
    """
    import pyarrow.parquet as pq

    fs = storage_filesystem(uri, storage_options)
    data_schema = pa.schema([f for f in schema if f.name not in partition_by])
    open_files: dict[tuple, dict[str, Any]] = {}
    done: list[DataFile] = []

    def close(key: tuple) -> None:
        entry = open_files.pop(key)
        entry["writer"].close()
        entry["sink"].close()
        size = fs.get_file_info(entry["path"]).size
        done.append(
            DataFile(
                path=entry["path"],
                size_bytes=int(size),
                partition_values=key,
                modification_time_ms=int(time.time() * 1000),
                stats=entry["stats"].to_json(),
                num_records=entry["stats"].num_records,
            )
        )

    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = conform(batch, schema)
        groups = _split_by_partition(table, partition_by)
        for key, part in groups:
            entry = open_files.get(key)
            if entry is None:
                directory = _partition_dir(key)
                name = f"{file_prefix}-{uuid.uuid4().hex}.snappy.parquet"
                path = f"{directory}/{name}" if directory else name
                sink = fs.open_output_stream(path)
                entry = {
                    "path": path,
                    "sink": sink,
                    "writer": pq.ParquetWriter(sink, data_schema, compression="snappy"),
                    "stats": FileStats(),
                }
                open_files[key] = entry
            data = part.select(data_schema.names)
            entry["writer"].write_table(data)
            entry["stats"].update(data)
            if entry["stats"].num_records >= max_rows_per_file:
                close(key)
    for key in list(open_files):
        close(key)
    return done


def _split_by_partition(table: pa.Table, partition_by: Sequence[str]):
    if not partition_by:
        return [((), table)]
    keys = table.select(list(partition_by)).group_by(list(partition_by)).aggregate([])
    out = []
    for row in keys.to_pylist():
        mask = None
        for name in partition_by:
            value = row[name]
            cond = pc.is_null(table[name]) if value is None else pc.equal(table[name], value)
            mask = cond if mask is None else pc.and_(mask, cond)
        key = tuple((name, _partition_text(row[name])) for name in partition_by)
        out.append((key, table.filter(mask)))
    return out


def delete_files(uri: str, paths: Iterable[str], storage_options: StorageOptions = None) -> None:
    """Delete data files (relative paths) that were written but never committed."""
    fs = storage_filesystem(uri, storage_options)
    for path in paths:
        try:
            fs.delete_file(path)
        except (FileNotFoundError, OSError) as exc:  # best effort; vacuum removes leftovers
            log.warning("could not delete uncommitted file %s: %s", path, exc)


def commit_files(
    uri: str,
    files: Sequence[DataFile],
    schema: pa.Schema,
    app_id: str,
    version: int,
    partition_by: Sequence[str] = (),
    storage_options: StorageOptions = None,
    custom_metadata: Mapping[str, Any] | None = None,
) -> bool:
    """Commit ``files`` as one append with txn ``(app_id, version)``, unless already committed.

    A skipped (replayed) commit deletes the files it was given, since the first attempt's files
    are the ones in the table. A batch without files still commits, so that every batch leaves
    exactly one commit carrying its txn.

    Returns:
        True when the commit happened, False when it was skipped as a replay.
    """
    from deltalake.transaction import AddAction

    table = load_table(uri, storage_options)
    done = table.transaction_version(app_id)
    if done is not None and version <= done:
        log.info("skip %s batch %d: already committed (txn version %d)", app_id, version, done)
        delete_files(uri, [f.path for f in files], storage_options)
        return False
    actions = [
        AddAction(
            path=f.path,
            size=f.size_bytes,
            partition_values=dict(f.partition_values),
            modification_time=f.modification_time_ms,
            data_change=True,
            stats=f.stats,
        )
        for f in files
    ]
    properties = _commit_properties(
        app_id,
        version,
        {"vehsim.numRecords": str(sum(f.num_records for f in files)), **(custom_metadata or {})},
    )
    table.create_write_transaction(
        actions,
        mode="append",
        schema=schema,
        partition_by=list(partition_by) or None,
        commit_properties=properties,
    )
    return True
