"""io_uring documents: io_uring_setup, and each operation submitted through a ring.

Operations submitted through io_uring never pass the syscall tracepoints of the calls they
stand for, so the kernel records each one from its submission (opcode, fd, what the fd names,
openat's path) to its completion (the result) in one record. Where the operation is one the
monitor records as a syscall, the document takes that syscall's action and fields (a READ is a
`read`: `file.path`, `ebpf.fd`, `ebpf.bytes`; an OPENAT an `openat`: the path, the new fd), with
`ebpf.io_uring` saying it came through a ring (`opcode`, `user_data`, `fixed_file`, `sq_thread`).
Any other operation is an `io_uring` document of its own, with its fd and result. The time of an
operation's document is its submission (the submitter's identity), its result the completion's.
"""

from __future__ import annotations

from typing import Any

from ..document import Document
from ..enrich import Enricher, text
from ..records import UringEvent
from ..state import IGNORED, Ignored, ProcessTable
from ._common import (
    CAT_FILE,
    CAT_NETWORK,
    CAT_PROCESS,
    TYPE_ACCESS,
    TYPE_CHANGE,
    TYPE_CONNECTION_START,
    TYPE_INFO,
    Abi,
    Builder,
    actor,
    base,
    document,
    members,
)
from .file import file_fields
from .net import Endpoints

__all__ = ["OPCODES", "SETUP_FLAGS", "uring_builder"]

OPCODES = (
    "NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
    "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT",
    "ASYNC_CANCEL", "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE",
    "STATX", "READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL",
    "SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT",
    "MKDIRAT", "SYMLINKAT", "LINKAT", "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR",
    "GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC", "SENDMSG_ZC", "READ_MULTISHOT", "WAITID",
    "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV", "FIXED_FD_INSTALL", "FTRUNCATE", "BIND",
    "LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED", "WRITEV_FIXED", "PIPE")
"""enum io_uring_op (include/uapi/linux/io_uring.h: fixed numbers, appended to), by number."""

SETUP_FLAGS = (
    "IOPOLL", "SQPOLL", "SQ_AFF", "CQSIZE", "CLAMP", "ATTACH_WQ", "R_DISABLED", "SUBMIT_ALL",
    "COOP_TASKRUN", "TASKRUN_FLAG", "SQE128", "CQE32", "SINGLE_ISSUER", "DEFER_TASKRUN",
    "NO_MMAP", "REGISTERED_FD_ONLY", "NO_SQARRAY", "HYBRID_IOPOLL")
"""IORING_SETUP_* by bit."""

_AS_SYSCALL = {"READ": "read", "READV": "readv", "READ_FIXED": "read", "WRITE": "write",
               "WRITEV": "writev", "WRITE_FIXED": "write", "OPENAT": "openat",
               "OPENAT2": "openat2", "CONNECT": "connect", "SEND": "sendto",
               "SENDMSG": "sendmsg", "RECV": "recvfrom", "RECVMSG": "recvmsg",
               "ACCEPT": "accept4"}
"""Operations shown as the syscall they do the work of."""


def setup_flag_names(flags: int) -> list[str]:
    out = [f"IORING_SETUP_{name}" for i, name in enumerate(SETUP_FLAGS) if flags & (1 << i)]
    rest = flags & ~((1 << len(SETUP_FLAGS)) - 1)
    if rest:
        out.append(hex(rest))
    return out


def uring_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    ft_file, ft_socket = abi.ft_file, abi.ft_socket
    reads, io = abi.read_actions, abi.read_actions | abi.write_actions
    flags = {k: v for k, v in abi.uring_flags.items()}
    ends = Endpoints(abi)
    fd_name = table.fd_name

    def build(v: UringEvent, tail: bytes, en: Enricher) -> Document | None:
        pid = v.h_pid
        if actions[v.h_action] == "io_uring_setup":
            event, own = base(v, en, "io_uring_setup", CAT_PROCESS, TYPE_INFO)
            eb: dict[str, Any] = own["ebpf"]
            if v.h_ret >= 0:
                eb["fd"] = v.h_ret
            ring: dict[str, Any] = {"entries": v.entries}
            if v.flags:
                ring["setup_flags"] = setup_flag_names(v.flags)
            eb["io_uring"] = ring
            return document(v, en, event, actor(v, en, table).text, members(own))
        op = OPCODES[v.opcode] if v.opcode < len(OPCODES) else f"OP_{v.opcode}"
        action = _AS_SYSCALL.get(op, "io_uring")
        ring = {"opcode": op, "user_data": v.user_data}
        if v.flags & flags["EU_FIXED_FILE"]:
            ring["fixed_file"] = True
        if v.flags & flags["EU_SQ_THREAD"]:
            ring["sq_thread"] = True
        ret = v.h_ret
        path: str | Ignored | None = None
        if action in ("openat", "openat2"):
            raw = text(tail[: v.path_len])
            path = raw if raw[:1] == "/" else table.path_of(pid, v.fd, raw)
        elif v.target == ft_file:
            path = fd_name(pid, v.h_start_ns, v.fd, tail[: v.path_len], 0, 0, 0)
        elif v.target != ft_socket and v.ino:
            path = fd_name(pid, v.h_start_ns, v.fd, None, v.dev, v.ino, v.imode)
        if path is IGNORED:
            return None
        if v.target == ft_socket or action in ("connect", "accept4"):
            category = CAT_NETWORK
            etype = TYPE_CONNECTION_START if action in ("connect", "accept4") else TYPE_INFO
        else:
            category = CAT_FILE
            etype = TYPE_ACCESS if action in reads or action.startswith("open") else (
                TYPE_CHANGE if action != "io_uring" else TYPE_INFO)
        event, own = base(v, en, action, category, etype)
        eb = own["ebpf"]
        if action in ("openat", "openat2"):
            if ret >= 0:
                eb["fd"] = ret
        elif not (v.flags & flags["EU_FIXED_FILE"]):
            if v.fd >= 0:  # -1: an operation on no fd (NOP, TIMEOUT, ...)
                eb["fd"] = v.fd
        else:
            ring["fixed_file_index"] = v.fd
        if ret >= 0 and action in io:
            eb["bytes"] = ret
        eb["io_uring"] = ring
        if path is not None:
            own["file"] = file_fields(path)
        if v.target == ft_socket or v.flags & flags["EU_ADDR"]:
            ends.add_sock(own, v, remote_is_source=action == "accept4")
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
