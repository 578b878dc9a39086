"""Catch-up after an Elasticsearch outage: the sink's spool backlog against parallel_bulk.

Issue #11 (9): after an outage the monitor indexed its backlog at ~8-10k documents/s. This
measures, in one run on one local node, the same documents loaded two ways:

- sink: real monitor documents spooled by an ElasticsearchSink while the cluster is unreachable
  (a closed port), then a new sink on the same spool and the live node, timed from its start
  until nothing is pending (the path a monitor takes after an outage or a restart);
- parallel_bulk: `elasticsearch.helpers.parallel_bulk` (its defaults: 4 threads, chunks of
  500) of the same documents, `create` with the same `_id`s, in two forms: each source as the
  JSON text the monitor wrote (`raw`: no serialization, what the sink sends too) and parsed
  beforehand into dicts that orjson serializes again (`dicts`: the usual way to call it).

- sink, one bulk at a time: the same sink with CATCHUP_BATCHES 1 and no bigger catch-up bulks,
  which is how it sent before issue #11 (one `batch_size` bulk, answer, next).

- `--tree NAME=REF[@CONST=INT,...]` (repeatable; `.` is this tree): the sink of the tree at git
  REF (its src/, archived; the worker module's constants set as given), each run in a fresh
  process of its own on a copy of one spool written beforehand, so trees compare in one run:
  rate, and the process's peak RSS (VmHWM) with what it had before the sink started;
  `--trees-only` leaves out the other loaders.

Each into a fresh index with the sink's template, after a warm-up load of the node (the first
load on a cold JVM is slower); rounds alternate the loaders. Not a test: it asserts nothing
about time, it prints figures (and --json writes them) for BENCHMARKS.md.

    .venv/bin/python benchmarks/es_catchup.py [--docs 200000] [--rounds 2] [--json FILE]
        [--tree NAME=REF]... [--trees-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
# A child measuring another tree's sink (--tree) imports that tree's package.
sys.path.insert(0, os.environ.get("EBPF_CATCHUP_SRC") or str(REPO / "src"))

from ebpf_monitor.config import ElasticsearchConfig  # noqa: E402
from ebpf_monitor.replay import document_from_line  # noqa: E402
from ebpf_monitor.sinks.elasticsearch import ElasticsearchSink, index_template  # noqa: E402
from ebpf_monitor.sinks.elasticsearch import worker as es_sink  # noqa: E402

OPENS = """
import os, sys
for _ in range(int(sys.argv[2])):
    os.close(os.open(sys.argv[1], os.O_RDONLY))
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_es_script() -> Any:
    path = REPO / "scripts" / "elasticsearch.py"
    spec = importlib.util.spec_from_file_location("ebpf_monitor_es_script", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def capture_documents(work: Path, count: int) -> list[str]:
    """Real monitor documents: `count` open+close through a real monitor, read back."""
    events = work / "capture"
    config = work / "capture.json"
    config.write_text(json.dumps({"events_dir": str(events), "stats_interval": 1}))
    config.chmod(0o600)
    target = work / "target"
    target.write_text("x")
    err = open(work / "capture.stderr", "wb")  # noqa: SIM115
    mon = subprocess.Popen([sys.executable, "-m", "ebpf_monitor", "--config", str(config)],
                           stderr=err, env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    try:
        deadline = time.monotonic() + 120
        while b"monitoring:" not in (work / "capture.stderr").read_bytes():
            if time.monotonic() > deadline or mon.poll() is not None:
                raise RuntimeError("capture monitor did not start")
            time.sleep(0.2)
        # Paced in slices, so that the ring never overflows on a busy host.
        left = count
        while left > 0:
            n = min(left, 20_000)
            subprocess.run([sys.executable, "-c", OPENS, str(target), str(n)], check=True)
            left -= n
            time.sleep(0.5)
    finally:
        mon.send_signal(signal.SIGTERM)
        mon.wait(120)
        err.close()
    lines = (events / "events.jsonl").read_bytes().splitlines()
    return [x.decode() for x in lines if b'"action":"loss"' not in x]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def es_cfg(port: int, index: str, batch_size: int) -> ElasticsearchConfig:
    return ElasticsearchConfig(es_host="127.0.0.1", es_port=port, es_index=index,
                               batch_size=batch_size, flush_interval=1.0, request_timeout=30)


def sink_catchup(work: Path, port: int, docs: list[str], index: str,
                 batch_size: int, *, sequential: bool = False) -> dict[str, Any]:
    """Spool `docs` with the cluster unreachable, then time a fresh sink's catch-up
    (`sequential`: one `batch_size` bulk at a time, as before)."""
    saved = es_sink.CATCHUP_BATCHES, es_sink.CATCHUP_BATCH_SIZE
    if sequential:
        es_sink.CATCHUP_BATCHES, es_sink.CATCHUP_BATCH_SIZE = 1, 0
    try:
        return _sink_catchup(work, port, docs, index, batch_size)
    finally:
        es_sink.CATCHUP_BATCHES, es_sink.CATCHUP_BATCH_SIZE = saved


def _sink_catchup(work: Path, port: int, docs: list[str], index: str,
                  batch_size: int) -> dict[str, Any]:
    spool = work / f"spool-{index}"
    shutil.rmtree(spool, ignore_errors=True)
    down = ElasticsearchSink(es_cfg(closed_port(), index, batch_size),
                             dead_letter_path=work / f"dl-{index}.jsonl", spool_dir=spool,
                             close_timeout=0.1)
    documents = [document_from_line(d) for d in docs]
    for i in range(0, len(documents), 2000):
        down.write(documents[i: i + 2000])
    down.close()
    t0 = time.monotonic()
    up = ElasticsearchSink(es_cfg(port, index, batch_size),
                           dead_letter_path=work / f"dl-{index}.jsonl", spool_dir=spool)
    done = up.drain(1800)
    secs = time.monotonic() - t0
    stats = up.stats()
    up.close()
    return {"docs": len(docs), "secs": secs, "rate": len(docs) / secs, "drained": done,
            "indexed": stats.indexed, "dead_lettered": stats.dead_lettered}


def status_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                out[key] = int(value.split()[0])
    return out


def spool_documents(work: Path, docs: list[str], batch_size: int) -> Path:
    """One spool of `docs`, written by this tree's sink with the cluster unreachable."""
    spool = work / "spool-master"
    shutil.rmtree(spool, ignore_errors=True)
    down = ElasticsearchSink(es_cfg(closed_port(), "catchup", batch_size),
                             dead_letter_path=work / "dl-master.jsonl", spool_dir=spool,
                             close_timeout=0.1)
    documents = [document_from_line(d) for d in docs]
    for i in range(0, len(documents), 2000):
        down.write(documents[i: i + 2000])
    down.close()
    return spool


def child_catchup(spec: dict[str, Any]) -> dict[str, Any]:
    """In the child: a fresh sink of this process's tree on the spool copy, timed until
    nothing is pending; its peak RSS, and the RSS before the sink was made."""
    spool = Path(spec["spool"])
    for name, value in spec.get("patch", {}).items():
        setattr(es_sink, name, value)
    before = status_kb()
    t0 = time.monotonic()
    up = ElasticsearchSink(es_cfg(spec["port"], spec["index"], spec["batch_size"]),
                           dead_letter_path=spool.parent / f"dl-{spec['index']}.jsonl",
                           spool_dir=spool)
    done = up.drain(1800)
    secs = time.monotonic() - t0
    stats = up.stats()
    up.close()
    after = status_kb()
    return {"docs": spec["docs"], "secs": secs, "rate": spec["docs"] / secs, "drained": done,
            "indexed": stats.indexed, "dead_lettered": stats.dead_lettered,
            "rss_before_mb": before["VmRSS"] / 1024, "vmhwm_mb": after["VmHWM"] / 1024}


def tree_src(work: Path, ref: str) -> Path:
    """src/ of this tree (`.`) or of git `ref`, archived into the work directory."""
    if ref == ".":
        return REPO / "src"
    dest = work / f"tree-{ref}"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def tree_catchup(work: Path, src: Path, master: Path, port: int, docs: int, index: str,
                 batch_size: int, patch: dict[str, int]) -> dict[str, Any]:
    """One tree's catch-up in a child process, on a copy of the master spool."""
    spool = work / f"spool-{index}"
    shutil.rmtree(spool, ignore_errors=True)
    shutil.copytree(master, spool)
    spec = {"spool": str(spool), "port": port, "index": index, "batch_size": batch_size,
            "docs": docs, "patch": patch}
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], check=True,
                         capture_output=True, env=dict(os.environ, EBPF_CATCHUP_SRC=str(src)))
    shutil.rmtree(spool, ignore_errors=True)
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def parallel(client: Any, sources: list[Any], ids: list[str], index: str) -> dict[str, Any]:
    from elasticsearch import helpers

    client.indices.put_index_template(name=index, **index_template(index))
    actions = ({"_op_type": "create", "_index": index, "_id": i, "_source": d}
               for i, d in zip(ids, sources, strict=True))
    t0 = time.monotonic()
    ok = errors = 0
    for success, _info in helpers.parallel_bulk(client, actions, raise_on_error=False):
        if success:
            ok += 1
        else:
            errors += 1
    secs = time.monotonic() - t0
    return {"docs": len(ids), "secs": secs, "rate": len(ids) / secs, "ok": ok,
            "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1000, help="es_config.batch_size")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=REF",
                        help="the sink of the tree at git REF ('.': this one), in a child")
    parser.add_argument("--trees-only", action="store_true",
                        help="only the --tree loaders (no parallel_bulk, no in-process sink)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_catchup(json.loads(args.child))))
        return 0

    from elasticsearch import Elasticsearch
    from elasticsearch.serializer import OrjsonSerializer

    work = Path(tempfile.mkdtemp(prefix="es-catchup-"))
    script = load_es_script()
    log("starting Elasticsearch")
    server = script.start()
    try:
        log(f"capturing {args.docs} documents with a real monitor")
        docs = capture_documents(work, args.docs)
        parsed = [orjson.loads(d) for d in docs]
        ids = [d["event"]["id"] for d in parsed]
        log(f"{len(docs)} documents")
        client = Elasticsearch(server.url, serializer=OrjsonSerializer(), request_timeout=60)
        warm = parallel(client, docs[:50_000], ids[:50_000], "catchup-warmup")
        log(f"warm-up: {warm}")
        trees = []
        for spec in args.tree:
            name, _, rest = spec.partition("=")
            ref, _, consts = rest.partition("@")
            patch = {k: int(v) for k, _, v in (c.partition("=") for c in consts.split(",") if c)}
            trees.append((name, tree_src(work, ref), patch))
        master = spool_documents(work, docs, args.batch_size) if trees else None
        rounds: list[dict[str, Any]] = []
        for r in range(args.rounds):
            row: dict[str, Any] = {}
            for name, src, patch in trees if r % 2 == 0 else trees[::-1]:
                assert master is not None
                index = f"catchup-{name}-{r}"
                row[f"tree:{name}"] = tree_catchup(work, src, master, server.port, len(docs),
                                                   index, args.batch_size, patch)
                client.indices.refresh(index=f"{index}*")
                row[f"tree:{name}"]["count"] = client.count(index=f"{index}*")["count"]
                log(f"round {r} tree {name}: {row[f'tree:{name}']}")
            if args.trees_only:
                rounds.append(row)
                continue
            row["pb_raw"] = parallel(client, docs, ids, f"catchup-raw-{r}")
            log(f"round {r} parallel_bulk raw: {row['pb_raw']}")
            row["sink"] = sink_catchup(work, server.port, docs, f"catchup-sink-{r}",
                                       args.batch_size)
            log(f"round {r} sink: {row['sink']}")
            row["pb_dicts"] = parallel(client, parsed, ids, f"catchup-dicts-{r}")
            log(f"round {r} parallel_bulk dicts: {row['pb_dicts']}")
            row["sink_seq"] = sink_catchup(work, server.port, docs, f"catchup-seq-{r}",
                                           args.batch_size, sequential=True)
            log(f"round {r} sink, one bulk at a time: {row['sink_seq']}")
            for name, index in (("pb_raw", f"catchup-raw-{r}"), ("sink", f"catchup-sink-{r}"),
                                ("pb_dicts", f"catchup-dicts-{r}"),
                                ("sink_seq", f"catchup-seq-{r}")):
                client.indices.refresh(index=f"{index}*")
                row[name]["count"] = client.count(index=f"{index}*")["count"]
            rounds.append(row)
        client.close()
    finally:
        script.stop(server)
        shutil.rmtree(work, ignore_errors=True)
    for name, _, _ in trees:
        mine = [r[f"tree:{name}"] for r in rounds]
        print(f"tree {name}: docs/s {[round(m['rate']) for m in mine]}, VmHWM MB"
              f" {[round(m['vmhwm_mb']) for m in mine]} (before the sink"
              f" {[round(m['rss_before_mb']) for m in mine]}), indexed"
              f" {[m['count'] for m in mine]}")
    if args.trees_only:
        if args.json:
            args.json.write_text(json.dumps({"docs": len(docs), "rounds": rounds}, indent=2))
        return 0
    sink_rates = [r["sink"]["rate"] for r in rounds]
    raw_rates = [r["pb_raw"]["rate"] for r in rounds]
    dict_rates = [r["pb_dicts"]["rate"] for r in rounds]
    seq_rates = [r["sink_seq"]["rate"] for r in rounds]
    result = {
        "sink_seq_docs_per_s": statistics.median(seq_rates),
        "docs": len(docs), "rounds": rounds, "batch_size": args.batch_size,
        "sink_docs_per_s": statistics.median(sink_rates),
        "pb_raw_docs_per_s": statistics.median(raw_rates),
        "pb_dicts_docs_per_s": statistics.median(dict_rates),
        "ratio_raw": statistics.median(s / p for s, p in zip(sink_rates, raw_rates,
                                                             strict=True)),
        "ratio_dicts": statistics.median(s / p for s, p in zip(sink_rates, dict_rates,
                                                               strict=True)),
    }
    print("| round | sink docs/s | sink, one bulk at a time | parallel_bulk raw |"
          " parallel_bulk dicts | sink / raw | sink / dicts | index counts |")
    print("|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(rounds):
        s, q, p, d = r["sink"], r["sink_seq"], r["pb_raw"], r["pb_dicts"]
        print(f"| {i} | {s['rate']:,.0f} | {q['rate']:,.0f} | {p['rate']:,.0f} |"
              f" {d['rate']:,.0f} | {s['rate'] / p['rate']:.2f} | {s['rate'] / d['rate']:.2f} |"
              f" {s['count']:,}, {q['count']:,}, {p['count']:,}, {d['count']:,} |")
    print(f"median ratios: sink / raw {result['ratio_raw']:.2f},"
          f" sink / dicts {result['ratio_dicts']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
