"""The .deb: built, inspected, installed with dpkg, run, removed, purged."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

# Purge removes these: whatever the host had there is moved aside and put back.
HOST_PATHS = [Path("/var/config.json"), Path("/var/log/ebpf-monitor"),
              Path("/var/lib/ebpf-monitor")]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _ok(*cmd: str) -> str:
    result = _run(*cmd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def deb() -> Path:
    _ok("make", "-C", str(REPO), "deb")
    version = _ok(str(REPO / ".venv/bin/python"), "-c",
                  "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))"
                  "['project']['version'])").strip()
    path = REPO / "build" / "deb" / f"ebpf-monitor_{version}_amd64.deb"
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """This host, with no ebpf-monitor package, and its config and data set aside."""
    if _run("dpkg-query", "-W", "ebpf-monitor").returncode == 0:
        pytest.fail("package ebpf-monitor is installed here: the test would remove it")
    if Path("/opt/ebpf-monitor").exists():
        pytest.fail("/opt/ebpf-monitor exists (make install?): the test would overwrite it")
    aside = tmp_path_factory.mktemp("aside")
    moved = []
    for path in HOST_PATHS:
        if path.exists():
            shutil.move(path, aside / path.name)
            moved.append(path)
    try:
        yield
    finally:
        _run("dpkg", "--purge", "ebpf-monitor")
        for path in HOST_PATHS:  # purge keeps the events: what the test made goes too
            if path not in moved and path.is_dir():
                shutil.rmtree(path)
        for path in moved:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            shutil.move(aside / path.name, path)


class TestDeb:
    def test_control_fields(self, deb: Path) -> None:
        """Package, Version from pyproject, amd64, and the runtime dependencies."""
        fields = _ok("dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture",
                     "Depends", "Maintainer", "Description")
        assert "Package: ebpf-monitor\n" in fields
        assert "Version: 0.1.0\n" in fields
        assert "Architecture: amd64\n" in fields
        assert "Depends: python3 (>= 3.11), libbpf1, logrotate\n" in fields
        assert "Maintainer: " in fields and "Description: " in fields

    def test_contents(self, deb: Path, tmp_path: Path) -> None:
        """Unit, logrotate conffile, command link, wheels for CPython 3.11-3.13, scripts."""
        listing = _ok("dpkg-deb", "-c", str(deb))
        for name in ("./lib/systemd/system/ebpf-monitor.service",
                     "./etc/logrotate.d/ebpf-provenance", "./usr/bin/ebpf-monitor -> ",
                     "./opt/ebpf-monitor/share/config.example.json",
                     "./opt/ebpf-monitor/wheels/ebpf_monitor-0.1.0-py3-none-any.whl",
                     "./opt/ebpf-monitor/wheels/pip-"):
            assert name in listing, name
        wheels = [line.rsplit("/", 1)[-1] for line in listing.splitlines()]
        for tag in ("cp311", "cp312", "cp313"):
            for dep in ("pydantic_core", "orjson"):
                assert any(w.startswith(f"{dep}-") and f"-{tag}-{tag}-" in w for w in wheels)
        assert "./var/config.json" not in listing  # created by postinst, not a package file
        _ok("dpkg-deb", "-e", str(deb), str(tmp_path / "DEBIAN"))
        control = tmp_path / "DEBIAN"
        assert (control / "conffiles").read_text().split() == ["/etc/logrotate.d/ebpf-provenance"]
        for script in ("postinst", "prerm", "postrm"):
            assert stat.S_IMODE((control / script).stat().st_mode) == 0o755
        _ok("dpkg-deb", "-x", str(deb), str(tmp_path / "root"))
        unit = (tmp_path / "root/lib/systemd/system/ebpf-monitor.service").read_text()
        assert "ExecStart=/usr/bin/ebpf-monitor --config /var/config.json\n" in unit

    def test_install_run_remove_purge(self, deb: Path, host: None) -> None:
        """dpkg -i builds the venv offline; the command runs; -r keeps config; -P removes it."""
        _ok("dpkg", "-i", str(deb))
        assert _ok("/usr/bin/ebpf-monitor", "--version").strip() == "ebpf-monitor 0.1.0"
        config = Path("/var/config.json")
        assert stat.S_IMODE(config.stat().st_mode) == 0o600 and config.stat().st_uid == 0
        effective = json.loads(_ok("/usr/bin/ebpf-monitor", "check-config",
                                   "--config", str(config)))
        assert effective["storage_type"] == "local"
        for d in ("/var/log/ebpf-monitor", "/var/lib/ebpf-monitor"):
            assert stat.S_IMODE(Path(d).stat().st_mode) == 0o750
        assert not Path("/opt/ebpf-monitor/venv/bin/pip").exists()
        # Reinstalling the same version (dpkg's upgrade path) rebuilds the venv.
        _ok("dpkg", "-i", str(deb))
        _ok("/usr/bin/ebpf-monitor", "--version")

        _ok("dpkg", "-r", "ebpf-monitor")
        assert not Path("/opt/ebpf-monitor").exists()
        assert not Path("/usr/bin/ebpf-monitor").is_symlink()
        assert not Path("/lib/systemd/system/ebpf-monitor.service").exists()
        assert config.exists() and Path("/var/log/ebpf-monitor").is_dir()

        events = Path("/var/log/ebpf-monitor/events.jsonl")
        events.write_text('{"kept": true}\n')
        _ok("dpkg", "-P", "ebpf-monitor")
        assert _run("dpkg-query", "-W", "ebpf-monitor").returncode != 0
        # Purge keeps the events (evidence) and drops the config and what is left empty.
        for path in [config, Path("/var/lib/ebpf-monitor"),
                     Path("/etc/logrotate.d/ebpf-provenance")]:
            assert not path.exists(), path
        assert events.read_text() == '{"kept": true}\n'
