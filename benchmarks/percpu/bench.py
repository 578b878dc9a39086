#!/usr/bin/env python3
"""Shared ring vs one ring per CPU (issue 10, item 5): drops, producer speed, reader cost.

    benchmarks/percpu/bench.py [--rounds 6] [--secs 4] [--ring-mib 64] [--product]   # root

Loads benchmarks/percpu/rings.bpf.c (built here with the system clang, not the product's
object) in one of two modes and drives benchmarks/workload.c against it, alternating the modes
within each round (and their order from round to round) so both see the same host:

  shared  one BPF_MAP_TYPE_RINGBUF of R bytes (the product's design);
  percpu  an ARRAY_OF_MAPS holding one ring of R / ncpu bytes per CPU, all in one epoll set,
          read into one time order (see Merger);
  product (--product) the product's own object, all its programs, one ring, walked only.

Per run: records, kernel drops, of which "with room" (less than half the ring pending, the
product's rule), of which the ring's state says the record would have fit, and failing writes
that spent >= 1 ms in the helper (the rqspinlock gives up only after that); ring-lock
contention and failures as lock:contention_* report them; the producer's rate (open loops: as
a ratio to a bare run of the same round); the reader's CPU per record (walk, and for percpu the
merge); the load average. One JSON object per run, then per-round and median tables.
"""

from __future__ import annotations

import argparse
import bisect
import ctypes
import json
import os
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from ebpf_monitor import _libbpf as bpf  # noqa: E402
from ebpf_monitor.abi import Btf  # noqa: E402
from ebpf_monitor.ringbuf import Batch, RingReader  # noqa: E402

HERE = Path(__file__).resolve().parent
BUILD = REPO / "build" / "bench"
BPF_MAP_TYPE_RINGBUF = 27
_KTIME = struct.Struct("<Q")
_KTIME_OFF = 16  # struct rec: kind, size, pid, tid, cpu, then ktime_ns
SLACK_NS = 5_000_000  # a record's time is taken microseconds before it is committed
COUNTERS = ("sent", "drops", "drops_with_room", "max_pending_at_drop", "no_ring",
            "drops_would_fit", "drops_slow", "max_fail_ns", "ok_slow", "max_ok_ns",
            "ring_lock_waits", "ring_lock_fails", "any_lock_fails")
MAXED = {"max_pending_at_drop", "max_fail_ns", "max_ok_ns"}

bpf.lib.bpf_map_create.restype = ctypes.c_int
bpf.lib.bpf_map_create.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32,
                                   ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p]


def build_bpf(name: str) -> Path:
    """A BPF object of this directory, rebuilt when its source is newer."""
    BUILD.mkdir(parents=True, exist_ok=True)
    obj, src = BUILD / f"{name}.bpf.o", HERE / f"{name}.bpf.c"
    arch = os.uname().machine.replace("x86_64", "x86").replace("aarch64", "arm64")
    if not obj.exists() or obj.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["clang", "-g", "-O2", "-Wall", "-Werror", "-target", "bpf",
                        f"-D__TARGET_ARCH_{arch}", f"-I{REPO / 'build' / 'bpf'}", "-c", str(src),
                        "-o", str(obj)], check=True)
    return obj


def build() -> tuple[Path, Path]:
    """The BPF object and the workload binary."""
    obj = build_bpf("rings")
    wl, wsrc = BUILD / "workload", REPO / "benchmarks" / "workload.c"
    if not wl.exists() or wl.stat().st_mtime < wsrc.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(wl), str(wsrc)], check=True)
    return obj, wl


