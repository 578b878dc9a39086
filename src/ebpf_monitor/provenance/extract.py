"""From ECS documents to information flows: the one place that knows what each action means.

Both backends run every document through `Extractor`, the DuckDB one while indexing, the
Elasticsearch one over the documents a query fetched, so they derive the same flows.

A flow is one instance of an edge: ``(src, dst, action, time_ns, count, bytes)``. Reads and
writes under ``capture.read_write: "first"`` arrive as the fd's first call plus a ``close``
record holding the fd's totals (first call included); the extractor remembers what it already
counted per (process, fd, object, direction) and turns the close record into the remainder,
so both capture modes give the same counts and bytes.

Issue #12's kinds (docs/provenance.md, "The graph"): moves (sendfile64, splice, tee,
copy_file_range) are a flow from their source to the process and from the process to their
destination, the second 1 ns later so the time rule carries it through the process; pipes are
`file:pipe:[inode]` (their creation too), AF_UNIX sockets `file:socket:[inode]` (a write goes
to the peer's socket when the record names it, else to its own; a read takes from its own and
its peer's), a memfd `file:memfd:<name>` (the name /proc gives its fd, `/memfd:<name>
(deleted)`, maps to it, and an exec of it flows from it); links join names as rename does;
chmod, chown, truncate, mkdir and mknod are process -> file edges; io_uring operations and
sendmmsg/recvmmsg are flows like the calls they stand for but are not in a `close` record's
totals, so they never enter `pending`. Every one of these comes from one document alone, so
the Elasticsearch backend derives the same flows from the documents a walk step fetches.

Fork records (the parent's side of fork/vfork/clone/clone3) are kept as `Fork` tuples: they
name a process's real parent even when that parent exited before the child's first event
(the child then reports ppid 1). graphdata.pick_fork matches them to the child entity.
"""

from __future__ import annotations

import datetime as _dt
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import fields
from ..abi_consts import READ_ACTIONS, WRITE_ACTIONS

__all__ = [
    "CHANGES",
    "CREDS",
    "EXECS",
    "FORKS",
    "LINKS",
    "MMSGS",
    "MOVES",
    "PIPES",
    "READS",
    "RELEVANT",
    "SIGNALS",
    "SYMLINKS",
    "TARGETS",
    "Extractor",
    "Flow",
    "Fork",
    "Pending",
    "ProcInfo",
    "Target",
    "cred_entry",
    "endpoint_id",
    "file_id",
    "file_node",
    "listen_id",
    "parse_time_ns",
    "process_id",
    "secure_exec",
    "socket_nodes",
    "symlink_target",
    "target_edge",
    "target_flow",
    "unix_path_node",
]

Flow = tuple[str, str, str, int, int, int]
"""(src node id, dst node id, action, time ns since the epoch, count, bytes)."""

Fork = tuple[str, str, int, int]
"""(parent entity, host, child pid, time ns of the parent's fork record)."""

Target = tuple[str, str, int, int, str, int, bool]
"""A call on another process, by pid: (caller entity, host, target pid, time ns, edge action,
bytes, True when the flow goes into the target). Resolved to the target's entity (the
process with that pid on that host alive at that time, the latest started) by the backend:
`target_flow` then makes the flow."""

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
#: Socket I/O not counted in a `close` record's totals (like io_uring operations).
MMSGS = frozenset(("sendmmsg", "recvmmsg"))
#: Data moved between two fds inside the kernel: one document names both ends.
MOVES = frozenset(("sendfile64", "sendfile", "splice", "tee", "copy_file_range"))
PIPES = frozenset(("pipe", "pipe2"))
LINKS = frozenset(("link", "linkat"))
SYMLINKS = frozenset(("symlink", "symlinkat"))
#: Calls that change a file's metadata or make a name: action -> the edge's action.
CHANGES = {
    **dict.fromkeys(("chmod", "fchmod", "fchmodat", "fchmodat2"), "chmod"),
    **dict.fromkeys(("chown", "fchown", "lchown", "fchownat"), "chown"),
    **dict.fromkeys(("truncate", "ftruncate"), "truncate"),
    **dict.fromkeys(("mkdir", "mkdirat"), "mkdir"),
    **dict.fromkeys(("mknod", "mknodat"), "mknod"),
}
#: Credential changes: annotations of the process node, not flows.
CREDS = frozenset(("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
                   "setfsuid", "setfsgid", "capset"))
