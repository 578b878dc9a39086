"""What every document shares: the `event` head, the actor (host, process, user, group), the
`ebpf` start and `error`, `file` of a path; each part encoded once and reused.

A document is put together from parts encoded once: the actor part is cached as text per thread
identity, `file` per path, `error` per errno, the constant part of `event` per action. Encoding
the shared parts again for every event was most of the per-event cost (benchmarks/findings.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ..abi import enum_values, rw_actions
from ..document import Document
from ..enrich import Enricher
from ..records import Record
from ..state import ProcessTable

__all__ = ["Abi", "Actor", "Builder", "Observer", "actor", "base", "context_text", "document",
           "error_text", "event_frag", "members", "open_flag_names"]

Builder = Callable[[Any, bytes, Enricher], Document | None]
"""(typed record from records.py, its variable tail, the Enricher) -> a document, or None when
a filter drops it. Reads the ProcessTable it was made with, never writes it."""
Observer = Callable[[Any, bytes], None]
"""(typed record, tail): what a record tells the ProcessTable, before any document is built."""

_dumps = orjson.dumps
_new = tuple.__new__  # Document(...) without NamedTuple's Python-level __new__ (hot path)


@dataclass(frozen=True)
class Abi:
    """The enumerators of events.h the builders name things by, read from BTF once at start."""

    actions: dict[int, str]
    io_ends: dict[int, str]
    ef_path_truncated: int
    ef_path2_truncated: int
    ef_args_truncated: int
    ef_thread: int
    ef_fd_untracked: int
    ef_addr_from_arg: int
    ef_env_truncated: int
    ft_file: int
    ft_socket: int
    read_actions: frozenset[str]
    """Actions that read (a file read is an access, a write a change)."""
    write_actions: frozenset[str]
    """Actions that write (events.h's read/write classes, abi.rw_actions)."""
    families: dict[int, str]
    """Address family names by number (AF_INET, ...)."""
    fam_inet: int
    fam_inet6: int
    fam_unix: int
    at_fdcwd: int
    uring_flags: dict[str, int]
    """enum uring_flag by name (EU_FIXED_FILE, ...)."""
    open_flags: dict[str, int]
    """enum open_flag by name (OF_CREAT, ...): the kernel's values, not libc's."""

    @classmethod
    def load(cls) -> Abi:
        _open_flag_bits()  # at start: an object without them fails here, not on every open
        f = enum_values("event_flag")
        t = enum_values("fd_target")
        reads, writes = rw_actions()
        return cls(
            actions={v: k.removeprefix("EA_").lower()
                     for k, v in enum_values("event_action").items()},
            io_ends={v: k.removeprefix("IE_").lower() for k, v in enum_values("io_end").items()},
            ef_path_truncated=f["EF_PATH_TRUNCATED"], ef_path2_truncated=f["EF_PATH2_TRUNCATED"],
            ef_args_truncated=f["EF_ARGS_TRUNCATED"], ef_thread=f["EF_THREAD"],
            ef_fd_untracked=f["EF_FD_UNTRACKED"], ef_addr_from_arg=f["EF_ADDR_FROM_ARG"],
            ef_env_truncated=f["EF_ENV_TRUNCATED"],
            ft_file=t["FT_FILE"], ft_socket=t["FT_SOCKET"],
            read_actions=frozenset(reads), write_actions=frozenset(writes),
            families={v: "AF_" + k.removeprefix("FAM_")
                      for k, v in enum_values("addr_family").items()},
            fam_inet=enum_values("addr_family")["FAM_INET"],
            fam_inet6=enum_values("addr_family")["FAM_INET6"],
            fam_unix=enum_values("addr_family")["FAM_UNIX"],
            at_fdcwd=enum_values("abi_const")["ABI_AT_FDCWD"],
            uring_flags=dict(enum_values("uring_flag")),
            open_flags=dict(enum_values("open_flag")))


_O_ACCMODE = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}
_o_bits: list[tuple[str, int]] = []
_flag_cache: dict[int, list[str]] = {}


