"""Ring-buffer records to ECS documents, a batch at a time, dispatching on the header kind.

Which struct follows the header is a naming convention of events.h, checked here at start:
kind `EK_<NAME>` is `struct <name>_event`, decoded into records.<Name>Event (generated from the
same BTF); a kind without its struct, a record class whose fields differ from the loaded
object's, or a constant of abi_consts.py (generated alike, for code without the object) that
differs from the object's, stops the start with one line naming it.
"""

from __future__ import annotations

import logging
import struct

from . import abi_consts, fastpath
from .abi import constants, enum_values, layout, python_name
from .document import Document
from .enrich import Enricher
from .errors import BpfLoadError
from .exehash import ExecHasher
from .records import RECORDS, Record
from .ringbuf import Batch
from .schema import Builder, Observer, builders, observers
from .state import ProcessTable

__all__ = ["Decoder", "check_constants", "kind_names", "kind_reader", "record_class",
           "struct_of_kind"]

log = logging.getLogger(__name__)


def struct_of_kind() -> dict[int, str]:
    """events.h struct name by record kind (`EK_OPEN` -> open_event), every enumerator but
    EK_MAX."""
    return {value: name.removeprefix("EK_").lower() + "_event"
            for name, value in enum_values("event_kind").items() if name != "EK_MAX"}


def kind_names() -> dict[int, str]:
    """Short name by record kind (`EK_IO_SUMMARY` -> io_summary), as metrics and loss say."""
    return {v: k.removeprefix("EK_").lower() for k, v in enum_values("event_kind").items()}


def kind_reader() -> struct.Struct:
    """Reads a record's kind where the header layout has it (`unpack_from(data, offset)`)."""
    return layout("event_header").reader("kind")


def record_class(struct_name: str) -> type[Record]:
    """The generated record class of a struct, checked against the loaded object's layout."""
    cls = RECORDS.get(struct_name)
    want = tuple(python_name(f) for f in layout(struct_name).fields)
    if cls is None or cls._fields != want:
        raise BpfLoadError(f"src/ebpf_monitor/records.py does not match struct {struct_name} of"
                           " the BPF object: run make abi (scripts/gen_records.py)")
    return cls


def check_constants() -> None:
    """abi_consts.py, which config.py, fields.py and provenance read without the object, holds
    the loaded object's values."""
    want = constants()
    got = {name: getattr(abi_consts, name) for name in abi_consts.__all__}
    stale = sorted(k for k in want.keys() | got.keys() if got.get(k) != want.get(k))
    if stale:
        raise BpfLoadError(f"src/ebpf_monitor/abi_consts.py does not match the BPF object"
                           f" ({', '.join(stale)}): run make abi (scripts/gen_records.py)")


class Decoder:
    """Decodes batches; counts (never raises on) records it cannot make sense of."""

    def __init__(self, enricher: Enricher, *, ignored_prefixes: tuple[str, ...] = (),
                 compiled: bool = True, hash_executables: bool = False) -> None:
        check_constants()
        self.enricher = enricher
        self.decoded = 0
        self.filtered = 0
        self.errors = 0
        self.state = ProcessTable(enricher, ignored_prefixes=ignored_prefixes)
        """Every cache and what the records told about processes and fds (state.py)."""
        if hash_executables:
            self.state.hasher = ExecHasher()
        build = builders(self.state)
        observe = observers(self.state)
        self._table: dict[int, tuple[struct.Struct, type[Record], int, Builder,
                                     Observer | None]] = {}
        for kind, struct_name in struct_of_kind().items():
            if kind not in build:
                raise BpfLoadError(f"record kind {struct_name} has no document builder")
            lay = layout(struct_name)
            self._table[kind] = (lay.struct, record_class(struct_name), lay.tail_offset,
                                 build[kind], observe.get(kind))
        self._kind = kind_reader().unpack_from
        # The hot loop looks the entry up by the kind's own bytes in the record (a slice, no
        # unpack): the same table keyed by each kind packed as the header lays it out.
        hdr = layout("event_header")
        i = hdr.fields.index("kind")
        self._kind_at = (hdr.offsets[i], hdr.offsets[i] + struct.calcsize("<" + hdr.codes[i]))
        packed = kind_reader().pack
        self._by_bytes = {packed(kind)[self._kind_at[0]:]: (kind, *entry)
                          for kind, entry in self._table.items()}
        self.names = kind_names()
        self.by_kind = [0] * (max(self._table) + 1)
        """Documents made, by record kind (the metrics' events by kind)."""
        self.fast = fastpath.load(self, enricher) if compiled else None
        """The compiled per-event loop (fastpath.py), None: the builders below alone."""

    def decode(self, batch: Batch) -> list[Document]:
        if self.fast is not None:
            docs = self.fast.decode(batch)
            self.decoded += len(docs)
            return docs
        data = batch.data
        table = self._by_bytes
        k0, k1 = self._kind_at
        en = self.enricher
        out: list[Document] = []
        append = out.append
        by_kind = self.by_kind
        # cls._make without its Python-level length check: record_class() matched the class's
        # fields to the Struct's at start.
        new = tuple.__new__
        for off, length in batch.spans:
            entry = table.get(data[off + k0: off + k1])
            if entry is None:
                kind = self._kind(data, off)[0] if length >= k1 else -1
                self._bad(f"unknown record kind {kind}")
                continue
            kind, st, cls, tail_off, build, observe = entry
            if length < tail_off:
                self._bad(f"record of {length} bytes is shorter than its layout ({tail_off})")
                continue
            try:
                rec = new(cls, st.unpack_from(data, off))
                tail = data[off + tail_off: off + length]
                if observe is not None:  # the table learns first; the builder only reads
                    observe(rec, tail)
                doc = build(rec, tail, en)
            except Exception as exc:  # one bad record must not cost the batch
                self._bad(f"{type(exc).__name__}: {exc}")
                continue
            if doc is None:
                self.filtered += 1
            else:
                append(doc)
                by_kind[kind] += 1
        self.decoded += len(out)
        return out

    def record(self, data: bytes, off: int, length: int) -> Document | None:
        """One record through its observer and builder (decode's loop, for fastpath's
        fallback: the C path hands back every record it does not render, in ring order)."""
        kind = data[off] | data[off + 1] << 8 if length >= 2 else -1
        entry = self._table.get(kind)
        if entry is None:
            self._bad(f"unknown record kind {kind}")
            return None
        st, cls, tail_off, build, observe = entry
        if length < tail_off:
            self._bad(f"record of {length} bytes is shorter than its layout ({tail_off})")
            return None
        try:
            rec = tuple.__new__(cls, st.unpack_from(data, off))
            tail = data[off + tail_off: off + length]
            if observe is not None:
                observe(rec, tail)
            doc = build(rec, tail, self.enricher)
        except Exception as exc:  # one bad record must not cost the batch
            self._bad(f"{type(exc).__name__}: {exc}")
            return None
        if doc is None:
            self.filtered += 1
        else:
            self.by_kind[kind] += 1
        return doc

    def _bad(self, why: str) -> None:
        self.errors += 1
        if self.errors <= 10 or self.errors % 10000 == 0:
            log.error("undecodable record (%d so far): %s", self.errors, why)
