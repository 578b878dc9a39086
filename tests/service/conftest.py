"""Service tier: the unit, readiness, install, .deb, logrotate, run as root on this host."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.harness import (
    REPO,
    SERVICE_COMMAND,
    Doc,
    EventsReader,
    Monitor,
    NotifyListener,
    read_events,
    wait_until,
)

MONITOR = Path(SERVICE_COMMAND[0])
UNIT = REPO / "packaging" / "ebpf-monitor.service"
LOGROTATE = REPO / "packaging" / "logrotate" / "ebpf-provenance"

__all__ = ["LOGROTATE", "MONITOR", "REPO", "UNIT", "NotifyListener", "ServiceProcess",
           "read_events", "running_service", "unit_directives", "wait_for_path", "write_config"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/service/" in str(item.fspath):
            item.add_marker(pytest.mark.service)


@pytest.fixture(scope="session", autouse=True)
def _root() -> None:
    # Fail, never skip: CI runs as root, and a skipped tier would hide a broken package.
    assert os.geteuid() == 0, "the service tests install packages and load BPF: run as root"


def write_config(path: Path, config: dict[str, Any], mode: int = 0o600) -> Path:
    path.write_text(json.dumps(config))
    path.chmod(mode)
    return path


class ServiceProcess(Monitor):
    """The installed-style command (.venv/bin/ebpf-monitor), config as given, stopped by
    SIGTERM as systemd stops it."""

    stop_signal = signal.SIGTERM

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        super().__init__(workdir, config, command=SERVICE_COMMAND, defaults=False)

    def launch(self, *, prefix: tuple[str, ...] | list[str] = ()) -> None:
        assert MONITOR.exists(), f"{MONITOR} missing: run make venv"
        super().launch(prefix=prefix)


@contextmanager
def running_service(workdir: Path, config: dict[str, Any],
                    **kwargs: Any) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(workdir, config)
    svc.start(**kwargs)
    try:
        yield svc
    finally:
        svc.stop()


def wait_for_path(events_file: Path, target: str, timeout: float = 20) -> Doc:
    """The first event about file `target`."""
    reader = EventsReader(events_file)

    def found() -> Doc | None:
        return next((d for d in reader.poll() if d.get("file", {}).get("path") == target), None)

    return wait_until(found, timeout=timeout, what=f"an event for {target} in {events_file}",
                      seen=lambda: f"{len(reader.docs())} events")


def unit_directives(text: str) -> dict[str, list[str]]:
    """Key to values, in order, of a unit file (comments and sections dropped)."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out
