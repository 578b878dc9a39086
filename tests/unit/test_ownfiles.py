"""The list of the monitor's own files kept for the kernel filter (ownfiles.py)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from ebpf_monitor.ownfiles import OwnFiles


class _Map:
    """Stands in for the BPF map's update calls: a set of packed keys."""

    def __init__(self) -> None:
        self.keys: set[bytes] = set()

    def __call__(self, key: bytes, add: bool) -> None:
        if add:
            self.keys.add(key)
        else:
            self.keys.discard(key)


def _ino(key: bytes) -> int:
    return int(struct.unpack("<QII", key)[0])


class TestOwnFiles:
    def test_listed_until_the_last_name_is_gone(self, tmp_path: Path) -> None:
        """A noted file stays listed while renamed (rotated), and leaves at the sweep after
        its last name is removed."""
        path = tmp_path / "events.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
        own, kmap = OwnFiles(), _Map()
        try:
            own.note(fd)
            own.bind(kmap)  # noted before the map existed: listed at bind
            assert {_ino(k) for k in kmap.keys} == {path.stat().st_ino}
            os.close(fd)
            rotated = tmp_path / "events.jsonl.1"
            path.rename(rotated)
            own.sweep()
            assert len(kmap.keys) == 1 and len(own) == 1
            rotated.unlink()
            own.sweep()
            assert not kmap.keys and len(own) == 0
        finally:
            own.close()

    def test_noted_once(self, tmp_path: Path) -> None:
        """Noting the same file through several fds lists it once."""
        path = tmp_path / "seg"
        path.write_bytes(b"")
        own, kmap = OwnFiles(), _Map()
        own.bind(kmap)
        fds = [os.open(path, os.O_RDONLY) for _ in range(3)]
        try:
            for fd in fds:
                own.note(fd)
            assert len(kmap.keys) == 1 and len(own) == 1
        finally:
            for fd in fds:
                os.close(fd)
            own.close()
