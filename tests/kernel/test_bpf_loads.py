"""bpf(2) program loads by other processes against real syscalls: type, instruction count and
name; a failed load; other bpf commands and the monitor's own calls not recorded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO, Monitor

BPF_WORK_C = REPO / "tests" / "kernel" / "bpf_work.c"


@pytest.fixture(scope="module")
def bpf_work(workdir: Path) -> Path:
    out = workdir / "bpf_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(BPF_WORK_C)], check=True,
                   capture_output=True, text=True)
    return out


class TestBpfLoads:
    """BPF_PROG_LOAD recorded with what was loaded; nothing else of bpf(2)."""

    def test_prog_load(self, monitor: Monitor, bpf_work: Path) -> None:
        """A socket filter loads (its fd returned), an empty one fails with E2BIG, a map
        lookup is not recorded; the monitor's own bpf(2) calls never are."""
        proc = subprocess.run([str(bpf_work)], capture_output=True, text=True, timeout=60,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        pid = int(proc.stdout.split()[0])
        docs = [d for d in monitor.events_of(pid) if d["event"]["action"] == "bpf"]
        assert len(docs) == 2
        ok, bad = docs
        assert ok["ebpf"]["bpf"] == {"command": "BPF_PROG_LOAD", "prog_type": "SOCKET_FILTER",
                                     "insn_cnt": 2, "prog_flags": 0,
                                     "prog_name": "em_test_prog", "prog_fd": ok["ebpf"]["ret"]}
        assert ok["ebpf"]["ret"] >= 3
        assert ok["event"]["category"] == ["configuration"]
        assert ok["event"]["type"] == ["change"]
        assert bad["error"]["code"] == "E2BIG"
        assert bad["ebpf"]["bpf"]["insn_cnt"] == 0 and "prog_fd" not in bad["ebpf"]["bpf"]
        assert not [d for d in monitor.events() if d["event"]["action"] == "bpf"
                    and d["process"]["pid"] == monitor.pid]
