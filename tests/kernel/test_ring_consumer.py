"""The reader gives ring space back with one 8-byte store of the consumer position.

BPF producers read that position without a lock to decide whether a record fits. CPython's
struct.pack_into zeroes its target before it writes the value, so a producer could read 0 in
between and, once the producer position was past the ring's size, drop the record as if the
ring were full: the "drops with room" of issue 10, item 5. Stores are counted by a hardware
write breakpoint on the position (perf_event_open, PERF_TYPE_BREAKPOINT).
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from ebpf_monitor.config import Config
from ebpf_monitor.loader import BpfMonitor
from ebpf_monitor.ringbuf import RingReader
from tests.harness import wait_until

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241}[os.uname().machine]
_PERF_TYPE_BREAKPOINT = 5
_HW_BREAKPOINT_W = 2
_EXCLUDE_KERNEL, _EXCLUDE_HV = 1 << 5, 1 << 6


class _PerfAttr(ctypes.Structure):
    """struct perf_event_attr up to the breakpoint's address and length, then zeros."""

    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32),
                ("config", ctypes.c_uint64), ("sample_period", ctypes.c_uint64),
                ("sample_type", ctypes.c_uint64), ("read_format", ctypes.c_uint64),
                ("flags", ctypes.c_uint64), ("wakeup_events", ctypes.c_uint32),
                ("bp_type", ctypes.c_uint32), ("bp_addr", ctypes.c_uint64),
                ("bp_len", ctypes.c_uint64), ("_rest", ctypes.c_uint8 * 64)]


@contextmanager
def _stores_to(addr: int) -> Iterator[int]:
    """A perf fd counting this thread's user-space stores to the 8 bytes at `addr`."""
    attr = _PerfAttr(type=_PERF_TYPE_BREAKPOINT, size=ctypes.sizeof(_PerfAttr),
                     flags=_EXCLUDE_KERNEL | _EXCLUDE_HV, bp_type=_HW_BREAKPOINT_W,
                     bp_addr=addr, bp_len=8)
    fd = _libc.syscall(_SYS_PERF_EVENT_OPEN, ctypes.byref(attr), 0, -1, -1, 0)
    assert fd >= 0, f"perf_event_open (breakpoint): {os.strerror(ctypes.get_errno())}"
    try:
        yield fd
    finally:
        os.close(fd)


def _count(fd: int) -> int:
    return int(struct.unpack("<Q", os.read(fd, 8))[0])


class TestConsumerPosition:
    """Releasing ring space never shows producers a consumer position that was not real."""

    def test_one_store_per_release(self) -> None:
        """Each read that releases records stores the new position exactly once (a watch that
        sees struct.pack_into's two stores on the same bytes), and leaves nothing pending."""
        cfg = Config()
        mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
        try:
            reader = RingReader(mon.ring_fd, mon.ring_size)
            try:
                # The consumer page's address; the ctypes view is dropped at once, so that
                # the mapping can be closed.
                view = ctypes.c_char.from_buffer(reader._cons)
                addr = ctypes.addressof(view)
                del view
                with _stores_to(addr) as fd:
                    releases = 0
                    for _ in range(20):
                        subprocess.run(["cat", "/proc/self/stat"], check=True,
                                       stdout=subprocess.DEVNULL)
                        wait_until(lambda: reader.pending() > 0, timeout=30,
                                   what="records of the cat in the ring")
                        while reader.read(4096).spans:
                            releases += 1
                    stores = _count(fd)
                    assert releases >= 20
                    assert stores == releases, (stores, releases)
                    # The watch tells the two apart: struct.pack_into of the same value.
                    pos = reader._cons_pos[0]
                    struct.Struct("<Q").pack_into(reader._cons, 0, pos)
                    assert _count(fd) - stores == 2
            finally:
                reader.close()
        finally:
            mon.close()
