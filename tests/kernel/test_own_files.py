"""filters.ignore_own_files: reading the monitor's own files makes no events (no feedback)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.monitor_harness import Doc, Monitor, running_monitor

CATS = 23
# Elasticsearch on a port nobody listens on: documents wait in the spool, so it has segments.
UNREACHABLE_ES = {"storage_type": "elasticsearch",
                  "es_config": {"es_host": "127.0.0.1", "es_port": 9, "request_timeout": 1}}


def _docs_of(files: list[Path], pids: list[int]) -> list[Doc]:
    """Events of these processes in the events files, found by a byte search first: on a busy
    host the files hold far more than a test should parse."""
    pattern = re.compile(rb'^.*"pid":(?:%s)[,}].*$' % b"|".join(b"%d" % p for p in pids), re.M)
    wanted = set(pids)
    docs = []
    for path in files:
        data = path.read_bytes() if path.exists() else b""
        data = data[: data.rfind(b"\n") + 1]
        docs.extend(d for d in map(json.loads, pattern.findall(data))
                    if d.get("process", {}).get("pid") in wanted)
    return docs


def _run_cats(mon: Monitor, path: Path, times: int = CATS) -> list[Doc]:
    """Cat `path` `times` times; every event of those processes once all have exited."""
    pids = []
    for _ in range(times):
        proc = subprocess.Popen(["cat", str(path)], stdout=subprocess.DEVNULL)
        assert proc.wait(60) == 0
        pids.append(proc.pid)
    files = [mon.events_file.with_name("events.jsonl.1"), mon.events_file]
    deadline = time.monotonic() + 60
    while True:  # events of a process precede its exit: once every exit is in, all are
        docs = _docs_of(files, pids)
        if {d["process"]["pid"] for d in docs if d["event"]["action"] == "exit"} == set(pids):
            return docs
        assert time.monotonic() < deadline, "the cat processes' exits never arrived"
        time.sleep(0.1)


def _naming(docs: list[Doc], path: Path) -> list[Doc]:
    return [d for d in docs if d.get("file", {}).get("path") == str(path)]


class TestOwnFiles:
    def test_reading_events_file_is_not_recorded(self, tmp_path: Path) -> None:
        """23 `cat events.jsonl` leave no event naming events.jsonl, nor does the rotated copy."""
        with running_monitor(tmp_path / "run") as mon:
            docs = _run_cats(mon, mon.events_file)
            assert not _naming(docs, mon.events_file)
            rotated = mon.events_file.with_name("events.jsonl.1")
            mon.events_file.rename(rotated)
            assert mon.proc is not None
            mon.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            while not mon.events_file.exists():  # reopened
                assert time.monotonic() < deadline, "no new events.jsonl after SIGHUP"
                time.sleep(0.1)
            docs = _run_cats(mon, rotated)
            assert not _naming(docs, rotated)
            docs = _run_cats(mon, mon.events_file)
            assert not _naming(docs, mon.events_file)
        # Other files are still recorded for the same processes.
        assert any(d["event"]["action"] == "execve" for d in docs)

    def test_reading_spool_is_not_recorded(self, tmp_path: Path) -> None:
        """Reading a spool segment (documents waiting for Elasticsearch) is not recorded."""
        with running_monitor(tmp_path / "run", UNREACHABLE_ES) as mon:
            spool = mon.events_dir / "spool"
            deadline = time.monotonic() + 30
            while not (segments := sorted(spool.glob("*.seg"))):
                assert time.monotonic() < deadline, "no spool segment"
                time.sleep(0.1)
            docs = _run_cats(mon, segments[0])
            assert not _naming(docs, segments[0])

    def test_switched_off_records_reads(self, tmp_path: Path) -> None:
        """With filters.ignore_own_files false, each cat's open of events.jsonl is recorded."""
        config = {"filters": {"ignore_own_files": False}}
        with running_monitor(tmp_path / "run", config) as mon:
            docs = _run_cats(mon, mon.events_file)
        opens = [d for d in _naming(docs, mon.events_file) if d["event"]["action"] == "openat"]
        assert len({d["process"]["pid"] for d in opens}) == CATS
        assert any(d["event"]["action"] == "read" for d in _naming(docs, mon.events_file))
