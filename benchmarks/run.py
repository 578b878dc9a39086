#!/usr/bin/env python3
"""Benchmark suite: host overhead of the monitor and of its peers, capacity, Elasticsearch, memory.

    benchmarks/run.py [--smoke] [--rounds N] [--output BENCHMARKS.md] [--skip-peers] [--skip-es]
                      [--only overhead|capacity|es] [--render-from BENCHMARKS.json]

Runs as root on the monitored host. Every figure is a ratio against a baseline measured in the
same run: the setups (bare, monitor, auditd, bpftrace) take turns within each round, so a noisy
neighbour (this machine is shared) hits baseline and candidate alike; the table gives the median
ratio over the rounds and its min-max. Raw numbers land in a JSON file next to the report.

Benchmarks never assert timings (see tests/kernel/test_bench_smoke.py, which only checks that a
report comes out).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MONITOR = [sys.executable, "-m", "ebpf_monitor"]
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


# ---------------------------------------------------------------------------------------------
# Sizes


@dataclass(frozen=True)
class Sizes:
    rounds: int
    loop_secs: float  # each syscall loop runs this long
    c_files: int  # files in the generated C project
    tar_dir: str  # tree archived by the tar workload
    rates: tuple[int, ...]  # paced open rates for the capacity table
    paced_secs: float
    fill_events: int  # events queued while the reader is stopped (drain test)
    es_docs: int


FULL = Sizes(rounds=5, loop_secs=2.0, c_files=24, tar_dir="/usr/include/linux",
             rates=(10_000, 50_000, 100_000, 150_000, 200_000, 250_000, 300_000),
             paced_secs=4.0, fill_events=300_000, es_docs=200_000)
SMOKE = Sizes(rounds=1, loop_secs=0.3, c_files=3, tar_dir=str(REPO / "bpf"), rates=(10_000,),
              paced_secs=1.0, fill_events=5_000, es_docs=2_000)


# ---------------------------------------------------------------------------------------------
# Helpers


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


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


def foreign_bpf_programs() -> int:
    """Tracing programs attached by others right now (other monitors under test): noise."""
    try:
        progs = json.loads(sh(["bpftool", "prog", "show", "-j"]).stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
        return -1
    return sum(1 for p in progs if p.get("type") in ("tracepoint", "raw_tracepoint", "tracing"))


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


# ---------------------------------------------------------------------------------------------
# Workloads: each returns operations per second


class Workloads:
    def __init__(self, work: Path, sizes: Sizes) -> None:
        self.work = work
        self.sizes = sizes
        self.bin = work / "workload"
        sh(["gcc", "-O2", "-Wall", "-o", str(self.bin), str(REPO / "benchmarks" / "workload.c")])
        self.target = work / "target.txt"
        self.target.write_text("x\n")
        self.project = work / "cproject"
        self._make_project(sizes.c_files)
        self.tar_out = work / "out.tar"

    def _make_project(self, n: int) -> None:
        self.project.mkdir(exist_ok=True)
        objs = []
        for i in range(n):
            body = "\n".join(
                f"int f{i}_{j}(int x) {{ int s = 0; for (int k = 0; k < x; k++) s += k * {j};"
                f" return s ^ {i}; }}" for j in range(40))
            (self.project / f"m{i}.c").write_text(f"#include <stdio.h>\n{body}\n")
            objs.append(f"m{i}.o")
        (self.project / "main.c").write_text("int main(void) { return 0; }\n")
        (self.project / "Makefile").write_text(
            f"OBJS := main.o {' '.join(objs)}\nprog: $(OBJS)\n\t$(CC) -o $@ $^\n"
            "%.o: %.c\n\t$(CC) -O1 -c -o $@ $<\nclean:\n\trm -f prog *.o\n")

    def _loop(self, *args: str) -> float:
        out = sh([str(self.bin), *args]).stdout.split()
        return int(out[0]) / float(out[1])

    def open_close(self) -> float:
        return self._loop("open", str(self.sizes.loop_secs), str(self.target))

    def fork_exec(self) -> float:
        return self._loop("forkexec", str(self.sizes.loop_secs))

    def tcp(self) -> float:
        return self._loop("tcp", str(self.sizes.loop_secs))

    def gcc_make(self) -> float:
        sh(["make", "-s", "-C", str(self.project), "clean"])
        t0 = time.monotonic()
        sh(["make", "-s", "-j2", "-C", str(self.project)])
        return 1 / (time.monotonic() - t0)

    def tar(self) -> float:
        t0 = time.monotonic()
        sh(["tar", "cf", str(self.tar_out), "-C", str(Path(self.sizes.tar_dir).parent),
            Path(self.sizes.tar_dir).name])
        rate = 1 / (time.monotonic() - t0)
        self.tar_out.unlink()
        return rate

    def all(self) -> dict[str, Callable[[], float]]:
        return {
            "open+close loop": self.open_close,
            "fork+exec loop": self.fork_exec,
            "TCP connect/accept loop": self.tcp,
            "gcc/make build (C project)": self.gcc_make,
            "tar of a source tree": self.tar,
        }


# ---------------------------------------------------------------------------------------------
# The monitor as a subprocess


def stop_process(proc: subprocess.Popen[bytes], timeout: float,
                 sig: signal.Signals = signal.SIGINT) -> None:
    """Ask a setup to stop (its clean-stop signal), then kill it if it does not in time."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Monitor:
    def __init__(self, work: Path, config: dict[str, Any] | None = None) -> None:
        self.dir = work
        work.mkdir(parents=True, exist_ok=True)
        self.events_dir = work / "ev"
        shutil.rmtree(self.events_dir, ignore_errors=True)
        cfg = {"events_dir": str(self.events_dir), "stats_interval": 1, **(config or {})}
        self.config = work / "config.json"
        self.config.write_text(json.dumps(cfg))
        self.config.chmod(0o600)
        self.cmd = [*MONITOR, "--config", str(self.config)]
        self.stderr = work / "monitor.stderr"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0.0

    def start(self, timeout: float = 60) -> None:
        with open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stderr=err, stdout=subprocess.DEVNULL,
                                         cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "monitoring:" in self.stderr.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"monitor exited: {self.stderr.read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("monitor did not start")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stats(self) -> list[tuple[float, int, int, int]]:
        """(wall time, events, drops, backlog bytes) of every stats line so far."""
        out = []
        for line in self.stderr.read_text(errors="replace").splitlines():
            m = STATS_RE.match(line)
            if m:
                stamp = time.mktime(time.strptime(m[1].split(",")[0], "%Y-%m-%d %H:%M:%S"))
                stamp += int(m[1].split(",")[1]) / 1000
                out.append((stamp, int(m[2]), int(m[3]), int(m[4])))
        return out

    def wait_drained(self, timeout: float = 30) -> tuple[float, int, int, int]:
        """Wait for a fresh stats line with an empty ring; returns it."""
        start = time.time()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [s for s in self.stats() if s[0] >= start]
            if lines and lines[-1][3] < 4096:
                return lines[-1]
            time.sleep(0.1)
        return self.stats()[-1]

    def stop(self) -> dict[str, Any]:
        assert self.proc is not None
        with contextlib.suppress(OSError):
            self.peak_rss = max(self.peak_rss, peak_rss_mb(self.pid))
        stop_process(self.proc, 60)
        final = self.stats()
        events_file = self.events_dir / "events.jsonl"
        losses = 0
        lines = 0
        if events_file.exists():
            with open(events_file, "rb") as f:
                for line in f:
                    lines += 1
                    if b'"action":"loss"' in line:
                        losses += 1
        return {"events": final[-1][1] if final else 0, "drops": final[-1][2] if final else 0,
                "lines": lines, "loss_records": losses, "rc": self.proc.returncode}

    @contextlib.contextmanager
    def running(self) -> Iterator[Monitor]:
        self.start()
        try:
            yield self
        finally:
            self.result = self.stop()


