"""ECS documents, one builder per record kind, written straight to JSON text. See docs/schema.md.

Builders take the unpacked fixed part of a record (a tuple in events.h field order, indices taken
from BTF once at start), its variable tail, and the Enricher, and return one document as a line
of JSON text (no newline). They run once per event, so a document is put together from parts
encoded once and reused: the actor part (`host`, `process`, `user`, `group`) is cached as text per
thread identity, `file` per path, `error` per errno, the constant part of `event` per action.
The two kinds that come by the hundred thousand (open, file read/write) format the rest
directly; the others build a small dict of their own fields and let orjson write it. Encoding
the shared parts again for every event was most of the per-event cost (benchmarks/findings.md).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import orjson

from .abi import enum_values, layout
from .enrich import Enricher, text

__all__ = ["Builder", "builders", "loss_document", "open_flag_names"]

Builder = Callable[[tuple[Any, ...], bytes, Enricher], str | None]

# The record layout and enumerators, from the BTF of the object we load. Bound by builders(), on
# first use rather than at import: importing this module needs no BPF build.
HEADER: tuple[str, ...]
KIND: int
ACTION: int
SIZE: int
FLAGS: int
PID: int
TID: int
PPID: int
UID: int
GID: int
EUID: int
KTIME: int
START: int
RET: int
COMM: int
NS_PID: int
NS_TID: int
NS_PPID: int
PIDNS: int
ACTIONS: dict[int, str]
EF_PATH_TRUNCATED: int
EF_PATH2_TRUNCATED: int
EF_ARGS_TRUNCATED: int
EF_THREAD: int
EF_FD_UNTRACKED: int
EF_ADDR_FROM_ARG: int
_IO_ENDS: dict[int, str]
FT_FILE: int
FT_SOCKET: int


def _bind_abi() -> None:
    global HEADER, KIND, ACTION, SIZE, FLAGS, PID, TID, PPID, UID, GID, EUID, KTIME, START
    global RET, COMM, NS_PID, NS_TID, NS_PPID, PIDNS, ACTIONS, EF_PATH_TRUNCATED
    global EF_PATH2_TRUNCATED, EF_ARGS_TRUNCATED
    global EF_THREAD, EF_FD_UNTRACKED, EF_ADDR_FROM_ARG, _IO_ENDS, FT_FILE, FT_SOCKET
    HEADER = layout("event_header").fields
    h = {name: i for i, name in enumerate(HEADER)}
    KIND, ACTION, SIZE, FLAGS, PID, TID, PPID, UID, GID, EUID, KTIME, START, RET, COMM = (
        h[n] for n in ("kind", "action", "size", "flags", "pid", "tid", "ppid", "uid", "gid",
                       "euid", "ktime_ns", "start_ns", "ret", "comm")
    )
    NS_PID, NS_TID, NS_PPID, PIDNS = (h[n] for n in ("ns_pid", "ns_tid", "ns_ppid", "pidns"))
    ACTIONS = {v: k.removeprefix("EA_").lower() for k, v in enum_values("event_action").items()}
    f = enum_values("event_flag")
    EF_PATH_TRUNCATED = f["EF_PATH_TRUNCATED"]
    EF_PATH2_TRUNCATED = f["EF_PATH2_TRUNCATED"]
    EF_ARGS_TRUNCATED = f["EF_ARGS_TRUNCATED"]
    EF_THREAD = f["EF_THREAD"]
    EF_FD_UNTRACKED = f["EF_FD_UNTRACKED"]
    EF_ADDR_FROM_ARG = f["EF_ADDR_FROM_ARG"]
    _IO_ENDS = {v: k.removeprefix("IE_").lower() for k, v in enum_values("io_end").items()}
    t = enum_values("fd_target")
    FT_FILE, FT_SOCKET = t["FT_FILE"], t["FT_SOCKET"]


AF_NAMES = {1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET"}
SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
TRANSPORTS = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 132: "sctp"}

_O_ACCMODE = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}
_O_BITS = [(name, getattr(os, name)) for name in (
    "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DSYNC", "O_DIRECT",
    "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH", "O_TMPFILE",
) if hasattr(os, name)]
# O_SYNC includes O_DSYNC's bit, O_TMPFILE includes O_DIRECTORY's: name the composite only.
_O_SYNC = getattr(os, "O_SYNC", 0)
_O_CREAT = os.O_CREAT
_flag_cache: dict[int, list[str]] = {}

_dumps = orjson.dumps


def open_flag_names(flags: int) -> list[str]:
    names = _flag_cache.get(flags)
    if names is not None:
        return names
    names = [_O_ACCMODE.get(flags & 3, "O_ACCMODE")]
    rest = flags & ~3
    if _O_SYNC and rest & _O_SYNC == _O_SYNC:
        names.append("O_SYNC")
        rest &= ~_O_SYNC
    for name, bit in _O_BITS:
        if bit and rest & bit == bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(f"0x{rest:x}")
    if len(_flag_cache) < 4096:
        _flag_cache[flags] = names
    return names


CAT_PROCESS = ("process",)
CAT_FILE = ("file",)
CAT_NETWORK = ("network",)
TYPE_START = ("start",)
TYPE_END = ("end",)
TYPE_INFO = ("info",)
TYPE_ACCESS = ("access",)
TYPE_CHANGE = ("change",)
TYPE_DELETION = ("deletion",)
TYPE_CONNECTION_START = ("connection", "start")

_READ_ACTIONS = {"read", "readv", "pread64", "preadv", "preadv2", "recvfrom", "recvmsg"}
_EINPROGRESS = 115

_event_frags: dict[tuple[str, tuple[str, ...], tuple[str, ...], str], str] = {}


def _event_frag(action: str, category: tuple[str, ...], etype: tuple[str, ...],
                outcome: str) -> str:
    """The constant tail of the `event` object, as JSON text (a few dozen distinct ones)."""
    key = (action, category, etype, outcome)
    frag = _event_frags.get(key)
    if frag is None:
        frag = _dumps({"kind": "event", "action": action, "category": category, "type": etype,
                       "outcome": outcome}).decode()[1:-1]
        _event_frags[key] = frag
    return frag


def _ix(name: str) -> dict[str, int]:
    return {field: i for i, field in enumerate(layout(name).fields)}


class _Actor:
    """Who did it, cached per thread identity: `process` as a dict (for the few builders that
    add to it) and `host`..`group` as ready JSON text."""

    __slots__ = ("process", "rest", "text")

    def __init__(self, process: dict[str, Any], host: dict[str, Any], user: dict[str, Any],
                 group: dict[str, Any]) -> None:
        self.process = process
        self.rest = "," + _dumps({"user": user, "group": group}).decode()[1:-1]
        self.text = (_dumps({"host": host, "process": process}).decode()[1:-1] + self.rest)

    def with_process(self, host_text: str, extra: dict[str, Any]) -> str:
        """The actor text with fields added to `process` (exec, exit)."""
        return host_text + _dumps({"process": self.process | extra}).decode()[1:-1] + self.rest


def _actor(v: tuple[Any, ...], en: Enricher) -> _Actor:
    pid = v[PID]
    key = (v[TID], v[START], v[COMM], v[PPID], en.exec_gen.get(pid, 0), v[UID], v[GID], v[EUID])
    cache = en.shared
    actor = cache.get(key)
    if actor is not None:
        return actor  # type: ignore[no-any-return]
    start = v[START]
    entity, started = en.process_ids(pid, start)
    process: dict[str, Any] = {
        "pid": pid,
        "thread": {"id": v[TID]},
        "name": en.comm(v[COMM]),
        "start": started,
        "entity_id": entity,
        "parent": {"pid": v[PPID]},
    }
    exe = en.executable(pid, start)
    if exe is not None:
        process["executable"] = exe
    uid, gid, euid = v[UID], v[GID], v[EUID]
    user: dict[str, Any] = {"id": str(uid), "name": en.user_name(uid)}
    if euid != uid:
        user["effective"] = {"id": str(euid), "name": en.user_name(euid)}
    group = {"id": str(gid), "name": en.group_name(gid)}
    return cache.put(key, _Actor(process, en.host, user, group))  # type: ignore[no-any-return]


_EBPF_OPEN = '"ebpf":{'


def _with_pid_ns(v: tuple[Any, ...], body: str) -> str:
    """`body` with `ebpf.pid_ns` added: the process's pids in its own PID namespace.

    Every body holds `ebpf` as an object, and its first `"ebpf":{` is that key: inside JSON
    strings a quote is escaped, so the text cannot occur there."""
    ns = (f'"pid_ns":{{"pid":{v[NS_PID]},"tid":{v[NS_TID]},"ppid":{v[NS_PPID]},'
          f'"inode":{v[PIDNS]}}},')
    return body.replace(_EBPF_OPEN, _EBPF_OPEN + ns, 1)


def _document(v: tuple[Any, ...], en: Enricher, event: str, actor: str, body: str) -> str:
    """Head + actor + the event's own fields (`body`: JSON members, not empty)."""
    if v[PIDNS]:  # only processes outside the initial PID namespace
        body = _with_pid_ns(v, body)
    ktime = v[KTIME]
    return (f'{{"@timestamp":"{en.timestamp(ktime)}","event":{{"id":"{en.id_prefix}-{ktime:x}-'
            f'{v[TID]:x}",{event}}},{actor},{body}}}')


