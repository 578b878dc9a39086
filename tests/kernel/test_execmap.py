"""mmap and mprotect making memory executable, against real syscalls (tests/kernel/
execmap_work.c): files, anonymous memory, a memfd and a deleted file, success and failure; the
shared libraries ld.so maps on every exec left out by default and recorded when asked."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import REPO, Monitor
from tests.monitor_harness import running_monitor

WORK_C = REPO / "tests" / "kernel" / "execmap_work.c"
MMAPS = ("mmap", "mprotect", "pkey_mprotect")


@pytest.fixture(scope="module")
def execmap_work(workdir: Path) -> Path:
    out = workdir / "execmap_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(WORK_C)], check=True,
                   capture_output=True, text=True)
    return out


def _run(work: Path, where: Path) -> int:
    where.mkdir(exist_ok=True)
    proc = subprocess.run([str(work), str(where)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[0])


def _maps(mon: Monitor, pid: int) -> list[dict[str, Any]]:
    return [d for d in mon.events_of(pid) if d["event"]["action"] in MMAPS]


class TestExecMappings:
    """Each PROT_EXEC call once, in order, named; calls without PROT_EXEC never sent."""

    def test_default_config(self, monitor: Monitor, execmap_work: Path, workdir: Path) -> None:
        """Ten calls of execmap_work.c: a file (odd name, `.so` outside the library
        directories), EACCES, EBADF, RWX anonymous memory, mprotect of anonymous memory (its
        prot before), ENOMEM, mprotect of a file mapping, a memfd, a deleted file,
        pkey_mprotect; libc's mapping by ld.so at the exec not among them."""
        where = workdir / "maps"
        pid = _run(execmap_work, where)
        docs = _maps(monitor, pid)
        assert [d["event"]["action"] for d in docs] == [
            "mmap", "mmap", "mmap", "mmap", "mprotect", "mprotect", "mprotect", "mmap", "mmap",
            "pkey_mprotect"]
        file_map, eacces, ebadf, rwx, anon_x, enomem, file_x, memfd, deleted, pkey = docs
        payload = f"{where}/payload ü.so"
        st = os.stat(payload)
        device = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"

        assert file_map["event"]["category"] == ["process"]
        assert file_map["event"]["type"] == ["change"]
        assert file_map["event"]["outcome"] == "success"
        assert file_map["file"] == {"path": payload, "name": "payload ü.so",
                                    "directory": str(where), "inode": str(st.st_ino),
                                    "device": device}
        m = file_map["ebpf"]["mmap"]
        assert m["address"] == f"0x{file_map['ebpf']['ret']:x}"
        assert {k: v for k, v in m.items() if k not in ("address", "fd")} == {
            "length": 4096, "prot": ["PROT_READ", "PROT_EXEC"], "flags": ["MAP_PRIVATE"],
            "offset": 4096}
        assert m["fd"] >= 3

        assert eacces["error"]["code"] == "EACCES"
        assert eacces["file"]["path"] == payload
        assert eacces["ebpf"]["mmap"]["flags"] == ["MAP_SHARED"]

        assert ebadf["error"]["code"] == "EBADF"
        assert "file" not in ebadf
        assert ebadf["ebpf"]["mmap"]["fd"] == 999
        assert ebadf["ebpf"]["mmap"]["prot"] == ["PROT_EXEC"]

        assert rwx["event"]["outcome"] == "success"
        assert rwx["ebpf"]["mmap"]["prot"] == ["PROT_READ", "PROT_WRITE", "PROT_EXEC"]
        assert rwx["ebpf"]["mmap"]["flags"] == ["MAP_PRIVATE", "MAP_ANONYMOUS"]
        assert rwx["ebpf"]["mmap"]["anonymous"] is True
        assert rwx["ebpf"]["mmap"]["length"] == 8192
        assert "file" not in rwx and "fd" not in rwx["ebpf"]["mmap"]

        assert anon_x["ebpf"]["ret"] == 0
        assert anon_x["ebpf"]["mmap"]["prot"] == ["PROT_READ", "PROT_EXEC"]
        assert anon_x["ebpf"]["mmap"]["prot_before"] == ["PROT_READ", "PROT_WRITE"]
        assert anon_x["ebpf"]["mmap"]["anonymous"] is True
        assert "flags" not in anon_x["ebpf"]["mmap"]

        assert enomem["error"]["code"] == "ENOMEM"
        assert "prot_before" not in enomem["ebpf"]["mmap"]
        assert "anonymous" not in enomem["ebpf"]["mmap"]

        assert file_x["event"]["outcome"] == "success"
        assert file_x["file"]["path"] == payload
        assert file_x["ebpf"]["mmap"]["prot_before"] == ["PROT_READ"]

        assert "file" in memfd and "path" not in memfd["file"]
        assert memfd["ebpf"]["mmap"]["memfd"] == "em code"
        assert memfd["ebpf"]["mmap"]["unlinked"] is True

        assert deleted["file"]["path"] == f"{where}/gone.bin"
        assert deleted["ebpf"]["mmap"]["deleted"] is True
        assert deleted["ebpf"]["mmap"]["unlinked"] is True

        assert pkey["event"]["outcome"] == "success"
        assert pkey["ebpf"]["mmap"]["prot_before"] == ["PROT_READ", "PROT_WRITE"]
        assert pkey["ebpf"]["mmap"]["anonymous"] is True

    def test_libraries_skipped(self, monitor: Monitor, execmap_work: Path,
                               workdir: Path) -> None:
        """/bin/true's exec maps libc executable through ld.so: no document by default."""
        proc = subprocess.run(["/bin/true"], check=True)
        assert proc.returncode == 0
        pid = _run(execmap_work, workdir / "maps-again")
        docs = [d for d in monitor.events() if d["event"]["action"] in MMAPS]
        assert docs, "the workload's mappings are recorded"
        assert not [d for d in docs if d.get("file", {}).get("path", "").startswith("/usr/lib/")]
        assert len(_maps(monitor, pid)) == 10


    def test_ignored_comm(self, monitor: Monitor, execmap_work: Path, workdir: Path) -> None:
        """A process named in filters.ignore_comms has no mapping documents; nor has the
        monitor."""
        ignored = execmap_work.with_name("ignoreme")
        shutil.copy2(execmap_work, ignored)
        pid = _run(ignored, workdir / "maps-ignored")
        # A process run after it, to its exit: the ring holds the ignored one's records first.
        after = _run(execmap_work, workdir / "maps-after")
        assert len(_maps(monitor, after)) == 10
        docs = monitor.events()
        assert [d for d in docs if d["event"]["action"] == "execve"
                and d["process"]["pid"] == pid], "the exec is never filtered"
        for who in (pid, monitor.pid):
            assert not [d for d in docs if d["event"]["action"] in MMAPS
                        and d.get("process", {}).get("pid") == who]


