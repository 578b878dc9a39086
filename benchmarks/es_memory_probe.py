"""The monitor, started with a memory probe inside it (benchmarks/es_memory.py runs this).

    python benchmarks/es_memory_probe.py --config FILE      (the monitor's own arguments)

Not product code: a wrapper that starts a sampler thread in the monitor's process, then runs
`ebpf_monitor.cli.main` as `python -m ebpf_monitor` would. Environment:

- EBPF_MEM_PROBE=DIR: sample /proc/self/status (VmRSS, RssAnon, threads) and glibc's mallinfo2
  every 0.1 s; at each new RSS high, glibc's malloc_info (per-arena XML) goes to
  DIR/malloc_info.xml, and DIR/high.json gets what it says per arena, the anonymous memory
  of /proc/self/smaps by mapping (heap, thread arenas, the rest) and the threads alive; at
  exit the samples go to DIR/samples.json.
- EBPF_MEM_TRACE=N: tracemalloc with N frames; at each new high of the traced memory (by
  16 MB or more) a snapshot goes to DIR/peak.snapshot, with the sink's queue lengths at that
  moment in DIR/peak.json (made there and then: a report at exit can outlast the stop timeout).
  `es_memory_probe.py --report DIR` writes its top allocations, grouped by traceback, to
  DIR/tracemalloc.txt.
- EBPF_MEM_TRIM=1: malloc_trim(0) after each sample, RSS before and after it kept: how much of
  the RSS is memory glibc holds freed (an experiment, never what the monitor does).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

OUT = os.environ.get("EBPF_MEM_PROBE")
TRACE = int(os.environ.get("EBPF_MEM_TRACE", "0") or 0)
TRIM = os.environ.get("EBPF_MEM_TRIM") == "1"
INTERVAL = 0.1


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_libc.mallinfo2.restype = _MallInfo2
_libc.malloc_trim.argtypes = [ctypes.c_size_t]
_libc.fopen.restype = ctypes.c_void_p
_libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_libc.fclose.argtypes = [ctypes.c_void_p]
_libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]


def status_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                out[key] = int(value.split()[0])
    return out


def mallinfo_mb() -> dict[str, float]:
    mi = _libc.mallinfo2()
    return {"heap": mi.arena / 2**20, "mmap": mi.hblkhd / 2**20,
            "in_use": mi.uordblks / 2**20, "free_held": mi.fordblks / 2**20}


def _malloc_info(path: Path) -> None:
    fp = _libc.fopen(str(path).encode(), b"w")
    if fp:
        _libc.malloc_info(0, fp)
        _libc.fclose(fp)


def arenas_mb(path: Path) -> list[dict[str, float]]:
    """Per arena of a malloc_info XML: memory it has from the system, and how much of it is in
    free chunks (fast bins and the rest) and in its top chunk's slack is not told apart."""
    out = []
    for heap in ET.parse(path).getroot().iter("heap"):
        free = sum(int(t.get("size", 0)) for t in heap.findall("total"))
        system = next((int(t.get("size", 0)) for t in heap.findall("system")
                       if t.get("type") == "current"), 0)
        out.append({"nr": int(heap.get("nr", -1)), "system": system / 2**20,
                    "free_chunks": free / 2**20})
    return out


def smaps_anon_mb() -> dict[str, float]:
    """Anonymous RSS by mapping kind: [heap] (main arena), 64 MiB-aligned anonymous regions
    (thread arenas' heaps and big mmaps alike), stacks, and the rest; the ring buffer and
    other non-anonymous mappings as `file`."""
    kinds: dict[str, float] = {}
    name = ""
    with open("/proc/self/smaps") as f:
        for line in f:
            first = line.split(None, 5)
            if "-" in first[0] and len(first) >= 5 and ":" in first[3]:
                name = first[5].strip() if len(first) > 5 else ""
                start = int(first[0].split("-")[0], 16)
                kind = (name or ("anon64M" if start % (64 << 20) == 0 else "anon"))
                if kind.startswith("/"):
                    kind = "file:" + kind.rsplit("/", 1)[-1]
                continue
            if first[0] in ("Anonymous:", "Rss:"):
                key = f"{kind} {first[0][:-1].lower()}"
                kinds[key] = kinds.get(key, 0.0) + int(first[1]) / 1024
    big = {k: round(v, 1) for k, v in kinds.items() if v >= 0.5}
    return dict(sorted(big.items(), key=lambda kv: -kv[1]))


