"""The setups a benchmark compares: the monitor, auditd, bpftrace (bare needs nothing).

The monitor is the tests' harness Monitor (ready at its READY=1), plus what a benchmark reads
from it: CPU time, peak memory, and its figures, scraped from its Prometheus endpoint (never
matched out of log lines).
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

import orjson
from tests.harness import Monitor, WaitTimeout, metric, scrape_metrics, wait_until

from .workloads import sh

__all__ = ["AUDIT_SYSCALLS", "BenchMonitor", "auditd_running", "bpftrace_running",
           "cpu_seconds", "peak_rss_mb", "peers_available", "rss_parts_mb", "stop_process"]

CLK_TCK = os.sysconf("SC_CLK_TCK")
# The monitor's Prometheus endpoint on a free loopback port: where its figures come from.
METRICS = {"metrics": {"listen": "127.0.0.1:0"}}

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

    def __init__(self, work: Path, config: dict[str, Any] | None = None, *,
                 command: list[str] | None = None) -> None:
        events_dir = work / "ev"
        shutil.rmtree(events_dir, ignore_errors=True)
        extra = {"command": command} if command else {}
        super().__init__(work, {"events_dir": str(events_dir), **METRICS, **(config or {})},
                         **extra)
        self.peak_rss = 0.0
        self.result: dict[str, Any] = {}

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def figures(self) -> tuple[float, int, int, int]:
        """(wall time, documents written to events.jsonl, kernel drops, ring backlog bytes)."""
        s = scrape_metrics(self)
        return (time.time(), int(metric(s, "ebpf_monitor_sink_written_total", sink="jsonl")),
                int(metric(s, "ebpf_monitor_kernel_drops_total")),
                int(metric(s, "ebpf_monitor_ring_backlog_bytes")))

    def wait_drained(self, timeout: float = 30) -> tuple[float, int, int, int]:
        """Wait for the ring to be empty; returns the figures then (or the last ones, when the
        ring never empties in time)."""
        last: tuple[float, int, int, int] | None = None

        def drained() -> tuple[float, int, int, int] | None:
            nonlocal last
            last = self.figures()
            return last if last[3] < 4096 else None

        try:
            return wait_until(drained, timeout=timeout, what="an empty ring", interval=0.1)
        except WaitTimeout:
            assert last is not None
            return last

    def finish(self) -> dict[str, Any]:
        """Stop (killed after 60 s) and sum up the run from what it wrote: documents, kernel
        drops (the last ring-buffer loss record's total), loss records."""
        assert self.proc is not None
        with contextlib.suppress(OSError):
            self.peak_rss = max(self.peak_rss, peak_rss_mb(self.pid))
        rc = self.stop(timeout=60, strict=False)
        losses = 0
        lines = 0
        drops = 0
        if self.events_file.exists():
            with open(self.events_file, "rb") as f:
                for line in f:
                    lines += 1
                    if b'"action":"loss"' in line:
                        losses += 1
                        lost = orjson.loads(line)["ebpf"]["lost"]
                        if lost.get("source") == "ring_buffer":
                            drops = max(drops, int(lost.get("total", 0)))
        return {"events": lines, "drops": drops, "lines": lines, "loss_records": losses,
                "rc": rc, **self.final_stats()}

    def final_stats(self) -> dict[str, int]:
        """From the monitor's last stats line (the one it logs at shutdown): kernel drops while
        the ring had room, and documents made by the compiled core (absent without it)."""
        found = re.findall(r"stats: (.*)", self.stderr())
        if not found:
            return {}
        fields = dict(kv.split("=", 1) for kv in found[-1].split() if "=" in kv)
        return {out: int(fields[key]) for key, out in (("drops_with_room", "drops_with_room"),
                                                       ("compiled", "compiled_docs"))
                if key in fields and fields[key].isdigit()}

    def drops_with_room(self) -> int:
        """Kernel drops so far while less than half the ring was pending (metrics)."""
        return int(metric(scrape_metrics(self), "ebpf_monitor_kernel_drops_with_room_total"))

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
