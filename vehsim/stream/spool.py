"""A durable, append-only local spool of outgoing Kafka records.

Every event the runtime publishes is first appended here (length-prefixed, CRC-checked frames in
numbered segment files, ``fsync``'d in groups) and only then handed to Kafka. Acknowledged
records are marked in a small ``acked.json`` cursor, and segments behind the cursor are deleted.
When the broker is unreachable the spool simply grows; when it returns, the pending records are
replayed in their original order. A spool left behind by a stopped or crashed run is adopted and
replayed by the next run (see :func:`orphaned_spools`).

Layout of one spool directory::

    <dir>/lock                      flock held by the owning process
    <dir>/00000000000000000000.seg  frames of records 0, 1, ...
    <dir>/00000000000000052113.seg  frames from record 52113 (segments roll at ``segment_bytes``)
    <dir>/acked.json                {"through": n, "extra": [...]}: records < n are acknowledged,
                                    plus the listed ones above n

Frame: ``>II`` (body length, CRC-32 of body) then body = ``>H`` topic length, topic,
``>H`` key length, key, value. A torn frame at the tail (crash mid-write) is cut off on open.
"""

from __future__ import annotations

import bisect
import fcntl
import functools
import json
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vehsim.errors import VehsimError

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")
_LEN16 = struct.Struct(">H")
_SEGMENT_SUFFIX = ".seg"
_ACKED_NAME = "acked.json"
_LOCK_NAME = "lock"
_MAX_EXTRA_ACKED = 100_000


class SpoolError(VehsimError):
    """The spool directory is locked by another process or cannot be written."""


@dataclass(frozen=True)
class SpoolRecord:
    """One spooled Kafka record and its position in the spool."""

    index: int
    topic: str
    key: bytes
    value: bytes


@functools.lru_cache(maxsize=64)
def _topic_prefix(topic: str) -> bytes:
    topic_b = topic.encode()
    return _LEN16.pack(len(topic_b)) + topic_b


def _encode(topic: str, key: bytes, value: bytes) -> bytes:
    body = b"".join((_topic_prefix(topic), _LEN16.pack(len(key)), key, value))
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def _decode(body: bytes) -> tuple[str, bytes, bytes]:
    (topic_len,) = _LEN16.unpack_from(body, 0)
    pos = 2 + topic_len
    topic = body[2:pos].decode()
    (key_len,) = _LEN16.unpack_from(body, pos)
    pos += 2
    return topic, body[pos : pos + key_len], body[pos + key_len :]


def _scan(path: Path) -> tuple[list[tuple[int, int]], int]:
    """Frames of a segment as (offset, length) pairs, and the byte size of its valid prefix."""
    frames = []
    data = path.read_bytes()
    pos = 0
    while pos + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        body = data[start : start + length]
        if len(body) < length or zlib.crc32(body) != crc:
            break
        frames.append((pos, _HEADER.size + length))
        pos = start + length
    return frames, pos