# ---------------------------------------------------------------------------------------------
# Peers


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
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and "Attaching" in out.read_text(errors="replace")[:500]:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"bpftrace exited: {err.read_text()[-1000:]}")
            time.sleep(0.1)
        time.sleep(0.5)
        yield
    finally:
        stop_process(proc, 30)
        out.unlink(missing_ok=True)


def peers_available() -> dict[str, bool]:
    return {"auditd": shutil.which("auditd") is not None and shutil.which("auditctl") is not None,
            "bpftrace": shutil.which("bpftrace") is not None}


# ---------------------------------------------------------------------------------------------
# Part 1 + 2: overhead


SETTLE_S = 1.0
# Monitor columns besides the default: per fd only the first read and write plus totals; and no
# read/write at all, which is what the peers' rules and script trace (none of them has reads).
MONITOR_VARIANTS: dict[str, dict[str, Any]] = {
    "monitor, read_write first": {"read_write": "first"},
    "monitor, read_write none": {"read_write": "none"},
}


def settle(handle: Any) -> None:
    """Start every workload on a quiet host: the same pause for every setup, and the monitor's
    ring drained first, so one workload's backlog is not charged to the next one."""
    if isinstance(handle, Monitor):
        handle.wait_drained(120)
    time.sleep(SETTLE_S)


