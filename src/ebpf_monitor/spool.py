"""A disk-backed FIFO of records for a storage backend: written ahead, acknowledged after.

Every record meant for Elasticsearch is appended here first and removed only once the backend
has acknowledged it, so an outage, a slow cluster or a SIGKILL loses nothing that reached the
spool: after a restart the unacknowledged records are sent again (deterministic ids make the
repeats harmless). Layout of the directory:

    0000000000000001.seg, 0000000000000002.seg, ...   records, one per line, append-only
    cursor                                            "<segment> <offset>\\n": first unacked byte

A record is one line of bytes without a newline inside (orjson never writes a raw newline); what
a record holds, and its format version, is the backend's (sinks/elasticsearch/records.py: format
2 keeps each document's id and day beside its text, format 1 is still read).
Segments roll over at SEGMENT_BYTES; fully acknowledged segments are deleted. When the spool
would grow past `max_bytes`, whole segments are dropped, oldest first: the index stays current
once the cluster is back, and the dropped span still sits in events.jsonl, from where
`ebpf-monitor replay` can backfill it. Every dropped record is counted for a `loss` record.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import ownfiles
from ._fileio import whole_lines_end, write_all
from ._safedir import SafeDir, host_error

__all__ = ["Cursor", "Spool"]

log = logging.getLogger(__name__)

SEGMENT_BYTES = 4 * 1024 * 1024
READ_BYTES = SEGMENT_BYTES  # per read unless the sender asks for less (a bulk's worth)


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the spool: segment number and byte offset in it."""

    segment: int
    offset: int


@dataclass
class _Segment:
    number: int
    name: str
    size: int
    records: int  # whole lines in the file


