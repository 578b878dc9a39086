#!/usr/bin/env python3
"""Provenance analysis benchmark (issue 13, item 6): index build and query latency at scale.

    benchmarks/provenance.py [--sizes 1000000,10000000] [--mix FILE] [--keep DIR] [--skip-es]
                             [--smoke] [--output build/bench/provenance.json]

1. Record a real mix: the monitor runs around benchmarks/provenance_workload.sh (a make -j2 of a
   small C project, tar, git, text tools, and the issue's attack story over loopback TCP); the
   documents of the workload's process tree are kept (build/bench/provenance-mix.jsonl).
2. Replay it into N events: copy after copy of the mix, each with fresh entity ids, event ids,
   times (one copy after the other), its own work directory and ephemeral ports, written as
   events.jsonl, events.jsonl.1 and older gzipped rotations, as logrotate leaves them.
3. Index with `ebpf-monitor index` (wall time, events/s, size on disk, peak RSS), then time
   ancestry, lineage, impact and path on targets from a late copy (median of several runs, each
   a fresh process: what a user waits for), and the same against Elasticsearch when asked.

Benchmarks never assert timings: this writes numbers, BENCHMARKS.md carries them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "benchmarks" / "provenance_workload.sh"
BENCH_DIR = REPO / "build" / "bench"
CLI = [sys.executable, "-m", "ebpf_monitor"]
EPHEMERAL = 32768  # Linux's default ip_local_port_range starts here
COPY_GAP_NS = 1_000_000_000


def log(msg: str) -> None:
    print(f"[prov-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# 1. Recording


def _ns(text: str) -> int:
    """ISO 8601 UTC with up to 9 fraction digits to ns since the epoch (exact, no float)."""
    head, _, frac = text.rstrip("Z").partition(".")
    base = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    return int(base.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


def _tree(docs: list[dict[str, Any]], root_pid: int) -> list[dict[str, Any]]:
    """The documents of root_pid and every process it started, in time order."""
    pids = {root_pid}
    kept = []
    for d in sorted(docs, key=lambda d: d["@timestamp"]):
        proc = d.get("process") or {}
        pid, ppid = proc.get("pid"), (proc.get("parent") or {}).get("pid")
        if pid not in pids and ppid in pids:
            pids.add(pid)
        if pid in pids:
            kept.append(d)
            child = (d.get("ebpf") or {}).get("child_pid")
            if child:
                pids.add(child)
    return kept


def record_mix(out: Path) -> Path:
    """Run the workload under the real monitor; keep its process tree's documents in `out`."""
    sys.path.insert(0, str(REPO))
    from tests.monitor_harness import Monitor  # the tests' launcher: one way to run it

    with tempfile.TemporaryDirectory(prefix="prov-mix-") as tmp:
        work = Path(tmp) / "w"
        work.mkdir()
        mon = Monitor(Path(tmp) / "monitor", {})
        mon.start()
        try:
            proc = subprocess.Popen(["/bin/sh", str(WORKLOAD), str(work)])
            rc = proc.wait(timeout=600)
            if rc != 0:
                raise SystemExit(f"provenance workload failed with status {rc}")
            # Its last process's exit is written once the monitor has drained the ring.
            mon.wait_for(lambda d: d["event"]["action"] == "exit"
                         and (d.get("process") or {}).get("pid") == proc.pid, timeout=60)
        finally:
            mon.stop()
        docs = [orjson.loads(line) for line in mon.events_file.read_bytes().splitlines()]
    kept = _tree(docs, proc.pid)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"work": str(work), "recorded": len(docs), "kept": len(kept)}
    with open(out, "wb") as f:
        f.write(orjson.dumps({"mix": meta}) + b"\n")
        for d in kept:
            f.write(orjson.dumps(d) + b"\n")
    log(f"recorded {len(docs):,} documents, kept {len(kept):,} of the workload's tree in {out}")
    return out


# ---------------------------------------------------------------------------------------------
# 2. Replay


@dataclass
class Mix:
    work: str  # the work directory the mix was recorded in (rewritten per copy)
    docs: list[dict[str, Any]]
    start_ns: int
    span_ns: int


def load_mix(path: Path) -> Mix:
    lines = path.read_bytes().splitlines()
    meta = orjson.loads(lines[0])["mix"]
    docs = [orjson.loads(line) for line in lines[1:]]
    times = [_ns(d["@timestamp"]) for d in docs]
    return Mix(meta["work"], docs, min(times), max(times) - min(times))


_SLOT = re.compile(rb'"\\u0000(\d+)\\u0000"')
_KERNEL_NAME = re.compile(r"\b(pipe|socket):\[(\d+)\]")


