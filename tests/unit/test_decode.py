"""Decoding recorded records into ECS documents, and the ABI read from BTF."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest

from ebpf_monitor.abi import layout
from ebpf_monitor.decode import Decoder
from ebpf_monitor.enrich import Enricher
from ebpf_monitor.ringbuf import Batch
from ebpf_monitor.schema import open_flag_names

from .recorded_abi import enum

# Layouts come from the committed abi.json (see conftest.py): no BPF build needed.
KINDS = enum("event_kind")
ACTIONS = enum("event_action")
FLAGS = enum("event_flag")
TARGETS = enum("fd_target")
IO_ENDS = enum("io_end")
AT_FDCWD = enum("abi_const")["ABI_AT_FDCWD"]


def record(struct_name: str, tail: bytes = b"", **fields: Any) -> bytes:
    """A record as the kernel sends it: fields not given are zero (bytes fields empty)."""
    lay = layout(struct_name)
    codes = dict(zip(lay.fields, _codes(lay.struct.format), strict=True))
    header = {"h_kind": 0, "h_action": 0, "h_size": 0, "h_flags": 0, "h_pid": 4242,
              "h_tid": 4243, "h_ppid": 1, "h_uid": 0, "h_gid": 0, "h_euid": 0,
              "h_ktime_ns": 5_000_000_123, "h_start_ns": 1_000_000_000, "h_ret": 0,
              "h_comm": b"tool"}
    unknown = set(fields) - set(codes)
    assert not unknown, f"{struct_name} has no {sorted(unknown)}"
    values = {**header, **fields}
    packed = [values.get(name, b"" if codes[name].endswith("s") else 0) for name in lay.fields]
    return lay.struct.pack(*packed) + tail


def _codes(fmt: str) -> list[str]:
    out, num = [], ""
    for ch in fmt[1:]:
        if ch.isdigit():
            num += ch
            continue
        if ch != "x":
            out.append(num + ch)
        num = ""
    return out


def decode(*records: bytes) -> list[dict[str, Any]]:
    data = b""
    spans = []
    for rec in records:
        spans.append((len(data), len(rec)))
        data += rec + b"\0" * (-len(rec) % 8)
    en = Enricher(host_name="testhost")
    en.offset_ns = 1_700_000_000 * 10**9  # fixed wall clock for exact timestamps
    lines = Decoder(en, ignored_prefixes=("/dev/pts/",)).decode(Batch(data, spans))
    docs = [orjson.loads(doc.json) for doc in lines]
    for doc in docs:
        # Every event's context (schema._common.context_text), here the record's zeros; the
        # tests below look at the rest of `ebpf`.
        ctx = {k: doc["ebpf"].pop(k) for k in ("cgroup", "mnt_ns", "net_ns")}
        assert ctx == {"cgroup": {"id": 0}, "mnt_ns": {"inode": 0}, "net_ns": {"inode": 0}}
    return docs


class TestDecode:
    def test_open_failure(self) -> None:
        """An openat of a missing file: path, flags, ENOENT, timestamp from ktime."""
        rec = record("open_event", b"/etc/missing\0", h_kind=KINDS["EK_OPEN"],
                     h_action=ACTIONS["EA_OPENAT"], h_ret=-2, dfd=AT_FDCWD, flags=0o2000000,
                     path_len=12)
        (doc,) = decode(rec)
        assert doc["@timestamp"] == "2023-11-14T22:13:25.000000123Z"
        assert doc["event"]["action"] == "openat"
        assert doc["event"]["outcome"] == "failure"
        assert doc["error"] == {"code": "ENOENT", "message": "No such file or directory"}
        assert doc["file"] == {"path": "/etc/missing", "name": "missing", "directory": "/etc"}
        assert doc["ebpf"]["flags"] == ["O_RDONLY", "O_CLOEXEC"]
        assert doc["process"]["pid"] == 4242 and doc["process"]["thread"]["id"] == 4243
        assert doc["process"]["name"] == "tool"
        assert doc["host"]["name"] == "testhost"
        assert doc["user"]["name"] == "root"

    def test_exec_args_and_odd_bytes(self) -> None:
        """Exec argv split exactly; invalid UTF-8 kept as \\x escapes."""
        args = b"ls\0-l\0caf\xe9\0"
        rec = record("exec_event", args + b"/bin/ls\0", h_kind=KINDS["EK_EXEC"],
                     h_action=ACTIONS["EA_EXECVE"], argc=3, args_len=len(args), path_len=7)
        (doc,) = decode(rec)
        assert doc["process"]["args"] == ["ls", "-l", "caf\\xe9"]
        assert doc["process"]["executable"] == "/bin/ls"
        assert doc["process"]["command_line"] == "ls -l caf\\xe9"

    def test_connect_ipv6(self) -> None:
        """A connect's ends become source/destination with ips as strings."""
        rec = record("net_event", h_kind=KINDS["EK_NET"], h_action=ACTIONS["EA_CONNECT"],
                     fd=3, sock_family=10, sock_type=1, sock_protocol=6, sock_lport=40000,
                     sock_rport=443, sock_laddr=socket.inet_pton(socket.AF_INET6, "::1"),
                     sock_raddr=socket.inet_pton(socket.AF_INET6, "2001:db8::1"))
        (doc,) = decode(rec)
        assert doc["source"] == {"ip": "::1", "port": 40000}
        assert doc["destination"] == {"ip": "2001:db8::1", "port": 443}
        assert doc["network"] == {"type": "ipv6", "transport": "tcp", "iana_number": "6"}

    def test_nonblocking_connect_is_unknown(self) -> None:
        """EINPROGRESS is not a failure: the outcome is unknown."""
        rec = record("net_event", h_kind=KINDS["EK_NET"], h_action=ACTIONS["EA_CONNECT"],
                     h_ret=-115, sock_family=2, sock_rport=80,
                     sock_raddr=socket.inet_aton("10.1.2.3") + b"\0" * 12)
        (doc,) = decode(rec)
        assert doc["event"]["outcome"] == "unknown"
        assert doc["destination"] == {"ip": "10.1.2.3", "port": 80}

    def test_ipv4_reads_four_bytes(self) -> None:
        """An IPv4 end is its first 4 bytes: set bytes after them neither make an address of
        0.0.0.0 nor change one."""
        junk = bytes(range(1, 13))
        listen = record("net_event", h_kind=KINDS["EK_NET"], h_action=ACTIONS["EA_LISTEN"],
                        fd=3, backlog=5, sock_family=2, sock_type=1, sock_protocol=6,
                        sock_lport=8080, sock_laddr=b"\0" * 4 + junk, sock_raddr=b"\0" * 4 + junk)
        connect = record("net_event", h_kind=KINDS["EK_NET"], h_action=ACTIONS["EA_CONNECT"],
                         fd=3, sock_family=2, sock_type=1, sock_protocol=6, sock_rport=80,
                         sock_raddr=socket.inet_aton("10.1.2.3") + junk)
        docs = decode(listen, connect, listen, connect)  # twice: caches of the compiled core
        for lis, con in (docs[:2], docs[2:]):
            assert lis["source"] == {"port": 8080} and "destination" not in lis
            assert con["destination"] == {"ip": "10.1.2.3", "port": 80}
            assert "source" not in con

    def test_rename_paths(self) -> None:
        """Both paths of a rename: file.path and file.target_path."""
        rec = record("rename_event", b"/tmp/a\0/tmp/b c\0", h_kind=KINDS["EK_RENAME"],
                     h_action=ACTIONS["EA_RENAMEAT2"], olddfd=AT_FDCWD, newdfd=AT_FDCWD,
                     old_len=6, new_len=8)
        (doc,) = decode(rec)
        assert doc["file"]["path"] == "/tmp/a"
        assert doc["file"]["target_path"] == "/tmp/b c"

    def test_write_bytes(self) -> None:
        """A write carries the fd's path, requested and written bytes."""
        rec = record("rw_event", b"/var/x\0", h_kind=KINDS["EK_RW"],
                     h_action=ACTIONS["EA_WRITE"], h_ret=10, fd=5, target=TARGETS["FT_FILE"],
                     path_len=6, count=12)
        (doc,) = decode(rec)
        assert doc["event"]["type"] == ["change"]
        assert doc["ebpf"]["bytes"] == 10 and doc["ebpf"]["bytes_requested"] == 12
        assert doc["file"]["path"] == "/var/x"

    @pytest.mark.parametrize(("name", "expected"), [
        (b'/tmp/q"uote', '/tmp/q"uote'), (b"/tmp/back\\slash", "/tmp/back\\\\slash"),
        (b"/tmp/new\nline", "/tmp/new\nline"), (b"/tmp/tab\tand\x01ctl", "/tmp/tab\tand\x01ctl"),
        (b"/tmp/caf\xe9", "/tmp/caf\\xe9"), (b"/tmp/caf\\xe9", "/tmp/caf\\\\xe9"),
        (b"/tmp/\xe2\x82\xac", "/tmp/\u20ac"), (b"/tmp/l\xe2\x80\xa8s", "/tmp/l\\xe2\\x80\\xa8s")])
    def test_odd_names_stay_exact_json(self, name: bytes, expected: str) -> None:
        """Documents are written as text from parts: every odd byte must still come out as
        valid JSON, the same name in the open, the read and the failed write, under the
        reversible text policy (a literal backslash doubled, U+2028 escaped)."""
        opened = record("open_event", name + b"\0", h_kind=KINDS["EK_OPEN"],
                        h_action=ACTIONS["EA_OPENAT"], h_ret=7, dfd=AT_FDCWD, flags=0o101,
                        mode=0o644, path_len=len(name))
        read = record("rw_event", name + b"\0", h_kind=KINDS["EK_RW"],
                      h_action=ACTIONS["EA_READ"], h_ret=3, fd=7, target=TARGETS["FT_FILE"],
                      path_len=len(name), count=4)
        failed = record("rw_event", name + b"\0", h_kind=KINDS["EK_RW"],
                        h_action=ACTIONS["EA_WRITE"], h_ret=-28, fd=7,
                        target=TARGETS["FT_FILE"], path_len=len(name), count=4)
        docs = decode(opened, read, failed)
        assert [d["file"]["path"] for d in docs] == [expected] * 3
        assert docs[0]["ebpf"] == {"syscall": "openat", "ret": 7, "fd": 7, "mode": 0o644,
                                   "flags": ["O_WRONLY", "O_CREAT"]}
        assert docs[1]["ebpf"] == {"syscall": "read", "ret": 3, "fd": 7, "bytes": 3,
                                   "bytes_requested": 4}
        assert docs[1]["event"]["type"] == ["access"] and "error" not in docs[1]
        assert docs[2]["event"]["outcome"] == "failure"
        assert docs[2]["error"]["code"] == "ENOSPC" and "bytes" not in docs[2]["ebpf"]

    def test_socket_send(self) -> None:
        """A send on a tracked socket: the ends and the socket, no file."""
        rec = record("rw_event", h_kind=KINDS["EK_RW"], h_action=ACTIONS["EA_SENDTO"], h_ret=5,
                     fd=4, target=TARGETS["FT_SOCKET"], count=5, sock_family=2, sock_type=1,
                     sock_protocol=6, sock_lport=5000, sock_rport=80,
                     sock_laddr=socket.inet_aton("127.0.0.1") + b"\0" * 12,
                     sock_raddr=socket.inet_aton("127.0.0.2") + b"\0" * 12)
        (doc,) = decode(rec)
        assert doc["event"]["category"] == ["network"] and "file" not in doc
        assert doc["destination"] == {"ip": "127.0.0.2", "port": 80}
        assert doc["ebpf"]["bytes"] == 5 and doc["ebpf"]["socket"]["type"] == "SOCK_STREAM"

    def test_io_summary_file(self) -> None:
        """A "first"-mode summary: action close, the fd's path and its exact totals."""
        rec = record("io_summary_event", b"/var/x\0", h_kind=KINDS["EK_IO_SUMMARY"],
                     h_action=ACTIONS["EA_CLOSE"], fd=5, target=TARGETS["FT_FILE"],
                     path_len=6, end=IO_ENDS["IE_CLOSE"], reads=5, writes=3,
                     bytes_read=421, bytes_written=619)
        (doc,) = decode(rec)
        assert doc["event"]["action"] == "close"
        assert doc["event"]["category"] == ["file"] and doc["event"]["type"] == ["info"]
        assert doc["event"]["outcome"] == "success"
        assert doc["ebpf"] == {"fd": 5, "io": {"reads": 5, "writes": 3, "bytes_read": 421,
                                               "bytes_written": 619, "end": "close"}}
        assert doc["file"] == {"path": "/var/x", "name": "x", "directory": "/var"}

    def test_io_summary_socket_at_exit(self) -> None:
        """A socket's summary names both ends and says the fd went away at exit."""
        rec = record("io_summary_event", h_kind=KINDS["EK_IO_SUMMARY"],
                     h_action=ACTIONS["EA_CLOSE"], fd=4, target=TARGETS["FT_SOCKET"],
                     end=IO_ENDS["IE_EXIT"], writes=2, bytes_written=10, sock_family=2,
                     sock_type=1, sock_protocol=6, sock_lport=5000, sock_rport=80,
                     sock_laddr=socket.inet_aton("127.0.0.1") + b"\0" * 12,
                     sock_raddr=socket.inet_aton("127.0.0.2") + b"\0" * 12)
        (doc,) = decode(rec)
        assert doc["event"]["category"] == ["network"] and "file" not in doc
        assert doc["destination"] == {"ip": "127.0.0.2", "port": 80}
        assert doc["ebpf"]["io"]["end"] == "exit" and doc["ebpf"]["io"]["bytes_written"] == 10

    def test_io_summary_untracked(self) -> None:
        """An untracked fd of a gone process is named from its inode; one under an ignored
        prefix is dropped, as its reads and writes are."""
        gone = 2**22 + 7  # above the largest pid_max: never in /proc
        pipe = record("io_summary_event", h_kind=KINDS["EK_IO_SUMMARY"], h_pid=gone,
                      h_action=ACTIONS["EA_CLOSE"], h_flags=FLAGS["EF_FD_UNTRACKED"], fd=3,
                      end=IO_ENDS["IE_STALE"], reads=2, bytes_read=23, ino=77,
                      imode=0o010600)
        (doc,) = decode(pipe)
        assert doc["file"]["path"] == "pipe:[77]"
        assert doc["ebpf"]["io"]["end"] == "stale"
        master, slave = os.openpty()  # the slave is /dev/pts/N, an ignored prefix here
        try:
            tty = record("io_summary_event", h_kind=KINDS["EK_IO_SUMMARY"],
                         h_pid=os.getpid(), h_action=ACTIONS["EA_CLOSE"],
                         h_flags=FLAGS["EF_FD_UNTRACKED"], fd=slave, writes=1,
                         ino=os.fstat(slave).st_ino, imode=0o020620)
            assert decode(tty) == []
        finally:
            os.close(master)
            os.close(slave)

    def test_ignored_prefix_with_backslash(self, tmp_path: Path) -> None:
        """A configured prefix holding a backslash filters the paths the kernel's filter
        would (raw bytes), though user space sees them as text with the backslash doubled."""
        odd = tmp_path / "a\\b"
        odd.mkdir()
        fd = os.open(odd / "f", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            rec = record("io_summary_event", h_kind=KINDS["EK_IO_SUMMARY"], h_pid=os.getpid(),
                         h_action=ACTIONS["EA_CLOSE"], h_flags=FLAGS["EF_FD_UNTRACKED"], fd=fd,
                         writes=1, ino=os.fstat(fd).st_ino, imode=0o100600)
            data = rec + b"\0" * (-len(rec) % 8)
            en = Enricher(host_name="testhost")
            kept = Decoder(en).decode(Batch(data, [(0, len(rec))]))
            assert orjson.loads(kept[0].json)["file"]["path"] == f"{tmp_path}/a\\\\b/f"
            decoder = Decoder(en, ignored_prefixes=(f"{odd}/",))
            assert decoder.decode(Batch(data, [(0, len(rec))])) == []
        finally:
            os.close(fd)

    def test_bad_record_counted_not_raised(self) -> None:
        """An unknown kind is counted; the rest of the batch still decodes."""
        good = record("exit_event", h_kind=KINDS["EK_EXIT"], h_action=ACTIONS["EA_EXIT"],
                      exit_code=3 << 8)
        bad = struct.pack("<HH", 99, 0) + b"\0" * 68
        docs = decode(bad, good)
        assert len(docs) == 1 and docs[0]["process"]["exit_code"] == 3

    def test_signal_exit(self) -> None:
        """Killed by SIGKILL: exit code 137 and the signal number."""
        rec = record("exit_event", h_kind=KINDS["EK_EXIT"], h_action=ACTIONS["EA_EXIT"],
                     exit_code=9)
        (doc,) = decode(rec)
        assert doc["process"]["exit_code"] == 137
        assert doc["ebpf"]["exit_signal"] == 9

    def test_event_ids_unique_and_stable(self) -> None:
        """Ids derive from boot, time and thread: same record, same id; others differ."""
        a = record("exit_event", h_kind=KINDS["EK_EXIT"], h_action=ACTIONS["EA_EXIT"])
        b = record("exit_event", h_kind=KINDS["EK_EXIT"], h_action=ACTIONS["EA_EXIT"],
                   h_ktime_ns=5_000_000_124)
        d1, d2 = decode(a, b)
        assert d1["event"]["id"] != d2["event"]["id"]
        assert decode(a)[0]["event"]["id"] == d1["event"]["id"]


PID_NS = {"h_ns_pid": 7, "h_ns_tid": 9, "h_ns_ppid": 1, "h_pidns": 4026532290}


class TestPidNamespace:
    """A record from a process in another PID namespace gains ebpf.pid_ns, in every kind."""

    @pytest.mark.parametrize(("struct_name", "kind", "action", "tail", "fields"), [
        ("open_event", "EK_OPEN", "EA_OPENAT", b'/tmp/"ebpf":{\0', {"path_len": 13}),
        ("rw_event", "EK_RW", "EA_WRITE", b"/tmp/x\0",
         {"target": 1, "path_len": 6, "fd": 3, "count": 1}),
        ("exit_event", "EK_EXIT", "EA_EXIT", b"", {}),
        ("fork_event", "EK_FORK", "EA_CLONE", b"", {"child_pid": 5}),
        ("socket_event", "EK_SOCKET", "EA_SOCKET", b"", {"family": 2, "type": 1}),
        ("io_summary_event", "EK_IO_SUMMARY", "EA_CLOSE", b"/tmp/x\0",
         {"target": 1, "path_len": 6, "fd": 3, "reads": 1}),
    ])
    def test_pid_ns_added(self, struct_name: str, kind: str, action: str, tail: bytes,
                          fields: dict[str, Any]) -> None:
        """The pids inside sit under ebpf.pid_ns, next to the kind's own ebpf fields."""
        (doc,) = decode(record(struct_name, tail, h_kind=KINDS[kind],
                               h_action=ACTIONS[action], **fields, **PID_NS))
        assert doc["ebpf"]["pid_ns"] == {"pid": 7, "tid": 9, "ppid": 1, "inode": 4026532290}
        assert doc["process"]["pid"] == 4242
        if struct_name == "open_event":  # a path holding the marker text is left alone
            assert doc["file"]["path"] == '/tmp/"ebpf":{'
            assert doc["ebpf"]["flags"] == ["O_RDONLY"]

    def test_host_process_has_none(self) -> None:
        """A process of the initial namespace (fields 0) gets no ebpf.pid_ns."""
        (doc,) = decode(record("exit_event", h_kind=KINDS["EK_EXIT"],
                               h_action=ACTIONS["EA_EXIT"]))
        assert "pid_ns" not in doc["ebpf"]


def test_open_flag_names() -> None:
    """Open flags become names; unknown bits are shown in hex."""
    assert open_flag_names(os.O_WRONLY | os.O_CREAT | os.O_TRUNC) == [
        "O_WRONLY", "O_CREAT", "O_TRUNC"]
    assert open_flag_names(2 | 0x40000000)[-1] == "0x40000000"


class TestAbi:
    # Layouts against the compiler and the built object: tests/kernel/test_abi.py.

    def test_header_first(self) -> None:
        """Every record starts with the header, so kind can be read before dispatch."""
        header = layout("event_header").fields
        for name in ("exec_event", "open_event", "rw_event", "net_event"):
            assert layout(name).fields[: len(header)] == tuple(f"h_{f}" for f in header)


def test_readlink_keeps_invalid_utf8_as_escapes(tmp_path: Path) -> None:
    """A /proc link to a non-UTF-8 name follows the text policy, so it can be encoded."""
    from ebpf_monitor.enrich import readlink

    link = tmp_path / "link"
    os.symlink(b"/tmp/caf\xe9/x", os.fsencode(link))
    assert readlink(str(link)) == "/tmp/caf\\xe9/x"
    orjson.dumps(readlink(str(link)))