def _variant(work: Path, capture: dict[str, Any]) -> contextlib.AbstractContextManager[Any]:
    return Monitor(work / "mon-variant", {"capture": capture}).running()


def overhead(work: Path, sizes: Sizes, wl: Workloads, with_peers: bool) -> dict[str, Any]:
    setups: dict[str, Callable[[], contextlib.AbstractContextManager[Any]]] = {
        "bare": contextlib.nullcontext,
        "monitor": lambda: Monitor(work / "mon-overhead").running(),
    }
    for name, capture in MONITOR_VARIANTS.items():
        setups[name] = functools.partial(_variant, work, capture)
    have = peers_available()
    if with_peers:
        if have["auditd"]:
            setups["auditd"] = lambda: auditd_running(work)
        if have["bpftrace"]:
            setups["bpftrace"] = lambda: bpftrace_running(work)
    raw: dict[str, dict[str, list[float]]] = {s: {w: [] for w in wl.all()} for s in setups}
    noise: list[dict[str, Any]] = []
    monitor_runs: list[dict[str, Any]] = []
    log("warm-up: every workload once, bare (page cache, compiler binaries)")
    for fn in wl.all().values():
        fn()
    for rnd in range(sizes.rounds):
        order = list(setups)
        # Alternate the order so drift over a round does not always favour the same setup.
        if rnd % 2:
            order = [order[0], *reversed(order[1:])]
        for name in order:
            log(f"round {rnd + 1}/{sizes.rounds}: {name}")
            noise.append({"round": rnd, "setup": name, "loadavg": loadavg(),
                          "foreign_bpf_programs": foreign_bpf_programs()})
            ctx = setups[name]()
            with ctx as handle:
                for wname, fn in wl.all().items():
                    settle(handle)
                    raw[name][wname].append(fn())
            if isinstance(handle, Monitor):
                monitor_runs.append({"setup": name, **handle.result})
    return {"raw": raw, "noise": noise, "monitor_runs": monitor_runs}


# ---------------------------------------------------------------------------------------------
# Part 3 + 5: capacity, CPU, memory


DRAIN_RING = 256 * 1024 * 1024


