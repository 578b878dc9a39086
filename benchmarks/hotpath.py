#!/usr/bin/env python3
"""Per-event cost of the user-space hot path, away from the noise of a shared host.

    benchmarks/hotpath.py record FILE    # root: load the BPF object, run a workload mix,
                                         # save the ring's raw records
    benchmarks/hotpath.py time FILE      # decode + build + orjson encode, µs per event
    benchmarks/hotpath.py time --chunk 262144 FILE   # ... in batches as the pipeline reads them
    benchmarks/hotpath.py compare --base SRC FILE    # `time --chunk` of this tree and of another
                                         # one's src (e.g. a worktree of main), alternating
                                         # in fresh processes, round by round: ratios per round
    benchmarks/hotpath.py compare --python ...       # the same, this tree's builders alone
    benchmarks/hotpath.py compare --base-file OLD ... # the base reads OLD (its own layout)
    benchmarks/hotpath.py record --varied FILE       # root: tar of /usr/include, its
                                         # extraction, find | xargs cat | sort (many paths,
                                         # processes, reads and writes)
    benchmarks/hotpath.py record --fixture --read-write MODE FILE
                                         # root: a small batch of every record kind in one
                                         # capture mode (tests/unit/batches, fastpath's test)

The recording is a real batch (opens, reads/writes, fork/exec/exit, sockets) from this host, so
the timing covers the same builders the monitor runs. Repeated passes hit warm caches, as the
monitor does in steady state.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import gzip
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
# HOTPATH_SRC: time another tree (e.g. `git archive HEAD src`) against this one.
sys.path.insert(0, os.environ.get("HOTPATH_SRC", str(REPO / "src")))

from ebpf_monitor.config import Config  # noqa: E402
from ebpf_monitor.decode import Decoder  # noqa: E402
from ebpf_monitor.enrich import Enricher  # noqa: E402
from ebpf_monitor.ringbuf import Batch, RingReader  # noqa: E402
from ebpf_monitor.sinks.jsonl import _encode  # noqa: E402

# Every record kind, in a small batch: relative paths, renames, unlinks, pipes, a process in
# its own PID namespace, odd file names.
_FIXTURE_SHELL = r"""
cd "$1"
printf 'x\n' > rel.txt; cat rel.txt > /dev/null; cat "$1/rel.txt" | wc -c > /dev/null
mv rel.txt 'caf\303\251 \\ "q".txt'; touch "$(printf 'bad\377name')"
ln -s rel.txt link; rm -f link "$(printf 'bad\377name')"; mkdir d; rmdir d
unshare --pid --fork --mount-proc sh -c 'cat /etc/hostname > /dev/null; echo y > ns.txt'
exec 3> fd3.txt; echo z >&3; exec 3>&-
"""


def _run(argv: list[str]) -> int:
    """Run a workload step; its pid (the root of what the fixture keeps)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    if proc.wait():
        raise SystemExit(f"{argv[0]} failed")
    return proc.pid


def _own(batch: Batch, roots: list[int]) -> Batch:
    """Only the records of the workload's processes and their descendants: a fixture for the
    repository holds nothing of what else ran on the host."""
    from ebpf_monitor.abi import enum_values, layout

    fork, hdr = layout("fork_event"), layout("event_header")
    pid_i, child_i = hdr.fields.index("pid"), fork.fields.index("child_pid")
    k_fork = enum_values("event_kind")["EK_FORK"]
    ours = set(roots)
    for _ in range(2):  # a child's records may come before its parent's fork record
        for off, length in batch.spans:
            if batch.data[off] | batch.data[off + 1] << 8 == k_fork and length >= fork.size:
                v = fork.struct.unpack_from(batch.data, off)
                if v[pid_i] in ours:
                    ours.add(v[child_i])
    data, spans = bytearray(), []
    for off, length in batch.spans:
        if hdr.struct.unpack_from(batch.data, off)[pid_i] in ours:
            spans.append((len(data), length))
            data += batch.data[off: off + length] + b"\0" * (-length % 8)
    return Batch(bytes(data), spans)


