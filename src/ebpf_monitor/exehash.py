"""sha256 of executed files (capture.hash_executables), computed off the hot path.

Hashing a binary takes milliseconds to seconds; the reader makes a document in microseconds.
So documents never wait: the reader names the executed file by (device, inode, mtime), from
/proc/<pid>/exe while the process lives (the very inode that runs, even deleted or replaced
since), opens it, and hands the open file to one worker thread through a bounded queue. The
hash goes into a document only when already known: the exec document of a file hashed
before, else the process's exit document (the worker has usually finished by then). A full
queue drops the request (counted in `skipped`): that process's documents carry no hash, the
next exec of the file asks again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading

__all__ = ["ExecHasher", "FileKey"]

log = logging.getLogger(__name__)

FileKey = tuple[int, int, int]
"""(st_dev, st_ino, st_mtime_ns) of an executed file."""

_QUEUE_MAX = 256
_KNOWN_MAX = 65536


class ExecHasher:
    """One worker thread; `request` and `known` are for the reader's thread only."""

    def __init__(self) -> None:
        self._known: dict[FileKey, str] = {}
        self._pending: set[FileKey] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[FileKey, int] | None] = queue.Queue(_QUEUE_MAX)
        self.skipped = 0
        """Requests dropped because the queue was full."""
        self.failed = 0
        """Files that could not be read to the end."""
        self._thread = threading.Thread(target=self._work, name="exec-hasher", daemon=True)
        self._thread.start()

    def request(self, pid: int, path: str | None, *, proc: bool = True) -> FileKey | None:
        """The key of the file `pid` runs (queued for hashing unless known or pending);
        None when it cannot be opened (the process and its path are gone). `proc`: our /proc
        names the events' pids (not in a container)."""
        fd = -1
        for name in (f"/proc/{pid}/exe" if proc else None, path):
            if name is None:
                continue
            try:
                fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
                break
            except OSError:
                continue
        if fd < 0:
            return None
        try:
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_mtime_ns)
            with self._lock:
                if key in self._known or key in self._pending:
                    return key
                self._pending.add(key)
            try:
                self._queue.put_nowait((key, fd))
            except queue.Full:
                with self._lock:
                    self._pending.discard(key)
                self.skipped += 1
                return key
            fd = -1  # the worker closes it
            return key
        finally:
            if fd >= 0:
                os.close(fd)

    def known(self, key: FileKey | None) -> str | None:
        if key is None:
            return None
        with self._lock:
            return self._known.get(key)

    def wait_idle(self) -> None:
        """Until every queued file is hashed (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                key, fd = item
                digest = self._hash(fd, key)
                with self._lock:
                    self._pending.discard(key)
                    if digest is not None:
                        if len(self._known) >= _KNOWN_MAX:
                            del self._known[next(iter(self._known))]
                        self._known[key] = digest
            finally:
                self._queue.task_done()

    def _hash(self, fd: int, key: FileKey) -> str | None:
        """The file's sha256, or None when it changed while being read (not the key's)."""
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "rb", buffering=0) as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                if os.fstat(f.fileno()).st_mtime_ns != key[2]:
                    return None
        except OSError as e:
            self.failed += 1
            log.debug("exec hash: %s", e)
            return None
        return h.hexdigest()
