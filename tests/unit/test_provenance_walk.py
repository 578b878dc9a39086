"""Provenance semantics on small hand-made document lists, indexed into a real DuckDB file:
edges, the time rule, renames, capture modes, pid reuse, noise, bad input, incremental index."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ebpf_monitor.errors import ProvenanceError
from ebpf_monitor.provenance.backends.local import LocalStore, default_files
from ebpf_monitor.provenance.model import Slice
from ebpf_monitor.provenance.noise import NoiseRules
from ebpf_monitor.provenance.render import json as render_json
from ebpf_monitor.provenance.render import text as render_text
from ebpf_monitor.provenance.spec import parse_time, resolve_node
from ebpf_monitor.provenance.walk import Options, ancestry, descendants, impact, lineage, path
from tests.unit.provenance_docs import Doc, Proc, at, stamp


def write_docs(path: Path, docs: list[Doc], *, mode: str = "wb") -> None:
    with open(path, mode) as f:
        for d in docs:
            f.write(orjson.dumps(d) + b"\n")


@pytest.fixture
def store_of(tmp_path: Path) -> Iterator[object]:
    stores: list[LocalStore] = []

    def make(docs: list[Doc]) -> LocalStore:
        events = tmp_path / f"events{len(stores)}.jsonl"
        write_docs(events, docs)
        store = LocalStore(tmp_path / f"p{len(stores)}.duckdb")
        store.index([events])
        stores.append(store)
        return store

    yield make
    for s in stores:
        s.close()


def ids(s: Slice) -> set[str]:
    return set(s.nodes)


def edge(s: Slice, src: str, dst: str, action: str) -> tuple[int, int]:
    e = next(e for e in s.edges if (e.src, e.dst, e.action) == (src, dst, action))
    return e.count, e.bytes


P = "process:"


class TestTimeRule:
    """An edge into a node counts only if it happened before the flow that leaves it."""

    def test_read_before_write_is_not_lineage(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """A process that read a file before another wrote it did not get that content."""
        w, r = Proc("w", 10, 1, 0), Proc("r", 11, 1, 0)
        s = store_of([r.read(1, "/d/f"), w.write(2, "/d/f"), r.write(3, "/d/out")])
        got = lineage(s, "file:/d/out", Options())
        assert P + "r" in ids(got) and "file:/d/f" in ids(got)
        assert P + "w" not in ids(got)

    def test_write_before_read_is_lineage(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """The same events in causal order put the writer in the lineage."""
        w, r = Proc("w", 10, 1, 0), Proc("r", 11, 1, 0)
        s = store_of([w.write(1, "/d/f"), r.read(2, "/d/f"), r.write(3, "/d/out")])
        assert P + "w" in ids(lineage(s, "file:/d/out", Options()))

    def test_output_before_input_is_not_lineage(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """What a process read after it wrote a file did not shape that file."""
        w, r = Proc("w", 10, 1, 0), Proc("r", 11, 1, 0)
        s = store_of([r.write(1, "/d/out"), w.write(2, "/d/f"), r.read(3, "/d/f")])
        got = lineage(s, "file:/d/out", Options())
        assert "file:/d/f" not in ids(got) and P + "w" not in ids(got)

    def test_impact_mirrors(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """Impact of a file reaches what its reader wrote after reading, not before."""
        r = Proc("r", 11, 1, 0)
        s = store_of([r.write(1, "/d/before"), r.read(2, "/d/src"), r.write(3, "/d/after")])
        got = impact(s, "file:/d/src", Options())
        assert "file:/d/after" in ids(got)
        assert "file:/d/before" not in ids(got)

    def test_looser_bound_found_later_is_walked_again(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """A node first reached with an early bound is walked again when a longer path gives
        a later one, so what it read in between is found."""
        p, q = Proc("p", 10, 1, 0), Proc("q", 11, 1, 0)
        s = store_of([p.write(2, "/d/x"), p.read(5, "/d/a"), p.write(8, "/d/f"),
                      q.read(9, "/d/f"), q.write(10, "/d/x")])
        got = lineage(s, "file:/d/x", Options())
        assert "file:/d/a" in ids(got)
        # And the direct edge alone would not have found it.
        only_direct = lineage(s, "file:/d/x", Options(until=at(3)))
        assert "file:/d/a" not in ids(only_direct)

    def test_since_until_and_depth(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """--since/--until cut edges by time; --depth cuts by hops."""
        a, b = Proc("a", 10, 1, 0), Proc("b", 11, 1, 0)
        s = store_of([a.write(1, "/d/1"), b.read(2, "/d/1"), b.write(3, "/d/2")])
        assert P + "a" in ids(lineage(s, "file:/d/2", Options()))
        assert P + "a" not in ids(lineage(s, "file:/d/2", Options(since=at(1.5))))
        assert ids(lineage(s, "file:/d/2", Options(depth=1))) == {"file:/d/2", P + "b"}
        assert ids(impact(s, "file:/d/1", Options(until=at(2.5)))) == {"file:/d/1", P + "b"}


class TestEdges:
    """Nodes by entity id, edge directions, aggregation and renames."""

    def test_repeated_reads_aggregate(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """23 reads are one edge with count 23, the byte total and first/last times."""
        r = Proc("r", 11, 1, 0)
        s = store_of([r.read(1 + i, "/d/f", nbytes=i) for i in range(23)])
        got = impact(s, "file:/d/f", Options())
        assert edge(got, "file:/d/f", P + "r", "read") == (23, sum(range(23)))
        e = got.edges[0]
        assert (e.first_ns, e.last_ns) == (at(1), at(23))

    def test_first_mode_close_records_give_same_totals(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """A first read plus a close record with the fd's totals equals the same reads
        recorded one by one."""
        r = Proc("r", 11, 1, 0)
        sizes = [7, 7, 7, 7, 5]
        full = store_of([r.read(1 + i, "/d/f", nbytes=n) for i, n in enumerate(sizes)]
                        + [r.write(9, "/d/g", 3), r.write(10, "/d/g", 4)])
        first = store_of([r.read(1, "/d/f", nbytes=7),
                          r.close(6, "/d/f", reads=5, bytes_read=33),
                          r.write(9, "/d/g", 3, fd=5),
                          r.close(10, "/d/g", writes=2, bytes_written=7, fd=5)])
        for s in (full, first):
            got = lineage(s, "file:/d/g", Options())
            assert edge(got, "file:/d/f", P + "r", "read") == (5, 33)
            assert edge(got, P + "r", "file:/d/g", "write") == (2, 7)

    def test_carried_counts_end_with_the_process(self) -> None:
        """Counts waiting for a close record are dropped at the process's exit (the kernel
        sends close records first), so full capture does not grow them without bound."""
        from ebpf_monitor.provenance.extract import Extractor

        r = Proc("r", 11, 1, 0)
        ex = Extractor()
        ex.feed_all([r.read(1, "/d/a"), r.read(2, "/d/b", fd=4), r.write(3, "/d/c", fd=5)])
        assert len(ex.pending["r"]) == 3
        ex.feed_all([r.close(4, "/d/a", reads=1, bytes_read=10), r.exit(5)])
        assert "r" not in ex.pending
        assert [f[2:] for f in ex.flows] == [("read", at(1), 1, 10), ("read", at(2), 1, 10),
                                             ("write", at(3), 1, 10)]

    def test_rename_joins_old_and_new_names(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """The writer of the old name is in the new name's lineage; a later writer of the
        old name (a new file) is not."""
        w, later = Proc("w", 10, 1, 0), Proc("later", 12, 1, 0)
        s = store_of([w.write(1, "/d/old"), w.rename(2, "/d/old", "/d/new"),
                      later.write(3, "/d/old")])
        got = lineage(s, "file:/d/new", Options())
        assert {P + "w", "file:/d/old"} <= ids(got)
        assert P + "later" not in ids(got)
        assert got.nodes["file:/d/new"].attrs["aliases"] == ["/d/old"]

    def test_exec_fork_and_network_directions(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """exec: file -> process; fork: parent -> child; connect/send: process -> endpoint;
        recv: endpoint -> process; accept: listening port -> process."""
        parent = Proc("par", 10, 1, 0)
        child = Proc("kid", 20, 10, 2)
        srv = Proc("srv", 30, 1, 0)
        s = store_of([parent.recv(1, "10.1.1.1", 80), parent.fork(2, 20),
                      child.exec(3, "/d/tool", "-x"), child.connect(4, "10.2.2.2", 443),
                      child.send(5, "10.2.2.2", 443, 99), srv.listen(1, 8080),
                      srv.accept(6, "10.3.3.3", 5555, 8080),
                      srv.recv(7, "10.3.3.3", 5555, 12, lport=8080)])
        got = lineage(s, "endpoint:10.2.2.2:443", Options())
        assert edge(got, P + "kid", "endpoint:10.2.2.2:443", "send") == (1, 99)
        assert edge(got, P + "par", P + "kid", "fork") == (1, 0)
        assert edge(got, "file:/d/tool", P + "kid", "exec") == (1, 0)
        assert edge(got, "endpoint:10.1.1.1:80", P + "par", "recv") == (1, 10)
        srv_in = lineage(s, P + "srv", Options())
        assert edge(srv_in, "listen:8080", P + "srv", "accept") == (1, 0)
        assert edge(srv_in, "listen:8080", P + "srv", "recv") == (1, 12)

    def test_path_between_two_nodes(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """path A B keeps the nodes that carry A's influence to B, in time order."""
        a, b, c = Proc("a", 10, 1, 0), Proc("b", 11, 1, 0), Proc("c", 12, 1, 0)
        s = store_of([a.recv(1, "10.1.1.1", 80), a.write(2, "/d/m"), b.read(3, "/d/m"),
                      b.send(4, "10.2.2.2", 443), c.read(0.5, "/d/m"),
                      c.send(5, "10.2.2.2", 443)])
        got = path(s, "endpoint:10.1.1.1:80", "endpoint:10.2.2.2:443", Options())
        assert ids(got) == {"endpoint:10.1.1.1:80", P + "a", "file:/d/m", P + "b",
                            "endpoint:10.2.2.2:443"}
        none = path(s, "endpoint:10.2.2.2:443", "endpoint:10.1.1.1:80", Options())
        assert not none.edges


