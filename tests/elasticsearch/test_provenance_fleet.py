"""The fleet backend against a real Elasticsearch node: the same documents indexed there and
into the local DuckDB index give the same answer to every query."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from ebpf_monitor.errors import ProvenanceError
from ebpf_monitor.provenance.backends import fleet
from ebpf_monitor.provenance.backends.fleet import FleetSource
from ebpf_monitor.provenance.backends.local import LocalStore
from ebpf_monitor.provenance.model import Slice
from ebpf_monitor.provenance.noise import NoiseRules
from ebpf_monitor.provenance.spec import resolve_node
from ebpf_monitor.provenance.walk import Options, ancestry, descendants, impact, lineage, path
from ebpf_monitor.sinks.elasticsearch import index_template
from tests.monitor_harness import MONITOR
from tests.unit.provenance_docs import Doc, Proc, at


def scenario() -> list[Doc]:
    """A download-rename-exec-exfiltrate story with a reused pid, a library, capture
    mode "first" close records and a server, on one host; and a double fork: a dropper
    that exits before its payload's first event (the payload reports ppid 1)."""
    init = Proc("init", 1, 0, 0, "/sbin/init")
    shell = Proc("shell", 100, 1, 1, "/bin/bash")
    victim = Proc("victim", 200, 100, 2, "/usr/bin/python3")
    child = Proc("child", 300, 200, 6, "/usr/bin/python3")
    reuse = Proc("reuse", 200, 100, 20, "/usr/bin/other")  # pid 200 again
    srv = Proc("srv", 400, 1, 0.5, "/usr/sbin/httpd")
    dropper = Proc("dropper", 500, 1, 30, "/bin/sh")
    payload = Proc("payload", 600, 1, 30.5, "/tmp/payload")
    docs = [
        init.exec(0.1, "/sbin/init"), srv.exec(0.6, "/usr/sbin/httpd"), srv.listen(0.7, 8080),
        shell.exec(1.1, "/bin/bash"), shell.fork(1.9, 200),
        victim.exec(2.1, "/usr/bin/python3", "victim.py"),
        victim.read(2.2, "/usr/lib/libc.so.6"), victim.write(2.5, "/d/early.txt"),
        victim.connect(3, "10.1.1.1", 80), victim.recv(3.1, "10.1.1.1", 80, 300),
        victim.recv(3.2, "10.1.1.1", 80, 200),
        victim.open(3.9, "/d/dl.part", "O_WRONLY", "O_CREAT"),
        victim.write(4, "/d/dl.part", 500, fd=5),
        victim.close(4.2, "/d/dl.part", writes=3, bytes_written=900, fd=5),
        victim.rename(4.5, "/d/dl.part", "/d/run.sh"), victim.fork(5.9, 300),
        child.exec(6.1, "/d/run.sh"), child.read(6.2, "/d/run.sh", 900),
        child.read(6.5, "/d/secret", 17, fd=6), child.connect(7, "10.2.2.2", 443),
        child.send(7.5, "10.2.2.2", 443, 17), child.exit(8), victim.exit(9),
        srv.accept(10, "10.3.3.3", 5555, 8080), srv.recv(10.5, "10.3.3.3", 5555, 40, lport=8080),
        srv.write(11, "/var/www/log", 40),
        shell.fork(19.9, 200), reuse.exec(20.1, "/usr/bin/other"),
        reuse.read(20.5, "/d/secret", 17), reuse.write(21, "/d/other.out", 17),
        reuse.exit(22),
        dropper.exec(30.1, "/bin/sh"), dropper.fork(30.5001, 600), dropper.exit(30.6),
        payload.write(31, "/tmp/out"), payload.exit(32),
    ]
    docs += issue12_story()
    docs.append({"event": {"action": "read"}, "@timestamp": "not a time"})  # skipped by both
    return docs