def copy_path(text: str, k: int) -> str:
    """What a recorded name is in copy k: temporary files (the work directory, the compiler's
    /tmp/cc*.s) live under a /tmp of their own, pipe and socket inodes are new. Shared system
    files (/usr, /etc) stay shared by all copies, as on a real host."""
    text = text.replace("/tmp/", f"/tmp/r{k:06x}/")
    return _KERNEL_NAME.sub(lambda m: f"{m.group(1)}:[{int(m.group(2)) * 1_000_000 + k}]", text)


class Replayer:
    """The mix as pre-encoded documents with slots; each copy fills the slots and joins bytes.

    Slots: times (@timestamp, process.start: shifted by the copy's offset), ids (entity ids and
    event ids: the copy number mixed in), strings naming temporary files, pipes or sockets
    (paths, args: see copy_path), ephemeral ports (moved within the ephemeral range).
    Everything else is the recorded bytes, so a copy costs a join, not a JSON encode.
    """

    def __init__(self, mix: Mix) -> None:
        self.mix = mix
        self.parts: list[list[bytes]] = []
        self.slots: list[list[tuple[str, Any]]] = []
        for d in mix.docs:
            slots: list[tuple[str, Any]] = []
            marked = self._mark(d, slots, ())
            self.parts.append(_SLOT.split(orjson.dumps(marked))[0::2])
            self.slots.append(slots)

    def _mark(self, v: Any, slots: list[tuple[str, Any]], path: tuple[str, ...]) -> Any:
        def slot(kind: str, value: Any) -> str:
            slots.append((kind, value))
            return f"\x00{len(slots) - 1}\x00"

        if isinstance(v, dict):
            return {k: self._mark(x, slots, (*path, k)) for k, x in v.items()}
        if isinstance(v, list):
            return [self._mark(x, slots, path) for x in v]
        key = path[-1] if path else ""
        if key in ("@timestamp", "start") and isinstance(v, str):
            return slot("time", _ns(v) - self.mix.start_ns)
        if key == "entity_id" and isinstance(v, str):
            return slot("entity", v)
        if path == ("event", "id"):
            return slot("id", v)
        if isinstance(v, str) and ("/tmp/" in v or _KERNEL_NAME.search(v)):
            return slot("path", v)
        if key == "port" and isinstance(v, int) and v >= EPHEMERAL:
            return slot("port", v)
        return v

    def copy(self, k: int, base_ns: int) -> Iterator[bytes]:
        """The documents of copy k, its first one at base_ns."""
        tag = f"{k:06x}"
        day_cache: dict[int, str] = {}

        def fill(kind: str, value: Any) -> bytes:
            if kind == "time":
                ns = base_ns + value
                sec, frac = divmod(ns, 1_000_000_000)
                head = day_cache.get(sec)
                if head is None:
                    head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
                    day_cache[sec] = head
                return b'"%s.%09dZ"' % (head.encode(), frac)
            if kind == "entity":  # 24 hex digits like a real one, unique per copy
                return b'"%s%s"' % (tag.encode(), value[6:].encode())
            if kind == "id":
                return orjson.dumps(f"{value}-{tag}")
            if kind == "path":
                return orjson.dumps(copy_path(value, k))
            return b"%d" % (EPHEMERAL + (value - EPHEMERAL + 7919 * k) % 28231)

        for parts, slots in zip(self.parts, self.slots, strict=True):
            out = [parts[0]]
            for (kind, value), tail in zip(slots, parts[1:], strict=True):
                out.append(fill(kind, value))
                out.append(tail)
            yield b"".join(out)

    def base_ns(self, k: int, origin: int) -> int:
        return origin + k * (self.mix.span_ns + COPY_GAP_NS)

    def write(self, n: int, events_dir: Path, origin_ns: int) -> dict[str, Any]:
        """n events in events_dir as logrotate leaves them: .3.gz .2.gz (10% each), .1 (20%),
        events.jsonl (the rest); returns the file list and how many copies were needed."""
        events_dir.mkdir(parents=True, exist_ok=True)
        shares = [("events.jsonl.3.gz", 0.1), ("events.jsonl.2.gz", 0.1),
                  ("events.jsonl.1", 0.2), ("events.jsonl", 0.6)]
        bounds, acc = [], 0.0
        for name, share in shares:
            acc += share
            bounds.append((name, round(n * acc)))
        written, k = 0, 0
        files = []

        def stream() -> Iterator[bytes]:
            nonlocal k
            while True:
                yield from self.copy(k, self.base_ns(k, origin_ns))
                k += 1

        docs = stream()
        for name, upto in bounds:
            path = events_dir / name
            # Level 1: logrotate's gzip -6 would make generation, not indexing, the slow part.
            raw = open(path, "wb")  # noqa: SIM115 (closed below, with the gzip layer)
            f = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) if name.endswith(
                ".gz") else raw
            with raw, f:
                buf: list[bytes] = []
                while written < upto:
                    buf.append(next(docs))
                    written += 1
                    if len(buf) >= 20_000:
                        buf.append(b"")
                        f.write(b"\n".join(buf))
                        buf = []
                if buf:
                    buf.append(b"")
                    f.write(b"\n".join(buf))
            files.append({"name": name, "bytes": path.stat().st_size})
        return {"events": written, "copies": k + 1, "files": files}


