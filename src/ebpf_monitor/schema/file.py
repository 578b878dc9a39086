"""File documents: open, read/write (of files and, by the same record, sockets), an fd's
read/write totals (`close`), unlink, rename. The first two come by the hundred thousand: they
format their fields directly; the others build a small dict and let orjson write it."""

from __future__ import annotations

from typing import Any

import orjson

from ..document import Document
from ..enrich import Enricher, text
from ..records import IoSummaryEvent, OpenEvent, RenameEvent, RwEvent, UnlinkEvent
from ..state import IGNORED, ProcessTable
from ._common import (
    CAT_FILE,
    CAT_NETWORK,
    TYPE_ACCESS,
    TYPE_CHANGE,
    TYPE_DELETION,
    TYPE_INFO,
    Abi,
    Builder,
    Observer,
    actor,
    base,
    document,
    error_text,
    event_frag,
    members,
    open_flag_names,
)
from .net import Endpoints

__all__ = ["file_fields", "file_text", "flags_text", "io_summary_builder", "open_builder",
           "open_observer", "rename_builder", "rw_builder", "unlink_builder"]

_dumps = orjson.dumps

_flag_texts: dict[int, str] = {}


def flags_text(flags: int) -> str:
    """`ebpf.flags` of an open as JSON text (a few dozen distinct ones)."""
    found = _flag_texts.get(flags)
    if found is None:
        found = _dumps(open_flag_names(flags)).decode()
        if len(_flag_texts) < 4096:
            _flag_texts[flags] = found
    return found


def file_fields(path: str) -> dict[str, Any]:
    """`file` of a path: path, name, directory."""
    directory, _, name = path.rpartition("/")
    out: dict[str, Any] = {"path": path, "name": name}
    if directory:
        out["directory"] = directory
    elif path.startswith("/"):
        out["directory"] = "/"
    return out


def _file_json(path: str) -> str:
    """`"file":` + orjson's text of file_fields(path). A path of printable ASCII without `"` or
    `\\` is its own JSON string, so its text is written directly (the common case: a miss of
    the cache costs this on every new path of a build or an unpacked archive)."""
    if path.isascii() and path.isprintable() and '"' not in path and "\\" not in path:
        directory, _, name = path.rpartition("/")
        if not directory:
            if not path.startswith("/"):
                return f'"file":{{"path":"{path}","name":"{name}"}}'
            directory = "/"
        return f'"file":{{"path":"{path}","name":"{name}","directory":"{directory}"}}'
    return '"file":' + _dumps(file_fields(path)).decode()


def file_text(table: ProcessTable, path: str) -> str:
    """`"file":{...}` of a path; cached: reads and writes name the same paths over and over."""
    found = table.files.get(path)
    if found is None:
        found = table.files.put(path, _file_json(path))
    return found  # type: ignore[no-any-return]


def open_observer(abi: Abi, table: ProcessTable) -> Observer:
    """An open of a relative path the kernel could not make absolute: the path its fd stands
    for (later reads and writes carry the raw path). Absolute paths, the rule, cost a test."""

    def observe(v: OpenEvent, tail: bytes) -> None:
        ret = v.h_ret
        if ret >= 0 and tail[:1] != b"/" and v.path_len:
            raw = text(tail[: v.path_len])
            table.opened(v.h_pid, v.h_start_ns, ret, raw, table.path_of(v.h_pid, v.dfd, raw))

    return observe


def open_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated
    o_creat = abi.open_flags["OF_CREAT"]
    events: dict[tuple[int, bool], str] = {}

    def build(v: OpenEvent, tail: bytes, en: Enricher) -> Document:
        raw_b = tail[: v.path_len]
        # = text(raw_b), its common case inlined (hot path)
        raw = raw_b.decode() if raw_b.isascii() and 92 not in raw_b else text(raw_b)
        pid = v.h_pid
        ret = v.h_ret
        # Absolute (the kernel resolves most relative paths): skip the call.
        if raw[:1] == "/" or not raw:
            path = raw
        else:  # as open_observer noted it
            path = table.opened_path(pid, v.h_start_ns, ret, raw) if ret >= 0 else table.path_of(
                pid, v.dfd, raw)
        act = v.h_action
        action = actions[act]
        event = events.get((act, ret < 0))
        if event is None:
            event = events[act, ret < 0] = event_frag(
                action, CAT_FILE, TYPE_ACCESS, "failure" if ret < 0 else "success")
        flags = v.flags
        more = ""
        if flags & o_creat:
            more = f',"mode":{v.mode}'
        if ret >= 0:
            more += f',"fd":{ret}'
        if path != raw:
            more += ',"raw_path":' + _dumps(raw).decode()
        if v.real_len:  # the opened file's own path differs (a symlink, "..", a chroot)
            end = v.path_len + 1
            more += ',"real_path":' + _dumps(text(tail[end: end + v.real_len])).decode()
        if v.h_flags & truncated:
            more += ',"truncated":true'
        return document(v, en, event, actor(v, en, table).text, (
            f'{file_text(table, path)},"ebpf":{{"syscall":"{action}","ret":{ret},'
            f'"flags":{flags_text(flags)}{more}}}{error_text(en, ret) if ret < 0 else ""}'))

    return build


