"""capture.read_write "first": per fd, the first read and first write, then one `close`
record with exact totals, against real syscalls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ebpf_monitor.abi import rw_actions
from tests.monitor_harness import Doc, Monitor, run_workload, running_monitor

READ_ACTIONS, WRITE_ACTIONS = (set(names) for names in rw_actions())

WRITES = (101, 211, 307)  # 619 bytes in all
READS = (97, 89, 83, 79, 73)  # 421 bytes in all, all within the 619 written

FILE_WORK = f"""
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
for n in {WRITES}:
    assert os.write(fd, b"w" * n) == n
os.lseek(fd, 0, 0)
for n in {READS}:
    assert len(os.read(fd, n)) == n
os.close(fd)
print(fd, flush=True)
"""

EXIT_WORK = """
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
os.write(fd, b"a" * 13)
os.write(fd, b"b" * 17)
print(fd, flush=True)
os._exit(0)  # no close(2): the kernel closes it at exit
"""

PIPE_WORK = """
import os
r, w = os.pipe()
ino = os.fstat(r).st_ino
for chunk in (b"x" * 5, b"y" * 7, b"z" * 11):
    os.write(w, chunk)
assert len(os.read(r, 12)) == 12
assert len(os.read(r, 100)) == 11
os.close(w)
os.close(r)
print(r, w, ino, flush=True)
"""

EXEC_WORK = """
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, 0o600)
os.write(fd, b"c" * 19)
os.write(fd, b"d" * 23)
print(fd, flush=True)
os.execv("/bin/true", ["true"])
"""

TCP_WORK = """
import socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
for _ in range(3):
    cli.sendall(b"p" * 100)
got = 0
while got < 300:
    got += len(conn.recv(1000))
cli.close()
conn.close()
print(srv.getsockname()[1], flush=True)
"""


STALE_WORK = """
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
os.write(fd, b"s" * 29)
os.write(fd, b"t" * 31)
os.closerange(fd, fd + 1)  # no close(2): the entry is left behind
for _ in range(3):
    try:
        os.write(fd, b"u")
    except OSError:
        pass
print(fd, flush=True)
"""

UDP_WORK = """
import socket
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    tx.sendto(b"q" * 10, rx.getsockname())
tx.connect(rx.getsockname())  # same socket, new peer: the totals go on
for _ in range(2):
    tx.send(b"r" * 20)
