"""The index's default route (typed.py) and SQL route (backends/sqlchunk.py) against the
Extractor route, on the same files: every table the queries read must come out identical,
chunk by chunk and run by run."""

from __future__ import annotations

import datetime
import gzip
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ebpf_monitor.errors import ProvenanceError
from ebpf_monitor.provenance.backends import local
from ebpf_monitor.provenance.backends.local import LocalStore, default_files
from ebpf_monitor.provenance.extract import parse_time_ns
from tests.unit.golden import HERE as GOLDEN
from tests.unit.provenance_docs import Doc, Proc

ODD_NAMES = ["/tmp/q\"uote", "/tmp/back\\slash", "/tmp/new\nline", "/tmp/\u00e9t\u00e9",
             "/tmp/raw\\xff\\xfe", "/tmp/sp ace,}", "/tmp/{brace", "/tmp/0digit"]


def _stream(rng: random.Random, n: int, t0: float, first_mode: bool) -> list[Doc]:
    """A random mix of what the monitor writes: forks, execs, file and socket io (full or
    read_write "first" capture, i.e. close records with totals), renames, exits."""
    procs = [Proc(f"e{rng.randrange(10**6):06d}-{i}", 100 + i, 1, t0) for i in range(6)]
    docs: list[Doc] = []
    t = t0
    for _ in range(n):
        t += 0.001
        p = rng.choice(procs)
        path = rng.choice([*ODD_NAMES, "/etc/passwd", "/tmp/a", "/tmp/b"])
        k = rng.random()
        if k < 0.3:
            fd = rng.randrange(3, 6)
            if first_mode and rng.random() < 0.4:
                docs.append(p.close(t, path, reads=rng.randrange(5), writes=rng.randrange(5),
                                    bytes_read=rng.randrange(500),
                                    bytes_written=rng.randrange(500), fd=fd))
            else:
                io = p.read if rng.random() < 0.5 else p.write
                docs.append(io(t, path, nbytes=rng.randrange(100), fd=fd))
        elif k < 0.4:
            docs.append(p.open(t, path, *rng.choice([["O_RDONLY"], ["O_WRONLY", "O_CREAT"]])))
        elif k < 0.45:
            docs.append(p.rename(t, path, path + ".new"))
        elif k < 0.5:
            docs.append(p.unlink(t, path))
        elif k < 0.55:
            docs.append(p.exec(t, rng.choice(ODD_NAMES), "-c", "x\u00e9\"y"))
        elif k < 0.6:
            d = p.fork(t, 5000 + rng.randrange(50))
            if rng.random() < 0.2:
                d["ebpf"]["thread"] = True
            docs.append(d)
        elif k < 0.7:
            port = rng.choice([80, 443, 8080])
            docs.append(rng.choice([p.connect(t, "10.0.0.2", port),
                                    p.send(t, "10.0.0.2", port, rng.randrange(90)),
                                    p.recv(t, "10.0.0.3", port, rng.randrange(90), lport=8080),
                                    p.listen(t, 8080),
                                    p.accept(t, "10.0.0.3", 5555, 8080)]))
        elif k < 0.72:
            docs.append(p.exit(t, rng.randrange(3)))
            procs.remove(p)
            procs.append(Proc(f"e{rng.randrange(10**6):06d}-n", p.pid, p.pid - 1, t))
        else:
            d = p.doc(t, rng.choice(["socket", "bind", "mmap"]))
            if rng.random() < 0.1:
                d["user"]["effective"] = {"id": "1000", "name": "alice"}
            docs.append(d)
    return docs


