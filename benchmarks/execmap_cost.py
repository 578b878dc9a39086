"""What the mmap/mprotect PROT_EXEC hooks cost: a fork+exec loop and an mmap loop, with the
hooks off (capture.exec_mappings "none"), on (the default: libraries not sent) and on for
libraries too (filters.ignore_library_mappings false), against no BPF at all; plus bpf_stats of
the hooks' programs.

    sudo .venv/bin/python -m benchmarks.execmap_cost [--rounds 3] [--secs 3]

Each setup loads the monitor's object in this process (as benchmarks/hook_cost.py), runs
benchmarks/workload.c `forkexec SECS` and benchmarks/mmap_loop.c, and drains the ring after
each run. Setups alternate round by round, so drift of the shared host spreads over all; the
table gives each setup's median and its ratio to "none" of the same run. bpf_stats
(kernel.bpf_stats_enabled) is on only during the "all" setups' runs, then put back. For
benchmarks/findings.md, "Issue 12: new hooks, per-program cost", mmap-mod.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ebpf_monitor import _libbpf as bpf
from ebpf_monitor.config import Config
from ebpf_monitor.loader import BpfMonitor
from ebpf_monitor.ringbuf import RingReader

HERE = Path(__file__).resolve().parent
SETUPS: dict[str, dict[str, Any] | None] = {
    "bare": None,
    "none": {"capture": {"exec_mappings": "none"}},
    "all": {},
    "all+libs": {"filters": {"ignore_library_mappings": False}},
}
HOOKS = ("sys_exit_mmap", "sys_enter_mprotect", "sys_exit_mprotect")


def _fdinfo(fd: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines() if ":" in line)
    return int(fields.get("run_cnt", 0)), int(fields.get("run_time_ns", 0))


def _rate(cmd: list[str]) -> float:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]) / float(out[1])


def _one(setup: str, cmds: dict[str, list[str]], stats: dict[str, list[int]] | None = None
         ) -> dict[str, float]:
    """Rates of cmds under `setup`; with `stats`, bpf_stats on for the run and the hooks'
    run counts and times added to it."""
    config = SETUPS[setup]
    if config is None:
        return {name: _rate(cmd) for name, cmd in cmds.items()}
    cfg = Config.model_validate(config)
    fd_of = bpf.lib.bpf_program__fd
    fd_of.argtypes, fd_of.restype = [ctypes.c_void_p], ctypes.c_int
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    sysctl = Path("/proc/sys/kernel/bpf_stats_enabled")
    old = sysctl.read_text().strip()
    try:
        reader = RingReader(mon.ring_fd, mon.ring_size)
        progs = {name: fd_of(p) for p, name, _ in mon._programs()
                 if name.endswith(HOOKS) and bpf.lib.bpf_program__autoload(p)}
        if stats is not None:
            sysctl.write_text("1")
        before = {n: _fdinfo(fd) for n, fd in progs.items()}
        out = {}
        for name, cmd in cmds.items():
            out[name] = _rate(cmd)
            reader.read()
        for n, fd in progs.items() if stats is not None else ():
            runs, ns = _fdinfo(fd)
            row = stats.setdefault(f"{setup} {n.removeprefix('tracepoint__syscalls__')}", [0, 0])
            row[0] += runs - before[n][0]
            row[1] += ns - before[n][1]
        reader.close()
    finally:
        sysctl.write_text(old)
        mon.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=3)
    ap.add_argument("--mmaps", type=int, default=300_000)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("execmap_cost.py: loads BPF programs: run as root", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work, loop = Path(tmp) / "workload", Path(tmp) / "mmap_loop"
        subprocess.run(["gcc", "-O2", "-o", str(work), str(HERE / "workload.c")], check=True)
        subprocess.run(["gcc", "-O2", "-o", str(loop), str(HERE / "mmap_loop.c")], check=True)
        cmds = {"fork+exec/s": [str(work), "forkexec", str(a.secs)],
                "mmap+munmap/s": [str(loop), str(a.mmaps)]}
        rates: dict[str, dict[str, list[float]]] = {s: {} for s in SETUPS}
        stats: dict[str, list[int]] = {}
        for r in range(a.rounds):
            order = list(SETUPS)[r % len(SETUPS):] + list(SETUPS)[:r % len(SETUPS)]
            for setup in order:
                for name, value in _one(setup, cmds).items():
                    rates[setup].setdefault(name, []).append(value)
        for setup in ("all", "all+libs"):  # apart: bpf_stats slows every program while on
            _one(setup, cmds, stats)
    names = list(cmds)
    print("| setup | " + " | ".join(f"{n} (median) | vs none" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for setup in SETUPS:
        cells = []
        for n in names:
            med = statistics.median(rates[setup][n])
            base = statistics.median(rates["none"][n])
            cells.append(f"{med:,.0f} | {med / base:.3f}")
        print(f"| {setup} | " + " | ".join(cells) + " |")
    print("\n| setup, program | runs | ns/run |\n|---|---|---|")
    for key, (runs, ns) in sorted(stats.items()):
        print(f"| {key} | {runs:,} | {ns // runs if runs else 0:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
