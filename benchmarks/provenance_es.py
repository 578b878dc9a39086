#!/usr/bin/env python3
"""Elasticsearch against local query latency, interleaved per copy in one run (BENCHMARKS 6b).

    benchmarks/provenance_es.py --copies N --config ES.json --mix MIX.jsonl --db INDEX.duckdb
        [--runs 3] [--baseline-src /work/main/src]

The events must already be in the index of ES.json (`ebpf-monitor replay`) and in INDEX.duckdb
(`ebpf-monitor index`); MIX.jsonl is the mix the events were generated from (benchmarks/
provenance.py). Each query runs as a fresh CLI process against Elasticsearch with this
checkout's code, with `--baseline-src`'s code if given (another checkout's src/, same venv),
and against the local index, one after the other per copy, so the three share the host's load.
Prints one line per run and a median table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.provenance import _answer_size, load_mix, query_commands, targets

SRC = Path(__file__).resolve().parents[1] / "src"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, required=True, help="copies of the mix in the events")
    p.add_argument("--config", required=True, help="config naming the Elasticsearch index")
    p.add_argument("--mix", type=Path, required=True)
    p.add_argument("--db", required=True, help="the local index of the same events")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--baseline-src", help="another checkout's src/ to time as well")
    args = p.parse_args()
    mix = load_mix(args.mix)
    codes = [("es", str(SRC))] + ([("es-baseline", args.baseline_src)] if args.baseline_src
                                   else []) + [("local", str(SRC))]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in range(args.runs):
        k = max(args.copies - 2 - r, 0)
        t = targets(mix, k)
        local = query_commands(t, ["--db", args.db])
        for name, cmd in query_commands(t, ["--backend", "elasticsearch",
                                            "--config", args.config]).items():
            for code, src in codes:
                argv = local[name] if code == "local" else cmd
                env = dict(os.environ, PYTHONPATH=src)
                t0 = time.perf_counter()
                res = subprocess.run([sys.executable, "-m", "ebpf_monitor", *argv],
                                     capture_output=True, env=env, check=False)
                secs = time.perf_counter() - t0
                size = _answer_size(res.stdout)
                out.setdefault(name, {}).setdefault(code, []).append(
                    {"secs": secs, "rc": res.returncode, **size})
                print(f"{name} {code} k={k} {secs:.2f} s rc {res.returncode} {size}",
                      flush=True)
    for name, per in out.items():
        med = {c: statistics.median(x["secs"] for x in rows) for c, rows in per.items()}
        sizes = {c: (rows[0].get("nodes"), rows[0].get("edges")) for c, rows in per.items()}
        print(f"{name}: " + ", ".join(f"{c} {m:.2f} s" for c, m in med.items())
              + f"; es/local {med['es'] / med['local']:.1f}; nodes/edges {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
