#!/usr/bin/env python3
"""Shared ring vs one ring per CPU (issue 10, item 5): drops, producer speed, reader cost.

    benchmarks/percpu/bench.py [--rounds 3] [--secs 2] [--ring-mib 64]    # root

Loads benchmarks/percpu/rings.bpf.c (built here with the system clang, not the product's
object) in one of two modes and drives benchmarks/workload.c against it, alternating the modes
within each round so both see the same host:

  shared  one BPF_MAP_TYPE_RINGBUF of R bytes (the product's design);
  percpu  an ARRAY_OF_MAPS holding one ring of R / ncpu bytes per CPU, all in one epoll set.

Per scenario it reports records received, kernel drops (and how many came while less than half
the ring was pending, i.e. not for lack of space), the producer's rate as a ratio to a bare run
of the same round, and the reader's CPU per record (walk only, plus, for percpu, the merge into
one time order that per-CPU rings make necessary).
"""

from __future__ import annotations

import argparse
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
from ebpf_monitor.ringbuf import RingReader  # noqa: E402

HERE = Path(__file__).resolve().parent
BUILD = REPO / "build" / "bench"
BPF_MAP_TYPE_RINGBUF = 27
_KTIME = struct.Struct("<Q")
_KTIME_OFF = 16  # struct rec: kind, size, pid, tid, cpu, then ktime_ns

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
    """The loaded object in one mode: its rings (fd, bytes), counters, and the attach link."""

    def __init__(self, obj_path: Path, *, percpu: bool, ring_bytes: int) -> None:
        self.ncpu = bpf.lib.libbpf_num_possible_cpus()
        self.obj = bpf.check_ptr(bpf.lib.bpf_object__open_file(str(obj_path).encode(), None),
                                 "open rings.bpf.o")
        self.link = 0
        self.rings: list[tuple[int, int]] = []
        self.owned: list[int] = []  # the per-CPU rings we created
        try:
            self._load(obj_path, percpu, ring_bytes)
        except BaseException:
            self.close()
            raise

    def _map(self, name: str) -> int:
        return bpf.check_ptr(bpf.lib.bpf_object__find_map_by_name(self.obj, name.encode()), name)

    def _load(self, obj_path: Path, percpu: bool, ring_bytes: int) -> None:
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
        self.link = bpf.check_ptr(bpf.lib.bpf_program__attach(prog), "attach")

    def counts(self) -> list[list[int]]:
        """Per counter (see rings.bpf.c), the per-CPU values."""
        fd = bpf.lib.bpf_map__fd(self._map("counts"))
        out = []
        for key in range(5):
            vals = (ctypes.c_uint64 * self.ncpu)()
            k = ctypes.c_uint32(key)
            bpf.check_rc(bpf.lib.bpf_map_lookup_elem(fd, ctypes.byref(k), vals), "counts")
            out.append(list(vals))
        return out

    def close(self) -> None:
        if self.link:
            bpf.lib.bpf_link__destroy(self.link)
            self.link = 0
        for fd in self.owned:
            os.close(fd)
        self.owned = []
        if self.obj:
            bpf.lib.bpf_object__close(self.obj)
            self.obj = 0


