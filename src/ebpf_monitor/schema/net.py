"""Network documents: socket, connect/bind/listen/accept; the endpoints of any socket record."""

from __future__ import annotations

import socket
from typing import Any

from ..document import Document
from ..enrich import Enricher, text
from ..records import (
    IoSummaryEvent,
    MmsgEvent,
    NetEvent,
    RwEvent,
    SocketEvent,
    UnixNetEvent,
    UringEvent,
)
from ..state import ProcessTable
from ._common import (
    CAT_NETWORK,
    TYPE_CONNECTION_START,
    TYPE_INFO,
    Abi,
    Builder,
    actor,
    base,
    document,
    members,
)

__all__ = ["Endpoints", "net_builder", "socket_builder", "sun_path"]

SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
TRANSPORTS = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 132: "sctp", 262: "mptcp"}
IANA = {262: 6}
"""Linux-internal protocol numbers and the IANA number they stand for: IPPROTO_MPTCP (262) is
MPTCP, whose packets are TCP's (6). ebpf.socket.protocol keeps the raw number."""
_EINPROGRESS = 115


class Endpoints:
    """source/destination/network and `ebpf.socket` of a socket's ends; the address families
    by events.h's enum addr_family."""

    def __init__(self, abi: Abi) -> None:
        self.names = abi.families
        self.inet, self.inet6 = abi.fam_inet, abi.fam_inet6
        self.unix = abi.fam_unix

    def _ip(self, family: int, raw: bytes) -> str | None:
        """The address of one end, None when unset (all zero): an IPv4 address is the first 4
        of the 16 bytes, and only those are read."""
        if family == self.inet:
            raw = raw[:4]
            return socket.inet_ntop(socket.AF_INET, raw) if any(raw) else None
        if family == self.inet6:
            return socket.inet_ntop(socket.AF_INET6, raw) if any(raw) else None
        return None

    def add(self, own: dict[str, Any], family: int, stype: int, proto: int,
            local: tuple[bytes, int], remote: tuple[bytes, int], *,
            remote_is_source: bool = False) -> None:
        """Source is the local end unless the peer initiated (accept)."""
        sock: dict[str, Any] = {"family": self.names.get(family, str(family))}
        if stype:
            sock["type"] = SOCK_TYPES.get(stype, str(stype))
        if proto:
            sock["protocol"] = proto
        own["ebpf"]["socket"] = sock
        if family != self.inet and family != self.inet6:
            if family == self.unix:
                # fill_sock: the socket's inode and its peer's, as `ss -x` shows them
                ino = int.from_bytes(local[0][:8], "little")
                peer = int.from_bytes(remote[0][:8], "little")
                if ino:
                    sock["inode"] = ino
                if peer:
                    sock["peer_inode"] = peer
            return
        net: dict[str, Any] = {"type": "ipv4" if family == self.inet else "ipv6"}
        transport = TRANSPORTS.get(proto)
        if transport is None and stype == 1:
            transport = "tcp"
        elif transport is None and stype == 2:
            transport = "udp"
        if transport:
            net["transport"] = transport
            if proto:
                net["iana_number"] = str(IANA.get(proto, proto))
        own["network"] = net
        ends = []
        for raw, port in (local, remote):
            end: dict[str, Any] = {}
            ip = self._ip(family, raw)
            if ip is not None:
                end["ip"] = ip
            if port:
                end["port"] = port
            ends.append(end)
        src, dst = (ends[1], ends[0]) if remote_is_source else (ends[0], ends[1])
        if src:
            own["source"] = src
        if dst:
            own["destination"] = dst

    def add_sock(self, own: dict[str, Any],
                 v: RwEvent | IoSummaryEvent | NetEvent | UnixNetEvent | MmsgEvent | UringEvent,
                 *,
                 remote_is_source: bool = False) -> None:
        """`add` of a record's `struct sock_info`."""
        self.add(own, v.sock_family, v.sock_type, v.sock_protocol,
                 (v.sock_laddr, v.sock_lport), (v.sock_raddr, v.sock_rport),
                 remote_is_source=remote_is_source)


def sun_path(raw: bytes) -> str:
    """A Unix socket's sun_path as `ss` shows it: a path up to its NUL, or an abstract name
    (leading NUL) as `@name`, its other NULs as `@` too."""
    if raw[:1] == b"\0":
        return "@" + text(raw[1:].replace(b"\0", b"@"))
    return text(raw.split(b"\0", 1)[0])


def socket_builder(abi: Abi, table: ProcessTable) -> Builder:
    ends = Endpoints(abi)

    def build(v: SocketEvent, tail: bytes, en: Enricher) -> Document:
        event, own = base(v, en, "socket", CAT_NETWORK, TYPE_INFO)
        stype = v.type & 0xF  # SOCK_NONBLOCK / SOCK_CLOEXEC live in the high bits
        ends.add(own, v.family, stype, v.protocol, (b"", 0), (b"", 0))
        if v.h_ret >= 0:
            own["ebpf"]["fd"] = v.h_ret
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build


def net_builder(abi: Abi, table: ProcessTable) -> Builder:
    actions = abi.actions
    ends = Endpoints(abi)

    def build(v: NetEvent | UnixNetEvent, tail: bytes, en: Enricher) -> Document:
        action = actions[v.h_action]
        ret = v.h_ret
        outcome = None
        if action == "connect" and ret == -_EINPROGRESS:
            outcome = "unknown"  # non-blocking connect: the result comes later
        accept = action in ("accept", "accept4")
        etype = TYPE_CONNECTION_START if accept or action == "connect" else TYPE_INFO
        event, own = base(v, en, action, CAT_NETWORK, etype, outcome)
        ends.add_sock(own, v, remote_is_source=accept)
        eb = own["ebpf"]
        if v.fd >= 0:
            eb["fd"] = v.fd
        if action == "listen":
            eb["backlog"] = v.backlog
        if type(v) is UnixNetEvent and v.path_len:
            eb["socket"]["path"] = sun_path(tail[: v.path_len])
        return document(v, en, event, actor(v, en, table).text, members(own))

    return build
