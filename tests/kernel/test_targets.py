"""Calls on another process against real syscalls: signals, ptrace, process_vm_readv/writev,
each with its target (`Target.process.*`), success and failure."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO, Doc, Monitor

TARGET_WORK_C = REPO / "tests" / "kernel" / "target_work.c"
NO_SUCH_PID = 999999
ACTIONS = {"kill", "tkill", "tgkill", "pidfd_send_signal", "ptrace", "process_vm_readv",
           "process_vm_writev"}


@pytest.fixture(scope="module")
def target_work(workdir: Path) -> Path:
    out = workdir / "target_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(TARGET_WORK_C)], check=True,
                   capture_output=True, text=True)
    return out


def _run(binary: Path) -> tuple[int, int]:
    proc = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    pid, child = proc.stdout.split()
    return int(pid), int(child)


def _targets(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["event"]["action"] in ACTIONS]


class TestTargets:
    """Each call once, in order, naming its target process."""

    def test_calls_in_order(self, monitor: Monitor, target_work: Path) -> None:
        """Signals, ptrace and process_vm_*: success and failure (ESRCH, EBADF)."""
        pid, child = _run(target_work)
        docs = _targets(monitor.events_of(pid))
        assert [d["event"]["action"] for d in docs] == [
            "kill", "kill", "kill", "tkill", "tgkill", "tgkill", "pidfd_send_signal",
            "pidfd_send_signal", "pidfd_send_signal", "ptrace", "ptrace", "ptrace", "ptrace",
            "ptrace", "process_vm_readv", "process_vm_writev", "process_vm_readv", "kill"]
        (probe, missing, group, tkill, tgkill, bad_tgkill, pidfd, bad_pidfd, bad_flag, attach,
         peek, poke, detach, bad_attach, vm_read, vm_write, bad_vm, sigkill) = docs
        assert probe["Target"]["process"]["pid"] == child
        assert probe["ebpf"]["signal"] == {"number": 0, "name": "0"}
        assert probe["ebpf"]["kill_scope"] == "process"
        assert probe["event"]["category"] == ["process"] and probe["event"]["type"] == ["info"]
        assert missing["Target"]["process"]["pid"] == NO_SUCH_PID
        assert missing["ebpf"]["signal"]["name"] == "SIGTERM"
        assert missing["error"]["code"] == "ESRCH"
        assert group["ebpf"]["kill_scope"] == "process_group" and "Target" not in group
        assert tkill["Target"]["process"] == {"thread": {"id": child}}
        assert tgkill["Target"]["process"] == {"pid": child, "thread": {"id": child}}
        assert tgkill["ebpf"]["signal"]["name"] == "SIGUSR1"
        assert bad_tgkill["error"]["code"] == "ESRCH"
        assert pidfd["Target"]["process"]["pid"] == child  # resolved from the pidfd
        assert pidfd["ebpf"]["pidfd"] >= 3
        assert bad_pidfd["error"]["code"] == "EBADF" and "Target" not in bad_pidfd
        assert bad_pidfd["ebpf"]["pidfd"] == 1
        assert bad_flag["error"]["code"] == "EINVAL"
        assert bad_flag["ebpf"]["signal"]["flags"] == 32
        assert "flags" not in pidfd["ebpf"]["signal"]
        assert [d["ebpf"]["ptrace"]["request"] for d in (attach, peek, poke, detach)] == [
            "PTRACE_ATTACH", "PTRACE_PEEKDATA", "PTRACE_POKEDATA", "PTRACE_DETACH"]
        assert attach["Target"]["process"]["pid"] == child
        assert attach["event"]["type"] == ["access"] and poke["event"]["type"] == ["change"]
        assert poke["ebpf"]["ptrace"]["data"] == "0x2a"
        assert peek["ebpf"]["ptrace"]["addr"] == poke["ebpf"]["ptrace"]["addr"]
        assert bad_attach["error"]["code"] == "ESRCH"
        assert vm_read["ebpf"]["process_vm"] == {"local_iovcnt": 1, "remote_iovcnt": 1,
                                                 "bytes": 8}
        assert vm_read["event"]["type"] == ["access"]
        assert vm_write["event"]["type"] == ["change"]
        assert vm_write["Target"]["process"]["pid"] == child
        assert bad_vm["error"]["code"] == "ESRCH" and "bytes" not in bad_vm["ebpf"]["process_vm"]
        assert sigkill["ebpf"]["signal"]["name"] == "SIGKILL"

    def test_ignored_comm(self, monitor: Monitor, target_work: Path) -> None:
        """A process named in filters.ignore_comms has no such documents; nor has the monitor
        (which signals nobody, yet is excluded by pid like every event)."""
        ignored = target_work.with_name("ignoreme")
        shutil.copy2(target_work, ignored)
        pid, _ = _run(ignored)
        after, _ = _run(target_work)
        monitor.events_of(after)
        docs = monitor.events()
        assert [d for d in docs if d["event"]["action"] == "execve"
                and d["process"]["pid"] == pid], "the exec is never filtered"
        assert not _targets([d for d in docs if d.get("process", {}).get("pid") == pid])
        assert not _targets([d for d in docs
                             if d.get("process", {}).get("pid") == monitor.pid])
