"""Provenance of issue #12's event kinds on hand-made documents, indexed into a real DuckDB
file: data moved between descriptors, pipes, AF_UNIX sockets, links, changes to files,
credentials, calls on another process, io_uring operations, memfds (docs/provenance.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from ebpf_monitor.provenance.backends.local import LocalStore
from ebpf_monitor.provenance.extract import Extractor
from ebpf_monitor.provenance.model import Slice
from ebpf_monitor.provenance.walk import Options, impact, lineage, path
from tests.unit.provenance_docs import Doc, Proc, at

P = "process:"
Store = Callable[[list[Doc]], LocalStore]


@pytest.fixture
def store_of(tmp_path: Path) -> Iterator[Store]:
    stores: list[LocalStore] = []

    def make(docs: list[Doc]) -> LocalStore:
        events = tmp_path / f"events{len(stores)}.jsonl"
        events.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
        store = LocalStore(tmp_path / f"p{len(stores)}.duckdb")
        store.index([events])
        stores.append(store)
        return store

    yield make
    for s in stores:
        s.close()


def edge(s: Slice, src: str, dst: str, action: str) -> tuple[int, int]:
    e = next(e for e in s.edges if (e.src, e.dst, e.action) == (src, dst, action))
    return e.count, e.bytes


def flows(docs: list[Doc]) -> list[tuple[str, str, str]]:
    ex = Extractor()
    ex.feed_all(docs)
    assert ex.skipped == 0
    return [f[:3] for f in ex.flows]


@pytest.mark.unit
class TestMoves:
    """sendfile64, splice, tee and copy_file_range: source -> process -> destination."""

    def test_copy_file_range_carries_lineage(self, store_of: Store) -> None:
        """The destination's lineage reaches the source through the process, with the
        bytes on both edges, the second 1 ns after the first."""
        w, c = Proc("w", 10, 1, 0), Proc("c", 11, 1, 0)
        s = store_of([w.write(1, "/d/src", 40), c.move(2, "copy_file_range", "/d/src",
                                                         "/d/dst", 40)])
        got = lineage(s, "file:/d/dst", Options())
        assert edge(got, "file:/d/src", P + "c", "move") == (1, 40)
        assert edge(got, P + "c", "file:/d/dst", "move") == (1, 40)
        assert P + "w" in got.nodes
        times = {e.action + e.dst: e.first_ns for e in got.edges}
        assert times["movefile:/d/dst"] == times["move" + P + "c"] + 1 == at(2) + 1
        assert "file:/d/dst" in impact(s, "file:/d/src", Options()).nodes

    def test_splice_through_a_pipe_and_tee(self, store_of: Store) -> None:
        """file -> splice -> pipe -> tee -> pipe -> splice -> file, across two processes."""
        a, b = Proc("a", 10, 1, 0), Proc("b", 11, 1, 0)
        s = store_of([a.pipe(1, 77), a.move(2, "splice", "/d/in", "pipe:[77]"),
                      a.move(3, "tee", "pipe:[77]", "pipe:[78]"),
                      b.move(4, "splice", "pipe:[78]", "/d/out", 9)])
        got = path(s, "file:/d/in", "file:/d/out", Options())
        assert {"file:/d/in", P + "a", "file:pipe:[77]", "file:pipe:[78]", P + "b",
                "file:/d/out"} == set(got.nodes)
        assert edge(got, P + "b", "file:/d/out", "move") == (1, 9)

    def test_socket_end_and_failure(self) -> None:
        """sendfile64 to a TCP socket goes to its endpoint; a failed move makes no edge."""
        p = Proc("p", 10, 1, 0)
        d = p.move(1, "sendfile64", "/d/f", None, 50,
                   destination={"ip": "10.0.0.7", "port": 443},
                   source={"ip": "10.0.0.9", "port": 40000})
        assert flows([d, p.move(2, "sendfile64", None, "/d/g", outcome="failure")]) == [
            ("file:/d/f", P + "p", "move"), (P + "p", "endpoint:10.0.0.7:443", "move")]


@pytest.mark.unit
class TestIpc:
    """Pipes and AF_UNIX sockets are nodes by inode that join writer and reader."""

    def test_pipe_joins_writer_and_reader(self, store_of: Store) -> None:
        """A's input reaches B's output through the pipe; the pipe call is a create edge."""
        a, b = Proc("a", 10, 1, 0), Proc("b", 11, 1, 0)
        s = store_of([a.pipe(0.5, 9), a.read(1, "/d/secret"), a.write(2, "pipe:[9]", 5),
                      b.read(3, "pipe:[9]", 5), b.write(4, "/d/copy", 5)])
        got = lineage(s, "file:/d/copy", Options())
        assert {"file:/d/secret", P + "a", "file:pipe:[9]", P + "b"} <= set(got.nodes)
        assert edge(got, P + "a", "file:pipe:[9]", "create") == (1, 0)

    def test_connect_accept_both_directions(self, store_of: Store) -> None:
        """Client (own inode only) to server (peer named) and back; the address joins them."""
        cl, srv = Proc("cl", 10, 1, 0), Proc("srv", 11, 1, 0)
        s = store_of([
            cl.unix_net(1, "connect", 100, "/run/x.sock"),
            srv.unix_net(1.5, "accept4", 101, "/run/x.sock", peer=100),
            cl.read(1.8, "/d/secret"), cl.unix_io(2, "sendto", 100),
            srv.unix_io(3, "recvfrom", 101, 100), srv.write(4, "/d/loot"),
            srv.read(4.5, "/d/reply"), srv.unix_io(5, "sendto", 101, 100, 7),
            cl.unix_io(6, "recvfrom", 100, nbytes=7), cl.write(7, "/d/got")])
        up = lineage(s, "file:/d/loot", Options())
        assert {"file:/d/secret", P + "cl", "file:socket:[100]"} <= set(up.nodes)
        down = lineage(s, "file:/d/got", Options())
        assert {"file:/d/reply", P + "srv", "file:socket:[100]"} <= set(down.nodes)
        assert edge(down, P + "srv", "file:socket:[100]", "send") == (1, 7)
        who = impact(s, P + "cl", Options())
        assert edge(who, P + "cl", "file:/run/x.sock", "connect") == (1, 0)
        assert edge(who, "file:/run/x.sock", P + "srv", "accept") == (1, 0)

    def test_socketpair_and_first_mode(self, store_of: Store) -> None:
        """Both ends of a socketpair name each other; close totals of a unix socket give the
        same counts as the calls one by one; a relative address makes no node."""
        a, b = Proc("a", 10, 1, 0), Proc("b", 11, 1, 0)
        full = store_of([a.socketpair(0.5, 200, 201),
                         *[a.unix_io(1 + i, "sendto", 200, 201, 3) for i in range(5)],
                         *[b.unix_io(7 + i, "recvfrom", 201, 200, 3) for i in range(5)]])
        first = store_of([a.socketpair(0.5, 200, 201), a.unix_io(1, "sendto", 200, 201, 3),
                          a.unix_close(5, 200, 201, writes=5, bytes_written=15),
                          b.unix_io(7, "recvfrom", 201, 200, 3),
                          b.unix_close(11, 201, 200, reads=5, bytes_read=15)])
        for s in (full, first):
            got = impact(s, P + "a", Options())
            assert edge(got, P + "a", "file:socket:[201]", "send") == (5, 15)
            assert edge(got, "file:socket:[201]", P + "b", "recv") == (5, 15)
        assert flows([a.unix_net(1, "connect", 5, "rel.sock")]) == []


@pytest.mark.unit
class TestNamesAndChanges:
    """Links join names as rename does; chmod and the like are process -> file edges."""

    def test_hard_link_and_symlink(self, store_of: Store) -> None:
        """The writer of a file is in the lineage of a hard link and of a symlink to it (a
        relative target resolved against the link's directory)."""
        w, p = Proc("w", 10, 1, 0), Proc("p", 11, 1, 0)
        s = store_of([w.write(1, "/d/a/plain"), p.link(2, "linkat", "/d/a/hard", "/d/a/plain"),
                      p.link(3, "symlink", "/d/b/sl", "../a/./plain")])
        for name in ("file:/d/a/hard", "file:/d/b/sl"):
            got = lineage(s, name, Options())
            assert {P + "w", "file:/d/a/plain"} <= set(got.nodes), name
            assert got.nodes[name].attrs["aliases"] == ["/d/a/plain"]
        assert P + "p" not in lineage(s, "file:/d/b/sl", Options()).nodes

    def test_changes(self) -> None:
        """Each family names its edge; a failed call makes none."""
        p = Proc("p", 10, 1, 0)
        got = flows([p.change(1, "fchmodat2", "/d/f"), p.change(2, "lchown", "/d/f"),
                     p.change(3, "ftruncate", "/d/f"), p.change(4, "mkdirat", "/d/dir"),
                     p.change(5, "mknod", "/d/fifo"), p.change(6, "chmod", "/d/x", "failure")])
        assert got == [(P + "p", "file:/d/f", "chmod"), (P + "p", "file:/d/f", "chown"),
                       (P + "p", "file:/d/f", "truncate"), (P + "p", "file:/d/dir", "mkdir"),
                       (P + "p", "file:/d/fifo", "mknod")]


@pytest.mark.unit
class TestCredentials:
    """Credential changes annotate the process node and make no flow."""

    def test_creds_on_the_node(self, store_of: Store) -> None:
        """set*id before/after ids, a failed attempt, capset's dropped capability and a
        secure exec are listed in time order on the node, and in its events."""
        p = Proc("p", 10, 1, 0)
        docs = [p.setid(1, "setresuid", (0, 0), (0, 65534)),
                p.setid(2, "setuid", (0, 65534), (0, 65534), "failure"),
                p.capset(3, ["CAP_KILL", "CAP_SYS_BOOT"], ["CAP_KILL"]),
                p.secure_exec(4, "/d/suid", 65534, 0), p.write(5, "/d/out")]
        assert flows(docs) == [("file:/d/suid", P + "p", "exec"), (P + "p", "file:/d/out",
                                                                  "write")]
        s = store_of(docs)
        node = lineage(s, "file:/d/out", Options()).nodes[P + "p"]
        creds = node.attrs["creds"]
        assert [(c["action"], c["outcome"]) for c in creds] == [
            ("setresuid", "success"), ("setuid", "failure"), ("capset", "success"),
            ("exec", "success")]
        assert creds[0]["before"] == "uid 0/0/0/0 gid 0/0/0/0"
        assert creds[0]["after"] == "uid 0/65534/0/65534 gid 0/0/0/0"
        assert creds[2]["after"] == "effective -CAP_SYS_BOOT; permitted unchanged"
        assert creds[3]["before"] == "user 65534" and creds[3]["after"].startswith("euid 0")
        assert any(e["action"] == "setuid" and e["detail"].endswith("(failure)")
                   for e in node.events)


@pytest.mark.unit
class TestTargets:
    """Calls on another process, resolved by pid to the process alive at the call."""

    def test_vm_ptrace_and_pid_reuse(self, store_of: Store) -> None:
        """process_vm_writev and ptrace POKE flow into the target, process_vm_readv and
        PEEK out of it; an earlier holder of the pid is never the target."""
        atk = Proc("atk", 10, 1, 0)
        old = Proc("old", 50, 1, 0)
        vic = Proc("vic", 50, 1, 2)  # pid 50 reused
        s = store_of([old.read(0.5, "/d/x"), old.exit(1), atk.read(1.5, "/d/payload"),
                      vic.read(2.5, "/d/keys"),
                      atk.on_process(3, "process_vm_writev", 50, nbytes=8),
                      atk.on_process(4, "ptrace", 50, request="PTRACE_POKEDATA"),
                      atk.on_process(5, "process_vm_readv", 50, nbytes=16),
                      atk.on_process(6, "ptrace", 50, request="PTRACE_PEEKDATA"),
                      atk.write(7, "/d/stolen"), vic.write(8, "/d/vic-out")])
        into = lineage(s, "file:/d/vic-out", Options())
        assert edge(into, P + "atk", P + "vic", "vm_write") == (1, 8)
        assert edge(into, P + "atk", P + "vic", "ptrace") == (1, 0)
        assert "file:/d/payload" in into.nodes and P + "old" not in into.nodes
        out = lineage(s, "file:/d/stolen", Options())
        assert edge(out, P + "vic", P + "atk", "vm_read") == (1, 16)
        assert edge(out, P + "vic", P + "atk", "ptrace") == (1, 0)
        assert "file:/d/keys" in out.nodes

    def test_signals_are_shown_not_walked(self, store_of: Store) -> None:
        """A kill is counted on both nodes but carries nothing in lineage or impact; a pid
        from inside a PID namespace is not resolved."""
        k, v = Proc("k", 10, 1, 0), Proc("v", 20, 1, 0)
        ns = k.on_process(3, "kill", 20)
        ns["ebpf"]["pid_ns"] = {"pid": 1, "inode": 4026532000}
        s = store_of([k.read(1, "/d/k-in"), k.on_process(2, "kill", 20), ns,
                      v.write(4, "/d/v-out")])
        got = lineage(s, "file:/d/v-out", Options())
        assert P + "k" not in got.nodes
        assert s.describe([P + "v"], 50)[P + "v"].attrs["actions"] == {"signal": 1,
                                                                         "write": 1}
        assert s.describe([P + "k"], 50)[P + "k"].attrs["actions"] == {"read": 1, "signal": 1}
        assert not impact(s, P + "k", Options()).edges


@pytest.mark.unit
class TestUringAndMemfd:
    """io_uring operations are the syscalls they do; a memfd is a file node."""

    def test_uring_io_is_not_in_close_totals(self, store_of: Store) -> None:
        """In "first" mode a ring read is its own event and not in the close record's
        totals: the edge counts both, never twice."""
        r = Proc("r", 10, 1, 0)
        s = store_of([r.read(1, "/d/f", 7), r.uring(2, "read", "/d/f", 5),
                      r.close(3, "/d/f", reads=3, bytes_read=21), r.write(4, "/d/g")])
        got = lineage(s, "file:/d/g", Options())
        assert edge(got, "file:/d/f", P + "r", "read") == (4, 26)

    def test_memfd_exec_chain(self, store_of: Store) -> None:
        """A payload sent into a memfd and run from it: the child's lineage reaches the
        payload file through file:memfd:<name>, not /proc/self/fd/3."""
        par = Proc("par", 10, 1, 0)
        kid = Proc("kid", 11, 10, 3)
        s = store_of([par.memfd(1, "em payload ü"),
                      par.move(2, "sendfile64", "/d/payload", "/memfd:em payload ü (deleted)"),
                      par.fork(2.9, 11), kid.fd_exec(3.1, "memfd:em payload ü"),
                      kid.write(4, "/d/out")])
        got = lineage(s, "file:/d/out", Options())
        assert edge(got, "file:memfd:em payload ü", P + "kid", "exec") == (1, 0)
        assert edge(got, P + "par", "file:memfd:em payload ü", "move") == (1, 10)
        assert "file:/d/payload" in got.nodes
        assert "file:/proc/self/fd/3" not in got.nodes
        assert flows([kid.fd_exec(5, "/d/gone")])[0] == ("file:/d/gone", P + "kid", "exec")
