"""The real monitor as a subprocess: started under a notify socket, read, waited on, stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .events import Doc, EventsReader, Keep, actions
from .notify import NotifyListener
from .wait import wait_until

__all__ = ["MONITOR", "REPO", "SERVICE_COMMAND", "Monitor", "MonitorExited", "StopTimeout",
           "running_monitor", "signal_name"]

REPO = Path(__file__).resolve().parents[2]
MONITOR = [sys.executable, "-m", "ebpf_monitor"]
# The installed-style entry point, as the unit's ExecStart runs it.
SERVICE_COMMAND = [str(REPO / ".venv" / "bin" / "ebpf-monitor")]
ORPHAN_GUARD = ["setpriv", "--pdeathsig", "TERM"]


class MonitorExited(AssertionError):
    """The monitor exited while a test still waited for something from it."""


class StopTimeout(AssertionError):
    """The monitor did not exit in time after its stop signal (it was then killed)."""


class Monitor:
    """One monitor process with its own config, events dir and notify socket.

    `defaults` adds an events dir under `workdir` and stats every second unless the config names
    its own; without it the config is written as given (the service tier's installed setups).
    `keep` limits the documents `events()` holds (it records the whole host: see
    harness.events); `wait_for` still sees every one.
    """

    stop_signal = signal.SIGINT

    def __init__(self, workdir: Path, config: dict[str, Any], *, stdout: bool = False,
                 command: Sequence[str] = MONITOR, defaults: bool = True,
                 prefix: Sequence[str] = (), keep: Keep | None = None) -> None:
        self.workdir = workdir
        self.prefix = list(prefix)  # a wrapper that forks the monitor, e.g. unshare --pid --fork
        workdir.mkdir(parents=True, exist_ok=True)
        if defaults:
            config = {"events_dir": str(workdir / "events"), "stats_interval": 1, **config}
        self.events_dir = Path(config.get("events_dir", "/var/log/ebpf-monitor"))
        self.config_path = workdir / "config.json"
        self.config_path.write_text(json.dumps(config))
        self.config_path.chmod(0o600)
        self.command = list(command)
        self.stdout = stdout
        self.stdout_path = workdir / "monitor.stdout"
        self.stderr_path = workdir / "monitor.stderr"
        self.proc: subprocess.Popen[bytes] | None = None
        self.notify: NotifyListener | None = None
        self._reader = EventsReader(self.events_file, keep=keep)
        self._stderr: IO[bytes] | None = None

    @property
    def events_file(self) -> Path:
        return self.events_dir / "events.jsonl"

    @property
    def pid(self) -> int:
        """The monitor's (host) pid: the forking wrapper's only child when there is one."""
        assert self.proc is not None
        if not self.prefix:
            return self.proc.pid
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        assert len(children.split()) == 1, f"{self.prefix[0]} has children {children!r}"
        return int(children.split()[0])

    # --- start and stop

    def launch(self, *, prefix: Sequence[str] = ()) -> None:
        """Start the process (under `prefix`, e.g. setpriv) without waiting for readiness."""
        self.notify = NotifyListener(self.workdir / "notify.sock")
        env = dict(os.environ, NOTIFY_SOCKET=str(self.notify.path))
        # SIGTERM when the test process dies (OOM, SIGKILL): an orphaned monitor would record
        # the whole host into a temp dir until the disk fills. setpriv execs: the pid stays.
        cmd = [*ORPHAN_GUARD, *self.prefix, *prefix, *self.command, "--config",
               str(self.config_path)]
        if self.stdout:
            cmd.append("--stdout")
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 (closed by stop)
        with open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=self._stderr)

    def start(self, timeout: float = 60, *, prefix: Sequence[str] = ()) -> float:
        """Launch and wait for READY=1 (programs attached, recording); returns its arrival."""
        self.launch(prefix=prefix)
        assert self.notify is not None
        notify = self.notify

        def ready() -> float | None:
            when = notify.arrival("READY=1")
            if when is None:
                self._check_running("READY=1")
            return when

        return wait_until(ready, timeout=timeout, what="READY=1 from the monitor",
                          seen=self.stderr_tail)

    def stop(self, sig: int | None = None, timeout: float = 60, *, strict: bool = True) -> int:
        """Send the stop signal (SIGINT, or the given one) unless it already exited, and wait.

        Not gone within `timeout`: killed, and StopTimeout raised (unless not `strict`).
        Returns the exit status.
        """
        assert self.proc is not None
        sig = self.stop_signal if sig is None else sig
        try:
            if self.proc.poll() is None:
                if self.prefix:
                    # unshare ignores SIGINT and SIGTERM while it waits: signal the monitor.
                    with contextlib.suppress(AssertionError, ProcessLookupError):
                        os.kill(self.pid, sig)
                else:
                    self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                if self.prefix:
                    # The wrapper's death may not reach the monitor: kill the monitor itself.
                    with contextlib.suppress(AssertionError, OSError):
                        os.kill(self.pid, signal.SIGKILL)
                self.proc.kill()
                rc = self.proc.wait()
                if strict:
                    raise StopTimeout(
                        f"monitor {self.proc.pid} still running {timeout:g} s after"
                        f" {signal.Signals(sig).name}; killed. stderr: {self.stderr_tail()}"
                    ) from None
                return rc
        finally:
            if self._stderr is not None:
                self._stderr.close()
            if self.notify is not None:
                self.notify.close()

    def _check_running(self, what: str) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise MonitorExited(f"monitor exited with status {self.proc.returncode} before"
                                f" {what}; stderr: {self.stderr_tail()}")

    # --- what it wrote

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stderr_tail(self, chars: int = 2000) -> str:
        try:
            return self.stderr()[-chars:]
        except FileNotFoundError:
            return ""

    def events(self) -> list[Doc]:
        """All events in the current events file (those `keep` keeps), read incrementally."""
        return self._reader.docs()

    def wait_for(self, predicate: Callable[[Doc], bool], timeout: float = 20, *,
                 what: str | None = None) -> list[Doc]:
        """Events so far, once one of them matches (events of a process precede its exit).

        Each document is tested once, as it is read (a document read before the wait is tested
        only if kept); the matching one is kept whatever `keep` says."""
        what = what or f"an event matching {getattr(predicate, '__name__', 'the predicate')}"
        hit = any(predicate(d) for d in self._reader.kept())

        def watch(doc: Doc) -> bool:
            nonlocal hit
            found = predicate(doc)
            hit = hit or found
            return found

        def matched() -> list[Doc] | None:
            self._reader.poll(watch)
            if hit:
                return self._reader.kept()
            self._check_running(what)
            return None

        def seen() -> str:
            docs = self._reader.kept()
            return (f"{self._reader.read} events in {self.events_file} ({len(docs)} kept),"
                    f" the last: {actions(docs[-8:])}; stderr: {self.stderr_tail(800)}")

        return wait_until(matched, timeout=timeout, what=what, seen=seen)

    def events_of(self, pid: int, timeout: float = 20) -> list[Doc]:
        """Every event of process `pid`, waiting until its exit has been recorded."""
        docs = self.wait_for(lambda d: d["event"]["action"] == "exit"
                             and d.get("process", {}).get("pid") == pid, timeout,
                             what=f"the exit of pid {pid}")
        return [d for d in docs if d.get("process", {}).get("pid") == pid]


@contextmanager
def running_monitor(workdir: Path, config: dict[str, Any] | None = None,
                    **kwargs: Any) -> Iterator[Monitor]:
    """A started monitor, stopped (and checked to stop in time) at the end of the block."""
    mon = Monitor(workdir, config or {}, **kwargs)
    mon.start()
    try:
        yield mon
    finally:
        mon.stop()


def signal_name(sig: int) -> str:
    return signal.Signals(sig).name