class Rings:
    """The loaded object in one mode: its rings (fd, bytes), counters, and the attach links."""

    def __init__(self, obj_path: Path, *, percpu: bool, ring_bytes: int) -> None:
        self.ncpu = bpf.lib.libbpf_num_possible_cpus()
        self.obj = bpf.check_ptr(bpf.lib.bpf_object__open_file(str(obj_path).encode(), None),
                                 "open rings.bpf.o")
        self.links: list[int] = []
        self.rings: list[tuple[int, int]] = []
        self.owned: list[int] = []  # the per-CPU rings we created
        try:
            self._load(percpu, ring_bytes)
        except BaseException:
            self.close()
            raise

    def _map(self, name: str) -> int:
        return bpf.check_ptr(bpf.lib.bpf_object__find_map_by_name(self.obj, name.encode()), name)

    def _load(self, percpu: bool, ring_bytes: int) -> None:
        per_ring = ring_bytes // self.ncpu if percpu else ring_bytes
        bpf.check_rc(bpf.lib.bpf_map__set_max_entries(self._map("rings"), self.ncpu), "rings")
        bpf.check_rc(bpf.lib.bpf_map__set_max_entries(self._map("shared"),
                                                      ring_bytes if not percpu else 4096),
                     "shared")
        rodata = bpf.lib.bpf_object__next_map(self.obj, None)
        while rodata and not bpf.lib.bpf_map__name(rodata).endswith(b".rodata"):
            rodata = bpf.lib.bpf_object__next_map(self.obj, rodata)
        size = ctypes.c_size_t()
        base = bpf.check_ptr(bpf.lib.bpf_map__initial_value(rodata, ctypes.byref(size)), "rodata")
        # The object's BTF after open: libbpf has fixed up the section offsets by then.
        layout = Btf(bpf.check_ptr(bpf.lib.bpf_object__btf(self.obj), "btf"),
                     owned=False).datasec(".rodata")
        for name, value in {"targ_self_pid": os.getpid(), "targ_percpu": int(percpu)}.items():
            off, width = layout[name]
            ctypes.memmove(base + off, value.to_bytes(width, "little"), width)
        prog = bpf.lib.bpf_object__next_program(self.obj, None)
        while prog:  # the lock tracepoints are optional: not every kernel has them
            sec = bpf.lib.bpf_program__section_name(prog).decode()
            if sec.startswith("tracepoint/lock/") and not Path(
                    "/sys/kernel/tracing/events", sec.removeprefix("tracepoint/")).is_dir():
                bpf.lib.bpf_program__set_autoload(prog, False)
            prog = bpf.lib.bpf_object__next_program(self.obj, prog)
        bpf.check_rc(bpf.lib.bpf_object__load(self.obj), "load rings.bpf.o")
        if percpu:
            outer = bpf.lib.bpf_map__fd(self._map("rings"))
            for cpu in range(self.ncpu):
                fd = bpf.lib.bpf_map_create(BPF_MAP_TYPE_RINGBUF, b"ring_cpu", 0, 0, per_ring,
                                            None)
                if fd < 0:
                    raise OSError(ctypes.get_errno(), f"create ring for CPU {cpu}")
                self.owned.append(fd)
                self.rings.append((fd, per_ring))
                key, val = ctypes.c_uint32(cpu), ctypes.c_uint32(fd)
                bpf.check_rc(bpf.lib.bpf_map_update_elem(outer, ctypes.byref(key),
                                                         ctypes.byref(val), 0), "fill rings")
        else:
            self.rings.append((bpf.lib.bpf_map__fd(self._map("shared")), per_ring))
        prog = bpf.lib.bpf_object__next_program(self.obj, None)
        while prog:
            if bpf.lib.bpf_program__autoload(prog):
                self.links.append(bpf.check_ptr(bpf.lib.bpf_program__attach(prog), "attach"))
            prog = bpf.lib.bpf_object__next_program(self.obj, prog)

    def counts(self) -> dict[str, int]:
        """Each counter of rings.bpf.c, summed (or, for the maxima, maxed) over CPUs."""
        fd = bpf.lib.bpf_map__fd(self._map("counts"))
        out = {}
        for key, name in enumerate(COUNTERS):
            vals = (ctypes.c_uint64 * self.ncpu)()
            k = ctypes.c_uint32(key)
            bpf.check_rc(bpf.lib.bpf_map_lookup_elem(fd, ctypes.byref(k), vals), "counts")
            out[name] = max(vals) if name in MAXED else sum(vals)
        return out

    def close(self) -> None:
        for link in self.links:
            bpf.lib.bpf_link__destroy(link)
        self.links = []
        for fd in self.owned:
            os.close(fd)
        self.owned = []
        if self.obj:
            bpf.lib.bpf_object__close(self.obj)
            self.obj = 0


class Merger:
    """Records of several rings, each in its own time order, into one.

    A record read now from one ring can be older than one still uncommitted in another, or
    committed there after that ring was read: so only records older than the moment the reading
    began (less SLACK_NS, the time between a record's timestamp and its commit) are released;
    the rest are held for the next pump. What the product's reader would have to do. The
    batches are joined into one buffer (one copy) and the released records' spans put in time
    order; only held records are copied one by one."""

    def __init__(self) -> None:
        self.held = b""
        self.held_keys: list[tuple[int, int, int]] = []  # (ktime, offset, length) in `held`
        self.last = 0
        self.late = 0  # released records older than one released before: the order broke

    def merge(self, batches: list[Batch], began_ns: int, final: bool = False) -> Batch:
        unpack = _KTIME.unpack_from
        keyed = list(self.held_keys)
        base = len(self.held)
        for b in batches:
            data = b.data
            keyed.extend([(unpack(data, off + _KTIME_OFF)[0], base + off, n)
                          for off, n in b.spans])
            base += len(data)
        big = b"".join([self.held, *(b.data for b in batches)])
        keyed.sort()  # each ring's run is already sorted: timsort merges the runs
        limit = len(keyed) if final else bisect.bisect_right(keyed, (began_ns - SLACK_NS,
                                                                      1 << 62, 0))
        out, rest = keyed[:limit], keyed[limit:]
        if out:
            if out[0][0] < self.last:
                self.late += sum(1 for k, _, _ in out if k < self.last)
            self.last = out[-1][0]
        parts, self.held_keys, pos = [], [], 0
        for k, off, n in rest:
            rec = big[off: off + n]
            parts.append(rec + bytes(-n & 7))
            self.held_keys.append((k, pos, n))
            pos += n + (-n & 7)
        self.held = b"".join(parts)
        return Batch(big, [(off, n) for _, off, n in out])