def _members(own: dict[str, Any]) -> str:
    """A dict's members as JSON text, without the braces."""
    return _dumps(own).decode()[1:-1]


_error_texts: dict[int, str] = {}


def _error_text(en: Enricher, ret: int) -> str:
    """`,"error":{...}` of a failed syscall's return value."""
    found = _error_texts.get(ret)
    if found is None:
        found = ',"error":' + _dumps(en.error(ret)).decode()
        if len(_error_texts) < 4096:
            _error_texts[ret] = found
    return found


_flag_texts: dict[int, str] = {}


def _flags_text(flags: int) -> str:
    found = _flag_texts.get(flags)
    if found is None:
        found = _dumps(open_flag_names(flags)).decode()
        if len(_flag_texts) < 4096:
            _flag_texts[flags] = found
    return found


def _base(v: tuple[Any, ...], en: Enricher, action: str, category: tuple[str, ...],
          etype: tuple[str, ...], outcome: str | None = None) -> tuple[str, dict[str, Any]]:
    """The `event` text and the start of the event's own fields: `ebpf`, and `error` when the
    syscall failed."""
    ret = v[RET]
    if outcome is None:
        outcome = "failure" if ret < 0 else "success"
    own: dict[str, Any] = {"ebpf": {"syscall": action, "ret": ret}}
    if ret < 0 and outcome != "success":
        own["error"] = en.error(ret)
    return _event_frag(action, category, etype, outcome), own


