"""The monitor's own files, told to the kernel so that reading them is not recorded.

`cat events.jsonl`, `tail -f`, a log shipper or logrotate's gzip would otherwise make events
about events, which make more lines to read (filters.ignore_own_files). The files that write
them call `note(fd)` right after opening one; the kernel side (bpf/file.bpf.c, `em_own_files`)
then treats an open of that (device, inode) like a filtered path: no open event, and no events
for the fd's reads and writes.

A file stays listed while it has a name: a rotated events.jsonl.1 is still ours. We keep a
duplicate of its fd, so its inode number cannot be reused by another file while listed, and
`sweep()` (called every second by the pipeline) forgets files whose last name is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import threading
from collections.abc import Callable

__all__ = ["OwnFiles", "install", "note"]

log = logging.getLogger(__name__)

_KEY = struct.Struct("<QII")  # struct own_file_key: ino, dev, pad

Update = Callable[[bytes, bool], None]
"""Adds (True) or removes (False) a packed key in the kernel map."""


def _kernel_dev(st_dev: int) -> int:
    """dev_t as the kernel stores it (MKDEV: 12-bit major, 20-bit minor)."""
    return (os.major(st_dev) << 20) | os.minor(st_dev)


def _file_id(fd: int) -> tuple[int, int]:
    """(s_dev, i_ino) of the file behind fd as the kernel sees it from a struct file.

    stat's st_dev is not always the superblock's (btrfs subvolumes report their own), so the
    device comes from the fd's mount in /proc/self/mountinfo, the inode from fdinfo."""
    st = os.fstat(fd)
    dev, ino = _kernel_dev(st.st_dev), st.st_ino
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
            fields = dict(line.split(b":", 1) for line in f.read().splitlines() if b":" in line)
        ino = int(fields.get(b"ino", str(ino).encode()))
        mnt_id = fields[b"mnt_id"].strip()
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                parts = line.split(b" ", 3)
                if parts[0] == mnt_id:
                    major, minor = (int(x) for x in parts[2].split(b":"))
                    dev = (major << 20) | minor
                    break
    except (OSError, KeyError, ValueError):
        pass  # the stat figures then
    return dev, ino


class OwnFiles:
    """Keeps the kernel's list of our files: noted at open, swept once gone."""

    def __init__(self) -> None:
        self._update: Update | None = None  # until the BPF object is loaded
        self._lock = threading.Lock()
        self._held: dict[tuple[int, int], int] = {}  # (st_dev, st_ino) -> (dup fd)
        self._keys: dict[tuple[int, int], bytes] = {}
        self.failed = False

    def note(self, fd: int) -> None:
        """List the file behind fd (opened by us for writing or reading)."""
        try:
            st = os.fstat(fd)
        except OSError:
            return
        ident = (st.st_dev, st.st_ino)
        with self._lock:
            if ident in self._held:
                return
            try:
                dev, ino = _file_id(fd)
                key = _KEY.pack(ino, dev, 0)
                if self._update is not None:
                    self._update(key, True)
                self._held[ident] = os.dup(fd)
                self._keys[ident] = key
            except OSError as exc:
                self._failed(exc)

    def bind(self, update: Update) -> None:
        """The kernel map is there: list what was noted before, and the rest as it comes."""
        with self._lock:
            self._update = update
            for key in self._keys.values():
                try:
                    update(key, True)
                except OSError as exc:
                    self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        if not self.failed:  # a full map: say so once; the events still go out
            self.failed = True
            log.warning("cannot exclude own file from capture (%s): reading it will be"
                        " recorded", exc.strerror or exc)

    def sweep(self) -> None:
        """Forget files that have no name left (rotated away and deleted, acknowledged)."""
        with self._lock:
            for ident, fd in list(self._held.items()):
                try:
                    gone = os.fstat(fd).st_nlink == 0
                except OSError:
                    gone = True
                if gone:
                    if self._update is not None:
                        with contextlib.suppress(OSError):
                            self._update(self._keys[ident], False)
                    os.close(fd)
                    del self._held[ident], self._keys[ident]

    def __len__(self) -> int:
        return len(self._held)

    def close(self) -> None:
        global _active
        with self._lock:
            for fd in self._held.values():
                os.close(fd)
            self._held.clear()
            self._keys.clear()
        if _active is self:
            _active = None


_active: OwnFiles | None = None


def install(own: OwnFiles | None) -> None:
    """Make `note()` report to `own` (None: notes are ignored, as before the BPF load)."""
    global _active
    _active = own


def note(fd: int) -> None:
    """Called by the sinks and the spool right after opening one of their files."""
    own = _active
    if own is not None:
        own.note(fd)