class Reader:
    """All rings in one epoll set; each wake-up reads every ring, then (percpu) merges."""

    def __init__(self, rings: list[tuple[int, int]], *, merge: bool) -> None:
        self.readers = [RingReader(fd, size) for fd, size in rings]
        self.epoll = select.epoll()
        for fd, _ in rings:
            self.epoll.register(fd, select.EPOLLIN)
        self.merger = Merger() if merge else None
        self.records = 0
        self.released = 0
        self.inversions = 0  # records read with an earlier time than the one before (shared)
        self.cpu_walk = 0.0
        self.cpu_merge = 0.0
        self._last = 0

    def pump(self, timeout: float, final: bool = False) -> int:
        self.epoll.poll(timeout)
        began = time.monotonic_ns()  # CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
        t0 = time.thread_time()
        got = 0
        batches = []
        for r in self.readers:
            while True:
                b = r.read(256 * 1024)
                if not b.spans:
                    break
                got += len(b.spans)
                batches.append(b)
        t1 = time.thread_time()
        if self.merger is not None:
            out = self.merger.merge(batches, began, final)
            self.released += len(out)
        self.cpu_merge += time.thread_time() - t1
        self.cpu_walk += t1 - t0
        if self.merger is None:
            self.released += got
            unpack = _KTIME.unpack_from
            for b in batches:  # not timed: how far from time order one shared ring is
                for off, _ in b.spans:
                    k = unpack(b.data, off + _KTIME_OFF)[0]
                    if k < self._last:
                        self.inversions += 1
                    else:
                        self._last = k
        self.records += got
        return got

    def close(self) -> None:
        self.epoll.close()
        for r in self.readers:
            r.close()


def _finish(procs: list[subprocess.Popen[str]]) -> tuple[float, float]:
    """(operations per second summed over producers, seconds of the longest)."""
    outs = [p.communicate()[0].split() for p in procs]
    secs = max(float(o[1]) for o in outs)
    return sum(int(o[0]) for o in outs) / secs, secs


def run_product(cmds: list[list[str]]) -> dict[str, Any]:
    """The product's own object (all its programs), its shared ring walked (not decoded)."""
    from ebpf_monitor.config import Config
    from ebpf_monitor.loader import BpfMonitor

    cfg = Config()
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    try:
        reader = Reader([(mon.ring_fd, mon.ring_size)], merge=False)
        while reader.pump(0):
            pass
        reader.records = reader.released = 0
        reader.cpu_walk = 0.0
        d0, r0 = sum(mon.drops().values()), sum(mon.drops_with_room().values())
        load = os.getloadavg()[0]
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
        most = 0
        while any(p.poll() is None for p in procs):
            reader.pump(0.02)
            most = max(most, reader.readers[0].pending())
        while reader.pump(0):
            pass
        ops, _ = _finish(procs)
        d1, r1 = sum(mon.drops().values()), sum(mon.drops_with_room().values())
        reader.close()
    finally:
        mon.close()
    n = max(reader.records, 1)
    return {"ops_per_s": ops, "records": reader.records, "drops": d1 - d0,
            "drops_with_room": r1 - r0, "most_pending_seen": most, "loadavg": load,
            "reader_us_walk": 1e6 * reader.cpu_walk / n, "reader_us_merge": 0.0}


def run_case(obj: Path, *, percpu: bool, ring_bytes: int,
             cmds: list[list[str]]) -> dict[str, Any]:
    rings = Rings(obj, percpu=percpu, ring_bytes=ring_bytes)
    try:
        reader = Reader(rings.rings, merge=percpu)
        while reader.pump(0, final=True):
            pass
        reader.records = reader.released = 0
        reader.cpu_walk = reader.cpu_merge = 0.0
        before = rings.counts()
        load = os.getloadavg()[0]
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
        most = 0
        while any(p.poll() is None for p in procs):
            reader.pump(0.02)
            most = max(most, *(r.pending() for r in reader.readers))
        while reader.pump(0):
            pass
        reader.pump(0, final=True)  # release what the merge still held
        ops, _ = _finish(procs)
        after = rings.counts()
        reader.close()
    finally:
        rings.close()
    d = {k: after[k] if k in MAXED else after[k] - before[k] for k in COUNTERS}
    n = max(reader.records, 1)
    merger = reader.merger
    return {"ops_per_s": ops, "records": reader.records, "released": reader.released,
            **d, "most_pending_seen": most, "loadavg": load,
            "late_after_merge": merger.late if merger else None,
            "inversions_in_ring": None if merger else reader.inversions,
            "reader_us_walk": 1e6 * reader.cpu_walk / n,
            "reader_us_merge": 1e6 * reader.cpu_merge / n}