def record(path: Path, *, fixture: bool = False, varied: bool = False,
           read_write: str = "all") -> None:
    from ebpf_monitor.loader import BpfMonitor

    cfg = Config.model_validate({"capture": {"read_write": read_write}})
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    try:
        reader = RingReader(mon.ring_fd, mon.ring_size)
        reader.read()  # whatever came before
        with tempfile.TemporaryDirectory() as tmp:
            binary = Path(tmp) / "workload"
            target = Path(tmp) / "t.txt"
            target.write_text("x\n")
            subprocess.run(["gcc", "-O2", "-o", str(binary), str(REPO / "benchmarks/workload.c")],
                           check=True)
            reader.read()
            if fixture:
                roots = [_run([str(binary), "count", "200", str(target)]),
                         _run(["sh", "-c", _FIXTURE_SHELL, "sh", tmp]),
                         _run([str(binary), "forkexec", "0.02"]),
                         _run([str(binary), "tcp", "0.02"])]
                batch = _own(reader.read(), roots)
                reader.close()
                path.write_bytes(gzip.compress(pickle.dumps((batch.data, batch.spans))))
                print(f"recorded {len(batch.spans)} records, {len(batch.data)} bytes",
                      file=sys.stderr)
                return
            if varied:
                subprocess.run(["tar", "cf", f"{tmp}/i.tar", "-C", "/usr/include", "."],
                               check=True)
                subprocess.run(["tar", "xf", f"{tmp}/i.tar", "-C", tmp], check=True)
                subprocess.run(f"find {tmp} -type f -name '*.h' | head -3000 | xargs cat | sort"
                               " > /dev/null", shell=True, check=True)
                batch = reader.read()
                reader.close()
                path.write_bytes(pickle.dumps((batch.data, batch.spans)))
                print(f"recorded {len(batch.spans)} records, {len(batch.data)} bytes",
                      file=sys.stderr)
                return
            subprocess.run([str(binary), "count", "20000", str(target)], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run([str(binary), "forkexec", "0.1"], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run([str(binary), "tcp", "0.1"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["tar", "cf", str(Path(tmp) / "o.tar"), "-C", str(REPO), "bpf"],
                           check=True)
            batch = reader.read()
        reader.close()
    finally:
        mon.close()
    path.write_bytes(pickle.dumps((batch.data, batch.spans)))
    print(f"recorded {len(batch.spans)} records, {len(batch.data)} bytes", file=sys.stderr)


def _chunks(batch: Batch, chunk: int | None) -> list[Batch]:
    """The batch as the pipeline reads it: ~`chunk` bytes of ring at a time (None: whole)."""
    if chunk is None:
        return [batch]
    out: list[Batch] = []
    cur: list[tuple[int, int]] = []
    size = 0
    for off, length in batch.spans:
        step = (length + 8 + 7) & ~7  # with the ring's record header, 8-byte aligned
        if cur and size + step > chunk:
            out.append(Batch(batch.data, cur))
            cur, size = [], 0
        cur.append((off, length))
        size += step
    if cur:
        out.append(Batch(batch.data, cur))
    return out


def timing(path: Path, passes: int, chunk: int | None = None, *,
           python: bool = False) -> dict[str, float]:
    data, spans = pickle.loads(path.read_bytes())
    batches = _chunks(Batch(data, spans), chunk)
    if chunk is not None:  # as cli.py does: freed batch buffers stay in the heap
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 16 * 1024 * 1024)  # M_TRIM_THRESHOLD
    en = Enricher()
    prefixes = tuple(Config().filters.ignore_path_prefixes)
    # python: the builders alone (a tree with the compiled core, as without the extension)
    dec = (Decoder(en, ignored_prefixes=prefixes, compiled=False) if python
           else Decoder(en, ignored_prefixes=prefixes))
    docs = [d for b in batches for d in dec.decode(b)]  # warm the caches
    # The tree's own sink encoder takes what its builders give (Documents here, text in
    # older trees); a tree whose encoder takes text but builders give Documents: map to .json.
    try:
        _encode(docs[:1])
        as_text = False
    except (AttributeError, TypeError):
        as_text = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)  # as cli.py does
    best_dec = best_enc = float("inf")
    best_cpu = float("inf")
    for _ in range(passes):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        decoded = [dec.decode(b) for b in batches]
        t1 = time.perf_counter()
        for d in decoded:  # as the tree's Pipeline.deliver hands them to the sink
            _encode([x if isinstance(x, str) else x.json for x in d] if as_text else d)
        t2 = time.perf_counter()
        best_cpu = min(best_cpu, time.thread_time() - c0)
        best_dec = min(best_dec, t1 - t0)
        best_enc = min(best_enc, t2 - t1)
    docs = [d for part in decoded for d in part]
    n = len(spans)
    kinds: dict[str, int] = {}
    for doc in docs:
        a = orjson.loads(doc if isinstance(doc, str) else doc.json)["event"]["action"]
        kinds[a] = kinds.get(a, 0) + 1
    fast = getattr(dec, "fast", None)
    return {"records": n, "decode_build_us": 1e6 * best_dec / n,
            "encode_us": 1e6 * best_enc / n, "total_us": 1e6 * (best_dec + best_enc) / n,
            "cpu_us": 1e6 * best_cpu / n, "compiled": fast is not None, "mix": kinds}  # type: ignore[dict-item]


def compare(path: Path, base: Path, rounds: int, passes: int, chunk: int,
            python: bool = False, metric: str = "total_us",
            base_file: Path | None = None) -> None:
    """This tree against `base` (another tree's src), each round in fresh processes, the
    order alternating; the per-round ratio is base / this (`python`: this tree's builders
    alone, the compiled core off; `metric` cpu_us: the thread's CPU time, not wall time, for
    a host whose other load makes wall time wander; `base_file`: the base's records when its
    record layout differs, e.g. the same records without header fields added since)."""
    trees = {"base": str(base), "this": str(REPO / "src")}
    files = {"base": str(base_file or path), "this": str(path)}
    got: dict[str, list[float]] = {"base": [], "this": []}
    for r in range(rounds):
        for name in (("base", "this") if r % 2 == 0 else ("this", "base")):
            out = subprocess.run(
                [sys.executable, __file__, "time", "--passes", str(passes), "--chunk",
                 str(chunk), files[name]] + (["--python"] if python and name == "this" else []),
                env=dict(os.environ, HOTPATH_SRC=trees[name]),
                check=True, capture_output=True, text=True).stdout
            fields = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
            got[name].append(float(fields[metric]))
        print(f"round {r + 1}: base {got['base'][-1]:.2f} µs/event, this "
              f"{got['this'][-1]:.2f} µs/event, x{got['base'][-1] / got['this'][-1]:.2f}",
              flush=True)
    ratios = sorted(b / t for b, t in zip(got["base"], got["this"], strict=True))
    print(f"{path.name}: {fields['records']} records; base {statistics.median(got['base']):.2f}"
          f" µs/event, this {statistics.median(got['this']):.2f} µs/event (medians); x faster "
          f"per round: {', '.join(f'{x:.2f}' for x in ratios)} (median "
          f"{statistics.median(ratios):.2f})")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["record", "time", "compare"])
    p.add_argument("file", type=Path)
    p.add_argument("--passes", type=int, default=7)
    p.add_argument("--chunk", type=int, help="time: bytes of ring per batch (default: all)")
    p.add_argument("--base", type=Path, help="compare: the other tree's src directory")
    p.add_argument("--base-file", type=Path,
                   help="compare: the base tree's records, when its layout differs")
    p.add_argument("--rounds", type=int, default=6, help="compare: rounds (default 6)")
    p.add_argument("--varied", action="store_true", help="record: tar, find, cat, sort")
    p.add_argument("--cpu", action="store_true",
                   help="compare: by the thread's CPU time per event, not wall time")
    p.add_argument("--python", action="store_true",
                   help="time/compare: this tree's builders alone (compiled core off)")
    p.add_argument("--fixture", action="store_true",
                   help="record: a small batch of every kind (gzip'ed), for the unit tests")
    p.add_argument("--read-write", default="all", choices=["all", "first", "none"],
                   help="record: capture.read_write (default %(default)s)")
    args = p.parse_args()
    if args.mode == "record":
        record(args.file, fixture=args.fixture, varied=args.varied,
               read_write=args.read_write)
    elif args.mode == "compare":
        if args.base is None:
            p.error("compare needs --base SRC")
        compare(args.file, args.base, args.rounds, args.passes, args.chunk or 256 * 1024,
                args.python, "cpu_us" if args.cpu else "total_us", args.base_file)
    else:
        r = timing(args.file, args.passes, args.chunk, python=args.python)
        print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