def _open_flag_bits() -> list[tuple[str, int]]:
    """events.h's enum open_flag (the kernel's values for this architecture, not libc's):
    composites first (O_SYNC before O_DSYNC, O_TMPFILE before O_DIRECTORY), then by value."""
    if not _o_bits:
        found = [(k.replace("OF_", "O_", 1), v) for k, v in enum_values("open_flag").items()]
        _o_bits.extend(sorted(found, key=lambda nv: (nv[1].bit_count() == 1, nv[1])))
    return _o_bits


def open_flag_names(flags: int) -> list[str]:
    names = _flag_cache.get(flags)
    if names is not None:
        return names
    names = [_O_ACCMODE.get(flags & 3, "O_ACCMODE")]
    rest = flags & ~3
    for name, bits in _open_flag_bits():
        if rest & bits == bits:
            names.append(name)
            rest &= ~bits
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

_event_frags: dict[tuple[str, tuple[str, ...], tuple[str, ...], str], str] = {}


def event_frag(action: str, category: tuple[str, ...], etype: tuple[str, ...],
               outcome: str) -> str:
    """The constant tail of the `event` object, as JSON text (a few dozen distinct ones)."""
    key = (action, category, etype, outcome)
    frag = _event_frags.get(key)
    if frag is None:
        frag = _dumps({"kind": "event", "action": action, "category": category, "type": etype,
                       "outcome": outcome}).decode()[1:-1]
        _event_frags[key] = frag
    return frag


class Actor:
    """Who did it, cached per thread identity: `process` as a dict (for the few builders that
    add to it) and `host`..`group` as ready JSON text."""

    __slots__ = ("process", "rest", "text")

    def __init__(self, process: dict[str, Any], host: dict[str, Any], user: dict[str, Any],
                 group: dict[str, Any], where: dict[str, Any] | None = None) -> None:
        self.process = process
        # `where`: the `container` and `orchestrator` of the process, when it runs in one.
        self.rest = "," + _dumps({"user": user, "group": group, **(where or {})}).decode()[1:-1]
        self.text = (_dumps({"host": host, "process": process}).decode()[1:-1] + self.rest)

    def with_process(self, host_text: str, extra: dict[str, Any]) -> str:
        """The actor text with fields added to `process` (exec, exit)."""
        return host_text + _dumps({"process": self.process | extra}).decode()[1:-1] + self.rest


def actor(v: Record, en: Enricher, table: ProcessTable) -> Actor:
    pid = v.h_pid
    start = v.h_start_ns
    key = (v.h_tid, start, v.h_comm, v.h_ppid, table.actor_gen.get((pid, start), 0), v.h_uid,
           v.h_gid, v.h_euid, v.h_cgroup_id, v.h_parent_start_ns, v.h_tty, v.h_sid,
           v.h_sid_start_ns)
    cache = table.actors
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    entity, started = en.process_ids(pid, start)
    process: dict[str, Any] = {
        "pid": pid,
        "thread": {"id": v.h_tid},
        "name": en.comm(v.h_comm),
        "start": started,
        "entity_id": entity,
        "parent": {"pid": v.h_ppid},
    }
    if v.h_ppid:  # 0: a parent outside our view (the idle task of pid 1 and kernel threads)
        process["parent"]["entity_id"] = en.process_ids(v.h_ppid, v.h_parent_start_ns)[0]
    if v.h_tty:
        process["tty"] = {"char_device": {"major": v.h_tty >> 20, "minor": v.h_tty & 0xFFFFF}}
    if v.h_sid:
        process["session_leader"] = {"pid": v.h_sid}
        if v.h_sid_start_ns:  # 0: the leader has exited
            process["session_leader"]["entity_id"] = en.process_ids(v.h_sid, v.h_sid_start_ns)[0]
    exe = table.executable(pid, start)
    if exe is not None:
        process["executable"] = exe
    cwd = table.working_directory(pid, start)
    if cwd is not None:
        process["working_directory"] = cwd
    uid, gid, euid = v.h_uid, v.h_gid, v.h_euid
    user: dict[str, Any] = {"id": str(uid), "name": en.user_name(uid)}
    if euid != uid:
        user["effective"] = {"id": str(euid), "name": en.user_name(euid)}
    group = {"id": str(gid), "name": en.group_name(gid)}
    where = en.container(pid, start, v.h_cgroup_id)
    return cache.put(  # type: ignore[no-any-return]
        key, Actor(process, en.host, user, group, where))


