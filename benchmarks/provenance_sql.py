#!/usr/bin/env python3
"""Prototype of the SQL route for the provenance index (issue 13, item 6), kept out of src/.

    benchmarks/provenance_sql.py scan DIR       # DIR: an events dir of benchmarks/provenance.py
    benchmarks/provenance_sql.py pending [N]    # N random streams (default 200)
    benchmarks/provenance_sql.py odd            # odd lines: what DuckDB and the Extractor make

`scan` times the current `LocalStore.index` and DuckDB `read_ndjson` scans of the same files
(typed columns, and sub-objects as JSON so that field types can be checked) in one run, and
compares the stateless flows (exec, create, rename, unlink, connect) derived in SQL with
`extract.Extractor`'s. `pending` checks the `read_write: "first"` close-record remainder in
SQL against the Extractor on random streams, then times it on a synthetic 1M-row stream.
Findings: benchmarks/findings.md, "The SQL route, prototyped". Prints numbers, asserts none.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson

from ebpf_monitor.provenance.backends.local import LocalStore, default_files
from ebpf_monitor.provenance.extract import Extractor, parse_time_ns

TYPED = {
    "@timestamp": "VARCHAR",
    "event": "STRUCT(action VARCHAR, outcome VARCHAR, category VARCHAR[])",
    "host": "STRUCT(name VARCHAR)",
    "process": "STRUCT(pid BIGINT, name VARCHAR, start VARCHAR, entity_id VARCHAR,"
               " parent STRUCT(pid BIGINT), executable VARCHAR, args VARCHAR[], exit_code BIGINT)",
    "user": "STRUCT(id VARCHAR, name VARCHAR, effective STRUCT(id VARCHAR, name VARCHAR))",
    "file": "STRUCT(path VARCHAR, target_path VARCHAR)",
    "ebpf": "STRUCT(bytes BIGINT, fd BIGINT, flags VARCHAR[], child_pid BIGINT, thread BOOLEAN,"
            " io STRUCT(reads BIGINT, writes BIGINT, bytes_read BIGINT, bytes_written BIGINT))",
    "source": "STRUCT(port BIGINT)",
    "destination": "STRUCT(ip VARCHAR, port BIGINT)",
}
OBJECTS = ("event", "host", "process", "user", "file", "ebpf", "source", "destination")

STATELESS = """
WITH x AS (SELECT "@timestamp" AS st, event.action AS a, event.outcome AS o,
  process.entity_id AS e, process.executable AS exe, file.path AS p, file.target_path AS tp,
  ebpf.flags AS fl, destination.ip AS dip, destination.port AS dport FROM d)
SELECT 'file:' || exe AS src, 'process:' || e AS dst, 'exec' AS action, st FROM x
  WHERE a IN ('execve', 'execveat') AND o = 'success' AND coalesce(exe, '') <> ''
UNION ALL SELECT 'process:' || e, 'file:' || p, 'create', st FROM x
  WHERE a IN ('open', 'openat', 'openat2', 'creat') AND o = 'success'
  AND coalesce(p, '') <> '' AND (a = 'creat' OR list_contains(fl, 'O_CREAT'))
UNION ALL SELECT 'file:' || p, 'file:' || tp, 'rename', st FROM x
  WHERE a IN ('rename', 'renameat', 'renameat2') AND o = 'success'
  AND coalesce(p, '') <> '' AND coalesce(tp, '') <> ''
UNION ALL SELECT 'process:' || e, 'file:' || p, 'unlink', st FROM x
  WHERE a IN ('unlink', 'unlinkat', 'rmdir') AND o = 'success' AND coalesce(p, '') <> ''
UNION ALL SELECT 'process:' || e, 'endpoint:' || dip || ':' || coalesce(dport, 0), 'connect', st
  FROM x WHERE a = 'connect' AND o IN ('success', 'unknown') AND coalesce(dip, '') <> ''