def _file(path: str) -> dict[str, Any]:
    directory, _, name = path.rpartition("/")
    out: dict[str, Any] = {"path": path, "name": name}
    if directory:
        out["directory"] = directory
    elif path.startswith("/"):
        out["directory"] = "/"
    return out


def _file_text(en: Enricher, path: str) -> str:
    """`"file":{...}` of a path; cached: reads and writes name the same paths over and over."""
    found = en.files.get(path)
    if found is None:
        found = en.files.put(path, '"file":' + _dumps(_file(path)).decode())
    return found  # type: ignore[no-any-return]


def _ip(family: int, raw: bytes) -> str | None:
    if family == 2:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    if family == 10:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return None


def _endpoints(own: dict[str, Any], family: int, stype: int, proto: int,
               local: tuple[bytes, int], remote: tuple[bytes, int], *,
               remote_is_source: bool = False) -> None:
    """source/destination/network from a socket's ends; source is the local end unless the
    peer initiated (accept)."""
    sock: dict[str, Any] = {"family": AF_NAMES.get(family, str(family))}
    if stype:
        sock["type"] = SOCK_TYPES.get(stype, str(stype))
    if proto:
        sock["protocol"] = proto
    own["ebpf"]["socket"] = sock
    if family not in (2, 10):
        return
    net: dict[str, Any] = {"type": "ipv4" if family == 2 else "ipv6"}
    transport = TRANSPORTS.get(proto)
    if transport is None and stype == 1:
        transport = "tcp"
    elif transport is None and stype == 2:
        transport = "udp"
    if transport:
        net["transport"] = transport
        if proto:
            net["iana_number"] = str(proto)
    own["network"] = net
    ends = []
    for raw, port in (local, remote):
        end: dict[str, Any] = {}
        if any(raw):
            end["ip"] = _ip(family, raw)
        if port:
            end["port"] = port
        ends.append(end)
    src, dst = (ends[1], ends[0]) if remote_is_source else (ends[0], ends[1])
    if src:
        own["source"] = src
    if dst:
        own["destination"] = dst


