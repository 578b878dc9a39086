"""The one-host store: a DuckDB file built from events.jsonl and its rotated (gzipped) files.

All SQL of this backend lives here, parameterised. Tables:

    nodes(id, key)                            node ids ("file:/x") as small integers
    flows(src, dst, action, ts, cnt, bytes)   one row per flow instance (extract.py), by node id
    procs(entity PK, host, pid, ppid, start_ns, first_ns, name, executable, user_name,
          end_ns, exit_code, parent)           one row per process entity
    execs(entity, ts, executable, args, user_name)
    targets(caller, host, pid, ts, action, bytes, into_target)   calls on another process
                                              (ptrace, process_vm_*, signals) whose target
                                              pid is not matched to an entity yet
    creds(entity, ts, action, outcome, before, after)   credential changes (set*id, capset,
                                              a secure exec): annotations, not flows
    forks(parent, host, child_pid, ts, child) fork records; child: the entity matched to one
    sources(fingerprint PK, path, consumed, documents)   how far each file was read
    finished(fingerprint PK)                  compressed files read to their end: not reopened
    readers(id PK, n), readers_dirty(id)      distinct readers per file node (the noise rule's
                                              count, kept so a walk step need not scan flows)
    pending(entity, fd, obj, dir, cnt, bytes) read/write counts awaiting their close record
    listening(host, port)                     server ports seen in listen/accept
    meta(key PK, value)                       documents and skipped lines in all
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import hashlib
import io
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson

from ...errors import ProvenanceError
from ..extract import Extractor, Pending
from ..graphdata import FORK_SKEW_NS, FORK_WINDOW_NS, make_node
from ..model import Edge, Node
from ..source import ProcessRow
from . import sqlchunk, workers

__all__ = ["ROUTES", "LocalStore", "default_files"]

#: How `index` reads new lines: "lines" (default), each chunk decoded by msgspec into typed
#: structs and fed to the Extractor's rules (typed.py); "sql", DuckDB per chunk with the
#: Extractor for chunks it cannot read exactly (backends/sqlchunk.py); "extractor", every
#: line through extract.Extractor, the reference the other two are tested against.
ROUTES = ("lines", "sql", "extractor")

_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS node_ids START 1;
CREATE TABLE IF NOT EXISTS nodes(id INTEGER, key VARCHAR);
CREATE TABLE IF NOT EXISTS flows(src INTEGER, dst INTEGER, action VARCHAR, ts BIGINT,
    cnt BIGINT, bytes BIGINT);
CREATE TABLE IF NOT EXISTS procs(entity VARCHAR PRIMARY KEY, host VARCHAR, pid BIGINT,
    ppid BIGINT, start_ns BIGINT, first_ns BIGINT, name VARCHAR, executable VARCHAR,
    user_name VARCHAR, end_ns BIGINT, exit_code BIGINT, parent VARCHAR);
CREATE TABLE IF NOT EXISTS execs(entity VARCHAR, ts BIGINT, executable VARCHAR,
    args VARCHAR, user_name VARCHAR);
CREATE TABLE IF NOT EXISTS forks(parent VARCHAR, host VARCHAR, child_pid BIGINT, ts BIGINT,
    child VARCHAR);
CREATE TABLE IF NOT EXISTS targets(caller VARCHAR, host VARCHAR, pid BIGINT, ts BIGINT,
    action VARCHAR, bytes BIGINT, into_target BOOLEAN);
CREATE TABLE IF NOT EXISTS creds(entity VARCHAR, ts BIGINT, action VARCHAR, outcome VARCHAR,
    before VARCHAR, after VARCHAR);
CREATE TABLE IF NOT EXISTS sources(fingerprint VARCHAR PRIMARY KEY, path VARCHAR,
    consumed BIGINT, documents BIGINT);
CREATE TABLE IF NOT EXISTS pending(entity VARCHAR, fd BIGINT, obj VARCHAR, dir VARCHAR,
    cnt BIGINT, bytes BIGINT);
CREATE TABLE IF NOT EXISTS listening(host VARCHAR, port BIGINT);
CREATE TABLE IF NOT EXISTS finished(fingerprint VARCHAR PRIMARY KEY);
CREATE TABLE IF NOT EXISTS readers_dirty(id INTEGER);
CREATE INDEX IF NOT EXISTS nodes_key ON nodes(key);
CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value BIGINT);
"""