BAD_LINES = [
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success"',
    b"[1,2]",
    b"\xff\xfe not json",
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success"},'
    b'"process":{"pid":"zz","entity_id":"bad1"},"file":{"path":"/tmp/z"}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success"},'
    b'"process":{"pid":3,"entity_id":"bad2"},"file":{"path":{"nested":1}}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"read","outcome":"success",'
    b'"category":["file"]},"process":{"pid":3,"entity_id":"bad3"},"file":{"path":"/tmp/n"},'
    b'"ebpf":{"fd":null,"bytes":4}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"clone","outcome":"success"},'
    b'"process":{"pid":3,"entity_id":"bad4"},"ebpf":{"child_pid":77,"pid_ns":null}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success"},'
    b'"process":{"pid":1.5,"entity_id":"bad5"},"file":{"path":"/tmp/f"}}',
    b'{"@timestamp":"2025-02-30T00:00:01Z","event":{"action":"unlink","outcome":"success"},'
    b'"process":{"pid":1,"entity_id":"bad6"},"file":{"path":"/tmp/f"}}',
    b'{"@timestamp":12,"event":{"action":"unlink"}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success"},'
    b'"process":{"pid":1,"entity_id":7},"file":{"path":"/tmp/f"}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"openat","outcome":"success"},'
    b'"process":{"pid":1,"entity_id":"bad7"},"file":{"path":"/tmp/f"},"ebpf":{"flags":512}}',
    # Valid JSON in types the typed reader (typed.py) refuses: the Extractor's answer.
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success"},'
    b'"process":{"pid":true,"entity_id":"odd1"},"file":{"path":"/tmp/f"}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"exit"},'
    b'"process":{"pid":2,"entity_id":"odd2","exit_code":"x"}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"send","outcome":"success",'
    b'"category":"network"},"process":{"pid":2,"entity_id":"odd3"},'
    b'"destination":{"ip":"10.0.0.9","port":80.0},"ebpf":{"fd":3,"bytes":5}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"clone","outcome":"success"},'
    b'"process":{"pid":3,"entity_id":"odd4"},"ebpf":{"child_pid":78,"thread":0}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"mmap"},"user":{"id":0},'
    b'"process":{"pid":3,"entity_id":"odd5","name":7}}',
    # Malformed only where the index does not read: still a skip, as orjson says.
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success",'
    b'"id":"\xff"},"process":{"pid":1,"entity_id":"bad8"},"file":{"path":"/tmp/f"}}',
    b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink","outcome":"success",'
    b'"id":"\\ud800"},"process":{"pid":1,"entity_id":"bad9"},"file":{"path":"/tmp/f"}}',
    *[b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink"},"x":'
      + b"[" * 3000 + b"]" * 3000 + b',"process":{"pid":1,"entity_id":"bad10"}}',
      b'{"@timestamp":"2025-11-30T00:00:01Z","event":{"action":"unlink"},"x":[1,],'
      b'"process":{"pid":1,"entity_id":"bad11"}}'],
]
#: Refused by orjson, read by DuckDB's JSON reader: the SQL route's documented differences
#: (nesting deeper than orjson's 1024 levels, a trailing comma), checked for the default route.
SQL_READS = BAD_LINES[-2:]


def _lines(docs: list[Doc]) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in docs)


def _dump(store: LocalStore) -> dict[str, Any]:
    """Every table the queries read, with node ids replaced by their keys."""
    con = store.con
    out: dict[str, Any] = {"flows": sorted(con.execute(
        "SELECT s.key, d.key, f.action, f.ts, f.cnt, f.bytes FROM flows f"
        " JOIN nodes s ON s.id = f.src JOIN nodes d ON d.id = f.dst").fetchall())}
    out["execs"] = sorted(((e, t, x, orjson.loads(a), u) for e, t, x, a, u in
                           con.execute("SELECT * FROM execs").fetchall()), key=repr)
    for table in ("procs", "forks", "pending", "listening", "meta", "sources", "finished",
                  "creds", "targets"):
        out[table] = sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    out["readers"] = sorted(con.execute(
        "SELECT n.key, r.n FROM readers r JOIN nodes n ON n.id = r.id").fetchall())
    out["keys_given_two_ids"] = con.execute(
        "SELECT count(*) - count(DISTINCT key) FROM nodes").fetchone()
    return out


