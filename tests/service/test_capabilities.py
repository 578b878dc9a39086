"""The unit's capability set, applied with setpriv as systemd would apply it to a root service."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .conftest import UNIT, ServiceProcess, unit_directives, wait_for_path


def _unit_caps() -> list[str]:
    return unit_directives(UNIT.read_text())["CapabilityBoundingSet"][0].split()


def _setpriv(caps: list[str]) -> tuple[str, ...]:
    """Root keeping only `caps`: bounding set, nothing inheritable, no new privileges."""
    names = ",".join("+" + cap.removeprefix("CAP_").lower() for cap in caps)
    return ("setpriv", f"--bounding-set=-all,{names}", "--inh-caps=-all", "--no-new-privs")


class TestCapabilities:
    def test_unit_set_suffices(self, tmp_path: Path) -> None:
        """With only the unit's capabilities the monitor attaches and records events."""
        events = tmp_path / "events"
        svc = ServiceProcess(tmp_path, {"events_dir": str(events)})
        svc.start(prefix=_setpriv(_unit_caps()))
        try:
            status = Path(f"/proc/{svc.pid}/status").read_text()
            eff = next(line.split()[1] for line in status.splitlines()
                       if line.startswith("CapEff:"))
            assert int(eff, 16) == (1 << 39) | (1 << 38) | (1 << 19)  # BPF, PERFMON, SYS_PTRACE
            target = tmp_path / "with-few-caps"
            target.write_text("x")
            doc = wait_for_path(events / "events.jsonl", str(target))
            assert doc["process"]["pid"] == os.getpid()
        finally:
            assert svc.stop() == 0, svc.stderr()

    def test_perfmon_is_needed(self, tmp_path: Path) -> None:
        """Without CAP_PERFMON loading the tracing programs fails: exit 1, one line."""
        svc = ServiceProcess(tmp_path, {"events_dir": str(tmp_path / "events")})
        svc.launch(prefix=_setpriv([c for c in _unit_caps() if c != "CAP_PERFMON"]))
        assert svc.proc is not None
        assert svc.proc.wait(60) == 1
        svc.stop()
        lines = svc.stderr().strip().splitlines()
        assert lines[-1].startswith("ebpf-monitor: ") and "not permitted" in lines[-1]

    def test_sys_ptrace_is_needed(self) -> None:
        """Enrichment's readlink of /proc/<pid>/exe needs CAP_SYS_PTRACE for others' processes."""
        # Another user's process, and a root process holding more capabilities than we would:
        # ptrace_may_access refuses both without CAP_SYS_PTRACE.
        targets = [
            subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "sleep", "60"]),
            subprocess.Popen(["sleep", "60"]),
        ]
        without = [c for c in _unit_caps() if c != "CAP_SYS_PTRACE"]
        try:
            for target in targets:
                cmd = ["readlink", f"/proc/{target.pid}/exe"]
                denied = subprocess.run([*_setpriv(without), *cmd], capture_output=True)
                allowed = subprocess.run([*_setpriv(_unit_caps()), *cmd], capture_output=True)
                assert denied.returncode != 0
                assert allowed.stdout.strip() == b"/usr/bin/sleep", allowed
        finally:
            for target in targets:
                target.kill()
                target.wait()
