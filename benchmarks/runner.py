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
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness import REPO, metric, scrape_metrics, wait_until

from .report import machine, render
from .setups import (
    BenchMonitor,
    auditd_running,
    bpftrace_running,
    peers_available,
    rss_parts_mb,
)
from .workloads import FULL, SETTLE_S, SMOKE, Sizes, Workloads, log, sh

__all__ = ["main"]


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
# Part 1 + 2: overhead


# read/write at all, which is what the peers' rules and script trace (none of them has reads).
MONITOR_VARIANTS: dict[str, dict[str, Any]] = {
    "monitor, read_write first": {"read_write": "first"},
    "monitor, read_write none": {"read_write": "none"},
    # The real-path walk is the hottest hook's largest single cost (issue #12): its price.
    "monitor, real_paths false": {"real_paths": False},
}


def settle(handle: Any) -> None:
    """Start every workload on a quiet host: the same pause for every setup, and the monitor's
    ring drained first, so one workload's backlog is not charged to the next one."""
    if isinstance(handle, BenchMonitor):
        handle.wait_drained(120)
    time.sleep(SETTLE_S)


def _variant(work: Path, capture: dict[str, Any]) -> contextlib.AbstractContextManager[Any]:
    return BenchMonitor(work / "mon-variant", {"capture": capture}).running()


def base_setup(work: Path, tree: Path) -> tuple[str, Callable[[], Any]]:
    """The monitor of another checkout (its own .venv, built by its `make setup`), so a change
    is judged against its base in the same run rather than against an older table."""
    rev = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=True).stdout.strip()
    command = [str(tree / ".venv" / "bin" / "python"), "-m", "ebpf_monitor"]
    return (f"monitor @ {rev}",
            lambda: BenchMonitor(work / "mon-base", command=command).running())


def overhead(work: Path, sizes: Sizes, wl: Workloads, with_peers: bool,
             base: Path | None = None) -> dict[str, Any]:
    setups: dict[str, Callable[[], contextlib.AbstractContextManager[Any]]] = {
        "bare": contextlib.nullcontext,
        "monitor": lambda: BenchMonitor(work / "mon-overhead").running(),
    }
    if base is not None:
        name, setup = base_setup(work, base)
        setups[name] = setup
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
            if isinstance(handle, BenchMonitor):
                monitor_runs.append({"setup": name, **handle.result})
    return {"raw": raw, "noise": noise, "monitor_runs": monitor_runs}


# ---------------------------------------------------------------------------------------------
# Part 3 + 5: capacity, CPU, memory


DRAIN_RING = 256 * 1024 * 1024


def capacity(work: Path, sizes: Sizes, wl: Workloads) -> dict[str, Any]:
    mon = BenchMonitor(work / "mon-capacity")
    rows = []
    with mon.running():
        time.sleep(1.5)
        for rate in sizes.rates:
            before = mon.wait_drained()
            room0 = mon.drops_with_room()
            cpu0 = mon.cpu()
            t0 = time.monotonic()
            out = sh([str(wl.bin), "paced", str(rate), str(sizes.paced_secs), str(wl.target)])
            ops, secs = out.stdout.split()
            after = mon.wait_drained()
            room = mon.drops_with_room() - room0
            wall = time.monotonic() - t0
            cpu = mon.cpu() - cpu0
            rows.append({
                "target_rate": rate, "achieved_rate": int(ops) / float(secs),
                "monitor_events": after[1] - before[1], "window_s": wall,
                "cpu_s": cpu, "cpu_pct_of_core": 100 * cpu / float(secs),
                "drops": after[2] - before[2], "drops_with_room": room,
            })
            log(f"paced {rate}/s: {rows[-1]}")
        # Flat out: one producer core as fast as it goes (the reader has the other core).
        before = mon.wait_drained()
        room0 = mon.drops_with_room()
        cpu0 = mon.cpu()
        out = sh([str(wl.bin), "open", str(sizes.paced_secs), str(wl.target)])
        ops, secs = out.stdout.split()
        after = mon.wait_drained()
        flat = {"achieved_rate": int(ops) / float(secs), "drops": after[2] - before[2],
                "drops_with_room": mon.drops_with_room() - room0,
                "cpu_pct_of_core": 100 * (mon.cpu() - cpu0) / float(secs)}
        log(f"flat out: {flat}")
    res = mon.result
    # Reader capacity: stop the reader, queue events in the ring, let it go, time the drain.
    # A ring big enough for the whole burst: this measures the reader, not the ring's size.
    big = BenchMonitor(work / "mon-drain", {"capture": {"ring_buffer_bytes": DRAIN_RING}})
    with big.running():
        time.sleep(1.5)
        before = big.wait_drained()
        room0 = big.drops_with_room()
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
                 "ring_bytes": DRAIN_RING, "drops_with_room": big.drops_with_room() - room0}
        # Sampled every 0.1 s: the drain time is an upper bound, the rate a floor.
        drain["rate_floor"] = drained / max(drain["drain_s"], 1e-3)
        log(f"drain: {drain}")
    return {"paced": rows, "flat": flat, "drain": drain, "final": res,
            "peak_rss_mb": mon.peak_rss}


