"""Every config error is one line naming the key; the CLI exits 2 on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ebpf_monitor.config import Config, load_config, parse_config
from ebpf_monitor.errors import ConfigError

GO_TOOL_CONFIG = {
    "events_dir": "/var/log/ebpf",
    "output_dir": "/var/lib/ebpf",
    "storage_type": "elasticsearch",
    "es_config": {"es_host": "10.0.0.5", "es_port": "9200", "es_user": "elastic",
                  "es_password": "s3cret", "es_index": "prov", "batch_size": 500,
                  "secure": True},
}


def write(tmp_path: Path, data: object, mode: int = 0o600) -> Path:
    path = tmp_path / "config.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    path.chmod(mode)
    return path


class TestAccepted:
    def test_go_tool_keys(self) -> None:
        """The Go tool's config loads as it is, port given as a string included."""
        cfg = parse_config(GO_TOOL_CONFIG)
        assert cfg.es_config.es_port == 9200
        assert cfg.es_config.secure is True
        assert cfg.state_dir == Path("/var/lib/ebpf")
        assert cfg.events_file == Path("/var/log/ebpf/events.jsonl")

    def test_defaults(self) -> None:
        """An empty object means local storage under /var/log/ebpf-monitor."""
        cfg = parse_config({})
        assert cfg.storage_type == "local"
        assert "/proc/" in cfg.filters.ignore_path_prefixes

    def test_missing_default_file_means_builtin(self, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
        """No file at the default path: the built-in default, no error."""
        monkeypatch.setattr("ebpf_monitor.config.DEFAULT_CONFIG_PATH", tmp_path / "none.json")
        assert load_config(None) == Config()

    def test_password_masked(self) -> None:
        """The effective config never shows the password."""
        masked = parse_config(GO_TOOL_CONFIG).masked()
        assert masked["es_config"]["es_password"] == "********"
        assert "s3cret" not in json.dumps(masked)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"storage_type": "s3"}, "storage_type: Input should be 'local' or 'elasticsearch'"),
        ({"es_config": {"es_port": "http"}}, "es_config.es_port: Input should be a valid integer"),
        ({"es_config": {"es_port": 70000}}, "es_config.es_port: Input should be less than"),
        ({"es_config": {"batch_size": 0}}, "es_config.batch_size: Input should be greater"),
        ({"es_config": {"secure": "maybe"}}, "es_config.secure: Input should be a valid boolean"),
        ({"events_dir": 5}, "events_dir: Input is not a valid path"),
        ({"bogus": 1}, "bogus: unknown key"),
        ({"filters": {"ignore_comms": ["x" * 20]}}, "filters.ignore_comms.0: String should have"),
        ({"capture": {"ring_buffer_bytes": 10}}, "capture.ring_buffer_bytes: Input should be"),
        ({"file_logging": False}, "file_logging can be false only with storage_type"),
        ([], "the top level must be a JSON object"),
    ],
)
def test_invalid_values(tmp_path: Path, data: object, message: str) -> None:
    """Each wrong value is reported with its dotted key, on one line."""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, data))
    text = str(err.value)
    assert message in text
    assert "\n" not in text
    assert str(tmp_path / "config.json") in text


class TestFileErrors:
    def test_invalid_json(self, tmp_path: Path) -> None:
        """Broken JSON names the line and column."""
        with pytest.raises(ConfigError, match=r"invalid JSON: line 2 column 1"):
            load_config(write(tmp_path, '{"events_dir": "/x",\n}'))

    def test_explicit_missing_file(self, tmp_path: Path) -> None:
        """--config naming a missing file is an error, not the default."""
        with pytest.raises(ConfigError, match="config file not found"):
            load_config(tmp_path / "nope.json")

    @pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
    def test_writable_by_others_refused(self, tmp_path: Path, mode: int) -> None:
        """A config others can write decides what root loads: refused."""
        with pytest.raises(ConfigError, match="writable by group or others"):
            load_config(write(tmp_path, {}, mode))

    def test_directory(self, tmp_path: Path) -> None:
        """A directory instead of a file is a read error, not a traceback."""
        with pytest.raises(ConfigError, match="cannot read config file"):
            load_config(tmp_path)


