"""Both capture modes give the same provenance graph: the same workload recorded with
`read_write: "all"` and with `"first"` (first calls + close totals) yields equal edges."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ebpf_monitor.provenance.backends.local import LocalStore
from ebpf_monitor.provenance.noise import NoiseRules
from ebpf_monitor.provenance.walk import Options, impact, lineage
from tests.monitor_harness import running_monitor

WORK = """
import os, socket, sys
path = sys.argv[1]
fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
for n in (101, 211, 307):
    assert os.write(fd, b"w" * n) == n
os.lseek(fd, 0, 0)
for n in (97, 89, 83, 79, 73):
    assert len(os.read(fd, n)) == n
os.close(fd)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
for n in (13, 17, 19):
    cli.sendall(b"s" * n)
got = 0
while got < 49:
    got += len(conn.recv(7))
conn.close()
cli.close()
srv.close()
"""

Edge = tuple[str, str, str, int, int]


def graph_of(workdir: Path, mode: str) -> set[Edge]:
    """Record the workload under `mode`; its process's edges, with run-specific names
    (entity id, port, path) replaced by placeholders."""
    target = workdir / f"{mode}.data"
    with running_monitor(workdir / mode, {"capture": {"read_write": mode}}) as mon:
        proc = subprocess.Popen([sys.executable, "-c", WORK, str(target)])
        assert proc.wait(timeout=60) == 0
        mon.events_of(proc.pid)  # until its exit (and so its close records) is written
    pid = proc.pid
    store = LocalStore(workdir / f"{mode}.duckdb")
    try:
        store.index([mon.events_file])
        me = next("process:" + r.entity for r in store.processes_by_pid(pid))
        every = Options(noise=NoiseRules(enabled=False), depth=1)
        edges = lineage(store, me, every).edges + impact(store, me, every).edges
    finally:
        store.close()
    ports = {n.split(":")[-1] for e in edges for n in (e.src, e.dst)
             if n.startswith("listen:")}

    def name(node: str) -> str:
        if node == me:
            return "ME"
        if node == f"file:{target}":
            return "DATA"
        for port in ports:
            if node in (f"listen:{port}", f"endpoint:127.0.0.1:{port}"):
                return node.replace(port, "PORT")
        return node

    return {(name(e.src), name(e.dst), e.action, e.count, e.bytes) for e in edges
            if "DATA" in (name(e.src), name(e.dst)) or "PORT" in name(e.src) + name(e.dst)}


class TestCaptureModes:
    """Counts and bytes per edge do not depend on read_write "all" or "first"."""

    def test_same_edges(self, workdir: Path) -> None:
        """File writes/reads and socket send/recv aggregate to the same edges in both modes."""
        full = graph_of(workdir, "all")
        first = graph_of(workdir, "first")
        assert ("ME", "DATA", "write", 3, 619) in full
        assert ("DATA", "ME", "read", 5, 421) in full
        assert ("ME", "endpoint:127.0.0.1:PORT", "send", 3, 49) in full
        assert any(e[:3] == ("listen:PORT", "ME", "recv") and e[4] == 49 for e in full)
        assert first == full


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("modes")