def rw_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    ft_socket, ft_file, untracked = abi.ft_socket, abi.ft_file, abi.ef_fd_untracked
    read_actions = abi.read_actions
    ends = Endpoints(abi)
    fd_name = table.fd_name
    events: dict[tuple[int, bool], str] = {}

    def build(v: RwEvent, tail: bytes, en: Enricher) -> Document | None:
        act = v.h_action
        action = actions[act]
        fd = v.fd
        ret = v.h_ret
        count = v.count_
        if v.target == ft_socket:
            event, own = base(v, en, action, CAT_NETWORK, TYPE_INFO)
            ends.add_sock(own, v)
            eb = own["ebpf"]
            eb["fd"] = fd
            if count:
                eb["bytes_requested"] = count
            if ret >= 0:
                eb["bytes"] = ret
            return document(v, en, event, actor(v, en, table).text, members(own))
        more = f',"fd":{fd}'
        if count:
            more += f',"bytes_requested":{count}'
        if ret >= 0:
            more += f',"bytes":{ret}'
        if v.target == ft_file:
            path = fd_name(v.h_pid, v.h_start_ns, fd, tail[: v.path_len], 0, 0, 0)
        elif v.h_flags & untracked:
            path = fd_name(v.h_pid, v.h_start_ns, fd, None, v.dev, v.ino, v.imode)
        else:
            path = None
        if path is IGNORED:
            return None
        frag = events.get((act, ret < 0))
        if frag is None:
            frag = events[act, ret < 0] = event_frag(
                action, CAT_FILE, TYPE_ACCESS if action in read_actions else TYPE_CHANGE,
                "failure" if ret < 0 else "success")
        body = f'"ebpf":{{"syscall":"{action}","ret":{ret}{more}}}'
        if path is not None:
            body += "," + file_text(table, path)
        if ret < 0:
            body += error_text(en, ret)
        return document(v, en, frag, actor(v, en, table).text, body)

    return build


def io_summary_builder(abi: Abi, table: ProcessTable) -> Builder:
    """capture.read_write "first": an fd's totals, sent when it went away (action `close`)."""
    ft_socket, ft_file, untracked = abi.ft_socket, abi.ft_file, abi.ef_fd_untracked
    io_ends = abi.io_ends
    ends = Endpoints(abi)
    fd_name = table.fd_name

    def build(v: IoSummaryEvent, tail: bytes, en: Enricher) -> Document | None:
        own: dict[str, Any] = {"ebpf": {"fd": v.fd, "io": {
            "reads": v.reads, "writes": v.writes, "bytes_read": v.bytes_read,
            "bytes_written": v.bytes_written, "end": io_ends.get(v.end, str(v.end))}}}
        if v.target == ft_socket:
            event = event_frag("close", CAT_NETWORK, TYPE_INFO, "success")
            ends.add_sock(own, v)
        else:
            event = event_frag("close", CAT_FILE, TYPE_INFO, "success")
            # Named like its first read or write, which came before (cached by inode).
            if v.target == ft_file:
                path = fd_name(v.h_pid, v.h_start_ns, v.fd, tail[: v.path_len], 0, 0, 0)
            elif v.h_flags & untracked:
                path = fd_name(v.h_pid, v.h_start_ns, v.fd, None, v.dev, v.ino, v.imode)
            else:
                path = None
            if path is IGNORED:
                return None
            if path is not None:
                own["file"] = file_fields(path)
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def unlink_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions

    def build(v: UnlinkEvent, tail: bytes, en: Enricher) -> Document:
        raw = text(tail[: v.path_len])
        path = table.path_of(v.h_pid, v.dfd, raw)
        event, own = base(v, en, actions[v.h_action], CAT_FILE, TYPE_DELETION)
        own["file"] = file_fields(path)
        eb = own["ebpf"]
        if v.flags:
            eb["flags"] = v.flags
        if path != raw:
            eb["raw_path"] = raw
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def rename_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    truncated = abi.ef_path_truncated | abi.ef_path2_truncated

    def build(v: RenameEvent, tail: bytes, en: Enricher) -> Document:
        olen = v.old_len
        old_raw = text(tail[:olen])
        new_raw = text(tail[olen + 1: olen + 1 + v.new_len])
        pid = v.h_pid
        event, own = base(v, en, actions[v.h_action], CAT_FILE, TYPE_CHANGE)
        f = file_fields(table.path_of(pid, v.olddfd, old_raw))
        f["target_path"] = table.path_of(pid, v.newdfd, new_raw)
        own["file"] = f
        if v.flags:
            own["ebpf"]["flags"] = v.flags
        if v.h_flags & truncated:
            own["ebpf"]["truncated"] = True
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
