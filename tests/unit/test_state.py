"""The process/fd table: records teach it in ring order, documents only read it."""

from __future__ import annotations

import os
from typing import Any

import orjson

from ebpf_monitor.decode import Decoder
from ebpf_monitor.enrich import Enricher
from ebpf_monitor.ringbuf import Batch
from ebpf_monitor.state import IGNORED

from . import golden
from .recorded_abi import enum
from .test_decode import record

KINDS = enum("event_kind")
ACTIONS = enum("event_action")
TARGETS = enum("fd_target")
AT_FDCWD = enum("abi_const")["ABI_AT_FDCWD"]


def _decode(dec: Decoder, *records: bytes) -> list[dict[str, Any]]:
    data = b""
    spans = []
    for rec in records:
        spans.append((len(data), len(rec)))
        data += rec + b"\0" * (-len(rec) % 8)
    return [orjson.loads(d.json) for d in dec.decode(Batch(data, spans))]


class TestProcessTable:
    """What an open or exec tells the table reaches the documents of later records."""

    def test_relative_open_names_later_reads(self) -> None:
        """A relative open the kernel left relative: its fd's reads name the absolute path."""
        pid = os.getpid()  # a live process, so /proc names its cwd
        dec = Decoder(Enricher(host_name="t"))
        opened = record("open_event", b"rel.txt\0", h_kind=KINDS["EK_OPEN"],
                        h_action=ACTIONS["EA_OPENAT"], h_pid=pid, h_ret=7, dfd=AT_FDCWD,
                        path_len=7)
        read = record("rw_event", b"rel.txt\0", h_kind=KINDS["EK_RW"],
                      h_action=ACTIONS["EA_READ"], h_pid=pid, h_ret=3, fd=7, count=3,
                      target=TARGETS["FT_FILE"], path_len=7)
        o, r = _decode(dec, opened, read)
        want = os.path.join(os.getcwd(), "rel.txt")
        assert o["file"]["path"] == want and o["ebpf"]["raw_path"] == "rel.txt"
        assert r["file"]["path"] == want

    def test_reused_pid_reads_raw_path(self) -> None:
        """A new process with a recycled pid reading its fd with the same relative path
        does not get the dead process's resolution: the raw path, nothing guessed."""
        pid = os.getpid()
        dec = Decoder(Enricher(host_name="t"))
        opened = record("open_event", b"rel.txt\0", h_kind=KINDS["EK_OPEN"],
                        h_action=ACTIONS["EA_OPENAT"], h_pid=pid, h_ret=7, dfd=AT_FDCWD,
                        path_len=7, h_start_ns=1_000)
        read = record("rw_event", b"rel.txt\0", h_kind=KINDS["EK_RW"],
                      h_action=ACTIONS["EA_READ"], h_pid=pid, h_ret=3, fd=7, count=3,
                      target=TARGETS["FT_FILE"], path_len=7, h_start_ns=2_000)
        o, r = _decode(dec, opened, read)
        assert o["file"]["path"] == os.path.join(os.getcwd(), "rel.txt")
        assert r["file"]["path"] == "rel.txt"

    def test_exec_names_the_process(self) -> None:
        """After an exec, the process's later documents name the new executable."""
        dec = Decoder(Enricher(host_name="t", proc_lookups=False))
        exe = record("exec_event", b"a\0/usr/bin/new", h_kind=KINDS["EK_EXEC"],
                     h_action=ACTIONS["EA_EXECVE"], argc=1, args_len=2, path_len=12)
        later = record("exit_event", h_kind=KINDS["EK_EXIT"], h_action=ACTIONS["EA_EXIT"])
        e, x = _decode(dec, exe, later)
        assert e["process"]["executable"] == x["process"]["executable"] == "/usr/bin/new"
        assert dec.state.exec_gen[4242, 1_000_000_000] == 1  # (pid, start_ns)

    def test_builders_only_read(self) -> None:
        """Building every golden document with no observer leaves the table's learnt state
        (exec generations, relative opens) empty: only observers write it."""
        with golden.fixed_host():
            en = golden.fixed_enricher()
            dec = Decoder(en)
            dec._table = {k: (*entry[:4], None) for k, entry in dec._table.items()}
            for mode in golden.MODES:
                assert dec.decode(golden.load_records(mode))
            sizes = dec.state.cached()
            assert sizes["exec_gen"] == 0 and sizes["opened"] == 0
            # /proc answers the builders fetched are memoised apart from what execs taught.
            assert sizes["executables"] == 0 and sizes["proc_executables"] > 0
            assert sizes["actors"] > 0  # the caches still fill