def _same_tables(tmp_path: Path, first_mode: bool, route: str,
                 workers: int | None) -> LocalStore:
    """TestRoutesMatchExtractor.test_same_tables; the store of `route` (closed)."""
    rng = random.Random(13 + first_mode)
    logs = tmp_path / "logs"
    logs.mkdir()
    docs = _stream(rng, 3000, 0.0, first_mode)
    with gzip.open(logs / "events.jsonl.2.gz", "wb") as gz:
        gz.write(_lines(docs[:800]))
    bad = _lines(docs[800:1500]).split(b"\n")
    for i, line in enumerate(b for b in BAD_LINES if route == "lines" or b not in SQL_READS):
        # each lands in some chunk of events.jsonl.1
        bad.insert(40 + i * 50, line)
    (logs / "events.jsonl.1").write_bytes(b"\n".join(bad))
    (logs / "events.jsonl").write_bytes(_lines(docs[1500:2400]))
    stores = [LocalStore(tmp_path / "py.duckdb", route="extractor"),
              LocalStore(tmp_path / "sql.duckdb", route=route, workers=workers)]
    try:
        results = [s.index(default_files(logs)) for s in stores]
        first = stores[1].node_lookups
        assert results[0] == results[1]
        assert results[0][1] >= 3  # the malformed lines are counted, not indexed
        assert _dump(stores[0]) == _dump(stores[1])
        with open(logs / "events.jsonl", "ab") as f:  # appended since: only that is read
            f.write(_lines(docs[2400:]))
        results = [s.index(default_files(logs)) for s in stores]
        assert results[0] == results[1] == (600, 0)
        assert _dump(stores[0]) == _dump(stores[1])
        # Both ways were taken: clean chunks whole (SQL, or typed structs), the bad
        # lines' chunks line by line.
        whole = stores[1].sql_chunks if route == "sql" else stores[1].typed_chunks
        assert whole > 10 and stores[1].python_chunks >= 4
        assert stores[0].sql_chunks == 0
    finally:
        for s in stores:
            s.close()
    stores[1].node_lookups = first  # the first run's (not the appended one's)
    return stores[1]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chunks of a few dozen lines, so state crosses many chunk boundaries."""
    monkeypatch.setattr(local, "_CHUNK", 16 * 1024)
    yield


@pytest.mark.unit
class TestRoutesMatchExtractor:
    """The default and SQL routes build the same index as the Extractor route."""

    @pytest.mark.parametrize(("route", "workers"),
                             [("lines", 0), ("lines", 1), ("lines", 3), ("sql", None)],
                             ids=["lines", "lines-1-worker", "lines-3-workers", "sql"])
    @pytest.mark.parametrize("first_mode", [False, True], ids=["full", "first"])
    def test_same_tables(self, tmp_path: Path, small_chunks: None, first_mode: bool,
                         route: str, workers: int | None) -> None:
        """Rotated, gzipped, live and appended files, odd names and malformed lines; the
        default route in this process, and with its state handed between worker processes
        across ~90 chunk boundaries."""
        _same_tables(tmp_path, first_mode, route, workers)

    @pytest.mark.parametrize("workers", [0, 3])
    def test_bounded_node_ids(self, tmp_path: Path, small_chunks: None,
                              monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
        """Node ids stay exact when the run's key map forgets keys (generations of 8 keys)
        and its filter of new keys answers "maybe" for most keys (64 bits)."""
        monkeypatch.setattr(local._NodeIds, "LIMIT", 8)
        monkeypatch.setattr(local._NodeIds, "BLOOM_BITS", 64)
        store = _same_tables(tmp_path, True, "lines", workers)
        assert store.node_lookups > 10  # forgotten keys were asked of `nodes`
    @pytest.mark.parametrize("route", ["lines", "sql"])
    def test_bad_line_alone_falls_back(self, tmp_path: Path, route: str) -> None:
        """Each malformed or odd line, in a chunk of good lines, gets the Extractor's answer."""
        rng = random.Random(7)
        good = _lines(_stream(rng, 40, 0.0, True))
        for i, line in enumerate(BAD_LINES):
            if route == "sql" and line in SQL_READS:
                continue
            events = tmp_path / f"events{i}.jsonl"
            events.write_bytes(good + line + b"\n")
            py = LocalStore(tmp_path / f"py{i}.duckdb", route="extractor")
            sql = LocalStore(tmp_path / f"sql{i}.duckdb", route=route)
            try:
                assert py.index([events]) == sql.index([events])
                assert route != "sql" or sql.python_chunks == 1, line
                assert _dump(py) == _dump(sql), line
            finally:
                py.close()
                sql.close()

    def test_clean_file_takes_sql_route(self, tmp_path: Path) -> None:
        """A file the monitor wrote goes through DuckDB, not line by line."""
        events = tmp_path / "events.jsonl"
        events.write_bytes(_lines(_stream(random.Random(3), 500, 0.0, False)))
        store = LocalStore(tmp_path / "s.duckdb", route="sql")
        try:
            assert store.index([events]) == (500, 0)
            assert (store.sql_chunks, store.python_chunks) == (1, 0)
        finally:
            store.close()