class _SockFields:
    """Where the flattened `sock` (struct sock_info) of a record sits in its tuple."""

    def __init__(self, ix: dict[str, int]) -> None:
        self.family, self.type, self.protocol = (ix["sock_family"], ix["sock_type"],
                                                 ix["sock_protocol"])
        self.lport, self.rport = ix["sock_lport"], ix["sock_rport"]
        self.laddr, self.raddr = ix["sock_laddr"], ix["sock_raddr"]

    def endpoints(self, own: dict[str, Any], v: tuple[Any, ...], *,
                  remote_is_source: bool = False) -> None:
        _endpoints(own, v[self.family], v[self.type], v[self.protocol],
                   (v[self.laddr], v[self.lport]), (v[self.raddr], v[self.rport]),
                   remote_is_source=remote_is_source)


IGNORED = "\0"
"""`_FdFields.path` of an fd whose path is filtered (no real path holds a NUL)."""


class _FdFields:
    """Where a record about an fd (rw_event, io_summary_event) keeps what names the fd."""

    def __init__(self, ix: dict[str, int], ignored_prefixes: tuple[str, ...]) -> None:
        self.fd, self.target, self.path_len = ix["fd"], ix["target"], ix["path_len"]
        self.ino, self.dev, self.imode = ix["ino"], ix["dev"], ix["imode"]
        self.ignored_prefixes = ignored_prefixes

    def path(self, v: tuple[Any, ...], tail: bytes, en: Enricher) -> str | None:
        """The path the fd was opened with, or its /proc (or pipe:/socket:) name when we never
        saw it opened; None when nothing names it; IGNORED when that name is filtered (the
        kernel could not filter what it could not name)."""
        if v[self.target] == FT_FILE:
            raw_b = tail[: v[self.path_len]]
            # = text(raw_b), its common case inlined (hot path)
            raw = raw_b.decode() if raw_b.isascii() and 92 not in raw_b else text(raw_b)
            return raw if raw[:1] == "/" else en.fd_path(v[PID], v[self.fd], raw)
        if not v[FLAGS] & EF_FD_UNTRACKED:
            return None
        path = en.untracked_fd(v[PID], v[self.fd], v[self.dev], v[self.ino], v[self.imode])
        if path is not None and path.startswith(self.ignored_prefixes):
            return IGNORED
        return path


def _exec_builder() -> Builder:
    ix = _ix("exec_event")
    argc_i, plen_i, alen_i = ix["argc"], ix["path_len"], ix["args_len"]

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        alen = v[alen_i]
        path = text(tail[alen: alen + v[plen_i]])
        args = [text(a) for a in tail[:alen].split(b"\0")[: v[argc_i]]]
        if v[RET] >= 0:
            path = en.resolve(v[PID], -100, path)
            en.note_exec(v[PID], v[START], path)
        event, own = _base(v, en, ACTIONS[v[ACTION]], CAT_PROCESS, TYPE_START)
        actor = _actor(v, en).with_process(en.host_text, {
            "executable": path, "args": args, "args_count": len(args),
            "command_line": " ".join(args)})
        if v[FLAGS] & (EF_ARGS_TRUNCATED | EF_PATH_TRUNCATED):
            own["ebpf"]["truncated"] = True
        return _document(v, en, event, actor, _members(own))

    return build


