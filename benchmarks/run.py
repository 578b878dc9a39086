#!/usr/bin/env python3
"""Benchmark suite: host overhead of the monitor and of its peers, capacity, Elasticsearch, memory.

    benchmarks/run.py [--smoke] [--rounds N] [--output BENCHMARKS.md] [--skip-peers] [--skip-es]
                      [--only overhead|capacity|es] [--render-from BENCHMARKS.json]

The suite lives in benchmarks/runner.py (the parts and the command line), workloads.py (what is
run, and its sizes), setups.py (monitor, auditd, bpftrace) and report.py (BENCHMARKS.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    # Run as a file (make bench): the repository root makes `benchmarks` and the tests' harness
    # importable, as it is for pytest.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runner import main

if __name__ == "__main__":
    sys.exit(main())
