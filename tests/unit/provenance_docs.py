"""Hand-made ECS documents for provenance tests: the fields the monitor writes, no more."""

from __future__ import annotations

import datetime as dt
from typing import Any

BASE_NS = 1_764_460_800 * 1_000_000_000  # 2025-11-30T00:00:00Z
Doc = dict[str, Any]


def stamp(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def at(t: float) -> int:
    """Seconds after BASE_NS, in ns."""
    return BASE_NS + int(t * 1_000_000_000)


class Proc:
    """One process entity that makes documents."""

    def __init__(self, entity: str, pid: int, ppid: int, start: float, exe: str = "/bin/x",
                 host: str = "h") -> None:
        self.entity, self.pid, self.ppid, self.start, self.exe = entity, pid, ppid, start, exe
        self.host = host

    def doc(self, t: float, action: str, *, category: str = "file", outcome: str = "success",
            **more: Any) -> Doc:
        d: Doc = {
            "@timestamp": stamp(at(t)),
            "event": {"id": f"{self.entity}-{t}-{action}", "kind": "event", "action": action,
                      "category": [category], "outcome": outcome},
            "host": {"name": self.host},
            "process": {"pid": self.pid, "thread": {"id": self.pid}, "name": self.exe[-15:],
                        "start": stamp(at(self.start)), "entity_id": self.entity,
                        "parent": {"pid": self.ppid}, "executable": self.exe},
            "user": {"id": "0", "name": "root"},
            "ebpf": {"syscall": action},
        }
        for key, value in more.items():
            d[key] = value
        return d

    def exec(self, t: float, exe: str, *args: str) -> Doc:
        self.exe = exe
        d = self.doc(t, "execve", category="process")
        d["process"].update(executable=exe, args=[exe, *args], args_count=1 + len(args))
        return d

    def exit(self, t: float, code: int = 0) -> Doc:
        d = self.doc(t, "exit", category="process")
        d["process"]["exit_code"] = code
        return d

    def fork(self, t: float, child_pid: int) -> Doc:
        d = self.doc(t, "clone", category="process")
        d["ebpf"].update(child_pid=child_pid, child_tid=child_pid, thread=False)
        return d

    def read(self, t: float, path: str, nbytes: int = 10, fd: int = 3) -> Doc:
        d = self.doc(t, "read", file={"path": path})
        d["ebpf"].update(fd=fd, bytes=nbytes)
        return d

    def write(self, t: float, path: str, nbytes: int = 10, fd: int = 3) -> Doc:
        d = self.doc(t, "write", file={"path": path})
        d["ebpf"].update(fd=fd, bytes=nbytes)
        return d

    def close(self, t: float, path: str, *, reads: int = 0, writes: int = 0,
              bytes_read: int = 0, bytes_written: int = 0, fd: int = 3) -> Doc:
        d = self.doc(t, "close", file={"path": path})
        d["ebpf"] = {"fd": fd, "io": {"reads": reads, "writes": writes, "bytes_read": bytes_read,
                                      "bytes_written": bytes_written, "end": "close"}}
        return d

    def open(self, t: float, path: str, *flags: str) -> Doc:
        d = self.doc(t, "openat", file={"path": path})
        d["ebpf"].update(flags=list(flags) or ["O_RDONLY"], fd=3)
        return d

    def rename(self, t: float, old: str, new: str) -> Doc:
        return self.doc(t, "rename", file={"path": old, "target_path": new})

    def unlink(self, t: float, path: str) -> Doc:
        return self.doc(t, "unlink", file={"path": path})

    def connect(self, t: float, ip: str, port: int, lport: int = 40000) -> Doc:
        return self.doc(t, "connect", category="network",
                        source={"ip": "10.0.0.9", "port": lport},
                        destination={"ip": ip, "port": port})

    def send(self, t: float, ip: str, port: int, nbytes: int = 10, lport: int = 40000) -> Doc:
        d = self.doc(t, "sendto", category="network", source={"ip": "10.0.0.9", "port": lport},
                     destination={"ip": ip, "port": port})
        d["ebpf"].update(fd=4, bytes=nbytes)
        return d

    def recv(self, t: float, ip: str, port: int, nbytes: int = 10, lport: int = 40000) -> Doc:
        d = self.doc(t, "recvfrom", category="network", source={"ip": "10.0.0.9", "port": lport},
                     destination={"ip": ip, "port": port})
        d["ebpf"].update(fd=4, bytes=nbytes)
        return d

    def listen(self, t: float, port: int) -> Doc:
        return self.doc(t, "listen", category="network", source={"ip": "0.0.0.0", "port": port},
                        destination={"ip": "0.0.0.0"})

    def accept(self, t: float, peer_ip: str, peer_port: int, port: int) -> Doc:
        return self.doc(t, "accept4", category="network",
                        source={"ip": peer_ip, "port": peer_port},
                        destination={"ip": "10.0.0.9", "port": port})

    # ---- issue #12's kinds, shaped as docs/schema.md shows them ----------------------------

    def move(self, t: float, action: str, src: str | None, dst: str | None, nbytes: int = 10,
             *, outcome: str = "success", **more: Any) -> Doc:
        """sendfile64/splice/tee/copy_file_range: `ebpf.from`/`ebpf.to` (a path, or none for
        the socket end, which `more` describes)."""
        d = self.doc(t, action, outcome=outcome, **more)
        ends: dict[str, Any] = {"from": {"fd": 3}, "to": {"fd": 4}}
        if src is not None:
            ends["from"]["path"] = src
        if dst is not None:
            ends["to"]["path"] = dst
        d["ebpf"].update(bytes_requested=nbytes, **ends)
        if outcome == "success":
            d["ebpf"]["bytes"] = nbytes
        return d

    def pipe(self, t: float, inode: int) -> Doc:
        d = self.doc(t, "pipe2", file={"path": f"pipe:[{inode}]", "name": f"pipe:[{inode}]"})
        d["ebpf"].update(fd=3, peer_fd=4, flags=["O_CLOEXEC"])
        return d

    def socketpair(self, t: float, inode: int, peer: int) -> Doc:
        d = self.doc(t, "socketpair", category="network")
        d["ebpf"].update(fd=3, peer_fd=4, socket={"family": "AF_UNIX", "type": "SOCK_STREAM",
                                                  "inode": inode, "peer_inode": peer})
        return d

    def unix_io(self, t: float, action: str, inode: int, peer: int | None = None,
                nbytes: int = 10, fd: int = 5, *, uring: bool = False) -> Doc:
        """sendto/recvfrom (or write/read, sendmmsg/recvmmsg) on an AF_UNIX socket."""
        sock: dict[str, Any] = {"family": "AF_UNIX", "type": "SOCK_STREAM", "inode": inode}
        if peer is not None:
            sock["peer_inode"] = peer
        d = self.doc(t, action, category="network")
        d["ebpf"].update(fd=fd, bytes=nbytes, socket=sock)
        if uring:
            d["ebpf"]["io_uring"] = {"opcode": "SEND", "user_data": 7}
        return d

    def unix_close(self, t: float, inode: int, peer: int | None = None, *, reads: int = 0,
                   writes: int = 0, bytes_read: int = 0, bytes_written: int = 0,
                   fd: int = 5) -> Doc:
        d = self.doc(t, "close", category="network")
        sock: dict[str, Any] = {"family": "AF_UNIX", "type": "SOCK_STREAM", "inode": inode}
        if peer is not None:
            sock["peer_inode"] = peer
        d["ebpf"] = {"fd": fd, "socket": sock, "io": {
            "reads": reads, "writes": writes, "bytes_read": bytes_read,
            "bytes_written": bytes_written, "end": "close"}}
        return d

    def unix_net(self, t: float, action: str, inode: int, path: str,
                 peer: int | None = None, outcome: str = "success") -> Doc:
        """connect/accept4 of an AF_UNIX socket with its address."""
        sock: dict[str, Any] = {"family": "AF_UNIX", "type": "SOCK_STREAM", "inode": inode,
                                "path": path}
        if peer is not None:
            sock["peer_inode"] = peer
        d = self.doc(t, action, category="network", outcome=outcome)
        d["ebpf"].update(fd=6, socket=sock)
        return d

    def link(self, t: float, action: str, path: str, target: str) -> Doc:
        """link/linkat/symlink/symlinkat: `file.path` the new name, `target_path` its
        target (a symlink: the text, as given)."""
        f: dict[str, Any] = {"path": path, "target_path": target}
        if action.startswith("sym"):
            f["type"] = "symlink"
        return self.doc(t, action, file=f)

    def change(self, t: float, action: str, path: str, outcome: str = "success") -> Doc:
        """chmod/chown/truncate/mkdir/mknod families."""
        return self.doc(t, action, file={"path": path, "mode": "0644"}, outcome=outcome)

    def setid(self, t: float, action: str, before: tuple[int, int], after: tuple[int, int],
              outcome: str = "success") -> Doc:
        """set*id: uids (real, effective) before and after (saved and fs follow)."""
        d = self.doc(t, action, category="process", outcome=outcome)
        names = {0: "root", 65534: "nobody"}
        r, e = after
        d["process"].update(
            user={"id": str(e), "name": names.get(e)}, real_user={"id": str(r)},
            saved_user={"id": "0"}, group={"id": "0"}, real_group={"id": "0"},
            saved_group={"id": "0"})
        d["ebpf"]["cred"] = {"fsuid": e, "fsgid": 0, "args": [-1, e, -1], "before": {
            "uid": before[0], "euid": before[1], "suid": 0, "fsuid": before[1], "gid": 0,
            "egid": 0, "sgid": 0, "fsgid": 0}}
        return d

    def capset(self, t: float, before: list[str], asked: list[str]) -> Doc:
        d = self.doc(t, "capset", category="process")
        d["ebpf"]["cap"] = {"pid": 0, "version": "0x20080522",
                            "requested": {"effective": asked, "permitted": before,
                                          "inheritable": []},
                            "before": {"effective": before, "permitted": before,
                                       "inheritable": []}}
        d["ebpf"]["cred"] = {"fsuid": 0, "fsgid": 0}
        return d

    def secure_exec(self, t: float, exe: str, real: int, effective: int) -> Doc:
        d = self.exec(t, exe)
        d["process"]["user"] = {"id": str(effective)}
        d["user"] = {"id": str(real), "effective": {"id": str(effective)}}
        d["ebpf"]["secure_exec"] = True
        return d

    def on_process(self, t: float, action: str, pid: int, *, request: str | None = None,
                   nbytes: int = 0, outcome: str = "success") -> Doc:
        """ptrace, process_vm_readv/writev, kill/tgkill/pidfd_send_signal on `pid`."""
        d = self.doc(t, action, category="process", outcome=outcome,
                     Target={"process": {"pid": pid}})
        if action == "ptrace":
            d["ebpf"]["ptrace"] = {"request": request or "PTRACE_ATTACH", "addr": "0x0",
                                   "data": "0x0"}
        elif action.startswith("process_vm"):
            d["ebpf"]["process_vm"] = {"local_iovcnt": 1, "remote_iovcnt": 1, "bytes": nbytes}
        else:
            d["ebpf"]["signal"] = {"number": 15, "name": "SIGTERM"}
        return d

    def memfd(self, t: float, name: str, fd: int = 3) -> Doc:
        d = self.doc(t, "memfd_create")
        d["ebpf"]["memfd"] = {"name": name, "flags": ["MFD_CLOEXEC"], "fd": fd}
        return d

    def fd_exec(self, t: float, file_path: str, fd: int = 3) -> Doc:
        """An exec of /proc/self/fd/N that the kernel names `file_path` (a memfd or a
        deleted file)."""
        d = self.exec(t, f"/proc/self/fd/{fd}")
        gone: dict[str, Any] = {"unlinked": True, "file_path": file_path}
        if file_path.startswith("memfd:"):
            gone["memfd"] = file_path[6:]
        else:
            gone["deleted"] = True
        d["ebpf"]["exec"] = gone
        return d

    def uring(self, t: float, action: str, path: str, nbytes: int = 10, fd: int = 3) -> Doc:
        """A read/write submitted through io_uring (its document takes the syscall's action)."""
        d = self.doc(t, action, file={"path": path})
        d["ebpf"].update(fd=fd, bytes=nbytes,
                         io_uring={"opcode": action.upper(), "user_data": 1})
        return d