def _fork_builder() -> Builder:
    ix = _ix("fork_event")
    cpid_i, ctid_i, cflags_i = ix["child_pid"], ix["child_tid"], ix["clone_flags"]

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        thread = bool(v[FLAGS] & EF_THREAD)
        event, own = _base(v, en, ACTIONS[v[ACTION]], CAT_PROCESS,
                           TYPE_INFO if thread else TYPE_START)
        eb = own["ebpf"]
        if v[RET] > 0:
            eb["child_pid"] = v[cpid_i]
            eb["child_tid"] = v[ctid_i]
        eb["clone_flags"] = v[cflags_i]
        eb["thread"] = thread
        return _document(v, en, event, _actor(v, en).text, _members(own))

    return build


def _exit_builder() -> Builder:
    code_i = _ix("exit_event")["exit_code"]

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        status = v[code_i]
        event, own = _base(v, en, "exit", CAT_PROCESS, TYPE_END, "success")
        signal = status & 0x7F
        exit_code = (status >> 8) & 0xFF if not signal else 128 + signal
        actor = _actor(v, en).with_process(en.host_text, {"exit_code": exit_code})
        if signal:
            own["ebpf"]["exit_signal"] = signal
        return _document(v, en, event, actor, _members(own))

    return build


def _open_builder() -> Builder:
    ix = _ix("open_event")
    dfd_i, mode_i, flags_i, plen_i = ix["dfd"], ix["mode"], ix["flags"], ix["path_len"]
    events: dict[tuple[int, bool], str] = {}

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        raw_b = tail[: v[plen_i]]
        # = text(raw_b), its common case inlined (hot path)
        raw = raw_b.decode() if raw_b.isascii() and 92 not in raw_b else text(raw_b)
        pid = v[PID]
        # Absolute (the kernel resolves most relative paths): skip the call.
        path = raw if raw[:1] == "/" else en.resolve(pid, v[dfd_i], raw)
        ret = v[RET]
        act = v[ACTION]
        action = ACTIONS[act]
        event = events.get((act, ret < 0))
        if event is None:
            event = events[act, ret < 0] = _event_frag(
                action, CAT_FILE, TYPE_ACCESS, "failure" if ret < 0 else "success")
        flags = v[flags_i]
        more = ""
        if flags & _O_CREAT:
            more = f',"mode":{v[mode_i]}'
        if ret >= 0:
            more += f',"fd":{ret}'
            if path is not raw:
                en.remember_fd(pid, ret, raw, path)
        if path is not raw:
            more += ',"raw_path":' + _dumps(raw).decode()
        if v[FLAGS] & EF_PATH_TRUNCATED:
            more += ',"truncated":true'
        return _document(v, en, event, _actor(v, en).text, (
            f'{_file_text(en, path)},"ebpf":{{"syscall":"{action}","ret":{ret},'
            f'"flags":{_flags_text(flags)}{more}}}{_error_text(en, ret) if ret < 0 else ""}'))

    return build


