"""Per-program cost of the monitor's BPF programs under a workload, from the kernel's bpf_stats.

    sudo .venv/bin/python -m benchmarks.hook_cost --match setuid,capset -n 200 -- CMD [ARGS]

Loads the monitor's BPF object in this process (default config), turns on
kernel.bpf_stats_enabled only for the run (global: every BPF program on the host pays ~20 ns
per run while it is on) and puts the old value back, runs CMD n times, draining the ring
between runs, and prints for each program whose full name holds one of the --match words its
runs and ns per run (run_cnt, run_time_ns from the program fd's fdinfo: bpftool shows names cut
to 15 characters, which the tracepoint programs share). For benchmarks/findings.md, "Issue 12".
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
from pathlib import Path

from ebpf_monitor import _libbpf as bpf
from ebpf_monitor.config import Config
from ebpf_monitor.loader import BpfMonitor
from ebpf_monitor.ringbuf import RingReader


def _fdinfo(fd: int) -> tuple[int, int]:
    """(run_cnt, run_time_ns) of a program fd of this process."""
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines() if ":" in line)
    return int(fields.get("run_cnt", 0)), int(fields.get("run_time_ns", 0))


def measure(cmd: list[str], n: int, match: list[str]) -> list[tuple[str, int, int]]:
    """(program, runs, ns per run) of the matching programs over n runs of cmd."""
    fd_of = bpf.lib.bpf_program__fd
    fd_of.argtypes, fd_of.restype = [ctypes.c_void_p], ctypes.c_int
    cfg = Config()
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    try:
        reader = RingReader(mon.ring_fd, mon.ring_size)
        progs = {name: fd_of(prog) for prog, name, _ in mon._programs()
                 if any(m in name for m in match) and bpf.lib.bpf_program__autoload(prog)}
        before = {name: _fdinfo(fd) for name, fd in progs.items()}
        for _ in range(n):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            reader.read()
        after = {name: _fdinfo(fd) for name, fd in progs.items()}
        reader.close()
    finally:
        mon.close()
    rows = []
    for name in sorted(progs):
        runs = after[name][0] - before[name][0]
        took = after[name][1] - before[name][1]
        rows.append((name, runs, took // runs if runs else 0))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--match", required=True, help="comma-separated parts of program names")
    ap.add_argument("-n", type=int, default=100, help="runs of the command")
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("hook_cost.py: loads BPF programs: run as root", file=sys.stderr)
        return 2
    sysctl = Path("/proc/sys/kernel/bpf_stats_enabled")
    old = sysctl.read_text().strip()
    sysctl.write_text("1")
    try:
        rows = measure(a.cmd, a.n, a.match.split(","))
    finally:
        sysctl.write_text(old)
    print("| program | runs | ns/run |")
    print("|---|---|---|")
    for name, runs, ns in rows:
        print(f"| {name.removeprefix('tracepoint__syscalls__')} | {runs:,} | {ns:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