# ---------------------------------------------------------------------------------------------
# 3. Measurements


def _run(cmd: list[str]) -> dict[str, Any]:
    """Run cmd to completion: wall seconds, exit status, peak RSS (ru_maxrss of that child)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    secs = time.perf_counter() - t0
    return {"secs": secs, "rc": proc.returncode, "stdout": out,
            "stderr": err.decode(errors="replace")}


RSS_LIMIT_MB = 6144  # a build past this is stopped: the host is shared (--rss-limit-mb)


def _tree_rss_kb(pid: int) -> int:
    """VmRSS of pid plus its children's (the index's worker processes), in KiB."""
    total = 0
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/status") as f:
            total = next((int(x.split()[1]) for x in f if x.startswith("VmRSS:")), 0)
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                total += sum(_tree_rss_kb(int(c)) for c in f.read().split())
    return total


def _rss_of(cmd: list[str]) -> dict[str, Any]:
    """Like _run, plus the child's own peak RSS from wait4 (not this process's), the peak sum
    of its and its children's RSS (sampled every 0.2 s) and the CPU seconds of all of them;
    the child is killed if that sum passes RSS_LIMIT_MB, and the result says so."""
    t0 = time.perf_counter()
    killed = None
    tree_kb = 0
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=err)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss_kb = _tree_rss_kb(proc.pid)
            tree_kb = max(tree_kb, rss_kb)
            if rss_kb > RSS_LIMIT_MB * 1024 and killed is None:
                killed = f"killed at {rss_kb // 1024} MB RSS (limit {RSS_LIMIT_MB} MB)"
                proc.kill()
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
        secs = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if killed:
        log(killed)
        stderr += killed
    return {"secs": secs, "rc": proc.returncode, "rss_mb": usage.ru_maxrss / 1024,
            "rss_tree_mb": tree_kb / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
            "stderr": stderr[-2000:], **({"killed": killed} if killed else {})}


def _disk_bytes(db: Path) -> int:
    """The index's size: the database file and its siblings (WAL), or a directory's files."""
    if db.is_dir():
        return sum(p.stat().st_size for p in db.rglob("*") if p.is_file())
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


@dataclass
class Targets:
    """Query targets in copy k of the mix, found by their role in the workload."""

    ancestry: str  # the process that sent the secret (deepest of the attack chain)
    descendants: str  # the workload's own shell: every process of the copy below it
    lineage: str  # the linked program: compiler, assembler, linker and sources behind it
    impact: str  # main.c: compiled, archived, unpacked, committed
    path: tuple[str, str]  # from a source file to the linked program
    attack: tuple[str, str]  # from the secret to where it was sent


def targets(mix: Mix, k: int) -> Targets:
    # args ride on the exec document only: find the exfiltrating process there, then its send.
    exfil = {d["process"]["entity_id"] for d in mix.docs
             if "sys.stdin" in str((d.get("process") or {}).get("args", ""))}
    sender = next(
        d for d in mix.docs
        if d["event"]["action"] in ("sendto", "sendmsg", "write")
        and d["process"]["entity_id"] in exfil and (d.get("destination") or {}).get("port"))
    port = sender["destination"]["port"]
    port = port if port < EPHEMERAL else EPHEMERAL + (port - EPHEMERAL + 7919 * k) % 28231
    work = copy_path(mix.work, k)
    shell = next((d["process"]["entity_id"] for d in mix.docs
                  if d["event"]["action"] == "execve"
                  and "provenance_workload.sh" in str(d["process"].get("args", ""))),
                 mix.docs[0]["process"]["entity_id"])  # the first process recorded
    return Targets(
        ancestry=f"{k:06x}{sender['process']['entity_id'][6:]}",
        descendants=f"{k:06x}{shell[6:]}",
        lineage=f"{work}/project/prog",
        impact=f"{work}/project/main.c",
        path=(f"{work}/project/f1.c", f"{work}/project/prog"),
        attack=(f"{work}/secret.txt", f"endpoint:127.0.0.1:{port}"),
    )


def query_commands(t: Targets, backend: list[str]) -> dict[str, list[str]]:
    fmt = ["--format", "json", "--no-index"] if "--db" in backend else ["--format", "json"]
    return {
        "ancestry": ["ancestry", t.ancestry, *backend, *fmt],
        "descendants": ["descendants", t.descendants, *backend, *fmt],
        "lineage": ["lineage", t.lineage, *backend, *fmt],
        "impact": ["impact", t.impact, *backend, *fmt],
        "path": ["path", *t.path, *backend, *fmt],
        "path (attack)": ["path", *t.attack, *backend, *fmt],
    }


def _answer_size(stdout: bytes) -> dict[str, int]:
    """Nodes and edges in a JSON answer, so the table shows what each query returned."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    nodes, edges = doc.get("nodes"), doc.get("edges")
    return {"nodes": len(nodes) if isinstance(nodes, list | dict) else -1,
            "edges": len(edges) if isinstance(edges, list) else -1,
            "events_read": int(doc.get("events_read", -1) or -1)}