def _stream12(rng: random.Random, n: int, t0: float) -> list[Doc]:
    """A random mix of issue #12's kinds among plain reads and writes: moves, pipes, AF_UNIX
    I/O (with and without the peer, close totals), links, changes, credentials, calls on
    another process (pids reused), io_uring operations, memfds, odd names."""
    procs = [Proc(f"k{rng.randrange(10**6):06d}-{i}", 300 + i, 1, t0) for i in range(6)]
    docs: list[Doc] = []
    t = t0
    names = [*ODD_NAMES, "/tmp/a", "pipe:[41]", "pipe:[42]", "/memfd:m (deleted)"]
    for _ in range(n):
        t += 0.001
        p = rng.choice(procs)
        path = rng.choice(names)
        inode = rng.choice([900, 901, 902])
        peer = rng.choice([None, 900, 901, 902])
        k = rng.randrange(16)
        if k == 0:
            docs.append(p.move(t, rng.choice(["sendfile64", "splice", "tee", "copy_file_range"]),
                               rng.choice([path, None]), rng.choice(names), rng.randrange(99),
                               outcome=rng.choice(["success", "success", "failure"])))
        elif k == 1:
            docs.append(rng.choice([p.pipe(t, rng.choice([41, 42])),
                                    p.socketpair(t, inode, inode + 10)]))
        elif k == 2:
            docs.append(p.unix_io(t, rng.choice(["sendto", "recvfrom", "write", "read",
                                                 "sendmmsg", "recvmmsg"]), inode, peer,
                                  rng.randrange(50), uring=rng.random() < 0.2))
        elif k == 3:
            docs.append(p.unix_close(t, inode, peer, reads=rng.randrange(4),
                                     writes=rng.randrange(4), bytes_read=rng.randrange(90),
                                     bytes_written=rng.randrange(90)))
        elif k == 4:
            docs.append(p.unix_net(t, rng.choice(["connect", "accept4"]), inode,
                                   rng.choice(["/run/x.sock", "@abs", "rel.sock"]), peer))
        elif k == 5:
            docs.append(p.link(t, rng.choice(["link", "linkat", "symlink", "symlinkat"]),
                               path, rng.choice(["/tmp/a", "../x/./y", "rel"])))
        elif k == 6:
            docs.append(p.change(t, rng.choice(["chmod", "fchownat", "truncate", "mkdir",
                                                "mknodat"]), path,
                                 rng.choice(["success", "failure"])))
        elif k == 7:
            docs.append(rng.choice([
                p.setid(t, rng.choice(["setuid", "setresuid", "setfsgid"]), (0, 0), (0, 65534),
                        rng.choice(["success", "failure"])),
                p.capset(t, ["CAP_KILL", "CAP_SYS_BOOT"], ["CAP_KILL"]),
                p.secure_exec(t, "/tmp/suid", 65534, 0)]))
        elif k == 8:
            d = p.on_process(t, rng.choice(["ptrace", "process_vm_readv", "process_vm_writev",
                                            "kill", "tgkill", "pidfd_send_signal"]),
                             rng.choice([300, 301, 302, 999]),
                             request=rng.choice(["PTRACE_PEEKDATA", "PTRACE_POKEUSER", 16896]),
                             nbytes=rng.randrange(64))
            if rng.random() < 0.2:
                d["ebpf"]["pid_ns"] = {"pid": 3}
            docs.append(d)
        elif k == 9:
            docs.append(rng.choice([p.memfd(t, rng.choice(["m", "x\u00e9"])),
                                    p.fd_exec(t, rng.choice(["memfd:m", "/tmp/gone"]))]))
        elif k == 10:
            docs.append(p.uring(t, rng.choice(["read", "write"]), path, rng.randrange(30)))
        elif k == 11:
            docs.append(p.close(t, path, reads=rng.randrange(4), writes=rng.randrange(4),
                                bytes_read=rng.randrange(90), bytes_written=rng.randrange(90)))
        elif k == 12:
            docs.append(p.exit(t))
            procs.remove(p)
            procs.append(Proc(f"k{rng.randrange(10**6):06d}-n", p.pid, 1, t))
        else:
            io = p.read if rng.random() < 0.5 else p.write
            docs.append(io(t, path, nbytes=rng.randrange(100)))
    return docs


