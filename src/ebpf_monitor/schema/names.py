"""Name documents: link, symlink (both names), mkdir, mknod (type, mode, device), truncate
(length). A link's document is about the name it makes: `file.path` is the new name and
`file.target_path` what it points to, as ECS means `target_path` for symlinks: for a symlink
the text it holds, as given (not a path to resolve: it may be relative to the link's
directory, or name nothing), for a hard link the existing file."""

from __future__ import annotations

import os
import stat
from typing import Any

from ..abi import enum_values
from ..document import Document
from ..enrich import Enricher, text
from ..records import LinkEvent, MknodEvent, TruncateEvent
from ..state import ProcessTable
from ._common import CAT_FILE, TYPE_CHANGE, Abi, Builder, actor, base, document, members
from .attr import at_flag_names, octal_mode, path_notes
from .file import file_fields

__all__ = ["file_type", "link_builder", "mknod_builder", "truncate_builder"]

TYPE_CREATION = ("creation",)

_TYPES = {stat.S_IFREG: "file", 0: "file", stat.S_IFDIR: "dir", stat.S_IFCHR: "char_device",
          stat.S_IFBLK: "block_device", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket",
          stat.S_IFLNK: "symlink"}


def file_type(mode: int) -> str:
    """`file.type` of a mode's S_IFMT bits (mknod: 0 makes a regular file)."""
    fmt = stat.S_IFMT(mode)
    return _TYPES.get(fmt, f"0{fmt:o}")


def link_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated | abi.ef_path2_truncated
    symlinks = {v for k, v in enum_values("event_action").items()
                if k in ("EA_SYMLINK", "EA_SYMLINKAT")}

    def build(v: LinkEvent, tail: bytes, en: Enricher) -> Document:
        olen = v.old_len
        old_raw = text(tail[:olen])
        new_raw = text(tail[olen + 1: olen + 1 + v.new_len])
        pid = v.h_pid
        act = v.h_action
        event, own = base(v, en, actions[act], CAT_FILE, TYPE_CREATION)
        f = file_fields(table.path_of(pid, v.newdfd, new_raw)) if new_raw else {}
        if act in symlinks:
            f["type"] = "symlink"
            f["target_path"] = old_raw
        elif old_raw:
            f["target_path"] = table.path_of(pid, v.olddfd, old_raw)
        if f:
            own["file"] = f
        if v.flags:
            own["ebpf"]["flags"] = at_flag_names(v.flags)
        if v.h_flags & truncated:
            own["ebpf"]["truncated"] = True
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def mknod_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated
    mkdirs = {v for k, v in enum_values("event_action").items() if k in ("EA_MKDIR", "EA_MKDIRAT")}
    at_fdcwd = abi.at_fdcwd

    def build(v: MknodEvent, tail: bytes, en: Enricher) -> Document:
        raw = text(tail[: v.path_len])
        path = table.path_of(v.h_pid, v.dfd, raw) if raw else raw
        event, own = base(v, en, actions[v.h_action], CAT_FILE, TYPE_CREATION)
        f: dict[str, Any] = file_fields(path) if path else {}
        f["type"] = "dir" if v.h_action in mkdirs else file_type(v.mode)
        f["mode"] = octal_mode(v.mode)
        own["file"] = f
        eb = own["ebpf"]
        if f["type"] in ("char_device", "block_device"):
            eb["device"] = {"major": os.major(v.dev), "minor": os.minor(v.dev)}
        if v.dfd != at_fdcwd:
            eb["dfd"] = v.dfd
        path_notes(eb, path, raw, v.h_flags & truncated)
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def truncate_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated
    ftruncate = enum_values("event_action")["EA_FTRUNCATE"]

    def build(v: TruncateEvent, tail: bytes, en: Enricher) -> Document:
        raw = text(tail[: v.path_len])
        path = table.path_of(v.h_pid, v.fd, raw) if raw else raw
        event, own = base(v, en, actions[v.h_action], CAT_FILE, TYPE_CHANGE)
        if path:
            own["file"] = file_fields(path)
        eb = own["ebpf"]
        eb["length"] = v.length
        if v.h_action == ftruncate:
            eb["fd"] = v.fd
        path_notes(eb, path, raw, v.h_flags & truncated)
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
