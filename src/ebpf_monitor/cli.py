"""Command line: run the monitor, check a config, print the version."""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import logging
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from . import __version__
from ._safedir import SafeDir, host_error
from .config import DEFAULT_CONFIG_PATH, Config, load_config
from .errors import MonitorError
from .provenance.cli import COMMANDS as PROVENANCE_COMMANDS
from .sinks.base import Sink

__all__ = ["main"]

log = logging.getLogger("ebpf_monitor")

_M_TRIM_THRESHOLD = -1  # mallopt(3) parameters (malloc.h)
_M_MMAP_THRESHOLD = -3

EPILOG = """\
examples:
  ebpf-monitor                          # run with /var/config.json, or local defaults
  ebpf-monitor --config ./config.json --stdout | jq .event.action
  ebpf-monitor check-config --config ./config.json
  ebpf-monitor replay /var/log/ebpf-monitor/events.jsonl.2.gz   # backfill Elasticsearch
  systemctl kill -s HUP ebpf-monitor    # reopen events.jsonl after rotation
  ebpf-monitor lineage /tmp/payload.sh  # provenance: see `ebpf-monitor lineage -h`
"""


def _config_option(default: object) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", type=Path, default=default,
                        help=f"config file (default {DEFAULT_CONFIG_PATH}; built-in defaults"
                        " if that does not exist)")
    return common


def _parser() -> argparse.ArgumentParser:
    # --config goes before or after the command; the command's copy must not reset it to None.
    common = _config_option(None)
    sub_common = _config_option(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="ebpf-monitor", parents=[common], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Record process, file and network activity with eBPF as ECS JSON lines.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--stdout", action="store_true",
                        help="also print every event as a JSON line on stdout")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, including libbpf's messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", parents=[sub_common], help="monitor until SIGINT/SIGTERM (default)")
    sub.add_parser("check-config", parents=[sub_common],
                   help="validate the config and print the effective one (secrets masked)")
    replay = sub.add_parser("replay", parents=[sub_common],
                            help="(re)index JSON-lines event files (.gz too) into Elasticsearch,"
                            " idempotently")
    replay.add_argument("files", nargs="+", type=Path, metavar="FILE")
    from .provenance.cli import add_parsers

    add_parsers(sub, sub_common)
    return parser


def _setup_logging(verbose: bool) -> None:
    # journald stamps time itself; without it, a time helps reading a terminal session.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt,
                        stream=sys.stderr)


def _check_config(config: Config) -> int:
    from .preflight import check

    check(config)  # every check a start makes before it loads BPF
    print(json.dumps(config.masked(), indent=2))
    return 0


def _make_sinks(config: Config, stdout: bool, stack: ExitStack) -> list[Sink]:
    from .sinks import JsonlSink, StreamSink

    sinks: list[Sink] = []
    if config.file_logging:
        sinks.append(stack.enter_context(JsonlSink(config.events_file)))
    if config.storage_type == "elasticsearch":
        from .sinks.elasticsearch import ElasticsearchSink

        sinks.append(stack.enter_context(ElasticsearchSink(
            config.es_config, dead_letter_path=config.events_dir / "dead-letter.jsonl",
            spool_dir=config.spool.dir or config.state_dir / "spool",
            spool_max_bytes=config.spool.max_bytes)))
    if stdout:
        sinks.append(stack.enter_context(StreamSink(sys.stdout.buffer)))
    return sinks


def _write_pid_file(path: Path, stack: ExitStack) -> None:
    directory = SafeDir(path.parent, what="pid_file")  # never through a planted link
    stack.callback(directory.close)
    try:
        directory.write_replace(path.name, f"{os.getpid()}\n".encode(), 0o644)
    except OSError as exc:
        raise host_error("pid_file", path, exc) from None

    def _remove() -> None:
        try:
            if directory.read(path.name).strip() == str(os.getpid()).encode():
                directory.unlink(path.name)
        except (OSError, MonitorError):
            pass

    stack.callback(_remove)


def _lock_dirs(config: Config, stack: ExitStack) -> None:
    """One monitor per directory it writes: a second one would write every event twice and
    race the first over the spool's files."""
    from .preflight import written_dirs

    locked: set[tuple[int, int]] = set()
    for path, what in written_dirs(config).items():
        directory = SafeDir(path, what=what)
        stack.callback(directory.close)
        # Two names for one directory (a link, or spool.dir naming events_dir another way):
        # a second flock of its lock file would fail against our own.
        st = os.fstat(directory.fd)
        if (st.st_dev, st.st_ino) not in locked:
            locked.add((st.st_dev, st.st_ino))
            directory.lock()


