"""Provenance of an orphan: a parent that exits right after forking (the double fork that
detaches a payload) is still its child's parent, through the real monitor, index and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.monitor_harness import MONITOR, Monitor, running_monitor

# Forks and exits at once; the child waits (on untraced syscalls only: getppid, nanosleep)
# until it is an orphan, then execs python to create the marker file.
DROPPER = """
import os, sys, time
me = os.getpid()
if os.fork() == 0:
    while os.getppid() == me:
        time.sleep(0.001)
    os.execv(sys.executable, [sys.executable, "-c",
             "import sys; open(sys.argv[1], 'w').close()", sys.argv[1]])
os._exit(0)
"""


@dataclass
class Orphan:
    """The run: the monitor, the index, the dropper's pid and the orphan's entity id."""

    mon: Monitor
    db: Path
    dropper_pid: int
    entity: str
    reported_ppid: int


def cli(run: Orphan, *args: str) -> Any:
    proc = subprocess.run([*MONITOR, *args, "--config", str(run.mon.config_path), "--db",
                           str(run.db), "--format", "json"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def orphan(workdir: Path) -> Iterator[Orphan]:
    marker = workdir / "payload ran"
    with running_monitor(workdir / "orphan") as mon:
        dropper = subprocess.run([sys.executable, "-c", DROPPER, str(marker)], timeout=60,
                                 check=True)
        assert dropper.returncode == 0
        docs = mon.wait_for(lambda d: d.get("file", {}).get("path") == str(marker))
        proc = next(d["process"] for d in docs if d.get("file", {}).get("path") == str(marker))
        mon.events_of(proc["pid"])  # its exit recorded: the record is complete
        dropper_pid = next(d["process"]["pid"] for d in docs
                           if d["event"]["action"] in ("clone", "clone3", "fork")
                           and d.get("ebpf", {}).get("child_pid") == proc["pid"])
    yield Orphan(mon=mon, db=workdir / "orphan.duckdb", dropper_pid=dropper_pid,
                 entity=proc["entity_id"], reported_ppid=proc["parent"]["pid"])


def _parent_of(out: dict[str, Any], node: str) -> dict[str, Any]:
    src = next(e["src"] for e in out["edges"] if e["dst"] == node and e["action"] == "fork")
    return next(n for n in out["nodes"] if n["id"] == src)


class TestOrphanParent:
    """The fork record, not the reported ppid, names an orphan's parent."""

    def test_orphan_reports_another_ppid(self, orphan: Orphan) -> None:
        """The scenario holds: the payload's events name the reaper, not the dropper."""
        assert orphan.reported_ppid != orphan.dropper_pid

    def test_ancestry_shows_the_dropper(self, orphan: Orphan) -> None:
        """ancestry of the payload goes through the dropper that forked it."""
        out = cli(orphan, "ancestry", f"process:{orphan.entity}")
        parent = _parent_of(out, f"process:{orphan.entity}")
        assert parent["attrs"]["pid"] == orphan.dropper_pid
        assert parent["attrs"]["end"] is not None  # it had exited

    def test_descendants_of_the_dropper(self, orphan: Orphan) -> None:
        """The dropper's descendants include the payload."""
        out = cli(orphan, "ancestry", f"process:{orphan.entity}")
        dropper = _parent_of(out, f"process:{orphan.entity}")["id"]
        kids = cli(orphan, "descendants", dropper)
        assert f"process:{orphan.entity}" in {n["id"] for n in kids["nodes"]}
