"""The provenance graph's data model, shared by the backends, the walk and every renderer.

Node ids:
  ``process:<entity_id>``   a process (one exec image lifetime of one pid), never keyed by pid
  ``file:<abs path>``       a file, by its path at the time of the event; renames and links
                            join names; also ``file:pipe:[inode]``, ``file:socket:[inode]``
                            (AF_UNIX), ``file:memfd:<name>``
  ``endpoint:<ip>:<port>``  a remote network endpoint (IPv6 addresses are written unbracketed)
  ``listen:<port>``         a local listening port (accept/recv on a server socket)

Edges point the way information flows (file -> process for read/exec, process -> file
for write, parent -> child for fork/exec, process -> endpoint for connect/send,
endpoint -> process for accept/recv).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ACTIONS", "Edge", "Node", "NodeKind", "Slice"]

NodeKind = Literal["process", "file", "endpoint"]

#: Edge actions the graph builder emits (see docs/provenance.md for each one's direction).
ACTIONS = (
    "read",
    "write",
    "exec",
    "fork",
    "connect",
    "send",
    "recv",
    "accept",
    "rename",
    "unlink",
    "create",
    "move",
    "link",
    "symlink",
    "chmod",
    "chown",
    "truncate",
    "mkdir",
    "mknod",
    "vm_write",
    "vm_read",
    "ptrace",
    "signal",
)


@dataclass(slots=True)
class Node:
    """One vertex of a slice: a process, file or endpoint with a bounded event sample."""

    id: str
    kind: NodeKind
    label: str
    attrs: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Edge:
    """Aggregated information flow between two nodes (all repeats of one action)."""

    src: str
    dst: str
    action: str
    first_ns: int
    last_ns: int
    count: int
    bytes: int


@dataclass(slots=True)
class Slice:
    """The answer to one query: the nodes and edges it reached and what it read, hid, skipped."""

    query: str
    roots: list[str]
    nodes: dict[str, Node]
    edges: list[Edge]
    events_read: int = 0
    hidden: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
