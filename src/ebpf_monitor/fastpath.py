"""The reader's per-event loop in C (_fastcore.c) for the kinds that come by the hundred thousand.

Opens, reads/writes on files, socket(2) and connect/accept are nearly all of a busy host's
events. For them, this module writes the document as a small program of ops (`_Program`) with
byte offsets from the object's BTF, and hands _fastcore the functions that make each fragment
the first time it is needed: the same schema.py helpers the builders use, so the text is the
same, byte for byte (unit tests render recorded batches of every kind both ways, and fuzz it).
The C walks a batch, copies numbers and cached fragments, and hands any other record (exec,
fork, exit, unlink, rename, io summaries, socket reads/writes, relative paths, a maker that
declines or raises) to the `fallback`: today's builder, in place, so documents keep ring order.

Without the compiled extension (no C compiler at install time) the Decoder runs the Python
builders alone, and says so once in the log.

What this module uses of schema.py, enrich.py and decode.py (re-point these when they move):
  schema: the _bind_abi() globals ACTION, RET, ACTIONS, EF_PATH_TRUNCATED, EF_FD_UNTRACKED,
          FT_FILE, FT_SOCKET; CAT_FILE, CAT_NETWORK, TYPE_ACCESS, TYPE_CHANGE, TYPE_INFO,
          TYPE_CONNECTION_START, _READ_ACTIONS, IGNORED; the fragment helpers
          _actor(v, en).text, _event_frag, _file_text, _flags_text, _error_text, _endpoints,
          _ip; _FdFields(ix, prefixes).path (a read/write's file name) and _SockFields.
  enrich: text(), Enricher.offset_ns and .id_prefix; Enricher.timestamp's per-second text is
          rebuilt here (`_second`).
  decode: Decoder.record (one record through today's builder, counted) and .by_kind.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from . import schema
from .abi import Layout, enum_values, layout
from .enrich import Enricher, text
from .ringbuf import Batch

if TYPE_CHECKING:
    from .decode import Decoder

__all__ = ["FastPath", "load"]

log = logging.getLogger(__name__)

# Ops of _fastcore.c (enum op): the same numbers.
LIT, DEC, HEX, TS, KEY, KEY_PATH, KEY_NEG, FRAG, SKIP_NEG, SKIP_NONNEG, SKIP_NOBITS, SKIP_NE, \
    SKIP_EQ, FALLBACK, NEED, KEY_EQ = range(16)
_SIGNED = 0x100

_SIZES = {"B": 1, "b": 1, "H": 2, "h": 2, "I": 4, "i": 4, "Q": 8, "q": 8}


def _fields(lay: Layout) -> dict[str, tuple[int, int]]:
    """name -> (offset, width | _SIGNED) of a layout's integer fields, from its struct format
    (itself made from BTF by abi.py)."""
    out: dict[str, tuple[int, int]] = {}
    names = iter(lay.fields)
    pos, num = 0, ""
    for ch in lay.struct.format.lstrip("<"):
        if ch.isdigit():
            num += ch
            continue
        count, num = int(num or 1), ""
        if ch == "x":
            pos += count
        elif ch == "s":
            out[next(names)] = (pos, count)
            pos += count
        else:
            for _ in range(count):
                size = _SIZES[ch]
                out[next(names)] = (pos, size | (_SIGNED if ch.islower() else 0))
                pos += size
    return out


class _Program:
    """One record kind's document as ops for _fastcore, written with field names."""

    def __init__(self, lay: Layout, lits: list[bytes]) -> None:
        self.f = _fields(lay)
        self.tail = lay.tail_offset
        self.lits = lits
        # Shorter than its fixed part: Python reports it (decode's "shorter than its layout").
        self.ops: list[tuple[int, int, int, int]] = [(NEED, lay.tail_offset, 0, 0)]

    def lit(self, s: str) -> int:
        self.lits.append(s.encode())
        self.ops.append((LIT, len(self.lits) - 1, 0, 0))
        return len(self.lits) - 1

    def num(self, op: int, name: str) -> None:
        self.ops.append((op, *self.f[name], 0))

    def key(self, *names: str) -> None:
        for n in names:
            off, spec = self.f[n]
            self.ops.append((KEY, off, spec & 0xFF, 0))

    def key_neg(self, name: str) -> None:
        self.ops.append((KEY_NEG, *self.f[name], 0))

    def key_eq(self, name: str, value: int) -> None:
        self.ops.append((KEY_EQ, *self.f[name], value))

    def key_path(self, len_field: str, *, absolute: bool) -> None:
        self.ops.append((KEY_PATH, self.tail, self.f[len_field][0], int(absolute)))

    def frag(self, cache: int) -> None:
        self.ops.append((FRAG, cache, 0, 0))

    def skip(self, op: int, name: str, value: int = 0) -> Callable[[], None]:
        """Skip what comes next when the field's test holds (see _fastcore.c's enum op); call
        the returned function where the skipped ops end."""
        off, spec = self.f[name]
        at = len(self.ops)
        self.ops.append((op, off, spec, value))

        def here() -> None:
            self.ops[at] = (op, off, spec | (len(self.ops) - at - 1) << 16, value)

        return here

    def raw(self, op: int, a: int = 0, b: int = 0, c: int = 0) -> None:
        self.ops.append((op, a, b, c))

    def bytes(self) -> bytes:
        return b"".join(struct.pack("<4i", *q) for q in self.ops)


