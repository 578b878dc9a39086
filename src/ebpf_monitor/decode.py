"""Ring-buffer records to ECS documents, a batch at a time, dispatching on the header kind."""

from __future__ import annotations

import logging
import struct

from . import fastpath
from .abi import enum_values, layout
from .enrich import Enricher
from .ringbuf import Batch
from .schema import Builder, builders
from .sinks.base import Document

__all__ = ["Decoder"]

log = logging.getLogger(__name__)

_STRUCT_OF_KIND = {
    "EK_EXEC": "exec_event", "EK_FORK": "fork_event", "EK_EXIT": "exit_event",
    "EK_OPEN": "open_event", "EK_RW": "rw_event", "EK_UNLINK": "unlink_event",
    "EK_RENAME": "rename_event", "EK_SOCKET": "socket_event", "EK_NET": "net_event",
    "EK_IO_SUMMARY": "io_summary_event",
}


class Decoder:
    """Decodes batches; counts (never raises on) records it cannot make sense of."""

    def __init__(self, enricher: Enricher, *, ignored_prefixes: tuple[str, ...] = (),
                 compiled: bool = True) -> None:
        self.enricher = enricher
        self.decoded = 0
        self.filtered = 0
        self.errors = 0
        build = builders(ignored_prefixes=ignored_prefixes)
        kinds = enum_values("event_kind")
        self._table: dict[int, tuple[struct.Struct, int, Builder]] = {}
        for kind_name, struct_name in _STRUCT_OF_KIND.items():
            lay = layout(struct_name)
            kind = kinds[kind_name]
            self._table[kind] = (lay.struct, lay.tail_offset, build[kind])
        self.names = {v: k.removeprefix("EK_").lower() for k, v in kinds.items()}
        self.by_kind = [0] * (max(self._table) + 1)
        """Documents made, by record kind (the metrics' events by kind)."""
        self.fast = fastpath.load(self, enricher, ignored_prefixes) if compiled else None
        """The compiled per-event loop (fastpath.py), None: the builders below alone."""

    def decode(self, batch: Batch) -> list[Document]:
        if self.fast is not None:
            docs = self.fast.decode(batch)
            self.decoded += len(docs)
            return docs
        data = batch.data
        table = self._table
        en = self.enricher
        out: list[Document] = []
        append = out.append
        by_kind = self.by_kind
        for off, length in batch.spans:
            kind = data[off] | data[off + 1] << 8
            entry = table.get(kind)
            if entry is None:
                self._bad(f"unknown record kind {kind}")
                continue
            st, tail_off, build = entry
            if length < tail_off:
                self._bad(f"record of {length} bytes is shorter than its layout ({tail_off})")
                continue
            try:
                doc = build(st.unpack_from(data, off), data[off + tail_off: off + length], en)
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
        """One record through its builder (decode's loop, for fastpath's fallback)."""
        kind = data[off] | data[off + 1] << 8 if length >= 2 else -1
        entry = self._table.get(kind)
        if entry is None:
            self._bad(f"unknown record kind {kind}")
            return None
        st, tail_off, build = entry
        if length < tail_off:
            self._bad(f"record of {length} bytes is shorter than its layout ({tail_off})")
            return None
        try:
            doc = build(st.unpack_from(data, off), data[off + tail_off: off + length],
                        self.enricher)
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
