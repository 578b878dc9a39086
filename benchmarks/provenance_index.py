#!/usr/bin/env python3
"""Index build designs side by side on the same files, one after the other (issue 13, item 6).

    benchmarks/provenance_index.py EVENTS_DIR [--design NAME=PYTHON:ARGS ...] [--rounds 2]
                                   [--work DIR] [--output FILE]

Each design is an `ebpf-monitor index` command line, built into a fresh index: wall seconds,
events per second, CPU seconds of the command and its worker processes (events per CPU
second: what the machine spent, whatever else shared it), peak RSS of the process tree, and
an order-free digest of every table so that designs that must give the same index are seen to.
Rounds alternate the designs (a, b, c, a, b, c) so that a host whose load drifts favours none.
Default designs: `--workers` 0, 1 and 2 of this checkout; add e.g. `main=/work/main/.venv/bin/
python:` for another checkout's interpreter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import _loadavg, _rss_of, index_files

DIGEST_SQL = {
    "flows": "SELECT s.key, d.key, f.action, f.ts, f.cnt, f.bytes FROM flows f"
             " JOIN nodes s ON s.id = f.src JOIN nodes d ON d.id = f.dst",
    "procs": "SELECT * FROM procs", "execs": "SELECT * FROM execs",
    "forks": "SELECT * FROM forks", "pending": "SELECT * FROM pending",
    "listening": "SELECT * FROM listening",
    "creds": "SELECT * FROM creds", "targets": "SELECT * FROM targets",
    "readers": "SELECT n.key, r.n FROM readers r JOIN nodes n ON n.id = r.id",
}


def digest(db: Path) -> dict[str, Any]:
    """Rows and an order-free hash per table (node ids replaced by their keys)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    out: dict[str, Any] = {}
    try:
        have = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables")
                .fetchall()}
        for table, sql in DIGEST_SQL.items():
            if table not in have:  # an index of older code (creds, targets): none, as empty
                out[table] = [0, "None"]
                continue
            n, h = con.execute(f"SELECT count(*), sum(hash(t)) FROM ({sql}) t").fetchone() or (0, 0)
            out[table] = [int(n), str(h)]
    finally:
        con.close()
    return out


def split(events_dir: Path, work: Path) -> dict[str, float]:
    """CPU seconds of each step of the default route, in one process, chunk by chunk: read
    (and inflate), decode, rules, rows (ChunkRows), pickle (there and back, as the workers'
    rows travel) and store (DuckDB, node ids)."""
    import pickle
    import tempfile

    from ebpf_monitor.provenance.backends import local
    from ebpf_monitor.provenance.backends.workers import summarize
    from ebpf_monitor.provenance.typed import TypedExtractor, decode_chunk

    db = work / "index-split.duckdb"
    for old in work.glob("index-split.duckdb*"):
        old.unlink()
    store = local.LocalStore(db, workers=0)
    local._keep_freed_memory()  # as the index does
    ids = local._NodeIds(store.con)
    cpu = dict.fromkeys(("read", "decode", "rules", "rows", "pickle", "store"), 0.0)
    listening: set[tuple[str, int]] = set()
    pending: dict[str, Any] = {}
    documents = 0
    clock = time.process_time
    with tempfile.TemporaryDirectory() as tmp:
        for path in index_files(events_dir):
            fingerprint, _ = store._fingerprint(path)
            assert fingerprint is not None
            chunks = store._chunks(path, 0)
            while True:
                t0 = clock()
                item = next(chunks, None)
                t1 = clock()
                cpu["read"] += t1 - t0
                if item is None:
                    break
                consumed, data = item
                docs = decode_chunk(data)
                t2 = clock()
                before = set(listening)
                ex = TypedExtractor(listening=listening, pending=pending)
                ex.feed_decoded(data, docs)
                t3 = clock()
                rows = summarize(ex, listening - before, ex.whole)
                t4 = clock()
                rows = pickle.loads(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
                t5 = clock()
                store._store(rows, Path(tmp), fingerprint, path, consumed, ids)
                t6 = clock()
                documents += rows.documents
                for k, a, b in (("decode", t1, t2), ("rules", t2, t3), ("rows", t3, t4),
                                ("pickle", t4, t5), ("store", t5, t6)):
                    cpu[k] += b - a
    store.close()
    out = {k: round(v, 2) for k, v in cpu.items()}
    out["documents"] = documents
    out["us_per_event"] = {k: round(v / documents * 1e6, 2) for k, v in cpu.items()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("events_dir", type=Path)
    ap.add_argument("--split", action="store_true",
                    help="only the CPU of each step of the default route, in one process")
    ap.add_argument("--design", action="append", default=[],
                    help="NAME=PYTHON:EXTRA ARGS (PYTHON empty: this interpreter)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/var/tmp/prov-speed"))
    ap.add_argument("--output", type=Path)
    ap.add_argument("--no-digest", action="store_true")
    args = ap.parse_args()
    if args.split:
        args.work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(split(args.events_dir, args.work)))
        return 0
    designs = args.design or ["workers-0=:--workers 0", "workers-1=:--workers 1",
                              "workers-2=:--workers 2"]
    events = json.loads((args.events_dir / "generated.json").read_text())["events"]
    files = [str(p) for p in index_files(args.events_dir)]
    args.work.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for spec in designs:
            name, _, rest = spec.partition("=")
            python, _, extra = rest.partition(":")
            db = args.work / f"index-{name}.duckdb"
            for old in args.work.glob(f"index-{name}.duckdb*"):
                old.unlink()
            cmd = [python or sys.executable, "-m", "ebpf_monitor", "index", "--db", str(db),
                   *extra.split(), *files]
            load = _loadavg()
            res = _rss_of(cmd)
            row = {"design": name, "round": r, "cmd": " ".join(cmd[1:]), "load_start": load,
                   "load_end": _loadavg(), "secs": res["secs"], "cpu_s": res["cpu_s"],
                   "rate": events / res["secs"], "cpu_rate": events / max(res["cpu_s"], 1e-9),
                   "rss_mb": res["rss_mb"], "rss_tree_mb": res["rss_tree_mb"], "rc": res["rc"],
                   "at": time.strftime("%H:%M:%S")}
            if res["rc"] != 0:
                row["stderr"] = res["stderr"][-800:]
            elif not args.no_digest and r == 0:
                row["digest"] = digest(db)
            runs.append(row)
            print(f"{row['at']} {name:>12} r{r}: {row['secs']:6.1f} s {row['rate']:>9,.0f}/s"
                  f" cpu {row['cpu_s']:6.1f} s {row['cpu_rate']:>9,.0f}/cpu-s"
                  f" rss {row['rss_mb']:5.0f}/{row['rss_tree_mb']:5.0f} MB rc {row['rc']}"
                  f" load {load}", flush=True)
    digests = {json.dumps(r["digest"], sort_keys=True) for r in runs if "digest" in r}
    print(f"distinct index digests: {len(digests)}")
    if args.output:
        args.output.write_text(json.dumps({"events": events, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
