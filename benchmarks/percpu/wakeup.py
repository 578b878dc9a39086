#!/usr/bin/env python3
"""Does the reader sleep through a backlog? (issue 10, item 5: emit()'s wake-up test)

    .venv/bin/python -m benchmarks.percpu.wakeup [--rate 60000] [--secs 4] [--rounds 3]

emit() wakes the reader once capture.wakeup_bytes are pending. If that wake-up is missed (two
CPUs each decide their record does not cross the threshold), the reader sleeps until its poll
timeout. This runs the real monitor with a long poll timeout (1 s, so a missed wake-up shows as
a backlog far past the threshold) and one paced open+close producer pinned to each CPU, samples
the ring backlog from the metrics endpoint every 20 ms, and reports the largest backlog seen and
the share of samples more than 4x the threshold past it. Prints one JSON object per round.
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

from benchmarks.setups import BenchMonitor
from tests.harness import metric, scrape_metrics
from tests.harness.workloads import build_c_workload

WAKEUP = 256 * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=60_000, help="opens/s, all producers together")
    ap.add_argument("--secs", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("wakeup.py: loads BPF programs: run as root")
    ncpu = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="wakeup-") as tmp:
        work = Path(tmp)
        wl = build_c_workload(work / "workload")
        target = work / "target.txt"
        target.write_text("x\n")
        cfg = {"capture": {"wakeup_bytes": WAKEUP, "poll_interval_ms": 1000}}
        mon = BenchMonitor(work / "mon", cfg)
        with mon.running():
            time.sleep(1.5)
            for rnd in range(a.rounds):
                procs = [subprocess.Popen(["taskset", "-c", str(c), str(wl), "paced",
                                           str(a.rate // ncpu), str(a.secs), str(target)],
                                          stdout=subprocess.PIPE, text=True)
                         for c in range(ncpu)]
                samples = []
                while any(p.poll() is None for p in procs):
                    samples.append(int(metric(scrape_metrics(mon),
                                              "ebpf_monitor_ring_backlog_bytes")))
                    time.sleep(0.02)
                outs = [p.communicate()[0].split() for p in procs]
                ops = sum(int(o[0]) for o in outs) / max(float(o[1]) for o in outs)
                far = sum(s > 4 * WAKEUP for s in samples)
                print(json.dumps({
                    "round": rnd, "achieved_per_s": round(ops), "samples": len(samples),
                    "max_backlog": max(samples, default=0),
                    "share_past_4x_threshold": round(far / max(len(samples), 1), 3),
                    "loadavg_1m": os.getloadavg()[0]}), flush=True)
                time.sleep(1.5)


if __name__ == "__main__":
    main()
