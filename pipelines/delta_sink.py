"""A Spark streaming sink that appends to a Delta table through delta-rs, exactly once.

``df.writeStream.format("vehsim_delta")``: each executor task writes its rows as Parquet files
straight into the table directory (local or ``abfs://``) and sends back only the list of files;
the driver then commits that list as one Delta transaction carrying the txn identifier
``(appId, batchId)``, guarded so that a replayed batch is skipped (see :mod:`delta_io`).

Options: ``path`` (table URI, required; the table must exist), ``appId`` (required: stable per
query, e.g. the Spark query id), ``partitionBy`` (comma-separated), ``maxRowsPerFile``, and
``storage.<name>`` for each delta-rs storage option (``storage.account_name``, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceStreamArrowWriter, WriterCommitMessage

from vehsim.errors import VehsimError
from vehsim_pipelines import delta_io

log = logging.getLogger(__name__)

SINK_NAME = "vehsim_delta"
_STORAGE_PREFIX = "storage."
#: Spark sets this local property on every task of a micro-batch.
_BATCH_ID_PROPERTY = "streaming.sql.batchId"


@dataclass(frozen=True)
class DeltaTarget:
    """Where and how to append (picklable, shipped to executors)."""

    uri: str
    app_id: str
    partition_by: tuple[str, ...] = ()
    storage: tuple[tuple[str, str], ...] = ()
    max_rows_per_file: int = 1_000_000

    @property
    def storage_options(self) -> dict[str, str]:
        return dict(self.storage)


def sink_options(
    uri: str,
    app_id: str,
    partition_by: tuple[str, ...] | list[str] = (),
    storage_options: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Writer options for ``format("vehsim_delta")``."""
    options = {"path": uri, "appId": app_id, "partitionBy": ",".join(partition_by)}
    options.update({_STORAGE_PREFIX + k: v for k, v in (storage_options or {}).items()})
    return options


def parse_target(options: Mapping[str, str]) -> DeltaTarget:
    lowered = {str(k).lower(): str(v) for k, v in options.items()}
    for required in ("path", "appid"):
        if not lowered.get(required):
            raise VehsimError(f"the {SINK_NAME} sink needs option {required}")
    rows = lowered.get("maxrowsperfile", "1000000")
    if not rows.isdigit() or int(rows) < 1:
        raise VehsimError(f"option maxRowsPerFile must be a whole number >= 1, got {rows!r}")
    # Keys arrive lower-cased; delta-rs storage option names are lower case anyway.
    storage = {
        k[len(_STORAGE_PREFIX) :]: v for k, v in lowered.items() if k.startswith(_STORAGE_PREFIX)
    }
    return DeltaTarget(
        uri=options.get("path") or lowered["path"],
        app_id=lowered["appid"],
        partition_by=tuple(
            p.strip() for p in lowered.get("partitionby", "").split(",") if p.strip()
        ),
        storage=tuple(sorted(storage.items())),
        max_rows_per_file=int(rows),
    )


@dataclass
class DeltaFilesMessage(WriterCommitMessage):
    """What one task wrote: files in the table directory, not yet committed."""

    files: list[delta_io.DataFile]


class DeltaStreamWriter(DataSourceStreamArrowWriter):
    """Executors write Parquet files; the driver commits them once per batch."""

    def __init__(self, target: DeltaTarget, schema: pa.Schema):
        self.target = target
        self.schema = schema

    def write(self, iterator: Iterator[pa.RecordBatch]) -> DeltaFilesMessage:
        from pyspark import TaskContext

        context = TaskContext.get()
        prefix = "part"
        if context is not None:
            batch_id = context.getLocalProperty(_BATCH_ID_PROPERTY)
            prefix = f"part-b{batch_id or 'x'}-t{context.partitionId():05d}"
        files = delta_io.write_data_files(
            self.target.uri,
            iterator,
            self.schema,
            self.target.partition_by,
            self.target.storage_options,
            file_prefix=prefix,
            max_rows_per_file=self.target.max_rows_per_file,
        )
        return DeltaFilesMessage(files)

    @staticmethod
    def _files(messages) -> list[delta_io.DataFile]:
        return [f for m in messages if m is not None for f in m.files]

    def commit(self, messages, batchId: int) -> None:
        files = self._files(messages)
        committed = delta_io.commit_files(
            self.target.uri,
            files,
            self.schema,
            self.target.app_id,
            batchId,
            self.target.partition_by,
            self.target.storage_options,
        )
        if not committed:
            log.warning(
                "batch %d of %s was already committed; replay skipped", batchId, self.target.app_id
            )

    def abort(self, messages, batchId: int) -> None:
        files = self._files(messages)
        log.warning("batch %d aborted; deleting %d uncommitted file(s)", batchId, len(files))
        delta_io.delete_files(self.target.uri, [f.path for f in files], self.target.storage_options)


class DeltaSinkDataSource(DataSource):
    """``df.writeStream.format("vehsim_delta")`` (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return SINK_NAME

    def streamWriter(self, schema, overwrite: bool) -> DeltaStreamWriter:
        if overwrite:
            raise VehsimError(f"the {SINK_NAME} sink only appends (use outputMode('append'))")
        target = parse_target(self.options)
        table = delta_io.load_table(target.uri, target.storage_options)
        return DeltaStreamWriter(target, pa.schema(table.schema()))


def register(spark) -> None:
    """Make ``format("vehsim_delta")`` available in ``spark``."""
    spark.dataSource.register(DeltaSinkDataSource)