def threads() -> list[str]:
    names = []
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/comm") as f:
            names.append(f.read().strip())
    return sorted(names)


class Probe:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.samples: list[dict[str, Any]] = []
        self.best_rss = 0
        self.best_traced = 0
        self.sink: Any = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mem-probe", daemon=True)

    def _find_sink(self) -> Any:
        if self.sink is None:
            for obj in gc.get_objects():
                if type(obj).__name__ == "ElasticsearchSink":
                    self.sink = obj
                    break
        return self.sink

    def _queues(self) -> dict[str, Any]:
        """The sink's spool backlog and the documents the worker holds in memory now."""
        out: dict[str, Any] = {}
        sink = self._find_sink()
        if sink is not None:
            out["spool_pending"] = sink.spool.pending_records()
        objs = gc.get_objects()
        items = [o for o in objs if type(o).__name__ == "Item"]
        out["items_alive"] = len(items)
        bulks = [o for o in objs if type(o).__name__ == "Bulk"]  # 29e95bd on
        out["bulks_alive"] = len(bulks)
        out["bulk_bodies_mb"] = sum(len(b.body) for b in bulks) / 2**20
        return out

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(INTERVAL):
            st = status_kb()
            row: dict[str, Any] = {"t": time.monotonic() - t0, **st, **mallinfo_mb()}
            if TRACE:
                row["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
            sink = self.sink
            if sink is not None:
                row["spool_pending"] = sink.spool.pending_records()
            if st["VmRSS"] > self.best_rss + 2048:
                self.best_rss = st["VmRSS"]
                _malloc_info(self.out / "malloc_info.xml")
                row["malloc_info_at_high"] = True
                with contextlib.suppress(Exception):  # a figure lost, never the monitor
                    (self.out / "high.json").write_text(json.dumps({
                        **row, "arenas": arenas_mb(self.out / "malloc_info.xml"),
                        "smaps": smaps_anon_mb(), "threads": threads()}))
            if TRACE:
                traced = tracemalloc.get_traced_memory()[0]
                if traced > self.best_traced + 16 * 2**20:
                    self.best_traced = traced
                    tracemalloc.take_snapshot().dump(str(self.out / "peak.snapshot"))
                    (self.out / "peak.json").write_text(json.dumps(
                        {"t": row["t"], "traced_mb": traced / 2**20, **st, **mallinfo_mb(),
                         **self._queues()}))
            elif self.sink is None and len(self.samples) % 10 == 0:
                self._find_sink()
            if TRIM:
                _libc.malloc_trim(0)
                row["rss_after_trim_kb"] = status_kb()["VmRSS"]
            self.samples.append(row)

    def write(self) -> None:
        self._stop.set()
        self.thread.join(2)
        (self.out / "samples.json").write_text(json.dumps(self.samples))


def report(out: Path) -> None:
    """DIR/tracemalloc.txt from DIR/peak.snapshot and DIR/peak.json."""
    snap = tracemalloc.Snapshot.load(str(out / "peak.snapshot")).filter_traces([
        tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)])
    lines = [f"snapshot at the traced high: {(out / 'peak.json').read_text()}", ""]
    total = sum(s.size for s in snap.statistics("filename"))
    lines.append(f"traced total {total / 2**20:.1f} MB; top by traceback:")
    for stat in snap.statistics("traceback")[:25]:
        lines.append(f"{stat.size / 2**20:8.2f} MB {stat.count:8d} blocks")
        lines.extend(f"      {frame}" for frame in stat.traceback.format())
    lines.append("")
    lines.append("top by line:")
    for stat in snap.statistics("lineno")[:25]:
        lines.append(f"{stat.size / 2**20:8.2f} MB {stat.count:8d} blocks  {stat.traceback}")
    (out / "tracemalloc.txt").write_text("\n".join(lines) + "\n")


def main() -> int:
    if sys.argv[1:2] == ["--report"]:
        report(Path(sys.argv[2]))
        return 0
    # This script's directory first on sys.path would shadow nothing today; keep it that way.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
    if OUT:
        if TRACE:
            tracemalloc.start(TRACE)
        probe = Probe(Path(OUT))
        probe.thread.start()
        atexit.register(probe.write)
    from ebpf_monitor.cli import main as monitor_main

    try:
        return monitor_main(sys.argv[1:])
    finally:
        if OUT:
            with contextlib.suppress(Exception):
                probe.write()
                atexit.unregister(probe.write)


if __name__ == "__main__":
    sys.exit(main())
