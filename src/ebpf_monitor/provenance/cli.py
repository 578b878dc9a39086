"""The provenance subcommands of `ebpf-monitor`: index, ancestry, descendants, lineage,
impact, path. Exit status: 0 found something, 1 found nothing, 2 bad input (one line)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..errors import ProvenanceError
from .model import Slice
from .noise import DEFAULT_NOISE_GLOBS, DEFAULT_NOISE_PREFIXES, NoiseRules
from .source import NEVER, EdgeSource
from .spec import parse_time, resolve_node
from .walk import Options, ancestry, descendants, impact, lineage, path

__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS = ("index", "ancestry", "descendants", "lineage", "impact", "path")

EPILOG = """\
NODE: an entity id (or process:ID), pid:N (with --at TIME when the pid was reused), a path
/x (or file:/x), endpoint:IP:PORT (a remote end), listen:PORT (a local listening port).
TIME: ISO 8601 (2026-11-30T01:02:03Z; UTC unless an offset is given) or epoch seconds.

examples:
  ebpf-monitor index                          # bring the local index up to date
  ebpf-monitor lineage /tmp/payload.sh        # where did this file come from?
  ebpf-monitor impact endpoint:10.0.0.5:4444 --since 2026-11-30T01:00:00Z
  ebpf-monitor path endpoint:10.0.0.5:4444 /etc/shadow --format html -o path.html
  ebpf-monitor ancestry pid:4242 --at 2026-11-30T01:02:03Z
  ebpf-monitor descendants 0a1b2c3d4e5f60718293a4b5 --format json
"""


def _formats() -> list[str]:
    from .render import FORMATS

    return list(FORMATS)


def _common(*, window: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--backend", choices=("local", "elasticsearch"), default="local",
                   help="local: the DuckDB index of the event files (default);"
                   " elasticsearch: the configured cluster")
    p.add_argument("--db", type=Path, help="the local index (default: provenance.db in the"
                   " config, else <output_dir>/provenance.duckdb)")
    p.add_argument("-f", "--format", default="text", choices=_formats(),
                   help="output format (default text)")
    p.add_argument("-o", "--output", type=Path, help="write the answer to this file")
    p.add_argument("--all", action="store_true", help="show noise too (libraries, /proc ...)")
    p.add_argument("--no-index", action="store_true",
                   help="query the local index as it is, without reading new events first")
    if window:
        p.add_argument("--since", help="ignore events before TIME")
        p.add_argument("--until", help="ignore events after TIME")
        p.add_argument("--depth", type=int, help="at most this many edges from the node")
    return p


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                parent: argparse.ArgumentParser) -> None:
    """Register the subcommands on the main parser's subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    idx = sub.add_parser("index", parents=[parent], formatter_class=fmt, epilog=EPILOG,
                         help="build or update the local provenance index (incremental)")
    idx.add_argument("--db", type=Path, help="the index file")
    idx.add_argument("--route", choices=("lines", "sql", "extractor"), default="lines",
                     help="how new lines are read: a Python loop (default), DuckDB per chunk"
                          " (sql), or every line through the reference extractor;"
                          " (docs/provenance.md, \"Index routes\")")
    idx.add_argument("--workers", type=int, metavar="N",
                     help="worker processes of the default route (0: none); default: by the"
                          " size of what is new and the CPUs")
    idx.add_argument("files", nargs="*", type=Path, metavar="FILE",
                     help="JSON-lines files (.gz too); default: events.jsonl and rotations")
    plain = _common(window=False)
    win = _common(window=True)
    a = sub.add_parser("ancestry", parents=[parent, plain], formatter_class=fmt, epilog=EPILOG,
                       help="the chain of parents of a process")
    a.add_argument("node", metavar="NODE")
    a.add_argument("--at", help="pick among processes that reused the pid: the one alive at TIME")
    d = sub.add_parser("descendants", parents=[parent, plain], formatter_class=fmt,
                       epilog=EPILOG, help="the processes forked from a process, transitively")
    d.add_argument("node", metavar="NODE")
    d.add_argument("--at", help="as for ancestry")
    d.add_argument("--depth", type=int, help="at most this many generations")
    for name, what in (("lineage", "everything that could have influenced NODE"),
                       ("impact", "everything NODE could have influenced")):
        q = sub.add_parser(name, parents=[parent, win], formatter_class=fmt, epilog=EPILOG,
                           help=what + " (time-respecting)")
        q.add_argument("node", metavar="NODE")
        q.add_argument("--at", help="as for ancestry")
    p = sub.add_parser("path", parents=[parent, win], formatter_class=fmt, epilog=EPILOG,
                       help="how information got from A to B")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--at", help="as for ancestry")


