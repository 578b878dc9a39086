"""Peak memory of the monitor with the Elasticsearch sink, old tree against new, one run.

    .venv/bin/python benchmarks/es_memory.py [--docs 200000] [--rounds 2] [--base REF]
        [--tree NAME=REF]... [--base-tree DIR] [--variant NAME[:ENV=VAL,...]]... [--sample]
        [--profile N] [--trim] [--probe NAME]... [--json FILE]

The shape of BENCHMARKS.md's section 4 (benchmarks/runner.py, `elasticsearch`): a local node
(scripts/elasticsearch.py), the monitor with `storage_type: elasticsearch` (batch_size 1000,
flush_interval 1, the node's own files and threads filtered out), a burst of `--docs`
open+close (`workload count`, built as `esmemburst`), waited on until everything is indexed.
Each run gets a fresh index. Unlike the suite, the monitor ignores the comms of what else runs
on a shared host (NOISE_COMMS: other sessions' workloads, Python tests, compilers), so every
setup sees the same burst; the suite's run indexed 330k such documents beside its 200k.
Sampled from outside every 0.1 s: VmRSS, RssAnon and RssFile of the monitor; at the end its
VmHWM (what the suite reports as peak RSS).

Setups take turns within each round (same node, same host noise):
- `new`: this tree;
- `old`: the tree at `--base` (git archive of src/, with this tree's built BPF objects and
  compiled core, which must be unchanged since REF), run with PYTHONPATH pointing at it;
- `--tree NAME=REF`: more trees archived as `old` is (e.g. a step of the change on its own);
- `base`: `--base-tree DIR`, a checkout set up on its own (its .venv, its BPF objects), for a
  tree whose BPF or C sources differ from this one's (e.g. the reader before its refactor);
- `--variant NAME:ENV=VAL,...`: this tree with extra environment (e.g. MALLOC_ARENA_MAX=2),
  `old-NAME:...` / `base-NAME:...` for the old / base tree with it.
`--profile N` (tracemalloc with N frames) or `--trim`: one more run of each tree (or of each
`--probe NAME` setup) under benchmarks/es_memory_probe.py, which samples glibc's malloc
statistics, smaps and the sink's bulks in flight inside the monitor; their reports go to the
work directory (printed). `--sample`: every round's run under the probe too (no tracemalloc,
no trim), its view at the RSS high in the JSON. Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import REPO
from tests.harness.workloads import build_c_workload

from benchmarks.es_catchup import tree_src
from benchmarks.runner import ES_BATCH, es_figures, load_es_script, wait_es_idle
from benchmarks.setups import BenchMonitor

PROBE = REPO / "benchmarks" / "es_memory_probe.py"
NOISE_COMMS = ["java", "elasticsearch[n", "workload", "python", "python3", "pytest", "mypy",
               "chromium", "clang", "cc1", "gcc", "ld", "make", "bpftool", "duckdb", "node",
               "ruff", "bash", "git", "Chrome_IOThread", "Chrome_ChildIOT", "ThreadPoolForeg",
               "Compositor", "CacheThread_Blo", "VizCompositorTh", "ThreadPoolSingl", "grep",
               "sh", "cat", "tail", "find", "tar", "true", "as", "collect2"]


def log(msg: str) -> None:
    print(f"[es-mem {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Setup:
    name: str
    src: Path | None  # None: this tree (the editable install)
    env: dict[str, str] = field(default_factory=dict)
    probe: dict[str, str] | None = None  # the probe's environment, None: no probe
    python: str = sys.executable  # a --base-tree checkout runs with its own .venv


def old_tree(work: Path, ref: str) -> Path:
    """src/ of `ref`, with this tree's built BPF objects and compiled core (refused if their
    sources changed since `ref`)."""
    changed = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", ref, "--", "bpf",
                              "src/ebpf_monitor/_fastcore.c", "setup.py"])
    if changed.returncode != 0:
        raise SystemExit(f"es_memory: the BPF or C sources changed since {ref}: build that "
                         "tree on its own")
    src = tree_src(work, ref)
    (src / "ebpf_monitor/bpf").mkdir(parents=True, exist_ok=True)
    for obj in (REPO / "src/ebpf_monitor/bpf").glob("*.o"):
        shutil.copy2(obj, src / "ebpf_monitor/bpf" / obj.name)
    for so in (REPO / "src/ebpf_monitor").glob("_fastcore*.so"):
        shutil.copy2(so, src / "ebpf_monitor" / so.name)
    return src


def command(setup: Setup) -> list[str]:
    env = dict(setup.env)
    if setup.src is not None:
        env["PYTHONPATH"] = str(setup.src)
    if setup.probe is not None:
        env.update(setup.probe)
        run = [setup.python, str(PROBE)]
    else:
        run = [setup.python, "-m", "ebpf_monitor"]
    return ["env", *(f"{k}={v}" for k, v in env.items()), *run]


def status_kb(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                out[key] = int(value.split()[0])
    return out


class Sampler:
    """/proc/PID/status every 0.1 s on a thread, until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.rows.append({"t": time.time(), **status_kb(self.pid)})
            except OSError:
                return

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join()
        return self.rows