def issue12_story() -> list[Doc]:
    """Issue #12's kinds, from t=40: a file copied through a pipe and copy_file_range, a
    unix-socket exchange, links, a chmod, credentials, a memfd run by a child, calls on
    another process (its pid once held by an exited one), an io_uring write."""
    a = Proc("cpa", 700, 1, 40, "/bin/cat")
    b = Proc("cpb", 701, 1, 40, "/bin/cp")
    cl = Proc("ucl", 710, 1, 40, "/bin/cl")
    srv = Proc("usrv", 711, 1, 40, "/bin/srv")
    ln = Proc("lnk", 720, 1, 40, "/bin/ln")
    fl = Proc("fless", 730, 1, 40, "/bin/fl")
    kid = Proc("mkid", 731, 730, 45, "/bin/fl")
    atk = Proc("atk", 740, 1, 40, "/bin/atk")
    gone = Proc("gone", 741, 1, 40, "/bin/old")
    vic = Proc("vic2", 741, 1, 44, "/bin/vic")  # pid 741 again
    return [
        a.read(41, "/e/src", 30), a.pipe(41.1, 5001), a.write(41.2, "pipe:[5001]", 30),
        b.read(41.3, "pipe:[5001]", 30), b.write(41.4, "/e/mid", 30),
        b.move(41.5, "copy_file_range", "/e/mid", "/e/dst", 30),
        b.move(41.6, "splice", "pipe:[5001]", "/e/other", outcome="failure"),
        cl.unix_net(42, "connect", 300, "/run/e.sock"),
        srv.unix_net(42.1, "accept4", 301, "/run/e.sock", peer=300),
        cl.read(42.2, "/e/secret", 5), cl.unix_io(42.3, "sendto", 300, nbytes=5),
        srv.unix_io(42.4, "recvfrom", 301, 300, 5), srv.write(42.5, "/e/loot", 5),
        srv.unix_io(42.6, "sendto", 301, 300, 2), cl.unix_io(42.7, "recvfrom", 300, nbytes=2),
        ln.write(43, "/e/plain"), ln.link(43.1, "linkat", "/e/hard", "/e/plain"),
        ln.link(43.2, "symlink", "/e/d/sl", "../plain"), ln.change(43.3, "fchmodat", "/e/plain"),
        ln.setid(43.4, "setresuid", (0, 0), (0, 65534)),
        ln.setid(43.5, "setuid", (0, 65534), (0, 65534), "failure"),
        fl.memfd(44.1, "pay"), fl.move(44.2, "sendfile64", "/e/payload", "/memfd:pay (deleted)"),
        fl.fork(44.9, 731), kid.fd_exec(45.1, "memfd:pay"), kid.write(45.2, "/e/kid-out"),
        gone.exit(43.9), atk.read(44.5, "/e/tool"),
        atk.on_process(45, "process_vm_writev", 741, nbytes=8),
        atk.on_process(45.1, "kill", 741), vic.write(46, "/e/vic-out"),
        vic.uring(46.1, "write", "/e/vic-out", 4),
    ]


@pytest.fixture(scope="module")
def stores(es_plain: Any, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[LocalStore, FleetSource]]:
    index = "prov-test"
    client = Elasticsearch(es_plain.url, request_timeout=30)
    client.indices.put_index_template(name=index, **index_template(index))
    docs = scenario()
    ok, _ = bulk(client, ({"_index": index, "_id": str(i), "_source": d}
                          for i, d in enumerate(docs)), raise_on_error=False, refresh=True)
    assert ok == len(docs) - 1  # the one without a usable time is refused by the mapping
    where = tmp_path_factory.mktemp("fleet")
    events = where / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    local = LocalStore(where / "p.duckdb")
    local.index([events])
    remote = FleetSource(Elasticsearch(es_plain.url, request_timeout=30), index)
    yield local, remote
    local.close()
    remote.close()
    client.indices.delete(index=f"{index}*", ignore_unavailable=True)
    client.indices.delete_index_template(name=index)
    client.close()


def describe_one(source: LocalStore | FleetSource, node: str) -> Any:
    return source.describe([node], 50)[node]


def comparable(s: Slice) -> dict[str, Any]:
    return {"query": s.query, "roots": s.roots, "hidden": s.hidden,
            "nodes": {k: asdict(v) for k, v in sorted(s.nodes.items())},
            "edges": sorted(asdict(e).items() for e in s.edges)}


QUERIES = [
    ("lineage", "endpoint:10.2.2.2:443"),
    ("impact", "endpoint:10.1.1.1:80"),
    ("lineage", "file:/d/run.sh"),
    ("impact", "file:/d/secret"),
    ("impact", "process:victim"),
    ("lineage", "process:srv"),
    ("lineage", "file:/var/www/log"),
    ("lineage", "file:/e/dst"),
    ("impact", "file:/e/src"),
    ("lineage", "file:/e/loot"),
    ("impact", "file:socket:[300]"),
    ("lineage", "file:/e/hard"),
    ("lineage", "file:/e/d/sl"),
    ("lineage", "process:mkid"),
    ("lineage", "file:/e/vic-out"),
    ("impact", "process:atk"),
    ("lineage", "process:lnk"),
]