SIGNALS = frozenset(("kill", "tkill", "tgkill", "pidfd_send_signal"))
#: Calls on another process (`Target.process.pid`).
TARGETS = SIGNALS | frozenset(("ptrace", "process_vm_readv", "process_vm_writev"))
#: Actions whose documents can carry a flow or process facts; the rest (socket, bind) are skipped.
RELEVANT = (EXECS | FORKS | OPENS | READS | WRITES | RENAMES | UNLINKS | ACCEPTS | MMSGS | MOVES
            | PIPES | LINKS | SYMLINKS | CREDS | TARGETS | frozenset(CHANGES) | frozenset(
                ("connect", "listen", "close", "exit", "socketpair", "memfd_create")))

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
    if len(stamp) == 30 and stamp[29] == "Z" and stamp[19] == ".":
        # The monitor's form (9 digits): what the general case below gives, three string
        # copies fewer (every indexed document comes here).
        frac = stamp[20:29]
        if frac.isdigit():
            return secs * 1_000_000_000 + int(frac)
    frac = stamp[20:].rstrip("Z")
    if "+" in frac:
        frac = frac.split("+", 1)[0]
    ns = int((frac + "000000000")[:9]) if frac and stamp[19:20] == "." else 0
    return secs * 1_000_000_000 + ns


def process_id(entity: str) -> str:
    return "process:" + entity


def file_id(path: str) -> str:
    return "file:" + path


def file_node(path: str) -> str:
    """The node of a path as the monitor names it: a memfd's /proc name (`/memfd:<name>
    (deleted)`) is `file:memfd:<name>`, the name an exec of it carries."""
    if path.startswith("/memfd:"):
        return "file:" + path[1:].removesuffix(" (deleted)")
    return "file:" + path


def socket_nodes(inode: int, peer: int | None, read: bool) -> list[str]:
    """The nodes an AF_UNIX socket's I/O touches: a write goes to the peer's socket when the
    record names it (a connecting client's never does: its own then stands for the
    connection), a read takes from its own socket and its peer's."""
    if read:
        if peer:
            return [f"file:socket:[{inode}]", f"file:socket:[{peer}]"]
        return [f"file:socket:[{inode}]"]
    return [f"file:socket:[{peer or inode}]"]


def unix_path_node(path: str | None) -> str | None:
    """An AF_UNIX address as a node: an absolute path, or an abstract `@name`; a relative one
    (its directory is not recorded) is None."""
    if path and path[0] in "/@":
        return "file:" + path
    return None


def symlink_target(link: str, target: str) -> str:
    """The path a symlink's text names, resolved against the link's directory."""
    if target.startswith("/"):
        return posixpath.normpath(target)
    return posixpath.normpath(posixpath.join(posixpath.dirname(link), target))


def endpoint_id(ip: str, port: int | None) -> str:
    return f"endpoint:{ip}:{port if port is not None else 0}"


def listen_id(port: int) -> str:
    return f"listen:{port}"


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def _ids(uids: tuple[Any, ...], gids: tuple[Any, ...]) -> str:
    """"uid R/E/S/FS gid R/E/S/FS" (real, effective, saved, file-system; ? when unknown)."""
    def part(values: tuple[Any, ...]) -> str:
        return "/".join("?" if v is None else str(v) for v in values)
    return f"uid {part(uids)} gid {part(gids)}"


def _caps(cap: Any, outcome: Any) -> tuple[str, str]:
    before, asked = _get(cap, "before"), _get(cap, "requested")
    if not isinstance(before, dict):
        return "?", "asked " + "; ".join(
            f"{s} {','.join(map(str, _get(asked, s) or ())) or '-'}"
            for s in ("effective", "permitted"))
    parts = []
    for s in ("effective", "permitted"):
        had = {str(c) for c in before.get(s) or ()}
        now = {str(c) for c in _get(asked, s) or ()} if outcome == "success" else had
        diff = [f"-{c}" for c in sorted(had - now)] + [f"+{c}" for c in sorted(now - had)]
        parts.append(f"{s} {' '.join(diff) if diff else 'unchanged'}")
    return f"{len(before.get('effective') or ())} effective", "; ".join(parts)


