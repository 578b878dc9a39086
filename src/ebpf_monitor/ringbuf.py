"""Batch reader over the mmap'ed BPF ring buffer, without a per-event callback.

libbpf's ring_buffer__poll calls back into Python once per record (~1.7 µs each, KERNEL-NOTES);
here one read copies every committed record in one slice (two at the ring's end) and releases
the ring space at once. Records are then walked in the copy. Layout (kernel/bpf/ringbuf.c):
page 0 consumer position (ours, writable), page 1 producer position, then the data pages, which
the kernel maps twice in a row so that a record crossing the end is contiguous. We map them once:
the second copy would count the whole ring a second time in our RSS, and a read that wraps is
one extra copy per turn of the ring. Each record has an 8-byte header: u32 length with the BUSY
(bit 31) and DISCARD (bit 30) flags, u32 page offset; records are 8-byte aligned.

The consumer position is shared with every producer, which reads it (without a lock) to decide
whether a record fits: it must change in one 8-byte store. `struct.pack_into` zeroes its target
before it writes the value, so a producer could read 0 in between, take the ring for full once
the producer position is past the ring's size, and drop the record (issue 10, item 5: the
"drops with room"). Both positions are therefore single 8-byte accesses, acquire/release in the
compiled core, a memoryview item of format "Q" without it.
"""

from __future__ import annotations

import contextlib
import mmap
import select
import struct
from collections.abc import Callable

_walk: Callable[[bytes], tuple[list[tuple[int, int]], int]] | None
_load: Callable[[memoryview], int] | None
_store: Callable[[memoryview, int], None] | None
_committed: Callable[[mmap.mmap, int, int, int, int], int] | None
try:  # the same walks in C (fastpath.py's extension), and acquire/release position accesses
    from ._fastcore import committed as _committed
    from ._fastcore import load_position as _load
    from ._fastcore import store_position as _store
    from ._fastcore import walk as _walk
except ImportError:
    _walk = _load = _store = _committed = None

__all__ = ["Batch", "RingReader", "load_position", "store_position"]

_BUSY = 1 << 31
_DISCARD = 1 << 30
_HDR = 8
_U32 = struct.Struct("<I")


def load_position(word: memoryview) -> int:
    """A ring position (a memoryview of format "Q" over its page), as one 8-byte load."""
    return _load(word) if _load is not None else int(word[0])


def store_position(word: memoryview, value: int) -> None:
    """Move a ring position with one 8-byte store: the kernel may look at any instant."""
    if _store is not None:
        _store(word, value)
    else:  # a memoryview item of format "Q" is one memcpy of 8 bytes: one store on 64-bit CPUs
        word[0] = value


class Batch:
    """Records read in one go: `data` holds them, `spans` their (offset, length)."""

    __slots__ = ("data", "spans")

    def __init__(self, data: bytes, spans: list[tuple[int, int]]) -> None:
        self.data = data
        self.spans = spans

    def __len__(self) -> int:
        return len(self.spans)


class RingReader:
    """Reads records of a BPF_MAP_TYPE_RINGBUF map, given its fd and data size."""

    def __init__(self, map_fd: int, size: int) -> None:
        page = mmap.PAGESIZE
        self.size = size
        self._mask = size - 1
        self._cons = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._prod = mmap.mmap(map_fd, page + size, mmap.MAP_SHARED, mmap.PROT_READ,
                               offset=page)
        self._cons_pos = memoryview(self._cons)[:8].cast("Q")
        self._prod_pos = memoryview(self._prod)[:8].cast("Q")
        self._data_off = page
        self._epoll = select.epoll()
        self._epoll.register(map_fd, select.EPOLLIN)

    def wait(self, timeout: float) -> None:
        """Sleep until the kernel wakes us or `timeout` seconds pass (EINTR ends it early)."""
        with contextlib.suppress(InterruptedError):
            self._epoll.poll(timeout, 1)

    def _positions(self) -> tuple[int, int]:
        """(consumer, producer): the producer read with acquire, so the records it covers are
        seen written."""
        return load_position(self._cons_pos), load_position(self._prod_pos)

    def pending(self) -> int:
        """Bytes committed or reserved but not consumed yet: the backlog."""
        cons, prod = self._positions()
        return prod - cons

    def read(self, max_bytes: int | None = None) -> Batch:
        """Copy out committed records (up to about max_bytes) and release their space.

        The committed extent is found in the live ring first, and only that is copied: one
        bulk copy of a region holding a record still being written could read that record's
        tail before its header (memcpy may load a region's last bytes first) and pair a
        committed header with data from before the write."""
        cons, prod = self._positions()
        if prod <= cons:
            return Batch(b"", [])
        limit = prod if max_bytes is None else min(prod, cons + max_bytes)
        end = self._committed_end(cons, limit)
        if end == cons and limit < prod:  # one record larger than max_bytes
            end = self._committed_end(cons, prod)
        avail = end - cons
        if avail <= 0:
            return Batch(b"", [])
        start = self._data_off + (cons & self._mask)
        limit = self._data_off + self.size
        if start + avail <= limit:
            data = self._prod[start: start + avail]
        else:  # wraps: the tail of the data area, then its head
            data = self._prod[start: limit] + self._prod[self._data_off: start + avail - self.size]
        if _walk is not None:
            spans, pos = _walk(data)
        else:
            spans, pos = _spans(data, avail)
        if pos:
            store_position(self._cons_pos, cons + pos)
        return Batch(data, spans)

    def _committed_end(self, cons: int, limit: int) -> int:
        """Where the committed records from `cons` end, read from the live ring's headers."""
        if _committed is not None:
            return _committed(self._prod, self._data_off, self._mask, cons, limit)
        pos = cons
        unpack = _U32.unpack_from
        while pos + _HDR <= limit:
            hdr = unpack(self._prod, self._data_off + (pos & self._mask))[0]
            if hdr & _BUSY:
                break
            end = pos + (((hdr & ~(_BUSY | _DISCARD)) + _HDR + 7) & ~7)
            if end > limit:
                break
            pos = end
        return pos

    def close(self) -> None:
        self._epoll.close()
        self._cons_pos.release()
        self._prod_pos.release()
        self._cons.close()
        self._prod.close()


def _spans(data: bytes, avail: int) -> tuple[list[tuple[int, int]], int]:
    """The records in a copy of the ring, and the bytes they take (_fastcore.walk in Python)."""
    spans = []
    pos = 0
    unpack = _U32.unpack_from
    while pos + _HDR <= avail:
        hdr = unpack(data, pos)[0]
        if hdr & _BUSY:
            break  # still being written: stop here, keep order
        length = hdr & ~(_BUSY | _DISCARD)
        end = pos + ((length + _HDR + 7) & ~7)
        if end > avail:
            break  # only part of it fits in this read
        if not hdr & _DISCARD:
            spans.append((pos + _HDR, length))
        pos = end
    return spans, pos
