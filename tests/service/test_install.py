"""make install / make uninstall into a staging DESTDIR: files, modes, idempotence."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import LOGROTATE, REPO, UNIT

PREFIX = "/opt/ebpf-monitor"


def _make(target: str, destdir: Path) -> str:
    result = subprocess.run(["make", "-C", str(REPO), target, f"DESTDIR={destdir}"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One staging tree, installed twice (the second run must change nothing that matters)."""
    destdir = tmp_path_factory.mktemp("destdir")
    _make("install", destdir)
    (destdir / "var/config.json").write_text('{"storage_type": "local"}')  # the admin's edit
    _make("install", destdir)
    yield destdir


class TestInstall:
    def test_files_and_modes(self, staged: Path) -> None:
        """Unit, logrotate file, link, config and data directories, with their modes."""
        unit = staged / "etc/systemd/system/ebpf-monitor.service"
        assert unit.read_text() == UNIT.read_text() and _mode(unit) == 0o644
        rotate = staged / "etc/logrotate.d/ebpf-provenance"
        assert rotate.read_text() == LOGROTATE.read_text() and _mode(rotate) == 0o644
        link = staged / "usr/local/bin/ebpf-monitor"
        assert link.is_symlink() and os.readlink(link) == f"{PREFIX}/venv/bin/ebpf-monitor"
        config = staged / "var/config.json"
        assert _mode(config) == 0o600 and config.stat().st_uid == 0
        for d in ("var/log/ebpf-monitor", "var/lib/ebpf-monitor"):
            assert _mode(staged / d) == 0o750

    def test_config_kept(self, staged: Path) -> None:
        """A second install leaves an existing config alone."""
        assert (staged / "var/config.json").read_text() == '{"storage_type": "local"}'

    def test_venv_runs_from_staging(self, staged: Path) -> None:
        """The venv's interpreter runs in place: version, BPF object as package data."""
        python = staged / PREFIX.lstrip("/") / "venv/bin/python"
        result = subprocess.run(
            [str(python), "-c", "import ebpf_monitor, importlib.resources as r;"
             " print(ebpf_monitor.__version__);"
             " print(r.files('ebpf_monitor').joinpath('bpf/monitor.bpf.o').is_file())"],
            capture_output=True, text=True, timeout=60, cwd="/",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["0.1.0", "True"]
        version = subprocess.run([str(python), "-m", "ebpf_monitor", "--version"],
                                 capture_output=True, text=True, timeout=60, cwd="/")
        assert version.stdout.strip() == "ebpf-monitor 0.1.0"

    def test_html_output_has_its_library(self, staged: Path) -> None:
        """The installed package renders the provenance HTML page with cytoscape.js inlined."""
        python = staged / PREFIX.lstrip("/") / "venv/bin/python"
        code = ("import re; from ebpf_monitor.provenance.model import Slice;"
                " from ebpf_monitor.provenance.render import render;"
                " page = render(Slice('q', [], {}, []), 'html');"
                " print('Cytoscape Consortium' in page,"
                " bool(re.search(r'<(script|link|img)[^>]+(src|href)=', page)))")
        result = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                                timeout=60, cwd="/")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "False"]

    def test_final_paths_only(self, staged: Path) -> None:
        """No file mentions the staging dir: scripts and bytecode name the final path."""
        venv = staged / PREFIX.lstrip("/") / "venv"
        found = subprocess.run(["grep", "-rlF", str(staged), str(venv)],
                               capture_output=True, text=True)
        assert found.stdout == ""
        shebang = (venv / "bin/ebpf-monitor").read_text().splitlines()[0]
        assert shebang == f"#!{PREFIX}/venv/bin/python"
        assert not (venv / "bin/pip").exists()  # nothing in the service venv but the monitor

    def test_uninstall_twice(self, staged: Path) -> None:
        """Uninstall removes what install added, keeps config and data, and can run again."""
        _make("uninstall", staged)
        _make("uninstall", staged)
        for gone in ("etc/systemd/system/ebpf-monitor.service",
                     "etc/logrotate.d/ebpf-provenance", "usr/local/bin/ebpf-monitor",
                     PREFIX.lstrip("/")):
            assert not (staged / gone).is_symlink() and not (staged / gone).exists(), gone
        assert (staged / "var/config.json").exists()
        assert (staged / "var/log/ebpf-monitor").is_dir()
