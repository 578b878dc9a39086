"""Namespace and mount changes against real syscalls: setns, unshare, mount, umount2, chroot,
pivot_root, success and failure, paths made absolute in the kernel. The workload works in a
mount namespace of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO, Doc, Monitor

MOUNT_WORK_C = REPO / "tests" / "kernel" / "mount_work.c"
ACTIONS = {"setns", "unshare", "mount", "umount2", "chroot", "pivot_root"}


@pytest.fixture(scope="module")
def mount_work(workdir: Path) -> Path:
    out = workdir / "mount_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(MOUNT_WORK_C)], check=True,
                   capture_output=True, text=True)
    return out


def _run(binary: Path, where: Path) -> tuple[int, int]:
    where.mkdir()
    proc = subprocess.run([str(binary), str(where)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    pid, child = proc.stdout.split()
    return int(pid), int(child)


def _mounts(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["event"]["action"] in ACTIONS]


class TestMounts:
    """Each call once, in order, with its arguments named."""

    def test_calls_in_order(self, monitor: Monitor, mount_work: Path, workdir: Path) -> None:
        """Parent: unshare, mount, umount2, setns, pivot_root; child: unshare, chroot,
        pivot_root; failures named (EINVAL, ENODEV, ENOENT)."""
        where = workdir / "mnt dir ü"  # an odd name: a space and UTF-8
        pid, child = _run(mount_work, where)
        docs = _mounts(monitor.events_of(pid))
        kids = _mounts(monitor.events_of(child))
        assert [d["event"]["action"] for d in docs] == [
            "unshare", "unshare", "mount", "mount", "mount", "mount", "umount2", "umount2",
            "setns", "setns", "pivot_root", "umount2"]
        (unshare, bad_unshare, private, tmpfs, bad_type, bind, umount, bad_umount, setns,
         bad_setns, bad_pivot, umount_dir) = docs
        assert unshare["ebpf"]["ns"]["flags"] == ["CLONE_NEWNS", "CLONE_NEWUTS"]
        assert unshare["event"]["category"] == ["process"]
        assert unshare["event"]["type"] == ["change"]
        assert bad_unshare["error"]["code"] == "EINVAL"
        assert bad_unshare["ebpf"]["ns"]["flags"] == ["0x1"]
        assert private["ebpf"]["mount"] == {"source": "", "target": "/",
                                            "flags": ["MS_REC", "MS_PRIVATE"]}
        assert tmpfs["ebpf"]["mount"] == {"source": "tmpfs", "target": str(where),
                                          "fstype": "tmpfs",
                                          "flags": ["MS_NOSUID", "MS_NODEV"]}
        assert tmpfs["event"]["category"] == ["configuration"]
        assert tmpfs["event"]["type"] == ["creation"]
        assert bad_type["error"]["code"] == "ENODEV"
        assert bad_type["ebpf"]["mount"]["fstype"] == "nosuchfs"
        # relative paths, made absolute from the cwd in the kernel
        assert bind["ebpf"]["mount"] == {"source": f"{where}/a", "target": f"{where}/b",
                                         "flags": ["MS_BIND"]}
        assert umount["ebpf"]["mount"] == {"target": f"{where}/b", "flags": ["MNT_DETACH"]}
        assert umount["event"]["type"] == ["deletion"]
        assert bad_umount["error"]["code"] == "EINVAL"
        assert setns["ebpf"]["ns"]["type"] == ["CLONE_NEWUTS"]
        assert setns["ebpf"]["ns"]["fd"] >= 3
        # the namespace the workload made for itself: not the monitor's own
        assert setns["ebpf"]["ns"]["inode"] != os.stat("/proc/self/ns/uts").st_ino
        assert bad_setns["error"]["code"] == "EINVAL" and "inode" not in bad_setns["ebpf"]["ns"]
        assert bad_setns["ebpf"]["ns"]["type"] == ["any"]
        assert bad_pivot["error"]["code"] == "ENOENT"
        assert bad_pivot["ebpf"]["root"] == {"path": "/nonexistent",
                                             "put_old": "/nonexistent/old"}
        assert umount_dir["ebpf"]["mount"]["target"] == str(where)
        assert [d["event"]["action"] for d in kids] == ["unshare", "chroot", "pivot_root",
                                                        "chroot"]
        _, bad_chroot, pivot, chroot = kids
        assert bad_chroot["error"]["code"] == "ENOENT"
        assert bad_chroot["ebpf"]["root"] == {"path": "/nonexistent"}
        assert pivot["event"]["outcome"] == "success"
        assert pivot["ebpf"]["root"] == {"path": str(where), "put_old": f"{where}/old"}
        assert chroot["ebpf"]["root"] == {"path": "/"}

    def test_ignored_comm(self, monitor: Monitor, mount_work: Path, workdir: Path) -> None:
        """A process named in filters.ignore_comms has no such documents."""
        ignored = mount_work.with_name("ignoreme")
        shutil.copy2(mount_work, ignored)
        pid, _ = _run(ignored, workdir / "mnt-ignored")
        after, _ = _run(mount_work, workdir / "mnt-after")
        monitor.events_of(after)
        docs = monitor.events()
        assert [d for d in docs if d["event"]["action"] == "execve"
                and d["process"]["pid"] == pid], "the exec is never filtered"
        assert not _mounts([d for d in docs if d.get("process", {}).get("pid") == pid])
