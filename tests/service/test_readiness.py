"""sd_notify: READY=1 means recording has begun; STOPPING=1 at shutdown; clean exit."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from .conftest import ServiceProcess, wait_for_path


def _links(pid: int) -> list[dict[str, str]]:
    """fdinfo of the process's BPF links: what is attached, as the kernel sees it."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf_link":
                continue
            text = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue
        out.append(dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line))
    return out


class TestReadiness:
    def test_ready_after_attach(self, tmp_path: Path) -> None:
        """At READY=1 the programs are attached, and an action right after it is recorded."""
        events = tmp_path / "events"
        svc = ServiceProcess(tmp_path, {"events_dir": str(events), "stats_interval": 60})
        svc.start()
        try:
            # Taken after READY=1, before anything else: the links already exist.
            links = _links(svc.pid)
            tracepoints = {link.get("tp_name") for link in links}
            assert "sys_enter_execve" in tracepoints, links
            assert len(links) >= 5
            target = tmp_path / "after-ready"
            target.write_text("x")  # the very first thing after READY
            doc = wait_for_path(events / "events.jsonl", str(target))
            assert doc["process"]["pid"] == os.getpid()
            pid_file = events / "ebpf-monitor.pid"
            assert pid_file.read_text().strip() == str(svc.pid)
        finally:
            rc = svc.stop(signal.SIGTERM)
        assert rc == 0, svc.stderr()
        assert not pid_file.exists()

    def test_stopping_is_announced(self, tmp_path: Path) -> None:
        """SIGTERM makes the monitor say STOPPING=1 after READY=1, then exit 0."""
        svc = ServiceProcess(tmp_path, {"events_dir": str(tmp_path / "events")})
        ready = svc.start()
        listener = svc.notify
        assert svc.proc is not None
        svc.proc.send_signal(signal.SIGTERM)
        stopping = listener.wait_for("STOPPING=1", timeout=30)
        assert svc.stop() == 0, svc.stderr()
        assert stopping > ready
        # NotifyAccess=main: systemd ignores datagrams from any other process.
        assert listener.senders and set(listener.senders) == {svc.pid}

    def test_no_ready_on_config_error(self, tmp_path: Path) -> None:
        """A config error exits 2 (RestartPreventExitStatus) without ever sending READY=1."""
        svc = ServiceProcess(tmp_path, {"events_dir": str(tmp_path), "no_such_key": 1})
        svc.launch()
        assert svc.proc is not None
        assert svc.proc.wait(60) == 2
        assert svc.stop() == 2
        assert "no_such_key" in svc.stderr()
        assert not any("READY=1" in lines for _, lines in svc.notify.messages)
