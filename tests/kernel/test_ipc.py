"""IPC under the monitor: pipe, pipe2, socketpair with both ends named, and Unix-socket paths
on bind/listen/connect/accept; success and failure paths, each syscall variant exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.harness import Monitor, run_workload

# pipe(2) through its own syscall number (glibc and Python use pipe2), pipe2 with flags, a
# socketpair with one message each way, and the failures: EFAULT, EINVAL, EOPNOTSUPP.
IPC_WORK = r"""
import ctypes, json, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_pipe = 22
out = {}
fds = (ctypes.c_int * 2)()
assert libc.syscall(SYS_pipe, fds) == 0
r, w = fds[0], fds[1]
os.write(w, b"through the pipe")
assert os.read(r, 100) == b"through the pipe"
out["pipe"] = [r, w, os.fstat(r).st_ino]
os.close(r); os.close(w)
assert libc.syscall(SYS_pipe, ctypes.c_void_p(8)) == -1 and ctypes.get_errno() == 14
r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
os.write(w, b"x")
os.read(r, 1)
out["pipe2"] = [r, w, os.fstat(r).st_ino]
os.close(r); os.close(w)
try:
    os.pipe2(0x40000000)
except OSError as e:
    assert e.errno == 22
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
a.send(b"ping"); assert b.recv(4) == b"ping"
b.send(b"pong!"); assert a.recv(5) == b"pong!"
out["socketpair"] = [a.fileno(), b.fileno(), os.fstat(a.fileno()).st_ino,
                     os.fstat(b.fileno()).st_ino]
try:
    socket.socketpair(socket.AF_INET, socket.SOCK_STREAM)
except OSError as e:
    assert e.errno == 95
print(json.dumps(out))
"""

# A listening Unix socket at an odd path and one under an abstract name; a client connects to
# each, the server accepts; a connect to a missing path fails (ENOENT).
UNIX_WORK = r"""
import json, os, socket, sys
path, abstract = sys.argv[1], "\0" + sys.argv[2]
out = {}
for name, addr in (("path", path), ("abstract", abstract)):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(addr)
    srv.listen(3)
    cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cli.connect(addr)
    conn, _ = srv.accept()
    cli.send(b"hi"); conn.recv(2)
    out[name] = {"srv": srv.fileno(), "cli": cli.fileno(), "conn": conn.fileno(),
                 "cli_ino": os.fstat(cli.fileno()).st_ino,
                 "conn_ino": os.fstat(conn.fileno()).st_ino}
    cli.close(); conn.close(); srv.close()
bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    bad.connect(path + ".missing")
except FileNotFoundError:
    pass
out["bad"] = bad.fileno()
print(json.dumps(out))
"""


def _one(docs: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [d for d in docs if all(_get(d, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def _get(doc: dict[str, Any], dotted: str) -> Any:
    cur: Any = doc
    for part in dotted.split("__"):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


class TestPipes:
    """pipe and pipe2 name both fds and the pipe; the pipe's reads and writes carry its name."""

    def test_pipe_pipe2_socketpair(self, monitor: Monitor) -> None:
        """Each call once on success and once failing, its fds, inodes and flags exact."""
        pid, out = run_workload(IPC_WORK)
        got = json.loads(out)
        docs = monitor.events_of(pid)
        r, w, ino = got["pipe"]
        ok = _one(docs, event__action="pipe", event__outcome="success")
        assert ok["ebpf"]["fd"] == r and ok["ebpf"]["peer_fd"] == w
        assert ok["file"]["path"] == f"pipe:[{ino}]"
        assert ok["event"]["category"] == ["file"] and ok["event"]["type"] == ["creation"]
        bad = _one(docs, event__action="pipe", event__outcome="failure")
        assert bad["error"]["code"] == "EFAULT" and "fd" not in bad["ebpf"]
        wr = _one(docs, event__action="write", ebpf__fd=w, file__path=f"pipe:[{ino}]")
        rd = [d for d in docs if d["event"]["action"] == "read" and d["ebpf"]["fd"] == r
              and d.get("file", {}).get("path") == f"pipe:[{ino}]"]
        assert wr["file"]["path"] == f"pipe:[{ino}]" and wr["ebpf"]["bytes"] == 16
        assert len(rd) == 1 and rd[0]["ebpf"]["bytes"] == 16

        r2, w2, ino2 = got["pipe2"]
        ok2 = _one(docs, event__action="pipe2", event__outcome="success")
        assert (ok2["ebpf"]["fd"], ok2["ebpf"]["peer_fd"]) == (r2, w2)
        assert ok2["file"]["path"] == f"pipe:[{ino2}]"
        assert sorted(ok2["ebpf"]["flags"]) == ["O_CLOEXEC", "O_NONBLOCK"]
        bad2 = _one(docs, event__action="pipe2", event__outcome="failure")
        assert bad2["error"]["code"] == "EINVAL"

        a, b, ia, ib = got["socketpair"]
        sp = _one(docs, event__action="socketpair", event__outcome="success")
        assert (sp["ebpf"]["fd"], sp["ebpf"]["peer_fd"]) == (a, b)
        assert sp["ebpf"]["socket"] == {"family": "AF_UNIX", "type": "SOCK_STREAM",
                                        "inode": ia, "peer_inode": ib}
        assert sp["event"]["category"] == ["network"]
        # Each end's traffic names its socket and the peer, so the two sides pair up.
        send = _one(docs, event__action="sendto", ebpf__fd=a)
        assert send["ebpf"]["socket"]["inode"] == ia
        assert send["ebpf"]["socket"]["peer_inode"] == ib
        recv = _one(docs, event__action="recvfrom", ebpf__fd=b)
        assert recv["ebpf"]["socket"]["inode"] == ib
        assert recv["ebpf"]["socket"]["peer_inode"] == ia
        spf = _one(docs, event__action="socketpair", event__outcome="failure")
        assert spf["error"]["code"] == "ENOTSUP"  # errno 95, as Python names it
        assert spf["ebpf"]["socket"]["family"] == "AF_INET"


