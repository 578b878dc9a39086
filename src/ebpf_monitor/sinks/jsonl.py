"""JSON-lines file sink: one ECS document per line, whole batches per write(2).

Lines are never torn: a batch goes out in as few write(2) calls as the kernel allows, and a failed
write (disk full) is cut back to the last whole line with ftruncate, counted, and retried with the
next batch's turn. SIGHUP makes the pipeline call `reopen()` between batches, so logrotate's rename
leaves every line in exactly one file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from .. import ownfiles
from .._fileio import whole_lines_end, write_all
from ._mixin import SinkContext
from .base import Document

__all__ = ["JsonlSink", "StreamSink", "repair_tail"]

log = logging.getLogger(__name__)

FILE_MODE = 0o640
DIR_MODE = 0o750


def _encode(batch: Sequence[Document]) -> bytes:
    batch = list(batch)
    batch.append("")  # the last line's newline
    return "\n".join(batch).encode()


def repair_tail(path: Path) -> Path | None:
    """Set aside a partial last line (left by a crash mid-write); return where it went."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        cut = whole_lines_end(fd, size)
        if cut == size:
            return None
        tail = os.pread(fd, size - cut, cut)
        aside = path.with_name(f"{path.name}.partial-{time.strftime('%Y%m%dT%H%M%S')}")
        aside.write_bytes(tail)
        os.chmod(aside, FILE_MODE)
        os.ftruncate(fd, cut)
        log.warning("%s: partial last line (%d bytes) set aside in %s", path, len(tail), aside)
        return aside
    finally:
        os.close(fd)


class JsonlSink(SinkContext):
    """Append documents to `path`, reopened on rotation."""

    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self.failed = 0
        self.bytes = 0
        self._fd = -1
        self._failing = False
        self._quiet_until = 0.0
        self._announced = False  # an error line is out: say when writing works again
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        repair_tail(path)
        self._open()

    def _open(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self._fd = os.open(self.path, flags, FILE_MODE)
        ownfiles.note(self._fd)

    def write(self, batch: Sequence[Document]) -> None:
        if not batch:
            return
        self.write_encoded(_encode(batch), len(batch))

    def write_encoded(self, data: bytes, count: int) -> None:
        """Write pre-encoded lines (`count` of them) as one unit."""
        start = os.fstat(self._fd).st_size  # O_APPEND and one writer: where this batch begins
        try:
            write_all(self._fd, data)
        except OSError as exc:
            self._write_failed(exc, start, count)
            return
        if self._failing:
            self._failing = False
            if self._announced:
                self._announced = False
                log.warning("%s: writing again; %d events lost so far", self.path, self.failed)
        self.written += count
        self.bytes += len(data)

    def _write_failed(self, exc: OSError, start: int, count: int) -> None:
        # Cut back a half-written batch so the file keeps whole lines only.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, start)
        self.failed += count
        if not self._failing:
            self._failing = True
            # Near-full disks flap (small batches still fit): one line per 10 s is enough.
            if time.monotonic() >= self._quiet_until:
                self._quiet_until = time.monotonic() + 10
                self._announced = True
                reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror
                log.error("%s: cannot write events: %s; counting lost events", self.path,
                          reason)

    def flush(self) -> None:
        pass  # every write(2) already reached the page cache; fsync is the kernel's business

    def reopen(self) -> None:
        old = self._fd
        try:
            self._open()
        except OSError as exc:
            log.error("%s: cannot reopen after rotation: %s; keeping the old file",
                      self.path, exc.strerror)
            return
        os.close(old)
        log.info("%s: reopened", self.path)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "failed": self.failed, "failing": int(self._failing)}


class StreamSink(SinkContext):
    """JSON lines to a stream (stdout), for watching live or piping to jq."""

    name = "stdout"

    def __init__(self, stream: BinaryIO) -> None:
        self._stream: BinaryIO | None = stream
        self.written = 0

    def write(self, batch: Sequence[Document]) -> None:
        if self._stream is None or not batch:
            return
        try:
            self._stream.write(_encode(batch))
            self._stream.flush()
        except BrokenPipeError:
            log.warning("stdout closed by the reader; no longer printing events")
            self._stream = None
            return
        self.written += len(batch)

    def flush(self) -> None:
        pass

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        self._stream = None

    def stats(self) -> dict[str, int]:
        return {"written": self.written}