def measure_queries(mix: Mix, copies: int, backend: list[str], runs: int) -> dict[str, Any]:
    """Median wall time of each query over `runs` late copies, each a fresh CLI process."""
    per: dict[str, list[dict[str, Any]]] = {}
    for r in range(runs):
        k = max(copies - 2 - r, 0)  # late copies: the most history before them
        for name, args in query_commands(targets(mix, k), backend).items():
            res = _run([*CLI, *args])
            per.setdefault(name, []).append(
                {"k": k, "secs": res["secs"], "rc": res["rc"], **_answer_size(res["stdout"]),
                 "stderr": res["stderr"].strip().splitlines()[-1:] if res["stderr"] else []})
    out = {}
    for name, rows in per.items():
        secs = [row["secs"] for row in rows]
        out[name] = {"median_s": statistics.median(secs), "min_s": min(secs), "max_s": max(secs),
                     "runs": rows}
    return out


def inproc_queries(db: Path, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """In this process: open the index once, then time each query alone (no interpreter start,
    no imports, no index open): what an API user or a server would see."""
    from ebpf_monitor.provenance.backends.local import LocalStore
    from ebpf_monitor.provenance.spec import resolve_node
    from ebpf_monitor.provenance.walk import Options, ancestry, descendants, impact, lineage, path

    t0 = time.perf_counter()
    store = LocalStore(db, create=False)
    opened = time.perf_counter() - t0
    opts = Options()
    rows: dict[str, list[float]] = {}
    try:
        for t in plan:
            for name, run in (
                ("ancestry", lambda t=t: ancestry(store, resolve_node(store, t["ancestry"]))),
                ("descendants", lambda t=t: descendants(
                    store, resolve_node(store, t["descendants"]), opts)),
                ("lineage", lambda t=t: lineage(store, resolve_node(store, t["lineage"]), opts)),
                ("impact", lambda t=t: impact(store, resolve_node(store, t["impact"]), opts)),
                ("path", lambda t=t: path(store, resolve_node(store, t["path"][0]),
                                          resolve_node(store, t["path"][1]), opts)),
                ("path (attack)", lambda t=t: path(store, resolve_node(store, t["attack"][0]),
                                                   resolve_node(store, t["attack"][1]), opts)),
            ):
                q0 = time.perf_counter()
                run()
                rows.setdefault(name, []).append(time.perf_counter() - q0)
    finally:
        store.close()
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return {"open_s": opened, "rss_mb": hwm / 1024,
            "queries": {n: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v),
                            "all_s": v} for n, v in rows.items()}}


def index_files(events_dir: Path) -> list[Path]:
    """Oldest first, as logrotate names them."""
    return [events_dir / n for n in ("events.jsonl.3.gz", "events.jsonl.2.gz", "events.jsonl.1",
                                     "events.jsonl")]


_SCAN_COLUMNS = {
    "@timestamp": "VARCHAR",
    "event": "STRUCT(action VARCHAR, id VARCHAR)",
    "process": "STRUCT(pid BIGINT, entity_id VARCHAR, start VARCHAR, parent STRUCT(pid BIGINT),"
               " executable VARCHAR, args VARCHAR[], exit_code BIGINT)",
    "user": "STRUCT(name VARCHAR)",
    "file": "STRUCT(path VARCHAR, target_path VARCHAR)",
    "ebpf": "STRUCT(fd BIGINT, bytes BIGINT, child_pid BIGINT, ret BIGINT)",
    "source": "STRUCT(ip VARCHAR, port BIGINT)",
    "destination": "STRUCT(ip VARCHAR, port BIGINT)",
}


