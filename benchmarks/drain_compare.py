#!/usr/bin/env python3
"""The suite's capacity figures (paced CPU per event, the reader's drain) for two trees, in one run.

    benchmarks/drain_compare.py --base SRC [--rounds 3] [--rates 10000,50000,100000]

`SRC` is another tree's `src` (e.g. a worktree of main with its BPF objects built or copied);
"this" is this repository. Each round starts one monitor per tree, in alternating order, and
runs what benchmarks/runner.py's capacity part runs: the paced open loop at each rate (the
monitor's CPU per event handled, as in BENCHMARKS.md section 3) and the reader-capacity drain
(a 256 MiB ring filled while the reader is stopped, then timed until empty). Every figure is
given per round and as the ratio base / this within the round (the host is shared and noisy).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import REPO
from tests.harness.workloads import build_c_workload

from benchmarks.setups import BenchMonitor
from benchmarks.workloads import log, sh

DRAIN_RING = 256 * 1024 * 1024
LAUNCH = "import sys; sys.path.insert(0, {src!r}); from ebpf_monitor.cli import main; " \
         "sys.exit(main())"


def monitor(work: Path, src: str, config: dict[str, Any] | None = None) -> BenchMonitor:
    mon = BenchMonitor(work, config)
    mon.command = [sys.executable, "-c", LAUNCH.format(src=src)]
    return mon


def paced(mon: BenchMonitor, binary: Path, target: Path, rate: int, secs: float
          ) -> dict[str, float]:
    before = mon.wait_drained()
    cpu0 = mon.cpu()
    out = sh([str(binary), "paced", str(rate), str(secs), str(target)]).stdout.split()
    after = mon.wait_drained()
    cpu = mon.cpu() - cpu0
    events = after[1] - before[1]
    return {"achieved": int(out[0]) / float(out[1]), "events": events,
            "cpu_pct": 100 * cpu / float(out[1]), "us_per_event": 1e6 * cpu / max(events, 1),
            "drops": after[2] - before[2]}


def drain(mon: BenchMonitor, binary: Path, target: Path, fill: int) -> dict[str, float]:
    before = mon.wait_drained()
    os.kill(mon.pid, signal.SIGSTOP)
    try:
        sh([str(binary), "count", str(fill), str(target)])
    finally:
        t_cont = time.time()
        cpu0 = mon.cpu()
        os.kill(mon.pid, signal.SIGCONT)
    after = mon.wait_drained(180)
    events = after[1] - before[1]
    cpu = mon.cpu() - cpu0
    secs = max(after[0] - t_cont, 1e-3)
    return {"events": events, "secs": secs, "rate_floor": events / secs, "cpu_s": cpu,
            "us_per_event": 1e6 * cpu / max(events, 1), "drops": after[2] - before[2],
            "events_per_cpu_s": events / max(cpu, 1e-3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rates", default="10000,50000,100000")
    p.add_argument("--secs", type=float, default=3.0)
    p.add_argument("--fill", type=int, default=300_000)
    args = p.parse_args()
    trees = {"base": str(args.base.resolve()), "this": str(REPO / "src")}
    rates = [int(r) for r in args.rates.split(",")]
    results: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        binary = build_c_workload(work / "workload")
        target = work / "target"
        target.write_text("x\n")
        for r in range(args.rounds):
            for name in (("base", "this") if r % 2 == 0 else ("this", "base")):
                row: dict[str, Any] = {}
                mon = monitor(work / f"mon-{name}", trees[name])
                with mon.running():
                    time.sleep(1.5)
                    for rate in rates:
                        row[rate] = paced(mon, binary, target, rate, args.secs)
                big = monitor(work / f"drain-{name}", trees[name],
                              {"capture": {"ring_buffer_bytes": DRAIN_RING}})
                with big.running():
                    time.sleep(1.5)
                    row["drain"] = drain(big, binary, target, args.fill)
                results[name].append(row)
                log(f"round {r + 1} {name}: " + "; ".join(
                    f"{k}: " + ", ".join(f"{kk} {vv:.1f}" for kk, vv in v.items())
                    for k, v in row.items()))
    print("\nper round: base / this (higher: this is cheaper or faster)")
    for rate in rates:
        ratios = [b[rate]["us_per_event"] / t[rate]["us_per_event"]
                  for b, t in zip(results["base"], results["this"], strict=True)]
        base_us = statistics.median(b[rate]["us_per_event"] for b in results["base"])
        this_us = statistics.median(t[rate]["us_per_event"] for t in results["this"])
        base_pct = statistics.median(b[rate]["cpu_pct"] for b in results["base"])
        this_pct = statistics.median(t[rate]["cpu_pct"] for t in results["this"])
        drops = [(b[rate]["drops"], t[rate]["drops"])
                 for b, t in zip(results["base"], results["this"], strict=True)]
        print(f"paced {rate}/s: CPU µs/event base {base_us:.1f}, this {this_us:.1f}; % of a core"
              f" base {base_pct:.0f}, this {this_pct:.0f}; ratio per round "
              f"{', '.join(f'{x:.2f}' for x in ratios)}; drops (base, this) {drops}")
    for key in ("us_per_event", "rate_floor", "events_per_cpu_s"):
        b = [x["drain"][key] for x in results["base"]]
        t = [x["drain"][key] for x in results["this"]]
        ratio = [bb / tt if key == "us_per_event" else tt / bb for bb, tt in zip(b, t,
                                                                                 strict=True)]
        print(f"drain {key}: base {statistics.median(b):,.1f}, this {statistics.median(t):,.1f};"
              f" x per round {', '.join(f'{x:.2f}' for x in ratio)}")
    print("drain events (base, this): " + ", ".join(
        f"({b['drain']['events']}, {t['drain']['events']})"
        for b, t in zip(results["base"], results["this"], strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
