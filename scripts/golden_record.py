#!/usr/bin/env python3
"""Record the golden batch: raw ring records of every kind, and the documents made from them.

    sudo .venv/bin/python scripts/golden_record.py           # record records + documents
    .venv/bin/python scripts/golden_record.py --documents    # rewrite only the documents

Loads the BPF object twice (capture.read_write "all", then "first"), runs a small workload that
makes every record kind (exec ok/failed, fork, thread, exit by code and by signal, opens ok,
failed, relative and dir-fd relative, reads/writes on a file, a pipe, sockets and an fd opened
before the monitor started, unlink, rmdir, rename, socket/bind/listen/connect/accept/send/recv,
an effective uid, odd file names) and keeps the records of the workload's processes only. The
documents are made with every host-dependent input fixed (tests/unit/golden.py), so the unit
tier compares them without root or BPF: tests/unit/test_golden.py. Rewriting the documents is
for a deliberate change of the document format only; a refactor must leave them as they are.
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# GOLDEN_SRC: make the documents with another tree's reader (e.g. `git archive` of the commit
# before a refactor), so that they are the old code's.
sys.path.insert(0, os.environ.get("GOLDEN_SRC", str(REPO / "src")))

T = TypeVar("T")

WORKLOAD = textwrap.dedent(r'''
    import os, signal, socket, sys, threading
    inherited = int(sys.argv[1])
    os.read(inherited, 3)                       # an fd opened before the monitor saw it
    os.write(inherited, b"x")
    os.mkdir("sub")
    fd = os.open("rel.txt", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o640)   # relative
    os.write(fd, b"hello\n")
    os.write(fd, b"again\n")
    os.close(fd)
    d = os.open("sub", os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open("in-sub.txt", os.O_CREAT | os.O_RDWR, 0o600, dir_fd=d)     # dir-fd relative
    os.pwrite(fd, b"abc", 0)
    os.pread(fd, 3, 0)
    os.close(fd)
    try:
        os.open("/nonexistent/golden", os.O_RDONLY)
    except OSError:
        pass
    odd = b"odd\\name\xff\xc2\x85.txt"
    fd = os.open(odd, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, b"1")
    os.close(fd)
    os.rename(odd, b"renamed.txt")
    os.rename("renamed.txt", "sub/moved.txt", src_dir_fd=None)
    os.rename("sub/moved.txt", "moved2.txt", src_dir_fd=None, dst_dir_fd=d)
    os.unlink("moved2.txt", dir_fd=d)
    os.unlink("rel.txt")
    os.unlink("in-sub.txt", dir_fd=d)
    os.close(d)
    os.rmdir("sub")
    try:
        os.unlink("/nonexistent/golden")
    except OSError:
        pass
    r, w = os.pipe()
    os.write(w, b"pipe data")
    os.read(r, 64)
    os.close(r); os.close(w)
    a, b = socket.socketpair()
    a.send(b"unix"); b.recv(16)
    a.close(); b.close()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0)); srv.listen(8)
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    cli.sendall(b"tcp data"); conn.recv(64)
    conn.send(b"reply"); cli.recv(64)
    cli.close(); conn.close(); srv.close()
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.bind(("::1", 0))
    v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    v.sendto(b"udp", u.getsockname()); u.recvfrom(64)
    u.close(); v.close()
    nb = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    nb.setblocking(False)
    try:
        nb.connect(("127.0.0.1", 9))           # refused or in progress
    except OSError:
        pass
    nb.close()
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("127.0.0.1", 9))
    except OSError:
        pass
    try:
        os.open("missing-relative.txt", os.O_RDONLY)     # the kernel cannot resolve it
    except OSError:
        pass
    for call in (lambda: os.open("rel-bad-dirfd", os.O_RDONLY, dir_fd=999),
                 lambda: os.unlink("rel-bad-dirfd", dir_fd=999)):
        try:
            call()                                 # a dir fd the kernel cannot name
        except OSError:
            pass
    try:
        os.open("/tmp/" + "long-directory-name/" * 30 + "f", os.O_RDONLY)   # path truncated
    except OSError:
        pass
    import subprocess
    subprocess.run(["unshare", "--pid", "--fork", "/bin/sh", "-c", "cat /etc/hostname"],
                   stdout=subprocess.DEVNULL)                              # a PID namespace
    t = threading.Thread(target=lambda: open("/etc/hostname", "rb").read())
    t.start(); t.join()
    pid = os.fork()
    if pid == 0:
        fd = os.open("/etc/hostname", os.O_RDONLY)
        os.read(fd, 16)                          # left open at exit
        os._exit(3)
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        os.setresgid(0, 65534, 0); os.setresuid(0, 65534, 0)
        try:
            os.open("/etc/shadow", os.O_RDONLY)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/nonexistent/binary", ["nope"])
        except OSError:
            os._exit(127)
    os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        os.chdir("/usr")
        os.execv("bin/true", ["true", "an arg", "with\nnewline"])   # relative exec
    os.waitpid(pid, 0)
''')


def ring_records(mode: str | None, run: Callable[[], T]) -> tuple[list[bytes], T]:
    """Load the BPF object (capture.read_write `mode`, or the default config for None), drain
    the ring, call `run` and return every record it left in the ring with run's result; shared
    by the golden_record*.py scripts, which keep their own workload's records from these."""
    from ebpf_monitor.config import Config
    from ebpf_monitor.loader import BpfMonitor
    from ebpf_monitor.ringbuf import RingReader

    cfg = Config.model_validate({"capture": {"read_write": mode}} if mode else {})
    mon = BpfMonitor(capture=cfg.capture, filters=cfg.filters, self_pid=os.getpid())
    try:
        reader = RingReader(mon.ring_fd, mon.ring_size)
        reader.read()
        result = run()
        batch = reader.read()
        reader.close()
    finally:
        mon.close()
    return [batch.data[off: off + length] for off, length in batch.spans], result