class TestUnixSockets:
    """bind/listen/connect/accept of AF_UNIX sockets carry the path, abstract names as @name."""

    def test_paths(self, monitor: Monitor, workdir: Path) -> None:
        """A path with a space and non-ASCII, an abstract name, and a failed connect."""
        path = str(workdir / "odd näme.sock")
        pid, out = run_workload(UNIX_WORK, path, "ebpf-monitor-test-abstract")
        got = json.loads(out)
        docs = monitor.events_of(pid)
        for name, want in (("path", path), ("abstract", "@ebpf-monitor-test-abstract")):
            g = got[name]
            for action in ("bind", "listen"):
                d = _one(docs, event__action=action, ebpf__fd=g["srv"],
                         ebpf__socket__path=want)
                assert d["ebpf"]["socket"]["family"] == "AF_UNIX"
            con = _one(docs, event__action="connect", ebpf__fd=g["cli"],
                       ebpf__socket__path=want)
            assert con["event"]["outcome"] == "success"
            assert con["ebpf"]["socket"]["inode"] == g["cli_ino"]
            # The server's end is a socket without an inode until accept() takes it.
            assert "peer_inode" not in con["ebpf"]["socket"]
            acc = _one(docs, event__action="accept4", ebpf__fd=g["conn"],
                       ebpf__socket__path=want)
            assert acc["ebpf"]["socket"]["inode"] == g["conn_ino"]
            assert acc["ebpf"]["socket"]["peer_inode"] == g["cli_ino"]
        bad = _one(docs, event__action="connect", ebpf__fd=got["bad"])
        assert bad["error"]["code"] == "ENOENT"
        assert bad["ebpf"]["socket"]["path"] == path + ".missing"


MPTCP_WORK = r"""
import json, socket
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)   # IPPROTO_MPTCP
srv.bind(("127.0.0.1", 0)); srv.listen(1)
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
cli.connect(srv.getsockname())
conn, _ = srv.accept()
cli.send(b"m"); conn.recv(1)
print(json.dumps([cli.fileno(), srv.getsockname()[1]]))
"""


class TestMptcp:
    """MPTCP sockets are named `mptcp` with TCP's IANA number; the raw 262 stays."""

    def test_mptcp_connect(self, monitor: Monitor) -> None:
        """socket and connect of an MPTCP client: transport, iana_number, ebpf.socket.protocol."""
        if Path("/proc/sys/net/mptcp/enabled").read_text().strip() != "1":
            raise AssertionError("MPTCP is off on this host (net.mptcp.enabled)")
        pid, out = run_workload(MPTCP_WORK)
        fd, port = json.loads(out)
        docs = monitor.events_of(pid)
        con = _one(docs, event__action="connect", ebpf__fd=fd)
        assert con["network"] == {"type": "ipv4", "transport": "mptcp", "iana_number": "6"}
        assert con["ebpf"]["socket"]["protocol"] == 262
        assert con["destination"] == {"ip": "127.0.0.1", "port": port}
        sockets = [d for d in docs if d["event"]["action"] == "socket"]
        assert len(sockets) == 2
        assert all(d["network"]["transport"] == "mptcp" for d in sockets)


