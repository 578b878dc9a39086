"""The harness's events reader holds a bounded number of documents, whatever the file's size:
a monitor records the whole host, and a test process once held 18 GB of other jobs' events."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from tests.harness import Doc, EventsReader, Monitor, TooManyEvents, read_events
from tests.harness.events import CHUNK


def _doc(i: int, pid: int = 1000) -> Doc:
    return {"event": {"action": "openat"}, "process": {"pid": pid},
            "file": {"path": f"/var/lib/other/job/file-{i:08d}"}, "pad": "x" * 200}


def _write(path: Path, docs: list[Doc] | range, *, pid: int = 1000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        for d in docs:
            f.write(json.dumps(_doc(d, pid) if isinstance(d, int) else d).encode() + b"\n")


def _mine(d: Doc) -> bool:
    return bool(d["process"]["pid"] == 7)


class TestBound:
    """Past max_docs the read stops, at once, with a message saying how to keep fewer."""

    def test_stops_at_the_bound_not_after_the_file(self, tmp_path: Path) -> None:
        """A file of 5,000 documents and a bound of 100: the reader fails after parsing 101."""
        path = tmp_path / "events.jsonl"
        _write(path, range(5000))
        reader = EventsReader(path, max_docs=100)
        with pytest.raises(TooManyEvents, match=r"over 100 documents to keep .*keep="):
            reader.poll()
        assert reader.read == 101

    def test_memory_of_a_large_file_kept_from(self, tmp_path: Path) -> None:
        """Reading ~55 MB of which nothing is kept peaks at a few chunks, not the file."""
        path = tmp_path / "events.jsonl"
        _write(path, range(180_000))
        size = path.stat().st_size
        assert size > 12 * CHUNK
        reader = EventsReader(path, keep=_mine)
        tracemalloc.start()
        try:
            assert reader.poll() == []
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert reader.read == 180_000
        assert peak < 6 * CHUNK, (peak, size)


class TestKeep:
    """Only the documents `keep` accepts are held; a watch sees every one."""

    def test_keep_filters(self, tmp_path: Path) -> None:
        """Of other jobs' documents and ours, only ours are kept, in order."""
        path = tmp_path / "events.jsonl"
        _write(path, range(50))
        _write(path, range(3), pid=7)
        _write(path, range(50, 60))
        docs = read_events(path, keep=_mine)
        assert [d["file"]["path"][-1] for d in docs] == ["0", "1", "2"]

    def test_watch_sees_unkept_documents(self, tmp_path: Path) -> None:
        """A document the watch accepts is kept though `keep` rejects it."""
        path = tmp_path / "events.jsonl"
        _write(path, range(20))
        reader = EventsReader(path, keep=_mine)
        seen: list[int] = []

        def watch(d: Doc) -> bool:
            seen.append(d["process"]["pid"])
            return bool(d["file"]["path"].endswith("00000013"))

        new = reader.poll(watch)
        assert len(seen) == 20
        assert [d["file"]["path"][-2:] for d in new] == ["13"]
        assert reader.kept() == new

    def test_whole_lines_only(self, tmp_path: Path) -> None:
        """A half-written line waits for its end; a truncated file is read anew."""
        path = tmp_path / "events.jsonl"
        _write(path, range(2))
        line = json.dumps(_doc(2)).encode()
        with open(path, "ab") as f:
            f.write(line[:10])
        reader = EventsReader(path)
        assert len(reader.poll()) == 2
        with open(path, "ab") as f:
            f.write(line[10:] + b"\n")
        assert [d["file"]["path"][-1] for d in reader.poll()] == ["2"]
        path.write_bytes(json.dumps(_doc(9)).encode() + b"\n")
        assert [d["file"]["path"][-1] for d in reader.docs()] == ["9"]


class TestMonitorWait:
    """Monitor.wait_for finds a document its `keep` would drop, and keeps only that."""

    def test_wait_for_with_keep(self, tmp_path: Path) -> None:
        """The awaited exit is found among other jobs' documents; only ours and it are kept."""
        mon = Monitor(tmp_path, {}, keep=_mine)  # never started: the file is written here
        _write(mon.events_file, range(1000))
        _write(mon.events_file, range(2), pid=7)
        _write(mon.events_file, [{"event": {"action": "exit"}, "process": {"pid": 1234}}])
        docs = mon.wait_for(lambda d: d["event"]["action"] == "exit", timeout=5)
        assert [d["process"]["pid"] for d in docs] == [7, 7, 1234]
        assert mon.events() == docs