def _records(mode: str, inherited: int, tmp: Path, workload: str = WORKLOAD) -> list[bytes]:
    """The records of a Python workload's process tree (the fork records link it)."""
    from ebpf_monitor.abi import enum_values, layout

    script = tmp / "golden_workload.py"
    script.write_text(workload)
    os.lseek(inherited, 0, os.SEEK_SET)

    def run() -> int:
        proc = subprocess.Popen([sys.executable, "-S", "-I", str(script), str(inherited)],
                                cwd=tmp, pass_fds=(inherited,))
        proc.wait()
        return proc.pid

    recs, root = ring_records(mode, run)
    kinds = enum_values("event_kind")
    fork = layout("fork_event")
    child = fork.fields.index("child_pid")
    header = layout("event_header")
    kind_i, pid_i = header.fields.index("kind"), header.fields.index("pid")
    heads = [header.struct.unpack_from(rec) for rec in recs]
    children: dict[int, set[int]] = {}
    for rec, head in zip(recs, heads, strict=True):
        if head[kind_i] == kinds["EK_FORK"]:
            children.setdefault(head[pid_i], set()).add(fork.struct.unpack_from(rec)[child])
    # The workload's process tree, whatever the order its records reached the ring in.
    tracked = {root}
    todo = [root]
    while todo:
        for c in children.get(todo.pop(), ()):
            if c not in tracked:
                tracked.add(c)
                todo.append(c)
    out = [rec for rec, head in zip(recs, heads, strict=True) if head[pid_i] in tracked]
    return out


def write_records(path: Path, records: list[bytes]) -> None:
    raw = b"".join(struct.pack("<I", len(rec)) + rec for rec in records)
    path.write_bytes(gzip.compress(raw, mtime=0))


def extra_main(doc: str, name: str, record: Callable[[Path], list[bytes]]) -> int:
    """The command line of an extra fixture's script (golden.extra_names()): `record` runs its
    workload in a temporary directory and returns the records kept; --documents skips it."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--documents", action="store_true", help="rewrite only the documents")
    args = p.parse_args()
    from tests.unit import golden

    if not args.documents:
        with tempfile.TemporaryDirectory() as tmp:
            recs = record(Path(tmp))
        write_records(golden.extra_records_path(name), recs)
        print(f"{name}: {len(recs)} records", file=sys.stderr)
    text = "".join(line + "\n" for line in golden.extra_documents(name))
    golden.extra_documents_path(name).write_bytes(gzip.compress(text.encode(), mtime=0))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--documents", action="store_true", help="rewrite only the documents")
    args = p.parse_args()
    from tests.unit import golden

    if not args.documents:
        with tempfile.TemporaryDirectory() as tmp:
            shared = Path(tmp) / "opened-before.txt"
            shared.write_bytes(b"before the monitor\n")
            inherited = os.open(shared, os.O_RDWR)
            for mode in golden.MODES:
                recs = _records(mode, inherited, Path(tmp))
                write_records(golden.records_path(mode), recs)
                print(f"{mode}: {len(recs)} records", file=sys.stderr)
    for mode in golden.MODES:
        text = "".join(line + "\n" for line in golden.documents(mode))
        golden.documents_path(mode).write_bytes(gzip.compress(text.encode(), mtime=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
