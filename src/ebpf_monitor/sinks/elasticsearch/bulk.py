"""A bulk request as the bulk worker holds it: its body, made once, and where each document is.

The body (action line, source, action line, source, ..., each line ending in a newline) is the
only copy of the documents the worker keeps while a bulk is in flight; the client sends it as
it is (client.py). Before, each document was an object holding its action line and a copy of
its source, and the client joined them into a body of its own, copied once more: with up to
four catch-up bulks of up to 4 MiB in flight, that was several copies of each bulk live at once
(benchmarks/findings.md, "Issue 10: Elasticsearch monitor memory").

What one document needs on the rare paths (its source and id for the dead letter, its index
for the refresh relaxation, a subset to retry or a half of a bulk refused as a whole) is read
back from the body; the 5xx answers per document are counted only for those that had one.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from .records import Item

__all__ = ["Bulk"]


class Bulk:
    """Documents ready to go as one `_bulk` request body."""

    __slots__ = ("_ends", "body", "tries")

    def __init__(self, body: bytes, ends: array[int], tries: dict[int, int] | None = None
                 ) -> None:
        self.body = body
        self._ends = ends
        """The end offset in `body` of each document's two lines."""
        self.tries = tries if tries is not None else {}
        """5xx answers so far, by position, of the documents that had one."""

    @classmethod
    def of(cls, items: Iterable[Item]) -> Bulk:
        """The bulk of `items` (each made by records.decode), in their order."""
        parts: list[bytes | memoryview] = []
        ends = array("Q")
        end = 0
        tries = {}
        for pos, item in enumerate(items):
            parts += (item.action, b"\n", item.source, b"\n")
            end += len(item.action) + len(item.source) + 2
            ends.append(end)
            if item.tries:
                tries[pos] = item.tries
        return cls(b"".join(parts), ends, tries)

    def __len__(self) -> int:
        return len(self._ends)

    def _span(self, pos: int) -> tuple[int, int]:
        return (self._ends[pos - 1] if pos else 0), self._ends[pos]

    def _action(self, pos: int) -> dict[str, Any]:
        start, end = self._span(pos)
        line = self.body[start: self.body.index(b"\n", start, end)]
        create: dict[str, Any] = orjson.loads(line)["create"]
        return create

    def source(self, pos: int) -> bytes:
        """The document's JSON text, as spooled."""
        start, end = self._span(pos)
        return self.body[self.body.index(b"\n", start, end) + 1: end - 1]

    def doc_id(self, pos: int) -> str:
        doc_id: str = self._action(pos)["_id"]
        return doc_id

    def index(self, pos: int) -> str:
        index: str = self._action(pos)["_index"]
        return index

    def part(self, start: int, stop: int) -> Bulk:
        """The documents start..stop-1 (itself when that is all of them)."""
        stop = min(stop, len(self))
        if start == 0 and stop == len(self):
            return self
        return self.take(range(start, stop))

    def take(self, positions: Sequence[int]) -> Bulk:
        """A new bulk of the documents at `positions` (ascending), their 5xx counts kept."""
        view = memoryview(self.body)
        parts = []
        ends = array("Q")
        end = 0
        tries = {}
        for new, pos in enumerate(positions):
            start, stop = self._span(pos)
            parts.append(view[start:stop])
            end += stop - start
            ends.append(end)
            if pos in self.tries:
                tries[new] = self.tries[pos]
        return Bulk(b"".join(parts), ends, tries)