# ---------------------------------------------------------------------------------------------
# Part 4: Elasticsearch

ES_SCRIPT = REPO / "scripts" / "elasticsearch.py"
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


def es_figures(mon: BenchMonitor, series: list[tuple[float, int, int]]) -> tuple[float, int, int]:
    """(wall time, indexed, pending) of the monitor's Elasticsearch sink, scraped from its
    Prometheus endpoint; also appended to `series`."""
    s = scrape_metrics(mon)
    now = (time.time(), int(metric(s, "ebpf_monitor_sink_written_total", sink="elasticsearch")),
           int(metric(s, "ebpf_monitor_sink_pending", sink="elasticsearch")))
    series.append(now)
    return now


def wait_es_idle(mon: BenchMonitor, series: list[tuple[float, int, int]], min_indexed: int = 0,
                 timeout: float = 60) -> tuple[float, int, int]:
    """Wait for less than one batch pending (the background trickle, e.g. this script's own
    reads, is sent by flush_interval) and at least `min_indexed` indexed; every sample taken
    goes into `series`."""

    def idle() -> tuple[float, int, int] | None:
        now = es_figures(mon, series)
        return now if now[2] < ES_BATCH and now[1] >= min_indexed else None

    return wait_until(idle, timeout=timeout, interval=0.1,
                      what=f"the elasticsearch sink idle with {min_indexed} indexed",
                      seen=lambda: series[-3:])


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
        mon = BenchMonitor(work / "mon-es", {
            "storage_type": "elasticsearch",
            "es_config": {"es_host": "127.0.0.1", "es_port": server.port,
                          "es_index": ES_INDEX, "batch_size": ES_BATCH, "flush_interval": 1},
            "filters": {"ignore_comms": ["java", "elasticsearch[n"],
                        "ignore_path_prefixes": [*DEFAULT_IGNORE_PATH_PREFIXES, es_cache]},
        })
        with mon.running():
            time.sleep(2)
            samples: list[tuple[float, int, int]] = []
            before = wait_es_idle(mon, samples)
            t0 = time.time()
            cpu0 = mon.cpu()
            sh([str(wl.bin), "count", str(sizes.es_docs), str(wl.target)])
            burst_s = time.time() - t0
            after = wait_es_idle(mon, samples, before[1] + sizes.es_docs, timeout=1800)
            cpu = mon.cpu() - cpu0
            rss = rss_parts_mb(mon.pid)
            drops = mon.figures()[2]
            series = [s for s in samples if before[0] <= s[0] <= after[0]]
        rss["VmHWM"] = mon.peak_rss
        indexed = after[1] - before[1]
        window = after[0] - t0
        # Steady state: between the first and last sample with a batch or more pending.
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one round (< 60 s)")
    p.add_argument("--rounds", type=int, help="rounds of the overhead table")
    p.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    p.add_argument("--skip-peers", action="store_true", help="no auditd/bpftrace columns")
    p.add_argument("--skip-es", action="store_true")
    p.add_argument("--base", type=Path, metavar="TREE",
                   help="add the monitor of another checkout (set up with its `make setup`) "
                        "as an overhead column, e.g. the commit a change starts from")
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
            results["overhead"] = overhead(work, sizes, wl, not (args.smoke or args.skip_peers),
                                           args.base)
        if "capacity" in parts:
            results["capacity"] = capacity(work, sizes, wl)
        if "es" in parts and not (args.smoke or args.skip_es):
            results["elasticsearch"] = elasticsearch(work, sizes, wl)
        if "provenance" in parts:  # issue 13's analysis side: benchmarks/provenance.py
            from benchmarks import provenance as provenance_bench

            results["provenance"] = provenance_bench.run(
                work, smoke=args.smoke, with_es=not (args.smoke or args.skip_es))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(results, args))
    raw = {k: v for k, v in results.items() if k != "sizes_obj"}
    args.output.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
    log(f"wrote {args.output}")
    return 0