def _db_path(args: argparse.Namespace, config: Config) -> Path:
    if args.db is not None:
        return Path(args.db)
    if config.provenance.db is not None:
        return config.provenance.db
    return config.state_dir / "provenance.duckdb"


def _index(args: argparse.Namespace, config: Config) -> int:
    from .backends.local import LocalStore, default_files

    files = list(args.files) or default_files(config.events_dir)
    for f in files:
        if not f.is_file():
            raise ProvenanceError(f"{f}: no such file")
    if args.workers is not None and args.workers < 0:
        raise ProvenanceError(f"--workers {args.workers}: must be 0 or more")
    store = LocalStore(_db_path(args, config), route=args.route, workers=args.workers)
    try:
        docs, skipped = store.index(files)
        print(f"ebpf-monitor: indexed {docs} new events from {len(files)} file(s) into"
              f" {store.db}; {store.events_read} in all" + (
                  f"; skipped {skipped} malformed line(s)" if skipped else ""),
              file=sys.stderr)
    finally:
        store.close()
    return 0


def _open_source(args: argparse.Namespace, config: Config) -> EdgeSource:
    if args.backend == "elasticsearch":
        from .backends.fleet import FleetSource

        return FleetSource.from_config(config.es_config)
    from .backends.local import LocalStore, default_files

    db = _db_path(args, config)
    if args.no_index:
        return LocalStore(db, create=False)
    events = config.events_file
    if not db.exists() and not events.parent.is_dir():
        raise ProvenanceError(f"index {db}: not found, and no events in {events.parent};"
                              " run: ebpf-monitor index FILE...")
    store = LocalStore(db)
    if events.parent.is_dir():
        try:
            store.index(default_files(events.parent))
        except BaseException:
            store.close()
            raise
    return store


def _noise(args: argparse.Namespace, config: Config) -> NoiseRules:
    pc = config.provenance
    return NoiseRules(
        prefixes=tuple(pc.noise_path_prefixes) if pc.noise_path_prefixes is not None
        else DEFAULT_NOISE_PREFIXES,
        globs=tuple(pc.noise_globs) if pc.noise_globs is not None else DEFAULT_NOISE_GLOBS,
        popular_readers=pc.popular_readers, enabled=not args.all)


def _options(args: argparse.Namespace, config: Config) -> Options:
    since = parse_time(args.since) if getattr(args, "since", None) else 0
    until = parse_time(args.until) if getattr(args, "until", None) else NEVER
    depth = getattr(args, "depth", None)
    if depth is not None and depth < 1:
        raise ProvenanceError("--depth: must be at least 1")
    return Options(since=since, until=until, depth=depth, noise=_noise(args, config))


def _summary(s: Slice) -> str:
    text = f"ebpf-monitor: {len(s.nodes)} node(s), {len(s.edges)} edge(s); read {s.events_read}"
    text += " events"
    if s.hidden:
        parts = ", ".join(f"{n} by {why}" for why, n in sorted(s.hidden.items()))
        text += f"; hid {sum(s.hidden.values())} node(s) ({parts}; --all shows them)"
    else:
        text += "; hid nothing"
    if s.skipped:
        text += f"; skipped {s.skipped} malformed line(s)/document(s)"
    return text


def _query(args: argparse.Namespace, config: Config) -> int:
    from .render import render

    opts = _options(args, config)
    at = parse_time(args.at) if getattr(args, "at", None) else None
    source = _open_source(args, config)
    try:
        cmd = args.command
        queries: dict[str, Callable[[], Slice]]
        if cmd == "path":
            a = resolve_node(source, args.a, at)
            b = resolve_node(source, args.b, at)
            queries = {"path": lambda: path(source, a, b, opts)}
        else:
            node = resolve_node(source, args.node, at)
            if cmd in ("ancestry", "descendants") and not node.startswith("process:"):
                raise ProvenanceError(f"{cmd}: {node} is not a process")
            queries = {
                "ancestry": lambda: ancestry(source, node),
                "descendants": lambda: descendants(source, node, opts),
                "lineage": lambda: lineage(source, node, opts),
                "impact": lambda: impact(source, node, opts),
            }
        s = queries[cmd]()
    finally:
        source.close()
    text = render(s, args.format)
    if args.output is not None:
        try:
            args.output.write_text(text)
        except OSError as exc:
            raise ProvenanceError(f"{args.output}: cannot write: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    print(_summary(s), file=sys.stderr)
    found = bool(s.edges) or (cmd == "ancestry" and bool(s.nodes))
    return 0 if found else 1


def run(args: argparse.Namespace, config: Config) -> int:
    """Run one provenance subcommand."""
    if not getattr(args, "verbose", False):
        # An answer is the output plus one summary line; the client's per-request log is
        # for -v only.
        logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    if args.command == "index":
        return _index(args, config)
    return _query(args, config)