def cred_entry(action: str, outcome: Any, ts: int, cred: Any, cap: Any,
               proc_ids: tuple[Any, ...]) -> dict[str, Any]:
    """A credential change as the process node shows it: the ids before (read at the
    call's entry) and after (the document's process.real_user/user/saved_user, groups
    likewise, and the fs ids); capset: the capabilities dropped and raised. `proc_ids`:
    process.real_user, .user, .saved_user, .real_group, .group, .saved_group (objects or
    None). Never raises: both index routes share it."""
    entry: dict[str, Any] = {"time_ns": ts, "action": action, "outcome": str(outcome)}
    if action == "capset":
        entry["before"], entry["after"] = _caps(cap, outcome)
        return entry
    b = _get(cred, "before")
    entry["before"] = _ids(tuple(_get(b, k) for k in ("uid", "euid", "suid", "fsuid")),
                           tuple(_get(b, k) for k in ("gid", "egid", "sgid", "fsgid"))
                           ) if isinstance(b, dict) else "?"
    ids = [_get(x, "id") for x in proc_ids]
    entry["after"] = _ids((*ids[:3], _get(cred, "fsuid")), (*ids[3:], _get(cred, "fsgid")))
    return entry


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
    creds: list[dict[str, Any]] = field(default_factory=list)

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


def target_edge(action: str, request: Any, vm_bytes: Any) -> tuple[str, int, bool]:
    """(edge action, bytes, into the target) of a call on another process:
    process_vm_writev puts data into the target, process_vm_readv takes it out; ptrace's
    PEEK*/GET* requests read the target, every other request (attach, poke, set, continue,
    ...) acts on it; a signal is control (`signal`: shown, never walked, docs/provenance.md)."""
    if action == "process_vm_writev":
        return "vm_write", int(vm_bytes or 0), True
    if action == "process_vm_readv":
        return "vm_read", int(vm_bytes or 0), False
    if action == "ptrace":
        return "ptrace", 0, not str(request or "").startswith(("PTRACE_PEEK", "PTRACE_GET"))
    return "signal", 0, True


def target_flow(t: Target, target_entity: str) -> Flow:
    """The flow of a resolved call on another process."""
    caller, _, _, ts, action, nbytes, into = t
    if into:
        return (process_id(caller), process_id(target_entity), action, ts, 1, nbytes)
    return (process_id(target_entity), process_id(caller), action, ts, 1, nbytes)


