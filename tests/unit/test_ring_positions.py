"""The ring's positions are whole 8-byte words to the kernel at every instant.

The kernel takes the consumer position with one 8-byte load while our reader moves it. A store
that writes zero first and then the bytes (what struct.pack_into did) let a producer see the
consumer at 0, a full ring, and drop its record while the ring had room.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import struct
import time
from collections.abc import Callable, Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import pytest

from ebpf_monitor import ringbuf

A, B = 0x0000_0001_09C7_EE00, 0x0000_0001_09C7_F000  # differ in the low bytes only
STORES = 300_000


def _watch(fd: int, ready: Event, done: Event, torn: Event, out: Queue[int]) -> None:
    """Another process reading the word as the kernel does (one 8-byte load, via the C
    accessor when built), counting any value that was never stored."""
    page = mmap.mmap(fd, mmap.PAGESIZE)
    word = memoryview(page)[:8].cast("Q")
    seen_bad = 0
    ready.set()
    while not done.is_set():
        for _ in range(1000):
            if ringbuf.load_position(word) not in (A, B):
                seen_bad += 1
                torn.set()
    word.release()
    out.put(seen_bad)


@pytest.fixture
def shared_word() -> Iterator[tuple[int, memoryview]]:
    fd = os.memfd_create("ring-position")
    os.ftruncate(fd, mmap.PAGESIZE)
    page = mmap.mmap(fd, mmap.PAGESIZE)
    word = memoryview(page)[:8].cast("Q")
    word[0] = A
    yield fd, word
    word.release()
    page.close()
    os.close(fd)


def _stores_seen_torn(fd: int, word: memoryview, store: Callable[[memoryview, int], None],
                      *, until_torn: bool = False) -> int:
    """Values the watcher saw that were never stored, over STORES stores (or, `until_torn`,
    until it saw one: at most 60 s, so a loaded host only makes the test slower)."""
    ctx = multiprocessing.get_context("fork")
    ready, done, torn, out = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Queue()
    watcher = ctx.Process(target=_watch, args=(fd, ready, done, torn, out))
    watcher.start()
    assert ready.wait(30)
    deadline = time.monotonic() + 60
    i = 0
    while i < STORES or (until_torn and not torn.is_set() and time.monotonic() < deadline):
        store(word, B if i & 1 else A)
        i += 1
    done.set()
    bad = int(out.get(timeout=60))
    watcher.join(30)
    return bad


class TestPositionStores:
    """A concurrent reader never sees a position that was not stored."""

    @pytest.mark.parametrize("path", ["compiled", "pure"])
    def test_reader_store_is_one_word(self, shared_word: tuple[int, memoryview], path: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
        if path == "pure":  # the fallback when the compiled core is not built
            monkeypatch.setattr(ringbuf, "_store", None)
            monkeypatch.setattr(ringbuf, "_load", None)
        elif ringbuf._store is None:
            pytest.skip("the compiled core is not built")
        fd, word = shared_word
        assert _stores_seen_torn(fd, word, ringbuf.store_position) == 0

    @pytest.mark.skipif(os.cpu_count() == 1, reason="needs a second CPU to watch from")
    def test_the_watch_catches_a_bytewise_store(self, shared_word: tuple[int, memoryview]) -> None:
        """The watch above can fail: the old store (struct, zero first) is caught by it."""
        fd, word = shared_word
        page = word.obj

        def struct_store(_: memoryview, value: int) -> None:
            struct.pack_into("<Q", page, 0, value)

        assert _stores_seen_torn(fd, word, struct_store, until_torn=True) > 0


class TestPositionAccessors:
    """Loads and stores of a position round-trip every bit; misaligned words are refused."""

    @pytest.mark.parametrize("value", [0, 1, A, 2**40 + 8, 2**64 - 8])
    def test_round_trip(self, value: int) -> None:
        page = mmap.mmap(-1, mmap.PAGESIZE)
        word = memoryview(page)[:8].cast("Q")
        ringbuf.store_position(word, value)
        assert ringbuf.load_position(word) == value == struct.unpack_from("<Q", page)[0]
        word.release()
        page.close()

    def test_misaligned_word_is_refused_by_the_compiled_accessor(self) -> None:
        fastcore = pytest.importorskip("ebpf_monitor._fastcore")
        page = mmap.mmap(-1, mmap.PAGESIZE)
        view = memoryview(page)[4:12]
        with pytest.raises(ValueError, match="8 aligned bytes"):
            fastcore.load_position(view)
        with pytest.raises(ValueError, match="8 aligned bytes"):
            fastcore.store_position(view, 1)
        view.release()
        page.close()


def _ring_with(records: list[tuple[int, int]], size: int = 4096) -> mmap.mmap:
    """A producer page and `size` data bytes; records as (length, header flags) from 0."""
    ring = mmap.mmap(-1, mmap.PAGESIZE + size)
    pos = 0
    for length, flags in records:
        struct.pack_into("<I", ring, mmap.PAGESIZE + pos, length | flags)
        pos += (length + 8 + 7) & ~7
    return ring


class TestCommittedExtent:
    """Only records whose live header is committed are copied: a record still being written
    ends the read, so its data is never taken from before the write."""

    @pytest.mark.parametrize("path", ["compiled", "pure"])
    def test_stops_at_busy_and_at_limit(self, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
        if path == "pure":
            monkeypatch.setattr(ringbuf, "_committed", None)
        elif ringbuf._committed is None:
            pytest.skip("the compiled core is not built")
        busy, discard = 1 << 31, 1 << 30
        ring = _ring_with([(20, 0), (5, discard), (64, 0), (8, busy), (16, 0)])
        reader = ringbuf.RingReader.__new__(ringbuf.RingReader)
        reader._prod, reader._data_off, reader._mask = ring, mmap.PAGESIZE, 4096 - 1
        first_three = 32 + 16 + 72
        assert reader._committed_end(0, 4096) == first_three  # the BUSY record ends it
        assert reader._committed_end(0, first_three - 1) == 48  # the third does not fit
        assert reader._committed_end(32, 4096) == first_three
        ring.close()