def baselines(events_dir: Path, sample: int = 200_000) -> dict[str, Any]:
    """Two reference rates on the same files in the same run (the machine is shared, so an
    absolute rate says little alone): orjson.loads of each line in a Python loop (the floor of
    any per-line Python indexer), and DuckDB's own JSON reader scanning every file with the
    columns a flow needs (what a native scan does)."""
    import duckdb

    lines = []
    with open(events_dir / "events.jsonl", "rb") as f:
        for line in f:
            lines.append(line)
            if len(lines) >= sample:
                break
    t0 = time.perf_counter()
    for line in lines:
        orjson.loads(line)
    parse = len(lines) / (time.perf_counter() - t0)
    con = duckdb.connect()
    files = [str(p) for p in index_files(events_dir)]
    t0 = time.perf_counter()
    row = con.execute("SELECT count(*), count(DISTINCT process.entity_id) FROM read_ndjson(?,"
                      " columns = ?)", [files, _SCAN_COLUMNS]).fetchone()
    secs = time.perf_counter() - t0
    con.close()
    assert row is not None
    return {"orjson_lines_per_s": parse, "duckdb_scan_rows": row[0], "duckdb_scan_s": secs,
            "duckdb_scan_rows_per_s": row[0] / secs, "processes": row[1]}


def measure_size(mix: Mix, n: int, work: Path, runs: int, es: Any | None) -> dict[str, Any]:
    """Generate n events, index them locally, time the queries (and against ES if given)."""
    events_dir = work / f"events-{n}"
    stamp = events_dir / "generated.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("mix") == mix.work:
        gen = json.loads(stamp.read_text())  # a kept --work directory: same mix, same events
        log(f"{n:,} events: reusing {events_dir}")
    else:
        t0 = time.perf_counter()
        gen = Replayer(mix).write(n, events_dir, origin_ns=1_764_000_000_000_000_000)
        gen["secs"] = time.perf_counter() - t0
        gen["mix"] = mix.work
        stamp.write_text(json.dumps(gen))
        log(f"{n:,} events generated in {gen['secs']:.0f} s ({gen['copies']} copies of the mix)")
    db = work / f"index-{n}.duckdb"
    for old in work.glob(f"index-{n}.duckdb*"):
        old.unlink()  # the build is what is measured: start from nothing
    idx = _rss_of([*CLI, "index", "--db", str(db), *map(str, index_files(events_dir))])
    idx["rate"] = n / idx["secs"]
    idx["cpu_rate"] = n / max(idx["cpu_s"], 1e-9)
    idx["disk_bytes"] = _disk_bytes(db) if idx["rc"] == 0 else 0
    idx["input_bytes"] = sum(f["bytes"] for f in gen["files"])
    log(f"index: {idx['secs']:.1f} s, {idx['rate']:,.0f} events/s"
        f" ({idx['cpu_rate']:,.0f} per CPU second), rc {idx['rc']},"
        f" {idx['disk_bytes'] / 2**20:,.0f} MiB, peak RSS {idx['rss_mb']:.0f} MB"
        f" ({idx['rss_tree_mb']:.0f} MB with its workers)")
    # Again with nothing appended: the incremental path a query takes before it runs.
    again = _rss_of([*CLI, "index", "--db", str(db), *map(str, index_files(events_dir))])
    result: dict[str, Any] = {"events": n, "generate": gen, "index": idx,
                              "index_again": again, "baselines": baselines(events_dir)}
    b = result["baselines"]
    log(f"baselines: orjson {b['orjson_lines_per_s']:,.0f} lines/s, DuckDB scan"
        f" {b['duckdb_scan_rows_per_s']:,.0f} rows/s")
    if idx["rc"] == 0:
        result["queries"] = measure_queries(mix, gen["copies"] - 1, ["--db", str(db)], runs)
        result["query_rss_mb"] = max(
            _rss_of([*CLI, *args])["rss_mb"]
            for args in query_commands(targets(mix, gen["copies"] - 3), ["--db", str(db)]).values())
        for name, q in result["queries"].items():
            log(f"{name}: median {q['median_s']:.3f} s")
        plan = [vars(targets(mix, max(gen["copies"] - 2 - r, 0))) for r in range(runs)]
        res = _run([sys.executable, __file__, "--inproc", str(db), json.dumps(plan)])
        if res["rc"] == 0:
            result["inproc"] = json.loads(res["stdout"])
            for name, q in result["inproc"]["queries"].items():
                log(f"{name} in-process: median {q['median_s']:.3f} s")
        else:
            result["inproc_error"] = res["stderr"][-2000:]
            log(f"in-process queries failed: {res['stderr'][-500:]}")
    if es is not None:
        result["elasticsearch"] = es(events_dir, gen)
    return result