class Spool:
    """Thread-safe for one appending thread (the pipeline) and one sending thread, which reads
    one batch or several in a row, sends them, then acknowledges them in the order read, or
    rewinds, before reading more. A batch never spans two segments."""

    def __init__(self, directory: Path, *, max_bytes: int, what: str = "spool.dir") -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.dropped = 0
        self._lock = threading.Lock()
        self._has_data = threading.Condition(self._lock)
        # Opened without following links, every file relative to it (_safedir.py).
        self._dir = SafeDir(directory, what=what)
        self._segments: list[_Segment] = []
        self._fd = -1
        self._acked = Cursor(1, 0)  # first unacknowledged byte
        self._acked_in_first = 0  # records of the first segment before _acked
        self._read = Cursor(1, 0)  # where the sender's next read starts
        self._pending = 0
        self._closed = False  # the sender may outlive close() (a join that timed out)
        try:
            self._recover()
        except OSError as exc:
            self._dir.close()
            raise host_error(what, directory, exc) from None
        except BaseException:
            self._dir.close()
            raise

    # ---- start-up ----

    def _recover(self) -> None:
        for name in sorted(self._dir.names()):
            stem = name.removesuffix(".seg")
            if stem == name or not stem.isdigit():
                continue
            size = self._repair(name)
            self._segments.append(_Segment(int(stem), name, size,
                                           self._count_lines(name, 0, size)))
        try:
            seg, off = (int(x) for x in self._dir.read("cursor").split())
            cursor = Cursor(seg, off)
        except FileNotFoundError:
            cursor = Cursor(0, 0)
        except ValueError:
            log.warning("spool %s: unreadable cursor: sending from the oldest record (ids make"
                        " repeats harmless)", self.directory)
            cursor = Cursor(0, 0)
        # Segments wholly before the cursor were acknowledged before the restart.
        while len(self._segments) > 1 and self._segments[0].number < cursor.segment:
            self._dir.unlink(self._segments.pop(0).name)
        if self._segments:
            first = self._segments[0]
            offset = min(cursor.offset, first.size) if first.number == cursor.segment else 0
            if first.number < cursor.segment:  # the only segment, fully acknowledged
                offset = first.size
            self._acked = Cursor(first.number, offset)
            self._acked_in_first = self._count_lines(first.name, 0, offset)
            self._pending = sum(s.records for s in self._segments) - self._acked_in_first
        self._read = self._acked
        if self._pending:
            log.info("spool %s: %d records from before the restart still to send",
                     self.directory, self._pending)

    # ---- writer side ----

    def append(self, records: Sequence[bytes]) -> None:
        """Append whole records (no newline inside); drop oldest segments past the bound."""
        if not records:
            return
        data = b"\n".join([*records, b""])  # one copy, the last newline included
        with self._lock:
            seg = self._writable(len(data))
            write_all(self._fd, data)
            seg.size += len(data)
            seg.records += len(records)
            self._pending += len(records)
            self._enforce_bound()
            self._has_data.notify_all()

    def _writable(self, incoming: int) -> _Segment:
        if self._fd >= 0:
            last = self._segments[-1]
            if last.size + incoming <= SEGMENT_BYTES or last.size == 0:
                return last
            os.close(self._fd)
            self._fd = -1
        elif self._segments and self._segments[-1].size + incoming <= SEGMENT_BYTES:
            last = self._segments[-1]  # reopen the last segment after a restart
            self._fd = self._open_append(last.name)
            ownfiles.note(self._fd)
            return last
        number = self._segments[-1].number + 1 if self._segments else self._acked.segment + 1
        name = f"{number:016d}.seg"
        self._fd = self._open_append(name)
        ownfiles.note(self._fd)
        seg = _Segment(number, name, 0, 0)
        self._segments.append(seg)
        if len(self._segments) == 1:
            self._acked = self._read = Cursor(number, 0)
            self._acked_in_first = 0
        return seg

    def _enforce_bound(self) -> None:
        while self._bytes_locked() > self.max_bytes and len(self._segments) > 1:
            seg = self._segments.pop(0)
            lost = seg.records - self._acked_in_first
            self.dropped += lost
            self._pending -= lost
            self._dir.unlink(seg.name)
            self._acked = Cursor(self._segments[0].number, 0)
            self._acked_in_first = 0
            self._read = max(self._read, self._acked)
            self._write_cursor()
            log.error("spool %s is over its bound of %d bytes: dropped its %d oldest records",
                      self.directory, self.max_bytes, lost)

    def _bytes_locked(self) -> int:
        return sum(s.size for s in self._segments) - self._acked.offset

    # ---- sender side ----

    def wait(self, timeout: float) -> bool:
        """Wait up to timeout for unread records; True if there are some."""
        with self._lock:
            if not self._unread_locked():
                self._has_data.wait(timeout)
            return self._unread_locked()

    def _unread_locked(self) -> bool:
        return bool(self._segments) and self._read < Cursor(self._segments[-1].number,
                                                            self._segments[-1].size)

    def read(self, max_records: int, max_bytes: int = READ_BYTES) -> tuple[list[bytes], Cursor]:
        """Up to max_records unread records of one segment, at most max_bytes of them (but
        always the first whole record), and the cursor past them; none once the spool is
        closed.

        The segment is opened under the lock: close() closes the directory under it, and a
        directory descriptor used after that could be another file's by then."""
        with self._lock:
            pos = self._read
            for seg in self._segments if not self._closed else ():
                start = pos.offset if seg.number == pos.segment else 0
                if seg.number >= pos.segment and start < seg.size:
                    number, size = seg.number, seg.size
                    fd = self._dir.open(seg.name, os.O_RDONLY)
                    break
            else:
                return [], pos
        try:
            want = max(1, max_bytes)
            chunk = os.pread(fd, min(size - start, want), start)
            while b"\n" not in chunk and len(chunk) == want:
                want *= 2  # a record longer than max_bytes: read whole, and alone
                chunk = os.pread(fd, min(size - start, want), start)
        finally:
            os.close(fd)
        if want > max_bytes:
            max_records = 1
        # Whole records only: the last part is the rest past max_records, or a record cut at
        # the read's end (b"" when none was). Not cut off before splitting: a copy of the read.
        parts = chunk.split(b"\n", max_records)
        del chunk
        lines = parts[:max_records] if len(parts) > max_records else parts[:-1]
        del parts
        consumed = sum(len(x) + 1 for x in lines)
        end = Cursor(number, start + consumed)
        with self._lock:
            self._read = end
        return lines, end

    def rewind(self) -> None:
        """Read again from the first unacknowledged record (the send failed)."""
        with self._lock:
            self._read = self._acked

    def ack(self, cursor: Cursor, count: int) -> None:
        """The `count` records before `cursor` reached the backend: forget them, durably."""
        with self._lock:
            if self._closed:
                return  # they stay in the spool, sent again at the next start
            if cursor <= self._acked:
                return  # its segment was dropped meanwhile; already counted
            while len(self._segments) > 1 and self._segments[0].number < cursor.segment:
                self._dir.unlink(self._segments.pop(0).name)
                self._acked_in_first = 0
            self._acked_in_first += count
            self._pending -= count
            self._acked = cursor
            self._write_cursor()

    def _write_cursor(self) -> None:
        self._dir.write_replace("cursor", f"{self._acked.segment} {self._acked.offset}\n".encode())

    # ---- accounting ----

    def pending_records(self) -> int:
        return self._pending

    def pending_bytes(self) -> int:
        with self._lock:
            return self._bytes_locked()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._dir.close()

    # ---- files, all relative to the open directory ----

    def _open_append(self, name: str) -> int:
        return self._dir.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def _repair(self, name: str) -> int:
        """Cut a torn last record (a crash mid-append): it was never acknowledged."""
        fd = self._dir.open(name, os.O_RDWR)
        ownfiles.note(fd)  # segments from before a restart are read again
        try:
            size = os.fstat(fd).st_size
            cut = whole_lines_end(fd, size)
            if cut == size:
                return size
            os.ftruncate(fd, cut)
        finally:
            os.close(fd)
        log.warning("spool %s: dropped a torn last record (%d bytes)", self.directory / name,
                    size - cut)
        return cut

    def _count_lines(self, name: str, start: int, end: int) -> int:
        count = 0
        fd = self._dir.open(name, os.O_RDONLY)
        try:
            while start < end:
                block = os.pread(fd, min(end - start, 1 << 20), start)
                if not block:
                    break
                count += block.count(b"\n")
                start += len(block)
        finally:
            os.close(fd)
        return count
