"""Read ``corpus.jsonl`` (format: ``README.md``) into records ready to send to Kafka.

Used by the live-path tests here and by the lake's tests; imports nothing from vehsim, so a
test of any Bronze or Silver implementation can load it by path::

    spec = importlib.util.spec_from_file_location("hostile_corpus", "tests/hostile/corpus.py")
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).with_name("corpus.jsonl")


@dataclass(frozen=True)
class HostileRecord:
    """One corpus entry, expanded: the bytes to send and what must happen to them."""

    id: str
    target: str  # "commands" or "telemetry"
    finding: int  # the finding of issue 12 it reproduces
    category: str
    key: bytes
    value: bytes | None  # None: a record with a null value (tombstone)
    timestamp_ms: int | None  # Kafka record timestamp to set; None: the producer's clock
    expect: Mapping[str, Any]
    command_id: str | None = None
    event_id: str | None = None
    note: str = ""


def expand(parts: list | None, variables: Mapping[str, str] | None = None) -> bytes | None:
    """The bytes described by a ``value`` list: text, ``{"repeat", "times"}``, ``{"hex"}``."""
    if parts is None:
        return None
    out = bytearray()
    for part in parts:
        if isinstance(part, str):
            out += _substitute(part, variables).encode("utf-8", "surrogatepass")
        elif "repeat" in part:
            out += part["repeat"].encode() * int(part["times"])
        elif "hex" in part:
            out += bytes.fromhex(part["hex"])
        else:
            raise ValueError(f"unknown corpus value part {part!r}")
    return bytes(out)


def _substitute(text: str, variables: Mapping[str, str] | None) -> str:
    for name, value in (variables or {}).items():
        text = text.replace("${" + name + "}", value)
    return text


def load(
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    path: Path = CORPUS,
) -> list[HostileRecord]:
    """Every entry (of ``target``, if given), with ``${name}`` replaced from ``variables``.

    ``${now}`` is the current UTC time (ISO-8601, microseconds, ``Z``) unless given.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    variables = {"now": now, **(variables or {})}
    records = []
    for line in path.read_text(encoding="ascii").splitlines():
        entry = json.loads(line)
        if target is not None and entry["target"] != target:
            continue
        records.append(
            HostileRecord(
                id=entry["id"],
                target=entry["target"],
                finding=entry["finding"],
                category=entry["category"],
                key=_substitute(entry["key"], variables).encode(),
                value=expand(entry["value"], variables),
                timestamp_ms=entry.get("timestamp_ms"),
                expect=entry["expect"],
                command_id=entry.get("command_id"),
                event_id=entry.get("event_id"),
                note=entry.get("note", ""),
            )
        )
    return records
