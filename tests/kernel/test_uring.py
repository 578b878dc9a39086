"""io_uring under the monitor: io_uring_setup, and operations submitted through a ring (which
pass no syscall tracepoint) recorded as the syscalls they do the work of, with their result."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Monitor

SOURCE = Path(__file__).with_name("uring_work.c")


@pytest.fixture(scope="module")
def uring_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/kernel/uring_work.c built against liburing (Debian liburing-dev)."""
    out = tmp_path_factory.mktemp("uring") / "uring_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(SOURCE), "-luring"], check=True,
                   capture_output=True, text=True)
    return out


def _one(docs: list[dict[str, Any]], action: str, user_data: int) -> dict[str, Any]:
    found = [d for d in docs if d["event"]["action"] == action
             and d["ebpf"].get("io_uring", {}).get("user_data") == user_data]
    assert len(found) == 1, (action, user_data, [d["event"]["action"] for d in docs])
    return found[0]


class TestIoUring:
    """Each operation once, with the fd's name, the result, and failures named."""

    def test_operations(self, monitor: Monitor, workdir: Path, uring_work: Path) -> None:
        """openat, write, read, fsync, connect, send through a ring; ENOENT and EBADF."""
        path = str(workdir / "through ring ü.txt")
        missing = str(workdir / "no such file")
        proc = subprocess.run([str(uring_work), path, missing], capture_output=True, text=True,
                              check=True, timeout=60)
        g = json.loads(proc.stdout)
        docs = monitor.events_of(g["pid"])
        setup = [d for d in docs if d["event"]["action"] == "io_uring_setup"]
        assert len(setup) == 2
        assert setup[0]["ebpf"]["fd"] == g["ring"]
        assert setup[0]["ebpf"]["io_uring"] == {"entries": 8}
        assert setup[1]["ebpf"]["io_uring"] == {"entries": 4,
                                                "setup_flags": ["IORING_SETUP_SQPOLL"]}

        op = _one(docs, "openat", 101)
        assert op["file"]["path"] == path and op["ebpf"]["fd"] == g["fd"]
        assert op["ebpf"]["io_uring"]["opcode"] == "OPENAT"
        assert op["event"]["outcome"] == "success"
        wr = _one(docs, "write", 102)
        assert wr["file"]["path"] == path and wr["ebpf"]["fd"] == g["fd"]
        assert wr["ebpf"]["bytes"] == 16 and wr["event"]["type"] == ["change"]
        rd = _one(docs, "read", 103)
        assert rd["file"]["path"] == path and rd["ebpf"]["bytes"] == 16
        assert rd["ebpf"]["io_uring"]["opcode"] == "READ"
        miss = _one(docs, "openat", 104)
        assert miss["error"]["code"] == "ENOENT" and miss["file"]["path"] == missing
        bad = _one(docs, "read", 105)
        assert bad["error"]["code"] == "EBADF" and bad["ebpf"]["fd"] == 999
        fsync = _one(docs, "io_uring", 106)  # no syscall of its own in the monitor
        assert fsync["ebpf"]["io_uring"]["opcode"] == "FSYNC"
        assert fsync["file"]["path"] == path and fsync["ebpf"]["fd"] == g["fd"]
        con = _one(docs, "connect", 107)
        assert con["destination"] == {"ip": "127.0.0.1", "port": g["port"]}
        assert con["ebpf"]["fd"] == g["cli"] and con["event"]["outcome"] == "success"
        send = _one(docs, "sendto", 108)
        assert send["ebpf"]["bytes"] == 4
        assert send["destination"] == {"ip": "127.0.0.1", "port": g["port"]}
        # Submitted by the SQPOLL thread (a thread of the same process), a registered file.
        fixed = _one(docs, "read", 109)
        assert fixed["ebpf"]["io_uring"]["sq_thread"] is True
        assert fixed["ebpf"]["io_uring"]["fixed_file"] is True
        assert fixed["ebpf"]["io_uring"]["fixed_file_index"] == 0
        assert "fd" not in fixed["ebpf"] and fixed["ebpf"]["bytes"] == 16


class TestIoUringFilters:
    """Ring operations obey the same filters as the syscalls they stand for."""

    def test_ignored_path_and_comm(self, monitor: Monitor, workdir: Path,
                                   uring_work: Path) -> None:
        """An openat of an ignored path, and the fd's I/O, are not sent; a process in
        ignore_comms sends nothing but its exec."""
        ignored = workdir / "ignored" / "through ring.txt"
        proc = subprocess.run([str(uring_work), str(ignored), str(workdir / "none")],
                              capture_output=True, text=True, check=True, timeout=60)
        g = json.loads(proc.stdout)
        docs = monitor.events_of(g["pid"])
        tags = {d["ebpf"].get("io_uring", {}).get("user_data") for d in docs}
        assert not tags & {101, 102, 103, 106}, "the ignored file's open, I/O, fsync"
        assert {104, 105, 107, 108} <= tags
        # A registered file has no fd the kernel's table names: its read is sent, unnamed.
        fixed = _one(docs, "read", 109)
        assert "file" not in fixed and fixed["ebpf"]["io_uring"]["fixed_file"] is True
        named = workdir / "ignoreme"
        named.write_bytes(uring_work.read_bytes())
        named.chmod(0o755)
        proc = subprocess.run([str(named), str(workdir / "by-ignored"), str(workdir / "none")],
                              capture_output=True, text=True, check=True, timeout=60)
        pid = json.loads(proc.stdout)["pid"]
        marker = subprocess.run(["/bin/true"], check=True)
        assert marker.returncode == 0
        monitor.wait_for(lambda d: d["event"]["action"] == "exit"
                         and d["process"].get("executable") == "/bin/true")
        mine = [d for d in monitor.events() if d.get("process", {}).get("pid") == pid]
        # Its SQPOLL thread (comm iou-sqp-<pid>) is judged by the process's name too. The
        # process's exit may come from that thread (the last to go), named after it: the exit
        # hook's business, not a ring operation's.
        assert mine and {d["event"]["action"] for d in mine} <= {"execve", "exit"}
