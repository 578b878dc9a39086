"""The systemd unit: systemd's own checks, and the choices the service depends on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .conftest import UNIT, unit_directives


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    # Works without a running systemd (PID 1 here need not be systemd).
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=120)


def _with_stand_in(tmp_path: Path) -> Path:
    """The unit, ExecStart pointed at an executable that exists (verify checks that)."""
    stand_in = tmp_path / "ebpf-monitor"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    text = UNIT.read_text()
    assert "ExecStart=/usr/local/bin/ebpf-monitor " in text
    unit = tmp_path / "ebpf-monitor.service"
    unit.write_text(text.replace("ExecStart=/usr/local/bin/ebpf-monitor ",
                                 f"ExecStart={stand_in} "))
    return unit


class TestUnitFile:
    def test_verify_is_clean(self, tmp_path: Path) -> None:
        """systemd-analyze verify accepts the unit without a single warning."""
        result = _verify(_with_stand_in(tmp_path))
        assert result.returncode == 0, result.stderr
        assert result.stdout + result.stderr == ""

    def test_verify_catches_mistakes(self, tmp_path: Path) -> None:
        """The check above is not vacuous: an unknown key is reported."""
        unit = _with_stand_in(tmp_path)
        unit.write_text(unit.read_text().replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
        result = _verify(unit)
        assert "Unknown key" in result.stderr

    def test_service_contract(self) -> None:
        """Readiness, reload, restart policy and stop timeout match the monitor's behaviour."""
        d = unit_directives(UNIT.read_text())
        assert d["Type"] == ["notify"]
        assert d["NotifyAccess"] == ["main"]
        assert d["ExecStart"] == ["/usr/local/bin/ebpf-monitor --config /var/config.json"]
        assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
        assert d["Restart"] == ["on-failure"]
        assert d["RestartPreventExitStatus"] == ["2"]  # config errors
        # The Elasticsearch flush at stop is bounded at ~10 s; leave room for drain and spool.
        assert 20 <= int(d["TimeoutStopSec"][0]) <= 60

    def test_capabilities_are_minimal(self) -> None:
        """Only CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE survive; no CAP_SYS_ADMIN."""
        d = unit_directives(UNIT.read_text())
        assert d["CapabilityBoundingSet"] == ["CAP_BPF CAP_PERFMON CAP_SYS_PTRACE"]
        assert "AmbientCapabilities" not in d  # the service runs as root: bounding set decides
        assert d["NoNewPrivileges"] == ["yes"]
        assert d["ProtectSystem"] == ["strict"]
        assert d["ProtectHome"] == ["read-only"]
        assert d["LogsDirectory"] == ["ebpf-monitor"]
        assert d["StateDirectory"] == ["ebpf-monitor"]
        syscalls = d["SystemCallFilter"][0].split()
        assert {"bpf", "perf_event_open"} <= set(syscalls)

    def test_security_exposure(self, tmp_path: Path) -> None:
        """systemd-analyze security rates the unit at most "OK" (exposure below 4)."""
        result = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", "--no-pager",
             str(_with_stand_in(tmp_path))],
            capture_output=True, text=True, timeout=120,
        )
        match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
        assert match, result.stdout + result.stderr
        assert float(match.group(1)) < 4.0
