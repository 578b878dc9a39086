"""Credential documents: set*id and capset (ids asked for, the task's ids before and after),
and the ids an exec left, which fill the exec document's `process.user`.. fields (ECS:
`process.user` is the effective user, `process.real_user` the real, `process.saved_user` the
saved one; likewise for groups). File-system ids have no ECS field: `ebpf.cred.fsuid/fsgid`."""

from __future__ import annotations

from typing import Any

from ..abi import enum_values
from ..document import Document
from ..enrich import Enricher, text
from ..records import CredEvent
from ..state import ProcessTable
from ._common import CAT_PROCESS, Abi, Builder, Observer, actor, base, document, members

__all__ = ["CAPABILITIES", "cap_names", "cred_builder", "cred_observer", "exec_cred_fields",
           "unlinked_exec"]

CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
"""Capability names by bit (linux/capability.h); a later bit is named by its number."""

_UNCHANGED = 0xFFFFFFFF
"""(uid_t)-1: setre*id/setres*id leave that id as it is."""
_TYPE_CHANGE = ("change",)
_cap_cache: dict[int, list[str]] = {}


def cap_names(caps: int) -> list[str]:
    """A capability set as names (`CAP_SETUID`, ...; `CAP_63` past the known ones)."""
    found = _cap_cache.get(caps)
    if found is None:
        found = [CAPABILITIES[b] if b < len(CAPABILITIES) else f"CAP_{b}"
                 for b in range(64) if caps >> b & 1]
        if len(_cap_cache) < 1024:
            _cap_cache[caps] = found
    return found


def _id(en: Enricher, value: int, *, group: bool) -> dict[str, Any]:
    return {"id": str(value), "name": en.group_name(value) if group else en.user_name(value)}


def _ids(v: CredEvent, side: str) -> tuple[int, ...]:
    return tuple(getattr(v, f"{side}_{k}") for k in (
        "uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid", "cap_effective",
        "cap_permitted", "cap_inheritable"))


def _process_ids(en: Enricher, ids: tuple[int, ...]) -> dict[str, Any]:
    """ECS `process.*` user and group objects of (uid, euid, suid, fsuid, gid, egid, sgid, ...)."""
    uid, euid, suid, _, gid, egid, sgid = ids[:7]
    return {"user": _id(en, euid, group=False), "real_user": _id(en, uid, group=False),
            "saved_user": _id(en, suid, group=False), "group": _id(en, egid, group=True),
            "real_group": _id(en, gid, group=True), "saved_group": _id(en, sgid, group=True)}


def _thread(tid: int, ids: tuple[int, ...]) -> dict[str, Any]:
    """`process.thread` (its id kept) with the capability sets ECS has."""
    return {"id": tid, "capabilities": {"effective": cap_names(ids[8]),
                                        "permitted": cap_names(ids[9])}}


def exec_cred_fields(en: Enricher, tid: int, creds: tuple[int, ...],
                     secure: bool) -> dict[str, Any]:
    """The `process` fields an exec's ids give; capabilities only when the exec changed them
    (set-uid/set-gid or file capabilities), where they are the news."""
    out = _process_ids(en, creds)
    if secure:
        out["thread"] = _thread(tid, creds)
    return out


def unlinked_exec(path: str) -> dict[str, Any]:
    """`ebpf.exec` of an exec'd file with no link left: a memfd (named as memfd_create named
    it) or a deleted file (its old path)."""
    name = path.removeprefix("/")
    if name.startswith("memfd:"):
        return {"unlinked": True, "memfd": name.removeprefix("memfd:"), "file_path": path}
    return {"unlinked": True, "deleted": True, "file_path": path}


def cred_observer(abi: Abi, table: ProcessTable) -> Observer:
    """The ids a successful exec left: the exec document that follows takes them."""
    flags = enum_values("cred_flag")
    at_exec, secure, unlinked = (flags["CRF_EXEC"], flags["CRF_SECUREEXEC"],
                                 flags["CRF_EXEC_UNLINKED"])

    def observe(v: CredEvent, tail: bytes) -> None:
        if v.flags & at_exec:
            gone = text(tail[: v.path_len]) if v.flags & unlinked else None
            table.exec_creds_seen(v.h_pid, v.h_start_ns,
                                  (_ids(v, "after"), bool(v.flags & secure), gone))

    return observe


def cred_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    flags = enum_values("cred_flag")
    at_exec, before_known = flags["CRF_EXEC"], flags["CRF_BEFORE"]
    capset = {k for k, v in actions.items() if v == "capset"}
    # setfsuid/setfsgid never fail by their return (the old id): the id after tells.
    fs_ids = {k: 3 if v == "setfsuid" else 7 for k, v in actions.items()
              if v in ("setfsuid", "setfsgid")}

    def build(v: CredEvent, tail: bytes, en: Enricher) -> Document | None:
        if v.flags & at_exec:  # part of the exec document (cred_observer)
            return None
        after = _ids(v, "after")
        fs = fs_ids.get(v.h_action)
        outcome = None if fs is None else "success" if after[fs] == v.arg0 else "failure"
        event, own = base(v, en, actions[v.h_action], CAT_PROCESS, _TYPE_CHANGE, outcome)
        eb = own["ebpf"]
        cred: dict[str, Any] = {"fsuid": after[3], "fsgid": after[7]}
        if v.h_action in capset:
            eb["cap"] = {
                "pid": v.cap_pid, "version": f"0x{v.cap_version:08x}",
                "requested": {"effective": cap_names(v.cap_effective),
                              "permitted": cap_names(v.cap_permitted),
                              "inheritable": cap_names(v.cap_inheritable)},
                "inheritable": cap_names(after[10])}
        else:
            cred["args"] = [-1 if a == _UNCHANGED else a
                            for a in (v.arg0, v.arg1, v.arg2)[: v.nargs]]
        if v.flags & before_known:
            b = _ids(v, "before")
            cred["before"] = dict(zip(("uid", "euid", "suid", "fsuid", "gid", "egid", "sgid",
                                       "fsgid"), b[:8], strict=True))
            if v.h_action in capset:
                eb["cap"]["before"] = {"effective": cap_names(b[8]),
                                       "permitted": cap_names(b[9]),
                                       "inheritable": cap_names(b[10])}
        eb["cred"] = cred
        extra = _process_ids(en, after)
        if v.h_action in capset:
            extra["thread"] = _thread(v.h_tid, after)
        who = actor(v, en, table).with_process(en.host_text, extra)
        return document(v, en, event, who, members(own))

    return build