class LockWatch:
    """lockwatch.bpf.c: rqspinlock slow paths taken and given up, host-wide."""

    def __init__(self) -> None:
        syms = Path("/proc/kallsyms").read_text()
        self.obj = bpf.check_ptr(bpf.lib.bpf_object__open_file(
            str(build_bpf("lockwatch")).encode(), None), "open lockwatch.bpf.o")
        self.links = []
        prog = bpf.lib.bpf_object__next_program(self.obj, None)
        progs = []
        while prog:
            fn = bpf.lib.bpf_program__section_name(prog).decode().split("/", 1)[1]
            if f" {fn}\n" not in syms:
                bpf.lib.bpf_program__set_autoload(prog, False)
            else:
                progs.append(prog)
            prog = bpf.lib.bpf_object__next_program(self.obj, prog)
        bpf.check_rc(bpf.lib.bpf_object__load(self.obj), "load lockwatch.bpf.o")
        for prog in progs:
            link = bpf.lib.bpf_program__attach(prog)
            if link and not bpf.lib.libbpf_get_error(link):
                self.links.append(link)
        if not self.links:
            print("lockwatch: no kprobe attaches on this kernel; lock counters left out",
                  file=sys.stderr)
        self.fd = bpf.lib.bpf_map__fd(bpf.lib.bpf_object__find_map_by_name(self.obj,
                                                                            b"lockstats"))
        self.ncpu = bpf.lib.libbpf_num_possible_cpus()

    def counts(self) -> list[int]:
        if not self.links:
            return []
        out = []
        for key in range(4):
            vals = (ctypes.c_uint64 * self.ncpu)()
            k = ctypes.c_uint32(key)
            bpf.check_rc(bpf.lib.bpf_map_lookup_elem(self.fd, ctypes.byref(k), vals), "lock")
            out.append(sum(vals))
        return out

    def close(self) -> None:
        for link in self.links:
            bpf.lib.bpf_link__destroy(link)
        bpf.lib.bpf_object__close(self.obj)


LOCK_KEYS = ("lock_slow", "lock_failed", "tas_slow", "tas_failed")


def lock_delta(before: list[int], after: list[int]) -> dict[str, int]:
    return {k: b - a for k, a, b in zip(LOCK_KEYS, before, after, strict=True)} if before else {}


class Reader:
    """All rings in one epoll set; each wake-up reads every ring, then (percpu) merges."""

    def __init__(self, rings: list[tuple[int, int]], *, merge: bool) -> None:
        self.readers = [RingReader(fd, size) for fd, size in rings]
        self.epoll = select.epoll()
        for fd, _ in rings:
            self.epoll.register(fd, select.EPOLLIN)
        self.merge = merge
        self.records = 0
        self.cpu_walk = 0.0
        self.cpu_merge = 0.0

    def pump(self, timeout: float) -> int:
        self.epoll.poll(timeout)
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
        if self.merge and len(batches) > 1:
            # Per-CPU rings are each in order, not with each other: one process's open and
            # its next read may sit in two rings. One time order per wake-up (the product
            # would also hold back records newer than the slowest ring's last one).
            keyed = [(_KTIME.unpack_from(b.data, off + _KTIME_OFF)[0], i, off)
                     for i, b in enumerate(batches) for off, _ in b.spans]
            keyed.sort()
        self.cpu_merge += time.thread_time() - t1
        self.cpu_walk += t1 - t0
        self.records += got
        return got

    def close(self) -> None:
        self.epoll.close()
        for r in self.readers:
            r.close()


def run_product(lw: LockWatch, cmds: list[list[str]]) -> dict[str, Any]:
    """The product's own object (all its programs), its shared ring walked (not decoded):
    kernel drops and rqspinlock failures while the reader keeps the ring nearly empty."""
    from ebpf_monitor.config import Config
    from ebpf_monitor.loader import BpfMonitor

    cfg = Config()
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    try:
        reader = Reader([(mon.ring_fd, mon.ring_size)], merge=False)
        while reader.pump(0):
            pass
        d0, l0 = sum(mon.drops().values()), lw.counts()
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
        most = 0
        while any(p.poll() is None for p in procs):
            reader.pump(0.02)
            most = max(most, reader.readers[0].pending())
        while reader.pump(0):
            pass
        outs = [p.communicate()[0].split() for p in procs]
        d1, l1 = sum(mon.drops().values()), lw.counts()
        reader.close()
    finally:
        mon.close()
    return {"ops_per_s": sum(int(o[0]) for o in outs) / max(float(o[1]) for o in outs),
            "records": reader.records, "drops": d1 - d0, "ring_bytes": mon.ring_size,
            "most_pending_seen": most} | lock_delta(l0, l1)


