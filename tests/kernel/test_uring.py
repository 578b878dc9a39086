"""io_uring under the monitor: io_uring_setup, and operations submitted through a ring (which
pass no syscall tracepoint) recorded as the syscalls they do the work of, with their result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Monitor, wait_until

SOURCE = Path(__file__).with_name("uring_work.c")
EXIT_SOURCE = Path(__file__).with_name("uring_exit.c")


@pytest.fixture(scope="module")
def uring_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/kernel/uring_work.c built against liburing (Debian liburing-dev)."""
    out = tmp_path_factory.mktemp("uring") / "uring_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(SOURCE), "-luring"], check=True,
                   capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def uring_exit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/kernel/uring_exit.c: a process left with only its SQPOLL thread."""
    out = tmp_path_factory.mktemp("uring") / "uring_exit"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(EXIT_SOURCE), "-luring"],
                   check=True, capture_output=True, text=True)
    return out


def _threads(pid: int) -> dict[int, tuple[str, str]]:
    """Each thread of pid: (comm, state letter)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        out[int(task.name)] = (stat[stat.index("(") + 1:stat.rindex(")")],
                               stat.rsplit(")", 1)[1].split()[0])
    return out


def _exit_by_sqpoll_thread(program: Path) -> tuple[int, int]:
    """Run `program` (uring_exit), wait until its main thread is gone and its SQPOLL thread
    alone runs it, kill it; returns (pid, the SQPOLL thread's tid)."""
    proc = subprocess.Popen([str(program)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        with proc.stdout:
            pid = int(proc.stdout.readline())

        def alone() -> int | None:
            threads = _threads(pid)
            left = [tid for tid, (comm, _) in threads.items() if tid != pid]
            # The SQPOLL thread names itself once it first runs (a loaded host may not have
            # run it yet): wait for that too.
            if (threads[pid][1] == "Z" and len(left) == 1
                    and threads[left[0]][0] == f"iou-sqp-{pid}"):
                return left[0]
            return None

        sqpoll = wait_until(alone, timeout=30, what=f"pid {pid} left with its SQPOLL thread",
                            seen=lambda: _threads(pid))
        os.kill(pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    return pid, sqpoll


def _one(docs: list[dict[str, Any]], action: str, user_data: int) -> dict[str, Any]:
    found = [d for d in docs if d["event"]["action"] == action
             and d["ebpf"].get("io_uring", {}).get("user_data") == user_data]
    assert len(found) == 1, (action, user_data, [d["event"]["action"] for d in docs])
    return found[0]


class TestIoUring:
    """Each operation once, with the fd's name, the result, and failures named."""

    def test_operations(self, monitor: Monitor, workdir: Path, uring_work: Path) -> None:
        """openat, write, read, fsync, nop, connect, send through a ring; ENOENT and EBADF."""
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
        # No fd: not its request's stale one (0, stdin: /dev/null, a filtered path, under
        # pytest), which dropped it whenever the decoder could still name the fd.
        nop = _one(docs, "io_uring", 110)
        assert nop["ebpf"]["io_uring"]["opcode"] == "NOP"
        assert "fd" not in nop["ebpf"] and "file" not in nop
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
        # Its SQPOLL thread (comm iou-sqp-<pid>) is judged by the process's name too, and so
        # is the exit, whichever thread goes last.
        assert [d["event"]["action"] for d in mine] == ["execve"]


class TestSqpollExit:
    """A process whose SQPOLL thread goes last exits under the process's name."""

    def test_named_by_the_process(self, monitor: Monitor, uring_exit: Path) -> None:
        """The exit, made by thread iou-sqp-<pid>, carries the executable's name and the
        process's status (killed), not the thread's (0)."""
        pid, sqpoll = _exit_by_sqpoll_thread(uring_exit)
        (done,) = [d for d in monitor.events_of(pid) if d["event"]["action"] == "exit"]
        assert done["process"]["thread"]["id"] == sqpoll  # the thread's exit, indeed
        assert done["process"]["name"] == "uring_exit"
        assert done["process"]["exit_code"] == 128 + signal.SIGKILL

    def test_ignored_comm(self, monitor: Monitor, workdir: Path, uring_exit: Path) -> None:
        """A process in ignore_comms sends no exit, though its last thread has another name."""
        named = workdir / "exit" / "ignoreme"
        named.parent.mkdir()
        named.write_bytes(uring_exit.read_bytes())
        named.chmod(0o755)
        pid, _ = _exit_by_sqpoll_thread(named)
        marker = subprocess.Popen(["/bin/true"])
        assert marker.wait(timeout=60) == 0
        monitor.events_of(marker.pid)  # recorded after any exit of pid
        mine = [d["event"]["action"] for d in monitor.events()
                if d.get("process", {}).get("pid") == pid]
        assert mine == ["execve"]
