"""JSON-lines file sink: one ECS document per line, whole batches per write(2).

Lines are never torn: a batch goes out in as few write(2) calls as the kernel allows, and a failed
write (disk full) is cut back to the last whole line with ftruncate and counted. A failing spell
is logged when it starts and when it ends, with its count; it ends once writes have worked for
a second, when the pipeline asks for the count that goes into the `loss` record
(`losses_to_record`), so the log line and the record agree. SIGHUP makes the pipeline call
`reopen()` between batches, so logrotate's rename leaves every line in exactly one file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import ownfiles
from .._fileio import whole_lines_end, write_all
from .._safedir import SafeDir, host_error
from ..errors import MonitorError
from ._mixin import SinkContext
from .base import Document, WrittenStats

__all__ = ["JsonlSink", "JsonlStats", "StreamSink", "repair_tail"]

log = logging.getLogger(__name__)

RECOVERY_SECONDS = 1.0


def _encode(batch: Sequence[Document]) -> bytes:
    lines = [doc.json for doc in batch]
    lines.append("")  # the last line's newline
    return "\n".join(lines).encode()


def repair_tail(directory: SafeDir, name: str) -> Path | None:
    """Set aside a partial last line (left by a crash mid-write); return where it went."""
    path = directory.path / name
    try:
        fd = directory.open(name, os.O_RDWR)
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
        aside = f"{name}.partial-{time.strftime('%Y%m%dT%H%M%S')}"
        afd = directory.create(aside)
        try:
            write_all(afd, tail)
        finally:
            os.close(afd)
        os.ftruncate(fd, cut)
        log.warning("%s: partial last line (%d bytes) set aside in %s", path, len(tail),
                    directory.path / aside)
        return directory.path / aside
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class JsonlStats:
    """Counters of the JSON-lines sink: `failing` is 1 during a failing spell, whose lost
    events `failing_lost` counts (they are in `failed` too)."""

    written: int = 0
    failed: int = 0
    failing: int = 0
    failing_lost: int = 0

    @property
    def pending(self) -> int:
        return 0

    @property
    def spooled_bytes(self) -> int | None:
        return None


class JsonlSink(SinkContext):
    """Append documents to `path`, reopened on rotation. The file and its directory are
    opened without following links (_safedir.py)."""

    name = "jsonl"

    def __init__(self, path: Path, *, what: str = "events_dir") -> None:
        self.path = path
        self.what = what
        self.written = 0
        self.failed = 0
        self.bytes = 0
        self._fd = -1
        self._failing = False  # the last write failed
        self._spell_open = False  # a failing spell: logged at its start, and at its end
        self._spell_lost = 0
        self._last_failure = 0.0
        self._dir = SafeDir(path.parent, what=what)
        try:
            repair_tail(self._dir, path.name)
            self._open()
        except OSError as exc:
            self._dir.close()
            raise host_error(what, path, exc) from None
        except BaseException:
            self._dir.close()
            raise

    def _open(self) -> None:
        self._fd = self._dir.open(self.path.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
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
        self._failing = False
        self.written += count
        self.bytes += len(data)

    def _write_failed(self, exc: OSError, start: int, count: int) -> None:
        # Cut back a half-written batch so the file keeps whole lines only.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, start)
        self.failed += count
        self._spell_lost += count
        self._failing = True
        self._last_failure = time.monotonic()
        if not self._spell_open:
            self._spell_open = True
            reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror
            log.error("%s: cannot write events: %s; counting lost events", self.path, reason)

    def _end_spell(self) -> None:
        """Close a failing spell once writes have worked for RECOVERY_SECONDS (a near-full disk
        flaps: small batches fit, large ones do not; that is one spell, not hundreds)."""
        if (self._spell_open and not self._failing
                and time.monotonic() - self._last_failure >= RECOVERY_SECONDS):
            log.warning("%s: writing again; %d events lost in this spell (%d in all)",
                        self.path, self._spell_lost, self.failed)
            self._spell_open = False
            self._spell_lost = 0

    def flush(self) -> None:
        pass  # every write(2) already reached the page cache; fsync is the kernel's business

    def reopen(self) -> None:
        # The directory too: logrotate (or an operator) may have replaced it.
        old_fd, old_dir = self._fd, self._dir
        try:
            self._dir = SafeDir(self.path.parent, what=self.what)
            try:
                self._open()
            except BaseException:
                self._dir.close()
                raise
        except (OSError, MonitorError) as exc:
            self._fd, self._dir = old_fd, old_dir
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            log.error("%s: cannot reopen after rotation: %s; keeping the old file",
                      self.path, reason)
            return
        os.close(old_fd)
        old_dir.close()
        log.info("%s: reopened", self.path)

    def close(self) -> None:
        if self._spell_open:
            log.error("%s: closing while writes fail: %d events lost in this spell (%d in all)",
                      self.path, self._spell_lost, self.failed)
            self._spell_open = False
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._dir.close()

    def stats(self) -> JsonlStats:
        """All events lost so far in `failed`, an open spell's included; no side effect."""
        return JsonlStats(written=self.written, failed=self.failed,
                          failing=int(self._spell_open), failing_lost=self._spell_lost)

    def losses_to_record(self, *, final: bool = False) -> int:
        # A spell ends here, where the pipeline reads the count it puts in the loss record:
        # the record and the "writing again" line carry the same numbers. An open spell's
        # events count once it ends, or at shutdown (`final`).
        self._end_spell()
        return self.failed if final else self.failed - self._spell_lost


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

    def stats(self) -> WrittenStats:
        return WrittenStats(written=self.written)
