#!/usr/bin/env python3
"""Per-program cost of the issue #12 file hooks (hooks-file), from bpf_stats.

    sudo .venv/bin/python -m benchmarks.hook_cost_file_ops [--runs N] [--group attr]

Starts the monitor (default config), turns kernel.bpf_stats_enabled on only for the measured
runs (global: every BPF program pays ~20 ns per run while it is on) and back to what it was,
runs tests/kernel/workloads/file_ops.c N times per group (each run: every variant of the group,
successes and failures), and prints run count and ns per run of each of the group's programs,
read from `bpftool prog show` for the programs the monitor holds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.percpu.room import _prog_stats
from benchmarks.setups import BenchMonitor

SOURCE = Path(__file__).resolve().parents[1] / "tests" / "kernel" / "workloads" / "file_ops.c"
GROUPS = {"attr": ("chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown",
                   "fchownat"),
          "names": ("link", "linkat", "symlink", "symlinkat", "mkdir", "mkdirat", "mknod",
                    "mknodat", "truncate", "ftruncate")}
REFERENCE = ("openat",)
"""An existing hook measured in the same runs (the workload's own opens), for scale."""


def measure(groups: list[str], runs: int, work: Path) -> list[tuple[str, int, float]]:
    binary = work / "file_ops"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(binary), str(SOURCE)], check=True)
    mon = BenchMonitor(work / "mon", {})
    rows = []
    with mon.running():
        time.sleep(1.5)
        sysctl = Path("/proc/sys/kernel/bpf_stats_enabled")
        old = sysctl.read_text().strip()
        sysctl.write_text("1")
        try:
            before = _prog_stats(mon.pid)
            for group in groups:
                for i in range(runs):
                    where = work / f"{group}-{i}"
                    where.mkdir()
                    subprocess.run([str(binary), str(where), group], check=True,
                                   stdout=subprocess.DEVNULL)
            after = _prog_stats(mon.pid)
        finally:
            sysctl.write_text(old)
    for group in [*groups, "reference"]:
        for call in GROUPS.get(group, REFERENCE):
            name = f"tracepoint__syscalls__sys_exit_{call}"
            cnt = after[name][0] - before.get(name, (0, 0))[0]
            ns = after[name][1] - before.get(name, (0, 0))[1]
            rows.append((call, cnt, ns / cnt if cnt else 0.0))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--group", action="append", choices=sorted(GROUPS))
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("hook_cost.py: loads BPF programs: run as root")
    with tempfile.TemporaryDirectory(prefix="hook-cost-") as tmp:
        rows = measure(a.group or sorted(GROUPS), a.runs, Path(tmp))
    print("| program (sys_exit_) | runs | ns/run |")
    print("|---|---|---|")
    for call, cnt, ns in rows:
        print(f"| {call} | {cnt} | {ns:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