class TestProcesses:
    """Entity ids, never pids: reuse, parents, ancestry, descendants."""

    def docs(self) -> tuple[list[Doc], Proc, Proc, Proc, Proc]:
        init = Proc("init", 1, 0, 0, "/sbin/init")
        old = Proc("old", 500, 1, 1, "/bin/old")
        new = Proc("new", 500, 1, 5, "/bin/new")  # the same pid, reused
        kid = Proc("kid", 600, 500, 6, "/bin/kid")
        docs = [init.exec(0.1, "/sbin/init"), old.exec(1.1, "/bin/old"), old.exit(2),
                new.exec(5.1, "/bin/new", "--flag"), kid.exec(6.1, "/bin/kid"), kid.exit(7)]
        return docs, init, old, new, kid

    def test_reused_pid_is_two_nodes(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """pid:500 is ambiguous; --at picks the one alive then; the child's parent is the
        process alive at its start, not the one that had exited."""
        docs, _init, _old, _new, _kid = self.docs()
        s = store_of(docs)
        with pytest.raises(ProvenanceError, match=r"ambiguous.*old.*new"):
            resolve_node(s, "pid:500")
        assert resolve_node(s, "pid:500", at(1.5)) == P + "old"
        assert resolve_node(s, "pid:500", at(6)) == P + "new"
        got = ancestry(s, P + "kid")
        assert ids(got) == {P + "kid", P + "new", P + "init"}
        assert got.nodes[P + "new"].attrs["execs"][0]["args"] == ["/bin/new", "--flag"]

    def test_descendants(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """init's descendants are both pid-500 processes and the child of the second."""
        docs, *_ = self.docs()
        s = store_of(docs)
        got = descendants(s, P + "init", Options())
        assert ids(got) == {P + "init", P + "old", P + "new", P + "kid"}
        assert ids(descendants(s, P + "init", Options(depth=1))) == {P + "init", P + "old",
                                                                    P + "new"}


class TestOrphans:
    """A child whose parent exited first (double fork) keeps its real parent: the fork record."""

    def docs(self) -> list[Doc]:
        init = Proc("init", 1, 0, 0, "/sbin/init")
        sh = Proc("sh", 100, 1, 1, "/bin/sh")
        payload = Proc("payload", 200, 1, 2.0, "/tmp/payload")  # reparented: reports ppid 1
        thread = sh.fork(1.5, 100)
        thread["ebpf"]["thread"] = True  # a thread of sh: no new process
        return [init.exec(0.1, "/sbin/init"), sh.exec(1.1, "/bin/sh"), thread,
                sh.fork(2.0001, 200), sh.exit(2.001), payload.write(3, "/tmp/out"),
                payload.exit(4)]

    def test_ancestry_and_descendants(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """The payload's parent is sh, not init; sh's descendants include the payload."""
        s = store_of(self.docs())
        got = ancestry(s, P + "payload")
        assert ids(got) == {P + "payload", P + "sh", P + "init"}
        assert edge(got, P + "sh", P + "payload", "fork") == (1, 0)
        assert ids(descendants(s, P + "sh", Options())) == {P + "sh", P + "payload"}
        init_kids = ids(descendants(s, P + "init", Options(depth=1)))
        assert init_kids == {P + "init", P + "sh"}

    def test_fork_record_in_a_later_run(self, tmp_path: Path) -> None:
        """A parent taken from ppid gives way to the fork record read by a later run."""
        docs = self.docs()
        fork = next(i for i, d in enumerate(docs) if d["ebpf"].get("child_pid") == 200)
        live = tmp_path / "events.jsonl"
        write_docs(live, [d for i, d in enumerate(docs) if i != fork])
        store = LocalStore(tmp_path / "p.duckdb")
        store.index([live])
        assert ids(ancestry(store, P + "payload")) == {P + "payload", P + "init"}
        write_docs(live, [docs[fork]], mode="ab")
        store.index([live])
        got = ancestry(store, P + "payload")
        assert ids(got) == {P + "payload", P + "sh", P + "init"}
        assert [e.src for e in got.edges if e.dst == P + "payload"] == [P + "sh"]
        assert ids(descendants(store, P + "init", Options(depth=1))) == {P + "init", P + "sh"}
        store.close()

    def test_reused_pid_matches_the_nearest(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """Two fork records for one pid: each child gets the one made at its start."""
        a, b = Proc("a", 10, 1, 0), Proc("b", 11, 1, 0)
        first, second = Proc("first", 50, 1, 1.0), Proc("second", 50, 1, 1.5)
        s = store_of([a.fork(1.0001, 50), first.exit(1.1), b.fork(1.5001, 50),
                      second.write(1.6, "/x"), a.write(2, "/y"), b.write(2, "/z")])
        assert ids(ancestry(s, P + "first")) == {P + "first", P + "a"}
        assert ids(ancestry(s, P + "second")) == {P + "second", P + "b"}


class TestNoise:
    """Libraries, /proc and popular files are hidden and counted, unless asked for."""

    def test_hidden_counted_and_shown_with_all(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """A library read is hidden by default with its reason counted; --all shows it."""
        r = Proc("r", 11, 1, 0)
        s = store_of([r.read(1, "/usr/lib/libc.so.6"), r.read(2, "/proc/self/status"),
                      r.read(3, "/d/in"), r.write(4, "/d/out")])
        got = lineage(s, "file:/d/out", Options())
        assert ids(got) == {"file:/d/out", P + "r", "file:/d/in"}
        assert sum(got.hidden.values()) == 2
        every = lineage(s, "file:/d/out", Options(noise=NoiseRules(enabled=False)))
        assert "file:/usr/lib/libc.so.6" in ids(every) and not every.hidden

    def test_noise_root_is_shown(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """A noisy file asked for by name is the root and is shown with its readers."""
        r = Proc("r", 11, 1, 0)
        s = store_of([r.read(1, "/proc/self/status")])
        got = impact(s, "file:/proc/self/status", Options())
        assert ids(got) == {"file:/proc/self/status", P + "r"}

    def test_popular_file_hidden(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """A file read by at least `popular_readers` processes is hidden."""
        readers = [Proc(f"r{i}", 100 + i, 1, 0) for i in range(5)]
        docs = [p.read(1, "/etc/hosts.conf") for p in readers]
        docs.append(readers[0].write(2, "/d/out"))
        s = store_of(docs)
        got = lineage(s, "file:/d/out", Options(noise=NoiseRules(popular_readers=5)))
        assert "file:/etc/hosts.conf" not in ids(got)
        assert got.hidden == {"read by >= 5 processes": 1}


    def test_readers_counted_across_runs(self, tmp_path: Path) -> None:
        """Readers of a file add up over index runs, each process once however often it
        reads: the fifth reader, seen in a later run, makes the file popular."""
        readers = [Proc(f"r{i}", 100 + i, 1, 0) for i in range(5)]
        live = tmp_path / "events.jsonl"
        write_docs(live, [p.read(1, "/etc/hosts.conf") for p in readers[:4]]
                   + [readers[0].read(2, "/etc/hosts.conf"), readers[0].write(3, "/d/out")])
        store = LocalStore(tmp_path / "p.duckdb")
        store.index([live])
        assert store.readers(["file:/etc/hosts.conf", "file:/d/out"]) == {
            "file:/etc/hosts.conf": 4}
        opts = Options(noise=NoiseRules(popular_readers=5))
        assert "file:/etc/hosts.conf" in ids(lineage(store, "file:/d/out", opts))
        write_docs(live, [readers[4].read(4, "/etc/hosts.conf")], mode="ab")
        store.index([live])
        assert store.readers(["file:/etc/hosts.conf"]) == {"file:/etc/hosts.conf": 5}
        assert "file:/etc/hosts.conf" not in ids(lineage(store, "file:/d/out", opts))
        store.close()

    def test_store_without_readers_table_is_counted_on_open(self, tmp_path: Path) -> None:
        """An index built before the readers table existed gets the counts from its flows
        when opened, without re-reading any event file."""
        readers = [Proc(f"r{i}", 100 + i, 1, 0) for i in range(3)]
        live = tmp_path / "events.jsonl"
        write_docs(live, [p.read(1, "/etc/hosts.conf") for p in readers])
        store = LocalStore(tmp_path / "p.duckdb")
        store.index([live])
        store.con.execute("DROP TABLE readers")  # as an older version left it
        store.close()
        live.unlink()
        store = LocalStore(tmp_path / "p.duckdb", create=False)
        assert store.readers(["file:/etc/hosts.conf"]) == {"file:/etc/hosts.conf": 3}
        store.close()

class TestInput:
    """Bad documents are counted; indexing is incremental and survives rotation."""

    def test_malformed_lines_counted(self, tmp_path: Path) -> None:
        """Broken JSON and documents without the fields are skipped and counted."""
        r = Proc("r", 11, 1, 0)
        events = tmp_path / "events.jsonl"
        events.write_bytes(orjson.dumps(r.read(1, "/d/f")) + b"\n{broken\n[]\n\n"
                           + json.dumps({"event": {"action": "read"}}).encode() + b"\n")
        store = LocalStore(tmp_path / "p.duckdb")
        _, skipped = store.index([events])
        assert skipped == 3
        assert store.skipped == 3 and store.events_read == 1
        store.close()

    def test_incremental_and_rotation(self, tmp_path: Path) -> None:
        """Appended lines are read once; a rotated and gzipped file is not read again; a
        half-written last line waits for the next run."""
        r = Proc("r", 11, 1, 0)
        live = tmp_path / "events.jsonl"
        write_docs(live, [r.read(1, "/d/f"), r.read(2, "/d/f")])
        store = LocalStore(tmp_path / "p.duckdb")
        assert store.index(default_files(tmp_path)) == (2, 0)
        with open(live, "ab") as f:
            f.write(orjson.dumps(r.read(3, "/d/f")) + b"\n" + orjson.dumps(r.read(4, "/d/f"))[:20])
        assert store.index(default_files(tmp_path)) == (1, 0)
        # logrotate: rename, compress, and a new live file with the rest of the line lost
        os.rename(live, tmp_path / "events.jsonl.1")
        with open(tmp_path / "events.jsonl.1", "rb") as src:
            data = src.read()
        with gzip.open(tmp_path / "events.jsonl.2.gz", "wb") as gz:
            gz.write(data + b"\n")
        os.unlink(tmp_path / "events.jsonl.1")
        write_docs(live, [r.read(5, "/d/f")])
        docs, skipped = store.index(default_files(tmp_path))
        assert (docs, skipped) == (1, 1)  # the new line; the cut one counted once rotated
        got = impact(store, "file:/d/f", Options())
        assert edge(got, "file:/d/f", P + "r", "read") == (4, 40)
        store.close()

    def test_compressed_file_read_to_its_end_is_not_reopened(self, tmp_path: Path) -> None:
        """A .gz read to its end is done (logrotate never appends to one): the next run does
        not inflate it again, so even lines that would now be there are not read."""
        r = Proc("r", 11, 1, 0)
        rotated = tmp_path / "events.jsonl.2.gz"
        lines = [orjson.dumps(r.read(n, "/d/f")) + b"\n" for n in (1, 2, 3)]
        rotated.write_bytes(gzip.compress(b"".join(lines[:2])))
        store = LocalStore(tmp_path / "p.duckdb")
        assert store.index(default_files(tmp_path)) == (2, 0)
        rotated.write_bytes(gzip.compress(b"".join(lines)))  # same first line: same file
        assert store.index(default_files(tmp_path)) == (0, 0)
        store.close()

    def test_parent_seen_in_a_later_run(self, tmp_path: Path) -> None:
        """A child indexed before its (older, quiet) parent says anything gets its parent
        when a later run sees the parent's first document."""
        parent, child = Proc("par", 50, 1, 0), Proc("kid", 60, 50, 5)
        live = tmp_path / "events.jsonl"
        write_docs(live, [child.read(6, "/d/f")])
        store = LocalStore(tmp_path / "p.duckdb")
        store.index([live])
        assert set(ancestry(store, P + "kid").nodes) == {P + "kid"}
        write_docs(live, [parent.write(7, "/d/g")], mode="ab")
        store.index([live])
        got = ancestry(store, P + "kid")
        assert set(got.nodes) == {P + "kid", P + "par"}
        assert got.edges[0].first_ns == at(5)
        store.close()

    def test_executable_from_a_later_document(self, tmp_path: Path) -> None:
        """A process first seen without process.executable gets it from a later document
        the indexer would otherwise skip unparsed (a plain open), in the same run or later."""
        p = Proc("p", 70, 1, 0, "/usr/bin/late")
        first = p.write(1, "/d/x")
        del first["process"]["executable"]
        live = tmp_path / "events.jsonl"
        write_docs(live, [first, p.open(2, "/d/y")])
        store = LocalStore(tmp_path / "p.duckdb")
        store.index([live])
        assert ancestry(store, P + "p").nodes[P + "p"].attrs["executable"] == "/usr/bin/late"
        store.close()
        q = Proc("q", 71, 1, 0, "/usr/bin/later")
        first = q.write(1, "/d/x")
        del first["process"]["executable"]
        write_docs(live, [first])
        store = LocalStore(tmp_path / "p.duckdb")
        store.index([live])
        assert ancestry(store, P + "q").nodes[P + "q"].attrs["executable"] == ""
        write_docs(live, [q.open(2, "/d/y"), q.open(3, "/d/z")], mode="ab")
        store.index([live])
        assert ancestry(store, P + "q").nodes[P + "q"].attrs["executable"] == "/usr/bin/later"
        store.close()

    def test_unknown_node_is_one_line_error(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """Unknown nodes and bad specs raise ProvenanceError naming them."""
        s = store_of([Proc("r", 11, 1, 0).read(1, "/d/f")])
        for spec in ("/nope", "process:abcdef0123", "pid:999", "endpoint:1.2.3.4",
                     "listen:x", "what"):
            with pytest.raises(ProvenanceError) as info:
                resolve_node(s, spec)
            assert "\n" not in str(info.value)

    def test_ipv6_endpoint_with_brackets(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """endpoint:[::1]:80 and endpoint:::1:80 name the same node."""
        s = store_of([Proc("c", 11, 1, 0).connect(1, "::1", 80)])
        assert resolve_node(s, "endpoint:[::1]:80") == "endpoint:::1:80"
        assert resolve_node(s, "endpoint:::1:80") == "endpoint:::1:80"

    def test_times(self) -> None:
        """TIME is ISO 8601 (nanoseconds kept) or epoch seconds."""
        assert parse_time(stamp(at(1.5))) == at(1.5)
        assert parse_time("1764460801.5") == at(1.5)
        assert parse_time("2025-11-30T01:00:00+01:00") == at(0)
        with pytest.raises(ProvenanceError):
            parse_time("yesterday")


class TestRender:
    """Text and JSON renderings of a slice."""

    def test_text_tree_and_json(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """The text tree stays under 80 columns; JSON round-trips the slice's counts."""
        w, r = Proc("w", 10, 1, 0, "/usr/bin/" + "long" * 20), Proc("r", 11, 1, 0)
        s = store_of([w.write(1, "/d/" + "x" * 100), r.read(2, "/d/" + "x" * 100),
                      r.write(3, "/d/out", 2048)])
        got = lineage(s, "file:/d/out", Options())
        text = render_text.render(got)
        assert all(len(line) < 80 for line in text.splitlines())
        assert "write" in text and "2.0 KiB" in text
        data = json.loads(render_json.render(got))
        assert data["roots"] == ["file:/d/out"]
        assert len(data["edges"]) == 3 and data["events_read"] == 3

    def test_ancestry_and_descendants_text(self, store_of) -> None:  # type: ignore[no-untyped-def]
        """Ancestry lists every exec of each process; descendants say what each did."""
        docs, *_ = TestProcesses().docs()
        s = store_of(docs)
        text = render_text.render(ancestry(s, P + "kid"))
        assert "exec" in text and "--flag" in text and "/sbin/init" in text
        text = render_text.render(descendants(s, P + "init", Options()))
        assert text.count("did: ") == 4
