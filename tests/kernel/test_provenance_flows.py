"""Provenance through issue #12's kinds over a real monitor's events: data that goes file ->
process A -> pipe -> process B -> copy_file_range -> file2, and a binary copied into a memfd
and run from it, traced back through the real CLI and the DuckDB index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.monitor_harness import MONITOR, Monitor, running_monitor

# A: the source file to its stdout (a pipe to B).
READER = """
import os, sys
with open(sys.argv[1], "rb") as f:
    data = f.read()
os.write(1, data)
"""

# B: the pipe to a scratch file, then copy_file_range from it to file2.
COPIER = """
import os, sys
data = b""
while chunk := os.read(0, 65536):
    data += chunk
with open(sys.argv[1], "wb") as f:
    f.write(data)
src = os.open(sys.argv[1], os.O_RDONLY)
dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
done = 0
while done < len(data):
    n = os.copy_file_range(src, dst, len(data) - done)
    assert n > 0
    done += n
"""

# C: /bin/cat copied into a memfd by sendfile, then run from it by a child that cats a file
# into an output file.
FILELESS = """
import os, shutil, sys
cat = shutil.which("cat")
mfd = os.memfd_create("em payload", 0)
src = os.open(cat, os.O_RDONLY)
size = os.fstat(src).st_size
done = 0
while done < size:
    done += os.sendfile(mfd, src, None, size - done)
pid = os.fork()
if pid == 0:
    out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.execv(f"/proc/self/fd/{mfd}", ["cat", sys.argv[1]])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass
class Run:
    """What the run produced: its files and pids."""

    mon: Monitor
    db: Path
    dir: Path
    reader: int
    copier: int
    fileless: int


def cli(run: Run, *args: str) -> tuple[int, Any, str]:
    proc = subprocess.run([*MONITOR, *args, "--config", str(run.mon.config_path),
                           "--db", str(run.db), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout else None, proc.stderr


@pytest.fixture(scope="module")
def flows_run(workdir: Path) -> Iterator[Run]:
    d = workdir / "flow dir"
    d.mkdir()
    source = d / "source.txt"
    with running_monitor(workdir / "flows") as mon:
        source.write_bytes(b"what goes through the pipe\n" * 50)
        reader = subprocess.Popen([sys.executable, "-c", READER, str(source)],
                                  stdout=subprocess.PIPE)
        copier = subprocess.Popen([sys.executable, "-c", COPIER, str(d / "scratch"),
                                   str(d / "file2")], stdin=reader.stdout)
        assert reader.stdout is not None
        reader.stdout.close()
        assert copier.wait(timeout=60) == 0 and reader.wait(timeout=60) == 0
        assert (d / "file2").read_bytes() == source.read_bytes()
        (d / "input.txt").write_text("read by the memfd's cat\n")
        fileless = subprocess.Popen([sys.executable, "-c", FILELESS, str(d / "input.txt"),
                                     str(d / "out.txt")])
        assert fileless.wait(timeout=60) == 0
        assert (d / "out.txt").read_text() == "read by the memfd's cat\n"
        mon.wait_for(lambda e: e["event"]["action"] == "copy_file_range"
                     and e["process"]["pid"] == copier.pid)
        mon.wait_for(lambda e: e["event"]["action"] == "exit"
                     and e["process"]["pid"] == fileless.pid)
    yield Run(mon=mon, db=workdir / "flows.duckdb", dir=d, reader=reader.pid,
              copier=copier.pid, fileless=fileless.pid)


def _pids(out: dict[str, Any]) -> dict[int, str]:
    return {n["attrs"]["pid"]: n["id"] for n in out["nodes"] if n["kind"] == "process"}


@pytest.mark.kernel
class TestPipeAndCopyFileRange:
    """file -> A -> pipe -> B -> copy_file_range -> file2, found backward and forward."""

    def test_lineage_of_file2_reaches_the_source(self, flows_run: Run) -> None:
        """file2's lineage holds the copy, B, the pipe, A and the source file, with the
        bytes moved by copy_file_range on the move edges."""
        d = flows_run.dir
        rc, out, err = cli(flows_run, "lineage", str(d / "file2"))
        assert rc == 0, err
        ids = {n["id"] for n in out["nodes"]}
        pids = _pids(out)
        a, b = pids[flows_run.reader], pids[flows_run.copier]
        assert {f"file:{d}/source.txt", f"file:{d}/scratch", a, b} <= ids
        edges = {(e["src"], e["dst"], e["action"]): e for e in out["edges"]}
        # The pipe A writes and B reads (the test's own process, B's parent, brings others:
        # subprocess's exec-error pipes, which it read before forking).
        pipes = [i for i in ids if i.startswith("file:pipe:[")
                 and (a, i, "write") in edges and (i, b, "read") in edges]
        assert len(pipes) == 1
        size = len(b"what goes through the pipe\n") * 50
        assert edges[(a, pipes[0], "write")]["bytes"] == size
        assert edges[(f"file:{d}/scratch", b, "move")]["bytes"] == size
        assert edges[(b, f"file:{d}/file2", "move")]["bytes"] == size
        assert (f"file:{d}/source.txt", a, "read") in edges

    def test_path_from_source_to_file2(self, flows_run: Run) -> None:
        """`path` from the source to file2 crosses the pipe."""
        d = flows_run.dir
        rc, out, err = cli(flows_run, "path", str(d / "source.txt"), str(d / "file2"))
        assert rc == 0, err
        assert any(n["id"].startswith("file:pipe:[") for n in out["nodes"])
        assert f"file:{d}/file2" in {n["id"] for n in out["nodes"]}


@pytest.mark.kernel
class TestMemfdExec:
    """A binary copied into a memfd and run from it is traced through the memfd."""

    def test_lineage_of_the_output_goes_through_the_memfd(self, flows_run: Run) -> None:
        """out.txt's lineage: the child ran file:memfd:em payload (not /proc/self/fd/N), which
        the parent filled from cat's file by sendfile; the parent created it."""
        d = flows_run.dir
        rc, out, err = cli(flows_run, "lineage", str(d / "out.txt"), "--all")
        assert rc == 0, err
        ids = {n["id"] for n in out["nodes"]}
        memfd = "file:memfd:em payload"
        assert memfd in ids and f"file:{d}/input.txt" in ids
        assert not any(i.startswith("file:/proc/self/fd/") for i in ids)
        parent = _pids(out)[flows_run.fileless]
        edges = {(e["src"], e["dst"], e["action"]) for e in out["edges"]}
        assert (parent, memfd, "move") in edges and (parent, memfd, "create") in edges
        child = next(e[1] for e in edges if e[0] == memfd and e[2] == "exec")
        assert (parent, child, "fork") in edges
        cat = os.path.realpath(next(e[0] for e in edges if e[1] == parent and e[2] == "move"
                                    )[5:])
        assert os.path.basename(cat) == "cat"
