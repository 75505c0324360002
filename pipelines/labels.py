"""``vehsim pipeline labels``: the simulation's ground-truth fault labels into their own table.

The simulation side appends one JSON line per fault assignment under ``$VEHSIM_HOME/labels/``
(:mod:`vehsim.labels`). This step loads every line into ``labels/fault_labels``
(:data:`vehsim_pipelines.catalog.LABELS_FAULTS`), a table for experiments only: it lives in its
own ``labels/`` area of the lake, and no Bronze, Silver or Gold job reads it, so nothing on the
live path can see the answer a diagnostic model has to find.

The table is the set of label lines: each run replaces its content with every line found, in a
fixed order, and writes nothing when that content is unchanged (running twice adds no table
version; a line is never loaded twice). Labels are small (one line per fault and vehicle run),
so the step uses delta-rs alone: no Spark session.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from vehsim.config import Settings, load_settings
from vehsim_pipelines import catalog as cat
from vehsim_pipelines.catalog import Catalog

#: Order of the rows (and of equality checks): run, vehicle, time, then the rest.
SORT_KEYS = ("run_id", "vehicle_id", "onset_s", "recorded_at", "fault", "severity", "source")


def label_schema():
    """Arrow schema of ``labels/fault_labels``."""
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("run_id", pa.string()),
            ("vehicle_id", pa.string()),
            ("fault", pa.string()),
            ("severity", pa.float64()),
            ("onset_s", pa.float64()),
            ("onset_sim_clock_utc", ts),
            ("source", pa.string()),
            ("recorded_at", ts),
            ("label_schema_version", pa.int64()),
        ]
    )


def label_table(settings: Settings):
    """Every label line under ``settings.home``, as Arrow in :data:`SORT_KEYS` order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from vehsim.labels import LABEL_SCHEMA_VERSION, read_labels

    rows = read_labels(settings.home)
    schema = label_schema()
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in rows:
        for name in schema.names:
            columns[name].append(row.get(name, LABEL_SCHEMA_VERSION))
    arrays = []
    for field in schema:
        values = columns[field.name]
        if pa.types.is_timestamp(field.type):
            values = [_utc(v) for v in values]
        arrays.append(pa.array(values, field.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    order = pc.sort_indices(table, [(k, "ascending") for k in SORT_KEYS])
    return table.take(order)


def _utc(text: str | None) -> datetime | None:
    """UTC ISO-8601 text (``Z`` or ``+00:00``, up to 9 fraction digits) -> aware datetime."""
    if text is None:
        return None
    bare = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(bare).astimezone(UTC)


@dataclass
class LabelsRun:
    """What one ``vehsim pipeline labels`` did."""

    rows: int
    version: int | None
    written: bool
    table: str

    def as_dict(self) -> dict:
        return asdict(self)


def load_labels(
    settings: Settings | None = None, progress: Callable[[str], None] | None = None
) -> LabelsRun:
    """Load every label line into ``labels/fault_labels`` (no new version when unchanged)."""
    from deltalake import write_deltalake

    from vehsim_pipelines import lake

    settings = settings or load_settings()
    say = progress or (lambda _m: None)
    lakehouse = Catalog(settings)
    uri = lakehouse.uri(cat.LABELS_FAULTS)
    options = lakehouse.storage_options() or None
    table = label_table(settings)
    current = lake.read_table(uri, options)
    if current is not None and current.select(table.schema.names).equals(table):
        say(f"labels: {table.num_rows:,} label(s), {cat.LABELS_FAULTS.id} up to date")
        return LabelsRun(table.num_rows, lake.open_table(uri, options).version(), False, uri)
    write_deltalake(
        uri,
        table,
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=options,
        name=cat.LABELS_FAULTS.name,
        description=cat.LABELS_FAULTS.description,
    )
    version = lake.open_table(uri, options).version()
    say(f"labels: wrote {table.num_rows:,} label(s) to {cat.LABELS_FAULTS.id} (version {version})")
    return LabelsRun(table.num_rows, version, True, uri)


def run_labels_command(args: argparse.Namespace) -> int:
    import json

    del args
    run = load_labels(progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps({"labels": run.as_dict()}))
    return 0


def add_labels(sub: argparse._SubParsersAction) -> None:
    """``vehsim pipeline labels`` (one entry of ``pipelines.cli.STAGES``)."""
    parser = sub.add_parser(
        "labels",
        help="load the simulation's ground-truth fault labels into labels/fault_labels",
        description=(
            "Load every ground-truth fault label the simulation wrote under VEHSIM_HOME/labels "
            "into the lake table labels/fault_labels, for experiments only (no Silver or Gold "
            "job reads it). No Spark, no broker; running it twice adds no table version."
        ),
    )
    parser.set_defaults(func=run_labels_command)
