"""Read what the monitor wrote: incrementally, whole lines only, following a rotation, and
within a bound.

A monitor records the whole host, other jobs included: a file it wrote for long can hold
millions of documents (9.7M once, 18 GB parsed). So the file is read in chunks of CHUNK bytes,
parsed a line at a time, and only the documents the caller keeps (`keep`, default all) are
held, at most `max_docs` of them: past that the read stops with TooManyEvents, which says how
to keep fewer, before it takes the machine's memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

__all__ = ["CHUNK", "MAX_DOCS", "Doc", "EventsReader", "Keep", "ProcessTree", "TooManyEvents",
           "actions", "read_events"]

Doc = dict[str, Any]
Keep = Callable[[Doc], bool]
"""Whether a reader holds on to a document (documents it drops are still seen by `poll`'s
`watch`)."""

# A parsed document takes ~6.5 KB (measured on a busy host's mix): 150k of them ~1 GB, on a
# machine shared by many jobs.
MAX_DOCS = 150_000
CHUNK = 4 << 20  # bytes read from the file at a time


class TooManyEvents(AssertionError):
    """The documents kept from an events file outgrew what a test holds in memory."""


class ProcessTree:
    """A `keep` for a test's own documents: those of `root` (this process by default) and of
    the processes it starts, learnt in order from the documents (a process joins with its first
    document naming a member as its parent, or a fork naming it as the child), and documents of
    no process (loss records)."""

    def __init__(self, root: int | None = None) -> None:
        self.pids = {os.getpid() if root is None else root}

    def __call__(self, doc: Doc) -> bool:
        proc = doc.get("process")
        if not isinstance(proc, dict):
            return True
        pid = proc.get("pid")
        if pid not in self.pids:
            if (proc.get("parent") or {}).get("pid") not in self.pids:
                return False
            self.pids.add(pid)
        child = (doc.get("ebpf") or {}).get("child_pid")
        if child:
            self.pids.add(child)
        return True


def _whole_lines(data: bytes) -> bytes:
    # A batch being written may be half-visible to a concurrent reader.
    return data[: data.rfind(b"\n") + 1]


def read_events(path: Path, *, keep: Keep | None = None,
                max_docs: int = MAX_DOCS) -> list[Doc]:
    """Every whole line of `path` (that `keep` keeps) as a document; [] while the file does
    not exist."""
    return EventsReader(path, keep=keep, max_docs=max_docs).docs()


class EventsReader:
    """The documents of one events file, read from where the last call stopped.

    The file grows large, and every read of it is an event of its own for the monitor: reading
    it again from the start on each poll would make waiting slow and noisy. A new inode (the
    file was rotated away) or a shorter file (truncated) starts over with the new contents.
    """

    def __init__(self, path: Path, *, keep: Keep | None = None,
                 max_docs: int = MAX_DOCS) -> None:
        self.path = path
        self.keep = keep
        self.max_docs = max_docs
        self.read = 0  # documents parsed from the current file, kept or not
        self._inode = -1
        self._offset = 0
        self._docs: list[Doc] = []

    def _restart(self, inode: int) -> None:
        self._inode, self._offset, self._docs, self.read = inode, 0, [], 0

    def _lines(self, size: int) -> Iterator[bytes]:
        """Whole lines up to `size` (the file's size when the poll began: a file that grows
        as fast as it is read still ends the poll) written since the last read, a chunk at a
        time; the offset is past each chunk's lines once they are handed out."""
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            rest = b""
            while chunk := f.read(min(CHUNK, size - self._offset - len(rest))):
                rest += chunk
                data = _whole_lines(rest)
                rest = rest[len(data):]
                self._offset += len(data)
                yield from data.splitlines()

    def poll(self, watch: Keep | None = None) -> list[Doc]:
        """Documents kept since the previous call (all of them after a rotation). `watch`
        sees every new document, kept or not, and those it accepts are kept too."""
        try:
            st = self.path.stat()
        except FileNotFoundError:  # rotated away, not yet reopened: no current file
            self._restart(-1)
            return []
        if st.st_ino != self._inode or st.st_size < self._offset:
            self._restart(st.st_ino)
        new: list[Doc] = []
        for line in self._lines(st.st_size):
            doc = orjson.loads(line)  # ~4x json's speed: the host's events arrive fast
            self.read += 1
            # Both asked, always: a keep or watch may learn from every document (a process
            # tree from its forks).
            watched = watch is not None and watch(doc)
            if (self.keep is None or self.keep(doc)) or watched:
                if len(self._docs) >= self.max_docs:
                    raise TooManyEvents(
                        f"{self.path}: over {self.max_docs:,} documents to keep"
                        f" ({self.read:,} read): other activity on this host fills the"
                        " monitor's file; keep fewer (Monitor(keep=...), EventsReader(keep="
                        "...))")
                self._docs.append(doc)
                new.append(doc)
        return new

    def kept(self) -> list[Doc]:
        """The documents kept so far, without reading."""
        return list(self._docs)

    def docs(self) -> list[Doc]:
        """Every document kept from the current file."""
        self.poll()
        return self.kept()


def actions(docs: list[Doc]) -> list[str]:
    return [d["event"]["action"] for d in docs]
