#!/usr/bin/env python3
"""Drops with room against drops without (issue 10, item 5), with the product monitor.

    .venv/bin/python -m benchmarks.percpu.room [--secs 4] [--rings 64M,1M,256K] [--bpf-stats]

For each ring size, starts the real monitor (metrics on) and drives benchmarks/workload.c:
paced open+close at 100k, 150k and 200k/s, an open loop with one producer, and open loops with
one producer pinned to each CPU. Per run it reads, from the monitor's Prometheus endpoint, the
kernel drops and the part of them that came with less than half the ring pending
(`ebpf_monitor_kernel_drops_with_room`), waiting for the ring to drain first. With
--bpf-stats it turns on kernel.bpf_stats_enabled for the runs (global: every BPF program on the
host pays ~20 ns per run while it is on) and reports run count and ns per run of the monitor's
busiest programs. Prints one JSON object per run and a table at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.setups import BenchMonitor
from tests.harness import metric, scrape_metrics
from tests.harness.workloads import build_c_workload


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].isalpha() else int(text)


def _figures(mon: BenchMonitor) -> tuple[int, int, int]:
    """(kernel drops, of which with room, ring backlog bytes)."""
    s = scrape_metrics(mon)
    return (int(metric(s, "ebpf_monitor_kernel_drops_total")),
            int(metric(s, "ebpf_monitor_kernel_drops_with_room_total")),
            int(metric(s, "ebpf_monitor_ring_backlog_bytes")))


def _drained(mon: BenchMonitor, timeout: float = 60) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout
    while True:
        f = _figures(mon)
        if f[2] == 0 or time.monotonic() > deadline:
            return f
        time.sleep(0.2)


def _prog_ids(pid: int) -> set[int]:
    """Ids of the BPF programs whose fds the process holds (bpftool 7.1 here lists no pids)."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            text = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    return ids


def _prog_stats(pid: int) -> dict[str, tuple[int, int]]:
    """name -> (run_cnt, run_time_ns) of the BPF programs the monitor holds."""
    ids = _prog_ids(pid)
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["name"]: (int(p.get("run_cnt", 0)), int(p.get("run_time_ns", 0)))
            for p in json.loads(out) if p["id"] in ids}


def _loads(wl: Path, target: Path, secs: float) -> list[tuple[str, list[list[str]]]]:
    ncpu = os.cpu_count() or 1
    paced = [(f"paced {r // 1000}k/s", [[str(wl), "paced", str(r), str(secs), str(target)]])
             for r in (100_000, 150_000, 200_000)]
    return [*paced,
            ("open loop, 1 producer", [[str(wl), "open", str(secs), str(target)]]),
            (f"open loop, {ncpu} producers pinned",
             [["taskset", "-c", str(c), str(wl), "open", str(secs), str(target)]
              for c in range(ncpu)])]


def run(rings: list[int], secs: float, bpf_stats: bool, work: Path) -> list[dict[str, Any]]:
    wl = build_c_workload(work / "workload")
    target = work / "target.txt"
    target.write_text("x\n")
    rows = []
    for ring in rings:
        mon = BenchMonitor(work / f"mon-{ring}", {"capture": {"ring_buffer_bytes": ring}})
        with mon.running():
            time.sleep(1.5)
            for name, cmds in _loads(wl, target, secs):
                before = _drained(mon)
                stats0 = _prog_stats(mon.pid) if bpf_stats else {}
                load = os.getloadavg()[0]
                procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
                outs = [p.communicate()[0].split() for p in procs]
                stats1 = _prog_stats(mon.pid) if bpf_stats else {}
                after = _drained(mon)
                ops = sum(int(o[0]) for o in outs)
                took = max(float(o[1]) for o in outs)
                row: dict[str, Any] = {
                    "ring": ring, "load": name, "achieved_per_s": round(ops / took),
                    "drops": after[0] - before[0], "drops_with_room": after[1] - before[1],
                    "loadavg_1m": load}
                if bpf_stats:
                    busy = sorted(((stats1[k][0] - stats0.get(k, (0, 0))[0],
                                    stats1[k][1] - stats0.get(k, (0, 0))[1], k)
                                   for k in stats1), reverse=True)[:3]
                    row["busiest_programs"] = [
                        {"name": k, "runs": n, "ns_per_run": round(t / n) if n else 0}
                        for n, t, k in busy]
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secs", type=float, default=4)
    ap.add_argument("--rings", default="64M,1M,256K")
    ap.add_argument("--bpf-stats", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("room.py: loads BPF programs: run as root")
    rings = [_size(r) for r in a.rings.split(",")]
    sysctl = Path("/proc/sys/kernel/bpf_stats_enabled")
    old = sysctl.read_text().strip()
    if a.bpf_stats:
        sysctl.write_text("1")
    try:
        with tempfile.TemporaryDirectory(prefix="room-") as tmp:
            rows = run(rings, a.secs, a.bpf_stats, Path(tmp))
    finally:
        sysctl.write_text(old)
    print("| ring | load | achieved/s | drops | with room | load avg |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['ring'] >> 10} KiB | {r['load']} | {r['achieved_per_s']:,} | {r['drops']}"
              f" | {r['drops_with_room']} | {r['loadavg_1m']:.1f} |")


if __name__ == "__main__":
    main()
