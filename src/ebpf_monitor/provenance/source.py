"""The small edge interface every backend implements; the walk needs nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .model import Edge, Node

__all__ = ["NEVER", "EdgeSource", "ProcessRow"]

NEVER = 2**62
"""A time bound past any event (ns)."""


@dataclass(slots=True)
class ProcessRow:
    """One process entity as ancestry and pid lookup need it."""

    entity: str
    host: str
    pid: int
    ppid: int
    start_ns: int
    end_ns: int | None
    parent: str | None


class EdgeSource(Protocol):
    """What a backend answers. Times are ns since the epoch, bounds inclusive.

    An edge returned by `edges_in`/`edges_out` aggregates the instances (first/last time,
    count, bytes) of one (src, dst, action) that fall inside the per-node bound and the
    [since, until] window; fork edges (parent -> child, at the child's start) are included.
    """

    events_read: int
    skipped: int

    def edges_in(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        """Edges into each node of `bounds` with an instance at or before its bound."""

    def edges_out(self, bounds: dict[str, int], since: int, until: int) -> list[Edge]:
        """Edges out of each node of `bounds` with an instance at or after its bound."""

    def describe(self, ids: list[str], sample: int) -> dict[str, Node]:
        """Nodes with attributes, action counts and the first `sample` events each."""

    def readers(self, file_ids: list[str], at_least: int | None = None) -> dict[str, int]:
        """How many distinct processes read or exec'd each file; with `at_least`, a count
        that reaches it may stop there (the noise rule asks only whether it is reached)."""

    def process(self, entity: str) -> ProcessRow | None:
        """The entity, or None when no document names it."""

    def processes_by_pid(self, pid: int) -> list[ProcessRow]:
        """Every entity that had this pid (on any host), oldest first."""

    def children(self, entities: list[str]) -> list[ProcessRow]:
        """Processes whose resolved parent is one of `entities`."""

    def exists(self, node_id: str) -> bool:
        """Whether any flow touches the node (or, for a process, any document names it)."""

    def close(self) -> None: ...

