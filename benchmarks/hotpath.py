#!/usr/bin/env python3
"""Per-event cost of the user-space hot path, away from the noise of a shared host.

    benchmarks/hotpath.py record FILE    # root: load the BPF object, run a workload mix,
                                         # save the ring's raw records
    benchmarks/hotpath.py time FILE      # decode + build + orjson encode, µs per event

The recording is a real batch (opens, reads/writes, fork/exec/exit, sockets) from this host, so
the timing covers the same builders the monitor runs. Repeated passes hit warm caches, as the
monitor does in steady state.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
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


def record(path: Path) -> None:
    from ebpf_monitor.loader import BpfMonitor

    cfg = Config()
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


def timing(path: Path, passes: int) -> dict[str, float]:
    data, spans = pickle.loads(path.read_bytes())
    batch = Batch(data, spans)
    en = Enricher()
    dec = Decoder(en, ignored_prefixes=tuple(Config().filters.ignore_path_prefixes))
    docs = dec.decode(batch)  # warm the caches
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)  # as cli.py does
    best_dec = best_enc = float("inf")
    for _ in range(passes):
        t0 = time.perf_counter()
        docs = dec.decode(batch)
        t1 = time.perf_counter()
        _encode([d if isinstance(d, str) else d.json for d in docs])  # Document or (before) str
        t2 = time.perf_counter()
        best_dec = min(best_dec, t1 - t0)
        best_enc = min(best_enc, t2 - t1)
    n = len(spans)
    kinds: dict[str, int] = {}
    for doc in docs:
        a = orjson.loads(doc if isinstance(doc, str) else doc.json)["event"]["action"]
        kinds[a] = kinds.get(a, 0) + 1
    return {"records": n, "decode_build_us": 1e6 * best_dec / n,
            "encode_us": 1e6 * best_enc / n, "total_us": 1e6 * (best_dec + best_enc) / n,
            "mix": kinds}  # type: ignore[dict-item]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["record", "time"])
    p.add_argument("file", type=Path)
    p.add_argument("--passes", type=int, default=7)
    args = p.parse_args()
    if args.mode == "record":
        record(args.file)
    else:
        r = timing(args.file, args.passes)
        print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