class Spool:
    """An append-only spool directory owned by one process at a time.

    Args:
        path: Directory (created if missing).
        segment_bytes: Size after which a new segment file is started.

    Raises:
        SpoolError: another live process holds the directory.
    """

    def __init__(self, path: Path | str, segment_bytes: int = 64 * 1024 * 1024):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._lock_fh = open(self.path / _LOCK_NAME, "a+")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            raise SpoolError(f"spool {self.path} is in use by another running process") from None
        self._segments: list[tuple[int, Path]] = []  # (first index, path), ascending
        self._next_index = 0
        self._recover()
        self._acked_through, self._acked_extra = self._read_acked()
        self._dirty_acked = False
        self._fh = None
        self._fh_bytes = 0
        self._unsynced = False
        self._drop_acked_segments()

    # -- opening -------------------------------------------------------------------------------
    def _recover(self) -> None:
        paths = sorted(self.path.glob(f"*{_SEGMENT_SUFFIX}"))
        for i, seg in enumerate(paths):
            first = int(seg.stem)
            frames, valid = _scan(seg)
            if valid < seg.stat().st_size:
                if i != len(paths) - 1:
                    raise SpoolError(
                        f"spool segment {seg} is corrupt in the middle of the spool; "
                        "move it away to continue (its records would be lost)"
                    )
                log.warning("spool %s: cutting a torn frame at byte %d", seg, valid)
                with seg.open("r+b") as fh:
                    fh.truncate(valid)
                    fh.flush()
                    os.fsync(fh.fileno())
            self._segments.append((first, seg))
            self._next_index = first + len(frames)

    def _read_acked(self) -> tuple[int, set[int]]:
        path = self.path / _ACKED_NAME
        first = self._segments[0][0] if self._segments else self._next_index
        if not path.is_file():
            return first, set()
        try:
            data = json.loads(path.read_text())
            through = int(data["through"])
            extra = {int(i) for i in data.get("extra", [])}
        except (ValueError, KeyError, TypeError) as exc:
            raise SpoolError(f"{path} is unreadable ({exc}); fix or delete it") from exc
        return max(through, first), {i for i in extra if i >= through}

    # -- appending -----------------------------------------------------------------------------
    @property
    def end_index(self) -> int:
        """Index the next appended record gets."""
        return self._next_index

    @property
    def acked_through(self) -> int:
        """Every record below this index is acknowledged."""
        return self._acked_through

    @property
    def pending_count(self) -> int:
        """Records appended but not acknowledged."""
        return self._next_index - self._acked_through - len(self._acked_extra)

    def append(self, records: list[tuple[str, bytes, bytes]]) -> int:
        """Append ``(topic, key, value)`` records; returns the index of the first one.

        Data reaches the disk on :meth:`sync`.
        """
        first = self._next_index
        if not records:
            return first
        if self._fh is None or self._fh_bytes >= self.segment_bytes:
            self._roll()
        data = b"".join([_encode(t, k, v) for t, k, v in records])
        self._fh.write(data)
        self._fh_bytes += len(data)
        self._next_index += len(records)
        self._unsynced = True
        return first

    def _roll(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
        seg = self.path / f"{self._next_index:020d}{_SEGMENT_SUFFIX}"
        if self._segments and self._segments[-1][1] == seg:
            self._fh = seg.open("ab")
            self._fh_bytes = seg.stat().st_size
        else:
            self._fh = seg.open("ab")
            self._fh_bytes = 0
            self._segments.append((self._next_index, seg))
            _fsync_dir(self.path)

    def sync(self) -> None:
        """Flush appended records to stable storage (``fsync``)."""
        if self._fh is not None and self._unsynced:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._unsynced = False

    # -- acknowledging -------------------------------------------------------------------------
    def ack(self, index: int) -> None:
        """Mark one record acknowledged (in any order)."""
        if index < self._acked_through:
            return
        if index == self._acked_through:
            self._acked_through += 1
            while self._acked_through in self._acked_extra:
                self._acked_extra.discard(self._acked_through)
                self._acked_through += 1
        else:
            self._acked_extra.add(index)
        self._dirty_acked = True

    def is_acked(self, index: int) -> bool:
        return index < self._acked_through or index in self._acked_extra

    def commit_acks(self) -> None:
        """Persist the acknowledgement cursor atomically and delete fully acknowledged segments."""
        if not self._dirty_acked:
            return
        extra = sorted(self._acked_extra)[:_MAX_EXTRA_ACKED]
        tmp = self.path / (_ACKED_NAME + ".tmp")
        with tmp.open("w") as fh:
            json.dump({"through": self._acked_through, "extra": extra}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path / _ACKED_NAME)
        self._dirty_acked = False
        self._drop_acked_segments()

    def _drop_acked_segments(self) -> None:
        # A segment can go once the next one starts at or below the cursor; the open one stays.
        while len(self._segments) > 1 and self._segments[1][0] <= self._acked_through:
            _, seg = self._segments.pop(0)
            seg.unlink(missing_ok=True)

    # -- reading -------------------------------------------------------------------------------
    def pending(self) -> Iterator[SpoolRecord]:
        """Unacknowledged records in append order, read from disk.

        The iterator is live: records appended while it is suspended are yielded too, and it
        ends when it reaches the spool's end. Records acknowledged meanwhile are skipped.
        """
        index = self._acked_through
        segment: Path | None = None
        seg_index = seg_pos = 0  # index of the record at byte position seg_pos of `segment`
        while True:
            index = max(index, self._acked_through)
            if index >= self._next_index:
                return
            firsts = [first for first, _ in self._segments]
            first, path = self._segments[max(bisect.bisect_right(firsts, index) - 1, 0)]
            if path != segment:
                segment, seg_index, seg_pos = path, first, 0
            if self._fh is not None:
                self._fh.flush()
            try:
                with path.open("rb") as fh:
                    fh.seek(seg_pos)
                    data = fh.read()
            except FileNotFoundError:  # dropped because everything in it was acknowledged
                segment = None
                continue
            pos = 0
            start_index = index
            while pos + _HEADER.size <= len(data):
                length, crc = _HEADER.unpack_from(data, pos)
                body = data[pos + _HEADER.size : pos + _HEADER.size + length]
                if len(body) < length or zlib.crc32(body) != crc:
                    break
                pos += _HEADER.size + length
                record_index = seg_index
                seg_index += 1
                if record_index < index:
                    continue
                index = record_index + 1
                if not self.is_acked(record_index):
                    topic, key, value = _decode(body)
                    yield SpoolRecord(record_index, topic, key, value)
            seg_pos += pos
            if index == start_index:
                # Nothing more in this segment: move on if a later one exists, else stop.
                later = [f for f in firsts if f > first]
                if not later:
                    return
                index = later[0]

    # -- closing -------------------------------------------------------------------------------
    def close(self, remove_if_empty: bool = True) -> None:
        """Sync, persist acks, release the lock; remove the directory when nothing is pending."""
        if self._lock_fh.closed:
            return
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None
        self.commit_acks()
        empty = self.pending_count == 0
        if remove_if_empty and empty:
            for _, seg in self._segments:
                seg.unlink(missing_ok=True)
            (self.path / _ACKED_NAME).unlink(missing_ok=True)
            (self.path / _LOCK_NAME).unlink(missing_ok=True)
        fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
        self._lock_fh.close()
        if remove_if_empty and empty:
            try:
                self.path.rmdir()
            except OSError:
                pass

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def orphaned_spools(root: Path | str, exclude: Path | None = None) -> list[Path]:
    """Spool directories under ``root`` that no live process holds (left by an earlier run).

    Sorted by name: the runtime names spool directories ``<UTC start time>-<run id>``, so the
    oldest run is replayed first.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if not child.is_dir() or (exclude is not None and child.resolve() == exclude.resolve()):
            continue
        lock = child / _LOCK_NAME
        if not lock.exists() and not any(child.glob(f"*{_SEGMENT_SUFFIX}")):
            continue
        try:
            with open(lock, "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fh, fcntl.LOCK_UN)
        except BlockingIOError:
            continue
        found.append(child)

    return sorted(found)
