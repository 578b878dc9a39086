#!/usr/bin/env python3
"""Record the IPC fixture (issue #12): raw ring records of pipe, pipe2, socketpair, AF_UNIX
bind/listen/connect/accept (a relative path, an abstract name, a failed connect), an MPTCP
socket, sendfile64/splice/tee/copy_file_range between files and pipes, sendmmsg/recvmmsg
(and failures of each), io_uring (tests/kernel/uring_work.c: setup, openat/read/write/connect/
send/fsync through a ring, a SQPOLL ring with a registered file), and the documents made from
them, host inputs fixed as for the golden batch.

    sudo .venv/bin/python scripts/golden_record_ipc.py              # records + documents
    .venv/bin/python scripts/golden_record_ipc.py --documents       # rewrite the documents

Writes tests/unit/golden/hooks-ipc-records.bin.gz and hooks-ipc-documents.jsonl.gz, which the
unit tier checks (test_golden) and takes as evidence of the fields written (test_fields).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

import golden_record  # noqa: E402

NAME = "hooks-ipc"
WORKLOAD = textwrap.dedent(r'''
    import ctypes, os, socket
    libc = ctypes.CDLL(None, use_errno=True)
    fds = (ctypes.c_int * 2)()
    libc.syscall(22, fds)                                  # pipe(2)
    os.write(fds[1], b"pipe data"); os.read(fds[0], 100)
    os.close(fds[0]); os.close(fds[1])
    libc.syscall(22, ctypes.c_void_p(8))                   # pipe: EFAULT
    r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    os.write(w, b"x"); os.read(r, 1)
    try:
        os.pipe2(0x40000000)                               # EINVAL
    except OSError:
        pass
    a, b = socket.socketpair()
    a.send(b"ping"); b.recv(4)
    try:
        socket.socketpair(socket.AF_INET, socket.SOCK_STREAM)   # EOPNOTSUPP
    except OSError:
        pass
    for addr in ("rel näme.sock", "\0golden-abstract"):
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(addr); srv.listen(2)
        cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cli.connect(addr)
        conn, _ = srv.accept()
        cli.send(b"hi"); conn.recv(2)
        cli.close(); conn.close(); srv.close()
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        bad.connect("missing.sock")                        # ENOENT
    except OSError:
        pass
    with open("moved.txt", "wb") as f:
        f.write(b"0123456789" * 4)
    src = os.open("moved.txt", os.O_RDONLY)
    dst = os.open("moved-copy.txt", os.O_WRONLY | os.O_CREAT, 0o600)
    os.sendfile(dst, src, 0, 40)
    try:
        os.sendfile(dst, 999, 0, 1)                        # EBADF
    except OSError:
        pass
    r, w = os.pipe(); r2, w2 = os.pipe()
    os.splice(src, w, 10, offset_src=0)
    libc.syscall(276, r, w2, 10, 0)                        # tee
    os.splice(r, dst, 10, offset_dst=0, flags=os.SPLICE_F_MOVE)
    os.copy_file_range(src, dst, 5, 0, 0)
    try:
        os.copy_file_range(src, 999, 1)                    # EBADF
    except OSError:
        pass
    class iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
    class msghdr(ctypes.Structure):
        _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                    ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                    ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                    ("flags", ctypes.c_int)]
    class mmsghdr(ctypes.Structure):
        _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
    buf = ctypes.create_string_buffer(b"datagram", 8)
    io = iovec(ctypes.cast(buf, ctypes.c_void_p), 8)
    msgs = (mmsghdr * 2)()
    for m in msgs:
        m.hdr.iov = ctypes.pointer(io); m.hdr.iovlen = 1
    ua = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ua.bind(("127.0.0.1", 0))
    ub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ub.bind(("127.0.0.1", 0))
    ua.connect(ub.getsockname())
    libc.sendmmsg(ua.fileno(), msgs, 2, 0)
    libc.recvmmsg(ub.fileno(), msgs, 2, 0, None)
    libc.sendmmsg(src, msgs, 2, 0)                         # ENOTSOCK
    import subprocess
    subprocess.run([URING_WORK, "ring file.txt", "ring-missing.txt"], stdout=subprocess.DEVNULL)
    try:
        m = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)   # IPPROTO_MPTCP
        m.bind(("127.0.0.1", 0)); m.listen(1)
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
        c.connect(m.getsockname()); s, _ = m.accept(); c.send(b"m"); s.recv(1)
    except OSError:
        pass
''')


def record(tmp: Path) -> list[bytes]:
    uring = tmp / "uring_work"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(uring),
                    str(REPO / "tests" / "kernel" / "uring_work.c"), "-luring"], check=True)
    unused = os.open(tmp, os.O_RDONLY)
    return golden_record._records("all", unused, tmp,
                                  WORKLOAD.replace("URING_WORK", repr(str(uring))))


if __name__ == "__main__":
    sys.exit(golden_record.extra_main(__doc__ or "", NAME, record))