def _golden_documents() -> bytes:
    """Every recorded document of the golden fixtures (the monitor's own output for the
    issue #12 workloads, and the full and "first" batches)."""
    out = b""
    for path in sorted(GOLDEN.glob("*documents*.jsonl.gz")):
        out += gzip.decompress(path.read_bytes()).rstrip(b"\n") + b"\n"
    return out


@pytest.mark.unit
class TestIssue12KindsMatch:
    """The default and SQL routes give the Extractor's index for issue #12's kinds too."""

    @pytest.mark.parametrize(("route", "workers"),
                             [("lines", 0), ("lines", 1), ("lines", 3), ("sql", None)],
                             ids=["lines", "lines-1-worker", "lines-3-workers", "sql"])
    def test_random_mix(self, tmp_path: Path, small_chunks: None, route: str,
                        workers: int | None) -> None:
        """Moves, IPC, links, changes, credentials, targets, io_uring, memfds, in many
        chunks and two runs; the default route also with its state handed between worker
        processes."""
        docs = _stream12(random.Random(29), 2500, 0.0)
        events = tmp_path / "events.jsonl"
        events.write_bytes(_lines(docs[:2000]))
        stores = [LocalStore(tmp_path / "py.duckdb", route="extractor"),
                  LocalStore(tmp_path / "other.duckdb", route=route, workers=workers)]
        try:
            assert stores[0].index([events]) == stores[1].index([events]) == (2000, 0)
            with open(events, "ab") as f:
                f.write(_lines(docs[2000:]))
            assert stores[0].index([events]) == stores[1].index([events]) == (500, 0)
            dump = _dump(stores[0])
            assert dump == _dump(stores[1])
            actions = {f[2] for f in dump["flows"]}
            assert {"move", "create", "link", "symlink", "chmod", "chown", "truncate", "mkdir",
                    "mknod", "vm_write", "vm_read", "ptrace", "signal", "send", "recv",
                    "connect", "accept", "exec"} <= actions
            assert dump["creds"] and dump["targets"]  # 999 never names a process
            if route == "lines":
                assert stores[1].typed_chunks > 10 and stores[1].python_chunks == 0
        finally:
            for s in stores:
                s.close()

    @pytest.mark.parametrize(("route", "workers"),
                             [("lines", 0), ("lines", 1), ("lines", 3), ("sql", None)],
                             ids=["lines", "lines-1-worker", "lines-3-workers", "sql"])
    def test_golden_documents(self, tmp_path: Path, small_chunks: None, route: str,
                              workers: int | None) -> None:
        """The recorded documents of every kind index alike on every route."""
        events = tmp_path / "events.jsonl"
        events.write_bytes(_golden_documents())
        stores = [LocalStore(tmp_path / "py.duckdb", route="extractor"),
                  LocalStore(tmp_path / "other.duckdb", route=route, workers=workers)]
        try:
            got = [s.index([events]) for s in stores]
            assert got[0] == got[1] and got[0][1] == 0
            dump = _dump(stores[0])
            assert dump == _dump(stores[1])
            keys = {k for f in dump["flows"] for k in f[:2]}
            assert any(k.startswith("file:socket:[") for k in keys)
            assert any(k.startswith("file:pipe:[") for k in keys)
            assert "file:memfd:em payload \u00fc" in keys
            assert {f[2] for f in dump["flows"]} >= {"move", "link", "symlink", "chmod",
                                                       "chown", "truncate", "mkdir", "mknod"}
            assert dump["creds"]
        finally:
            for s in stores:
                s.close()


