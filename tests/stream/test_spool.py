"""The durable spool: order, acknowledgements, torn tails, segments, locking, orphans."""

from __future__ import annotations

import pytest

from vehsim.stream.spool import Spool, SpoolError, orphaned_spools


def _records(n: int, start: int = 0) -> list[tuple[str, bytes, bytes]]:
    return [("t", f"k{i % 3}".encode(), f"v{i}".encode()) for i in range(start, start + n)]


def test_append_and_replay_in_order(tmp_path):
    with Spool(tmp_path / "s") as spool:
        assert spool.append(_records(5)) == 0
        assert spool.append(_records(3, 5)) == 5
        spool.sync()
        got = [(r.index, r.value) for r in spool.pending()]
        assert got == [(i, f"v{i}".encode()) for i in range(8)]
        assert spool.pending_count == 8


def test_acked_records_are_not_replayed_after_reopen(tmp_path):
    path = tmp_path / "s"
    spool = Spool(path)
    spool.append(_records(10))
    for i in (0, 1, 2, 5, 7):  # out of order acks, as from several partitions
        spool.ack(i)
    assert spool.acked_through == 3
    spool.close()
    reopened = Spool(path)
    assert [r.index for r in reopened.pending()] == [3, 4, 6, 8, 9]
    assert reopened.pending_count == 5
    reopened.close()


def test_fully_acked_spool_removes_itself(tmp_path):
    path = tmp_path / "s"
    spool = Spool(path)
    spool.append(_records(4))
    for i in range(4):
        spool.ack(i)
    spool.close()
    assert not path.exists()


def test_torn_tail_is_cut_and_appends_continue(tmp_path):
    path = tmp_path / "s"
    spool = Spool(path)
    spool.append(_records(3))
    spool.close()
    seg = sorted(path.glob("*.seg"))[-1]
    with seg.open("ab") as fh:
        fh.write(b"\x00\x00\x01\x00garbage")  # a frame header promising 256 bytes, then a crash
    spool = Spool(path)
    assert [r.value for r in spool.pending()] == [b"v0", b"v1", b"v2"]
    assert spool.append(_records(1, 3)) == 3
    spool.sync()
    assert [r.index for r in spool.pending()] == [0, 1, 2, 3]
    spool.close()


def test_segments_roll_and_acked_segments_are_deleted(tmp_path):
    path = tmp_path / "s"
    spool = Spool(path, segment_bytes=100)
    for i in range(10):
        spool.append(_records(3, 3 * i))
    spool.sync()
    assert len(list(path.glob("*.seg"))) >= 5
    for i in range(27):
        spool.ack(i)
    spool.commit_acks()
    assert [r.index for r in spool.pending()] == [27, 28, 29]
    assert len(list(path.glob("*.seg"))) <= 2
    spool.close()


def test_live_iterator_sees_later_appends(tmp_path):
    spool = Spool(tmp_path / "s", segment_bytes=60)
    spool.append(_records(2))
    it = spool.pending()
    assert next(it).index == 0
    spool.append(_records(5, 2))  # rolls into new segments while the iterator is suspended
    spool.ack(3)
    assert [r.index for r in it] == [1, 2, 4, 5, 6]
    spool.close()


def test_second_owner_is_refused_and_orphans_are_found(tmp_path):
    root = tmp_path / "spool"
    live = Spool(root / "b-live")
    live.append(_records(1))
    with pytest.raises(SpoolError, match="in use"):
        Spool(root / "b-live")
    old = Spool(root / "a-old")
    old.append(_records(2))
    old.close()
    assert orphaned_spools(root) == [root / "a-old"]
    assert orphaned_spools(root, exclude=root / "a-old") == []
    live.close()
    assert orphaned_spools(root) == [root / "a-old", root / "b-live"]
