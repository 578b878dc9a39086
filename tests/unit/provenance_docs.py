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
