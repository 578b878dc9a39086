#!/usr/bin/env python3
"""What the real path costs an open (issue 12, `ebpf.real_path`): this tree against another
tree's `src` (e.g. main's, its BPF object built), in one run.

    sudo .venv/bin/python benchmarks/realpath_cost.py --base SRC [--rounds 3] [-n 100000]

Two parts, each tree loaded alone in its own process (default config, the ring drained after
each loop, nothing else read):
- bpf_stats (kernel.bpf_stats_enabled on only for this part, then put back):
  `sys_exit_openat`'s run_time_ns / run_cnt under `workload count N PATH` for a plain path
  (no real path: the walk and the compare only) and for a path through a symlinked directory
  (the real path also written and sent).
- the open+close loop's rate (bpf_stats off): no monitor, base, this, alternating per round,
  and the ratios base/bare, this/bare, this/base within the round (the host is shared).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.workloads import build_c_workload  # noqa: E402

CHILD = r"""
import ctypes, os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from ebpf_monitor import _libbpf as bpf
from ebpf_monitor.config import Config
from ebpf_monitor.loader import BpfMonitor
from ebpf_monitor.ringbuf import RingReader
workload, n, paths = sys.argv[2], sys.argv[3], sys.argv[4:]
fd_of = bpf.lib.bpf_program__fd
fd_of.argtypes, fd_of.restype = [ctypes.c_void_p], ctypes.c_int
cfg = Config()
mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
reader = RingReader(mon.ring_fd, mon.ring_size)
prog = [fd_of(p) for p, name, _ in mon._programs() if name.endswith("sys_exit_openat")][0]
def stats():
    f = dict(l.split(":", 1) for l in open(f"/proc/self/fdinfo/{prog}").read().splitlines()
             if ":" in l)
    return int(f.get("run_cnt", 0)), int(f.get("run_time_ns", 0))
for path in paths:
    reader.read()
    c0, t0 = stats()
    w0 = time.perf_counter()
    subprocess.run([workload, "count", n, path], check=True, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - w0
    c1, t1 = stats()
    reader.read()
    print(path, int(n) / took, (t1 - t0) // max(c1 - c0, 1), flush=True)
reader.close()
mon.close()
"""


def run(src: str | None, workload: Path, n: int, paths: list[str]) -> list[tuple[float, int]]:
    """(opens/s, ns per sys_exit_openat run) per path; src None: no monitor."""
    if src is None:
        out = []
        for path in paths:
            t0 = time.perf_counter()
            subprocess.run([str(workload), "count", str(n), path], check=True,
                           stdout=subprocess.DEVNULL)
            out.append((n / (time.perf_counter() - t0), 0))
        return out
    res = subprocess.run([sys.executable, "-c", CHILD, src, str(workload), str(n), *paths],
                         check=True, capture_output=True, text=True).stdout
    return [(float(line.split()[-2]), int(line.split()[-1])) for line in res.splitlines()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the other tree's src directory")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-n", type=int, default=100_000)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("realpath_cost.py: loads BPF programs: run as root", file=sys.stderr)
        return 2
    this = str(REPO / "src")
    with tempfile.TemporaryDirectory() as tmp:
        workload = build_c_workload(Path(tmp) / "workload")
        real = Path(tmp) / "real"
        real.mkdir()
        (real / "f").write_bytes(b"")
        (Path(tmp) / "link").symlink_to(real)
        plain, linked = str(real / "f"), f"{tmp}/link/f"
        sysctl = Path("/proc/sys/kernel/bpf_stats_enabled")
        old = sysctl.read_text().strip()
        sysctl.write_text("1")
        try:
            print("| round | tree | ns/run plain | ns/run via symlink |")
            print("|---|---|---|---|")
            for r in range(a.rounds):
                for name, src in (("base", a.base), ("this", this)):
                    (_, p_ns), (_, l_ns) = run(src, workload, a.n, [plain, linked])
                    print(f"| {r + 1} | {name} | {p_ns} | {l_ns} |", flush=True)
        finally:
            sysctl.write_text(old)
        print("\n| round | bare opens/s | base | this | base/bare | this/bare | this/base |")
        print("|---|---|---|---|---|---|---|")
        for r in range(a.rounds):
            bare = run(None, workload, a.n, [plain])[0][0]
            base = run(a.base, workload, a.n, [plain])[0][0]
            mine = run(this, workload, a.n, [plain])[0][0]
            print(f"| {r + 1} | {bare:,.0f} | {base:,.0f} | {mine:,.0f} | {base / bare:.2f} | "
                  f"{mine / bare:.2f} | {mine / base:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