def secure_exec(ts: int, user: Any, effective: Any) -> dict[str, Any]:
    """An exec that changed ids (the kernel's AT_SECURE: a set-uid/set-gid file, file
    capabilities): before, the real user who ran it; after, the effective user it runs as
    (`user`: the document's user, `effective`: its process.user)."""
    real = _get(user, "name") or _get(user, "id")
    eff = _get(effective, "name") or _get(effective, "id")
    return {"time_ns": ts, "action": "exec", "outcome": "success",
            "before": f"user {real if real is not None else '?'}",
            "after": f"euid {eff if eff is not None else '?'} (secure exec)"}


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
        self.targets: list[Target] = []
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
            self._io(doc, info, me, action in READS, ts, ebpf, not ebpf.get("io_uring"))
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
            if ebpf.get("secure_exec") is True:  # set-uid/set-gid file, file capabilities
                info.creds.append(secure_exec(ts, doc.get("user"), proc.get("user")))
            # A memfd or deleted file: the file the kernel still names, not /proc/self/fd/N.
            ran = (ebpf.get("exec") or {}).get("file_path")
            if ran:
                self.flows.append((file_node(ran), me, "exec", ts, 1, 0))
            elif exe:
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
            elif outcome == "success":  # AF_UNIX: the path asked for
                node = unix_path_node((ebpf.get("socket") or {}).get("path"))
                if node is not None:
                    self.flows.append((me, node, "connect", ts, 1, 0))
        elif action in ACCEPTS:
            local = doc.get("destination") or {}  # accept: destination is the local end
            if outcome == "success" and local.get("port"):
                self.listening.add((info.host, int(local["port"])))
                self.flows.append((listen_id(int(local["port"])), me, "accept", ts, 1, 0))
            elif outcome == "success":  # AF_UNIX: the listening socket's path
                node = unix_path_node((ebpf.get("socket") or {}).get("path"))
                if node is not None:
                    self.flows.append((node, me, "accept", ts, 1, 0))
        elif action == "listen":
            port = (doc.get("source") or {}).get("port")
            if outcome == "success" and port:
                self.listening.add((info.host, int(port)))
        elif action in CREDS:
            proc = doc["process"]
            info.creds.append(cred_entry(action, outcome, ts, ebpf.get("cred"), ebpf.get("cap"), (
                proc.get("real_user"), proc.get("user"), proc.get("saved_user"),
                proc.get("real_group"), proc.get("group"), proc.get("saved_group"))))
        elif outcome != "success":
            return
        elif action in MOVES:
            self._move(doc, info, me, ts, ebpf)
        elif action in MMSGS:
            self._io(doc, info, me, action == "recvmmsg", ts, ebpf, False)
        elif action in CHANGES:
            path = (doc.get("file") or {}).get("path")
            if path:
                self.flows.append((me, file_node(path), CHANGES[action], ts, 1, 0))
        elif action in PIPES:
            path = (doc.get("file") or {}).get("path")
            if path:
                self.flows.append((me, file_node(path), "create", ts, 1, 0))
        elif action == "socketpair":
            sock = ebpf.get("socket") or {}
            for inode in (sock.get("inode"), sock.get("peer_inode")):
                if inode:
                    self.flows.append((me, f"file:socket:[{int(inode)}]", "create", ts, 1, 0))
        elif action in LINKS or action in SYMLINKS:
            f = doc.get("file") or {}
            path, target = f.get("path"), f.get("target_path")
            if path and target:
                if action in LINKS:
                    self.flows.append((file_node(target), file_node(path), "link", ts, 1, 0))
                else:
                    self.flows.append((file_id(symlink_target(path, target)), file_id(path),
                                       "symlink", ts, 1, 0))
        elif action == "memfd_create":
            name = (ebpf.get("memfd") or {}).get("name")
            if name is not None:
                self.flows.append((me, "file:memfd:" + str(name), "create", ts, 1, 0))
        elif action in TARGETS:
            # A pid from inside a PID namespace is that namespace's (pidfd's is the host's).
            pid = ((doc.get("Target") or {}).get("process") or {}).get("pid")
            if pid and (action == "pidfd_send_signal" or "pid_ns" not in ebpf):
                edge, nbytes, into = target_edge(
                    action, (ebpf.get("ptrace") or {}).get("request"),
                    (ebpf.get("process_vm") or {}).get("bytes"))
                self.targets.append((info.entity, info.host, int(pid), ts, edge, nbytes, into))

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

    def _sockets(self, doc: dict[str, Any], info: ProcInfo, read: bool) -> list[str]:
        """The nodes of the socket a document is about (AF_UNIX: by inode, see
        `socket_nodes`)."""
        sock = (doc.get("ebpf") or {}).get("socket") or {}
        inode = sock.get("inode")
        if inode:
            peer = sock.get("peer_inode")
            return socket_nodes(int(inode), int(peer) if peer else None, read)
        peer_node = self._peer(doc, info)
        return [peer_node] if peer_node is not None else []

    def _objects(self, doc: dict[str, Any], info: ProcInfo, read: bool) -> tuple[list[str], bool]:
        if "network" in (doc["event"].get("category") or ()):
            return self._sockets(doc, info, read), True
        path = (doc.get("file") or {}).get("path")
        return ([file_node(path)] if path else []), False

    def _io(self, doc: dict[str, Any], info: ProcInfo, me: str, read: bool, ts: int,
            ebpf: dict[str, Any], counted: bool) -> None:
        """One read or write; `counted`: the kernel counts it in the fd's `close` totals (an
        io_uring operation or a sendmmsg/recvmmsg is not), so it waits in `pending`."""
        objs, sock = self._objects(doc, info, read)
        if not objs:
            return
        nbytes = int(ebpf.get("bytes") or 0)
        fd = int(ebpf.get("fd", -1))
        for obj in objs:
            if counted:
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
        for read, calls, total in ((True, io.get("reads"), io.get("bytes_read")),
                                   (False, io.get("writes"), io.get("bytes_written"))):
            objs, sock = self._objects(doc, info, read)
            if not objs:
                continue
            fd = int(ebpf.get("fd", -1))
            for obj in objs:
                mine = self.pending.get(info.entity) or {}
                seen = mine.pop((fd, obj, "r" if read else "w"), [0, 0])
                count = max(int(calls or 0) - seen[0], 0)
                nbytes = max(int(total or 0) - seen[1], 0)
                if count or nbytes:
                    self._emit(me, obj, read, sock, ts, count, nbytes)

    def _move(self, doc: dict[str, Any], info: ProcInfo, me: str, ts: int,
              ebpf: dict[str, Any]) -> None:
        """sendfile64, splice, tee, copy_file_range: source -> process at the document's
        time, process -> destination 1 ns later (so the time rule passes through the
        process). An end without a path is the call's socket (at most one end is), when the
        other end has one."""
        src = (ebpf.get("from") or {}).get("path")
        dst = (ebpf.get("to") or {}).get("path")
        nbytes = int(ebpf.get("bytes") or 0)
        froms = [file_node(src)] if src else (self._sockets(doc, info, True) if dst else [])
        tos = [file_node(dst)] if dst else (self._sockets(doc, info, False) if src else [])
        for obj in froms:
            self.flows.append((obj, me, "move", ts, 1, nbytes))
        for obj in tos:
            self.flows.append((me, obj, "move", ts + 1, 1, nbytes))
