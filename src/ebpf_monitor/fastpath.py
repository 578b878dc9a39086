"""The reader's per-event loop in C (_fastcore.c) for the kinds that come by the hundred thousand.

Opens, reads/writes on files, socket(2) and connect/accept are nearly all of a busy host's
events. For them, this module writes the document as a small program of ops (`_Program`) with
byte offsets from the object's BTF, and hands _fastcore the functions that make each fragment
the first time it is needed: the same schema/ helpers the builders use, so the text is the
same, byte for byte (unit tests render recorded batches of every kind both ways, and fuzz it).
The C walks a batch, copies numbers and cached fragments, and hands any other record (exec,
fork, exit, unlink, rename, io summaries, socket reads/writes, relative paths, a maker that
declines or raises) to the `fallback`: the record's observer then its builder (Decoder.record),
in place, so documents keep ring order and the process table learns in ring order. The records
rendered here are the ones no observer needs (exec and relative opens always fall back; an
absolute open tells the table nothing), and an exec or chdir clears the actor cache (its
executable, its working directory).
The C returns the same Document values as the builders: id, day and JSON text.

Without the compiled extension (no C compiler at install time) the Decoder runs the Python
builders alone, and says so once in the log.

What this module uses of schema/, state.py, records.py, enrich.py and decode.py (re-point
these when they move):
  schema._common: Abi.load() (actions, ef_path_truncated, ef_fd_untracked, ft_file, ft_socket,
          read_actions, fam_inet, fam_inet6, open_flags); CAT_FILE, CAT_NETWORK, TYPE_ACCESS,
          TYPE_CHANGE, TYPE_INFO, TYPE_CONNECTION_START; the fragment helpers
          actor(v, en, table).text, context_text, event_frag, error_text; document()'s layout of
          the head (id, @timestamp).
  schema.file: file_text(table, path), flags_text(flags).  schema.net: Endpoints(abi).add, ._ip.
  state: Decoder.state (ProcessTable): fd_name (a read/write's file name), IGNORED.
  records: RECORDS (the typed record classes the makers hand the helpers).
  document: Document (the C makes the same tuples).
  enrich: text(), Enricher.offset_ns and .id_prefix; Enricher.stamp's per-second text and day
          are rebuilt here (`_second`, and the day in _fastcore.c).
  decode: Decoder.record (one record through its observer and builder, counted), .by_kind,
          .state.
"""

from __future__ import annotations

import logging
import struct
import time
from collections import namedtuple
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from .abi import Layout, enum_values, layout, python_name
from .document import Document
from .enrich import Enricher, text
from .records import RECORDS
from .ringbuf import Batch
from .schema._common import (
    CAT_FILE,
    CAT_NETWORK,
    TYPE_ACCESS,
    TYPE_CHANGE,
    TYPE_CONNECTION_START,
    TYPE_INFO,
    Abi,
    actor,
    context_text,
    error_text,
    event_frag,
)
from .schema.file import file_text, flags_text
from .schema.net import Endpoints
from .state import IGNORED, ProcessTable

if TYPE_CHECKING:
    from .decode import Decoder

__all__ = ["FastPath", "load"]

log = logging.getLogger(__name__)

# Ops of _fastcore.c (enum op): the same numbers.
LIT, DEC, HEX, TS, KEY, KEY_PATH, KEY_NEG, FRAG, SKIP_NEG, SKIP_NONNEG, SKIP_NOBITS, SKIP_NE, \
    SKIP_EQ, FALLBACK, NEED, KEY_EQ, MARK = range(17)
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


def _unpacked(lay: Layout, cls: type[tuple[Any, ...]],
              make: Callable[[Any, bytes], str | None]) -> _Maker:
    """A maker over the record as the builders see it: (typed record, tail)."""
    st, tail = lay.struct, lay.tail_offset
    new = tuple.__new__

    def made(data: bytes, off: int, length: int) -> str | None:
        return make(new(cls, st.unpack_from(data, off)), data[off + tail: off + length])

    return made


def _outcome(v: Any) -> str:
    return "failure" if v.h_ret < 0 else "success"


_EINPROGRESS = 115
_dumps = orjson.dumps