def context_text(v: Record, en: Enricher) -> str:
    """`ebpf`'s context members: the cgroup (id, path) and the mount and network namespaces,
    as JSON text ending in a comma; cached per (cgroup id, namespaces)."""
    key = (v.h_cgroup_id, v.h_mntns, v.h_netns)
    cache = en.context_texts
    found = cache.get(key)
    if found is None:
        cgroup: dict[str, Any] = {"id": v.h_cgroup_id}
        path = en.cgroup_path(v.h_pid, v.h_cgroup_id)
        if path is not None:
            cgroup["path"] = path
        found = cache.put(key, _dumps(
            {"cgroup": cgroup, "mnt_ns": {"inode": v.h_mntns}, "net_ns": {"inode": v.h_netns}}
        ).decode()[1:-1] + ",")
    return found  # type: ignore[no-any-return]


_EBPF_OPEN = '"ebpf":{'


def _with_context(v: Record, en: Enricher, body: str) -> str:
    """`body` with `ebpf`'s context added (context_text) and `ebpf.pid_ns`, the process's pids
    in its own PID namespace, for a process outside the initial one.

    Every body holds `ebpf` as an object, and its first `"ebpf":{` is that key: inside JSON
    strings a quote is escaped, so the text cannot occur there."""
    ns = context_text(v, en)
    if v.h_pidns:
        ns += (f'"pid_ns":{{"pid":{v.h_ns_pid},"tid":{v.h_ns_tid},"ppid":{v.h_ns_ppid},'
               f'"inode":{v.h_pidns}}},')
    return body.replace(_EBPF_OPEN, _EBPF_OPEN + ns, 1)


def document(v: Record, en: Enricher, event: str, actor: str, body: str) -> Document:
    """Head + actor + the event's own fields (`body`: JSON members, not empty)."""
    body = _with_context(v, en, body)
    ktime = v.h_ktime_ns
    stamp, day = en.stamp(ktime)
    doc_id = f"{en.id_prefix}-{ktime:x}-{v.h_tid:x}"
    return _new(Document, (doc_id, day, f'{{"@timestamp":"{stamp}","event":{{"id":"{doc_id}",'
                               f'{event}}},{actor},{body}}}'))


def members(own: dict[str, Any]) -> str:
    """A dict's members as JSON text, without the braces."""
    return _dumps(own).decode()[1:-1]


_error_texts: dict[int, str] = {}


def error_text(en: Enricher, ret: int) -> str:
    """`,"error":{...}` of a failed syscall's return value."""
    found = _error_texts.get(ret)
    if found is None:
        found = ',"error":' + _dumps(en.error(ret)).decode()
        if len(_error_texts) < 4096:
            _error_texts[ret] = found
    return found


def base(v: Record, en: Enricher, action: str, category: tuple[str, ...],
         etype: tuple[str, ...], outcome: str | None = None) -> tuple[str, dict[str, Any]]:
    """The `event` text and the start of the event's own fields: `ebpf`, and `error` when the
    syscall failed."""
    ret = v.h_ret
    if outcome is None:
        outcome = "failure" if ret < 0 else "success"
    own: dict[str, Any] = {"ebpf": {"syscall": action, "ret": ret}}
    if ret < 0 and outcome != "success":
        own["error"] = en.error(ret)
    return event_frag(action, category, etype, outcome), own
