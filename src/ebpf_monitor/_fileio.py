"""Whole-line file I/O shared by the events file and the spool."""

from __future__ import annotations

import os

__all__ = ["whole_lines_end", "write_all"]


def write_all(fd: int, data: bytes) -> None:
    """write(2) until all of `data` is out; an OSError leaves part of it written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def whole_lines_end(fd: int, size: int) -> int:
    """Offset just past the last newline in the first `size` bytes of fd (0 if none)."""
    end = size
    while end > 0:
        start = max(0, end - 65536)
        block = os.pread(fd, end - start, start)
        idx = block.rfind(b"\n")
        if idx >= 0:
            return start + idx + 1
        end = start
    return 0
