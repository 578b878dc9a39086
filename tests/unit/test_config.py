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

from .recorded_abi import enum

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
        ({"filters": {"ignore_comms": ["x" * 20]}},
         "filters.ignore_comms.0: at most 15 bytes as UTF-8, got 20"),
        ({"capture": {"ring_buffer_bytes": 10}}, "capture.ring_buffer_bytes: Input should be"),
        ({"file_logging": False}, "file_logging can be false only with storage_type"),
        ([], "the top level must be a JSON object"),
        ({"es_config": {"es_host": "https://localhost"}},
         "es_config.es_host: a host name or IP without a scheme, got 'https://localhost'"),
        ({"es_config": {"es_host": "localhost:9200"}}, "the port goes in es_port"),
        ({"es_config": {"es_host": "es/x"}}, "es_config.es_host: a host name or IP, got"),
        ({"es_config": {"es_password": "a", "es_password_file": "/p"}},
         "es_config: es_password and es_password_file are both set: keep one"),
        ({"es_config": {"es_api_key": "k", "es_password_env": "P"}}, "are both set"),
        ({"es_config": {"secure": "yes"}}, "es_config.secure: Input should be a valid boolean"),
        ({"file_logging": 1}, "file_logging: Input should be a valid boolean"),
        ({"filters": {"ignore_shared_libraries": "false"}}, "ignore_shared_libraries: Input"),
        ({"capture": {"ring_buffer_bytes": 1 << 40}},
         "capture.ring_buffer_bytes: at most 2147483648 (2 GiB"),
        ({"events_dir": "/var/a\0b"}, "events_dir: a path cannot hold a NUL byte"),
        ({"filters": {"ignore_path_prefixes": ["/" + "é" * 40]}},
         "filters.ignore_path_prefixes.0: at most 63 bytes as UTF-8, got 81"),
        ({"filters": {"ignore_comms": ["\udcff"]}},
         "filters.ignore_comms.0: Input should be a valid string"),
        ({"spool": {"dir": "/x\0"}}, "spool.dir: a path cannot hold a NUL byte"),
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


class TestAmbiguousJson:
    """JSON that parses but has no single meaning is refused, naming what."""

    @pytest.mark.parametrize(("text", "message"), [
        ('{"events_dir": "/a", "events_dir": "/b"}', "key 'events_dir' appears twice"),
        ('{"es_config": {"es_port": 1, "es_port": 2}}', "key 'es_port' appears twice"),
        ('{"stats_interval": 1e400}', "number 1e400 is out of range"),
        ('{"stats_interval": -1e400}', "number -1e400 is out of range"),
        ('{"stats_interval": NaN}', "NaN is not JSON"),
        ('{"stats_interval": Infinity}', "Infinity is not JSON"),
        ('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "JSON nested too deeply"),
    ])
    def test_refused(self, tmp_path: Path, text: str, message: str) -> None:
        """Duplicate keys, numbers out of range, NaN/Infinity and deep nesting: one line."""
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path, text))
        assert message in str(err.value) and "\n" not in str(err.value)

    def test_infinite_float_refused_from_any_source(self) -> None:
        """A float setting never takes infinity, which check-config could not print as JSON."""
        with pytest.raises(ConfigError, match="stats_interval"):
            parse_config({"stats_interval": float("inf")})

    def test_ipv6_host_accepted(self) -> None:
        """An IPv6 literal, bracketed or not, is a host, not a host and a port."""
        for host in ("::1", "[fd00::5]"):
            assert parse_config({"es_config": {"es_host": host}}).es_config.es_host == host