def capacity(work: Path, sizes: Sizes, wl: Workloads) -> dict[str, Any]:
    mon = Monitor(work / "mon-capacity")
    rows = []
    with mon.running():
        time.sleep(1.5)
        for rate in sizes.rates:
            before = mon.wait_drained()
            cpu0 = mon.cpu()
            t0 = time.monotonic()
            out = sh([str(wl.bin), "paced", str(rate), str(sizes.paced_secs), str(wl.target)])
            ops, secs = out.stdout.split()
            after = mon.wait_drained()
            wall = time.monotonic() - t0
            cpu = mon.cpu() - cpu0
            rows.append({
                "target_rate": rate, "achieved_rate": int(ops) / float(secs),
                "monitor_events": after[1] - before[1], "window_s": wall,
                "cpu_s": cpu, "cpu_pct_of_core": 100 * cpu / float(secs),
                "drops": after[2] - before[2],
            })
            log(f"paced {rate}/s: {rows[-1]}")
        # Flat out: one producer core as fast as it goes (the reader has the other core).
        before = mon.wait_drained()
        cpu0 = mon.cpu()
        out = sh([str(wl.bin), "open", str(sizes.paced_secs), str(wl.target)])
        ops, secs = out.stdout.split()
        after = mon.wait_drained()
        flat = {"achieved_rate": int(ops) / float(secs), "drops": after[2] - before[2],
                "cpu_pct_of_core": 100 * (mon.cpu() - cpu0) / float(secs)}
        log(f"flat out: {flat}")
    res = mon.result
    # Reader capacity: stop the reader, queue events in the ring, let it go, time the drain.
    # A ring big enough for the whole burst: this measures the reader, not the ring's size.
    big = Monitor(work / "mon-drain", {"capture": {"ring_buffer_bytes": DRAIN_RING}})
    with big.running():
        time.sleep(1.5)
        before = big.wait_drained()
        os.kill(big.pid, signal.SIGSTOP)
        try:
            sh([str(wl.bin), "count", str(sizes.fill_events), str(wl.target)])
        finally:
            t_cont = time.time()
            cpu0 = big.cpu()
            os.kill(big.pid, signal.SIGCONT)
        after = big.wait_drained(120)
        drained = after[1] - before[1]
        drain = {"queued_events": drained, "drain_s": after[0] - t_cont,
                 "drops": after[2] - before[2], "cpu_s": big.cpu() - cpu0,
                 "ring_bytes": DRAIN_RING}
        # Stats lines come every second: the drain time is an upper bound, the rate a floor.
        drain["rate_floor"] = drained / max(drain["drain_s"], 1e-3)
        log(f"drain: {drain}")
    return {"paced": rows, "flat": flat, "drain": drain, "final": res,
            "peak_rss_mb": mon.peak_rss}


# ---------------------------------------------------------------------------------------------
# Part 4: Elasticsearch

ES_SCRIPT = REPO / "scripts" / "elasticsearch.py"
ES_STATS_RE = re.compile(r"elasticsearch\.indexed=(\d+)\b.*\belasticsearch\.pending=(\d+)\b")
ES_INDEX = "bench"  # the monitor's index (and template pattern bench*)
PLAIN_INDEX = "plain-bulk"  # the plain loader's: outside bench*, same template content
ES_BATCH = 1000


def load_es_script() -> Any:
    """scripts/elasticsearch.py, loaded by path (scripts/ on sys.path would shadow the client)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ebpf_monitor_es_script", ES_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def es_stats(mon: Monitor) -> list[tuple[float, int, int]]:
    """(wall time, indexed, pending) of every stats line of the monitor's ES sink so far."""
    out = []
    for line in mon.stderr.read_text(errors="replace").splitlines():
        m, e = STATS_RE.match(line), ES_STATS_RE.search(line)
        if m and e:
            stamp = time.mktime(time.strptime(m[1].split(",")[0], "%Y-%m-%d %H:%M:%S"))
            out.append((stamp + int(m[1].split(",")[1]) / 1000, int(e[1]), int(e[2])))
    return out


def wait_es_idle(mon: Monitor, min_indexed: int = 0, timeout: float = 60,
                 ) -> tuple[float, int, int]:
    """Wait for a fresh stats line with less than one batch pending (the background trickle,
    e.g. this script's own reads of the monitor's stderr, is sent by flush_interval) and at
    least `min_indexed` indexed."""
    start = time.time()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [s for s in es_stats(mon) if s[0] >= start]
        if lines and lines[-1][2] < ES_BATCH and lines[-1][1] >= min_indexed:
            return lines[-1]
        time.sleep(0.1)
    raise RuntimeError(f"elasticsearch sink not idle after {timeout:.0f}s:"
                       f" {es_stats(mon)[-3:]}")


def rss_parts_mb(pid: int) -> dict[str, float]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1]) / 1024
    return out


