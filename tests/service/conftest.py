"""Service tier: the unit, readiness, install, .deb, logrotate, run as root on this host."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MONITOR = REPO / ".venv" / "bin" / "ebpf-monitor"
UNIT = REPO / "packaging" / "ebpf-monitor.service"
LOGROTATE = REPO / "packaging" / "logrotate" / "ebpf-provenance"


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


class NotifyListener:
    """A $NOTIFY_SOCKET like systemd's: every datagram with its arrival time and sender pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        # systemd learns the sender from SCM_CREDENTIALS to enforce NotifyAccess=main; so do we.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, list[str]]] = []
        self.senders: list[int] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                continue
            except OSError:
                return
            sender = 0
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = struct.unpack("iII", cdata[:12])[0]
            with self._cond:
                self.senders.append(sender)
                self.messages.append((time.monotonic(), data.decode().split("\n")))
                self._cond.notify_all()

    def wait_for(self, assignment: str, timeout: float) -> float:
        """Arrival time of the first datagram carrying e.g. READY=1."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for when, lines in self.messages:
                    if assignment in lines:
                        return when
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {assignment} in {self.messages}")
                self._cond.wait(left)

    def close(self) -> None:
        self._closed = True
        self._thread.join()
        self.sock.close()


class ServiceProcess:
    """The installed-style command (.venv/bin/ebpf-monitor) under a notify socket."""

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = write_config(workdir / "config.json", config)
        self.stderr_path = workdir / "monitor.stderr"
        self.notify = NotifyListener(workdir / "notify.sock")
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self, *, prefix: tuple[str, ...] = ()) -> None:
        assert MONITOR.exists(), f"{MONITOR} missing: run make venv"
        env = dict(os.environ, NOTIFY_SOCKET=str(self.notify.path))
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [*prefix, str(MONITOR), "--config", str(self.config_path)],
                env=env, stdout=subprocess.DEVNULL, stderr=err,
            )

    def start(self, *, prefix: tuple[str, ...] = (), timeout: float = 60) -> float:
        """Launch, and return the time READY=1 arrived."""
        self.launch(prefix=prefix)
        try:
            return self.notify.wait_for("READY=1", timeout)
        except AssertionError:
            raise AssertionError(f"never ready; stderr: {self.stderr()}") from None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.notify.close()


@contextmanager
def running_service(workdir: Path, config: dict[str, Any],
                    **kwargs: Any) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(workdir, config)
    svc.start(**kwargs)
    try:
        yield svc
    finally:
        svc.stop()


def read_events(path: Path) -> list[dict[str, Any]]:
    """Whole lines only: a batch being written may be half-visible."""
    if not path.exists():
        return []
    data = path.read_bytes()
    data = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in data.splitlines()]


def wait_for_path(events_file: Path, target: str, timeout: float = 20) -> dict[str, Any]:
    """The first event about file `target`."""
    deadline = time.monotonic() + timeout
    while True:
        for doc in read_events(events_file):
            if doc.get("file", {}).get("path") == target:
                return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"no event for {target} in {events_file}")
        time.sleep(0.05)


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