#: Under glibc's largest mmap threshold (32 MiB, see _keep_freed_memory), with room for the
#: piece of a line carried from the previous read.
_CHUNK = 30 * 1024 * 1024
_FLOW = ("VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "BIGINT")  # extract.Flow
_FLOW_IDS = ("INTEGER", "INTEGER", "VARCHAR", "BIGINT", "BIGINT", "BIGINT")  # the flows table
_PROC = ("VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "VARCHAR", "VARCHAR",
         "VARCHAR", "BIGINT", "BIGINT")  # procs without its parent
_ROTATED = re.compile(r"^events\.jsonl\.(\d+)(\.gz)?$")
_UPSERT = ("ON CONFLICT (entity) DO UPDATE SET"
           " first_ns = least(procs.first_ns, excluded.first_ns),"
           " name = coalesce(nullif(excluded.name, ''), procs.name),"
           " executable = coalesce(nullif(excluded.executable, ''), procs.executable),"
           " user_name = coalesce(nullif(excluded.user_name, ''), procs.user_name),"
           " end_ns = coalesce(excluded.end_ns, procs.end_ns),"
           " exit_code = coalesce(excluded.exit_code, procs.exit_code)")


def _array(values: list[str] | list[int]) -> str:
    """A list parameter as one JSON text, cast back in SQL (`?::JSON::VARCHAR[]`):
    duckdb-python converts a Python list value by value, and tries to import pandas for
    each one (a failed import searches all of sys.path), so a list of a few hundred keys
    cost tens of milliseconds where one string costs a fraction of one."""
    try:
        return orjson.dumps(values).decode()
    except TypeError as exc:  # a str with lone surrogates: not text DuckDB could hold either
        raise ProvenanceError(f"not valid UTF-8 text: {exc}") from None


def _keep_freed_memory() -> None:
    """Let glibc reuse a freed chunk buffer (this process and the workers it forks).

    By default a block of 32 MiB or more comes fresh from mmap each time, one page fault per
    4 KiB: that was most of the reading's CPU (1.1-1.2 µs an event of a plain file; 0.33-0.37
    with this and 30 MiB chunks, benchmarks/findings.md). Elsewhere (another libc) a no-op."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD, at its maximum
        libc.mallopt(-1, 96 * 1024 * 1024)  # M_TRIM_THRESHOLD: keep about three chunks freed
    except (OSError, AttributeError):
        pass


def default_files(events_dir: Path) -> list[Path]:
    """events.jsonl and its rotations, oldest first (events.jsonl.3.gz, .2.gz, .1, then live)."""
    try:
        names = os.listdir(events_dir)
    except FileNotFoundError:
        raise ProvenanceError(f"events_dir {events_dir}: no such directory") from None
    except OSError as exc:
        raise ProvenanceError(f"events_dir {events_dir}: {exc.strerror}") from None
    rotated = sorted(((int(m.group(1)), n) for n in names if (m := _ROTATED.match(n))),
                     reverse=True)
    files = [events_dir / n for _, n in rotated]
    if "events.jsonl" in names:
        files.append(events_dir / "events.jsonl")
    return files


def _is_gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise ProvenanceError(f"{path}: cannot read: {exc.strerror}") from None


def _open(path: Path) -> io.BufferedIOBase:
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ProvenanceError(f"{path}: cannot read: {exc.strerror}") from None
    if fh.read(2) == b"\x1f\x8b":
        fh.close()
        return gzip.GzipFile(path, "rb")
    fh.seek(0)
    return fh


class _Progress:
    """A progress bar on stderr, only when it is a terminal and the run is long."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.tty = sys.stderr.isatty()
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, done: int, docs: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.tty or (not final and (now - self.last < 0.2 or now - self.start < 1.0)):
            return
        if final and not self.shown:
            return
        self.last = now
        self.shown = True
        frac = min(done / self.total, 1.0)
        rate = docs / max(now - self.start, 1e-9)
        sys.stderr.write(f"\rindexing [{'#' * int(frac * 30):<30}] {frac:6.1%}"
                         f" {docs} events {rate:,.0f}/s" + ("\n" if final else ""))
        sys.stderr.flush()


class _NodeIds:
    """Node key -> id for one index run, in bounded memory.

    Two generations of the keys used lately (a key found in the older one moves to the newer;
    once the newer one holds `LIMIT` keys it becomes the older and the older is dropped), and
    a Bloom filter of every key this run gave an id. A key in neither generation is new
    without a lookup when the filter has not seen it and `nodes` was empty when the run began;
    otherwise it is asked of `nodes` (one query per chunk for all such keys), as keys of
    earlier runs always were. New keys take the next ids of the `node_ids` sequence, as the
    SQL paths' keys do. So every key gets the id a dictionary of the whole run would give
    it, while memory stays at two generations and the filter: the dictionary grew with every
    key of the run (344k keys at 10M events of the benchmark's mix)."""

    LIMIT = 1 << 16  # keys per generation: several chunks' worth of keys
    BLOOM_BITS = 1 << 27  # 16 MiB; two probes: ~0.01% false positives at 344k keys

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.hot: dict[str, int] = {}
        self.cold: dict[str, int] = {}
        # Made at the first new key: after the index's worker processes have forked, which
        # would each count its pages in their RSS too.
        self.seen = bytearray()
        self.earlier = con.execute("SELECT count(*) FROM nodes").fetchone() != (0,)
        self.lookups = 0  # queries to `nodes` (tests, the benchmark)

    def map(self, tmp: Path, keys: set[str], bulk: Any) -> dict[str, int]:
        """The ids of `keys`; new keys get ids and `nodes` rows (through `bulk`)."""
        hot, cold = self.hot, self.cold
        out: dict[str, int] = {}
        missing: list[str] = []
        for key in keys:
            i = hot.get(key)
            if i is None:
                i = cold.get(key)
                if i is None:
                    missing.append(key)
                    continue
                hot[key] = i
            out[key] = i
        if missing:
            self._add(tmp, missing, out, bulk)
        if len(self.hot) >= self.LIMIT:
            self.cold = self.hot
            self.hot = {}
        return out

    def _add(self, tmp: Path, missing: list[str], out: dict[str, int], bulk: Any) -> None:
        if not self.seen:
            self.seen = bytearray(self.BLOOM_BITS >> 3)
        seen, mask = self.seen, self.BLOOM_BITS - 1
        maybe: list[str] = []
        new: list[str] = []
        for key in missing:
            h = hash(key)  # this process's str hash: the filter lives as long as the run
            a, b = h & mask, (h >> 32) & mask
            if self.earlier or (seen[a >> 3] >> (a & 7) & 1 and seen[b >> 3] >> (b & 7) & 1):
                maybe.append(key)
            else:
                new.append(key)
        if maybe:
            self.lookups += 1
            found = {str(k): int(i) for k, i in self.con.execute(
                "SELECT key, id FROM nodes WHERE key IN (SELECT unnest(?::JSON::VARCHAR[]))",
                [_array(sorted(maybe))]).fetchall()}
            for key in maybe:
                i = found.get(key)
                if i is None:
                    new.append(key)
                else:
                    out[key] = self.hot[key] = i
        if not new:
            return
        new.sort()
        got = [int(i) for (i,) in self.con.execute("SELECT nextval('node_ids') FROM range(?)",
                                                    [len(new)]).fetchall()]
        bulk(tmp, "nodes", ("INTEGER", "VARCHAR"), list(zip(got, new, strict=True)))
        hot = self.hot
        for key, i in zip(new, got, strict=True):
            out[key] = hot[key] = i
            h = hash(key)
            a, b = h & mask, (h >> 32) & mask
            seen[a >> 3] |= 1 << (a & 7)
            seen[b >> 3] |= 1 << (b & 7)

    def clear(self) -> None:
        """Memory back: the run's later steps intern keys through `nodes`."""
        self.hot, self.cold, self.seen = {}, {}, bytearray()


class LocalStore:
    """DuckDB-backed EdgeSource; `index()` brings it up to date with the event files."""

    def __init__(self, db: Path, *, create: bool = True, route: str = "lines",
                 workers: int | None = None) -> None:
        if route not in ROUTES:
            raise ProvenanceError(f"index route {route!r}: not one of {', '.join(ROUTES)}")
        self.route = route
        self.workers = workers  # worker processes of the default route; None: by size, CPUs
        self.sql_chunks = self.typed_chunks = self.python_chunks = 0
        self.node_lookups = 0  # the last run's queries to `nodes` for keys (_NodeIds)
        if not create and not db.exists():
            raise ProvenanceError(f"index {db}: not found; run: ebpf-monitor index")
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(db))
        except duckdb.Error as exc:  # locked by another run, not a DuckDB file, ...
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ProvenanceError(f"index {db}: cannot open: {first}") from None
        except OSError as exc:
            raise ProvenanceError(f"index {db}: cannot open: {exc.strerror}") from None
        self.db = db
        fresh_readers = self.con.execute("SELECT count(*) FROM information_schema.tables"
                                         " WHERE table_name = 'readers'").fetchone() == (0,)
        self.con.execute(_SCHEMA)
        if fresh_readers:  # a new store, or one built before the table: count from flows
            self.con.execute("CREATE TABLE readers(id INTEGER PRIMARY KEY, n BIGINT)")
            self.con.execute("INSERT INTO readers_dirty SELECT DISTINCT src FROM flows"
                             " WHERE action IN ('read', 'exec')")
            self._update_readers()
        kind = self.con.execute("SELECT data_type FROM information_schema.columns WHERE"
                                " table_name = 'flows' AND column_name = 'src'").fetchone()
        if kind is not None and kind[0] != "INTEGER":
            self.con.close()
            raise ProvenanceError(f"index {db}: built by an older version; delete it and run:"
                                  " ebpf-monitor index")
        self.events_read = self._meta("documents")
        self.skipped = self._meta("skipped")

    def close(self) -> None:
        self.con.close()

    def _meta(self, key: str) -> int:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return int(row[0]) if row else 0

    # ---- indexing ----------------------------------------------------------------------

    def index(self, files: list[Path]) -> tuple[int, int]:
        """Read what was appended to `files` since the last run; (documents, skipped)."""
        if self.route == "lines":
            return self._index_lines(files)
        return self._index_chunks(files)

    def _plan(self, files: list[Path]) -> tuple[list[tuple[Path, str, int]], int]:
        """What each route reads: (path, fingerprint, bytes already consumed) of every file
        not finished, and the bytes left in all of them (for the progress line)."""
        total = 0
        plan: list[tuple[Path, str, int]] = []
        finished = {str(f) for (f,) in
                    self.con.execute("SELECT fingerprint FROM finished").fetchall()}
        for path in files:
            fingerprint, size = self._fingerprint(path)
            if fingerprint is None or fingerprint in finished:
                continue  # a rotated .gz read to its end: seeking there inflates all of it
            row = self.con.execute("SELECT consumed FROM sources WHERE fingerprint = ?",
                                   [fingerprint]).fetchone()
            done = int(row[0]) if row else 0
            plan.append((path, fingerprint, done))
            total += max(size - done, 0)
        return plan, total

    def _index_chunks(self, files: list[Path]) -> tuple[int, int]:
        """The "sql" and "extractor" routes: chunk by chunk, each through DuckDB
        (sqlchunk.py) when every line of it is one the SQL path reads exactly as the
        Extractor would, else through the Extractor; the `listening` and `pending` tables
        carry the state to the next chunk."""
        fresh: set[str] = set()  # processes first seen in this run
        plan, total = self._plan(files)
        progress = _Progress(total)
        docs = skipped = 0
        progressed = 0
        with tempfile.TemporaryDirectory(prefix="ebpf-monitor-index-") as tmp:
            chunk = Path(tmp) / "chunk.jsonl"
            for path, fingerprint, done in plan:
                for consumed, data in self._chunks(path, done):
                    chunk.write_bytes(data + b"\n")
                    n = sqlchunk.run(self.con, chunk, data) if self.route == "sql" else None
                    if n is not None:
                        self._store_sql(fingerprint, path, consumed, n, fresh)
                        self.sql_chunks += 1
                    else:
                        n, bad = self._index_python(Path(tmp), data, fingerprint, path,
                                                    consumed, fresh)
                        skipped += bad
                        self.python_chunks += 1
                    docs += n
                    progressed += len(data) + 1
                    progress.update(progressed, docs)
                if _is_gzip(path):  # only a compressed file is complete (see _chunks)
                    self.con.execute("INSERT INTO finished VALUES (?) ON CONFLICT DO NOTHING",
                                     [fingerprint])
            if docs:  # nothing new: nothing to resolve
                self._resolve_parents(Path(tmp), fresh)
                self._resolve_targets()
            self._update_readers()
        progress.update(total, docs, final=True)
        self.events_read = self._meta("documents")
        self.skipped = self._meta("skipped")
        return docs, skipped

    def _index_lines(self, files: list[Path]) -> tuple[int, int]:
        """The default route: each chunk decoded in one call into typed structs and fed to
        the Extractor's rules (typed.py), in worker processes on a big run (workers.py);
        chunks with odd lines go line by line."""
        listening = {(str(h), int(p)) for h, p in
                     self.con.execute("SELECT host, port FROM listening").fetchall()}
        pending: Pending = {}
        for e, fd, o, d, c, b in self.con.execute("SELECT * FROM pending").fetchall():
            pending.setdefault(str(e), {})[int(fd), str(o), str(d)] = [int(c), int(b)]
        known = {str(e) for (e,) in self.con.execute("SELECT entity FROM procs").fetchall()}
        fresh: set[str] = set()  # processes first seen in this run
        plan, total = self._plan(files)
        progress = _Progress(total)
        docs = skipped = 0
        progressed = 0
        if total:
            _keep_freed_memory()

        def chunks() -> Iterator[tuple[tuple[str, Path, int, int], bytes | None]]:
            for path, fingerprint, done in plan:
                for consumed, data in self._chunks(path, done):
                    yield (fingerprint, path, consumed, len(data)), data
                if _is_gzip(path):  # only a compressed file is complete (see _chunks)
                    yield (fingerprint, path, 0, 0), None

        ids = _NodeIds(self.con)
        with (tempfile.TemporaryDirectory(prefix="ebpf-monitor-index-") as tmp,
              workers.results(chunks(), (listening, pending),
                              self._workers(total)) as results):
            for (fingerprint, path, consumed, size), rows in results:
                if rows is None:
                    self.con.execute("INSERT INTO finished VALUES (?) ON CONFLICT DO NOTHING",
                                     [fingerprint])
                    continue
                if rows.whole:
                    self.typed_chunks += 1
                else:
                    self.python_chunks += 1
                self._store(rows, Path(tmp), fingerprint, path, consumed, ids)
                for row in rows.procs:
                    if row[0] not in known:
                        fresh.add(row[0])
                        known.add(row[0])
                docs += rows.documents
                skipped += rows.skipped
                progressed += size + 1
                progress.update(progressed, docs)
            self.node_lookups = ids.lookups
            ids.clear()
            if docs:  # nothing new: nothing to resolve
                self._resolve_parents(Path(tmp), fresh)
                self._resolve_targets()
            self._update_readers()
        progress.update(total, docs, final=True)
        self.events_read = self._meta("documents")
        self.skipped = self._meta("skipped")
        return docs, skipped

    def _workers(self, total: int) -> int:
        """Worker processes for a run of `total` bytes: none for a small one (starting them
        costs more than they save) or on one CPU."""
        if self.workers is not None:
            return self.workers
        cpus = len(os.sched_getaffinity(0))
        if cpus < 2 or total < 4 * _CHUNK:
            return 0
        return min(cpus, 4)

    def _index_python(self, tmp: Path, data: bytes, fingerprint: str, path: Path,
                      consumed: int, fresh: set[str]) -> tuple[int, int]:
        """One chunk through extract.Extractor, line by line: (documents, skipped)."""
        listening = {(str(h), int(p)) for h, p in
                     self.con.execute("SELECT host, port FROM listening").fetchall()}
        pending: Pending = {}
        for e, fd, o, d, c, b in self.con.execute("SELECT * FROM pending").fetchall():
            pending.setdefault(str(e), {})[int(fd), str(o), str(d)] = [int(c), int(b)]
        ex = Extractor(listening=set(listening), pending=pending)
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                ex.skipped += 1
                continue
            ex.feed(doc)
        known = {str(e) for (e,) in self.con.execute(
            "SELECT entity FROM procs WHERE entity IN (SELECT unnest(?::JSON::VARCHAR[]))",
            [_array(list(ex.procs))]).fetchall()}
        fresh.update(e for e in ex.procs if e not in known)
        self._store(workers.summarize(ex, ex.listening - listening, False), tmp, fingerprint,
                    path, consumed, None)
        return ex.documents, ex.skipped

    def _store_sql(self, fingerprint: str, path: Path, consumed: int, documents: int,
                   fresh: set[str]) -> None:
        """Commit what sqlchunk.run left in its temp tables, as `_store` does for the
        Extractor's results."""
        con = self.con
        fresh.update(str(e) for (e,) in con.execute(
            "SELECT entity FROM cprocs WHERE entity NOT IN (SELECT entity FROM procs)"
        ).fetchall())
        con.execute("BEGIN")
        try:
            self._flows_from_stage()
            con.execute("INSERT INTO execs SELECT * FROM cexecs")
            con.execute("INSERT INTO forks SELECT * FROM cforks")
            con.execute(f"INSERT INTO procs SELECT *, NULL FROM cprocs {_UPSERT}")
            con.execute("INSERT INTO listening SELECT host, port FROM lis WHERE rn > 0")
            con.execute("DELETE FROM pending")
            con.execute("INSERT INTO pending SELECT * FROM pending_next")
            self._source_done(fingerprint, path, consumed, documents, 0)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _source_done(self, fingerprint: str, path: Path, consumed: int, documents: int,
                     skipped: int) -> None:
        self.con.execute("INSERT INTO sources VALUES (?, ?, ?, ?) ON CONFLICT (fingerprint)"
                         " DO UPDATE SET path = excluded.path, consumed = excluded.consumed,"
                         " documents = sources.documents + excluded.documents",
                         [fingerprint, str(path), consumed, documents])
        self.con.execute("INSERT INTO meta VALUES ('documents', ?), ('skipped', ?)"
                         " ON CONFLICT (key) DO UPDATE SET value = meta.value + excluded.value",
                         [documents, skipped])

    def _fingerprint(self, path: Path) -> tuple[str | None, int]:
        """A file is known by its first line (event ids make it unique), so a rename by
        logrotate, or gzip, does not make us read it again."""
        with contextlib.closing(_open(path)) as fh:
            try:
                first = fh.readline()
            except (OSError, EOFError) as exc:
                raise ProvenanceError(f"{path}: cannot read: {exc}") from None
        if not first.endswith(b"\n"):
            return None, 0
        size = path.stat().st_size
        if path.suffix == ".gz":
            size *= 8  # a rough guess of the inflated size, for the progress bar only
        return hashlib.blake2b(first, digest_size=16).hexdigest(), size

    def _chunks(self, path: Path, start: int) -> Iterator[tuple[int, bytes]]:
        """(bytes consumed so far, complete lines without the last newline) per chunk,
        from `start`."""
        with contextlib.closing(_open(path)) as fh:
            # Only a compressed file is finished: the monitor may still be writing the last
            # batch to events.jsonl.1 (logrotate's delaycompress) as well as to the live file.
            finished = isinstance(fh, gzip.GzipFile)
            try:
                fh.seek(start)
                rest = b""
                while True:
                    data = fh.read(_CHUNK)
                    if not data:
                        break
                    data = rest + data
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        rest = data
                        continue
                    rest = data[cut + 1:]
                    consumed = fh.tell() - len(rest)
                    yield consumed, data[:cut]
                if rest and finished:
                    # A last line without newline is still read (and counted as skipped when
                    # it is cut short).
                    yield fh.tell(), rest
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise ProvenanceError(f"{path}: cannot read: {exc}") from None

    @staticmethod
    def _rowset(tmp: Path, name: str, types: tuple[str, ...], rows: list[Any]) -> tuple[str, str]:
        """Rows written column-wise as one JSON object, and a subquery giving them back typed
        (c0, c1, ...): DuckDB reads JSON natively and any text is safe in it; typed list
        columns parse about twice as fast as a JSON value per row picked apart with `->>`."""
        return LocalStore._colset(tmp, name, types, list(zip(*rows, strict=True)))

    @staticmethod
    def _colset(tmp: Path, name: str, types: tuple[str, ...],
                columns: list[Any]) -> tuple[str, str]:
        """`_rowset` for rows already split into columns."""
        path = tmp / f"{name}.json"
        path.write_bytes(orjson.dumps({f"c{i}": col for i, col in enumerate(columns)}))
        spec = ", ".join(f"'c{i}': '{t}[]'" for i, t in enumerate(types))
        cols = ", ".join(f"unnest(c{i}) AS c{i}" for i in range(len(types)))
        return (f"(SELECT {cols} FROM read_json(?, format='unstructured',"
                f" columns={{{spec}}}))", str(path))

    def _bulk(self, tmp: Path, table: str, types: tuple[str, ...], rows: list[Any]) -> None:
        """Insert many rows of `types` (in the table's column order)."""
        if not rows:
            return
        sub, path = self._rowset(tmp, table, types, rows)
        self.con.execute(f"INSERT INTO {table} SELECT * FROM {sub}", [path])

    def _insert_flows(self, tmp: Path, rows: list[Any]) -> None:
        """Flows with node keys: new keys get ids, then the rows go in by id (a scan of
        integers is what makes a walk step fast)."""
        if not rows:
            return
        self._stage_flows()
        self._bulk(tmp, "stage", _FLOW, rows)
        self._flows_from_stage()

    def _stage_flows(self) -> None:
        self.con.execute("CREATE OR REPLACE TEMP TABLE stage(src VARCHAR, dst VARCHAR,"
                         " action VARCHAR, ts BIGINT, cnt BIGINT, bytes BIGINT)")

    def _flows_from_stage(self) -> None:
        con = self.con
        con.execute("INSERT INTO nodes SELECT nextval('node_ids'), k FROM (SELECT DISTINCT k"
                    " FROM (SELECT src AS k FROM stage UNION SELECT dst FROM stage) u"
                    " WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.key = u.k))")
        con.execute("INSERT INTO flows SELECT s.id, d.id, t.action, t.ts, t.cnt, t.bytes"
                    " FROM stage t JOIN nodes s ON s.key = t.src JOIN nodes d ON d.key = t.dst"
                    " ORDER BY t.ts")
        con.execute("INSERT INTO readers_dirty SELECT DISTINCT s.id FROM stage t JOIN nodes s"
                    " ON s.key = t.src WHERE t.action IN ('read', 'exec')")
        con.execute("DROP TABLE stage")

    def _store(self, rows: workers.ChunkRows, tmp: Path, fingerprint: str, path: Path,
               consumed: int, ids: _NodeIds | None) -> None:
        """One chunk's rows in one transaction with how far its file was read."""
        con = self.con
        con.execute("BEGIN")
        try:
            if ids is None:
                self._insert_flows(tmp, rows.flows)
            else:
                self._insert_flow_ids(tmp, rows.flows, ids)
            self._bulk(tmp, "execs", ("VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR"),
                       rows.execs)
            self._bulk(tmp, "forks", ("VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR"),
                       rows.forks)
            self._bulk(tmp, "targets", ("VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "VARCHAR",
                                        "BIGINT", "BOOLEAN"), rows.targets)
            self._bulk(tmp, "creds", ("VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR",
                                      "VARCHAR"), rows.creds)
            if rows.procs:
                sub, name = self._rowset(tmp, "procs", _PROC, rows.procs)
                con.execute(f"INSERT INTO procs SELECT *, NULL FROM {sub} {_UPSERT}", [name])
            self._bulk(tmp, "listening", ("VARCHAR", "BIGINT"), rows.listening)
            con.execute("DELETE FROM pending")
            self._bulk(tmp, "pending", ("VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "BIGINT",
                                        "BIGINT"), rows.pending)
            self._source_done(fingerprint, path, consumed, rows.documents, rows.skipped)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _insert_flow_ids(self, tmp: Path, flows: list[Any], ids: _NodeIds) -> None:
        """`_insert_flows` with the keys looked up in the run's map (`_NodeIds`): joining
        each chunk's keys with all of `nodes` (three times) grew with the index."""
        if not flows:
            return
        src, dst, action, ts, cnt, nbytes = zip(*flows, strict=True)
        keys = set(src)
        keys.update(dst)
        have = ids.map(tmp, keys, self._bulk)
        sids = list(map(have.__getitem__, src))
        did = list(map(have.__getitem__, dst))
        sub, name = self._colset(tmp, "flows", _FLOW_IDS, [sids, did, action, ts, cnt, nbytes])
        self.con.execute(f"INSERT INTO flows SELECT * FROM {sub} ORDER BY c3", [name])
        read = {i for i, a in zip(sids, action, strict=True) if a == "read" or a == "exec"}
        self._bulk(tmp, "readers_dirty", ("INTEGER",), [[i] for i in read])

    def _resolve_parents(self, tmp: Path, fresh: set[str]) -> None:
        """Give each process without a parent yet its parent entity and a fork flow.

        The parent is picked in SQL (on the child's host, pid = the child's ppid, started at
        or before the child and not exited before it; the latest such, as
        graphdata.pick_parent): one row per child, where fetching every process that ever had
        the parent's pid grew to 10^8 rows at 10M events. Only children new in this run, or
        whose ppid a new process took, are tried, so parentless roots do not rejoin on every
        run. Fork records come first: they name the parent even where ppid cannot (an
        orphan's ppid is its reaper)."""
        self._resolve_forks()
        if not fresh:
            return
        con = self.con
        con.execute("CREATE OR REPLACE TEMP TABLE fresh(entity VARCHAR)")
        self._bulk(tmp, "fresh", ("VARCHAR",), [[e] for e in fresh])
        con.execute(
            "CREATE OR REPLACE TEMP TABLE found AS SELECT c.entity, p.entity AS parent,"
            " c.start_ns FROM procs c JOIN procs p ON p.host = c.host AND p.pid = c.ppid"
            " AND p.entity <> c.entity AND p.start_ns <= c.start_ns"
            " AND (p.end_ns IS NULL OR p.end_ns >= c.start_ns)"
            " WHERE c.parent IS NULL AND (c.entity IN (SELECT entity FROM fresh)"
            " OR (c.host, c.ppid) IN (SELECT host, pid FROM procs"
            " WHERE entity IN (SELECT entity FROM fresh)))"
            " QUALIFY row_number() OVER (PARTITION BY c.entity"
            " ORDER BY p.start_ns DESC, p.entity DESC) = 1")
        con.execute("BEGIN")
        try:
            self._stage_flows()
            con.execute("INSERT INTO stage SELECT 'process:' || parent, 'process:' || entity,"
                        " 'fork', start_ns, 1, 0 FROM found")
            self._flows_from_stage()
            con.execute("UPDATE procs SET parent = found.parent FROM found"
                        " WHERE procs.entity = found.entity")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("DROP TABLE found")
        con.execute("DROP TABLE fresh")

    def _resolve_targets(self) -> None:
        """Calls on another process become flows once their target pid names an entity: on
        the caller's host, with that pid, started at or before the call and not exited
        before it; the latest such (extract.target_flow gives the direction). Unmatched
        ones wait for a later run (the target's documents may come later)."""
        con = self.con
        if con.execute("SELECT count(*) FROM targets").fetchone() == (0,):
            return
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tfound AS SELECT t.rowid AS rid, t.caller, t.ts,"
            " t.action, t.bytes, t.into_target, p.entity AS target FROM targets t JOIN procs p"
            " ON p.host = t.host AND p.pid = t.pid AND p.start_ns <= t.ts"
            " AND (p.end_ns IS NULL OR p.end_ns >= t.ts)"
            " QUALIFY row_number() OVER (PARTITION BY t.rowid"
            " ORDER BY p.start_ns DESC, p.entity DESC) = 1")
        con.execute("BEGIN")
        try:
            self._stage_flows()
            con.execute("INSERT INTO stage SELECT"
                        " 'process:' || CASE WHEN into_target THEN caller ELSE target END,"
                        " 'process:' || CASE WHEN into_target THEN target ELSE caller END,"
                        " action, ts, 1, bytes FROM tfound")
            self._flows_from_stage()
            con.execute("DELETE FROM targets WHERE rowid IN (SELECT rid FROM tfound)")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("DROP TABLE tfound")

    def _update_readers(self) -> None:
        """Recount the readers of the files read in this run (or in one that stopped before
        getting here: the dirty marks are committed with the flows): one scan of `flows` per
        run instead of one per walk step."""
        con = self.con
        if con.execute("SELECT count(*) FROM readers_dirty").fetchone() == (0,):
            return
        con.execute("BEGIN")
        try:
            con.execute("INSERT INTO readers SELECT src, count(DISTINCT dst) FROM flows"
                        " WHERE action IN ('read', 'exec') AND src IN"
                        " (SELECT id FROM readers_dirty) GROUP BY src"
                        " ON CONFLICT (id) DO UPDATE SET n = excluded.n")
            con.execute("DELETE FROM readers_dirty")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _resolve_forks(self) -> None:
        """Parents from fork records, for the processes not yet matched to one.

        The record is picked in SQL, as graphdata.pick_fork does (on the child's host and pid,
        from the skew before its start to the window after it and not after its exit, not its
        own; the nearest its start, then the earliest, then the least parent entity), one row
        per child: fetching every candidate record into Python (pids recur, so each child had
        several) was 0.4 GB at 10M events, the index's peak RSS."""
        con = self.con
        con.execute(
            "CREATE OR REPLACE TEMP TABLE forked AS SELECT c.entity, f.parent, c.start_ns,"
            " min(f.ts) OVER (PARTITION BY c.entity, f.parent) AS ts, c.host, c.pid"
            " FROM procs c JOIN forks f ON f.host = c.host AND f.child_pid = c.pid"
            " AND f.ts >= c.start_ns - $1 AND f.ts <= c.start_ns + $2"
            " WHERE f.parent <> c.entity AND f.ts <= coalesce(c.end_ns + $1, c.start_ns + $2)"
            " AND NOT EXISTS (SELECT 1 FROM forks g WHERE g.child = c.entity)"
            " QUALIFY row_number() OVER (PARTITION BY c.entity"
            " ORDER BY abs(f.ts - c.start_ns), f.ts, f.parent) = 1",
            [FORK_SKEW_NS, FORK_WINDOW_NS])
        if con.execute("SELECT count(*) FROM forked").fetchone() == (0,):
            con.execute("DROP TABLE forked")
            return
        con.execute("BEGIN")
        try:
            # A parent found by ppid before the fork record was read gives way.
            con.execute("DELETE FROM flows WHERE action = 'fork' AND dst IN (SELECT n.id"
                        " FROM nodes n JOIN forked t ON n.key = 'process:' || t.entity)")
            self._stage_flows()
            con.execute("INSERT INTO stage SELECT 'process:' || parent, 'process:' || entity,"
                        " 'fork', start_ns, 1, 0 FROM forked")
            self._flows_from_stage()
            con.execute("UPDATE procs SET parent = t.parent FROM forked t"
                        " WHERE procs.entity = t.entity")
            con.execute("UPDATE forks SET child = t.entity FROM forked t"
                        " WHERE forks.parent = t.parent AND forks.host = t.host"
                        " AND forks.child_pid = t.pid AND forks.ts = t.ts")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("DROP TABLE forked")

    def indexed_files(self) -> int:
        row = self.con.execute("SELECT count(*) FROM sources").fetchone()
        return int(row[0]) if row else 0

    # ---- EdgeSource ----------------------------------------------------------------------

    def _edges(self, bounds: dict[str, int], since: int, until: int, *, into: bool) -> list[Edge]:
        if not bounds:
            return []
        side, cmp = ("dst", "<=") if into else ("src", ">=")
        rows = self.con.execute(
            "WITH q AS (SELECT n.id AS node, b.bound FROM"
            " (SELECT unnest(?::JSON::VARCHAR[]) AS key, unnest(?::JSON::BIGINT[]) AS bound) b"
            " JOIN nodes n ON n.key = b.key),"
            " e AS (SELECT f.src, f.dst, f.action, min(f.ts) AS lo, max(f.ts) AS hi,"
            " sum(f.cnt) AS c, sum(f.bytes) AS b FROM flows f JOIN q"
            f" ON f.{side} = q.node WHERE f.ts {cmp} q.bound AND f.ts >= ? AND f.ts <= ?"
            " GROUP BY f.src, f.dst, f.action)"
            " SELECT s.key, d.key, e.action, e.lo, e.hi, e.c, e.b FROM e"
            " JOIN nodes s ON s.id = e.src JOIN nodes d ON d.id = e.dst",
            [_array(list(bounds)), _array(list(bounds.values())), since, until]).fetchall()
        return [Edge(src=s, dst=d, action=a, first_ns=int(lo), last_ns=int(hi), count=int(c),
                     bytes=int(b)) for s, d, a, lo, hi, c, b in rows]

    def edges_in(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        return self._edges(bounds, since, until, into=True)

    def edges_out(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        return self._edges(bounds, since, until, into=False)

    def readers(self, file_ids: list[str], at_least: int | None = None) -> dict[str, int]:
        """Exact counts, whatever `at_least` says: they are kept in a table."""
        rows = self.con.execute(
            "SELECT n.key, r.n FROM readers r JOIN (SELECT id, key FROM nodes"
            " WHERE key IN (SELECT unnest(?::JSON::VARCHAR[]))) n ON r.id = n.id",
            [_array(file_ids)]).fetchall()
        return {str(s): int(n) for s, n in rows}

    def describe(self, ids: list[str], sample: int) -> dict[str, Node]:
        if not ids:
            return {}
        con = self.con
        entities = [i[8:] for i in ids if i.startswith("process:")]
        procs: dict[str, dict[str, Any]] = {}
        execs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if entities:
            cur = con.execute("SELECT * FROM procs WHERE entity IN"
                              " (SELECT unnest(?::JSON::VARCHAR[]))", [_array(entities)])
            names = [d[0] for d in cur.description or []]
            for row in cur.fetchall():
                rec = dict(zip(names, row, strict=True))
                rec["user"] = rec.pop("user_name")
                procs[rec["entity"]] = rec
            for e, ts, exe, args, user in con.execute(
                    "SELECT entity, ts, executable, args, user_name FROM execs WHERE entity IN"
                    " (SELECT unnest(?::JSON::VARCHAR[])) ORDER BY ts",
                    [_array(entities)]).fetchall():
                execs[e].append({"time_ns": int(ts), "executable": exe,
                                 "args": orjson.loads(args), "user": user})
        creds: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if entities:
            for e, ts, action, outcome, before, after in con.execute(
                    "SELECT * FROM creds WHERE entity IN (SELECT unnest(?::JSON::VARCHAR[]))"
                    " ORDER BY ts, action, before, after", [_array(entities)]).fetchall():
                creds[e].append({"time_ns": int(ts), "action": action, "outcome": outcome,
                                 "before": before, "after": after})
        actions: dict[str, dict[str, int]] = defaultdict(dict)
        events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        aliases: dict[str, list[str]] = defaultdict(list)
        for node, action, n in con.execute(
                "WITH i AS (SELECT id, key FROM nodes WHERE key IN"
                " (SELECT unnest($1::JSON::VARCHAR[])))"
                " SELECT node, action, sum(cnt) FROM (SELECT i.key AS node, f.action, f.cnt"
                " FROM flows f JOIN i ON f.src = i.id UNION ALL SELECT i.key, f.action, f.cnt"
                " FROM flows f JOIN i ON f.dst = i.id) GROUP BY ALL", [_array(ids)]).fetchall():
            actions[node][action] = int(n)
        for node, action, ts, other, nbytes in con.execute(
                "WITH i AS (SELECT id, key FROM nodes WHERE key IN"
                " (SELECT unnest($1::JSON::VARCHAR[]))),"
                " t AS (SELECT i.key AS node, f.action, f.ts, f.dst AS other, f.bytes"
                " FROM flows f JOIN i ON f.src = i.id UNION ALL SELECT i.key, f.action, f.ts,"
                " f.src, f.bytes FROM flows f JOIN i ON f.dst = i.id)"
                " SELECT t.node, t.action, t.ts, o.key, t.bytes FROM t JOIN nodes o"
                " ON o.id = t.other QUALIFY row_number() OVER (PARTITION BY t.node"
                " ORDER BY t.ts, t.action, o.key) <= $2", [_array(ids), sample]).fetchall():
            detail = str(other) + (f" {nbytes} B" if nbytes else "")
            events[node].append({"time_ns": int(ts), "action": action, "detail": detail})
            if action in ("rename", "link", "symlink"):
                aliases[node].append(str(other)[5:])
        return {i: make_node(i, proc=procs.get(i[8:]), execs=execs.get(i[8:], []),
                             creds=creds.get(i[8:], []),
                             aliases=aliases.get(i, []), actions=actions.get(i, {}),
                             events=events.get(i, []), sample=sample)
                for i in ids if i in actions or i[8:] in procs}

    def _rows(self, where: str, params: list[Any]) -> list[ProcessRow]:
        return [ProcessRow(str(e), str(h), int(p), int(pp), int(s),
                           None if en is None else int(en), par)
                for e, h, p, pp, s, en, par in self.con.execute(
                    "SELECT entity, host, pid, ppid, start_ns, end_ns, parent FROM procs"
                    f" WHERE {where} ORDER BY start_ns, entity", params).fetchall()]

    def process(self, entity: str) -> ProcessRow | None:
        rows = self._rows("entity = ?", [entity])
        return rows[0] if rows else None

    def processes_by_pid(self, pid: int) -> list[ProcessRow]:
        return self._rows("pid = ?", [pid])

    def children(self, entities: list[str]) -> list[ProcessRow]:
        return self._rows("parent IN (SELECT unnest(?::JSON::VARCHAR[]))", [_array(entities)])

    def exists(self, node_id: str) -> bool:
        if node_id.startswith("process:"):
            return self.process(node_id[8:]) is not None
        # A key is in `nodes` only once a flow named it.
        row = self.con.execute("SELECT 1 FROM nodes WHERE key = ? LIMIT 1",
                               [node_id]).fetchone()
        return row is not None