def _keep_heap() -> None:
    """Keep freed batch buffers in the heap instead of giving them back to the kernel.

    Every ring read and every batch of JSON text is a block of a few MiB; glibc maps such blocks
    afresh and unmaps them on free, so each batch paid its page faults again (~8 µs per 4 KiB
    page in a VM: ~1 µs per event, KERNEL-NOTES). A steady heap of a few batches costs a few MiB.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)  # glibc's maximum
        libc.mallopt(_M_TRIM_THRESHOLD, 16 * 1024 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: only slower


def _run(config: Config, *, stdout: bool, verbose: bool) -> int:
    from . import _libbpf
    from .decode import Decoder
    from .enrich import Enricher
    from .loader import BpfMonitor
    from .ownfiles import OwnFiles, install
    from .pipeline import Pipeline
    from .preflight import check
    from .sdnotify import notify
    from .selfpid import host_pid, in_initial_pid_namespace

    _libbpf.set_print(verbose)
    pending: list[int] = []

    def _early(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)  # a stop during load is honoured right after it

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _early)
    with ExitStack() as stack:
        check(config)  # what check-config checks, before anything is created
        _lock_dirs(config, stack)  # then: before anything reads or cuts another's files
        own_files = None
        if config.filters.ignore_own_files:
            own_files = OwnFiles()  # before the sinks: they note their files as they open them
            install(own_files)
            stack.callback(own_files.close)
        sinks = _make_sinks(config, stdout, stack)
        _write_pid_file(config.effective_pid_file, stack)
        enricher = Enricher(proc_lookups=in_initial_pid_namespace())
        if not enricher.proc_lookups:
            log.info("in a PID namespace: no names from /proc/<pid> (events carry host pids)")
        decoder = Decoder(enricher,
                          ignored_prefixes=tuple(config.filters.ignore_path_prefixes),
                          hash_executables=config.capture.hash_executables)
        monitor = BpfMonitor(capture=config.capture, filters=config.filters,
                             self_pid=host_pid())
        stack.callback(monitor.close)
        if own_files is not None:
            own_files.bind(monitor.update_own_file)
        pipeline = Pipeline(bpf=monitor, sinks=sinks, capture=config.capture,
                            enricher=enricher, decoder=decoder,
                            stats_interval=config.stats_interval, own_files=own_files)
        listen = config.metrics.address
        if listen is not None:
            from .metrics import MetricsServer

            stack.callback(MetricsServer(pipeline, listen).close)

        def _stop(signum: int, frame: FrameType | None) -> None:
            pipeline.request_stop()

        def _hup(signum: int, frame: FrameType | None) -> None:
            pipeline.request_reopen()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGHUP, _hup)
        for signum in pending:
            (_hup if signum == signal.SIGHUP else _stop)(signum, None)
        log.info("monitoring: %d hooks attached, events to %s", monitor.attached,
                 ", ".join(s.name for s in sinks))
        # Documents are acyclic: reference counting frees them. Keep the cyclic collector from
        # rescanning the long-lived start-up objects at every few thousand allocations.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        _keep_heap()
        notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=monitoring")
        pipeline.run()
        notify("STOPPING=1")
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.command == "check-config":
            return _check_config(load_config(args.config))
        if args.command in PROVENANCE_COMMANDS:
            from .provenance.cli import run as run_provenance

            return run_provenance(args, load_config(args.config, check_permissions=False))
        if args.command == "replay":
            from .replay import replay

            return replay(args.files, load_config(args.config))
        from .loader import check_host

        check_host()  # before the config: a non-root user cannot read /var/config.json anyway
        return _run(load_config(args.config), stdout=args.stdout, verbose=args.verbose)
    except MonitorError as exc:
        print(f"ebpf-monitor: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError, EOFError, RecursionError) as exc:
        # Last resort: every known case has its own message; this keeps an unforeseen one to
        # one line too (the traceback with -v).
        log.debug("unexpected error", exc_info=True)
        print(f"ebpf-monitor: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        if exc.filename2 is not None:
            where = f"{exc.filename} -> {exc.filename2}: "
        return f"{where}{exc.strerror}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
