"""Working-directory documents: chdir and fchdir. Their observer is how the process table
follows `process.working_directory` past a process's exec (state.ProcessTable.chdir_seen); the
document itself is about the directory: `file.path` as given (made absolute), its real path
(`ebpf.real_path`) when the kernel's name of the new cwd differs (a symlink on the way), and
the actor's `process.working_directory` already the new one."""

from __future__ import annotations

from ..abi import enum_values
from ..document import Document
from ..enrich import Enricher, text
from ..records import ChdirEvent
from ..state import ProcessTable
from ._common import (
    CAT_PROCESS,
    TYPE_CHANGE,
    Abi,
    Builder,
    Observer,
    actor,
    base,
    document,
    members,
)
from .file import file_fields

__all__ = ["chdir_builder", "chdir_observer"]


def _cwd(v: ChdirEvent, tail: bytes) -> str:
    start = v.path_len + 1
    return text(tail[start: start + v.cwd_len])


def chdir_observer(abi: Abi, table: ProcessTable) -> Observer:
    """A successful chdir/fchdir whose new cwd the kernel named: the process's cwd from now."""

    def observe(v: ChdirEvent, tail: bytes) -> None:
        if v.h_ret == 0 and v.cwd_len:
            table.chdir_seen(v.h_pid, v.h_start_ns, _cwd(v, tail))

    return observe


def chdir_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated | abi.ef_path2_truncated
    fchdir = enum_values("event_action")["EA_FCHDIR"]

    def build(v: ChdirEvent, tail: bytes, en: Enricher) -> Document:
        raw = text(tail[: v.path_len])
        cwd = _cwd(v, tail) if v.h_ret == 0 and v.cwd_len else None
        event, own = base(v, en, actions[v.h_action], CAT_PROCESS, TYPE_CHANGE)
        eb = own["ebpf"]
        if v.h_action == fchdir:
            path = raw  # the fd's own path, named in the kernel (empty: a bad fd)
            eb["fd"] = v.fd
        elif raw[:1] == "/" or not raw:
            path = raw
        elif cwd is not None:  # relative, and done: the new cwd is where it led
            path = cwd
            eb["raw_path"] = raw
        else:  # failed: the cwd it was relative to is unchanged
            path = table.path_of(v.h_pid, v.fd, raw)
            if path != raw:
                eb["raw_path"] = raw
        if path:
            own["file"] = file_fields(path)
        if cwd is not None and cwd != path:
            eb["real_path"] = cwd
        if v.h_flags & truncated:
            eb["truncated"] = True
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
