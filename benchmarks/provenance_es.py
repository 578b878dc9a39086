#!/usr/bin/env python3
"""Elasticsearch against local query latency, interleaved per copy in one run (BENCHMARKS 6b).

    benchmarks/provenance_es.py --copies N --config ES.json --mix MIX.jsonl --db INDEX.duckdb
        [--runs 3] [--baseline-src /work/main/src] [--profile]

The events must already be in the index of ES.json (`ebpf-monitor replay`) and in INDEX.duckdb
(`ebpf-monitor index`); MIX.jsonl is the mix the events were generated from (benchmarks/
provenance.py). Each query runs as a fresh CLI process against Elasticsearch with this
checkout's code, with `--baseline-src`'s code if given (another checkout's src/, same venv),
and against the local index, one after the other per copy, so the three share the host's load.
Prints one line per run and a median table, and whether each answer (query, roots, nodes,
edges, hidden counts: all but the events read) is the local index's; asserts nothing.

`--profile`: instead, each query once per copy in this process against Elasticsearch (with
`--baseline-src`'s code if given, else this checkout's), counting
the round trips (searches, _msearch requests and the searches in them) by the fleet method that
sent them, and the time the node spent (`took`), to see where a slow query's time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.provenance import Targets, _answer_size, load_mix, query_commands, targets

SRC = Path(__file__).resolve().parents[1] / "src"


class _Tally:
    """Wraps a client's search and msearch: round trips and searches per fleet method, and
    the node's own time (`took`, ms)."""

    def __init__(self, client: Any) -> None:
        self.trips: Counter[str] = Counter()
        self.searches: Counter[str] = Counter()
        self.took = 0
        self.took_by: Counter[str] = Counter()
        search, msearch = client.search, client.msearch

        def one(*a: Any, **kw: Any) -> Any:
            return self._count(search(*a, **kw), 1)

        def many(*a: Any, **kw: Any) -> Any:
            resp = msearch(*a, **kw)
            return self._count(resp, len(resp["responses"]))

        client.search, client.msearch = one, many

    def _count(self, resp: Any, searches: int) -> Any:
        f = sys._getframe(2)
        while f.f_back is not None and f.f_code.co_name.startswith((
                "_send", "_search", "_composite", "_rows_many", "_process_rows",
                "_forks_many", "feed", "<")):
            f = f.f_back
        self.trips[f.f_code.co_name] += 1
        self.searches[f.f_code.co_name] += searches
        self.took += int(resp.get("took", 0))
        self.took_by[f.f_code.co_name] += int(resp.get("took", 0))
        return resp


def profile(config: Path, t: Targets, k: int, src: str) -> None:
    """Each query of copy k in this process; round trips and node time per fleet method."""
    sys.path.insert(0, src)
    from ebpf_monitor.config import load_config
    from ebpf_monitor.provenance.backends.fleet import FleetSource
    from ebpf_monitor.provenance.spec import resolve_node
    from ebpf_monitor.provenance.walk import Options, ancestry, descendants, impact, lineage, path

    es = load_config(config).es_config
    opts = Options()
    runs: dict[str, Any] = {
        "ancestry": lambda s: ancestry(s, resolve_node(s, t.ancestry)),
        "descendants": lambda s: descendants(s, resolve_node(s, t.descendants), opts),
        "lineage": lambda s: lineage(s, resolve_node(s, t.lineage), opts),
        "impact": lambda s: impact(s, resolve_node(s, t.impact), opts),
        "path": lambda s: path(s, resolve_node(s, t.path[0]), resolve_node(s, t.path[1]), opts),
        "path (attack)": lambda s: path(s, resolve_node(s, t.attack[0]),
                                        resolve_node(s, t.attack[1]), opts),
    }
    for name, run in runs.items():
        src = FleetSource.from_config(es)
        tally = _Tally(src.client)
        t0 = time.perf_counter()
        sl = run(src)
        secs = time.perf_counter() - t0
        src.close()
        print(f"{name} k={k}: {secs:.2f} s, {sum(tally.trips.values())} round trips"
              f" ({sum(tally.searches.values())} searches), node took {tally.took / 1000:.2f} s,"
              f" {src.events_read} documents; {len(sl.nodes)} nodes / {len(sl.edges)} edges;"
              " by method (round trips/searches/node s): " + ", ".join(
                  f"{m} {n}/{tally.searches[m]}/{tally.took_by[m] / 1000:.2f}"
                  for m, n in tally.trips.most_common()),
              flush=True)


def _answer(stdout: bytes) -> str:
    """The JSON answer without what differs by backend by design (events read, skipped)."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return "not JSON"
    if isinstance(doc, dict):
        doc.pop("events_read", None)
        doc.pop("skipped", None)
    return json.dumps(doc, sort_keys=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, required=True, help="copies of the mix in the events")
    p.add_argument("--config", required=True, help="config naming the Elasticsearch index")
    p.add_argument("--mix", type=Path, required=True)
    p.add_argument("--db", required=True, help="the local index of the same events")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--baseline-src", help="another checkout's src/ to time as well")
    p.add_argument("--profile", action="store_true",
                   help="round trips per query, in this process (see above)")
    args = p.parse_args()
    mix = load_mix(args.mix)
    if args.profile:
        for r in range(args.runs):
            k = max(args.copies - 2 - r, 0)
            profile(Path(args.config), targets(mix, k), k, args.baseline_src or str(SRC))
        return 0
    codes = [("es", str(SRC))] + ([("es-baseline", args.baseline_src)] if args.baseline_src
                                   else []) + [("local", str(SRC))]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    answers: dict[tuple[str, int], dict[str, str]] = {}
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
                answers.setdefault((name, k), {})[code] = _answer(res.stdout)
                out.setdefault(name, {}).setdefault(code, []).append(
                    {"secs": secs, "rc": res.returncode, **size})
                print(f"{name} {code} k={k} {secs:.2f} s rc {res.returncode} {size}",
                      flush=True)
    for name, per in out.items():
        med = {c: statistics.median(x["secs"] for x in rows) for c, rows in per.items()}
        sizes = {c: (rows[0].get("nodes"), rows[0].get("edges")) for c, rows in per.items()}
        same = all(len(set(a.values())) == 1 for (n, _), a in answers.items() if n == name)
        print(f"{name}: " + ", ".join(f"{c} {m:.2f} s" for c, m in med.items())
              + f"; es/local {med['es'] / med['local']:.1f}; nodes/edges {sizes};"
              f" same answer as local in every run: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