fd = tx.fileno()
tx.close()
print(fd, rx.getsockname()[1], flush=True)
"""

@pytest.fixture(scope="module")
def first(workdir: Path) -> Iterator[Monitor]:
    with running_monitor(workdir / "first", {"capture": {"read_write": "first"}}) as mon:
        yield mon


def by_fd(docs: list[Doc], fd: int) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """(read events, write events, close summaries) of one fd."""
    mine = [d for d in docs if d.get("ebpf", {}).get("fd") == fd]
    return ([d for d in mine if d["event"]["action"] in READ_ACTIONS],
            [d for d in mine if d["event"]["action"] in WRITE_ACTIONS],
            [d for d in mine if d["event"]["action"] == "close"])


class TestReadWriteFirst:
    def test_file_first_events_and_totals(self, first: Monitor, workdir: Path) -> None:
        """5 reads and 3 writes then close(2): one read event, one write event, one summary
        with the exact counts and byte totals."""
        path = workdir / "first-file.txt"
        pid, out = run_workload(FILE_WORK, str(path))
        fd = int(out)
        docs = [d for d in first.events_of(pid) if d.get("file", {}).get("path") == str(path)]
        reads, writes, closes = by_fd(docs, fd)
        assert [r["ebpf"]["bytes"] for r in reads] == [READS[0]]
        assert [w["ebpf"]["bytes"] for w in writes] == [WRITES[0]]
        assert len(closes) == 1
        c = closes[0]
        assert c["ebpf"]["io"] == {"reads": 5, "writes": 3, "bytes_read": sum(READS),
                                   "bytes_written": sum(WRITES), "end": "close"}
        assert c["event"]["category"] == ["file"] and c["event"]["type"] == ["info"]
        assert c["file"]["name"] == path.name
        assert docs.index(c) > docs.index(reads[0])

    def test_exit_without_close(self, first: Monitor, workdir: Path) -> None:
        """An fd still open at exit is reported at exit, before the exit record."""
        path = workdir / "first-exit.txt"
        pid, out = run_workload(EXIT_WORK, str(path))
        fd = int(out)
        docs = first.events_of(pid)
        _, writes, closes = by_fd([d for d in docs
                                   if d.get("file", {}).get("path") == str(path)], fd)
        assert [w["ebpf"]["bytes"] for w in writes] == [13]
        assert [c["ebpf"]["io"] for c in closes] == [
            {"reads": 0, "writes": 2, "bytes_read": 0, "bytes_written": 30, "end": "exit"}]
        assert docs.index(closes[0]) < [d["event"]["action"] for d in docs].index("exit")

    def test_pipe_untracked_fd(self, first: Monitor) -> None:
        """A pipe (never opened by path) aggregates too; its I/O and totals are named
        pipe:[inode]."""
        pid, out = run_workload(PIPE_WORK)
        r, w, ino = (int(x) for x in out.split())
        pipe = f"pipe:[{ino}]"
        docs = [d for d in first.events_of(pid) if d.get("file", {}).get("path") == pipe]
        _, writes, wclose = by_fd(docs, w)
        reads, _, rclose = by_fd(docs, r)
        assert [x["ebpf"]["bytes"] for x in writes] == [5]
        assert [x["ebpf"]["bytes"] for x in reads] == [12]
        assert [c["ebpf"]["io"] for c in wclose] == [
            {"reads": 0, "writes": 3, "bytes_read": 0, "bytes_written": 23, "end": "close"}]
        assert [c["ebpf"]["io"] for c in rclose] == [
            {"reads": 2, "writes": 0, "bytes_read": 23, "bytes_written": 0, "end": "close"}]

    def test_exec_closes_cloexec_fd(self, first: Monitor, workdir: Path) -> None:
        """An O_CLOEXEC fd closed by exec (no close(2)) is reported at the exec."""
        path = workdir / "first-exec.txt"
        pid, out = run_workload(EXEC_WORK, str(path))
        fd = int(out)
        docs = [d for d in first.events_of(pid) if d.get("file", {}).get("path") == str(path)]
        _, writes, closes = by_fd(docs, fd)
        assert len(writes) == 1
        assert [c["ebpf"]["io"] for c in closes] == [
            {"reads": 0, "writes": 2, "bytes_read": 0, "bytes_written": 42, "end": "exec"}]

    def test_tcp_socket_totals(self, first: Monitor) -> None:
        """Socket fds: the summary names the peer; byte totals are exact."""
        pid, out = run_workload(TCP_WORK)
        port = int(out)
        closes = [d for d in first.events_of(pid) if d["event"]["action"] == "close"
                  and d["event"]["category"] == ["network"]]
        sent = [c for c in closes if c.get("destination", {}).get("port") == port]
        assert [c["ebpf"]["io"]["writes"] for c in sent] == [3]
        assert [c["ebpf"]["io"]["bytes_written"] for c in sent] == [300]
        received = [c for c in closes if c.get("source", {}).get("port") == port]
        assert [c["ebpf"]["io"]["bytes_read"] for c in received] == [300]
        assert received[0]["network"]["transport"] == "tcp"


    def test_stale_entry_sent_once(self, first: Monitor, workdir: Path) -> None:
        """An fd closed by close_range, then written to (EBADF): its totals go out once, as
        `stale`, not again at every later call."""
        path = workdir / "first-stale.txt"
        pid, out = run_workload(STALE_WORK, str(path))
        fd = int(out)
        closes = [d for d in first.events_of(pid) if d["event"]["action"] == "close"
                  and d["ebpf"]["fd"] == fd and d.get("file", {}).get("path") == str(path)]
        assert [c["ebpf"]["io"] for c in closes] == [
            {"reads": 0, "writes": 2, "bytes_read": 0, "bytes_written": 60, "end": "stale"}]

    def test_connect_keeps_socket_totals(self, first: Monitor) -> None:
        """sendto, then connect on the same UDP socket, then send: one summary for all five."""
        pid, out = run_workload(UDP_WORK)
        fd, port = (int(x) for x in out.split())
        docs = [d for d in first.events_of(pid) if d["event"]["category"] == ["network"]]
        _, writes, closes = by_fd(docs, fd)
        assert len(writes) == 1
        assert [c["ebpf"]["io"]["writes"] for c in closes] == [5]
        assert [c["ebpf"]["io"]["bytes_written"] for c in closes] == [70]
        assert closes[0]["destination"]["port"] == port
