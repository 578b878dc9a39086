"""Read what the monitor wrote: incrementally, whole lines only, following a rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["Doc", "EventsReader", "TooManyEvents", "actions", "read_events"]

Doc = dict[str, Any]

# Parsed documents take ~3 KB each: a monitor that records a whole busy host for long (other
# load on a shared machine) would otherwise take the machine's memory with it.
MAX_DOCS = 1_000_000


class TooManyEvents(AssertionError):
    """The events file outgrew what a test reads into memory."""


def _whole_lines(data: bytes) -> bytes:
    # A batch being written may be half-visible to a concurrent reader.
    return data[: data.rfind(b"\n") + 1]


def read_events(path: Path) -> list[Doc]:
    """Every whole line of `path` as a document; [] while the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in _whole_lines(data).splitlines()]


class EventsReader:
    """The documents of one events file, read from where the last call stopped.

    The file grows large, and every read of it is an event of its own for the monitor: reading
    it again from the start on each poll would make waiting slow and noisy. A new inode (the
    file was rotated away) or a shorter file (truncated) starts over with the new contents.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inode = -1
        self._offset = 0
        self._docs: list[Doc] = []

    def poll(self) -> list[Doc]:
        """Documents written since the previous call (all of them after a rotation)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:  # rotated away, not yet reopened: no current file
            self._inode, self._offset, self._docs = -1, 0, []
            return []
        if st.st_ino != self._inode or st.st_size < self._offset:
            self._inode, self._offset, self._docs = st.st_ino, 0, []
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = _whole_lines(f.read())
        self._offset += len(data)
        new = [json.loads(line) for line in data.splitlines()]
        self._docs.extend(new)
        if len(self._docs) > MAX_DOCS:
            raise TooManyEvents(f"{self.path} holds over {MAX_DOCS:,} events: too much other"
                                " activity on this host for a test to read them all")
        return new

    def docs(self) -> list[Doc]:
        """Every document of the current file."""
        self.poll()
        return list(self._docs)


def actions(docs: list[Doc]) -> list[str]:
    return [d["event"]["action"] for d in docs]
