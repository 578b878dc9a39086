"""File attribute and name syscalls (issue #12) against a C workload calling each variant
directly (tests/kernel/workloads/file_ops.c): success and failure paths, relative, dir-fd, fd
and AT_EMPTY_PATH forms, odd names, the process filters."""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Monitor

SOURCE = Path(__file__).with_name("workloads") / "file_ops.c"
ODD = "odd name\n\\xff.txt"
"""The workload's odd file name as the documents spell it (an invalid byte escaped as `\\xff`,
as in every path: docs/schema.md)."""

CREATING = ("link", "linkat", "symlink", "symlinkat", "mkdir", "mkdirat", "mknod", "mknodat")
ATTR = ("chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat")


@pytest.fixture(scope="module")
def file_ops(workdir: Path) -> Path:
    out = workdir / "file_ops"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(SOURCE)], check=True,
                   capture_output=True, text=True)
    return out


def start_ops(binary: Path, where: Path, group: str) -> tuple[int, list[list[str]]]:
    """Run the workload in a fresh directory `where`; (its pid, its lines)."""
    where.mkdir()
    proc = subprocess.Popen([str(binary), str(where), group], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return proc.pid, [line.split(" ") for line in out.splitlines()]


def of_actions(docs: list[dict[str, Any]], actions: tuple[str, ...]) -> list[dict[str, Any]]:
    return [d for d in docs if d["event"]["action"] in actions]


def check_outcomes(docs: list[dict[str, Any]], lines: list[list[str]]) -> None:
    """One document per call, in order, with the call's return value and errno; a file event
    (`change`, or `creation` for a new name)."""
    assert len(docs) == len(lines), [d["event"]["action"] for d in docs]
    for doc, (call, ret, err) in zip(docs, lines, strict=True):
        assert doc["event"]["action"] == call.split("-")[0], call
        assert doc["ebpf"]["ret"] == (-int(err) if ret == "-1" else int(ret)), call
        assert doc["event"]["category"] == ["file"]
        made = call.split("-")[0] in CREATING
        assert doc["event"]["type"] == (["creation"] if made else ["change"]), call
        if ret == "-1":
            assert doc["event"]["outcome"] == "failure", call
            assert doc["error"]["code"] == errno.errorcode[int(err)], call
        else:
            assert doc["event"]["outcome"] == "success", call
            assert "error" not in doc, call


class TestAttributes:
    """chmod, fchmod, fchmodat, fchmodat2, chown, fchown, lchown, fchownat."""

    def test_each_variant(self, monitor: Monitor, workdir: Path, file_ops: Path) -> None:
        """Each call is one document: the path resolved in the kernel, the mode or owner given,
        the AT_* flags named, the fd-based calls' inode after the call."""
        where = workdir / "attr"
        pid, lines = start_ops(file_ops, where, "attr")
        docs = of_actions(monitor.events_of(pid), ATTR)
        check_outcomes(docs, lines)
        by = {line[0]: doc for line, doc in zip(lines, docs, strict=True)}
        plain, odd, lnk = str(where / "plain"), f"{where}/{ODD}", str(where / "lnk")
        cases = {
            "chmod": (plain, {"mode": "0640"}, {}),
            "chmod-missing": (str(where / "missing"), {"mode": "0600"}, {}),
            "fchmod": (plain, {"mode": "4604"}, {"inode": {"mode": "104604", "uid": "0",
                                                            "gid": "0"}}),
            "fchmodat-odd": (odd, {"mode": "0611"}, {}),
            "fchmodat-dirfd": (plain, {"mode": "0620"}, {}),
            "fchmodat2-nofollow": (lnk, {"mode": "0600"}, {"flags": ["AT_SYMLINK_NOFOLLOW"]}),
            "fchmodat2-empty": (plain, {"mode": "0644"}, {
                "flags": ["AT_EMPTY_PATH"],
                "inode": {"mode": "100644", "uid": "0", "gid": "0"}}),
            "chown": (plain, {"uid": "65534", "owner": "nobody"}, {}),
            "chown-missing": (str(where / "missing"), {"uid": "0", "owner": "root", "gid": "0",
                                                        "group": "root"}, {}),
            "fchown": (plain, {"gid": "65534", "group": "nogroup"}, {
                "inode": {"mode": "100644", "uid": "65534", "gid": "65534"}}),
            "lchown": (lnk, {"uid": "65534", "owner": "nobody", "gid": "65534",
                             "group": "nogroup"}, {"flags": ["AT_SYMLINK_NOFOLLOW"]}),
            "fchownat-nofollow": (plain, {"uid": "0", "owner": "root", "gid": "0",
                                          "group": "root"}, {"flags": ["AT_SYMLINK_NOFOLLOW"]}),
            "fchownat-empty": (odd, {"uid": "0", "owner": "root"}, {
                "flags": ["AT_EMPTY_PATH"],
                "inode": {"mode": "100611", "uid": "0", "gid": "0"}}),
            "fchownat-badflag": (plain, {"uid": "0", "owner": "root", "gid": "0",
                                         "group": "root"}, {"flags": ["0x8000000"]}),
        }
        for call, (path, fields, ebpf) in cases.items():
            doc = by[call]
            want = {"path": path, "name": path.rpartition("/")[2],
                    "directory": path.rpartition("/")[0], **fields}
            assert doc["file"] == want, call
            for key, value in ebpf.items():
                assert doc["ebpf"][key] == value, (call, key)
            if "inode" not in ebpf:
                assert "inode" not in doc["ebpf"], call
        # fd-based calls name their fd; *at calls a dir fd other than AT_FDCWD
        assert by["fchmod"]["ebpf"]["fd"] >= 3
        assert "dfd" in by["fchmodat-dirfd"]["ebpf"] and "dfd" not in by["fchmodat-odd"]["ebpf"]
        # a bad fd: no path to name, the change asked for still recorded with its errno
        assert by["fchmod-badfd"]["file"] == {"mode": "0600"}
        assert by["fchmod-badfd"]["ebpf"]["fd"] == 999
        assert by["fchown-badfd"]["file"] == {"uid": "0", "owner": "root", "gid": "0",
                                              "group": "root"}

    def test_filters(self, monitor: Monitor, workdir: Path, file_ops: Path) -> None:
        """An ignored path prefix leaves only the calls on a bad fd (no path to filter by); an
        ignored process name leaves none."""
        ignored = workdir / "ignored"
        pid, _ = start_ops(file_ops, ignored / "attr", "attr")
        left = of_actions(monitor.events_of(pid), ATTR)
        assert [(d["event"]["action"], d["ebpf"]["fd"]) for d in left] == [
            ("fchmod", 999), ("fchown", 999)]
        assert all("path" not in d["file"] for d in left)
        renamed = workdir / "ignoreme"
        shutil.copy(file_ops, renamed)
        pid, _ = start_ops(renamed, workdir / "attr-ignored-comm", "attr")
        # Its exit is filtered too: wait for a later process's exit instead (one ring, one
        # order: the ignored one's events would be in by then).
        later, _ = start_ops(file_ops, workdir / "attr-after-ignored", "attr")
        monitor.events_of(later)
        assert not [d for d in monitor.events() if d.get("process", {}).get("pid") == pid
                    and d["event"]["action"] != "execve"]


NAMES = ("link", "linkat", "symlink", "symlinkat", "mkdir", "mkdirat", "mknod", "mknodat",
         "truncate", "ftruncate")


class TestNames:
    """link, linkat, symlink, symlinkat, mkdir, mkdirat, mknod, mknodat, truncate, ftruncate."""

    def test_each_variant(self, monitor: Monitor, workdir: Path, file_ops: Path) -> None:
        """Each call is one document: both names of a link (a symlink's text as given), the
        type, mode and device of a new node, the length of a truncate."""
        where = workdir / "names"
        pid, lines = start_ops(file_ops, where, "names")
        docs = of_actions(monitor.events_of(pid), NAMES)
        check_outcomes(docs, lines)
        by = {line[0]: doc for line, doc in zip(lines, docs, strict=True)}

        def at(name: str) -> dict[str, Any]:
            path = f"{where}/{name}"
            return {"path": path, "name": name, "directory": str(where)}

        files = {
            "link": {**at("hard"), "target_path": f"{where}/plain"},
            "link-missing": {**at("x"), "target_path": f"{where}/missing"},
            "linkat-follow": {**at("hard2"), "target_path": f"{where}/plain"},
            "linkat-empty": {**at("hard3"), "target_path": f"{where}/plain"},
            "linkat-exists": {**at("hard"), "target_path": f"{where}/plain"},
            "symlink": {**at("sl"), "type": "symlink", "target_path": "../not/resolved"},
            "symlink-exists": {**at("sl"), "type": "symlink", "target_path": "x"},
            "symlinkat-odd": {**at(ODD), "type": "symlink", "target_path": "plain"},
            "mkdir": {**at("d"), "type": "dir", "mode": "0750"},
            "mkdir-exists": {**at("d"), "type": "dir", "mode": "0700"},
            "mkdirat": {**at("d2"), "type": "dir", "mode": "1777"},
            "mknod-fifo": {**at("fifo"), "type": "fifo", "mode": "0640"},
            "mknod-char": {**at("null2"), "type": "char_device", "mode": "0600"},
            "mknodat-reg": {**at("reg"), "type": "file", "mode": "0600"},
            "mknodat-block": {**at("blk"), "type": "block_device", "mode": "0600"},
            "mknodat-missing": {"path": f"{where}/missing/x", "name": "x",
                                "directory": f"{where}/missing", "type": "fifo",
                                "mode": "0600"},
            "truncate": at("plain"),
            "truncate-missing": at("missing"),
            "ftruncate": at("plain"),
        }
        for call, want in files.items():
            assert by[call]["file"] == want, call
        assert by["linkat-follow"]["ebpf"]["flags"] == ["AT_SYMLINK_FOLLOW"]
        assert by["linkat-empty"]["ebpf"]["flags"] == ["AT_EMPTY_PATH"]
        assert "flags" not in by["link"]["ebpf"]
        assert by["mknod-char"]["ebpf"]["device"] == {"major": 1, "minor": 3}
        assert by["mknodat-block"]["ebpf"]["device"] == {"major": 259, "minor": 70000}
        assert "device" not in by["mknod-fifo"]["ebpf"]
        assert "dfd" in by["mkdirat"]["ebpf"] and "dfd" not in by["mkdir"]["ebpf"]
        assert by["truncate"]["ebpf"]["length"] == 100
        assert by["ftruncate"]["ebpf"]["length"] == 7 and by["ftruncate"]["ebpf"]["fd"] >= 3
        bad = by["ftruncate-badfd"]
        assert "file" not in bad and bad["ebpf"]["fd"] == 999 and bad["ebpf"]["length"] == 0

    def test_filters(self, monitor: Monitor, workdir: Path, file_ops: Path) -> None:
        """Under an ignored path prefix only the call on a bad fd is left (no path to filter
        by)."""
        pid, _ = start_ops(file_ops, workdir / "ignored" / "names", "names")
        left = of_actions(monitor.events_of(pid), NAMES)
        assert [(d["event"]["action"], d["ebpf"].get("fd")) for d in left] == [
            ("ftruncate", 999)]


class TestOpenFlags:
    """Open flags by the kernel's names (issue #12: 0x8000 appeared raw)."""

    def test_named_by_kernel_values(self, monitor: Monitor, workdir: Path,
                                    file_ops: Path) -> None:
        """O_LARGEFILE, O_TMPFILE, O_SYNC, O_NOATIME named; an unknown bit stays in hex."""
        pid, lines = start_ops(file_ops, workdir / "flags", "flags")
        docs = [d for d in monitor.events_of(pid) if d["event"]["action"] == "openat"
                and d["file"]["path"].startswith(str(workdir / "flags"))]
        assert [d["ebpf"]["flags"] for d in docs] == [
            ["O_RDWR", "O_CREAT", "O_LARGEFILE"],
            ["O_RDWR", "O_TMPFILE"],
            ["O_WRONLY", "O_SYNC", "O_NOATIME"],
            ["O_RDONLY", "0x40000000"],
        ]
        assert [d["ebpf"]["ret"] >= 0 for d in docs] == [line[1] != "-1" for line in lines]
