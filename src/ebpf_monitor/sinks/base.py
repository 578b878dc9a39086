"""The sink interface: where finished ECS documents go.

Sinks never batch on their own schedule beyond what they must (the Elasticsearch sink has its own
flush interval); the pipeline hands them whole batches in ring order. A document arrives as a
`Document` (document.py): its id and UTC day beside its JSON text, so no sink reads them back
out of the text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Protocol, runtime_checkable

from ..document import Document

__all__ = ["Document", "Sink", "SinkStats", "WrittenStats", "stats_items"]


@runtime_checkable
class SinkStats(Protocol):
    """What the run loop, the metrics endpoint and the stats line read of every sink; each
    sink's own frozen dataclass adds its counters (the stats line prints its fields in order)."""

    @property
    def written(self) -> int:
        """Documents written (indexed, for Elasticsearch)."""

    @property
    def failed(self) -> int:
        """Documents lost for good (disk full, spool bound): what `loss` records carry."""

    @property
    def pending(self) -> int:
        """Documents accepted and not yet written."""

    @property
    def spooled_bytes(self) -> int | None:
        """Bytes waiting in a disk spool; None for a sink without one."""


def stats_items(stats: SinkStats) -> Iterator[tuple[str, int]]:
    """(name, value) of every counter of a sink's stats, in the order its class declares them."""
    if not dataclasses.is_dataclass(stats):
        raise TypeError(f"{type(stats).__name__} is not a dataclass")
    for field in dataclasses.fields(stats):
        value = getattr(stats, field.name)
        if value is not None:
            yield field.name, int(value)


@dataclasses.dataclass(frozen=True, slots=True)
class WrittenStats:
    """Stats of a sink that only counts what it wrote (stdout, memory)."""

    written: int = 0

    @property
    def failed(self) -> int:
        return 0

    @property
    def pending(self) -> int:
        return 0

    @property
    def spooled_bytes(self) -> int | None:
        return None


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

    def stats(self) -> SinkStats:
        """Counters for the periodic stats line and the metrics endpoint; no side effect."""

    def losses_to_record(self, *, final: bool = False) -> int:
        """Events lost so far that `loss` records should carry (`final`: at shutdown)."""

    def __enter__(self) -> Sink: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
