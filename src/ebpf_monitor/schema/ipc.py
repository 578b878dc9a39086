"""IPC documents: pipe, pipe2 and socketpair, both new fds in one document.

A pipe is named `pipe:[inode]` (as /proc/<pid>/fd shows it) in `file.path`, the name its
reads and writes carry too (the kernel tracks both fds under it), so one query on that path
finds the pipe's creation and all its traffic. A socketpair names its two sockets' inodes
(`ebpf.socket.inode`, `ebpf.socket.peer_inode`), the same fields every later AF_UNIX socket
record carries for the socket it is about and its peer (as `ss -x` shows them)."""

from __future__ import annotations

import os
from typing import Any

from ..document import Document
from ..enrich import Enricher
from ..records import FdpairEvent
from ..state import ProcessTable
from ._common import (
    CAT_FILE,
    CAT_NETWORK,
    TYPE_CONNECTION_START,
    Abi,
    Builder,
    actor,
    base,
    document,
    members,
)
from .file import file_fields
from .net import SOCK_TYPES

__all__ = ["fdpair_builder", "pipe_flag_names"]

TYPE_CREATION = ("creation",)
_PIPE_FLAGS = [(name, getattr(os, name)) for name in ("O_CLOEXEC", "O_NONBLOCK", "O_DIRECT")
               if hasattr(os, name)]
_O_NOTIFICATION_PIPE = os.O_EXCL
"""pipe2's O_NOTIFICATION_PIPE is O_EXCL's bit (include/uapi/linux/watch_queue.h)."""


def pipe_flag_names(flags: int) -> list[str]:
    """pipe2 flags as names; bits without one as a hex number."""
    out = []
    for name, bit in _PIPE_FLAGS:
        if flags & bit:
            out.append(name)
            flags &= ~bit
    if flags & _O_NOTIFICATION_PIPE:
        out.append("O_NOTIFICATION_PIPE")
        flags &= ~_O_NOTIFICATION_PIPE
    if flags:
        out.append(hex(flags))
    return out


def fdpair_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    families = abi.families

    def build(v: FdpairEvent, tail: bytes, en: Enricher) -> Document:
        action = actions[v.h_action]
        pair = action == "socketpair"
        event, own = base(v, en, action, CAT_NETWORK if pair else CAT_FILE,
                          TYPE_CONNECTION_START if pair else TYPE_CREATION)
        eb: dict[str, Any] = own["ebpf"]
        if v.fd0 >= 0:
            eb["fd"] = v.fd0
            eb["peer_fd"] = v.fd1
        if pair:
            sock: dict[str, Any] = {"family": families.get(v.family, str(v.family))}
            stype = v.type & 0xF  # SOCK_NONBLOCK / SOCK_CLOEXEC live in the high bits
            if stype:
                sock["type"] = SOCK_TYPES.get(stype, str(stype))
            if v.protocol:
                sock["protocol"] = v.protocol
            if v.ino0:
                sock["inode"] = v.ino0
                sock["peer_inode"] = v.ino1
            eb["socket"] = sock
        else:
            if v.flags:
                eb["flags"] = pipe_flag_names(v.flags)
            if v.ino0:
                own["file"] = file_fields(f"pipe:[{v.ino0}]")
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
