"""sha256 of executed files, computed by a worker thread, keyed by (device, inode, mtime)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ebpf_monitor.exehash import ExecHasher

GONE_PID = 2**22 + 11
"""Above the largest pid_max: no /proc entry, so the path given is what gets opened."""


class TestExecHasher:
    """Files are hashed once per version, off the caller's thread."""

    def test_hash_once_per_version(self, tmp_path: Path) -> None:
        """The digest is the file's; a rewrite (new mtime) is a new key and a new digest."""
        exe = tmp_path / "tool"
        exe.write_bytes(b"\x7fELF first version" * 1000)
        hasher = ExecHasher()
        try:
            key = hasher.request(GONE_PID, str(exe))
            assert key is not None and key[:2] == (exe.stat().st_dev, exe.stat().st_ino)
            hasher.wait_idle()
            assert hasher.known(key) == hashlib.sha256(exe.read_bytes()).hexdigest()
            assert hasher.request(GONE_PID, str(exe)) == key  # known: not queued again
            exe.write_bytes(b"second")
            os.utime(exe, ns=(1, 2))
            key2 = hasher.request(GONE_PID, str(exe))
            assert key2 is not None and key2 != key
            hasher.wait_idle()
            assert hasher.known(key2) == hashlib.sha256(b"second").hexdigest()
        finally:
            hasher.close()

    def test_running_process_by_proc(self) -> None:
        """A live pid is hashed from /proc/<pid>/exe, whatever path is given."""
        hasher = ExecHasher()
        try:
            key = hasher.request(os.getpid(), "/nonexistent/path")
            hasher.wait_idle()
            with open(f"/proc/{os.getpid()}/exe", "rb") as f:
                want = hashlib.sha256(f.read()).hexdigest()
            assert hasher.known(key) == want
        finally:
            hasher.close()

    def test_nothing_to_open(self) -> None:
        """No process and no file: no key, nothing known."""
        hasher = ExecHasher()
        try:
            assert hasher.request(GONE_PID, "/nonexistent/path") is None
            assert hasher.known(None) is None
        finally:
            hasher.close()