class TestBoundedCache:
    """A bounded cache forgets the least recently written entry, in O(1), and a rewrite
    refreshes an entry."""

    def test_rewritten_entry_outlives_older_ones(self) -> None:
        """After many evictions, a key written again stays while older writes go."""
        from ebpf_monitor.enrich import _Bounded

        cache = _Bounded(4)
        for i in range(1000):  # many evictions: the dict's front fills with deleted slots
            cache.put(i, i)
        assert list(cache) == [996, 997, 998, 999]
        cache.put(997, "again")
        cache.put(1000, 1000)
        assert list(cache) == [998, 999, 997, 1000] and cache[997] == "again"
        assert len(cache) == cache.limit


class TestIgnored:
    """The filtered-fd marker is no string a decoded path could be."""

    def test_not_a_string(self) -> None:
        """A one-character string decoded from a record (CPython caches those) is not it."""
        assert not isinstance(IGNORED, str)
        assert b"\0".decode() is not IGNORED


class TestWorkingDirectory:
    """The cwd an exec names is kept per process and inherited by forked children."""

    def _exec(self, pid: int, start: int, cwd: bytes, ktime: int) -> bytes:
        tail = b"/bin/x\0" + cwd + b"\0"
        return record("exec_event", tail, h_kind=KINDS["EK_EXEC"], h_action=ACTIONS["EA_EXECVE"],
                      h_pid=pid, h_tid=pid, h_start_ns=start, h_ktime_ns=ktime, path_len=6)

    def _fork(self, pid: int, start: int, child: int, ktime: int) -> bytes:
        return record("fork_event", h_kind=KINDS["EK_FORK"], h_action=ACTIONS["EA_CLONE"],
                      h_pid=pid, h_tid=pid, h_start_ns=start, h_ktime_ns=ktime, h_ret=child,
                      child_pid=child, child_tid=child)

    def _open(self, pid: int, start: int, ktime: int) -> bytes:
        return record("open_event", b"/etc/x\0", h_kind=KINDS["EK_OPEN"],
                      h_action=ACTIONS["EA_OPENAT"], h_pid=pid, h_tid=pid, h_start_ns=start,
                      h_ktime_ns=ktime, h_ret=3, dfd=AT_FDCWD, path_len=6)

    def test_inherited_and_exec_before_clone_record(self) -> None:
        """A child inherits the parent's cwd; one whose exec came before the clone record
        (vfork: the clone is stamped at the parent's syscall exit) keeps its own."""
        en = Enricher(host_name="t", proc_lookups=False)
        dec = Decoder(en, compiled=False)
        docs = _decode(dec, self._exec(900001, 10, b"/srv/a", 20),
                       self._exec(900003, 40, b"/srv/own", 50),      # vfork child's exec
                       self._fork(900001, 10, 900003, 60),          # ... its clone record
                       self._fork(900001, 10, 900002, 70),
                       self._open(900002, 65, 80), self._open(900003, 40, 90))
        cwds = [d["process"].get("working_directory") for d in docs]
        assert cwds == ["/srv/a", "/srv/own", "/srv/a", "/srv/a", "/srv/a", "/srv/own"]