def one_run(work: Path, setup: Setup, server: Any, client: Any, es_cache: str, bin_: Path,
            target: Path, docs: int, tag: str) -> dict[str, Any]:
    from ebpf_monitor.config import DEFAULT_IGNORE_PATH_PREFIXES

    index = f"esmem-{tag}"
    run_dir = work / f"mon-{tag}"
    shutil.rmtree(run_dir, ignore_errors=True)
    if setup.probe is not None:
        setup.probe["EBPF_MEM_PROBE"] = str(run_dir / "probe")
        (run_dir / "probe").mkdir(parents=True)
    mon = BenchMonitor(run_dir, {
        "storage_type": "elasticsearch",
        "es_config": {"es_host": "127.0.0.1", "es_port": server.port, "es_index": index,
                      "batch_size": ES_BATCH, "flush_interval": 1},
        "filters": {"ignore_comms": NOISE_COMMS,
                    "ignore_path_prefixes": [*DEFAULT_IGNORE_PATH_PREFIXES, es_cache]},
    })
    mon.command = command(setup)
    mon.start(timeout=300)  # tracemalloc slows the start several times over
    try:
        sampler = Sampler(mon.pid)
        time.sleep(2)
        series: list[tuple[float, int, int]] = []
        before = wait_es_idle(mon, series, timeout=300)
        idle = status_kb(mon.pid)
        t0 = time.time()
        subprocess.run([str(bin_), "count", str(docs), str(target)], check=True,
                       capture_output=True)
        burst_s = time.time() - t0
        after = wait_es_idle(mon, series, before[1] + docs, timeout=1800)
        end = status_kb(mon.pid)
        rows = sampler.stop()
        es_figures(mon, series)
    finally:
        mon.result = mon.finish()
    shutil.rmtree(mon.events_dir, ignore_errors=True)  # events and spool: GBs on a busy host
    peak = max(rows, key=lambda r: r["VmRSS"]) if rows else end
    res = {
        "setup": setup.name, "tag": tag, "indexed": after[1] - before[1],
        "window_s": after[0] - t0, "burst_s": burst_s,
        "rate": (after[1] - before[1]) / max(after[0] - t0, 1e-9),
        "vmhwm_mb": mon.peak_rss, "idle_rss_mb": idle["VmRSS"] / 1024,
        "end": {k: v / 1024 for k, v in end.items() if k != "Threads"},
        "peak_rss_mb": peak["VmRSS"] / 1024, "peak_anon_mb": peak["RssAnon"] / 1024,
        "peak_file_mb": peak["RssFile"] / 1024, "peak_at_s": peak["t"] - t0,
        "max_threads": max((r["Threads"] for r in rows), default=0),
        "max_pending": max((s[2] for s in series), default=0),
        "rss_series": [(round(r["t"] - t0, 1), r["VmRSS"] // 1024, r["RssAnon"] // 1024)
                       for r in rows[::5]],
        "rc": mon.result.get("rc"),
    }
    if setup.probe is not None:
        res["probe_dir"] = str(run_dir / "probe")
        high = run_dir / "probe" / "high.json"
        if high.exists():  # the probe's view at the RSS high: arenas, smaps, threads
            res["high"] = json.loads(high.read_text())
            log(f"{tag} at the RSS high: {json.dumps(res['high'])}")
    try:
        client.indices.delete(index=f"{index}*")
    except Exception as exc:  # best effort: the node is stopped at the end anyway
        log(f"cannot delete {index}*: {exc}")
    log(f"{tag}: VmHWM {res['vmhwm_mb']:.0f} MB, peak RssAnon {res['peak_anon_mb']:.0f} MB"
        f" at +{res['peak_at_s']:.1f}s, idle RSS {res['idle_rss_mb']:.0f} MB, {res['indexed']}"
        f" indexed in {res['window_s']:.1f}s ({res['rate']:.0f}/s), max pending"
        f" {res['max_pending']}, threads {res['max_threads']}")
    return res


def base_setup(tree: Path, name: str = "base") -> Setup:
    """A checkout with its own .venv and built BPF objects (`--base-tree`)."""
    python = tree / ".venv" / "bin" / "python"
    if not python.exists() or not any((tree / "src/ebpf_monitor/bpf").glob("*.o")):
        raise SystemExit(f"es_memory: {tree} is not set up (its .venv and BPF objects)")
    return Setup(name, tree / "src", python=str(python))


def parse_variant(text: str, old: Path | None, base: Path | None) -> Setup:
    name, _, assigns = text.partition(":")
    env = dict(a.split("=", 1) for a in assigns.split(",") if a)
    if name.startswith("old-"):
        if old is None:
            raise SystemExit(f"es_memory: variant {name} needs --base")
        return Setup(name, old, env)
    if name.startswith("base-"):
        if base is None:
            raise SystemExit(f"es_memory: variant {name} needs --base-tree")
        setup = base_setup(base, name)
        setup.env = env
        return setup
    return Setup(name, None, env)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--base", help="git ref of the old tree (the `old` setup)")
    p.add_argument("--tree", action="append", default=[], metavar="NAME=REF",
                   help="one more tree, archived as --base's (same BPF and C sources)")
    p.add_argument("--base-tree", type=Path,
                   help="a checkout with its own .venv and BPF objects (the `base` setup)")
    p.add_argument("--variant", action="append", default=[],
                   help="NAME:ENV=VAL,... (NAME old-*: on the old tree)")
    p.add_argument("--no-new", action="store_true", help="no plain run of this tree")
    p.add_argument("--profile", type=int, default=0, metavar="FRAMES",
                   help="one probed run per tree, tracemalloc with FRAMES frames (0: none)")
    p.add_argument("--trim", action="store_true", help="the probed runs call malloc_trim")
    p.add_argument("--probe", action="append", default=[], metavar="NAME",
                   help="probe this setup (default with --profile/--trim: each tree)")
    p.add_argument("--sample", action="store_true",
                   help="every round's run under the probe, without tracemalloc or trim")
    p.add_argument("--work", type=Path)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    # Started in the background by a shell, SIGINT is ignored: SIGTERM stops node and monitor.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    work = args.work or Path(tempfile.mkdtemp(prefix="es-mem-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    old = old_tree(work, args.base) if args.base else None
    setups = [] if args.no_new else [Setup("new", None)]
    if old is not None:
        setups.insert(0, Setup("old", old))
    for spec in args.tree:
        name, _, ref = spec.partition("=")
        setups.append(Setup(name, old_tree(work, ref)))
    if args.base_tree is not None:
        setups.insert(0, base_setup(args.base_tree))
    setups += [parse_variant(v, old, args.base_tree) for v in args.variant]
    if args.sample:
        for s in setups:
            s.probe = {}
    probed = []
    if args.profile or args.trim:
        probe_env = {"EBPF_MEM_TRACE": str(args.profile)} | (
            {"EBPF_MEM_TRIM": "1"} if args.trim else {})
        names = args.probe or [s.name for s in setups if s.name in ("base", "old", "new")]
        for s in setups:
            if s.name in names:
                probed.append(Setup(f"{s.name}-probed", s.src, dict(s.env),
                                    probe=dict(probe_env), python=s.python))

    bin_ = build_c_workload(work / "esmemburst")
    target = work / "target.txt"
    target.write_text("x\n")
    script = load_es_script()
    script.fetch()
    log(f"starting a local Elasticsearch node; work in {work}")
    server = script.start()
    results: list[dict[str, Any]] = []
    try:
        from elasticsearch import Elasticsearch

        client = Elasticsearch(server.url, request_timeout=120)
        es_cache = str(script.cache_dir()) + "/"
        # Warm-up: the first load of a cold JVM is slower; not counted.
        first = setups[0] if setups else Setup("new", None)
        warm = Setup("warm-up", first.src, python=first.python)
        one_run(work, warm, server, client, es_cache, bin_, target, min(args.docs, 20_000),
                "warmup")
        for r in range(args.rounds):
            order = setups if r % 2 == 0 else setups[::-1]
            for s in order:
                results.append(one_run(work, s, server, client, es_cache, bin_, target,
                                        args.docs, f"{s.name}-{r}"))
        for s in probed:
            results.append(one_run(work, s, server, client, es_cache, bin_, target, args.docs,
                                   s.name))
    finally:
        log("stopping the Elasticsearch node")
        script.stop(server)
    summary: dict[str, Any] = {}
    for s in setups + probed:
        mine = [r for r in results if r["setup"] == s.name]
        summary[s.name] = {
            "vmhwm_mb": [round(r["vmhwm_mb"]) for r in mine],
            "peak_anon_mb": [round(r["peak_anon_mb"]) for r in mine],
            "median_vmhwm_mb": statistics.median(r["vmhwm_mb"] for r in mine),
            "rate": [round(r["rate"]) for r in mine],
        }
        print(f"{s.name:>14}: VmHWM {summary[s.name]['vmhwm_mb']} MB (median"
              f" {summary[s.name]['median_vmhwm_mb']:.0f}), peak RssAnon"
              f" {summary[s.name]['peak_anon_mb']} MB, docs/s {summary[s.name]['rate']}")
    for r in results:
        if "probe_dir" in r:
            print(f"{r['setup']}: probe reports in {r['probe_dir']}")
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv, "summary": summary,
                                         "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
