#!/usr/bin/env python3
"""What the real path costs an open (issue 12, `ebpf.real_path`): this tree against another
tree's `src` (e.g. main's, its BPF object built), in one run.

    sudo .venv/bin/python benchmarks/realpath_cost.py --base [NAME=]SRC [--base ...]
        [--rounds 3] [-n 100000]

Setups: each --base; this; this with EBPF_MONITOR_DIRECT_LOADS=0 ("helper reads": the walk
of kernels without bpf_rdonly_cast); this with capture.real_paths false ("off").
Two parts, each setup loaded alone in its own process (default config, the ring drained after
each loop, nothing else read):
- bpf_stats (kernel.bpf_stats_enabled on only for this part, then put back):
  `sys_exit_openat`'s run_time_ns / run_cnt under `workload count N PATH` for a plain path
  (no real path: the walk and the compare only) and for a path through a symlinked directory
  (the real path also written and sent).
- the open+close loop's rate (bpf_stats off): no monitor and each setup, alternating per
  round, and each setup's ratio to bare within the round (the host is shared).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

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
workload, n, real_paths, paths = sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5:]
fd_of = bpf.lib.bpf_program__fd
fd_of.argtypes, fd_of.restype = [ctypes.c_void_p], ctypes.c_int
cfg = Config.model_validate({} if real_paths else {"capture": {"real_paths": False}})
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


class Setup(NamedTuple):
    src: str
    direct_loads: bool = True
    real_paths: bool = True


def setups(bases: list[str]) -> dict[str, Setup]:
    """Each --base (NAME=SRC, or SRC named "base"), then this tree three ways: "this";
    "helper reads" (EBPF_MONITOR_DIRECT_LOADS=0: the walk of kernels without bpf_rdonly_cast);
    "off" (capture.real_paths false)."""
    out = {}
    for b in bases:
        name, _, src = b.rpartition("=")
        out[name or "base"] = Setup(src)
    this = str(REPO / "src")
    out["this"] = Setup(this)
    out["helper reads"] = Setup(this, direct_loads=False)
    out["off"] = Setup(this, real_paths=False)
    return out


def run(setup: Setup | None, workload: Path, n: int, paths: list[str]) -> list[tuple[float, int]]:
    """(opens/s, ns per sys_exit_openat run) per path; setup None: no monitor."""
    if setup is None:
        out = []
        for path in paths:
            t0 = time.perf_counter()
            subprocess.run([str(workload), "count", str(n), path], check=True,
                           stdout=subprocess.DEVNULL)
            out.append((n / (time.perf_counter() - t0), 0))
        return out
    env = dict(os.environ)
    if not setup.direct_loads:
        env["EBPF_MONITOR_DIRECT_LOADS"] = "0"
    res = subprocess.run([sys.executable, "-c", CHILD, setup.src, str(workload), str(n),
                          str(int(setup.real_paths)), *paths],
                         check=True, capture_output=True, text=True, env=env).stdout
    return [(float(line.split()[-2]), int(line.split()[-1])) for line in res.splitlines()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, action="append",
                    help="another tree's src directory, as SRC or NAME=SRC (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-n", type=int, default=100_000)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("realpath_cost.py: loads BPF programs: run as root", file=sys.stderr)
        return 2
    runs = setups(a.base)
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
            print("| round | setup | ns/run plain | ns/run via symlink |")
            print("|---|---|---|---|")
            for r in range(a.rounds):
                for name, setup in runs.items():
                    (_, p_ns), (_, l_ns) = run(setup, workload, a.n, [plain, linked])
                    print(f"| {r + 1} | {name} | {p_ns} | {l_ns} |", flush=True)
        finally:
            sysctl.write_text(old)
        print("\n| round | bare opens/s | " + " | ".join(f"{s}/bare" for s in runs) + " |")
        print("|---|---|" + "---|" * len(runs))
        for r in range(a.rounds):
            bare = run(None, workload, a.n, [plain])[0][0]
            cells = " | ".join(f"{run(setup, workload, a.n, [plain])[0][0] / bare:.2f}"
                               for setup in runs.values())
            print(f"| {r + 1} | {bare:,.0f} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