def run_case(obj: Path, wl: Path, target: Path, *, percpu: bool, ring_bytes: int,
             cmds: list[list[str]], lw: LockWatch) -> dict[str, Any]:
    rings = Rings(obj, percpu=percpu, ring_bytes=ring_bytes)
    l0 = lw.counts()
    try:
        reader = Reader(rings.rings, merge=percpu)
        before = rings.counts()
        while reader.pump(0):
            pass
        reader.records = 0
        reader.cpu_walk = reader.cpu_merge = 0.0
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
        while any(p.poll() is None for p in procs):
            reader.pump(0.02)
        while reader.pump(0):
            pass
        outs = [p.communicate()[0].split() for p in procs]
        after = rings.counts()
        l1 = lw.counts()
        reader.close()
    finally:
        rings.close()
    d = [[a - b for a, b in zip(ra, rb, strict=True)] for ra, rb in zip(after, before,
                                                                          strict=True)]
    ops = sum(int(o[0]) for o in outs)
    secs = max(float(o[1]) for o in outs)
    n = max(reader.records, 1)
    return {"ops_per_s": ops / secs, "records": reader.records, "sent": sum(d[0]),
            "drops": sum(d[1]), "drops_with_room": sum(d[2]),
            "drops_by_cpu": d[1], "max_pending_at_drop": max(after[3]),
            "reader_us_walk": 1e6 * reader.cpu_walk / n,
            "reader_us_merge": 1e6 * reader.cpu_merge / n} | lock_delta(l0, l1)


def bare(wl: Path, target: Path, secs: float) -> float:
    out = subprocess.run([str(wl), "open", str(secs), str(target)], check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) / float(out[1])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--secs", type=float, default=2.0)
    p.add_argument("--ring-mib", type=int, default=64)
    p.add_argument("--json", type=Path)
    p.add_argument("--product", action="store_true",
                   help="also run each scenario against the product's object")
    args = p.parse_args()
    obj, wl = build()
    ring_bytes = args.ring_mib << 20
    ncpu = bpf.lib.libbpf_num_possible_cpus()
    results: list[dict[str, Any]] = []
    lw = LockWatch()
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "t.txt"
        target.write_text("x\n")
        s = str(args.secs)
        scenarios = {
            "paced 100k, 1 producer": [[str(wl), "paced", "100000", s, str(target)]],
            "paced 200k, 1 producer": [[str(wl), "paced", "200000", s, str(target)]],
            "open loop, 1 producer": [[str(wl), "open", s, str(target)]],
            f"open loop, {ncpu} producers (1 per CPU)": [
                ["taskset", "-c", str(c), str(wl), "open", s, str(target)]
                for c in range(ncpu)],
        }
        for rnd in range(args.rounds):
            base = bare(wl, target, args.secs)
            modes = ["shared", "percpu"] if rnd % 2 == 0 else ["percpu", "shared"]
            if args.product:
                modes.append("product")
            for name, cmds in scenarios.items():
                for mode in modes:
                    if mode == "product":
                        r = run_product(lw, cmds)
                    else:
                        r = run_case(obj, wl, target, percpu=mode == "percpu",
                                     ring_bytes=ring_bytes, cmds=cmds, lw=lw)
                    r.update(round=rnd, mode=mode, scenario=name, bare_ops_per_s=base)
                    if name.startswith("open loop, 1"):
                        r["ratio_to_bare"] = r["ops_per_s"] / base
                    results.append(r)
                    print(json.dumps(r), flush=True)
    lw.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print("\nmedians over rounds")
    for name in scenarios:
        for mode in ("shared", "percpu", "product"):
            rows = [r for r in results if r["scenario"] == name and r["mode"] == mode]
            if not rows:
                continue
            med = {k: statistics.median(r[k] for r in rows) for k in
                   ("ops_per_s", "drops", "drops_with_room", "reader_us_walk",
                    "reader_us_merge", *LOCK_KEYS) if k in rows[0]}
            ratio = (f" ratio_to_bare={statistics.median(r['ratio_to_bare'] for r in rows):.2f}"
                     if "ratio_to_bare" in rows[0] else "")
            print(f"{name:34} {mode:6} " + " ".join(f"{k}={v:.3g}" for k, v in med.items())
                  + ratio + f" drops_all={[r['drops'] for r in rows]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