# Data moved in the kernel: sendfile64 file->file and file->TCP socket, splice file->pipe and
# pipe->file, tee pipe->pipe, copy_file_range file->file, each once failing; sendmmsg and
# recvmmsg of three UDP datagrams, and sendmmsg on a non-socket (ENOTSOCK).
XFER_WORK = r"""
import ctypes, json, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
src_path, dst_path = sys.argv[1], sys.argv[2]
out = {}
with open(src_path, "wb") as f:
    f.write(b"0123456789" * 10)
src = os.open(src_path, os.O_RDONLY)
dst = os.open(dst_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
out["src"], out["dst"] = src, dst
assert os.sendfile(dst, src, 0, 100) == 100
try:
    os.sendfile(dst, 999, 0, 10)
except OSError as e:
    assert e.errno == 9
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()
assert os.sendfile(cli.fileno(), src, 0, 50) == 50
conn.recv(100)
out["tcp"] = [cli.fileno(), srv.getsockname()[1]]
r, w = os.pipe()
out["pipe"] = [r, w, os.fstat(r).st_ino]
assert os.splice(src, w, 30, offset_src=0) == 30
r2, w2 = os.pipe()
out["pipe2"] = [r2, w2, os.fstat(r2).st_ino]
assert libc.syscall(276, r, w2, 30, 0) == 30           # tee
assert libc.syscall(276, src, dst, 30, 0) == -1 and ctypes.get_errno() == 22
assert os.splice(r, dst, 30, offset_dst=0, flags=os.SPLICE_F_MOVE) == 30
try:
    os.splice(src, dst, 10)
except OSError as e:
    assert e.errno == 22
assert os.copy_file_range(src, dst, 20, 0, 0) == 20
try:
    os.copy_file_range(src, 999, 10)
except OSError as e:
    assert e.errno == 9

class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]
class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]

def vec(sizes):
    bufs = [ctypes.create_string_buffer(b"d" * n, n) for n in sizes]
    iovs = [iovec(ctypes.cast(b, ctypes.c_void_p), n) for b, n in zip(bufs, sizes)]
    msgs = (mmsghdr * len(sizes))()
    for m, io in zip(msgs, iovs):
        m.hdr.iov = ctypes.pointer(io); m.hdr.iovlen = 1
    return msgs, (bufs, iovs)

ua = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ua.bind(("127.0.0.1", 0))
ub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ub.bind(("127.0.0.1", 0))
ua.connect(ub.getsockname())
msgs, keep = vec([5, 7, 11])
assert libc.sendmmsg(ua.fileno(), msgs, 3, 0) == 3
rmsgs, keep2 = vec([64, 64, 64])
assert libc.recvmmsg(ub.fileno(), rmsgs, 3, 0, None) == 3
assert libc.sendmmsg(src, msgs, 3, 0) == -1 and ctypes.get_errno() == 88
out["udp"] = [ua.fileno(), ub.fileno(), ua.getsockname()[1], ub.getsockname()[1]]
print(json.dumps(out))
"""