@pytest.fixture(scope="module")
def all_files_monitor(workdir: Path) -> Iterator[Monitor]:
    """Library mappings recorded, anonymous memory not (capture.exec_mappings "files")."""
    config = {"filters": {"ignore_library_mappings": False},
              "capture": {"exec_mappings": "files"}}
    with running_monitor(workdir / "run-files", config) as mon:
        yield mon


class TestLibraryMappingsOn:
    """filters.ignore_library_mappings false, capture.exec_mappings "files"."""

    def test_libraries_and_files_only(self, all_files_monitor: Monitor, execmap_work: Path,
                                      workdir: Path) -> None:
        """The exec's libc mapping by ld.so is recorded; of the workload only the calls on a
        file are (1, 2, 7, 8, 9): no anonymous memory, no bad fd, no unmapped page."""
        pid = _run(execmap_work, workdir / "maps-files")
        docs = _maps(all_files_monitor, pid)
        libc = [d for d in docs if d.get("file", {}).get("name") == "libc.so.6"]
        assert len(libc) == 1, [d.get("file") for d in docs]
        assert libc[0]["file"]["path"].startswith("/usr/lib/")
        assert "PROT_EXEC" in libc[0]["ebpf"]["mmap"]["prot"]
        assert "MAP_FIXED" in libc[0]["ebpf"]["mmap"]["flags"]
        own = [d for d in docs if d is not libc[0]]
        assert [d["event"]["action"] for d in own] == [
            "mmap", "mmap", "mprotect", "mmap", "mmap"]
        assert [d["event"]["outcome"] for d in own] == [
            "success", "failure", "success", "success", "success"]
        assert all("anonymous" not in d["ebpf"]["mmap"] for d in own)


def _span(work: Path, where: Path) -> tuple[int, int, int]:
    """execmap_work.c's "span" run: its pid and the two ranges' starts."""
    where.mkdir(exist_ok=True)
    proc = subprocess.run([str(work), str(where), "span"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    pid, starts = proc.stdout.splitlines()
    a, b = (int(x, 16) for x in starts.split())
    return int(pid), a, b


@pytest.fixture(scope="module")
def span_monitor(workdir: Path) -> Iterator[Monitor]:
    """The span run's lib/ is a library directory to this monitor, beside the usual ones."""
    from ebpf_monitor.config import DEFAULT_LIBRARY_PREFIXES
    config = {"filters": {"library_prefixes": [*DEFAULT_LIBRARY_PREFIXES,
                                               f"{workdir}/maps-span/lib/"]}}
    with running_monitor(workdir / "run-span", config) as mon:
        yield mon


class TestMprotectOverRegions:
    """An mprotect over several vmas is one document per vma, each judged alone."""

    def test_library_first_hides_nothing(self, span_monitor: Monitor, execmap_work: Path,
                                         workdir: Path) -> None:
        """A library's page first in the range is left out; the anonymous page and the file
        page after it are each recorded, with their own part of the range and prot before;
        then ten vmas: eight described, the rest of the range in one document."""
        where = workdir / "maps-span"
        pid, a, b = _span(execmap_work, where)
        docs = _maps(span_monitor, pid)
        assert [d["event"]["action"] for d in docs] == ["mprotect"] * 11
        anon, payload, *ten = (d["ebpf"]["mmap"] for d in docs)
        assert all(m["range_part"] is True for m in [anon, payload, *ten])
        assert all(m["prot"] == ["PROT_READ", "PROT_EXEC"] for m in [anon, payload, *ten])
        assert (anon["address"], anon["length"]) == (f"0x{a + 4096:x}", 4096)
        assert anon["anonymous"] is True
        assert anon["prot_before"] == ["PROT_READ", "PROT_WRITE"]
        assert "file" not in docs[0]
        assert (payload["address"], payload["length"]) == (f"0x{a + 2 * 4096:x}", 4096)
        assert docs[1]["file"]["path"] == f"{where}/payload.bin"
        assert payload["prot_before"] == ["PROT_READ"]
        assert "anonymous" not in payload
        described, rest = ten[:8], ten[8]
        assert [(m["address"], m["length"]) for m in described] == [
            (f"0x{b + i * 4096:x}", 4096) for i in range(8)]
        assert [m["prot_before"] for m in described] == [
            ["PROT_READ", "PROT_WRITE"] if i % 2 == 0 else ["PROT_READ"] for i in range(8)]
        assert (rest["address"], rest["length"]) == (f"0x{b + 8 * 4096:x}", 2 * 4096)
        assert "prot_before" not in rest and "anonymous" not in rest
        assert all(d["event"]["outcome"] == "success" for d in docs)