"""

# ev(rn, e, a, fd, obj, nbytes, reads, writes, br, bw): one row per document in file order;
# carry(e, fd, obj, dir, cnt, nbytes): `pending` from earlier runs (position 0).
REMAINDER = """
WITH io AS (SELECT rn, e, fd, obj, CASE a WHEN 'read' THEN 'r' ELSE 'w' END AS dir,
              1 AS cnt, nbytes FROM ev WHERE a IN ('read', 'write')
            UNION ALL SELECT 0, e, fd, obj, dir, cnt, nbytes FROM carry),
resets AS (SELECT rn, e, fd, obj, a FROM ev WHERE a IN ('close', 'exit')),
c AS (SELECT c.*, greatest(
        coalesce((SELECT max(r.rn) FROM resets r WHERE r.a = 'close' AND r.e = c.e
                  AND r.fd = c.fd AND r.obj = c.obj AND r.rn < c.rn), -1),
        coalesce((SELECT max(r.rn) FROM resets r WHERE r.a = 'exit' AND r.e = c.e
                  AND r.rn < c.rn), -1)) AS reset
      FROM ev c WHERE a = 'close'),
cd AS (SELECT rn, e, fd, obj, reset, 'r' AS dir, reads AS calls, br AS total FROM c
       UNION ALL SELECT rn, e, fd, obj, reset, 'w', writes, bw FROM c)
SELECT cd.rn, cd.dir, greatest(coalesce(cd.calls, 0) - coalesce(sum(io.cnt), 0), 0) AS n,
       greatest(coalesce(cd.total, 0) - coalesce(sum(io.nbytes), 0), 0) AS b
FROM cd LEFT JOIN io ON io.e = cd.e AND io.fd = cd.fd AND io.obj = cd.obj AND io.dir = cd.dir
  AND io.rn > cd.reset AND io.rn < cd.rn
