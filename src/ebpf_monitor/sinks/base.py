"""The sink interface: where finished ECS documents go.

Sinks never batch on their own schedule beyond what they must (the Elasticsearch sink has its own
flush interval); the pipeline hands them whole batches in ring order.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, runtime_checkable

__all__ = ["Document", "Sink"]

Document = str
"""One ECS document as JSON text, one line without its newline (schema.py writes them);
its `event.id` is its deterministic id."""


@runtime_checkable
class Sink(Protocol):
    """A destination for documents; usable in `with`."""

    name: str

    def write(self, batch: Sequence[Document]) -> None:
        """Take a batch in event order. Must not lose it: buffer, spool or dead-letter."""

    def flush(self) -> None:
        """Push out what is buffered (called after each batch and at shutdown)."""

    def reopen(self) -> None:
        """Reopen files after rotation (SIGHUP); a no-op for network sinks."""

    def close(self) -> None:
        """Flush and release resources; within a bounded time."""

    def stats(self) -> dict[str, int]:
        """Counters for the periodic stats line (e.g. written, failed, pending); no side
        effect."""

    def losses_to_record(self, *, final: bool = False) -> int:
        """Events lost so far that `loss` records should carry (`final`: at shutdown)."""

    def __enter__(self) -> Sink: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
