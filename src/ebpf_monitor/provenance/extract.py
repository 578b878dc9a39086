"""From ECS documents to information flows: the one place that knows what each action means.

Both backends run every document through `Extractor`, the DuckDB one while indexing, the
Elasticsearch one over the documents a query fetched, so they derive the same flows.

A flow is one instance of an edge: ``(src, dst, action, time_ns, count, bytes)``. Reads and
writes under ``capture.read_write: "first"`` arrive as the fd's first call plus a ``close``
record holding the fd's totals (first call included); the extractor remembers what it already
counted per (process, fd, object, direction) and turns the close record into the remainder,
so both capture modes give the same counts and bytes.

Fork records (the parent's side of fork/vfork/clone/clone3) are kept as `Fork` tuples: they
name a process's real parent even when that parent exited before the child's first event
(the child then reports ppid 1). graphdata.pick_fork matches them to the child entity.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import fields
from ..abi_consts import READ_ACTIONS, WRITE_ACTIONS

__all__ = [
    "EXECS",
    "FORKS",
    "READS",
    "RELEVANT",
    "Extractor",
    "Flow",
    "Fork",
    "Pending",
    "ProcInfo",
    "endpoint_id",
    "file_id",
    "listen_id",
    "parse_time_ns",
    "process_id",
]

Flow = tuple[str, str, str, int, int, int]
"""(src node id, dst node id, action, time ns since the epoch, count, bytes)."""

Fork = tuple[str, str, int, int]
"""(parent entity, host, child pid, time ns of the parent's fork record)."""

Pending = dict[str, dict[tuple[int, str, str], list[int]]]
"""entity -> (fd, object node, "r"/"w") -> [calls, bytes] counted before the close record."""

# The action families of the field registry, the read/write classes of events.h.
EXECS = frozenset(fields.EXEC)
FORKS = frozenset(fields.FORK)
OPENS = frozenset(fields.OPEN)
READS = frozenset(READ_ACTIONS)
WRITES = frozenset(WRITE_ACTIONS)
RENAMES = frozenset(fields.RENAME)
UNLINKS = frozenset(fields.UNLINK)
ACCEPTS = frozenset(("accept", "accept4"))
#: Actions whose documents can carry a flow or process facts; the rest (socket, bind) are skipped.
RELEVANT = EXECS | FORKS | OPENS | READS | WRITES | RENAMES | UNLINKS | ACCEPTS | frozenset(
    ("connect", "listen", "close", "exit"))

_EPOCH_CACHE: dict[str, int] = {}


def parse_time_ns(stamp: str) -> int:
    """ISO 8601 UTC with up to 9 fraction digits ('...T06:01:21.569287329Z') to ns."""
    head = stamp[:19]
    secs = _EPOCH_CACHE.get(head)
    if secs is None:
        secs = int(_dt.datetime.fromisoformat(head).replace(tzinfo=_dt.UTC).timestamp())
        if len(_EPOCH_CACHE) > 100_000:
            _EPOCH_CACHE.clear()
        _EPOCH_CACHE[head] = secs
    frac = stamp[20:].rstrip("Z")
    if "+" in frac:
        frac = frac.split("+", 1)[0]
    ns = int((frac + "000000000")[:9]) if frac and stamp[19:20] == "." else 0
    return secs * 1_000_000_000 + ns


def process_id(entity: str) -> str:
    return "process:" + entity


def file_id(path: str) -> str:
    return "file:" + path


def endpoint_id(ip: str, port: int | None) -> str:
    return f"endpoint:{ip}:{port if port is not None else 0}"


def listen_id(port: int) -> str:
    return f"listen:{port}"


@dataclass(slots=True)
class ProcInfo:
    """What the documents say about one process entity (merged over all its documents)."""

    entity: str
    host: str
    pid: int
    ppid: int
    start_ns: int
    first_ns: int
    name: str = ""
    executable: str = ""
    user: str = ""
    end_ns: int | None = None
    exit_code: int | None = None
    execs: list[dict[str, Any]] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        return {"entity": self.entity, "host": self.host, "pid": self.pid, "ppid": self.ppid,
                "start_ns": self.start_ns, "first_ns": self.first_ns, "name": self.name,
                "executable": self.executable, "user": self.user, "end_ns": self.end_ns,
                "exit_code": self.exit_code}


def _user(doc: dict[str, Any]) -> str:
    user = doc.get("user") or {}
    name = user.get("name")
    uid = user.get("id")
    eff = user.get("effective")
    text = str(name) if name else (f"uid {uid}" if uid is not None else "")
    if isinstance(eff, dict) and eff.get("id") is not None:
        text += f" (euid {eff.get('name') or eff.get('id')})"
    return text


class Extractor:
    """Feed documents in time order; collects flows, process facts and listening ports.

    `pending` carries read/write counts per process, per (fd, object, direction), across
    calls (and across index runs: the DuckDB backend saves it) until the fd's `close` record
    comes; a process's exit drops its entries (the kernel sends close records before the exit
    record), which keeps it bounded under full capture too.
    """

    def __init__(self, *, listening: set[tuple[str, int]] | None = None,
                 pending: Pending | None = None) -> None:
        self.flows: list[Flow] = []
        self.forks: list[Fork] = []
        self.procs: dict[str, ProcInfo] = {}
        self.listening: set[tuple[str, int]] = listening if listening is not None else set()
        self.pending: Pending = pending if pending is not None else {}
        self.documents = 0
        self.skipped = 0
        self.max_ns = 0

    def feed_all(self, docs: Iterable[Any]) -> None:
        for doc in docs:
            self.feed(doc)

    def feed(self, doc: Any) -> None:
        """One document; anything that is not a usable event document is counted as skipped."""
        try:
            self._feed(doc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            self.skipped += 1

    def _proc(self, doc: dict[str, Any], ts: int) -> ProcInfo | None:
        proc = doc.get("process")
        if not isinstance(proc, dict):
            return None
        entity = proc.get("entity_id")
        if not entity:
            return None
        info = self.procs.get(entity)
        if info is None:
            start = proc.get("start")
            info = ProcInfo(
                entity=str(entity), host=str((doc.get("host") or {}).get("name") or ""),
                pid=int(proc.get("pid") or 0), ppid=int((proc.get("parent") or {}).get("pid") or 0),
                start_ns=parse_time_ns(start) if isinstance(start, str) else ts, first_ns=ts,
                name=str(proc.get("name") or ""), executable=str(proc.get("executable") or ""),
                user=_user(doc))
            self.procs[info.entity] = info
        elif not info.executable and proc.get("executable"):
            info.executable = str(proc["executable"])
        return info

    def _feed(self, doc: dict[str, Any]) -> None:
        event = doc["event"]
        action = event.get("action")
        ts = parse_time_ns(doc["@timestamp"])
        self.documents += 1
        if ts > self.max_ns:
            self.max_ns = ts
        # Every document names its process: one that only forks is still a parent.
        info = self._proc(doc, ts)
        if info is None or action not in RELEVANT:
            return
        me = process_id(info.entity)
        outcome = event.get("outcome")
        ebpf = doc.get("ebpf") or {}
        if action in READS or action in WRITES:
            self._io(doc, info, me, action in READS, ts, ebpf)
        elif action == "close":
            self._close(doc, info, me, ts, ebpf)
        elif action in EXECS:
            if outcome != "success":
                return
            proc = doc["process"]
            exe = str(proc.get("executable") or "")
            info.executable = exe or info.executable
            info.name = str(proc.get("name") or info.name)
            info.user = _user(doc) or info.user
            info.execs.append({"time_ns": ts, "executable": exe,
                               "args": list(proc.get("args") or []), "user": _user(doc)})
            if exe:
                self.flows.append((file_id(exe), me, "exec", ts, 1, 0))
        elif action in FORKS:
            # A thread is no new process; inside a PID namespace child_pid is the
            # namespace's pid, not the host's process.pid: no match possible (ppid it is).
            child = ebpf.get("child_pid")
            if child and not ebpf.get("thread") and "pid_ns" not in ebpf:
                self.forks.append((info.entity, info.host, int(child), ts))
        elif action == "exit":
            self.pending.pop(info.entity, None)
            info.end_ns = ts
            code = doc["process"].get("exit_code")
            info.exit_code = int(code) if code is not None else None
        elif action in OPENS:
            flags = ebpf.get("flags") or []
            path = (doc.get("file") or {}).get("path")
            if outcome == "success" and path and (action == "creat" or "O_CREAT" in flags):
                self.flows.append((me, file_id(path), "create", ts, 1, 0))
        elif action in RENAMES:
            f = doc.get("file") or {}
            if outcome == "success" and f.get("path") and f.get("target_path"):
                self.flows.append((file_id(f["path"]), file_id(f["target_path"]), "rename",
                                   ts, 1, 0))
        elif action in UNLINKS:
            path = (doc.get("file") or {}).get("path")
            if outcome == "success" and path:
                self.flows.append((me, file_id(path), "unlink", ts, 1, 0))
        elif action == "connect":
            dst = doc.get("destination") or {}
            if outcome in ("success", "unknown") and dst.get("ip"):
                self.flows.append((me, endpoint_id(dst["ip"], dst.get("port")), "connect",
                                   ts, 1, 0))
        elif action in ACCEPTS:
            local = doc.get("destination") or {}  # accept: destination is the local end
            if outcome == "success" and local.get("port"):
                self.listening.add((info.host, int(local["port"])))
                self.flows.append((listen_id(int(local["port"])), me, "accept", ts, 1, 0))
        elif action == "listen":
            port = (doc.get("source") or {}).get("port")
            if outcome == "success" and port:
                self.listening.add((info.host, int(port)))

    def _peer(self, doc: dict[str, Any], info: ProcInfo) -> str | None:
        """The node of a socket: the server's listening port, else the remote ip:port."""
        local = doc.get("source") or {}
        remote = doc.get("destination") or {}
        lport = local.get("port")
        if lport and (info.host, int(lport)) in self.listening:
            return listen_id(int(lport))
        if remote.get("ip"):
            return endpoint_id(remote["ip"], remote.get("port"))
        return None

    def _object(self, doc: dict[str, Any], info: ProcInfo) -> tuple[str | None, bool]:
        if "network" in (doc["event"].get("category") or ()):
            return self._peer(doc, info), True
        path = (doc.get("file") or {}).get("path")
        return (file_id(path) if path else None), False

    def _io(self, doc: dict[str, Any], info: ProcInfo, me: str, read: bool, ts: int,
            ebpf: dict[str, Any]) -> None:
        obj, sock = self._object(doc, info)
        if obj is None:
            return
        nbytes = int(ebpf.get("bytes") or 0)
        fd = int(ebpf.get("fd", -1))
        key = (fd, obj, "r" if read else "w")
        mine = self.pending.get(info.entity)
        if mine is None:
            mine = self.pending[info.entity] = {}
        seen = mine.get(key)
        if seen is None:
            mine[key] = [1, nbytes]
        else:
            seen[0] += 1
            seen[1] += nbytes
        self._emit(me, obj, read, sock, ts, 1, nbytes)

    def _emit(self, me: str, obj: str, read: bool, sock: bool, ts: int, count: int,
              nbytes: int) -> None:
        if read:
            self.flows.append((obj, me, "recv" if sock else "read", ts, count, nbytes))
        else:
            self.flows.append((me, obj, "send" if sock else "write", ts, count, nbytes))

    def _close(self, doc: dict[str, Any], info: ProcInfo, me: str, ts: int,
               ebpf: dict[str, Any]) -> None:
        io = ebpf.get("io") or {}
        obj, sock = self._object(doc, info)
        if obj is None:
            return
        fd = int(ebpf.get("fd", -1))
        for read, calls, total in ((True, io.get("reads"), io.get("bytes_read")),
                                   (False, io.get("writes"), io.get("bytes_written"))):
            mine = self.pending.get(info.entity) or {}
            seen = mine.pop((fd, obj, "r" if read else "w"), [0, 0])
            count = max(int(calls or 0) - seen[0], 0)
            nbytes = max(int(total or 0) - seen[1], 0)
            if count or nbytes:
                self._emit(me, obj, read, sock, ts, count, nbytes)
