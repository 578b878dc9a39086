"""memfd_create and userfaultfd against real syscalls: name and flags, success and failure."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO, Doc, Monitor

FILELESS_WORK_C = REPO / "tests" / "kernel" / "fileless_work.c"


@pytest.fixture(scope="module")
def fileless_work(workdir: Path) -> Path:
    out = workdir / "fileless_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(FILELESS_WORK_C)], check=True,
                   capture_output=True, text=True)
    return out


class TestFileless:
    """Each call once, in order."""

    def test_memfd_and_userfaultfd(self, monitor: Monitor, fileless_work: Path) -> None:
        """memfd_create with a UTF-8 name, one too long (EINVAL, the name cut at 255 bytes);
        userfaultfd with O_CLOEXEC, one with an unknown flag (EINVAL)."""
        proc = subprocess.run([str(fileless_work)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        pid = int(proc.stdout.split()[0])
        docs = [d for d in monitor.events_of(pid)
                if d["event"]["action"] in ("memfd_create", "userfaultfd")]
        assert [d["event"]["action"] for d in docs] == [
            "memfd_create", "memfd_create", "userfaultfd", "userfaultfd"]
        memfd, long_memfd, uffd, bad_uffd = docs
        assert memfd["ebpf"]["memfd"] == {"name": "em payload ü",
                                          "flags": ["MFD_CLOEXEC", "MFD_ALLOW_SEALING"],
                                          "fd": memfd["ebpf"]["ret"]}
        assert memfd["event"]["category"] == ["file"]
        assert memfd["event"]["type"] == ["creation"]
        assert long_memfd["error"]["code"] == "EINVAL"
        assert long_memfd["ebpf"]["memfd"]["name"] == "n" * 255
        assert long_memfd["ebpf"]["truncated"] is True
        assert uffd["ebpf"]["userfaultfd"] == {"flags": ["O_CLOEXEC"],
                                               "fd": uffd["ebpf"]["ret"]}
        assert bad_uffd["error"]["code"] == "EINVAL"
        assert bad_uffd["ebpf"]["userfaultfd"]["flags"] == ["0x40"]


class TestUnlinkedExec:
    """An exec of a memfd or of a deleted file is flagged and names what ran."""

    def test_memfd_and_deleted(self, monitor: Monitor, fileless_work: Path,
                               workdir: Path) -> None:
        """/bin/true run from a memfd and from a deleted copy, each via /proc/self/fd/N: the
        exec names the memfd (`memfd:` name) and the deleted path; an ordinary exec has no
        such mark."""
        where = workdir / "unlinked"
        where.mkdir()
        proc = subprocess.run([str(fileless_work), str(where)], capture_output=True,
                              text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        pid, from_memfd, from_deleted = (int(p) for p in proc.stdout.split())
        (memfd_exec,) = [d for d in monitor.events_of(from_memfd)
                         if d["event"]["action"] == "execve"]
        assert memfd_exec["process"]["executable"].startswith("/proc/self/fd/")
        assert memfd_exec["ebpf"]["exec"] == {"unlinked": True, "memfd": "em payload ü",
                                              "file_path": "memfd:em payload ü"}
        (deleted_exec,) = [d for d in monitor.events_of(from_deleted)
                           if d["event"]["action"] == "execve"]
        assert deleted_exec["ebpf"]["exec"] == {"unlinked": True, "deleted": True,
                                                "file_path": f"{where}/deleted true"}
        (own_exec,) = [d for d in monitor.events_of(pid) if d["event"]["action"] == "execve"]
        assert "exec" not in own_exec["ebpf"]


MEMFD_SENDFILE = r"""
import os
fd = os.memfd_create("em short lived")
src = os.open("/etc/hostname", os.O_RDONLY)
os.sendfile(fd, src, 0, 64)
os.write(fd, b"x")
"""


class TestMemfdNamedByTheKernel:
    """A memfd's fd is named in the kernel, so a process gone before its records are read
    still has its sendfile and write into the memfd named."""

    def test_short_lived_process(self, monitor: Monitor) -> None:
        proc = subprocess.run(["python3", "-c", MEMFD_SENDFILE], check=True)
        assert proc.returncode == 0
        name = "/memfd:em short lived (deleted)"

        def moved(d: Doc) -> bool:
            return d["event"]["action"] == "sendfile64" and \
                d["ebpf"].get("to", {}).get("path") == name

        def wrote(d: Doc) -> bool:
            return d["event"]["action"] == "write" and d.get("file", {}).get("path") == name

        monitor.wait_for(moved, what=f"a sendfile64 into {name}")
        monitor.wait_for(wrote, what=f"a write into {name}")