_Maker = Callable[[bytes, int, int], "str | None"]


def _unpacked(lay: Layout, make: Callable[[tuple[Any, ...], bytes], str | None]) -> _Maker:
    """A maker over the record unpacked as the builders see it: (fixed fields, tail)."""
    st, tail = lay.struct, lay.tail_offset

    def made(data: bytes, off: int, length: int) -> str | None:
        return make(st.unpack_from(data, off), data[off + tail: off + length])

    return made


def _outcome(v: tuple[Any, ...]) -> str:
    return "failure" if v[schema.RET] < 0 else "success"


_EINPROGRESS = 115
_dumps = orjson.dumps


def _socket_text(own: dict[str, Any]) -> str:
    """`,"socket":{...}` of ebpf, from schema._endpoints' output."""
    return ',"socket":' + _dumps(own["ebpf"]["socket"]).decode()


def _network_text(own: dict[str, Any]) -> str:
    """`,"network":{...}`, or nothing for a family without addresses."""
    return ',"network":' + _dumps(own["network"]).decode() if "network" in own else ""


def _end_text(role: str, family: int, raw: bytes, port: int) -> str | None:
    """The start of `source` or `destination` (schema._endpoints): `,"source":{"ip":"..."`
    then `,"port":` when there is a port (the program copies it and closes the brace), or `}`;
    nothing for an end with neither. None (Python decides) for a port without an address
    family that has ports."""
    if family not in (2, 10):
        return "" if not port else None
    ip = schema._ip(family, raw) if any(raw) else None
    if ip is None and not port:
        return ""
    out = f',"{role}":{{'
    if ip is not None:
        out += '"ip":' + _dumps(ip).decode()
    if port:
        return out + ("," if ip is not None else "") + '"port":'
    return out + "}"


