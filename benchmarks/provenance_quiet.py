#!/usr/bin/env python3
"""Index build and query latency of this checkout on recorded replay sets (BENCHMARKS 6d).

    benchmarks/provenance_quiet.py --sets DIR [--mix MIX.jsonl --copies K] [--work DIR]

Builds a fresh local index of each `events-*` set under DIR (benchmarks/provenance.py's
replays: 1M, 10M) with `ebpf-monitor index` (default route and workers), twice for sets under
5M events: wall, events/s, CPU seconds of the process tree, events per CPU second, peak RSS
of the process and of the tree (sampled). With --mix (the mix the sets were replayed from) and
--copies (the copies in the largest set), each query of benchmarks/provenance.py's mix runs
against the largest index as a fresh CLI process, median of 3 late copies. Prints each figure
and writes WORK/out.json; asserts nothing. Meant for a quiet host: nothing else running.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.provenance import _rss_of, index_files, load_mix, measure_queries  # noqa: E402


def _load() -> list[str]:
    return open("/proc/loadavg").read().split()[:3]


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--sets", type=Path, required=True, help="directory of events-N sets")
    p.add_argument("--mix", type=Path, help="the recorded mix the sets were replayed from")
    p.add_argument("--copies", type=int, help="copies of the mix in the largest set")
    p.add_argument("--work", type=Path, default=Path("/var/tmp/provenance-quiet"))
    args = p.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    exe = str(Path(sys.executable).with_name("ebpf-monitor"))
    sets = sorted(args.sets.glob("events-*"), key=lambda d: int(d.name.split("-")[1]))
    res: dict[str, Any] = {"load_start": _load(), "start": time.strftime("%H:%M:%S", time.gmtime())}
    db = None
    for d in sets:
        n = int(d.name.split("-")[1])
        for run in ("a", "b") if n < 5_000_000 else ("a",):
            db = args.work / f"{d.name}-{run}.duckdb"
            r = _rss_of([exe, "index", "--db", str(db), *map(str, index_files(d))])
            r.pop("stderr", None)
            r.update(events=n, rate=n / r["secs"], per_cpu_s=n / r["cpu_s"], load=_load())
            res[f"{d.name}-{run}"] = r
            print(d.name, run, {k: round(v, 2) if isinstance(v, float) else v
                                for k, v in r.items()}, flush=True)
    if args.mix and args.copies and db is not None:
        cli = measure_queries(load_mix(args.mix), args.copies, ["--db", str(db)], 3)
        for name, q in cli.items():
            print(f"{name}: CLI median {q['median_s']:.3f} s ({q['min_s']:.3f}-"
                  f"{q['max_s']:.3f})", flush=True)
        res["queries"] = cli
    res["load_end"] = _load()
    (args.work / "out.json").write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