GROUP BY cd.rn, cd.dir, cd.calls, cd.total HAVING n > 0 OR b > 0 ORDER BY cd.rn, cd.dir
"""


def _spec(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def _files_sql(files: list[Path]) -> str:
    return "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"


def _reference(files: list[Path]) -> Extractor:
    ex = Extractor()
    for f in files:
        with (gzip.open(f, "rb") if f.suffix == ".gz" else open(f, "rb")) as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError:
                    ex.skipped += 1
                    continue
                ex.feed(doc)
    return ex


def scan(events_dir: Path) -> None:
    files = default_files(events_dir)
    with tempfile.TemporaryDirectory(prefix="prov-sql-") as tmp:
        t0 = time.monotonic()
        store = LocalStore(Path(tmp) / "index.duckdb")
        docs, _ = store.index(files)
        store.close()
        took = time.monotonic() - t0
    print(f"current LocalStore.index: {docs} events in {took:.2f} s, {docs / took:,.0f}/s")
    con = duckdb.connect()
    src = _files_sql(files)
    t0 = time.monotonic()
    con.execute(f"CREATE TABLE d AS SELECT * FROM read_ndjson({src}, columns={_spec(TYPED)},"
                " ignore_errors=true)")
    t1 = time.monotonic()
    con.execute(f"CREATE TABLE fl AS {STATELESS}")
    t2 = time.monotonic()
    n = int((con.execute("SELECT count(*) FROM d").fetchone() or (0,))[0])
    print(f"typed read_ndjson scan: {n / (t1 - t0):,.0f} rows/s;"
          f" with the stateless flows: {n / (t2 - t0):,.0f} rows/s")
    con.execute("DROP TABLE d")
    spec = _spec({**{k: "JSON" for k in OBJECTS}, "@timestamp": "VARCHAR"})
    t0 = time.monotonic()
    con.execute(
        "CREATE TABLE j AS SELECT \"@timestamp\" AS st, event->>'action' AS a,"
        " event->>'outcome' AS o, process->>'entity_id' AS e, json_type(process, 'pid') AS pid_t,"
        " TRY_CAST(process->>'pid' AS BIGINT) AS pid, json_type(process, 'parent.pid') AS ppid_t,"
        " process->>'executable' AS exe, json_type(process, 'executable') AS exe_t,"
        " file->>'path' AS p, json_type(file, 'path') AS p_t, file->>'target_path' AS tp,"
        " ebpf->'flags' AS fl, TRY_CAST(ebpf->>'bytes' AS BIGINT) AS nbytes,"
        " json_type(ebpf, 'bytes') AS b_t, TRY_CAST(ebpf->>'fd' AS BIGINT) AS fd,"
        " json_exists(ebpf, 'pid_ns') AS pidns, destination->>'ip' AS dip,"
        " destination->>'port' AS dport, source->>'port' AS sport, host->>'name' AS h"
        f" FROM read_ndjson({src}, columns={spec}, ignore_errors=true)")
    took = time.monotonic() - t0
    print(f"read_ndjson with sub-objects as JSON (type-checkable): {n / took:,.0f} rows/s")
    ex = _reference(files)
    keep = {"exec", "create", "rename", "unlink", "connect"}
    want = sorted((f[0], f[1], f[2], f[3]) for f in ex.flows if f[2] in keep)
    got = sorted((str(s), str(t), str(a), parse_time_ns(str(st))) for s, t, a, st in
                 con.execute("SELECT src, dst, action, st FROM fl").fetchall())
    print(f"stateless flows: Extractor {len(want)}, SQL {len(got)}, identical: {want == got}")


def _stream(rng: random.Random, n: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for i in range(n):
        stamp = f"2025-11-24T16:00:{i // 10**6 % 60:02d}.{i % 10**6:06d}000Z"
        proc = {"pid": 1, "entity_id": f"e{rng.randrange(4)}"}
        base = {"@timestamp": stamp, "host": {"name": "h"}, "process": proc,
                "file": {"path": rng.choice(["/a", "/b"])}}
        fd, k = rng.randrange(3, 6), rng.random()
        if k < 0.7:
            docs.append({**base, "event": {"action": rng.choice(["read", "write"]),
                                           "outcome": "success", "category": ["file"]},
                         "ebpf": {"fd": fd, "bytes": rng.randrange(100)}})
        elif k < 0.97:
            io = {"reads": rng.randrange(6), "writes": rng.randrange(6),
                  "bytes_read": rng.randrange(300), "bytes_written": rng.randrange(300)}
            docs.append({**base, "event": {"action": "close", "outcome": "success",
                                           "category": ["file"]},
                         "ebpf": {"fd": fd, "io": io}})
        else:
            docs.append({**base, "event": {"action": "exit", "outcome": "success"},
                         "process": {**proc, "exit_code": 0}})
    return docs


def _remainders(docs: list[dict[str, Any]], carry: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev(rn BIGINT, e VARCHAR, a VARCHAR, fd BIGINT, obj VARCHAR,"
                " nbytes BIGINT, reads BIGINT, writes BIGINT, br BIGINT, bw BIGINT)")
    con.execute("CREATE TABLE carry(e VARCHAR, fd BIGINT, obj VARCHAR, dir VARCHAR, cnt BIGINT,"
                " nbytes BIGINT)")
    rows = []
    for i, d in enumerate(docs, 1):
        eb = d.get("ebpf") or {}
        io = eb.get("io") or {}
        rows.append((i, d["process"]["entity_id"], d["event"]["action"], eb.get("fd", -1),
                     "file:" + d["file"]["path"], eb.get("bytes", 0), io.get("reads"),
                     io.get("writes"), io.get("bytes_read"), io.get("bytes_written")))
    con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if carry:
        con.executemany("INSERT INTO carry VALUES (?, ?, ?, ?, ?, ?)", carry)
    return [tuple(r) for r in con.execute(REMAINDER).fetchall()]


def pending(streams: int) -> None:
    same = 0
    for seed in range(streams):
        rng = random.Random(seed)
        earlier, docs = _stream(rng, 200), _stream(rng, 400)
        ex = Extractor()
        ex.feed_all(earlier)
        carry = [(e, *k, *v) for e, mine in ex.pending.items() for k, v in mine.items()]
        want = []
        for i, d in enumerate(docs, 1):
            before = len(ex.flows)
            ex.feed(d)
            if d["event"]["action"] == "close":
                want += [(i, "r" if f[2] == "read" else "w", f[4], f[5])
                         for f in ex.flows[before:]]
        got = _remainders(docs, carry)
        if got != want:
            print(f"seed {seed}: SQL {got[:6]} ... Extractor {want[:6]} ...")
            break
        same += 1
    print(f"close-record remainders identical on {same} of {streams} random streams")
    con = duckdb.connect()
    n = 1_000_000
    con.execute(
        "CREATE TABLE ev AS SELECT i AS rn, 'e' || (i // 200) AS e, CASE WHEN i % 200 = 199"
        " THEN 'exit' WHEN i % 10 = 9 THEN 'close' WHEN i % 2 = 0 THEN 'read' ELSE 'write' END"
        " AS a, 3 + i % 3 AS fd, 'file:/f' || (i % 7) AS obj, 10 AS nbytes, 3 AS reads,"
        f" 3 AS writes, 100 AS br, 100 AS bw FROM range(1, {n + 1}) t(i)")
    con.execute("CREATE TABLE carry(e VARCHAR, fd BIGINT, obj VARCHAR, dir VARCHAR, cnt BIGINT,"
                " nbytes BIGINT)")
    t0 = time.monotonic()
    out = con.execute(REMAINDER).fetchall()
    took = time.monotonic() - t0
    print(f"synthetic {n} rows: {len(out)} remainders in {took:.2f} s, {n / took:,.0f} rows/s")


def odd() -> None:
    base = {"@timestamp": "2025-11-24T16:00:34.848151816Z",
            "event": {"action": "unlink", "outcome": "success", "category": ["file"]},
            "host": {"name": "vm"}, "process": {"pid": 1, "entity_id": "e1"},
            "file": {"path": "/tmp/a"}}
    lines = [json.dumps({**base, "file": {"path": p}}, ensure_ascii=False).encode()
             for p in ('/tmp/q"uote', "/tmp/back\\slash", "/tmp/new\nline", "/tmp/\u00e9")]
    head = b'{"@timestamp":"2025-11-24T16:00:34Z","event":{"action":"unlink","outcome":"success"}'
    lines += [head + b',"process":{"pid":1,"entity_id":"e1"},"file":{"path":"/tmp/\xff\xfe"}}',
              head + b',"process":{"pid":1,"entity_id":"e1"},"file":{"path":"/tmp/\\ud800"}}',
              head + b',"process":{"pid":"12","entity_id":"e2"},"file":{"path":"/tmp/s"}}',
              head + b',"process":{"pid":"zz","entity_id":"e3"},"file":{"path":"/tmp/z"}}',
              b'{"event": {"action": "unlink"', b"[1,2]",
              head + b',"process":{"pid":3,"entity_id":"e4"},"file":{"path":{"nested":1}}}']
    with tempfile.TemporaryDirectory(prefix="prov-sql-") as tmp:
        path = Path(tmp) / "events.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        ex = _reference([path])
        print(f"Extractor: {ex.documents} documents, {ex.skipped} skipped, flows:")
        for f in ex.flows:
            print("   ", f[:3])
        spec = _spec({"@timestamp": "VARCHAR", "event": TYPED["event"],
                      "process": TYPED["process"], "file": TYPED["file"]})
        rows = duckdb.connect().execute(
            "SELECT process.pid, process.entity_id, file.path FROM"
            f" read_ndjson('{path}', columns={spec}, ignore_errors=true)").fetchall()
    print(f"read_ndjson, typed, ignore_errors: {len(rows)} rows (pid, entity, path):")
    for r in rows:
        print("   ", r)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("scan").add_argument("events_dir", type=Path)
    sub.add_parser("pending").add_argument("streams", type=int, nargs="?", default=200)
    sub.add_parser("odd")
    args = p.parse_args()
    if args.cmd == "scan":
        scan(args.events_dir)
    elif args.cmd == "pending":
        pending(args.streams)
    else:
        odd()


if __name__ == "__main__":
    sys.exit(main())
