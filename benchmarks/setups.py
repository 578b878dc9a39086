"""The setups a benchmark compares: the monitor, auditd, bpftrace (bare needs nothing).

The monitor is the tests' harness Monitor (ready at its READY=1), plus what a benchmark reads
from it: CPU time, peak memory, and the figures of its stats lines.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.harness import Monitor, WaitTimeout, wait_until

from .workloads import sh

__all__ = ["AUDIT_SYSCALLS", "STATS_RE", "BenchMonitor", "auditd_running", "bpftrace_running",
           "cpu_seconds", "peak_rss_mb", "peers_available", "rss_parts_mb", "stop_process"]

CLK_TCK = os.sysconf("SC_CLK_TCK")
STATS_RE = re.compile(
    r"^(\S+ \S+) INFO ebpf_monitor\.pipeline: stats: events=(\d+) rate=\d+/s drops=(\d+)"
    r" backlog=(\d+)B"
)

# Audit rules and bpftrace probes on the syscalls the loops make (what the monitor reports).
AUDIT_SYSCALLS = ["openat", "execve", "connect", "accept", "accept4", "clone", "exit_group"]
BPFTRACE_SCRIPT = r"""
tracepoint:syscalls:sys_enter_openat { @path[tid] = args->filename; }
tracepoint:syscalls:sys_exit_openat /@path[tid]/ {
  printf("%llu openat %d %s %s %d\n", nsecs, pid, comm, str(@path[tid]), args->ret);
  delete(@path[tid]);
}
tracepoint:syscalls:sys_enter_execve {
  printf("%llu execve %d %s %s\n", nsecs, pid, comm, str(args->filename));
}
tracepoint:syscalls:sys_exit_connect {
  printf("%llu connect %d %s %d\n", nsecs, pid, comm, args->ret);
}
tracepoint:syscalls:sys_exit_accept4, tracepoint:syscalls:sys_exit_accept {
  printf("%llu accept %d %s %d\n", nsecs, pid, comm, args->ret);
}
tracepoint:sched:sched_process_fork {
  printf("%llu fork %d %d\n", nsecs, args->parent_pid, args->child_pid);
}
tracepoint:sched:sched_process_exit { printf("%llu exit %d %s\n", nsecs, pid, comm); }
"""


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_parts_mb(pid: int) -> dict[str, float]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1]) / 1024
    return out


# ---------------------------------------------------------------------------------------------
# The monitor


class BenchMonitor(Monitor):
    """A monitor with a fresh events dir, stats every second, and its figures for the tables."""

    def __init__(self, work: Path, config: dict[str, Any] | None = None) -> None:
        events_dir = work / "ev"
        shutil.rmtree(events_dir, ignore_errors=True)
        super().__init__(work, {"events_dir": str(events_dir), **(config or {})})
        self.peak_rss = 0.0
        self.result: dict[str, Any] = {}

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stats(self) -> list[tuple[float, int, int, int]]:
        """(wall time, events, drops, backlog bytes) of every stats line so far."""
        out = []
        for line in self.stderr().splitlines():
            m = STATS_RE.match(line)
            if m:
                stamp = time.mktime(time.strptime(m[1].split(",")[0], "%Y-%m-%d %H:%M:%S"))
                stamp += int(m[1].split(",")[1]) / 1000
                out.append((stamp, int(m[2]), int(m[3]), int(m[4])))
        return out

    def wait_drained(self, timeout: float = 30) -> tuple[float, int, int, int]:
        """Wait for a fresh stats line with an empty ring; returns it (or the last line, when
        the ring never empties in time)."""
        start = time.time()

        def drained() -> tuple[float, int, int, int] | None:
            lines = [s for s in self.stats() if s[0] >= start]
            return lines[-1] if lines and lines[-1][3] < 4096 else None

        try:
            return wait_until(drained, timeout=timeout, what="a stats line with an empty ring",
                              interval=0.1)
        except WaitTimeout:
            return self.stats()[-1]

    def finish(self) -> dict[str, Any]:
        """Stop (killed after 60 s) and sum up the run: events, drops, lines, loss records."""
        assert self.proc is not None
        with contextlib.suppress(OSError):
            self.peak_rss = max(self.peak_rss, peak_rss_mb(self.pid))
        rc = self.stop(timeout=60, strict=False)
        final = self.stats()
        losses = 0
        lines = 0
        if self.events_file.exists():
            with open(self.events_file, "rb") as f:
                for line in f:
                    lines += 1
                    if b'"action":"loss"' in line:
                        losses += 1
        return {"events": final[-1][1] if final else 0, "drops": final[-1][2] if final else 0,
                "lines": lines, "loss_records": losses, "rc": rc}

    @contextlib.contextmanager
    def running(self) -> Iterator[BenchMonitor]:
        self.start()
        try:
            yield self
        finally:
            self.result = self.finish()


# ---------------------------------------------------------------------------------------------
# Peers


def stop_process(proc: subprocess.Popen[bytes], timeout: float,
                 sig: signal.Signals = signal.SIGINT) -> None:
    """Ask a setup to stop (its clean-stop signal), then kill it if it does not in time."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def auditd_running(work: Path) -> Iterator[None]:
    """auditd with rules on the loops' syscalls; rules deleted and auditing off afterwards."""
    log_file = work / "audit.log"
    conf = work / "auditd.conf"
    base = Path("/etc/audit/auditd.conf").read_text()
    base = re.sub(r"(?m)^log_file\s*=.*$", f"log_file = {log_file}", base)
    conf.write_text(base)
    conf.chmod(0o640)
    proc = subprocess.Popen(["auditd", "-n", "-c", str(work)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # auditd -c takes a directory holding auditd.conf
    try:
        time.sleep(1.0)
        sh(["auditctl", "-D"])
        args = ["auditctl", "-a", "always,exit", "-F", "arch=b64"]
        for s in AUDIT_SYSCALLS:
            args += ["-S", s]
        sh(args)
        sh(["auditctl", "-e", "1"])
        yield
    finally:
        subprocess.run(["auditctl", "-D"], capture_output=True)
        subprocess.run(["auditctl", "-e", "0"], capture_output=True)
        stop_process(proc, 15, signal.SIGTERM)
        log_file.unlink(missing_ok=True)


@contextlib.contextmanager
def bpftrace_running(work: Path) -> Iterator[None]:
    script = work / "peer.bt"
    script.write_text(BPFTRACE_SCRIPT)
    out = work / "bpftrace.out"
    err = work / "bpftrace.err"
    with open(err, "wb") as errf:
        proc = subprocess.Popen(["bpftrace", "-o", str(out), str(script)],
                                stdout=subprocess.DEVNULL, stderr=errf)
    try:
        def attached() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"bpftrace exited: {err.read_text()[-1000:]}")
            return out.exists() and "Attaching" in out.read_text(errors="replace")[:500]

        wait_until(attached, timeout=60, what="bpftrace's Attaching line", interval=0.1)
        time.sleep(0.5)
        yield
    finally:
        stop_process(proc, 30)
        out.unlink(missing_ok=True)


def peers_available() -> dict[str, bool]:
    return {"auditd": shutil.which("auditd") is not None and shutil.which("auditctl") is not None,
            "bpftrace": shutil.which("bpftrace") is not None}
