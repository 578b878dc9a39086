"""IPC documents: pipe, pipe2 and socketpair, both new fds in one document; data moved between
two fds in the kernel (sendfile64, splice, tee, copy_file_range), both ends in one document;
sendmmsg/recvmmsg, messages and bytes on a socket.

A pipe is named `pipe:[inode]` (as /proc/<pid>/fd shows it) in `file.path`, the name its
reads and writes carry too (the kernel tracks both fds under it), so one query on that path
finds the pipe's creation and all its traffic. A socketpair names its two sockets' inodes
(`ebpf.socket.inode`, `ebpf.socket.peer_inode`), the same fields every later AF_UNIX socket
record carries for the socket it is about and its peer (as `ss -x` shows them).

A move names its ends `ebpf.from` and `ebpf.to` (fd, and the path when the fd names one: a
tracked file, a pipe, an fd opened before we saw it); a socket end is described by the usual
`ebpf.socket`/`network`/`source`/`destination` fields (at most one end of these calls is a
socket). One document per call: the provenance flow it stands for is from -> to, by the
process."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..document import Document
from ..enrich import Enricher
from ..records import FdpairEvent, MmsgEvent, XferEvent
from ..state import IGNORED, Ignored, ProcessTable
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
from .net import SOCK_TYPES, Endpoints

__all__ = ["fdpair_builder", "mmsg_builder", "pipe_flag_bits", "splice_flag_names",
           "xfer_builder"]

TYPE_MOVE = ("access", "change")
"""A move reads its source and writes its destination."""
TYPE_INFO = ("info",)
_SPLICE_FLAGS = (("SPLICE_F_MOVE", 1), ("SPLICE_F_NONBLOCK", 2), ("SPLICE_F_MORE", 4),
                 ("SPLICE_F_GIFT", 8))

TYPE_CREATION = ("creation",)


def _bit_names(flags: int, bits: Iterable[tuple[str, int]]) -> list[str]:
    """Flag bits as names, in the order given; bits without one as a hex number."""
    out = []
    for name, bit in bits:
        if flags & bit:
            out.append(name)
            flags &= ~bit
    if flags:
        out.append(hex(flags))
    return out


def pipe_flag_bits(abi: Abi) -> tuple[tuple[str, int], ...]:
    """pipe2's flags by name, in the order documents list them: open flags by events.h's
    values (the kernel's), and O_NOTIFICATION_PIPE, O_EXCL's bit
    (include/uapi/linux/watch_queue.h)."""
    of = abi.open_flags
    return (("O_CLOEXEC", of["OF_CLOEXEC"]), ("O_NONBLOCK", of["OF_NONBLOCK"]),
            ("O_DIRECT", of["OF_DIRECT"]), ("O_NOTIFICATION_PIPE", of["OF_EXCL"]))


def fdpair_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    families = abi.families
    pipe_bits = pipe_flag_bits(abi)

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
                eb["flags"] = _bit_names(v.flags, pipe_bits)  # bits without a name in hex
            if v.ino0:
                own["file"] = file_fields(f"pipe:[{v.ino0}]")
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def splice_flag_names(flags: int) -> list[str]:
    """splice/tee flags as names (copy_file_range has none defined); other bits as hex."""
    return _bit_names(flags, _SPLICE_FLAGS)


def xfer_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    ft_file, ft_socket = abi.ft_file, abi.ft_socket
    ends = Endpoints(abi)
    fd_name = table.fd_name

    def build(v: XferEvent, tail: bytes, en: Enricher) -> Document | None:
        action = actions[v.h_action]
        event, own = base(v, en, action, CAT_FILE, TYPE_MOVE)
        eb: dict[str, Any] = own["ebpf"]
        pid = v.h_pid
        if v.count_:
            eb["bytes_requested"] = v.count_
        if v.h_ret >= 0:
            eb["bytes"] = v.h_ret
        if v.flags:
            eb["flags"] = splice_flag_names(v.flags)
        src_path = tail[: v.src_path_len]
        off = v.src_path_len + 1
        dst_path = tail[off: off + v.dst_path_len]
        ignored = 0
        for key, fd, target, path_b, dev, ino, imode in (
                ("from", v.src_fd, v.src_target, src_path, v.src_dev, v.src_ino, v.src_imode),
                ("to", v.dst_fd, v.dst_target, dst_path, v.dst_dev, v.dst_ino, v.dst_imode)):
            end: dict[str, Any] = {"fd": fd}
            name: str | Ignored | None = None
            if target == ft_file:
                name = fd_name(pid, v.h_start_ns, fd, path_b, 0, 0, 0)
            elif target != ft_socket and ino:
                name = fd_name(pid, v.h_start_ns, fd, None, dev, ino, imode)
            if name is IGNORED:
                ignored += 1
            elif name is not None:
                end["path"] = name
            eb[key] = end
        if ignored == 2:
            return None
        if v.src_target == ft_socket:
            ends.add(own, v.src_sock_family, v.src_sock_type, v.src_sock_protocol,
                     (v.src_sock_laddr, v.src_sock_lport), (v.src_sock_raddr, v.src_sock_rport),
                     remote_is_source=True)
        elif v.dst_target == ft_socket:
            ends.add(own, v.dst_sock_family, v.dst_sock_type, v.dst_sock_protocol,
                     (v.dst_sock_laddr, v.dst_sock_lport), (v.dst_sock_raddr, v.dst_sock_rport))
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def mmsg_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    ft_socket = abi.ft_socket
    ends = Endpoints(abi)

    def build(v: MmsgEvent, tail: bytes, en: Enricher) -> Document:
        action = actions[v.h_action]
        event, own = base(v, en, action, CAT_NETWORK, TYPE_INFO)
        if v.target == ft_socket:
            ends.add_sock(own, v, remote_is_source=action == "recvmmsg")
        eb: dict[str, Any] = own["ebpf"]
        eb["fd"] = v.fd
        eb["messages_offered"] = v.vlen
        if v.h_ret >= 0:
            eb["messages"] = v.h_ret
            eb["bytes"] = v.bytes_done
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