def _socket_text(own: dict[str, Any]) -> str:
    """`,"socket":{...}` of ebpf, from Endpoints.add's output."""
    return ',"socket":' + _dumps(own["ebpf"]["socket"]).decode()


def _network_text(own: dict[str, Any]) -> str:
    """`,"network":{...}`, or nothing for a family without addresses."""
    return ',"network":' + _dumps(own["network"]).decode() if "network" in own else ""


def _end_text(ends: Endpoints, role: str, family: int, raw: bytes, port: int) -> str | None:
    """The start of `source` or `destination` (Endpoints.add): `,"source":{"ip":"..."`
    then `,"port":` when there is a port (the program copies it and closes the brace), or `}`;
    nothing for an end with neither. None (Python decides) for a port without an address
    family that has ports."""
    if family != ends.inet and family != ends.inet6:
        return "" if not port else None
    ip = ends._ip(family, raw)
    if ip is None and not port:
        return ""
    out = f',"{role}":{{'
    if ip is not None:
        out += '"ip":' + _dumps(ip).decode()
    if port:
        return out + ("," if ip is not None else "") + '"port":'
    return out + "}"


class FastPath:
    """Renders batches through _fastcore, with `decoder` (the builders) as the fallback."""

    def __init__(self, core_type: Any, decoder: Decoder, enricher: Enricher) -> None:
        self.dec = decoder
        self.en = enricher
        self.table: ProcessTable = decoder.state
        self.abi = Abi.load()
        kinds = enum_values("event_kind")
        self.actions = enum_values("event_action")
        self.k_actor = (kinds["EK_EXEC"], kinds["EK_CHDIR"])
        """Kinds whose record changes what the actor part shows (Python's key: actor_gen)."""
        self.lits: list[bytes] = []
        self.id_lits: list[int] = []
        self.id_prefix = ""
        self.makers: list[_Maker] = []
        self.slots: list[int] = []
        hdr = layout("event_header")
        # The header's fields by the names every record gives them (h_pid, ...): what the
        # shared helpers read of any record.
        header = namedtuple(  # type: ignore[misc]
            "header", ["h_" + python_name(f) for f in hdr.fields])
        en, table, actions = enricher, self.table, self.abi.actions
        # Shared by every kind: the actor (schema actor()), the syscall's name, the error.
        self.c_actor = self._cache(_unpacked(
            hdr, header, lambda v, t: actor(v, en, table).text), 8192)
        self.c_context = self._cache(_unpacked(
            hdr, header, lambda v, t: context_text(v, en)), 8192)
        self.c_action = self._cache(_unpacked(hdr, header, lambda v, t: actions[v.h_action]))
        self.c_error = self._cache(_unpacked(
            hdr, header, lambda v, t: error_text(en, v.h_ret)), 256)
        programs = {
            kinds["EK_OPEN"]: self._open(layout("open_event")),
            kinds["EK_RW"]: self._rw(layout("rw_event")),
            kinds["EK_SOCKET"]: self._socket(layout("socket_event")),
            kinds["EK_NET"]: self._net(layout("net_event")),
        }
        self.core = core_type(programs, self.lits, self.makers, self.slots, self._second,
                              Document)
        self.made = 0
        """Documents rendered in C so far (the rest went through the builders)."""

    def _cache(self, maker: _Maker, slots: int = 64) -> int:
        """A fragment cache in the core, filled by `maker`; its index for OP_FRAG."""
        self.makers.append(maker)
        self.slots.append(slots)
        return len(self.makers) - 1

    @staticmethod
    def _second(sec: int) -> str:
        """Enricher.stamp's date-time part of one second (the C takes the day from it)."""
        return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec))

    # ---- the documents, as programs (schema._common.document and the builders) -------------

    def _head(self, p: _Program, event_cache: int, *, einprogress: bool = False) -> None:
        """`{"@timestamp":...,"event":{...},<actor>,` (schema._common.document's head); the
        `event` part by action and outcome (and, for connect, EINPROGRESS); the id marked."""
        p.lit('{"@timestamp":"')
        p.raw(TS, p.f["h_ktime_ns"][0])
        p.lit('Z","event":{"id":"')
        p.raw(MARK, 0)
        self.id_lits.append(p.lit(""))  # '<id prefix>-', set per batch
        p.num(HEX, "h_ktime_ns")
        p.lit("-")
        p.num(HEX, "h_tid")
        p.raw(MARK, 1)
        p.lit('",')
        p.key("h_action")
        p.key_neg("h_ret")
        if einprogress:
            p.key_eq("h_ret", -_EINPROGRESS)
        p.frag(event_cache)
        p.lit("},")
        p.key("h_pid", "h_tid", "h_ppid", "h_uid", "h_gid", "h_euid", "h_start_ns", "h_comm",
              "h_cgroup_id", "h_parent_start_ns", "h_tty", "h_sid", "h_sid_start_ns")
        p.frag(self.c_actor)
        p.lit(",")

    def _ebpf(self, p: _Program, syscall: str | None = None) -> None:
        """`"ebpf":{`, the cgroup and namespaces (context_text), the `pid_ns` of a process in a
        PID namespace (_with_context), the syscall
        (its action's name, or `syscall`) and its return value."""
        p.lit('"ebpf":{')
        p.key("h_cgroup_id", "h_mntns", "h_netns")
        p.frag(self.c_context)
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
        """An open of an absolute path (schema.file.open_builder; its observer notes only
        relative ones); relative ones, and those with a real path beside: Python."""
        cls, table, actions = RECORDS["open_event"], self.table, self.abi.actions
        c_event = self._cache(_unpacked(lay, cls, lambda v, t: event_frag(
            actions[v.h_action], CAT_FILE, TYPE_ACCESS, _outcome(v))))
        c_file = self._cache(_unpacked(
            lay, cls, lambda v, t: file_text(table, text(t[: v.path_len]))), 8192)
        c_flags = self._cache(_unpacked(lay, cls, lambda v, t: flags_text(v.flags)), 256)
        p = _Program(lay, self.lits)
        # A real path beside the given one (a symlink on the way): Python, as few are.
        end = p.skip(SKIP_EQ, "real_len", 0)
        p.raw(FALLBACK)
        end()
        self._head(p, c_event)
        p.key_path("path_len", absolute=True)
        p.frag(c_file)
        p.lit(",")
        self._ebpf(p)
        p.lit(',"flags":')
        p.key("flags")
        p.frag(c_flags)
        end = p.skip(SKIP_NOBITS, "flags", self.abi.open_flags["OF_CREAT"])
        p.lit(',"mode":')
        p.num(DEC, "mode")
        end()
        end = p.skip(SKIP_NEG, "h_ret")
        p.lit(',"fd":')
        p.num(DEC, "h_ret")
        end()
        end = p.skip(SKIP_NOBITS, "h_flags", self.abi.ef_path_truncated)
        p.lit(',"truncated":true')
        end()
        p.lit("}")
        self._error(p)
        p.lit("}")
        return p.bytes()

    def _rw(self, lay: Layout) -> bytes:
        """A read or write of a file (schema.file.rw_builder's file branch): by its absolute
        path, or an fd the kernel did not see opened (named from /proc or its inode; the table
        applies the ignored prefixes). Sockets and relative paths: Python."""
        cls, table, abi = RECORDS["rw_event"], self.table, self.abi
        actions, read_actions = abi.actions, abi.read_actions
        ft_file, untracked = abi.ft_file, abi.ef_fd_untracked

        def event(v: Any, tail: bytes) -> str:
            action = actions[v.h_action]
            etype = TYPE_ACCESS if action in read_actions else TYPE_CHANGE
            return event_frag(action, CAT_FILE, etype, _outcome(v))

        def file(v: Any, tail: bytes) -> str | None:
            if v.target == ft_file:
                path = table.fd_name(v.h_pid, v.h_start_ns, v.fd, tail[: v.path_len], 0, 0, 0)
            elif v.h_flags & untracked:
                path = table.fd_name(v.h_pid, v.h_start_ns, v.fd, None, v.dev, v.ino, v.imode)
            else:
                path = None
            if path is IGNORED:
                return None  # filtered: the builder returns None, counted there
            return "" if path is None else "," + file_text(table, path)

        c_event = self._cache(_unpacked(lay, cls, event))
        c_file = self._cache(_unpacked(lay, cls, file), 8192)
        c_fd_name = self._cache(_unpacked(lay, cls, file), 4096)
        p = _Program(lay, self.lits)
        end = p.skip(SKIP_NE, "target", abi.ft_socket)
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
        end = p.skip(SKIP_NE, "target", ft_file)
        p.key_path("path_len", absolute=True)
        p.frag(c_file)
        end()
        end_other = p.skip(SKIP_EQ, "target", ft_file)
        end = p.skip(SKIP_NOBITS, "h_flags", untracked)
        p.key("h_pid", "fd", "dev", "ino", "imode")
        p.frag(c_fd_name)
        end()
        end_other()
        self._error(p)
        p.lit("}")
        return p.bytes()

    def _socket(self, lay: Layout) -> bytes:
        """socket(2) (schema.net.socket_builder)."""
        cls, ends = RECORDS["socket_event"], Endpoints(self.abi)

        def own(v: Any) -> dict[str, Any]:
            out: dict[str, Any] = {"ebpf": {}}
            ends.add(out, v.family, v.type & 0xF, v.protocol, (b"", 0), (b"", 0))
            return out

        c_event = self._cache(_unpacked(lay, cls, lambda v, t: event_frag(
            "socket", CAT_NETWORK, TYPE_INFO, _outcome(v))))
        c_sock = self._cache(_unpacked(lay, cls, lambda v, t: _socket_text(own(v))), 256)
        c_net = self._cache(_unpacked(lay, cls, lambda v, t: _network_text(own(v))), 256)
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
        """connect, accept, bind, listen (schema.net.net_builder): the socket's ends by
        address (cached) and port (copied)."""
        cls, eps, actions = RECORDS["net_event"], Endpoints(self.abi), self.abi.actions

        def event(v: Any, tail: bytes) -> str:
            action = actions[v.h_action]
            outcome = _outcome(v)
            if action == "connect" and v.h_ret == -_EINPROGRESS:
                outcome = "unknown"
            connection = action in ("accept", "accept4", "connect")
            return event_frag(action, CAT_NETWORK, TYPE_CONNECTION_START
                              if connection else TYPE_INFO, outcome)

        def own(v: Any) -> dict[str, Any]:
            out: dict[str, Any] = {"ebpf": {}}
            eps.add(out, v.sock_family, v.sock_type, v.sock_protocol, (b"", 0), (b"", 0))
            return out

        def end_maker(role: str, addr: str, port: str) -> _Maker:
            def make(v: Any, tail: bytes) -> str | None:
                return _end_text(eps, role, v.sock_family, getattr(v, addr), getattr(v, port))

            return _unpacked(lay, cls, make)

        c_event = self._cache(_unpacked(lay, cls, event))
        c_sock = self._cache(_unpacked(lay, cls, lambda v, t: _socket_text(own(v))), 256)
        c_net = self._cache(_unpacked(lay, cls, lambda v, t: _network_text(own(v))), 256)
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
                # An IPv4 address is its first 4 bytes; the rest (zero since the kernel
                # clears it) is keyed only as zero or not, so an older record cannot misname.
                at = p.f[addr][0]
                v6 = p.skip(SKIP_NE, "sock_family", eps.inet)
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

    def decode(self, batch: Batch) -> list[Document]:
        en = self.en
        if en.id_prefix != self.id_prefix:
            self.id_prefix = en.id_prefix
            for i in self.id_lits:
                self.lits[i] = f"{en.id_prefix}-".encode()
        docs: list[Document] = self.core.render(batch.data, batch.spans, self._fallback,
                                           en.offset_ns)
        by_kind = self.dec.by_kind
        for kind, n in self.core.take_made().items():
            by_kind[kind] += n
            self.made += n
        return docs

    def _fallback(self, data: bytes, off: int, length: int) -> Document | None:
        doc = self.dec.record(data, off, length)
        if length >= 2 and (data[off] | data[off + 1] << 8) in self.k_actor:
            # exec: the process's executable changed; chdir: its working directory
            self.core.clear(self.c_actor)
        return doc


def load(decoder: Decoder, enricher: Enricher) -> FastPath | None:
    """The C path, or None (with one log line) when the extension is not built."""
    try:
        from . import _fastcore
    except ImportError as exc:
        log.warning("reader: compiled core not available (%s); building documents in Python",
                    exc)
        return None
    return FastPath(_fastcore.Core, decoder, enricher)