def plain_bulk(client: Any, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The baseline: `helpers.bulk` of the same documents, chunk 1000, same create + _id."""
    from elasticsearch import helpers

    from ebpf_monitor.sinks.elasticsearch import index_template

    client.indices.put_index_template(name=PLAIN_INDEX, **index_template(PLAIN_INDEX))
    actions = ({"_op_type": "create", "_index": PLAIN_INDEX, "_id": d["event"]["id"],
                "_source": d} for d in docs)
    t0 = time.monotonic()
    ok, errors = helpers.bulk(client, actions, chunk_size=ES_BATCH, raise_on_error=False,
                              stats_only=True)
    secs = time.monotonic() - t0
    client.indices.refresh(index=PLAIN_INDEX)
    count = client.count(index=PLAIN_INDEX)["count"]
    return {"docs": len(docs), "ok": ok, "errors": errors, "secs": secs, "count": count}


def elasticsearch(work: Path, sizes: Sizes, wl: Workloads) -> dict[str, Any]:
    """Sustained rate of the monitor's ES sink against `helpers.bulk` of the same documents.

    A local node (scripts/elasticsearch.py, plain HTTP) on this host. The monitor runs with
    storage_type elasticsearch; a burst of `es_docs` open+close (one event each) goes through
    ring, events.jsonl, spool and bulk `create` requests; the rate is the documents indexed
    from the burst's start until a stats line shows nothing pending. The plain loader then
    indexes the same documents (parsed from the monitor's events.jsonl, in memory) into a
    fresh index with the same template. The node's own file and thread activity is filtered
    out of the monitor (its directory by path prefix, its threads by comm), so the monitor
    does not index the node's writes of the monitor's documents.
    """
    if not ES_SCRIPT.exists():
        return {"status": "not measured: scripts/elasticsearch.py is missing"}
    try:
        import orjson
        from elasticsearch import Elasticsearch
        from elasticsearch.serializer import OrjsonSerializer

        from ebpf_monitor.config import DEFAULT_IGNORE_PATH_PREFIXES
    except ImportError as exc:
        return {"status": f"not measured: {exc}"}
    script = load_es_script()
    script.fetch()
    log("starting a local Elasticsearch node")
    server = script.start()
    try:
        es_cache = str(script.cache_dir()) + "/"
        client = Elasticsearch(server.url, request_timeout=120,
                               serializer=OrjsonSerializer())
        mon = Monitor(work / "mon-es", {
            "storage_type": "elasticsearch",
            "es_config": {"es_host": "127.0.0.1", "es_port": server.port,
                          "es_index": ES_INDEX, "batch_size": ES_BATCH, "flush_interval": 1},
            "filters": {"ignore_comms": ["java", "elasticsearch[n"],
                        "ignore_path_prefixes": [*DEFAULT_IGNORE_PATH_PREFIXES, es_cache]},
        })
        with mon.running():
            time.sleep(2)
            before = wait_es_idle(mon)
            t0 = time.time()
            cpu0 = mon.cpu()
            sh([str(wl.bin), "count", str(sizes.es_docs), str(wl.target)])
            burst_s = time.time() - t0
            after = wait_es_idle(mon, before[1] + sizes.es_docs, timeout=1800)
            cpu = mon.cpu() - cpu0
            rss = rss_parts_mb(mon.pid)
            drops = mon.stats()[-1][2]
            series = [s for s in es_stats(mon) if before[0] <= s[0] <= after[0]]
        rss["VmHWM"] = mon.peak_rss
        indexed = after[1] - before[1]
        window = after[0] - t0
        # Steady state: between the first and last stats line with a batch or more pending.
        busy = [s for s in series if s[2] >= ES_BATCH]
        steady = ((busy[-1][1] - busy[0][1]) / (busy[-1][0] - busy[0][0])
                  if len(busy) >= 3 and busy[-1][0] > busy[0][0] else None)
        events_file = mon.events_dir / "events.jsonl"
        docs = [orjson.loads(line) for line in events_file.read_bytes().splitlines() if line]
        client.indices.refresh(index=f"{ES_INDEX}*")
        es_count = client.count(index=f"{ES_INDEX}*")["count"]
        log(f"monitor: {indexed} indexed in {window:.2f}s; file {len(docs)}, ES count {es_count}")
        plain = plain_bulk(client, docs)
        log(f"plain bulk: {plain}")
        mon_rate = indexed / window
        plain_rate = plain["docs"] / plain["secs"]
        return {
            "status": "measured", "server": server.url, "es_docs": sizes.es_docs,
            "burst_s": burst_s, "monitor_indexed": indexed, "monitor_window_s": window,
            "monitor_rate": mon_rate, "monitor_steady_rate": steady,
            "monitor_cpu_s": cpu, "monitor_drops": drops, "monitor_result": mon.result,
            "file_lines": len(docs), "es_count": es_count, "plain": plain,
            "plain_rate": plain_rate, "ratio": mon_rate / plain_rate,
            "peak_rss_mb": mon.peak_rss, "rss_mb": rss, "series": series,
            "rows": [
                {"name": "monitor (ring -> events.jsonl + spool -> bulk create)",
                 "docs": indexed, "secs": window, "rate": mon_rate,
                 "ratio": f"{mon_rate / plain_rate:.2f}"},
                {"name": "plain `helpers.bulk` (docs in memory, orjson)",
                 "docs": plain["docs"], "secs": plain["secs"], "rate": plain_rate,
                 "ratio": "1.00"},
            ],
        }
    finally:
        log("stopping the Elasticsearch node")
        script.stop(server)


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not installed"
    return {
        "kernel": platform.release(),
        "os": version(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
        "cpu": f"{cpu}, {os.cpu_count()} CPUs",
        "memory": f"{mem_kb // 1024} MiB",
        "python": platform.python_version(),
        "gcc": version(["gcc", "--version"]),
        "auditd": version(["sh", "-c", "dpkg-query -W -f='${Version}' auditd"]),
        "bpftrace": version(["bpftrace", "--version"]),
        "git": version(["git", "-C", str(REPO), "describe", "--always", "--dirty"]),
    }


def ratio_cell(values: list[float], base: list[float]) -> str:
    ratios = [v / b for v, b in zip(values, base, strict=True) if b > 0]
    if not ratios:
        return "-"
    med = statistics.median(ratios)
    if len(ratios) == 1:
        return f"{med:.2f}"
    return f"{med:.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    m = results["machine"]
    sizes: Sizes = results["sizes_obj"]
    out = ["# Benchmarks", ""]
    out.append(f"Generated by `{results['command']}` on {results['date']}"
               f" ({'smoke run: tiny sizes, figures meaningless' if args.smoke else 'full run'}).")
    out += ["", "## Machine", ""]
    out += [f"- {k}: {v}" for k, v in m.items()]
    out += ["", "## Commands", "",
            "```", "make bench            # = .venv/bin/python benchmarks/run.py",
            f"{results['command']}", "```", "",
            "Workloads (benchmarks/workload.c, built with gcc -O2 at run time):",
            f"`workload open {sizes.loop_secs} FILE` (openat+close of one file in /tmp),"
            f" `workload forkexec {sizes.loop_secs}` (fork, exec /bin/true, wait),"
            f" `workload tcp {sizes.loop_secs}` (loopback connect, accept, close),"
            f" `make -j2` of a generated C project ({sizes.c_files} files + main),"
            f" `tar cf` of `{sizes.tar_dir}` into a file.", ""]
    ov = results.get("overhead")
    if ov:
        raw = ov["raw"]
        setups = [s for s in raw if s != "bare"]
        out += ["## 1-2. Overhead on the monitored host", "",
                "Throughput with the setup running divided by bare throughput in the same"
                f" round; median of {sizes.rounds} rounds (min-max). 1.00 = no overhead."
                f" Before each workload every setup pauses {SETTLE_S:g} s, and the monitor's"
                " ring is drained first, so a workload is not charged the previous one's"
                " backlog.",
                "Monitor: default config (local storage, every event written to"
                " events.jsonl); other monitor columns change only `capture` as named."
                " auditd: `auditctl -a always,exit -F arch=b64 -S "
                + " -S ".join(AUDIT_SYSCALLS) + "`, default backlog, log to a file."
                " bpftrace: printf of openat (enter+exit), execve, connect, accept, fork and"
                " exit to a file (`bpftrace -o`).", "",
                "| workload | bare ops/s (median) | " + " | ".join(setups) + " |",
                "|---|---|" + "---|" * len(setups)]
        for w, base in raw["bare"].items():
            cells = [ratio_cell(raw[s][w], base) for s in setups]
            out.append(f"| {w} | {statistics.median(base):,.1f} | " + " | ".join(cells) + " |")
        out.append("")
        for setup in setups:
            mr = [r for r in ov["monitor_runs"] if r.get("setup", "monitor") == setup]
            if mr:
                out.append(f"Runs of `{setup}`: events written "
                           + ", ".join(str(r["lines"]) for r in mr) + "; kernel drops "
                           + ", ".join(str(r["drops"]) for r in mr) + "; loss records "
                           + ", ".join(str(r["loss_records"]) for r in mr) + ".")
        out.append("")
        loads = sorted({n["loadavg"] for n in ov["noise"]})
        foreign = [n["foreign_bpf_programs"] for n in ov["noise"]]
        out += [f"Noise: load average seen at the start of each setup: {', '.join(loads[:6])}"
                f"{' ...' if len(loads) > 6 else ''}; tracing BPF programs attached by others"
                f" (other monitors under test): {min(foreign)}-{max(foreign)}.", ""]
    cap = results.get("capacity")
    if cap:
        out += ["## 3. Capacity (open+close loop, one event per open, into events.jsonl)", "",
                "| target opens/s | achieved opens/s | events the monitor handled/s (all"
                " processes) | monitor CPU, % of one core | CPU µs per event | kernel drops |",
                "|---|---|---|---|---|---|"]
        for r in cap["paced"]:
            ev_rate = r["monitor_events"] / r["window_s"]
            us = 1e6 * r["cpu_s"] / max(r["monitor_events"], 1)
            out.append(f"| {r['target_rate']:,} | {r['achieved_rate']:,.0f} | {ev_rate:,.0f}"
                       f" | {r['cpu_pct_of_core']:.0f} | {us:.1f} | {r['drops']} |")
        f = cap["flat"]
        out.append(f"| flat out | {f['achieved_rate']:,.0f} | - | {f['cpu_pct_of_core']:.0f}"
                   f" | - | {f['drops']} |")
        d = cap["drain"]
        ring_mb = d.get("ring_bytes", 64 << 20) >> 20
        out += ["", f"Reader capacity: a monitor with a {ring_mb} MiB ring (room for the whole"
                f" burst) and its reader stopped (SIGSTOP); {d['queued_events']:,}"
                f" events were queued in the ring; after SIGCONT it wrote them all in at most"
                f" {d['drain_s']:.2f} s, i.e. at least {d['rate_floor']:,.0f} events/s"
                f" (CPU {d['cpu_s']:.2f} s, {1e6 * d['cpu_s'] / max(d['queued_events'], 1):.1f}"
                f" µs per event), drops {d['drops']}.",
                "CPU is the monitor's utime+stime from /proc/<pid>/stat from the start of the"
                " paced run until the ring is empty again, divided by the run's length (so a"
                " slow drain shows as more CPU); events/s is over that same window. Both count"
                " the events of everything else running on the host; CPU µs per event is the"
                " robust figure.", ""]
    es = results.get("elasticsearch", {})
    out += ["## 4. Elasticsearch", ""]
    if es.get("rows"):
        out += ["| loader | docs | seconds | docs/s | vs plain bulk |", "|---|---|---|---|---|"]
        out += [f"| {r['name']} | {r['docs']:,} | {r['secs']:.2f} | {r['rate']:,.0f}"
                f" | {r['ratio']} |" for r in es["rows"]]
        steady = es.get("monitor_steady_rate")
        plain = es["plain"]
        out += ["", f"A local node ({es['server']}, scripts/elasticsearch.py: 8.19, 512 MB heap,"
                " one shard, same host), index template of the sink (`index_template`)."
                f" Monitor: `storage_type: elasticsearch`, batch_size 1000, flush_interval 1;"
                f" a burst of {es['es_docs']:,} open+close (`workload count`, {es['burst_s']:.2f}"
                " s) goes through the ring, events.jsonl, the disk spool and bulk `create`"
                " requests; the time runs from the burst's start to the first stats line with"
                " all of it indexed and less than one batch pending (stats every second: the"
                " rate is a floor)."
                + (f" Steady-state rate between the first and last stats line with work"
                   f" pending: {steady:,.0f} docs/s." if steady else "")
                + f" Monitor CPU over the window: {es['monitor_cpu_s']:.1f} s"
                f" ({100 * es['monitor_cpu_s'] / es['monitor_window_s']:.0f}% of one core);"
                f" kernel drops {es['monitor_drops']}. events.jsonl held {es['file_lines']:,}"
                f" documents after the stop, the index {es['es_count']:,}.",
                "Plain loader: `elasticsearch.helpers.bulk` (chunk_size 1000, `create` with the"
                " same `_id`s, orjson serializer) of those documents, parsed beforehand and held"
                f" in memory, into a fresh index with the same template: {plain['ok']:,} created,"
                f" {plain['errors']} errors, count {plain['count']:,}. It runs after the monitor"
                " has stopped, so it has the CPU the monitor's capture and file writing used.",
                "Elasticsearch's own files and threads are filtered out of the monitor"
                " (ignore_path_prefixes: the node's directory; ignore_comms: `java`,"
                " `elasticsearch[n`), so the monitor does not index the node's writes of the"
                " monitor's documents."]
    else:
        out.append(f"**{es.get('status', 'not measured')}**")
    out += ["", "## 5. Memory", ""]
    if cap:
        out.append(f"Peak RSS (VmHWM) of the monitor during the capacity run:"
                   f" {cap['peak_rss_mb']:.0f} MB.")
    if es.get("peak_rss_mb"):
        r = es.get("rss_mb", {})
        out.append(f"During the Elasticsearch run: {es['peak_rss_mb']:.0f} MB"
                   + (f" (at the end of the burst: RssAnon {r['RssAnon']:.0f} MB, RssFile"
                      f" {r['RssFile']:.0f} MB)" if "RssAnon" in r else "") + ".")
    out.append("")
    if results.get("provenance"):
        import provenance as provenance_bench

        out += provenance_bench.render(results["provenance"])
    notes = REPO / "benchmarks" / "findings.md"
    if notes.exists() and not args.smoke:
        out += [notes.read_text()]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one round (< 60 s)")
    p.add_argument("--rounds", type=int, help="rounds of the overhead table")
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--skip-peers", action="store_true", help="no auditd/bpftrace columns")
    p.add_argument("--skip-es", action="store_true")
    p.add_argument("--only", choices=["overhead", "capacity", "es", "provenance"],
                   action="append")
    p.add_argument("--render-from", type=Path, metavar="JSON",
                   help="only rewrite the report from the raw results of an earlier run")
    args = p.parse_args(argv)
    if args.render_from:
        old = json.loads(args.render_from.read_text())
        old["sizes_obj"] = Sizes(**{k: tuple(v) if isinstance(v, list) else v
                                    for k, v in old["sizes"].items()})
        args.output.write_text(render(old, args))
        return 0
    if os.geteuid() != 0:
        print("run.py: must run as root (the monitor loads BPF programs)", file=sys.stderr)
        return 1
    sizes = SMOKE if args.smoke else FULL
    if args.rounds:
        sizes = Sizes(**{**sizes.__dict__, "rounds": args.rounds})
    parts = set(args.only or ["overhead", "capacity", "es", "provenance"])
    results: dict[str, Any] = {
        "command": " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
        "sizes": sizes.__dict__, "sizes_obj": sizes,
    }
    with tempfile.TemporaryDirectory(prefix="ebpf-bench-") as tmp:
        work = Path(tmp)
        wl = Workloads(work, sizes)
        if "overhead" in parts:
            results["overhead"] = overhead(work, sizes, wl, not (args.smoke or args.skip_peers))
        if "capacity" in parts:
            results["capacity"] = capacity(work, sizes, wl)
        if "es" in parts and not (args.smoke or args.skip_es):
            results["elasticsearch"] = elasticsearch(work, sizes, wl)
        if "provenance" in parts:  # issue 13's analysis side: benchmarks/provenance.py
            import provenance as provenance_bench

            results["provenance"] = provenance_bench.run(
                work, smoke=args.smoke, with_es=not (args.smoke or args.skip_es))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(results, args))
    raw = {k: v for k, v in results.items() if k != "sizes_obj"}
    args.output.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