@pytest.mark.unit
class TestIndexWorkers:
    """The default route's worker processes end cleanly when the run cannot go on."""

    def test_unreadable_file_is_one_error_and_keeps_what_was_read(
            self, tmp_path: Path, small_chunks: None) -> None:
        """A gzip file cut short: a ProvenanceError naming it; the chunks before stay
        indexed, and once the file is whole a later run gives the Extractor route's index."""
        docs = _stream(random.Random(5), 3000, 0.0, False)
        logs = tmp_path / "logs"
        logs.mkdir()
        middle = gzip.compress(_lines(docs[1000:2000]))
        (logs / "events.jsonl.2.gz").write_bytes(gzip.compress(_lines(docs[:1000])))
        (logs / "events.jsonl.1.gz").write_bytes(middle[: len(middle) // 2])
        (logs / "events.jsonl").write_bytes(_lines(docs[2000:]))
        store = LocalStore(tmp_path / "w.duckdb", workers=2)
        try:
            with pytest.raises(ProvenanceError, match=r"events\.jsonl\.1\.gz: cannot read"):
                store.index(default_files(logs))
            assert 1000 <= store._meta("documents") < 2000
        finally:
            store.close()
        (logs / "events.jsonl.1.gz").write_bytes(middle)
        again = LocalStore(tmp_path / "w.duckdb", workers=2)
        reference = LocalStore(tmp_path / "r.duckdb", route="extractor")
        try:
            again.index(default_files(logs))
            reference.index(default_files(logs))
            # Fork flows aside: parents are resolved at the end of a run, which the
            # failed one did not reach.
            assert ([f for f in _dump(again)["flows"] if f[2] != "fork"]
                    == [f for f in _dump(reference)["flows"] if f[2] != "fork"])
        finally:
            again.close()
            reference.close()


def _time_ns_general(stamp: str) -> int:
    """extract.parse_time_ns without its short way for the monitor's 9-digit form."""
    secs = int(datetime.datetime.fromisoformat(stamp[:19]).replace(
        tzinfo=datetime.UTC).timestamp())
    frac = stamp[20:].rstrip("Z").split("+", 1)[0]
    return secs * 1_000_000_000 + (int((frac + "0" * 9)[:9]) if frac and stamp[19] == "." else 0)


@pytest.mark.unit
class TestTimestamps:
    """Timestamps of every shape read the same through the 9-digit short way and the rest."""

    def test_short_way_agrees(self) -> None:
        """Random fractions (9 digits, odd characters, extra Z, offsets) parse, or fail, alike."""
        rng = random.Random(5)
        tried = 0
        for _ in range(20_000):
            frac = "".join(rng.choice("0123456789Z+.\u00b2\u0663_ ") for _ in range(
                rng.choice([8, 9, 10])))
            stamp = "2025-11-24T16:01:10" + rng.choice(".,") + frac + rng.choice(
                ["Z", "", "ZZ", "+00:00"])
            got: list[object] = []
            for parse in (parse_time_ns, _time_ns_general):
                try:
                    got.append(parse(stamp))
                except ValueError as exc:
                    got.append(type(exc))
            assert got[0] == got[1], stamp
            tried += len(stamp) == 30
        assert tried > 1000
        assert parse_time_ns("2025-11-24T16:01:10.704244330Z") == 1_764_000_070_704_244_330
