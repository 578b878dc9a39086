"""A real sink that keeps `Document` values in a list: for tests and embedding, not a mock."""

from __future__ import annotations

from collections.abc import Sequence

from ._mixin import SinkContext
from .base import Document, WrittenStats

__all__ = ["MemorySink"]


class MemorySink(SinkContext):
    name = "memory"

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.closed = False

    def write(self, batch: Sequence[Document]) -> None:
        self.documents.extend(batch)

    def flush(self) -> None:
        pass

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def stats(self) -> WrittenStats:
        return WrittenStats(written=len(self.documents))
