"""Command output: strict JSON for programs, plain aligned tables for people.

JSON never contains a bare ``NaN`` or ``Infinity`` (``null`` for a number that does not exist),
so ``jq`` and strict parsers read every line. ``--format`` chooses between the two; the default is
a table on a terminal and JSON when stdout is a pipe or a file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence

FORMATS = ("table", "json")


def json_ready(value):
    """``value`` with NumPy scalars made Python and NaN/±inf made ``None`` (JSON ``null``)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value, **kwargs) -> str:
    """Strict JSON (never a bare ``NaN``) of :func:`json_ready` ``value``; ``kwargs`` as for
    :func:`json.dumps` (``indent``)."""
    return json.dumps(json_ready(value), allow_nan=False, **kwargs)


def _cell(value) -> str:
    value = json_ready(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_pairs(pairs: Mapping) -> str:
    """One ``name  value`` line per entry, names aligned."""
    width = max((len(str(k)) for k in pairs), default=0)
    return "\n".join(f"{str(k):<{width}}  {_cell(v)}" for k, v in pairs.items())


def format_rows(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    """A plain text table of ``rows`` (right-aligned numbers, ``-`` where a value is missing)."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format`` and ``--quiet``, the same on every command whose output a program reads."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="result on stdout: table (for a person) or json (for a program); "
        "default: table on a terminal, json otherwise",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or notices on stderr"
    )


def output_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    try:
        return "table" if sys.stdout.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"
