"""Which cgroup, and so which container, an event came from.

The kernel gives each record the id of its task's cgroup v2 (bpf_get_current_cgroup_id: the
inode number of the cgroup's directory in cgroupfs). User space names it once per id: the path
in /proc/<pid>/cgroup, checked against the id (a process may have moved), else a walk of the
cgroup2 mount that indexes every directory by inode (a process already gone). Container
runtimes name their cgroups after the container, so the path says which one (`container_of`).

On a host whose cgroup v2 holds no processes (cgroup v1 or hybrid: every task in v2's root),
the v1 lines of /proc/<pid>/cgroup are read instead, per process (`container_of_lines`).
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

__all__ = ["CgroupResolver", "container_of", "container_of_lines", "unescape_unit"]

_HEX64 = r"[0-9a-f]{64}"
# Innermost first: the last component that names a container wins (nested runtimes).
_SCOPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^docker-({_HEX64})\.scope$"), "docker"),
    (re.compile(rf"^cri-containerd-({_HEX64})\.scope$"), "containerd"),
    (re.compile(rf"^crio-({_HEX64})\.scope$"), "cri-o"),
    (re.compile(rf"^libpod-({_HEX64})\.scope$"), "podman"),
]
_DIRS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"/docker/({_HEX64})$"), "docker"),       # cgroupfs driver
    (re.compile(rf"/libpod_parent/libpod-({_HEX64})$"), "podman"),
]
_MACHINE = re.compile(r"^machine-(.+)\.scope$")
_POD_SYSTEMD = re.compile(r"^kubepods(?:-[a-z]+)*-pod([0-9a-f_]{36})\.slice$")
_POD_CGROUPFS = re.compile(r"^pod([0-9a-f-]{36})$")
_K8S_CONTAINER = re.compile(rf"^{_HEX64}$")
_UNIT_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")


def unescape_unit(name: str) -> str:
    """A systemd unit name's `\\xNN` escapes undone (machine-foo\\x2dbar.scope: foo-bar)."""
    return _UNIT_ESCAPE.sub(lambda m: chr(int(m[1], 16)), name)


def container_of(path: str) -> dict[str, Any] | None:
    """The ECS `container` (id, runtime; name for systemd-nspawn) and, for a Kubernetes pod,
    `orchestrator`, of a cgroup path; None when the path names no container."""
    if not path or path == "/":
        return None
    parts = path.rstrip("/").split("/")
    out: dict[str, Any] = {}
    pod = None
    in_kubepods = False
    for i, part in enumerate(parts):
        if part.startswith("kubepods"):
            in_kubepods = True
        m = _POD_SYSTEMD.match(part)
        if m:
            pod = m[1].replace("_", "-")
            continue
        if in_kubepods and (m := _POD_CGROUPFS.match(part)):
            pod = m[1]
            continue
        for rx, runtime in _SCOPES:
            if m := rx.match(part):
                out = {"id": m[1], "runtime": runtime}
                break
        else:
            so_far = "/".join(parts[: i + 1])
            if m := _MACHINE.match(part):
                name = unescape_unit(m[1])
                if not name.startswith("qemu-"):  # libvirt puts VMs there too
                    out = {"name": name, "runtime": "systemd-nspawn"}
            elif found := next(({"id": m[1], "runtime": runtime} for rx, runtime in _DIRS
                                if (m := rx.search(so_far))), None):
                out = found
            elif pod is not None and _K8S_CONTAINER.match(part):
                out = {"id": part}  # cgroupfs driver: the runtime is not in the path
    if not out and pod is None:
        return None
    doc: dict[str, Any] = {}
    if out:
        doc["container"] = out
    if pod is not None:
        doc["orchestrator"] = {"type": "kubernetes", "resource": {"type": "pod", "id": pod}}
    return doc


def container_of_lines(text: str) -> dict[str, Any] | None:
    """`container_of` over every hierarchy's line of a /proc/<pid>/cgroup (v1 hosts)."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        found = container_of(path)
        if found is not None:
            return found
    return None


def _v2_mount() -> str | None:
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                if post.split(" ", 1)[0] == "cgroup2":
                    return pre.split(" ")[4]
    except OSError:
        pass
    return None


class CgroupResolver:
    """cgroup v2 id -> path (relative to the cgroup2 mount), cached per id."""

    WALK_MAX = 50_000
    """Directories a walk looks at, at most (a host has a few hundred to a few thousand)."""

    def __init__(self, mount: str | None = "") -> None:
        """`mount`: the cgroup2 mount point; "" finds it in /proc/self/mountinfo; None: none."""
        self.mount = _v2_mount() if mount == "" else mount
        self._paths: dict[int, str | None] = {}
        self._walked: dict[int, str] = {}

    def path(self, pid: int, cgid: int) -> str | None:
        if cgid in self._paths:
            return self._paths[cgid]
        found = self._lookup(pid, cgid)
        if len(self._paths) >= 16384:
            del self._paths[next(iter(self._paths))]
        self._paths[cgid] = found
        return found

    def _lookup(self, pid: int, cgid: int) -> str | None:
        if self.mount is None:
            return None
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                for line in f:
                    if line.startswith("0::"):
                        rel = line[3:].rstrip("\n")
                        if os.stat(self.mount + rel).st_ino == cgid:
                            return rel
        except OSError:
            pass
        if cgid not in self._walked:
            # A fresh walk per unknown id: the answer is then final (ids are never reused), so
            # a deleted cgroup costs one walk, once.
            self._walk()
        return self._walked.get(cgid)

    def _walk(self) -> None:
        """Index the cgroup2 tree by inode (a process gone before its first event was read)."""
        assert self.mount is not None
        index: dict[int, str] = {}
        todo = [""]
        seen = 0
        while todo and seen < self.WALK_MAX:
            rel = todo.pop()
            try:
                with os.scandir(self.mount + rel or "/") as it:
                    for entry in it:
                        if entry.is_dir(follow_symlinks=False):
                            sub = f"{rel}/{entry.name}"
                            index[entry.inode()] = sub
                            todo.append(sub)
                            seen += 1
            except OSError:
                continue
        with contextlib.suppress(OSError):
            index[os.stat(self.mount).st_ino] = "/"
        self._walked = index

    @staticmethod
    def proc_lines(pid: int) -> str | None:
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                return f.read()
        except OSError:
            return None
