"""Nothing lost on the local side: rotation under load, SIGKILL, disk full, shutdown drain."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.harness import REPO, EventsReader, Monitor, running_monitor, wait_until
from tests.harness.workloads import OPEN_LOOP


def read_all(paths: list[Path]) -> list[dict]:
    docs = []
    for path in paths:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert raw == b"" or raw.endswith(b"\n"), f"{path} ends in a partial line"
        docs.extend(json.loads(line) for line in raw.splitlines())  # every line valid JSON
    return docs


def is_jsonl_loss(doc: dict) -> bool:
    return doc["event"]["action"] == "loss" and doc["ebpf"]["lost"]["source"] == "jsonl"


def opens_of(docs: list[dict], path: Path) -> list[dict]:
    return [d for d in docs if d["event"]["action"] == "openat"
            and d.get("file", {}).get("path") == str(path)]


class TestRotation:
    def test_logrotate_under_load(self, tmp_path: Path) -> None:
        """Three forced logrotate runs during a sustained workload: the rotated files plus the
        current one hold each of the workload's events exactly once, every line whole."""
        target = tmp_path / "target"
        target.write_text("x")
        n = 30011
        with running_monitor(tmp_path / "run") as mon:
            conf = tmp_path / "logrotate.conf"
            shipped = (REPO / "packaging/logrotate/ebpf-provenance").read_text()
            conf.write_text(shipped.replace("/var/log/ebpf-monitor/", f"{mon.events_dir}/")
                            .replace("/var/lib/ebpf-monitor/", f"{mon.events_dir}/"))
            work = subprocess.Popen([sys.executable, "-c", OPEN_LOOP, str(target), str(n),
                                     "0.01"])
            current = EventsReader(mon.events_file)
            for rotation in range(3):
                # Each rotation cuts the workload: some of its opens in the file it rotates.
                wait_until(lambda: len(opens_of(current.docs(), target)) >= 300, timeout=60,
                           what=f"300 workload opens in events.jsonl before rotation"
                                f" {rotation + 1}",
                           seen=lambda: len(opens_of(current.docs(), target)))
                assert work.poll() is None, "the workload ended before three rotations"
                subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)],
                               check=True)
            assert work.wait(120) == 0
            # Stopping drains the ring: no need to wait for the tail to reach a file.
        files = sorted(mon.events_dir.glob("events.jsonl*"))
        docs = read_all(files)
        opens = opens_of(docs, target)
        assert len(opens) == n
        spread = [len(opens_of(read_all([f]), target)) for f in files]
        assert sum(1 for c in spread if c) >= 3, spread  # rotations cut the workload
        ids = [d["event"]["id"] for d in docs]
        assert len(ids) == len(set(ids)), "an event was written twice"
        assert not [d for d in docs if d["event"]["action"] == "loss"]


class TestCrash:
    def test_sigkill_then_restart(self, tmp_path: Path) -> None:
        """SIGKILL mid-stream leaves whole lines, and at most a torn tail (the kernel ends a
        large write(2) early on a fatal signal); a torn tail is set aside at the next start,
        and writing resumes after the last whole line."""
        target = tmp_path / "target"
        target.write_text("x")
        mon = Monitor(tmp_path / "run", {})
        mon.start()
        work = subprocess.Popen([sys.executable, "-c", OPEN_LOOP, str(target), "200000"])
        # Killed mid-stream: the workload's events are flowing into the file, and it still runs.
        wait_until(lambda: len(opens_of(mon.events(), target)) >= 2000, timeout=60,
                   what="2000 workload opens in events.jsonl",
                   seen=lambda: len(opens_of(mon.events(), target)))
        assert work.poll() is None
        assert mon.proc is not None
        mon.proc.send_signal(signal.SIGKILL)
        mon.stop()
        work.kill()
        work.wait()
        raw = mon.events_file.read_bytes()
        whole = raw[: raw.rfind(b"\n") + 1]
        before = [json.loads(line) for line in whole.splitlines()]  # every whole line valid
        assert before
        with open(mon.events_file, "ab") as f:
            f.write(b'{"@timestamp": "2026-01-01T00:00:00Z", "event": {"act')
        mon.start()
        try:
            pid = subprocess.Popen([sys.executable, "-c", "pass"])
            pid.wait()
            mon.events_of(pid.pid)
        finally:
            assert mon.stop() == 0
        after = read_all([mon.events_file])
        assert after[: len(before)] == before
        aside = list(mon.events_dir.glob("events.jsonl.partial-*"))
        # The set-aside part: whatever the kill tore, then the torn line written here.
        assert len(aside) == 1
        assert aside[0].read_bytes() == raw[len(whole):] + (
            b'{"@timestamp": "2026-01-01T00:00:00Z", "event": {"act')
        assert "partial last line" in mon.stderr()


class TestShutdown:
    def test_sigterm_right_after_burst_loses_nothing(self, tmp_path: Path) -> None:
        """Events still in the ring when SIGTERM arrives are drained to the file."""
        target = tmp_path / "target"
        target.write_text("x")
        n = 20011
        mon = Monitor(tmp_path / "run", {"capture": {"poll_interval_ms": 1000,
                                                     "wakeup_bytes": 1 << 30}})
        mon.start()
        try:
            proc = subprocess.run([sys.executable, "-c", OPEN_LOOP, str(target), str(n)],
                                  check=True)
            del proc
        finally:
            assert mon.stop(signal.SIGTERM) == 0
        assert len(opens_of(read_all([mon.events_file]), target)) == n


class TestDiskFull:
    def test_disk_full_then_freed(self, tmp_path: Path) -> None:
        """A full events filesystem: a clear error, the monitor keeps running and counts what it
        could not write, then resumes and records the loss once space returns."""
        events = tmp_path / "run" / "events"
        events.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0750", "tmpfs", str(events)],
                       check=True)
        try:
            filler = events / "filler"
            with running_monitor(tmp_path / "run") as mon:
                # Fill what is left, then generate events that cannot be written.
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    while True:
                        os.write(fd, b"\0" * 4096)
                except OSError:
                    pass
                finally:
                    os.close(fd)
                target = tmp_path / "target"
                target.write_text("x")
                subprocess.run([sys.executable, "-c", OPEN_LOOP, str(target), "3000"],
                               check=True)
                wait_until(lambda: "cannot write events: disk full" in mon.stderr(), timeout=20,
                           what="the disk-full error on stderr", seen=mon.stderr_tail)
                assert mon.proc is not None and mon.proc.poll() is None  # still running
                filler.unlink()
                work = subprocess.Popen([sys.executable, "-c", OPEN_LOOP, str(target), "10"])
                work.wait()
                # The disk's loss record (a busy host may add ring-buffer ones: not this test's).
                docs = mon.wait_for(is_jsonl_loss, what="a loss record of the jsonl sink")
                mon.events_of(work.pid)
            loss = [d for d in docs if is_jsonl_loss(d)]
            assert loss[0]["ebpf"]["lost"]["count"] > 0
            assert "writing again;" in mon.stderr()
            read_all([mon.events_file])  # whole lines only, despite the failed writes
        finally:
            subprocess.run(["umount", str(events)], check=False)
            os.sync()
