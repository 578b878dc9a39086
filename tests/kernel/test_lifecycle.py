"""Run-time behaviour: drops reported, signals, host errors, stdout mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.harness import MONITOR, Monitor, run_workload, running_monitor, wait_until
from tests.harness.workloads import OPEN_LOOP


class TestDrops:
    def test_tiny_ring_reports_loss(self, tmp_path: Path) -> None:
        """A 4 KiB ring read once a second overflows; the loss is counted and recorded."""
        config = {"capture": {"ring_buffer_bytes": 4096, "wakeup_bytes": 1 << 30,
                              "poll_interval_ms": 1000}}
        target = tmp_path / "f"
        target.write_text("x")
        with running_monitor(tmp_path / "run", config) as mon:
            run_workload(OPEN_LOOP, str(target), "20000")
            mon.wait_for(lambda d: d["event"]["action"] == "loss", timeout=30)
            stderr_while_running = mon.stderr()
        # Read after the stop, which reports every drop counted until then: the loss records
        # of a slow loop spread over several polls, each counting only what is new.
        docs = mon.events()
        losses = [d for d in docs if d["event"]["action"] == "loss"]
        ring = [d for d in losses if d["ebpf"]["lost"]["source"] == "ring_buffer"]
        assert ring[0]["event"]["kind"] == "metric"
        lost = sum(d["ebpf"]["lost"]["count"] for d in ring)
        assert lost > 0
        assert ring[-1]["ebpf"]["lost"]["total"] == lost
        assert any(d["ebpf"]["lost"]["by_kind"].get("open", 0) > 0 for d in ring)
        assert "events lost" in stderr_while_running
        # Nothing silent: what arrived plus what was counted covers the 20000 opens.
        opens = [d for d in docs if d["event"]["action"] == "openat"
                 and d.get("file", {}).get("path") == str(target)]
        lost_opens = sum(d["ebpf"]["lost"]["by_kind"].get("open", 0) for d in losses)
        assert len(opens) + lost_opens >= 20000
        assert len(opens) < 20000
        # Every read of a ring this small wraps (ringbuf.py copies the two parts): no record
        # may come out torn.
        assert "undecodable record" not in mon.stderr()


class TestSignals:
    def test_sigterm_drains_and_exits_zero(self, tmp_path: Path) -> None:
        """SIGTERM: exit status 0, and events written just before it are in the file."""
        mon = Monitor(tmp_path, {})
        mon.start()
        try:
            pid, _ = run_workload("pass")
            mon.events_of(pid)
        finally:
            assert mon.stop(signal.SIGTERM) == 0
        assert "stopped" in mon.stderr()

    def test_sighup_reopens_events_file(self, tmp_path: Path) -> None:
        """After the file is renamed and SIGHUP sent, new events go to a new events.jsonl."""
        with running_monitor(tmp_path / "run") as mon:
            pid1, _ = run_workload("pass")
            mon.events_of(pid1)
            rotated = mon.events_file.with_name("events.jsonl.1")
            mon.events_file.rename(rotated)
            old_inode = rotated.stat().st_ino
            assert mon.proc is not None
            mon.proc.send_signal(signal.SIGHUP)

            def reopened() -> bool:
                try:
                    inode = mon.events_file.stat().st_ino
                except FileNotFoundError:
                    return False
                return inode != old_inode and bool(mon.events())

            wait_until(reopened, timeout=20, what="a new events.jsonl with events after SIGHUP",
                       seen=lambda: sorted(p.name for p in mon.events_dir.iterdir()))
            pid2, _ = run_workload("pass")
            mon.events_of(pid2)
        old = [json.loads(x) for x in rotated.read_bytes().splitlines()]
        assert any(d.get("process", {}).get("pid") == pid1 for d in old)
        assert not any(d.get("process", {}).get("pid") == pid2 for d in old)
        assert oct(mon.events_file.stat().st_mode & 0o777) == "0o640"

    def test_stdout_mode(self, tmp_path: Path) -> None:
        """--stdout prints the same JSON lines to stdout."""
        mon = Monitor(tmp_path, {}, stdout=True)
        mon.start()
        try:
            pid, _ = run_workload("pass")
            mon.events_of(pid)
        finally:
            assert mon.stop() == 0
        lines = mon.stdout_path.read_bytes().splitlines()
        printed = [json.loads(x) for x in lines]
        assert any(d.get("process", {}).get("pid") == pid and d["event"]["action"] == "exit"
                   for d in printed)


class TestHostErrors:
    def test_not_root(self, tmp_path: Path) -> None:
        """A non-root run stops at once with one line naming the reason, exit status 1."""
        cfg = tmp_path / "c.json"
        cfg.write_text(json.dumps({"events_dir": str(tmp_path / "ev")}))
        proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               *MONITOR, "--config", str(cfg)],
                              capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("ebpf-monitor: must run as root")
        assert "Traceback" not in proc.stderr
