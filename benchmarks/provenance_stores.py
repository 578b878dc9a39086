"""Choose the local provenance store by numbers: DuckDB (the one we ship) against SQLite
(in the standard library), same extractor, same events, same walk, measured in one run.

    .venv/bin/python benchmarks/provenance_stores.py EVENTS.jsonl [ROOT_NODE]

Prints index rate (events/s, wall and CPU), size on disk, and the median of 5 lineage and
impact walks from ROOT_NODE (default: the file written most often). Not a test: no asserts.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

from ebpf_monitor.provenance.backends.local import LocalStore
from ebpf_monitor.provenance.extract import Extractor
from ebpf_monitor.provenance.model import Edge, Node
from ebpf_monitor.provenance.source import ProcessRow
from ebpf_monitor.provenance.walk import Options, impact, lineage


class SqliteStore:
    """The alternative: flows in SQLite with (dst, ts) and (src, ts) indexes."""

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("CREATE TABLE flows(src TEXT, dst TEXT, action TEXT, ts INTEGER,"
                         " cnt INTEGER, bytes INTEGER)")
        self.events_read = 0
        self.skipped = 0

    def index(self, path: Path) -> int:
        ex = Extractor()
        n = 0
        with open(path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    ex.feed(orjson.loads(line))
                except orjson.JSONDecodeError:
                    ex.skipped += 1
                n += 1
                if len(ex.flows) > 50_000:
                    self.con.executemany("INSERT INTO flows VALUES (?,?,?,?,?,?)", ex.flows)
                    ex.flows.clear()
        self.con.executemany("INSERT INTO flows VALUES (?,?,?,?,?,?)", ex.flows)
        self.con.execute("CREATE INDEX IF NOT EXISTS by_dst ON flows(dst, ts)")
        self.con.execute("CREATE INDEX IF NOT EXISTS by_src ON flows(src, ts)")
        self.con.commit()
        self.events_read = n
        return n

    def _edges(self, bounds: dict[str, int], since: int, until: int, into: bool) -> list[Edge]:
        side, cmp = ("dst", "<=") if into else ("src", ">=")
        out = []
        for node, bound in bounds.items():
            for s, d, a, lo, hi, c, b in self.con.execute(
                    "SELECT src, dst, action, min(ts), max(ts), sum(cnt), sum(bytes) FROM flows"
                    f" WHERE {side} = ? AND ts {cmp} ? AND ts BETWEEN ? AND ?"
                    " GROUP BY src, dst, action", (node, bound, since, until)):
                out.append(Edge(s, d, a, lo, hi, c, b))
        return out

    def edges_in(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        return self._edges(bounds, since, until, True)

    def edges_out(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        return self._edges(bounds, since, until, False)

    def readers(self, file_ids: list[str]) -> dict[str, int]:
        out = {}
        for f in file_ids:
            (n,) = self.con.execute("SELECT count(DISTINCT dst) FROM flows WHERE src = ? AND"
                                    " action IN ('read', 'exec')", (f,)).fetchone()
            out[f] = n
        return out

    def describe(self, ids: list[str], sample: int) -> dict[str, Node]:
        return {i: Node(i, "file", i) for i in ids}  # not measured: same work in both

    def process(self, entity: str) -> ProcessRow | None:
        return None

    def processes_by_pid(self, pid: int) -> list[ProcessRow]:
        return []

    def children(self, entities: list[str]) -> list[ProcessRow]:
        return []

    def exists(self, node_id: str) -> bool:
        return True

    def close(self) -> None:
        self.con.close()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _median_walk(store: object, root: str) -> tuple[float, float]:
    times = {}
    for name, fn in (("lineage", lineage), ("impact", impact)):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            fn(store, root, Options())  # type: ignore[arg-type]
            runs.append(time.perf_counter() - t)
        times[name] = statistics.median(runs)
    return times["lineage"], times["impact"]


def main() -> None:
    events = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for name in ("duckdb", "sqlite"):
            db = Path(tmp) / f"p.{name}"
            wall, cpu = time.perf_counter(), time.process_time()
            store: LocalStore | SqliteStore
            if name == "duckdb":
                store = LocalStore(db)
                n, _ = store.index([events])
            else:
                store = SqliteStore(db)
                n = store.index(events)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if len(sys.argv) > 2:
                root = sys.argv[2]
            else:
                writes = Counter(d for _, d, a, *_ in all_flows(events) if a == "write")
                root = writes.most_common(1)[0][0]
            lin, imp = _median_walk(store, root)
            results.append((name, n, n / wall, n / cpu, _size(db), lin, imp))
            store.close()
        print(f"events: {events} ({results[0][1]} documents), load average"
              f" {os.getloadavg()[0]:.1f}, root {root}")
        print("| store | index events/s (wall) | events/s (CPU) | size on disk |"
              " lineage median | impact median |")
        print("|---|---|---|---|---|---|")
        for name, _, w, c, size, lin, imp in results:
            print(f"| {name} | {w:,.0f} | {c:,.0f} | {size / 1e6:.1f} MB | {lin * 1000:.1f} ms"
                  f" | {imp * 1000:.1f} ms |")


_FLOWS: list[tuple[str, str, str, int, int, int]] = []


def all_flows(events: Path) -> list[tuple[str, str, str, int, int, int]]:
    if not _FLOWS:
        ex = Extractor()
        with open(events, "rb") as f:
            for line in f:
                with contextlib.suppress(orjson.JSONDecodeError):
                    ex.feed(orjson.loads(line))
        _FLOWS.extend(ex.flows)
    return _FLOWS


if __name__ == "__main__":
    main()