# ---------------------------------------------------------------------------------------------
# Entry points: run.py's section, and this file on its own


FULL_SIZES = (1_000_000, 10_000_000)
SMOKE_SIZES = (20_000,)
TARGETS = {"index_rate": 200_000, "query_s": 1.0, "rss_mb": 1024}


def run(work: Path, *, smoke: bool = False, sizes: tuple[int, ...] | None = None,
        mix_path: Path | None = None, runs: int = 5, with_es: bool = False) -> dict[str, Any]:
    """The whole benchmark in `work` (a scratch directory with room for 10M events)."""
    mix_file = mix_path or BENCH_DIR / "provenance-mix.jsonl"
    if mix_path is None or not mix_file.exists():
        record_mix(mix_file)
    mix = load_mix(mix_file)
    results: dict[str, Any] = {
        "run": _machine(),
        "mix": {"file": str(mix_file), "documents": len(mix.docs),
                "span_s": mix.span_ns / 1e9,
                "actions": _counts(d["event"]["action"] for d in mix.docs),
                "processes": len({d["process"]["entity_id"] for d in mix.docs})},
        "sizes": [],
    }
    es = _es_runner(work, mix) if with_es and not smoke else None
    try:
        for n in sizes or (SMOKE_SIZES if smoke else FULL_SIZES):
            results["sizes"].append(measure_size(mix, n, work, 1 if smoke else runs,
                                                 es.measure if es else None))
    finally:
        if es is not None:
            es.close()
    results["run"]["loadavg_end"] = _loadavg()
    return results


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _machine() -> dict[str, Any]:
    """Where and when: the host is shared, so the load average is part of every figure."""
    git = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                         capture_output=True, text=True, check=False).stdout.strip()
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "git": git, "cpus": os.cpu_count(),
            "memory_mib": mem, "kernel": os.uname().release, "loadavg_start": _loadavg()}