class TestCli:
    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ebpf_monitor", *args],
                              capture_output=True, text=True)

    def test_config_error_exit_2(self, tmp_path: Path) -> None:
        """check-config on a bad file: exit 2, one line on stderr, no traceback."""
        proc = self.run("check-config", "--config", str(write(tmp_path, {"storage_type": 1})))
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1
        assert proc.stderr.startswith("ebpf-monitor: ")
        assert "storage_type" in proc.stderr

    def test_config_before_or_after_command(self, tmp_path: Path) -> None:
        """--config works on either side of the command name."""
        path = str(write(tmp_path, {"storage_type": "s3"}))
        for args in (("--config", path, "check-config"), ("check-config", "--config", path)):
            proc = self.run(*args)
            assert proc.returncode == 2 and "storage_type" in proc.stderr

    def test_check_config_prints_effective(self, tmp_path: Path) -> None:
        """check-config prints the effective config with defaults filled in, secrets masked."""
        proc = self.run("check-config", "--config", str(write(tmp_path, GO_TOOL_CONFIG)))
        assert proc.returncode == 0, proc.stderr
        shown = json.loads(proc.stdout)
        assert shown["es_config"]["es_password"] == "********"
        assert shown["capture"]["max_args"] == 64

    def test_version(self) -> None:
        """--version prints the package version."""
        from ebpf_monitor import __version__

        proc = self.run("--version")
        assert proc.returncode == 0
        assert proc.stdout.strip() == f"ebpf-monitor {__version__}"

    @pytest.mark.skipif(os.geteuid() != 0, reason="run needs root to get to the config")
    def test_run_with_bad_config_exit_2(self, tmp_path: Path) -> None:
        """The run command also exits 2 on a config error."""
        proc = self.run("--config", str(write(tmp_path, {"storage_type": "s3"})))
        assert proc.returncode == 2
        assert "storage_type" in proc.stderr


class TestRingSize:
    """capture.ring_buffer_bytes: null scales with the CPUs, within bounds; a power of two."""

    @pytest.mark.parametrize(("cpus", "mib"), [(1, 64), (2, 64), (3, 128), (8, 256), (64, 256)])
    def test_default_by_cpu_count(self, monkeypatch: pytest.MonkeyPatch, cpus: int,
                                  mib: int) -> None:
        from ebpf_monitor import loader

        monkeypatch.setattr(loader.os, "cpu_count", lambda: cpus)
        assert loader._ring_size(None) == mib << 20

    def test_requested_rounded_up(self) -> None:
        from ebpf_monitor.loader import _ring_size

        assert _ring_size(5 << 20) == 8 << 20
        assert _ring_size(10) == 4096


class TestMetricsListen:
    @pytest.mark.parametrize(("listen", "why"), [
        ("9464", "is not address:port"),
        ("localhost:9464", "is not an IP address"),
        ("127.0.0.1:99999", "port from 0 to 65535"),
        ("[::1:9464", "is not an IP address"),
    ])
    def test_bad_listen(self, listen: str, why: str) -> None:
        """A listen address that is not IP:port is one line naming metrics.listen."""
        with pytest.raises(ConfigError, match=rf"metrics\.listen: .*{why}"):
            parse_config({"metrics": {"listen": listen}})

    def test_off_by_default_and_ipv6(self) -> None:
        """No endpoint unless asked for; an IPv6 address goes in brackets."""
        assert parse_config({}).metrics.address is None
        cfg = parse_config({"metrics": {"listen": "[::1]:9464"}})
        assert cfg.metrics.address == ("::1", 9464)