def bare(cmds: list[list[str]]) -> float:
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
    return _finish(procs)[0]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--secs", type=float, default=4.0)
    p.add_argument("--ring-mib", type=int, default=64)
    p.add_argument("--json", type=Path)
    p.add_argument("--only", help="comma-separated scenario keys: p100,p150,p200,open1,openn")
    p.add_argument("--product", action="store_true",
                   help="also run each scenario against the product's object")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: loads BPF programs: run as root")
    obj, wl = build()
    ring_bytes = args.ring_mib << 20
    ncpu = bpf.lib.libbpf_num_possible_cpus()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "t.txt"
        target.write_text("x\n")
        s = str(args.secs)
        one = [[str(wl), "open", s, str(target)]]
        per_cpu = [["taskset", "-c", str(c), str(wl), "open", s, str(target)]
                   for c in range(ncpu)]
        scenarios = {
            "p100": ("paced 100k/s, 1 producer", [[str(wl), "paced", "100000", s, str(target)]]),
            "p150": ("paced 150k/s, 1 producer", [[str(wl), "paced", "150000", s, str(target)]]),
            "p200": ("paced 200k/s, 1 producer", [[str(wl), "paced", "200000", s, str(target)]]),
            "open1": ("open loop, 1 producer", one),
            "openn": (f"open loop, {ncpu} producers pinned", per_cpu),
        }
        if args.only:
            scenarios = {k: scenarios[k] for k in args.only.split(",")}
        for rnd in range(args.rounds):
            bases = {"open1": bare(one), "openn": bare(per_cpu)}
            modes = ["shared", "percpu"] if rnd % 2 == 0 else ["percpu", "shared"]
            if args.product:
                modes.insert(rnd % 3, "product")
            for key, (name, cmds) in scenarios.items():
                for mode in modes:
                    if mode == "product":
                        r = run_product(cmds)
                    else:
                        r = run_case(obj, percpu=mode == "percpu", ring_bytes=ring_bytes,
                                     cmds=cmds)
                    r.update(round=rnd, mode=mode, scenario=key, name=name)
                    if key in bases:
                        r["bare_ops_per_s"] = bases[key]
                        r["ratio_to_bare"] = r["ops_per_s"] / bases[key]
                    results.append(r)
                    print(json.dumps(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    report(results, scenarios)
    return 0


def report(results: list[dict[str, Any]], scenarios: dict[str, tuple[str, Any]]) -> None:
    print("\n| round | scenario | mode | load | opens/s | ratio | drops | with room | would fit |"
          " >=1 ms | ring-lock waits/fails | reader us/rec (walk+merge) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ratio = f"{r['ratio_to_bare']:.2f}" if "ratio_to_bare" in r else "-"
        print(f"| {r['round']} | {r['scenario']} | {r['mode']} | {r['loadavg']:.1f} |"
              f" {r['ops_per_s']:,.0f} | {ratio} | {r['drops']} | {r['drops_with_room']} |"
              f" {r.get('drops_would_fit', '-')} | {r.get('drops_slow', '-')} |"
              f" {r.get('ring_lock_waits', '-')}/{r.get('ring_lock_fails', '-')} |"
              f" {r['reader_us_walk']:.2f}+{r['reader_us_merge']:.2f} |")
    print("\nmedians (and sums of drops) over rounds")
    for key in scenarios:
        for mode in ("shared", "percpu", "product"):
            rows = [r for r in results if r["scenario"] == key and r["mode"] == mode]
            if not rows:
                continue
            med = {k: statistics.median(r[k] for r in rows)
                   for k in ("ops_per_s", "ratio_to_bare", "reader_us_walk", "reader_us_merge")
                   if k in rows[0]}
            sums = {k: sum(r[k] for r in rows) for k in
                    ("drops", "drops_with_room", "drops_would_fit", "drops_slow", "ok_slow",
                     "ring_lock_fails") if k in rows[0]}
            print(f"{key:6} {mode:7} " + " ".join(f"{k}={v:.3g}" for k, v in med.items())
                  + " " + " ".join(f"{k}={v}" for k, v in sums.items())
                  + f" with_room_per_round={[r['drops_with_room'] for r in rows]}")


if __name__ == "__main__":
    sys.exit(main())