class TestSameAnswer:
    """Local and fleet backends agree, node for node and edge for edge."""

    @pytest.mark.parametrize(("query", "node"), QUERIES)
    def test_walks_agree(self, stores: tuple[LocalStore, FleetSource], query: str,
                         node: str) -> None:
        """Lineage and impact slices are equal, attributes and event samples included."""
        local, remote = stores
        fn = lineage if query == "lineage" else impact
        for opts in (Options(), Options(depth=2), Options(since=at(3.15)),
                     Options(noise=NoiseRules(enabled=False)),
                     Options(noise=NoiseRules(popular_readers=2))):
            a, b = fn(local, node, opts), fn(remote, node, opts)
            assert a.edges, (query, node)
            assert comparable(a) == comparable(b), (query, node, opts)

    def test_the_story_is_found(self, stores: tuple[LocalStore, FleetSource]) -> None:
        """The exfiltration's lineage reaches the download through the rename, with the
        "first"-mode write totals, and not the reused pid's process."""
        _, remote = stores
        s = lineage(remote, "endpoint:10.2.2.2:443", Options())
        assert {"endpoint:10.1.1.1:80", "file:/d/dl.part", "process:victim",
                "file:/d/secret"} <= set(s.nodes)
        assert "process:reuse" not in s.nodes
        w = next(e for e in s.edges if e.dst == "file:/d/dl.part" and e.action == "write")
        assert (w.count, w.bytes) == (3, 900)
        assert s.hidden == {"path *.so.*": 1}

    def test_path_ancestry_descendants_agree(self, stores: tuple[LocalStore, FleetSource],
                                             ) -> None:
        """path, ancestry and descendants are equal too."""
        local, remote = stores
        pairs = [
            (path(local, "endpoint:10.1.1.1:80", "endpoint:10.2.2.2:443", Options()),
             path(remote, "endpoint:10.1.1.1:80", "endpoint:10.2.2.2:443", Options())),
            (ancestry(local, "process:child"), ancestry(remote, "process:child")),
            (descendants(local, "process:shell", Options()),
             descendants(remote, "process:shell", Options())),
            (ancestry(local, "process:payload"), ancestry(remote, "process:payload")),
            (descendants(local, "process:dropper", Options()),
             descendants(remote, "process:dropper", Options())),
            (descendants(local, "process:init", Options(depth=1)),
             descendants(remote, "process:init", Options(depth=1))),
        ]
        for a, b in pairs:
            assert a.nodes and comparable(a) == comparable(b)
        assert set(pairs[1][1].nodes) == {"process:child", "process:victim", "process:shell",
                                          "process:init"}
        assert set(pairs[2][1].nodes) == {"process:shell", "process:victim", "process:child",
                                          "process:reuse"}
        # The orphaned payload's parent is the dropper (its fork record), not init.
        assert set(pairs[3][1].nodes) == {"process:payload", "process:dropper", "process:init"}
        assert set(pairs[4][1].nodes) == {"process:dropper", "process:payload"}
        assert "process:payload" not in pairs[5][1].nodes

    def test_issue12_paths_are_found(self, stores: tuple[LocalStore, FleetSource]) -> None:
        """On the cluster: file -> pipe -> copy_file_range reaches /e/dst, the unix socket
        carries the secret to the server, the memfd runs in the child, the process_vm_writev
        target is the pid's second holder, the node lists its credential changes."""
        _, remote = stores
        assert {"file:/e/src", "process:cpa", "file:pipe:[5001]", "process:cpb",
                "file:/e/mid"} <= set(lineage(remote, "file:/e/dst", Options()).nodes)
        assert {"file:/e/secret", "process:ucl", "file:socket:[300]"} <= set(
            lineage(remote, "file:/e/loot", Options()).nodes)
        kid = lineage(remote, "process:mkid", Options())
        assert {"file:memfd:pay", "file:/e/payload", "process:fless"} <= set(kid.nodes)
        vic = lineage(remote, "file:/e/vic-out", Options())
        assert "process:atk" in vic.nodes and "process:gone" not in vic.nodes
        assert not any(e.action == "signal" for e in vic.edges)
        creds = describe_one(remote, "process:lnk").attrs["creds"]
        assert [c["outcome"] for c in creds] == ["success", "failure"]

    def test_pid_resolution_agrees(self, stores: tuple[LocalStore, FleetSource]) -> None:
        """pid:200 is ambiguous on both; --at picks the same entity on both."""
        local, remote = stores
        for source in (local, remote):
            with pytest.raises(ProvenanceError, match="ambiguous"):
                resolve_node(source, "pid:200")
            assert resolve_node(source, "pid:200", at(21)) == "process:reuse"

    def test_paging_has_no_cap(self, stores: tuple[LocalStore, FleetSource],
                               monkeypatch: pytest.MonkeyPatch) -> None:
        """With pages of 2 documents the answer is the same: search_after walks them all."""
        local, remote = stores
        monkeypatch.setattr(fleet, "PAGE", 2)
        a = lineage(local, "endpoint:10.2.2.2:443", Options())
        b = lineage(remote, "endpoint:10.2.2.2:443", Options())
        assert comparable(a) == comparable(b)

    def test_readers_at_least(self, stores: tuple[LocalStore, FleetSource]) -> None:
        """Asked for `at_least`, the cluster's reader counts are exact below it and reach it
        where the exact count does."""
        local, remote = stores
        files = ["file:/d/secret", "file:/d/run.sh", "file:/usr/lib/libc.so.6", "file:/e/src",
                 "file:/usr/bin/python3", "file:/nowhere"]
        exact = local.readers(files)
        assert remote.readers(files) == exact
        assert exact["file:/d/secret"] == 2
        for n in (1, 2, 3):
            capped = remote.readers(files, n)
            for f in files:
                if exact.get(f, 0) < n:
                    assert capped.get(f, 0) == exact.get(f, 0), (f, n)
                else:
                    assert capped[f] >= n, (f, n)

    def test_small_pages_and_batches(self, stores: tuple[LocalStore, FleetSource],
                                     es_plain: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """With one bucket per composite page, two hits per page and two searches per
        _msearch, a fresh source (nothing cached) answers every query as the local index."""
        local, _ = stores
        monkeypatch.setattr(fleet, "BUCKETS", 1)
        monkeypatch.setattr(fleet, "PAGE", 2)
        monkeypatch.setattr(fleet, "BATCH", 2)
        remote = FleetSource(Elasticsearch(es_plain.url, request_timeout=30), "prov-test")
        try:
            for query, node in QUERIES:
                fn = lineage if query == "lineage" else impact
                assert comparable(fn(local, node, Options())) == comparable(
                    fn(remote, node, Options())), (query, node)
            for root in ("process:child", "process:payload", "process:mkid"):
                assert comparable(ancestry(local, root)) == comparable(ancestry(remote, root))
            for root in ("process:shell", "process:init", "process:dropper"):
                assert comparable(descendants(local, root, Options())) == comparable(
                    descendants(remote, root, Options()))
        finally:
            remote.close()

    def test_missing_index_is_one_line(self, es_plain: Any) -> None:
        """An unreachable cluster is one line naming the index, never a traceback."""
        with pytest.raises(ProvenanceError) as info:
            FleetSource(Elasticsearch("http://127.0.0.1:9", request_timeout=2), "nothing")
        assert "\n" not in str(info.value)


class TestCommandLine:
    """`--backend elasticsearch` through the real command line."""

    def test_cli_lineage_json(self, stores: tuple[LocalStore, FleetSource], es_plain: Any,
                              tmp_path: Path) -> None:
        """The CLI answers from the cluster with the same slice as the local index."""
        local, _ = stores
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"events_dir": str(tmp_path), "es_config": {
            "es_host": "127.0.0.1", "es_port": es_plain.port, "es_index": "prov-test"}}))
        config.chmod(0o600)
        proc = subprocess.run([*MONITOR, "lineage", "/d/run.sh", "--backend", "elasticsearch",
                               "--config", str(config), "--format", "json"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        want = lineage(local, "file:/d/run.sh", Options())
        assert {n["id"] for n in got["nodes"]} == set(want.nodes)
        assert len(got["edges"]) == len(want.edges)
        assert "hid 1 node(s)" in proc.stderr or "hid nothing" in proc.stderr

    def test_cli_unknown_node(self, stores: tuple[LocalStore, FleetSource], es_plain: Any,
                              tmp_path: Path) -> None:
        """An unknown node on the cluster is exit 2 and one line."""
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"es_config": {
            "es_host": "127.0.0.1", "es_port": es_plain.port, "es_index": "prov-test"}}))
        config.chmod(0o600)
        proc = subprocess.run([*MONITOR, "impact", "/no/such", "--backend", "elasticsearch",
                               "--config", str(config)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "not found" in proc.stderr