class TestFileErrors:
    @pytest.mark.parametrize("mode", [0o770, 0o777])
    def test_directory_writable_by_others_refused(self, tmp_path: Path, mode: int) -> None:
        """A config in a directory others can write can be replaced by them: refused too."""
        d = tmp_path / "etc"
        d.mkdir()
        d.chmod(mode)
        with pytest.raises(ConfigError, match=f"directory {d} is writable by group or others"):
            load_config(write(d, {}))

    def test_sticky_directory_accepted(self, tmp_path: Path) -> None:
        """In a sticky directory (/tmp) only the owner can replace the file: accepted."""
        d = tmp_path / "tmp"
        d.mkdir()
        d.chmod(0o1777)
        assert load_config(write(d, {})) == Config()

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

    def test_fifo(self, tmp_path: Path) -> None:
        """A FIFO in place of the config is refused at once, not read (which would block)."""
        os.mkfifo(tmp_path / "config.json", 0o600)
        with pytest.raises(ConfigError, match="not a regular file"):
            load_config(tmp_path / "config.json")

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

    def test_unforeseen_error_one_line(self, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        """An OSError no check foresaw still ends as one line and exit 1 (a fault injected
        here: every known one has its own message)."""
        from ebpf_monitor import cli

        def fail(path: object) -> None:
            raise PermissionError(13, "Permission denied", "/some/where")

        monkeypatch.setattr(cli, "load_config", fail)
        assert cli.main(["check-config"]) == 1
        assert capsys.readouterr().err == "ebpf-monitor: /some/where: Permission denied\n"

    def test_version(self) -> None:
        """--version prints the package version."""
        from ebpf_monitor import __version__

        proc = self.run("--version")
        assert proc.returncode == 0
        assert proc.stdout.strip() == f"ebpf-monitor {__version__}"

    @pytest.mark.parametrize(("config", "message"), [
        ({"storage_type": "elasticsearch",
          "es_config": {"secure": True, "ca_certs": "/nonexistent/ca.pem"}},
         "es_config.ca_certs: /nonexistent/ca.pem: No such file or directory"),
        ({"storage_type": "elasticsearch", "es_config": {"es_user": "u",
                                                         "es_password_file": "/nonexistent/pw"}},
         "es_config.es_password_file: cannot read /nonexistent/pw"),
        ({"storage_type": "elasticsearch",
          "es_config": {"es_user": "u", "es_password_env": "EBPF_MONITOR_NO_SUCH_VARIABLE"}},
         "es_config.es_password_env: environment variable EBPF_MONITOR_NO_SUCH_VARIABLE"),
        ({"capture": {"ring_buffer_bytes": 1 << 40}},
         "capture.ring_buffer_bytes: at most 2147483648 (2 GiB, the kernel's limit"),
    ])
    def test_check_config_runs_start_checks(self, tmp_path: Path, config: dict[str, object],
                                            message: str) -> None:
        """What start would refuse before loading BPF, check-config refuses too: exit 2."""
        cfg = {"events_dir": str(tmp_path / "ev"), **config}
        proc = self.run("check-config", "--config", str(write(tmp_path, cfg)))
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and proc.stderr.count("\n") == 1
        assert not (tmp_path / "ev").exists()  # checked, not created

    def test_events_dir_regular_file_exit_2(self, tmp_path: Path) -> None:
        """events_dir naming a regular file is a config error (2), in check-config and run."""
        (tmp_path / "file").write_text("")
        path = str(write(tmp_path, {"events_dir": str(tmp_path / "file")}))
        commands = [["check-config"]] + ([[]] if os.geteuid() == 0 else [])
        for command in commands:
            proc = self.run(*command, "--config", path)
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr == f"ebpf-monitor: events_dir: {tmp_path}/file is not a directory\n"

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


class TestRingFitsHost:
    """A ring the host cannot hold is a config error naming the key, before BPF is loaded."""

    def test_more_than_half_the_memory(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A ring over half of MemTotal is refused with the rounded size and the memory."""
        from ebpf_monitor import preflight

        monkeypatch.setattr(preflight, "_memory_bytes", lambda: 1 << 30)
        with pytest.raises(ConfigError, match=r"capture.ring_buffer_bytes: 600000000 rounds up"
                           r" to 1073741824 bytes, more than half of this host's memory"):
            preflight._check_ring(600_000_000)
        preflight._check_ring(300_000_000)  # 512 MiB of 1 GiB: fine

    def test_memory_read(self) -> None:
        """The host's memory is read from /proc/meminfo."""
        from ebpf_monitor import preflight

        memory = preflight._memory_bytes()
        assert memory is not None and memory > 1 << 26


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


class TestExecContextSettings:
    """capture.exec_env_vars and capture.hash_executables are checked at load."""

    def test_defaults(self) -> None:
        """Hashing on; the abused variables kept by default, never all of them."""
        from ebpf_monitor.config import Config
        cap = Config().capture
        assert cap.hash_executables is True
        assert {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GLIBC_TUNABLES", "HTTP_PROXY",
                "https_proxy", "PYTHONPATH"} <= set(cap.exec_env_vars)

    @pytest.mark.parametrize("names", [["LD PRELOAD"], ["1ABC"], ["A" * 32], ["X=1"], [""]])
    def test_bad_names(self, names: list[str]) -> None:
        """A name the kernel could never match is refused."""
        from pydantic import ValidationError

        from ebpf_monitor.config import Config
        with pytest.raises(ValidationError, match="environment variable name"):
            Config.model_validate({"capture": {"exec_env_vars": names}})


_C = enum("abi_const")
_COMM, _PREFIX = _C["ABI_TASK_COMM_LEN"] - 1, _C["ABI_PREFIX_LEN"] - 1
_NAME, _NAMES, _ARGS = _C["ABI_ENV_NAME_LEN"] - 1, _C["ABI_ENV_NAMES_MAX"], _C["ABI_ARG_MAX_COUNT"]


class TestLimitsOfEventsH:
    """The limits the kernel side sets (events.h's abi_const, as recorded) bound the config."""

    @pytest.mark.parametrize(("section", "key", "most", "more"), [
        ("filters", "ignore_comms", ["c" * _COMM], ["c" * (_COMM + 1)]),
        ("filters", "ignore_path_prefixes", ["/" * _PREFIX], ["/" * (_PREFIX + 1)]),
        ("filters", "library_prefixes", ["/" * _PREFIX], ["/" * (_PREFIX + 1)]),
        # The kernel's room is bytes: two-byte characters count twice.
        ("filters", "ignore_comms", ["é" * (_COMM // 2)], ["é" * (_COMM // 2 + 1)]),
        ("filters", "ignore_path_prefixes", ["/" + "é" * ((_PREFIX - 1) // 2)],
         ["/" + "é" * ((_PREFIX - 1) // 2 + 1)]),
        ("capture", "max_args", _ARGS, _ARGS + 1),
        ("capture", "exec_env_vars", ["V" * _NAME], ["V" * (_NAME + 1)]),
        ("capture", "exec_env_vars", [f"V{i}" for i in range(_NAMES)],
         [f"V{i}" for i in range(_NAMES + 1)]),
    ])
    def test_at_the_limit_accepted_past_it_refused(self, section: str, key: str, most: object,
                                                   more: object) -> None:
        """The kernel's most is accepted, one more refused in one line naming the key."""
        parse_config({section: {key: most}})
        with pytest.raises(ConfigError, match=rf"^config: {section}\.{key}"):
            parse_config({section: {key: more}})
