"""Container tier: the .deb under a real systemd (PID 1 of a systemd-nspawn container), in its
own PID namespace. One container boots per session and the tests share it, in file order.

The root file system comes from the cache (rootfs.py); each session boots a fresh copy of it.
Commands run inside with nsenter; workloads with `systemd-run --wait`, so that systemd owns them
(a process left running by nsenter would hang the container's halt).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .rootfs import ensure_rootfs

REPO = Path(__file__).resolve().parents[2]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/container/" in str(item.fspath):
            item.add_marker(pytest.mark.container)


@pytest.fixture(scope="session", autouse=True)
def _root() -> None:
    assert os.geteuid() == 0, "the container tier boots systemd-nspawn: run as root"


class Container:
    """A booted container: its root on the host, nspawn's process, and the pid of its systemd."""

    def __init__(self, root: Path, nspawn: subprocess.Popen[bytes], init_pid: int,
                 log: Path) -> None:
        self.root = root
        self.nspawn = nspawn
        self.init_pid = init_pid
        self.log = log

    def run(self, *cmd: str, check: bool = True, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """A command inside (all its namespaces), as root."""
        result = subprocess.run(
            ["nsenter", "-t", str(self.init_pid), "-a", "--", "env", "-i", f"PATH={PATH}",
             "LANG=C.UTF-8", *cmd],
            capture_output=True, text=True, timeout=timeout, input=input,
            stdin=None if input is not None else subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)}: exit {result.returncode}\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def out(self, *cmd: str, **kwargs: object) -> str:
        return self.run(*cmd, **kwargs).stdout  # type: ignore[arg-type]

    def show(self, unit: str, *props: str) -> dict[str, str]:
        text = self.out("systemctl", "show", unit, *(f"--property={p}" for p in props))
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    @property
    def pidns(self) -> int:
        """The inode of the container's PID namespace."""
        return os.stat(f"/proc/{self.init_pid}/ns/pid").st_ino

    def path(self, inside: str) -> Path:
        """Where a path inside the container is on the host."""
        return self.root / inside.lstrip("/")

    def journal(self, unit: str) -> str:
        return self.out("journalctl", "--no-pager", "-o", "cat", "-u", unit)


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        out.extend(int(c) for c in children)
        todo.extend(int(c) for c in children)
    return out


def _ns_pids(pid: int) -> list[str]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return line.split()[1:]
    except OSError:
        pass
    return []


def _init_pid(nspawn: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> int:
    """The host pid of the container's PID 1 (a descendant of nspawn that is 1 inside)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if nspawn.poll() is not None:
            pytest.skip("systemd-nspawn cannot run a container here (exit "
                        f"{nspawn.returncode}): {log.read_text(errors='replace')[-1500:]}")
        for pid in _descendants(nspawn.pid):
            ns = _ns_pids(pid)
            if len(ns) >= 2 and ns[-1] == "1":
                return pid
        time.sleep(0.1)
    raise AssertionError(f"no container init under nspawn: {log.read_text(errors='replace')}")


def _wait_booted(c: Container, timeout: float = 180) -> None:
    """Until start-up is done; "degraded" (some unit failed) still counts as booted."""
    deadline = time.monotonic() + timeout
    while True:
        # `--wait` blocks until start-up ends, once systemd's bus socket exists at all.
        result = c.run("systemctl", "is-system-running", "--wait", check=False,
                       timeout=timeout)
        state = result.stdout.strip()
        if state in ("running", "degraded"):
            return
        if time.monotonic() > deadline or c.nspawn.poll() is not None:
            raise AssertionError(f"container did not boot: {state!r} {result.stderr}"
                                 f"\n{c.log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def _power_off(c: Container, timeout: float = 60) -> None:
    """Halt it cleanly; kill it when it will not halt. Never leaves it running."""
    if c.nspawn.poll() is None:
        # SIGRTMIN+4 to systemd: poweroff, without needing D-Bus or nsenter.
        os.kill(c.init_pid, signal.SIGRTMIN + 4)
        try:
            c.nspawn.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.kill(c.init_pid, signal.SIGKILL)  # PID 1 of the namespace: takes all inside
        try:
            c.nspawn.wait(30)
        except subprocess.TimeoutExpired:
            c.nspawn.kill()
            c.nspawn.wait()


@pytest.fixture(scope="session")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """A fresh copy of the cached root file system, booted; powered off at the end."""
    if shutil.which("systemd-nspawn") is None:
        pytest.skip("systemd-nspawn missing: apt-get install systemd-container (make deps)")
    cached = ensure_rootfs()
    work = tmp_path_factory.mktemp("container")
    root = work / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(cached), str(root)], check=True)
    log = work / "nspawn.log"
    machine = f"ebpfmon{os.getpid()}"
    with open(log, "wb") as out:
        # nspawn's own seccomp filter refuses bpf(2) and perf_event_open(2) unless allowed;
        # --register=no and --keep-unit: no systemd on the host needed to run it.
        nspawn = subprocess.Popen(
            ["systemd-nspawn", "-D", str(root), "-b", f"--machine={machine}",
             "--capability=all", "--system-call-filter=bpf perf_event_open",
             "--private-network", "--register=no", "--keep-unit",
             "--bind-ro=/sys/kernel/btf", "--bind=/sys/kernel/tracing", "--console=pipe"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    c = Container(root, nspawn, 0, log)
    try:
        c.init_pid = _init_pid(nspawn, log)
        _wait_booted(c)
        yield c
    finally:
        if c.init_pid:
            _power_off(c)
        elif nspawn.poll() is None:
            nspawn.kill()
            nspawn.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def deb() -> Path:
    """The .deb of this tree, built now (EBPF_MONITOR_DEB: one built already, to iterate)."""
    given = os.environ.get("EBPF_MONITOR_DEB")
    if given:
        return Path(given)
    result = subprocess.run(["make", "-C", str(REPO), "deb"], capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = (REPO / "build" / "deb").glob("ebpf-monitor_*_amd64.deb")
    return path
