"""The monitor against real syscalls: known workloads, exact expectations."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.harness import Monitor, actions, run_workload
from tests.harness.workloads import FILE_WORK, FORK_EXEC, TCP_WORK

__all__ = ["FILE_WORK", "FORK_EXEC", "TCP_WORK"]  # kept importable from here

# Prints the shared objects mapped into it after `import ssl` (ld.so and dlopen opened them),
# after opening argv[1], a plain file.
SHLIB_WORK = """
import os, ssl, sys
os.close(os.open(sys.argv[1], os.O_RDONLY))
with open("/proc/self/maps") as f:
    print("\\n".join(sorted({line.split()[-1] for line in f if ".so" in line})))
"""
# What the kernel filter calls a shared library: a name ending in .so or holding .so.N.
SHLIB_NAME = re.compile(r"\.so$|\.so\.\d")


def only(docs: list[dict], **match: object) -> list[dict]:
    def ok(d: dict) -> bool:
        for key, want in match.items():
            cur: object = d
            for part in key.split("__"):
                cur = cur.get(part) if isinstance(cur, dict) else None
            if cur != want:
                return False
        return True

    return [d for d in docs if ok(d)]


class TestProcess:
    def test_fork_and_exec(self, monitor: Monitor) -> None:
        """A fork and an exec of /bin/echo: pid/ppid chain, args exact, exit code."""
        parent, out = run_workload(FORK_EXEC)
        child = int(out.split()[-1])
        monitor.events_of(parent)
        docs = monitor.events_of(child)
        pdocs = [d for d in monitor.events() if d.get("process", {}).get("pid") == parent]
        forks = [d for d in pdocs if d["event"]["action"] in ("fork", "vfork", "clone", "clone3")
                 and d["ebpf"].get("child_pid") == child]
        assert len(forks) == 1
        assert forks[0]["ebpf"]["thread"] is False
        assert forks[0]["event"]["outcome"] == "success"
        execs = only(docs, event__action="execve")
        assert len(execs) == 1
        ex = execs[0]
        assert ex["process"]["args"] == ["echo", "hello", "wörld", "a b"]
        assert ex["process"]["args_count"] == 4
        assert ex["process"]["executable"] == "/bin/echo"
        assert ex["process"]["parent"]["pid"] == parent
        assert ex["process"]["name"] == "echo"
        assert ex["event"]["outcome"] == "success"
        assert ex["event"]["category"] == ["process"]
        exits = only(docs, event__action="exit")
        assert len(exits) == 1 and exits[0]["process"]["exit_code"] == 0
        # entity ids: stable for the process, different across processes
        assert ex["process"]["entity_id"] == exits[0]["process"]["entity_id"]
        assert ex["process"]["entity_id"] != forks[0]["process"]["entity_id"]

    def test_failed_exec(self, monitor: Monitor, workdir: Path) -> None:
        """An exec of a missing binary is reported as a failure with ENOENT."""
        missing = str(workdir / "no-such-binary")
        pid, _ = run_workload("import os, sys\ntry:\n os.execv(sys.argv[1], ['x', 'y'])\n"
                              "except FileNotFoundError:\n pass\n", missing)
        docs = only(monitor.events_of(pid), event__action="execve")
        failed = [d for d in docs if d["event"]["outcome"] == "failure"]
        assert len(failed) == 1
        assert failed[0]["error"]["code"] == "ENOENT"
        assert failed[0]["process"]["executable"] == missing
        assert failed[0]["process"]["args"] == ["x", "y"]

    def test_exit_code(self, monitor: Monitor) -> None:
        """A process exiting with status 7 is reported with exit_code 7."""
        proc = subprocess.Popen([sys.executable, "-c", "import os; os._exit(7)"])
        assert proc.wait() == 7
        exits = only(monitor.events_of(proc.pid), event__action="exit")
        assert [e["process"]["exit_code"] for e in exits] == [7]


class TestFiles:
    N = 1237

    def test_create_write_read_rename_unlink(self, monitor: Monitor, workdir: Path) -> None:
        """Each file action appears once, attributed to the workload, paths and bytes exact."""
        d = workdir / "files"
        d.mkdir()
        pid, _ = run_workload(FILE_WORK, str(d), str(self.N))
        docs = [x for x in monitor.events_of(pid) if str(d) in str(x.get("file", {}))]
        a, b = str(d / "a.txt"), str(d / "b name.txt")
        opens = only(docs, event__action="openat", file__path=a)
        assert len(opens) == 2
        assert opens[0]["ebpf"]["flags"] == ["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"]
        assert opens[0]["ebpf"]["mode"] == 0o640
        assert opens[1]["ebpf"]["flags"][0] == "O_RDONLY"
        writes = only(docs, event__action="write", file__path=a)
        assert [w["ebpf"]["bytes"] for w in writes] == [self.N]
        assert writes[0]["ebpf"]["fd"] == opens[0]["ebpf"]["fd"]
        reads = only(docs, event__action="read", file__path=a)
        assert [r["ebpf"]["bytes"] for r in reads] == [self.N]
        assert reads[0]["ebpf"]["bytes_requested"] == 65536
        renames = [x for x in docs if x["event"]["action"] in ("rename", "renameat", "renameat2")]
        assert len(renames) == 1
        assert renames[0]["file"]["path"] == a
        assert renames[0]["file"]["target_path"] == b
        unlinks = [x for x in docs if x["event"]["action"] in ("unlink", "unlinkat")]
        assert [u["file"]["path"] for u in unlinks] == [b]
        assert all(x["event"]["outcome"] == "success" for x in opens + writes + reads + unlinks)
        assert all(x["process"]["pid"] == pid for x in docs)
        assert not only(docs, event__action="close")  # "all" mode: no per-fd summaries

    def test_missing_file(self, monitor: Monitor, workdir: Path) -> None:
        """Opening a missing file is a failure with ENOENT and its message."""
        d = workdir / "files2"
        d.mkdir()
        pid, _ = run_workload(FILE_WORK, str(d), "1")
        docs = only(monitor.events_of(pid), file__path=str(d / "missing"))
        assert len(docs) == 1
        assert docs[0]["event"]["outcome"] == "failure"
        assert docs[0]["error"] == {"code": "ENOENT", "message": "No such file or directory"}
        assert docs[0]["ebpf"]["ret"] == -2

    def test_relative_path_and_odd_names(self, monitor: Monitor, workdir: Path) -> None:
        """Relative paths are made absolute (in the kernel: the process is gone before user
        space could ask /proc); non-UTF-8 bytes survive as \\x escapes."""
        d = workdir / "rel"
        d.mkdir()
        code = ("import os, sys\nos.chdir(sys.argv[1])\n"
                "fd = os.open(b'caf\\xe9 \\n.txt', os.O_CREAT | os.O_WRONLY, 0o600)\n"
                "os.write(fd, b'abc')\nos.close(fd)\nos.mkdir('sub')\n"
                "os.rename(b'caf\\xe9 \\n.txt', 'sub/moved')\nos.chdir('sub')\n"
                "os.unlink('moved')\n")
        pid, _ = run_workload(code, str(d))
        docs = monitor.events_of(pid)
        want = f"{d}/caf\\xe9 \n.txt"
        opens = only(docs, event__action="openat", file__path=want)
        assert len(opens) == 1
        writes = only(docs, event__action="write", file__path=want)
        assert [w["ebpf"]["bytes"] for w in writes] == [3]
        renames = [x for x in docs if x["event"]["action"].startswith("rename")]
        assert [(r["file"]["path"], r["file"]["target_path"]) for r in renames] == [
            (want, f"{d}/sub/moved")]
        unlinks = [x for x in docs if x["event"]["action"].startswith("unlink")]
        assert [u["file"]["path"] for u in unlinks] == [f"{d}/sub/moved"]


    def test_inherited_fd_named_after_the_child_is_gone(self, monitor: Monitor,
                                                         workdir: Path) -> None:
        """A subshell opens the file and forks a short-lived child that writes to the fd it
        inherited and exits at once: its write is named (in the kernel, at its first I/O:
        /proc has nothing left to read by then), as is the last command's, exec'd in place."""
        out = workdir / "inherited ü.out"
        code = ("import subprocess, sys\n"
                "subprocess.run(['/bin/sh', '-c', '( /bin/echo one; /bin/echo two ) > \"$1\"',"
                " 'sh', sys.argv[1]], check=True)\n")
        pid, _ = run_workload(code, str(out))
        assert out.read_text() == "one\ntwo\n"
        monitor.events_of(pid)  # to the workload's exit, so its descendants' records are in
        docs = monitor.events()
        tree = {pid}
        for _ in range(4):  # python -> sh -> subshell -> echo
            tree |= {d["process"]["pid"] for d in docs
                     if d.get("process", {}).get("parent", {}).get("pid") in tree}
        writes = [d for d in docs if d["event"]["action"] == "write"
                  and d["process"]["pid"] in tree and d["process"].get("name") == "echo"]
        assert len(writes) == 2, writes
        assert [w["file"]["path"] for w in writes] == [str(out), str(out)]
        assert [w["ebpf"]["fd"] for w in writes] == [1, 1]

    def test_fd_closed_without_close_is_not_misnamed(self, monitor: Monitor,
                                                     workdir: Path) -> None:
        """An fd closed by close_range (no close(2)) and reused by a pipe: the pipe's I/O is
        not attributed to the file the fd named before."""
        secret = workdir / "closed-by-range.txt"
        secret.write_text("x")
        code = ("import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\n"
                "os.closerange(fd, fd + 1)\nr, w = os.pipe()\nassert fd in (r, w)\n"
                "os.write(w, b'hello')\nassert os.read(r, 5) == b'hello'\n")
        pid, _ = run_workload(code, str(secret))
        docs = monitor.events_of(pid)
        io = [d for d in docs if d["event"]["action"] in ("read", "write")
              and d["ebpf"].get("bytes") == 5]
        assert len(io) == 2
        assert all(d.get("file", {}).get("path") != str(secret) for d in io)
        assert all(d.get("file", {}).get("path", "").startswith("pipe:") for d in io)


class TestNetwork:
    def _check(self, monitor: Monitor, host: str) -> None:
        pid, out = run_workload(TCP_WORK, host)
        sport, cport = (int(x) for x in out.split())
        docs = monitor.events_of(pid)
        connects = only(docs, event__action="connect")
        assert len(connects) == 1
        c = connects[0]
        assert c["destination"] == {"ip": host, "port": sport}
        assert c["source"] == {"ip": host, "port": cport}
        assert c["network"]["transport"] == "tcp"
        assert c["network"]["type"] == ("ipv6" if ":" in host else "ipv4")
        assert c["event"]["outcome"] == "success"
        accepts = [d for d in docs if d["event"]["action"] in ("accept", "accept4")]
        assert len(accepts) == 1
        a = accepts[0]
        assert a["source"] == {"ip": host, "port": cport}
        assert a["destination"] == {"ip": host, "port": sport}
        binds = only(docs, event__action="bind")
        assert len(binds) == 1 and binds[0]["source"]["ip"] == host
        listens = only(docs, event__action="listen")
        assert len(listens) == 1 and listens[0]["source"]["port"] == sport
        sends = [d for d in docs if d["event"]["action"] in ("sendto", "write", "sendmsg")
                 and d.get("destination", {}).get("port") == sport]
        assert [s["ebpf"]["bytes"] for s in sends] == [100]
        recvs = [d for d in docs if d["event"]["action"] in ("recvfrom", "read", "recvmsg")
                 and d.get("destination", {}).get("port") == cport]
        assert [r["ebpf"]["bytes"] for r in recvs] == [100]

    def test_any_address_is_no_address(self, monitor: Monitor) -> None:
        """bind and listen on 0.0.0.0: a port and no ip on either end (the bytes after an
        IPv4 address were the socket's hash and ports, read as 0.0.0.0)."""
        # A port named in bind's argument (the address asked for is what bind records).
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        code = ("import socket, sys\ns = socket.socket()\n"
                "s.bind(('0.0.0.0', int(sys.argv[1])))\ns.listen(1)\n")
        pid, _ = run_workload(code, str(port))
        docs = monitor.events_of(pid)
        for action in ("bind", "listen"):
            (doc,) = only(docs, event__action=action)
            assert doc["source"] == {"port": port}, doc
            assert "destination" not in doc, doc

    def test_ipv4_address_on_an_ipv6_socket(self, monitor: Monitor) -> None:
        """A dual-stack UDP socket connected with an AF_INET address: both ends IPv4, the
        local one taken from its IPv4-mapped IPv6 form."""
        code = ("import ctypes, socket, struct\n"
                "srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "srv.bind(('127.0.0.1', 0))\nport = srv.getsockname()[1]\n"
                "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
                "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n"
                "sa = struct.pack('=H', socket.AF_INET) + struct.pack('!H', port)"
                " + socket.inet_aton('127.0.0.1') + bytes(8)\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "assert libc.connect(s.fileno(), sa, len(sa)) == 0, ctypes.get_errno()\n"
                "print(port, s.getsockname()[1])\n")
        pid, out = run_workload(code)
        port, cport = (int(x) for x in out.split())
        (con,) = only(monitor.events_of(pid), event__action="connect")
        assert con["destination"] == {"ip": "127.0.0.1", "port": port}
        assert con["source"] == {"ip": "127.0.0.1", "port": cport}
        assert con["network"]["type"] == "ipv4"

    def test_tcp_ipv4(self, monitor: Monitor) -> None:
        """connect/accept on 127.0.0.1: addresses and ports of both ends exact."""
        self._check(monitor, "127.0.0.1")

    def test_tcp_ipv6(self, monitor: Monitor) -> None:
        """connect/accept on ::1: addresses and ports of both ends exact."""
        self._check(monitor, "::1")


class TestFilters:
    def test_monitor_never_sees_itself(self, monitor: Monitor) -> None:
        """The monitor writes events.jsonl all the time; none of that is an event."""
        run_workload("pass")
        docs = monitor.events()
        assert docs
        assert not [d for d in docs if d.get("process", {}).get("pid") == monitor.pid]
        # Others read the file (this test does); the monitor's writes to it are never events.
        assert not [d for d in docs if d.get("file", {}).get("path") == str(monitor.events_file)
                    and d["event"]["action"] in ("write", "writev", "pwrite64")]

    def test_ignored_prefix_but_exec_kept(self, monitor: Monitor, workdir: Path) -> None:
        """Files under an ignored prefix never appear; an exec from there still does."""
        ignored = workdir / "ignored"
        tool = ignored / "tool"
        shutil.copy("/bin/true", tool)
        code = ("import os, subprocess, sys\nd = sys.argv[1]\n"
                "fd = os.open(os.path.join(d, 'secret'), os.O_CREAT | os.O_RDWR, 0o600)\n"
                "os.write(fd, b'data')\nos.lseek(fd, 0, 0)\nos.read(fd, 10)\nos.close(fd)\n"
                "os.unlink(os.path.join(d, 'secret'))\n"
                "subprocess.run([os.path.join(d, 'tool')], check=True)\n")
        pid, _ = run_workload(code, str(ignored))
        monitor.events_of(pid)
        docs = monitor.wait_for(lambda d: d["event"]["action"] == "execve"
                                and d["process"].get("executable") == str(tool))
        assert not [d for d in docs if str(ignored / "secret") in str(d.get("file"))]
        assert not [d for d in docs if d.get("process", {}).get("pid") == pid
                    and d["event"]["action"] in ("read", "write") and "file" not in d
                    and d["ebpf"].get("bytes") == 4]

    def test_ignored_comm_but_exec_kept(self, monitor: Monitor, workdir: Path) -> None:
        """A process named in ignore_comms: its exec appears, its file events do not."""
        tool = workdir / "ignoreme"
        shutil.copy("/bin/cat", tool)
        target = workdir / "read-by-ignored.txt"
        target.write_text("hello")
        proc = subprocess.run([str(tool), str(target)], capture_output=True, check=True)
        assert proc.stdout == b"hello"
        docs = monitor.wait_for(lambda d: d["event"]["action"] == "execve"
                                and d["process"].get("executable") == str(tool))
        assert [d for d in docs if d.get("process", {}).get("name") == "ignoreme"] != []  # the exec
        assert not [d for d in docs if d.get("process", {}).get("name") == "ignoreme"
                    and d["event"]["action"] != "execve"]


def test_no_shared_library_opens(monitor: Monitor, workdir: Path) -> None:
    """ld.so's opens of shared libraries are filtered for non-exec events by default."""
    plain = workdir / "not-a-library.txt"
    plain.write_text("x")
    pid, out = run_workload(SHLIB_WORK, str(plain))
    docs = monitor.events_of(pid)
    # The workload did open libraries: versioned ones (libssl.so.3) and a bare .so (_ssl).
    mapped = {os.path.basename(p) for p in out.split()}
    assert [n for n in mapped if n.endswith(".so")] and [n for n in mapped if ".so." in n]
    opened = [d["file"]["path"] for d in docs if d["event"]["action"] == "openat"]
    assert [p for p in opened if SHLIB_NAME.search(p)] == []
    assert not mapped & {os.path.basename(p) for p in opened}
    # The filter drops libraries only: the plain file's open is there.
    assert str(plain) in opened
    assert "openat" in actions(docs)
