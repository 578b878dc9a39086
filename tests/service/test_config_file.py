"""The config file as the service meets it: refused when others may write it; example valid."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import MONITOR, REPO, write_config


class TestConfigFile:
    @pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
    @pytest.mark.parametrize("command", [[], ["check-config"]])
    def test_writable_by_others_is_refused(self, tmp_path: Path, mode: int,
                                           command: list[str]) -> None:
        """Group- or world-writable: exit 2 and one line on stderr naming the path."""
        path = write_config(tmp_path / "config.json", {"events_dir": str(tmp_path)}, mode)
        result = subprocess.run([str(MONITOR), *command, "--config", str(path)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(path) in lines[0] and "writable" in lines[0]
        assert not (tmp_path / "events.jsonl").exists()

    def test_example_config_checks(self, tmp_path: Path) -> None:
        """packaging/config.example.json passes check-config and keeps local storage."""
        example = json.loads((REPO / "packaging" / "config.example.json").read_text())
        path = write_config(tmp_path / "config.json", example)
        result = subprocess.run([str(MONITOR), "check-config", "--config", str(path)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        effective = json.loads(result.stdout)
        assert effective["storage_type"] == "local"
        assert effective["events_dir"] == "/var/log/ebpf-monitor"
        # The unit's writable directories are the example's directories.
        assert effective["output_dir"] == "/var/lib/ebpf-monitor"