def _rw_builder(ignored_prefixes: tuple[str, ...]) -> Builder:
    ix = _ix("rw_event")
    fd_i, target_i, count_i = ix["fd"], ix["target"], ix["count"]
    sock = _SockFields(ix)
    fds = _FdFields(ix, ignored_prefixes)
    events: dict[tuple[int, bool], str] = {}

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str | None:
        act = v[ACTION]
        action = ACTIONS[act]
        fd = v[fd_i]
        ret = v[RET]
        count = v[count_i]
        if v[target_i] == FT_SOCKET:
            event, own = _base(v, en, action, CAT_NETWORK, TYPE_INFO)
            sock.endpoints(own, v)
            eb = own["ebpf"]
            eb["fd"] = fd
            if count:
                eb["bytes_requested"] = count
            if ret >= 0:
                eb["bytes"] = ret
            return _document(v, en, event, _actor(v, en).text, _members(own))
        more = f',"fd":{fd}'
        if count:
            more += f',"bytes_requested":{count}'
        if ret >= 0:
            more += f',"bytes":{ret}'
        path = fds.path(v, tail, en)
        if path is IGNORED:
            return None
        frag = events.get((act, ret < 0))
        if frag is None:
            frag = events[act, ret < 0] = _event_frag(
                action, CAT_FILE, TYPE_ACCESS if action in _READ_ACTIONS else TYPE_CHANGE,
                "failure" if ret < 0 else "success")
        body = f'"ebpf":{{"syscall":"{action}","ret":{ret}{more}}}'
        if path is not None:
            body += "," + _file_text(en, path)
        if ret < 0:
            body += _error_text(en, ret)
        return _document(v, en, frag, _actor(v, en).text, body)

    return build


def _io_summary_builder(ignored_prefixes: tuple[str, ...]) -> Builder:
    """capture.read_write "first": an fd's totals, sent when it went away (action `close`)."""
    ix = _ix("io_summary_event")
    fd_i, target_i, end_i = ix["fd"], ix["target"], ix["end"]
    reads_i, writes_i = ix["reads"], ix["writes"]
    bread_i, bwritten_i = ix["bytes_read"], ix["bytes_written"]
    sock = _SockFields(ix)
    fds = _FdFields(ix, ignored_prefixes)

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str | None:
        fd = v[fd_i]
        own: dict[str, Any] = {"ebpf": {"fd": fd, "io": {
            "reads": v[reads_i], "writes": v[writes_i], "bytes_read": v[bread_i],
            "bytes_written": v[bwritten_i], "end": _IO_ENDS.get(v[end_i], str(v[end_i]))}}}
        if v[target_i] == FT_SOCKET:
            event = _event_frag("close", CAT_NETWORK, TYPE_INFO, "success")
            sock.endpoints(own, v)
        else:
            event = _event_frag("close", CAT_FILE, TYPE_INFO, "success")
            # Named like its first read or write, which came before (cached by inode).
            path = fds.path(v, tail, en)
            if path is IGNORED:
                return None
            if path is not None:
                own["file"] = _file(path)
        return _document(v, en, event, _actor(v, en).text, _members(own))

    return build


def _unlink_builder() -> Builder:
    ix = _ix("unlink_event")
    dfd_i, flags_i, plen_i = ix["dfd"], ix["flags"], ix["path_len"]

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        raw = text(tail[: v[plen_i]])
        path = en.resolve(v[PID], v[dfd_i], raw)
        event, own = _base(v, en, ACTIONS[v[ACTION]], CAT_FILE, TYPE_DELETION)
        own["file"] = _file(path)
        eb = own["ebpf"]
        if v[flags_i]:
            eb["flags"] = v[flags_i]
        if path is not raw:
            eb["raw_path"] = raw
        return _document(v, en, event, _actor(v, en).text, _members(own))

    return build


def _rename_builder() -> Builder:
    ix = _ix("rename_event")
    odfd_i, ndfd_i, flags_i = ix["olddfd"], ix["newdfd"], ix["flags"]
    olen_i, nlen_i = ix["old_len"], ix["new_len"]

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        olen = v[olen_i]
        old_raw = text(tail[:olen])
        new_raw = text(tail[olen + 1: olen + 1 + v[nlen_i]])
        pid = v[PID]
        event, own = _base(v, en, ACTIONS[v[ACTION]], CAT_FILE, TYPE_CHANGE)
        f = _file(en.resolve(pid, v[odfd_i], old_raw))
        f["target_path"] = en.resolve(pid, v[ndfd_i], new_raw)
        own["file"] = f
        if v[flags_i]:
            own["ebpf"]["flags"] = v[flags_i]
        if v[FLAGS] & (EF_PATH_TRUNCATED | EF_PATH2_TRUNCATED):
            own["ebpf"]["truncated"] = True
        return _document(v, en, event, _actor(v, en).text, _members(own))

    return build