def _counts(items: Iterator[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


ES_MAX_EVENTS = 1_000_000  # loading 10M through bulk requests takes longer than the rest
ES_INDEX = "provbench"


class _EsRunner:
    """A local node (scripts/elasticsearch.py), the events loaded with `ebpf-monitor replay`,
    then the same CLI queries with `--backend elasticsearch`."""

    def __init__(self, work: Path) -> None:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "ebpf_monitor_es_script", REPO / "scripts" / "elasticsearch.py")
        assert spec is not None and spec.loader is not None
        self.script = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = self.script  # its dataclasses look their module up here
        spec.loader.exec_module(self.script)
        self.server = self.script.start(tls=False)
        self.work = work
        self.mix: Mix | None = None

    def config(self, n: int) -> Path:
        path = self.work / f"es-{n}.json"
        path.write_text(json.dumps({
            "storage_type": "elasticsearch", "events_dir": str(self.work / "no-local-events"),
            "es_config": {"es_host": "127.0.0.1", "es_port": self.server.port,
                          "es_index": f"{ES_INDEX}-{n}", "batch_size": 1000}}))
        path.chmod(0o600)
        return path

    def measure(self, events_dir: Path, gen: dict[str, Any]) -> dict[str, Any]:
        n = gen["events"]
        if n > ES_MAX_EVENTS:
            return {"note": f"not loaded: above {ES_MAX_EVENTS:,} events the bulk load alone"
                            " outlasts the run"}
        assert self.mix is not None
        cfg = self.config(n)
        load = _run([*CLI, "replay", "--config", str(cfg), *map(str, index_files(events_dir))])
        load.pop("stdout")
        load["rate"] = n / load["secs"]
        log(f"elasticsearch: replay of {n:,} events {load['secs']:.0f} s rc {load['rc']}")
        if load["rc"] != 0:
            return {"load": load, "note": "replay failed: " + load["stderr"][-300:]}
        queries = measure_queries(self.mix, gen["copies"] - 1,
                                  ["--backend", "elasticsearch", "--config", str(cfg)], 3)
        for name, q in queries.items():
            log(f"{name} via elasticsearch: median {q['median_s']:.3f} s")
        return {"load": load, "queries": queries, "server": "8.19, 512 MB heap, one node"}

    def close(self) -> None:
        self.script.stop(self.server)


def _es_runner(work: Path, mix: Mix) -> _EsRunner:
    runner = _EsRunner(work)
    runner.mix = mix
    return runner


def _cell(v: float, unit: str = "s") -> str:
    return f"{v:.3f} {unit}" if v < 10 else f"{v:,.1f} {unit}"


def render(results: dict[str, Any], command: str = "") -> list[str]:
    """The BENCHMARKS.md section (markdown lines)."""
    mix = results["mix"]
    out = ["## 6. Provenance analysis (index build, queries)", ""]
    if command:
        out += [f"`{command}`", ""]
    run_info = results.get("run")
    if run_info:
        out += [f"Run {run_info['date']} at git {run_info['git']}, kernel {run_info['kernel']},"
                f" {run_info['cpus']} CPUs, {run_info['memory_mib']:,} MiB; load average"
                f" {run_info['loadavg_start']} at the start, {run_info.get('loadavg_end', '?')}"
                " at the end (the host is shared with other jobs: absolute times are noisy,"
                " the same-run baselines below are the reference).", ""]
    acts = ", ".join(f"{a} {n:,}" for a, n in list(mix["actions"].items())[:8])
    out += [f"Events: copies of a recorded real mix (benchmarks/provenance_workload.sh under the"
            f" monitor: {mix['documents']:,} documents of {mix['processes']} processes over"
            f" {mix['span_s']:.1f} s; {acts}, ...), each copy with fresh entity ids, event ids,"
            " times, temporary paths, pipe/socket inodes and ephemeral ports; shared system files"
            " stay shared. Written as events.jsonl, .1 and two gzipped rotations"
            " (10/10/20/60 %).", ""]
    out += ["| events | index s | index events/s | events per CPU second | input"
            " | index on disk | index peak RSS (with its workers) | re-index (nothing new) s |",
            "|---|---|---|---|---|---|---|---|"]
    for s in results["sizes"]:
        i, again = s["index"], s["index_again"]
        if i["rc"] != 0:
            out.append(f"| {s['events']:,} | failed (rc {i['rc']}): {i['stderr'][-200:]!r} |"
                       " | | | | | |")
            continue
        cpu = f"{i['cpu_rate']:,.0f}" if "cpu_rate" in i else "?"
        tree = f" ({i['rss_tree_mb']:,.0f} MB)" if "rss_tree_mb" in i else ""
        out.append(f"| {s['events']:,} | {i['secs']:,.1f} | {i['rate']:,.0f} | {cpu}"
                   f" | {i['input_bytes'] / 2**20:,.0f} MiB | {i['disk_bytes'] / 2**20:,.0f} MiB"
                   f" | {i['rss_mb']:,.0f} MB{tree} | {again['secs']:.2f} |")
    out += ["", "Baselines in the same run, same files: " + "; ".join(
        f"{s['events']:,} events: orjson.loads in a Python loop"
        f" {s['baselines']['orjson_lines_per_s']:,.0f} lines/s, DuckDB read_ndjson scan of"
        f" the columns a flow needs {s['baselines']['duckdb_scan_rows_per_s']:,.0f} rows/s"
        f" (index rate / scan rate"
        f" {s['index']['rate'] / s['baselines']['duckdb_scan_rows_per_s']:.2f})"
        for s in results["sizes"] if s.get("baselines")) + "."]
    names = [n for s in results["sizes"] for n in s.get("queries", {})]
    names = list(dict.fromkeys(names))
    if names:
        out += ["", "Query latency, local index: median (min-max) wall time of the CLI"
                " (`ebpf-monitor QUERY ... --format json`, a fresh process each time, so Python"
                " start-up is included), over runs on different late copies; answer size from the"
                " JSON (nodes / edges / events read).", "",
                "| query | " + " | ".join(f"{s['events']:,} events" for s in results["sizes"])
                + " |", "|---|" + "---|" * len(results["sizes"])]
        for name in names:
            cells = []
            for s in results["sizes"]:
                q = s.get("queries", {}).get(name)
                if not q:
                    cells.append("-")
                    continue
                last = q["runs"][-1]
                size = (f"; {last.get('nodes', '?')} / {last.get('edges', '?')} /"
                        f" {last.get('events_read', '?')}" if "nodes" in last else "")
                rcs = {r["rc"] for r in q["runs"]}
                cells.append(f"{q['median_s']:.3f} s ({q['min_s']:.3f}-{q['max_s']:.3f})"
                             f"{size}" + (f"; exit {sorted(rcs)}" if rcs != {0} else ""))
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        if any(s.get("inproc") for s in results["sizes"]):
            out += ["", "The same queries in one process (index opened once, then each query"
                    " timed alone: the walk and its SQL, no interpreter start-up): median"
                    " (min-max).", "",
                    "| query | " + " | ".join(f"{s['events']:,} events"
                                             for s in results["sizes"]) + " |",
                    "|---|" + "---|" * len(results["sizes"])]
            for name in names:
                cells = []
                for s in results["sizes"]:
                    q = (s.get("inproc") or {}).get("queries", {}).get(name)
                    cells.append(f"{q['median_s']:.3f} s ({q['min_s']:.3f}-{q['max_s']:.3f})"
                                 if q else "-")
                out.append(f"| {name} | " + " | ".join(cells) + " |")
            out.append("| (opening the index) | " + " | ".join(
                f"{s['inproc']['open_s']:.3f} s" if s.get("inproc") else "-"
                for s in results["sizes"]) + " |")
        rss = [s.get("query_rss_mb") for s in results["sizes"] if s.get("query_rss_mb")]
        if rss:
            out += ["", "Peak RSS of a query process: " + ", ".join(
                f"{s['events']:,} events: {s['query_rss_mb']:.0f} MB"
                for s in results["sizes"] if s.get("query_rss_mb")) + "."]
    es_rows = [s for s in results["sizes"] if s.get("elasticsearch")]
    out += ["", "Elasticsearch backend: " + (
        "see below." if es_rows else "not measured in this run.")]
    for s in es_rows:
        e = s["elasticsearch"]
        load = e.get("load")
        out.append(f"- {s['events']:,} events: " + (
            f"loaded with `ebpf-monitor replay` in {load['secs']:,.0f} s"
            f" ({load['rate']:,.0f} docs/s); " if load and load["rc"] == 0 else "")
            + ", ".join(f"{n} {q['median_s']:.3f} s (min {q['min_s']:.3f})"
                        + ("" if {r["rc"] for r in q["runs"]} == {0} else
                           f" exit {sorted({r['rc'] for r in q['runs']})}")
                        for n, q in e.get("queries", {}).items())
            + (f" ({e['note']})" if e.get("note") else ""))
    t = TARGETS
    out += ["", f"Targets (issue 13): index >= {t['index_rate']:,} events/s, every query"
            f" < {t['query_s']:g} s at 10M events, RSS < {t['rss_mb']} MB; see"
            " benchmarks/findings.md for what stops a missed one.", ""]
    return out


def main(argv: list[str] | None = None) -> int:
    global RSS_LIMIT_MB
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, FULL_SIZES)),
                   help="comma-separated event counts (default 1M and 10M)")
    p.add_argument("--smoke", action="store_true", help="20k events, one run per query")
    p.add_argument("--mix", type=Path, help="replay this recorded mix instead of recording one")
    p.add_argument("--runs", type=int, default=5, help="runs per query (median)")
    p.add_argument("--work", type=Path,
                   help="keep generated events here and reuse them (default: a temporary dir)")
    p.add_argument("--es", action="store_true", help="also query through Elasticsearch")
    p.add_argument("--output", type=Path, default=BENCH_DIR / "provenance.json")
    p.add_argument("--render-from", type=Path, metavar="JSON",
                   help="print the markdown section of an earlier run and exit")
    p.add_argument("--rss-limit-mb", type=int, default=RSS_LIMIT_MB,
                   help=f"stop an index build past this RSS (default {RSS_LIMIT_MB})")
    p.add_argument("--inproc", nargs=2, metavar=("DB", "PLAN"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    RSS_LIMIT_MB = args.rss_limit_mb
    if args.inproc:  # the child that times queries in-process (see inproc_queries)
        print(json.dumps(inproc_queries(Path(args.inproc[0]), json.loads(args.inproc[1]))))
        return 0
    if args.render_from:
        raw = json.loads(args.render_from.read_text())
        print("\n".join(render(raw["results"], raw.get("command", ""))))
        return 0
    if os.geteuid() != 0 and not args.mix:
        print("provenance.py: recording the mix runs the monitor: run as root, or give --mix",
              file=sys.stderr)
        return 1
    sizes = SMOKE_SIZES if args.smoke else tuple(int(x) for x in args.sizes.split(","))
    command = " ".join(["benchmarks/provenance.py", *(argv if argv is not None else sys.argv[1:])])
    with contextlib.ExitStack() as stack:
        if args.work:  # kept: generated events are reused by the next run
            work = args.work
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prov-bench-")))
        results = run(work, smoke=args.smoke, sizes=sizes, mix_path=args.mix,
                      runs=args.runs, with_es=args.es)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"command": command, "date": time.strftime(
        "%Y-%m-%d %H:%M %Z"), "results": results}, indent=1, default=str))
    print("\n".join(render(results, command)))
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
