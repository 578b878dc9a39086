"""The reader's per-event loop in C (_fastcore.c) for the kinds that come by the hundred thousand.

Opens and reads/writes on files are ~all of a busy host's events. For them, this module writes
the document as a small program of ops (`_Program`) with byte offsets from the object's BTF, and
hands _fastcore the functions that make each fragment the first time it is needed: the same
schema.py helpers the builders use, so the text is the same, byte for byte (a unit test renders
a recorded batch of every kind both ways). The C walks a batch, copies numbers and cached
fragments, and hands any other record (exec, sockets, relative paths, a maker that declines) to
the `fallback`: today's builder, in place, so documents keep ring order.

Without the compiled extension (no C compiler at install time) the Decoder runs the Python
builders alone, and says so once in the log.

What this module uses of schema.py and enrich.py (re-point these when they move):
  schema: _bind_abi() globals PID, ACTION, RET, ACTIONS, EF_PATH_TRUNCATED, EF_FD_UNTRACKED,
          FT_FILE, FT_SOCKET, CAT_FILE, TYPE_ACCESS, TYPE_CHANGE, _READ_ACTIONS;
          fragment helpers _actor(v, en).text, _event_frag, _file_text, _flags_text,
          _error_text; _FdFields(ix, ignored_prefixes).path (a read/write's file name).
  enrich: Enricher.offset_ns, .id_prefix, .timestamp's per-second text (time.strftime here).
  decode: Decoder.record (one record through today's builder, counted) and .by_kind.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

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
    SKIP_EQ, FALLBACK, NEED = range(15)
_SIGNED = 0x100

# Fragment caches: one maker each. Slots: distinct keys held in C (direct-mapped).
C_OPEN_EVENT, C_RW_EVENT, C_ACTOR, C_ACTION, C_FLAGS, C_ERROR, C_OPEN_FILE, C_RW_FILE, \
    C_FD_NAME = range(9)
_SLOTS = [64, 64, 8192, 64, 256, 256, 8192, 8192, 4096]

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


class FastPath:
    """Renders batches through _fastcore, with `decoder` (today's builders) as the fallback."""

    def __init__(self, core_type: Any, decoder: Decoder, enricher: Enricher,
                 ignored_prefixes: tuple[str, ...]) -> None:
        self.dec = decoder
        self.en = enricher
        kinds = enum_values("event_kind")
        self.k_exec = kinds["EK_EXEC"]
        self.lits: list[bytes] = []
        self.id_lits: list[int] = []
        self.id_prefix = ""
        hdr, open_lay, rw_lay = layout("event_header"), layout("open_event"), layout("rw_event")
        programs = {kinds["EK_OPEN"]: self._open(open_lay), kinds["EK_RW"]: self._rw(rw_lay)}
        # The builders' prefix form of the filter (schema.builders escapes it the same way).
        fds = schema._FdFields({n: i for i, n in enumerate(rw_lay.fields)},
                               tuple(text(p.encode()) for p in ignored_prefixes))
        en = enricher

        def unpacked(lay: Layout, make: Callable[[tuple[Any, ...], bytes], str | None]
                     ) -> Callable[[bytes, int, int], str | None]:
            st, tail = lay.struct, lay.tail_offset

            def made(data: bytes, off: int, length: int) -> str | None:
                return make(st.unpack_from(data, off), data[off + tail: off + length])

            return made

        def outcome(v: tuple[Any, ...]) -> str:
            return "failure" if v[schema.RET] < 0 else "success"

        def rw_event(v: tuple[Any, ...], tail: bytes) -> str:
            action = schema.ACTIONS[v[schema.ACTION]]
            etype = schema.TYPE_ACCESS if action in schema._READ_ACTIONS else schema.TYPE_CHANGE
            return schema._event_frag(action, schema.CAT_FILE, etype, outcome(v))

        def rw_file(v: tuple[Any, ...], tail: bytes) -> str | None:
            path = fds.path(v, tail, en)
            if path is schema.IGNORED:
                return None  # filtered: the builder returns None, counted there
            return "" if path is None else "," + schema._file_text(en, path)

        def open_file(v: tuple[Any, ...], tail: bytes) -> str:
            raw_b = tail[: v[plen_i]]
            return schema._file_text(en, text(raw_b))

        plen_i = open_lay.fields.index("path_len")
        flags_i = open_lay.fields.index("flags")
        makers: list[Callable[..., str | None]] = [
            unpacked(hdr, lambda v, tail: schema._event_frag(
                schema.ACTIONS[v[schema.ACTION]], schema.CAT_FILE, schema.TYPE_ACCESS,
                outcome(v))),
            unpacked(rw_lay, rw_event),
            unpacked(hdr, lambda v, tail: schema._actor(v, en).text),
            unpacked(hdr, lambda v, tail: schema.ACTIONS[v[schema.ACTION]]),
            unpacked(open_lay, lambda v, tail: schema._flags_text(v[flags_i])),
            unpacked(hdr, lambda v, tail: schema._error_text(en, v[schema.RET])),
            unpacked(open_lay, open_file),
            unpacked(rw_lay, rw_file),
            unpacked(rw_lay, rw_file),
        ]
        self.core = core_type(programs, self.lits, makers, list(_SLOTS), self._second)
        self.made = 0
        """Documents rendered in C so far (the rest went through the builders)."""

    @staticmethod
    def _second(sec: int) -> str:
        """Enricher.timestamp's date-time part of one second."""
        return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec))

    # ---- the documents, as programs (schema._document, _open_builder, _rw_builder) ----------

    def _head(self, p: _Program, event_cache: int) -> None:
        """`{"@timestamp":...,"event":{...},<actor>,` (schema._document's head)."""
        p.lit('{"@timestamp":"')
        p.raw(TS, p.f["h_ktime_ns"][0])
        self.id_lits.append(p.lit(""))  # 'Z","event":{"id":"<id prefix>-', set per batch
        p.num(HEX, "h_ktime_ns")
        p.lit("-")
        p.num(HEX, "h_tid")
        p.lit('",')
        p.key("h_action")
        p.key_neg("h_ret")
        p.frag(event_cache)
        p.lit("},")
        p.key("h_pid", "h_tid", "h_ppid", "h_uid", "h_gid", "h_euid", "h_start_ns", "h_comm")
        p.frag(C_ACTOR)
        p.lit(",")

    def _ebpf_open(self, p: _Program) -> None:
        """`"ebpf":{` and, for a process in a PID namespace, its `pid_ns` (_with_pid_ns)."""
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

    def _action_ret(self, p: _Program) -> None:
        p.lit('"syscall":"')
        p.key("h_action")
        p.frag(C_ACTION)
        p.lit('","ret":')
        p.num(DEC, "h_ret")

    def _error(self, p: _Program) -> None:
        end = p.skip(SKIP_NONNEG, "h_ret")
        p.key("h_ret")
        p.frag(C_ERROR)
        end()

    def _open(self, lay: Layout) -> bytes:
        """An open of an absolute path (relative ones are resolved in Python)."""
        p = _Program(lay, self.lits)
        self._head(p, C_OPEN_EVENT)
        p.key_path("path_len", absolute=True)
        p.frag(C_OPEN_FILE)
        p.lit(",")
        self._ebpf_open(p)
        self._action_ret(p)
        p.lit(',"flags":')
        p.key("flags")
        p.frag(C_FLAGS)
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

    def _rw(self, lay: Layout) -> bytes:
        """A read or write of a file: by its absolute path, or an fd the kernel did not see
        opened (named from /proc or its inode). Sockets and relative paths: Python."""
        p = _Program(lay, self.lits)
        end = p.skip(SKIP_NE, "target", schema.FT_SOCKET)
        p.raw(FALLBACK)
        end()
        self._head(p, C_RW_EVENT)
        self._ebpf_open(p)
        self._action_ret(p)
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
        # The file (",file:{...}" or nothing): by path, or by fd and inode when untracked.
        end = p.skip(SKIP_NE, "target", schema.FT_FILE)
        p.key_path("path_len", absolute=True)
        p.frag(C_RW_FILE)
        end()
        end_other = p.skip(SKIP_EQ, "target", schema.FT_FILE)
        end = p.skip(SKIP_NOBITS, "h_flags", schema.EF_FD_UNTRACKED)
        p.key("h_pid", "fd", "dev", "ino", "imode")
        p.frag(C_FD_NAME)
        end()
        end_other()
        self._error(p)
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
        if data[off] | data[off + 1] << 8 == self.k_exec:
            self.core.clear(C_ACTOR)  # the process's executable (and exec_gen) changed
        return doc


def load(decoder: Decoder, enricher: Enricher,
         ignored_prefixes: Sequence[str]) -> FastPath | None:
    """The C path, or None (with one log line) when the extension is not built."""
    try:
        from . import _fastcore  # type: ignore[attr-defined]
    except ImportError as exc:
        log.warning("reader: compiled core not available (%s); building documents in Python",
                    exc)
        return None
    return FastPath(_fastcore.Core, decoder, enricher, tuple(ignored_prefixes))
