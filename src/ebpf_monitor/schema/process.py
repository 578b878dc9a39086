"""Process documents: exec, fork/clone, exit."""

from __future__ import annotations

from typing import Any

from ..document import Document
from ..enrich import Enricher, text
from ..records import ExecEvent, ExitEvent, ForkEvent
from ..state import ProcessTable
from ._common import (
    CAT_PROCESS,
    TYPE_END,
    TYPE_INFO,
    TYPE_START,
    Abi,
    Builder,
    Observer,
    actor,
    base,
    document,
    members,
)
from .cred import exec_cred_fields, unlinked_exec

__all__ = ["exec_builder", "exec_observer", "exit_builder", "fork_builder", "fork_observer"]


def _env_end(v: ExecEvent, tail: bytes) -> int:
    """Where the kept environment entries end: the real path and its NUL follow them."""
    return len(tail) - (v.real_len + 1 if v.real_len else 0)


def exec_observer(abi: Abi, table: ProcessTable) -> Observer:
    """A successful exec: the process's new executable (absolute), a new generation."""
    at_fdcwd = abi.at_fdcwd

    def observe(v: ExecEvent, tail: bytes) -> None:
        if v.h_ret >= 0:
            alen = v.args_len
            path = table.path_of(v.h_pid, at_fdcwd, text(tail[alen: alen + v.path_len]))
            # The cwd follows the path's NUL when the kernel could name it; the kept
            # environment entries are the last env_len bytes before the real path.
            rest = tail[alen + v.path_len + 1: _env_end(v, tail) - v.env_len].split(b"\0", 1)[0]
            table.exec_seen(v.h_pid, v.h_start_ns, path, text(rest) if rest else None)
            table.exec_hash_request(v.h_pid, v.h_start_ns, path)

    return observe


def fork_observer(abi: Abi, table: ProcessTable) -> Observer:
    """A new process (not a thread): it starts in its parent's working directory."""
    ef_thread = abi.ef_thread

    def observe(v: ForkEvent, tail: bytes) -> None:
        if v.h_ret > 0 and not v.h_flags & ef_thread:
            table.forked(v.h_pid, v.h_start_ns, v.child_pid, v.h_ktime_ns)

    return observe


def exec_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_args_truncated | abi.ef_path_truncated | abi.ef_env_truncated

    def build(v: ExecEvent, tail: bytes, en: Enricher) -> Document:
        alen = v.args_len
        path = text(tail[alen: alen + v.path_len])
        args = [text(a) for a in tail[:alen].split(b"\0")[: v.argc]]
        if v.h_ret >= 0:  # as exec_observer noted it
            path = table.executable(v.h_pid, v.h_start_ns) or path
        event, own = base(v, en, actions[v.h_action], CAT_PROCESS, TYPE_START)
        extra: dict[str, Any] = {"executable": path, "args": args, "args_count": len(args),
                                 "command_line": " ".join(args)}
        end = _env_end(v, tail)
        if v.env_count:  # capture.exec_env_vars, "NAME=value" as the kernel kept them
            extra["env_vars"] = [text(x) for x in
                                 tail[end - v.env_len: end].split(b"\0")[: v.env_count]]
        if v.real_len:  # the exec'd file's own path differs (a symlink: /bin/sh -> dash)
            own["ebpf"]["real_path"] = text(tail[end: end + v.real_len])
        sha = table.exec_hash(v.h_pid, v.h_start_ns) if v.h_ret >= 0 else None
        if sha is not None:  # known already: a file hashed before (exehash.py)
            extra["hash"] = {"sha256": sha}
        creds = table.exec_creds(v.h_pid, v.h_start_ns) if v.h_ret >= 0 else None
        if creds is not None:
            ids, secure, gone = creds
            extra |= exec_cred_fields(en, v.h_tid, ids, secure)
            if secure:
                own["ebpf"]["secure_exec"] = True
            if gone is not None:
                own["ebpf"]["exec"] = unlinked_exec(gone)
        who = actor(v, en, table).with_process(en.host_text, extra)
        if v.h_flags & truncated:
            own["ebpf"]["truncated"] = True
        return document(v, en, event, who, members(own))

    return build


def fork_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    ef_thread = abi.ef_thread

    def build(v: ForkEvent, tail: bytes, en: Enricher) -> Document:
        thread = bool(v.h_flags & ef_thread)
        event, own = base(v, en, actions[v.h_action], CAT_PROCESS,
                          TYPE_INFO if thread else TYPE_START)
        eb = own["ebpf"]
        if v.h_ret > 0:
            eb["child_pid"] = v.child_pid
            eb["child_tid"] = v.child_tid
        eb["clone_flags"] = v.clone_flags
        eb["thread"] = thread
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def exit_builder(abi: Abi, table: ProcessTable) -> Builder:
    def build(v: ExitEvent, tail: bytes, en: Enricher) -> Document:
        status = v.exit_code
        event, own = base(v, en, "exit", CAT_PROCESS, TYPE_END, "success")
        signal = status & 0x7F
        exit_code = (status >> 8) & 0xFF if not signal else 128 + signal
        extra: dict[str, Any] = {"exit_code": exit_code}
        sha = table.exec_hash(v.h_pid, v.h_start_ns)
        if sha is not None:  # computed since the exec (exehash.py)
            extra["hash"] = {"sha256": sha}
        who = actor(v, en, table).with_process(en.host_text, extra)
        if signal:
            own["ebpf"]["exit_signal"] = signal
        return document(v, en, event, who, members(own))

    return build
