"""The disk spool: order, acknowledgement, restarts, torn records, the size bound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ebpf_monitor import spool as spool_mod
from ebpf_monitor.spool import Spool


def recs(start: int, n: int) -> list[bytes]:
    return [b'{"n":%d}' % i for i in range(start, start + n)]


def drain(sp: Spool, batch: int = 7) -> list[bytes]:
    out: list[bytes] = []
    while True:
        got, cur = sp.read(batch)
        if not got:
            return out
        out.extend(got)
        sp.ack(cur, len(got))


class TestSpool:
    def test_fifo_in_batches(self, tmp_path: Path) -> None:
        """Records come out in the order they went in, in batches of at most the size asked."""
        sp = Spool(tmp_path, max_bytes=1 << 30)
        sp.append(recs(0, 50))
        sp.append(recs(50, 3))
        got, cur = sp.read(10)
        assert got == recs(0, 10)
        sp.ack(cur, len(got))
        assert sp.pending_records() == 43
        assert drain(sp) == recs(10, 43)
        assert sp.pending_records() == 0

    def test_read_bounded_by_bytes(self, tmp_path: Path) -> None:
        """A read holds whole records within the bytes asked for; a record longer than that
        comes whole and alone, and nothing is skipped."""
        sp = Spool(tmp_path, max_bytes=1 << 30)
        long = b'{"n":"' + b"x" * 5000 + b'"}'
        sp.append([*recs(0, 10), long, *recs(10, 10)])
        got, cur = sp.read(100, max_bytes=30)  # 8-byte records, a newline each
        assert got == recs(0, 3)
        sp.ack(cur, len(got))
        out = []
        while True:
            got, cur = sp.read(100, max_bytes=100)
            if not got:
                break
            assert sum(len(r) + 1 for r in got) <= 100 or got == [long]
            out.extend(got)
            sp.ack(cur, len(got))
        assert out == [*recs(3, 7), long, *recs(10, 10)]

    def test_rewind_resends_unacked(self, tmp_path: Path) -> None:
        """A failed send rewinds: the same records are read again."""
        sp = Spool(tmp_path, max_bytes=1 << 30)
        sp.append(recs(0, 5))
        first, _ = sp.read(3)
        sp.rewind()
        again, cur = sp.read(3)
        assert again == first
        sp.ack(cur, 3)
        assert drain(sp) == recs(3, 2)

    def test_survives_restart(self, tmp_path: Path) -> None:
        """Unacknowledged records are still there after the process restarts."""
        sp = Spool(tmp_path, max_bytes=1 << 30)
        sp.append(recs(0, 20))
        got, cur = sp.read(8)
        sp.ack(cur, len(got))
        sp.read(5)  # read but never acknowledged: a crash mid-send
        sp.close()
        sp2 = Spool(tmp_path, max_bytes=1 << 30)
        assert sp2.pending_records() == 12
        sp2.append(recs(20, 2))
        assert drain(sp2) == recs(8, 14)

    def test_torn_record_dropped_at_start(self, tmp_path: Path) -> None:
        """A crash mid-append leaves a partial line: it is cut, the rest kept."""
        sp = Spool(tmp_path, max_bytes=1 << 30)
        sp.append(recs(0, 4))
        sp.close()
        seg = next(tmp_path.glob("*.seg"))
        with open(seg, "ab") as f:
            f.write(b'{"n":4')
        sp2 = Spool(tmp_path, max_bytes=1 << 30)
        assert drain(sp2) == recs(0, 4)

    def test_segments_roll_and_are_deleted(self, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """Many segments: read across them in order; acknowledged ones are deleted."""
        monkeypatch.setattr(spool_mod, "SEGMENT_BYTES", 100)
        sp = Spool(tmp_path, max_bytes=1 << 30)
        for i in range(0, 200, 10):
            sp.append(recs(i, 10))
        assert len(list(tmp_path.glob("*.seg"))) > 5
        assert drain(sp, 13) == recs(0, 200)
        assert len(list(tmp_path.glob("*.seg"))) == 1

    def test_bound_drops_oldest_and_counts(self, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """Past max_bytes the oldest segments go; each lost record is counted."""
        monkeypatch.setattr(spool_mod, "SEGMENT_BYTES", 100)
        sp = Spool(tmp_path, max_bytes=300)
        for i in range(0, 100, 10):
            sp.append(recs(i, 10))
        left = drain(sp)
        assert sp.dropped > 0
        assert sp.dropped + len(left) == 100
        assert left == recs(100 - len(left), len(left))  # the newest survive, in order
        assert sp.pending_bytes() == 0

    def test_sender_after_close(self, tmp_path: Path) -> None:
        """A sender that outlives close() (its join timed out) reads nothing and acknowledges
        nothing: no use of the closed directory's descriptor, whose number may be another
        file's by then; the records stay for the next start."""
        sp = Spool(tmp_path, max_bytes=1 << 30)
        sp.append(recs(0, 5))
        got, cur = sp.read(3)
        sp.close()
        reused = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # likely the same number
        try:
            sp.ack(cur, len(got))
            assert sp.read(3) == ([], cur)
        finally:
            os.close(reused)
        sp2 = Spool(tmp_path, max_bytes=1 << 30)
        assert drain(sp2) == recs(0, 5)