def _socket_builder() -> Builder:
    ix = _ix("socket_event")
    fam_i, type_i, proto_i = ix["family"], ix["type"], ix["protocol"]

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        event, own = _base(v, en, "socket", CAT_NETWORK, TYPE_INFO)
        stype = v[type_i] & 0xF  # SOCK_NONBLOCK / SOCK_CLOEXEC live in the high bits
        _endpoints(own, v[fam_i], stype, v[proto_i], (b"", 0), (b"", 0))
        if v[RET] >= 0:
            own["ebpf"]["fd"] = v[RET]
        return _document(v, en, event, _actor(v, en).text, _members(own))

    return build


def _net_builder() -> Builder:
    ix = _ix("net_event")
    fd_i, backlog_i = ix["fd"], ix["backlog"]
    sock = _SockFields(ix)

    def build(v: tuple[Any, ...], tail: bytes, en: Enricher) -> str:
        action = ACTIONS[v[ACTION]]
        ret = v[RET]
        outcome = None
        if action == "connect" and ret == -_EINPROGRESS:
            outcome = "unknown"  # non-blocking connect: the result comes later
        accept = action in ("accept", "accept4")
        etype = TYPE_CONNECTION_START if accept or action == "connect" else TYPE_INFO
        event, own = _base(v, en, action, CAT_NETWORK, etype, outcome)
        sock.endpoints(own, v, remote_is_source=accept)
        eb = own["ebpf"]
        if v[fd_i] >= 0:
            eb["fd"] = v[fd_i]
        if action == "listen":
            eb["backlog"] = v[backlog_i]
        return _document(v, en, event, _actor(v, en).text, _members(own))

    return build


def builders(*, ignored_prefixes: tuple[str, ...] = ()) -> dict[int, Builder]:
    """Builder per record kind (enum event_kind value)."""
    _bind_abi()
    # Paths reach the prefix test as text() (a backslash doubled); the kernel matched the raw
    # bytes. The prefixes get the same escaping, once, so both filter the same paths.
    ignored_prefixes = tuple(text(p.encode()) for p in ignored_prefixes)
    kinds = enum_values("event_kind")
    return {
        kinds["EK_EXEC"]: _exec_builder(),
        kinds["EK_FORK"]: _fork_builder(),
        kinds["EK_EXIT"]: _exit_builder(),
        kinds["EK_OPEN"]: _open_builder(),
        kinds["EK_RW"]: _rw_builder(ignored_prefixes),
        kinds["EK_UNLINK"]: _unlink_builder(),
        kinds["EK_RENAME"]: _rename_builder(),
        kinds["EK_SOCKET"]: _socket_builder(),
        kinds["EK_NET"]: _net_builder(),
        kinds["EK_IO_SUMMARY"]: _io_summary_builder(ignored_prefixes),
    }


def loss_document(en: Enricher, ktime_ns: int, lost: dict[str, int], *, source: str,
                  total: int, with_room: int | None = None) -> str:
    """A record that events were lost: how many, of which kind, where (ring buffer, disk...).
    `with_room` (ring buffer only): how many of them failed with less than half the ring
    pending, the rest being lost to a full ring."""
    info: dict[str, Any] = {"source": source, "count": sum(lost.values()), "by_kind": lost,
                            "total": total}
    if with_room is not None:
        info["with_room"] = with_room
        info["without_room"] = info["count"] - with_room
    return _dumps({
        "@timestamp": en.timestamp(ktime_ns),
        "event": {
            "id": f"{en.id_prefix}-loss-{source}-{ktime_ns:x}",
            "kind": "metric",
            "action": "loss",
            "category": ["host"],
            "type": ["info"],
            "outcome": "failure",
        },
        "host": en.host,
        "message": f"{sum(lost.values())} events lost ({source})",
        "ebpf": {"lost": info},
    }).decode()