class TestMoves:
    """sendfile64, splice, tee, copy_file_range name both ends; sendmmsg/recvmmsg count."""

    def test_moves(self, monitor: Monitor, workdir: Path) -> None:
        """Each call's ends (file path, pipe name, socket peer), bytes, flags; failures."""
        src_path, dst_path = str(workdir / "move src ü.txt"), str(workdir / "move dst.txt")
        pid, out = run_workload(XFER_WORK, src_path, dst_path)
        g = json.loads(out)
        docs = monitor.events_of(pid)
        src, dst = g["src"], g["dst"]
        r, w, pino = g["pipe"]
        _r2, w2, pino2 = g["pipe2"]
        pipe, pipe2 = f"pipe:[{pino}]", f"pipe:[{pino2}]"
        sf = _one(docs, event__action="sendfile64", ebpf__to__fd=dst, event__outcome="success")
        assert sf["ebpf"]["from"] == {"fd": src, "path": src_path}
        assert sf["ebpf"]["to"] == {"fd": dst, "path": dst_path}
        assert sf["ebpf"]["bytes"] == 100 and sf["ebpf"]["bytes_requested"] == 100
        assert sf["event"]["type"] == ["access", "change"]
        bad = _one(docs, event__action="sendfile64", event__outcome="failure")
        assert bad["error"]["code"] == "EBADF" and bad["ebpf"]["from"] == {"fd": 999}
        cfd, port = g["tcp"]
        tcp = _one(docs, event__action="sendfile64", ebpf__to__fd=cfd)
        assert tcp["ebpf"]["to"] == {"fd": cfd} and tcp["ebpf"]["bytes"] == 50
        assert tcp["destination"] == {"ip": "127.0.0.1", "port": port}
        assert tcp["network"]["transport"] == "tcp"

        sp = _one(docs, event__action="splice", ebpf__to__fd=w)
        assert sp["ebpf"]["from"] == {"fd": src, "path": src_path}
        assert sp["ebpf"]["to"] == {"fd": w, "path": pipe} and sp["ebpf"]["bytes"] == 30
        sp2 = _one(docs, event__action="splice", ebpf__from__fd=r)
        assert sp2["ebpf"]["from"] == {"fd": r, "path": pipe}
        assert sp2["ebpf"]["to"] == {"fd": dst, "path": dst_path}
        assert sp2["ebpf"]["flags"] == ["SPLICE_F_MOVE"]
        spf = _one(docs, event__action="splice", event__outcome="failure")
        assert spf["error"]["code"] == "EINVAL"
        assert spf["ebpf"]["from"]["path"] == src_path

        tee = _one(docs, event__action="tee", event__outcome="success")
        assert tee["ebpf"]["from"] == {"fd": r, "path": pipe}
        assert tee["ebpf"]["to"] == {"fd": w2, "path": pipe2} and tee["ebpf"]["bytes"] == 30
        teef = _one(docs, event__action="tee", event__outcome="failure")
        assert teef["error"]["code"] == "EINVAL"

        cf = _one(docs, event__action="copy_file_range", event__outcome="success")
        assert cf["ebpf"]["from"] == {"fd": src, "path": src_path}
        assert cf["ebpf"]["to"] == {"fd": dst, "path": dst_path} and cf["ebpf"]["bytes"] == 20
        cff = _one(docs, event__action="copy_file_range", event__outcome="failure")
        assert cff["error"]["code"] == "EBADF" and cff["ebpf"]["to"] == {"fd": 999}

        ua, ub, _pa, pb = g["udp"]
        sm = _one(docs, event__action="sendmmsg", event__outcome="success")
        assert sm["ebpf"]["fd"] == ua and sm["ebpf"]["messages"] == 3
        assert sm["ebpf"]["bytes"] == 23 and sm["ebpf"]["messages_offered"] == 3
        assert sm["destination"] == {"ip": "127.0.0.1", "port": pb}
        assert sm["network"]["transport"] == "udp"
        rm = _one(docs, event__action="recvmmsg")
        assert rm["ebpf"]["fd"] == ub and rm["ebpf"]["messages"] == 3
        assert rm["ebpf"]["bytes"] == 23
        smf = _one(docs, event__action="sendmmsg", event__outcome="failure")
        assert smf["error"]["code"] == "ENOTSOCK" and "socket" not in smf["ebpf"]


class TestFilters:
    """A process in ignore_comms gets none of these documents (its exec excepted)."""

    def test_ignored_comm(self, monitor: Monitor, workdir: Path) -> None:
        """The IPC, Unix-socket and move workloads renamed `ignoreme`: none of their calls."""
        rename = ("import ctypes\nctypes.CDLL(None).prctl(15, b'ignoreme', 0, 0, 0)\n")
        src, dst = str(workdir / "f-src"), str(workdir / "f-dst")
        pids = [run_workload(rename + IPC_WORK)[0],
                run_workload(rename + UNIX_WORK, str(workdir / "f.sock"), "f-abstract")[0],
                run_workload(rename + XFER_WORK, src, dst)[0]]
        # A later process's exit: everything the ignored ones could have sent is in by then.
        marker, _ = run_workload("pass")
        docs = monitor.events_of(marker)
        docs = [d for d in monitor.events() if d.get("process", {}).get("pid") in pids]
        assert docs, "their execs are recorded"
        # Python's start-up (opens, reads) comes before the rename; nothing after it.
        assert not [d for d in docs if d["process"]["name"] == "ignoreme"
                    and d["event"]["action"] != "execve"]
        ipc = {"pipe", "pipe2", "socketpair", "sendfile64", "splice", "tee", "copy_file_range",
               "sendmmsg", "recvmmsg", "bind", "listen", "connect", "accept4", "sendto"}
        assert not {d["event"]["action"] for d in docs} & ipc
