"""File attribute documents: the chmod and chown families (`file.mode`, `file.uid`/`gid`,
`file.owner`/`group`, ECS). The values are the ones the call asked for; the mode/owner before
the call is gone by the time the kernel hook runs (syscall exit), so it is not recorded. An
fd-based call (fchmod, fchown, the *at calls with AT_EMPTY_PATH) also carries the inode's
mode/owner at exit (`ebpf.inode.*`): the result on success, the unchanged values on failure."""

from __future__ import annotations

from typing import Any

from ..abi import enum_values
from ..document import Document
from ..enrich import Enricher, text
from ..records import AttrEvent
from ..state import ProcessTable
from ._common import CAT_FILE, TYPE_CHANGE, Abi, Builder, actor, base, document, members
from .file import file_fields

__all__ = ["at_flag_names", "attr_builder", "octal_mode", "path_notes"]

_UNCHANGED = 0xFFFFFFFF
"""(uid_t)-1 / (gid_t)-1: chown leaves that id as it is."""


def octal_mode(mode: int) -> str:
    """`file.mode` as ECS writes it: octal digits of the permission bits (`0640`)."""
    return f"{mode & 0o7777:04o}"


_AT_FLAGS: list[tuple[str, int]] | None = None


def at_flag_names(flags: int) -> list[str]:
    """AT_* flag bits by their kernel names (events.h enum at_flag); unknown bits in hex."""
    global _AT_FLAGS
    if _AT_FLAGS is None:
        _AT_FLAGS = [(k.replace("ATF_", "AT_", 1), v)
                     for k, v in sorted(enum_values("at_flag").items(), key=lambda kv: kv[1])]
    names = []
    for name, bit in _AT_FLAGS:
        if flags & bit:
            names.append(name)
            flags &= ~bit
    if flags:
        names.append(f"0x{flags:x}")
    return names


def path_notes(eb: dict[str, Any], path: str, raw: str, truncated: int) -> None:
    """The kernel's path when it differs from the one shown, and whether it was cut short
    (the attribute and name-change documents)."""
    if path != raw:
        eb["raw_path"] = raw
    if truncated:
        eb["truncated"] = True


def attr_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated
    at_fdcwd = abi.at_fdcwd
    inode_after = enum_values("attr_inode")["AI_AFTER"]
    chmods = {v for k, v in enum_values("event_action").items()
              if k in ("EA_CHMOD", "EA_FCHMOD", "EA_FCHMODAT", "EA_FCHMODAT2")}
    by_fd = {v for k, v in enum_values("event_action").items() if k in ("EA_FCHMOD", "EA_FCHOWN")}

    def build(v: AttrEvent, tail: bytes, en: Enricher) -> Document:
        act = v.h_action
        raw = text(tail[: v.path_len])
        path = table.path_of(v.h_pid, v.dfd, raw) if raw else raw
        event, own = base(v, en, actions[act], CAT_FILE, TYPE_CHANGE)
        f: dict[str, Any] = file_fields(path) if path else {}
        eb = own["ebpf"]
        if act in chmods:
            f["mode"] = octal_mode(v.mode)
        else:
            if v.uid != _UNCHANGED:
                f["uid"] = str(v.uid)
                f["owner"] = en.user_name(v.uid)
            if v.gid != _UNCHANGED:
                f["gid"] = str(v.gid)
                f["group"] = en.group_name(v.gid)
        if f:
            own["file"] = f
        if act in by_fd:
            eb["fd"] = v.dfd
        elif v.dfd != at_fdcwd:
            eb["dfd"] = v.dfd
        if v.at_flags:
            eb["flags"] = at_flag_names(v.at_flags)
        if v.inode == inode_after:
            eb["inode"] = {"mode": f"{v.imode:o}", "uid": str(v.iuid), "gid": str(v.igid)}
        path_notes(eb, path, raw, v.h_flags & truncated)
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