class FastPath:
    """Renders batches through _fastcore, with `decoder` (today's builders) as the fallback."""

    def __init__(self, core_type: Any, decoder: Decoder, enricher: Enricher,
                 ignored_prefixes: tuple[str, ...]) -> None:
        self.dec = decoder
        self.en = enricher
        kinds = enum_values("event_kind")
        self.actions = enum_values("event_action")
        self.k_exec = kinds["EK_EXEC"]
        self.lits: list[bytes] = []
        self.id_lits: list[int] = []
        self.id_prefix = ""
        self.makers: list[_Maker] = []
        self.slots: list[int] = []
        hdr = layout("event_header")
        en = enricher
        # Shared by every kind: the actor (schema._actor), the syscall's name, the error.
        self.c_actor = self._cache(_unpacked(hdr, lambda v, t: schema._actor(v, en).text), 8192)
        self.c_action = self._cache(_unpacked(hdr, lambda v, t: schema.ACTIONS[v[schema.ACTION]]))
        self.c_error = self._cache(_unpacked(
            hdr, lambda v, t: schema._error_text(en, v[schema.RET])), 256)
        programs = {
            kinds["EK_OPEN"]: self._open(layout("open_event")),
            kinds["EK_RW"]: self._rw(layout("rw_event"), ignored_prefixes),
            kinds["EK_SOCKET"]: self._socket(layout("socket_event")),
            kinds["EK_NET"]: self._net(layout("net_event")),
        }
        self.core = core_type(programs, self.lits, self.makers, self.slots, self._second)
        self.made = 0
        """Documents rendered in C so far (the rest went through the builders)."""

    def _cache(self, maker: _Maker, slots: int = 64) -> int:
        """A fragment cache in the core, filled by `maker`; its index for OP_FRAG."""
        self.makers.append(maker)
        self.slots.append(slots)
        return len(self.makers) - 1

    @staticmethod
    def _second(sec: int) -> str:
        """Enricher.timestamp's date-time part of one second."""
        return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec))

    # ---- the documents, as programs (schema._document and the builders) --------------------

    def _head(self, p: _Program, event_cache: int, *, einprogress: bool = False) -> None:
        """`{"@timestamp":...,"event":{...},<actor>,` (schema._document's head); the `event`
        part by action and outcome (and, for connect, EINPROGRESS)."""
        p.lit('{"@timestamp":"')
        p.raw(TS, p.f["h_ktime_ns"][0])
        self.id_lits.append(p.lit(""))  # 'Z","event":{"id":"<id prefix>-', set per batch
        p.num(HEX, "h_ktime_ns")
        p.lit("-")
        p.num(HEX, "h_tid")
        p.lit('",')
        p.key("h_action")
        p.key_neg("h_ret")
        if einprogress:
            p.key_eq("h_ret", -_EINPROGRESS)
        p.frag(event_cache)
        p.lit("},")
        p.key("h_pid", "h_tid", "h_ppid", "h_uid", "h_gid", "h_euid", "h_start_ns", "h_comm")
        p.frag(self.c_actor)
        p.lit(",")

    def _ebpf(self, p: _Program, syscall: str | None = None) -> None:
        """`"ebpf":{`, the `pid_ns` of a process in a PID namespace (_with_pid_ns), the syscall
        (its action's name, or `syscall`) and its return value."""
        p.lit('"ebpf":{')
        end = p.skip(SKIP_NOBITS, "h_pidns", -1)
        p.lit('"pid_ns":{"pid":')
        p.num(DEC, "h_ns_pid")
        p.lit(',"tid":')
        p.num(DEC, "h_ns_tid")
        p.lit(',"ppid":')
        p.num(DEC, "h_ns_ppid")
        p.lit(',"inode":')
        p.num(DEC, "h_pidns")
        p.lit("},")
        end()
        if syscall is None:
            p.lit('"syscall":"')
            p.key("h_action")
            p.frag(self.c_action)
            p.lit('","ret":')
        else:
            p.lit(f'"syscall":"{syscall}","ret":')
        p.num(DEC, "h_ret")

    def _error(self, p: _Program) -> None:
        """`,"error":{...}` of a failed syscall."""
        end = p.skip(SKIP_NONNEG, "h_ret")
        p.key("h_ret")
        p.frag(self.c_error)
        end()

    def _open(self, lay: Layout) -> bytes:
        """An open of an absolute path (schema._open_builder); relative ones: Python."""
        flags_i = lay.fields.index("flags")
        plen_i = lay.fields.index("path_len")
        en = self.en
        c_event = self._cache(_unpacked(lay, lambda v, t: schema._event_frag(
            schema.ACTIONS[v[schema.ACTION]], schema.CAT_FILE, schema.TYPE_ACCESS,
            _outcome(v))))
        c_file = self._cache(_unpacked(
            lay, lambda v, t: schema._file_text(en, text(t[: v[plen_i]]))), 8192)
        c_flags = self._cache(_unpacked(lay, lambda v, t: schema._flags_text(v[flags_i])), 256)
        p = _Program(lay, self.lits)
        self._head(p, c_event)
        p.key_path("path_len", absolute=True)
        p.frag(c_file)
        p.lit(",")
        self._ebpf(p)
        p.lit(',"flags":')
        p.key("flags")
        p.frag(c_flags)
        end = p.skip(SKIP_NOBITS, "flags", os.O_CREAT)
        p.lit(',"mode":')
        p.num(DEC, "mode")
        end()
        end = p.skip(SKIP_NEG, "h_ret")
        p.lit(',"fd":')
        p.num(DEC, "h_ret")
        end()
        end = p.skip(SKIP_NOBITS, "h_flags", schema.EF_PATH_TRUNCATED)
        p.lit(',"truncated":true')
        end()
        p.lit("}")
        self._error(p)
        p.lit("}")
        return p.bytes()

    def _rw(self, lay: Layout, ignored_prefixes: tuple[str, ...]) -> bytes:
        """A read or write of a file (schema._rw_builder's file branch): by its absolute path,
        or an fd the kernel did not see opened (named from /proc or its inode). Sockets and
        relative paths: Python."""
        en = self.en
        # The builders' prefix form of the filter (schema.builders escapes it the same way).
        fds = schema._FdFields({n: i for i, n in enumerate(lay.fields)},
                               tuple(text(p.encode()) for p in ignored_prefixes))

        def event(v: tuple[Any, ...], tail: bytes) -> str:
            action = schema.ACTIONS[v[schema.ACTION]]
            etype = schema.TYPE_ACCESS if action in schema._READ_ACTIONS else schema.TYPE_CHANGE
            return schema._event_frag(action, schema.CAT_FILE, etype, _outcome(v))

        def file(v: tuple[Any, ...], tail: bytes) -> str | None:
            path = fds.path(v, tail, en)
            if path is schema.IGNORED:
                return None  # filtered: the builder returns None, counted there
            return "" if path is None else "," + schema._file_text(en, path)

        c_event = self._cache(_unpacked(lay, event))
        c_file = self._cache(_unpacked(lay, file), 8192)
        c_fd_name = self._cache(_unpacked(lay, file), 4096)
        p = _Program(lay, self.lits)
        end = p.skip(SKIP_NE, "target", schema.FT_SOCKET)
        p.raw(FALLBACK)
        end()
        self._head(p, c_event)
        self._ebpf(p)
        p.lit(',"fd":')
        p.num(DEC, "fd")
        end = p.skip(SKIP_NOBITS, "count", -1)
        p.lit(',"bytes_requested":')
        p.num(DEC, "count")
        end()
        end = p.skip(SKIP_NEG, "h_ret")
        p.lit(',"bytes":')
        p.num(DEC, "h_ret")
        end()
        p.lit("}")
        # The file (`,"file":{...}` or nothing): by path, or by fd and inode when untracked.
        end = p.skip(SKIP_NE, "target", schema.FT_FILE)
        p.key_path("path_len", absolute=True)
        p.frag(c_file)
        end()
        end_other = p.skip(SKIP_EQ, "target", schema.FT_FILE)
        end = p.skip(SKIP_NOBITS, "h_flags", schema.EF_FD_UNTRACKED)
        p.key("h_pid", "fd", "dev", "ino", "imode")
        p.frag(c_fd_name)
        end()
        end_other()
        self._error(p)
        p.lit("}")
        return p.bytes()

    def _socket(self, lay: Layout) -> bytes:
        """socket(2) (schema._socket_builder)."""
        fam_i, type_i, proto_i = (lay.fields.index(n) for n in ("family", "type", "protocol"))

        def own(v: tuple[Any, ...]) -> dict[str, Any]:
            out: dict[str, Any] = {"ebpf": {}}
            schema._endpoints(out, v[fam_i], v[type_i] & 0xF, v[proto_i], (b"", 0), (b"", 0))
            return out

        c_event = self._cache(_unpacked(lay, lambda v, t: schema._event_frag(
            "socket", schema.CAT_NETWORK, schema.TYPE_INFO, _outcome(v))))
        c_sock = self._cache(_unpacked(lay, lambda v, t: _socket_text(own(v))), 256)
        c_net = self._cache(_unpacked(lay, lambda v, t: _network_text(own(v))), 256)
        p = _Program(lay, self.lits)
        self._head(p, c_event)
        self._ebpf(p, "socket")
        p.key("family", "type", "protocol")
        p.frag(c_sock)
        end = p.skip(SKIP_NEG, "h_ret")
        p.lit(',"fd":')
        p.num(DEC, "h_ret")
        end()
        p.lit("}")
        self._error(p)
        p.key("family", "type", "protocol")
        p.frag(c_net)
        p.lit("}")
        return p.bytes()

    def _net(self, lay: Layout) -> bytes:
        """connect, accept, bind, listen (schema._net_builder): the socket's ends by address
        (cached) and port (copied)."""
        ix = {n: i for i, n in enumerate(lay.fields)}
        sock = schema._SockFields(ix)

        def event(v: tuple[Any, ...], tail: bytes) -> str:
            action = schema.ACTIONS[v[schema.ACTION]]
            ret = v[schema.RET]
            outcome = _outcome(v)
            if action == "connect" and ret == -_EINPROGRESS:
                outcome = "unknown"
            connection = action in ("accept", "accept4", "connect")
            return schema._event_frag(action, schema.CAT_NETWORK, schema.TYPE_CONNECTION_START
                                      if connection else schema.TYPE_INFO, outcome)

        def own(v: tuple[Any, ...]) -> dict[str, Any]:
            out: dict[str, Any] = {"ebpf": {}}
            schema._endpoints(out, v[sock.family], v[sock.type], v[sock.protocol],
                              (b"", 0), (b"", 0))
            return out

        def end_maker(role: str, addr: str, port: str) -> _Maker:
            addr_i, port_i = ix[addr], ix[port]

            def make(v: tuple[Any, ...], tail: bytes) -> str | None:
                return _end_text(role, v[sock.family], v[addr_i], v[port_i])

            return _unpacked(lay, make)

        c_event = self._cache(_unpacked(lay, event))
        c_sock = self._cache(_unpacked(lay, lambda v, t: _socket_text(own(v))), 256)
        c_net = self._cache(_unpacked(lay, lambda v, t: _network_text(own(v))), 256)
        p = _Program(lay, self.lits)
        self._head(p, c_event, einprogress=True)
        self._ebpf(p)
        p.key("sock_family", "sock_type", "sock_protocol")
        p.frag(c_sock)
        end = p.skip(SKIP_NEG, "fd")
        p.lit(',"fd":')
        p.num(DEC, "fd")
        end()
        end = p.skip(SKIP_NE, "h_action", self.actions["EA_LISTEN"])
        p.lit(',"backlog":')
        p.num(DEC, "backlog")
        end()
        p.lit("}")
        self._error(p)
        p.key("sock_family", "sock_type", "sock_protocol")
        p.frag(c_net)

        def ends(first: tuple[str, str], second: tuple[str, str]) -> None:
            for role, (addr, port) in (("source", first), ("destination", second)):
                p.key("sock_family")
                # An IPv4 address is its first 4 bytes; the rest only counts as "any byte
                # set" (the builder's test for an address), and is not always zero.
                at = p.f[addr][0]
                v6 = p.skip(SKIP_NE, "sock_family", socket.AF_INET)
                p.raw(KEY, at, 4)
                p.raw(KEY_EQ, at + 4, 8, 0)
                p.raw(KEY_EQ, at + 12, 4, 0)
                v4_done = p.skip(SKIP_NOBITS, "h_kind", 0)  # always
                v6()
                p.key(addr)
                v4_done()
                p.key_eq(port, 0)
                p.frag(self._cache(end_maker(role, addr, port), 1024))
                end = p.skip(SKIP_NOBITS, port, -1)
                p.num(DEC, port)
                p.lit("}")
                end()

        local, remote = ("sock_laddr", "sock_lport"), ("sock_raddr", "sock_rport")
        # The peer initiated an accept: the remote end is the source.
        to_accept = [p.skip(SKIP_EQ, "h_action", self.actions[a])
                     for a in ("EA_ACCEPT", "EA_ACCEPT4")]
        ends(local, remote)
        over = p.skip(SKIP_NOBITS, "h_kind", 0)  # always
        for here in to_accept:
            here()
        ends(remote, local)
        over()
        p.lit("}")
        return p.bytes()

    # ---- one batch ----------------------------------------------------------------------------

    def decode(self, batch: Batch) -> list[str]:
        en = self.en
        if en.id_prefix != self.id_prefix:
            self.id_prefix = en.id_prefix
            for i in self.id_lits:
                self.lits[i] = f'Z","event":{{"id":"{en.id_prefix}-'.encode()
        docs: list[str] = self.core.render(batch.data, batch.spans, self._fallback,
                                           en.offset_ns)
        by_kind = self.dec.by_kind
        for kind, n in self.core.take_made().items():
            by_kind[kind] += n
            self.made += n
        return docs

    def _fallback(self, data: bytes, off: int, length: int) -> str | None:
        doc = self.dec.record(data, off, length)
        if length >= 2 and data[off] | data[off + 1] << 8 == self.k_exec:
            self.core.clear(self.c_actor)  # the process's executable (and exec_gen) changed
        return doc


def load(decoder: Decoder, enricher: Enricher,
         ignored_prefixes: Sequence[str]) -> FastPath | None:
    """The C path, or None (with one log line) when the extension is not built."""
    try:
        from . import _fastcore
    except ImportError as exc:
        log.warning("reader: compiled core not available (%s); building documents in Python",
                    exc)
        return None
    return FastPath(_fastcore.Core, decoder, enricher, tuple(ignored_prefixes))
