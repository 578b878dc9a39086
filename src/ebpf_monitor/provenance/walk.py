"""The queries, as backend-neutral walks over `EdgeSource`.

Time rule (lineage, backward): every node carries a bound, the latest time at which something
flowing into it still matters; the root's is `until`. An edge into a node counts only with an
instance at or before the node's bound, and its source's bound becomes the edge's latest such
instance minus 1 ns (what reached the source after that could not flow on through this edge).
Impact (forward) mirrors it with the earliest time of influence. A node reached again with a
looser bound is walked again, so the answer does not depend on the order of discovery.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .model import Edge, Slice
from .noise import NoiseRules
from .source import NEVER, EdgeSource

__all__ = ["Options", "ancestry", "descendants", "impact", "lineage", "path"]

SAMPLE = 50
#: Edges that are control, not data: shown on their nodes (actions, events), never walked
#: (a signal says little, and every shell and service manager sends them).
CONTROL = frozenset(("signal",))


@dataclass(frozen=True, slots=True)
class Options:
    """Window, depth and noise settings shared by the queries."""

    since: int = 0
    until: int = NEVER
    depth: int | None = None
    noise: NoiseRules = field(default_factory=NoiseRules)


_Key = tuple[str, str, str]


class _Walk:
    """One directed, time-respecting walk: bounds per node, edges kept, nodes hidden."""

    def __init__(self, source: EdgeSource, roots: list[str], opts: Options, *,
                 backward: bool) -> None:
        self.source = source
        self.opts = opts
        self.backward = backward
        self.roots = set(roots)
        start = opts.until if backward else opts.since
        self.bound: dict[str, int] = dict.fromkeys(roots, start)
        self.edges: dict[_Key, Edge] = {}
        self.hidden: dict[str, str] = {}  # node -> reason
        self.popular: dict[str, int] = {}

    def _better(self, old: int | None, new: int) -> bool:
        if old is None:
            return True
        return new > old if self.backward else new < old

    def _hide(self, nodes: set[str]) -> set[str]:
        """The nodes to drop from this level, recording why."""
        noise = self.opts.noise
        drop: set[str] = set()
        unknown: list[str] = []
        for node in nodes:
            if node in self.roots:
                continue
            why = self.hidden.get(node) or noise.reason(node)
            if why:
                self.hidden[node] = why
                drop.add(node)
            elif node.startswith("file:") and node not in self.popular:
                unknown.append(node)
        if unknown and noise.enabled and noise.popular_readers:
            self.popular.update(self.source.readers(unknown, noise.popular_readers))
        for node in nodes - drop:
            why = noise.popular_reason(self.popular.get(node, 0))
            if why and node not in self.roots:
                self.hidden[node] = why
                drop.add(node)
        return drop

    def run(self) -> None:
        frontier = dict(self.bound)
        level = 0
        while frontier and (self.opts.depth is None or level < self.opts.depth):
            level += 1
            if self.backward:
                found = self.source.edges_in(frontier, self.opts.since, self.opts.until)
            else:
                found = self.source.edges_out(frontier, self.opts.since, self.opts.until)
            others = {e.src if self.backward else e.dst for e in found}
            drop = self._hide(others)
            nxt: dict[str, int] = {}
            for edge in found:
                other = edge.src if self.backward else edge.dst
                if other in drop or edge.action in CONTROL:
                    continue
                key = (edge.src, edge.dst, edge.action)
                old = self.edges.get(key)
                if old is None or edge.count > old.count or edge.bytes > old.bytes:
                    self.edges[key] = edge
                new = edge.last_ns - 1 if self.backward else edge.first_ns + 1
                if self._better(self.bound.get(other), new):
                    self.bound[other] = new
                    nxt[other] = new
            frontier = nxt

    def hidden_counts(self) -> dict[str, int]:
        return dict(Counter(self.hidden.values()))


def _finish(source: EdgeSource, query: str, roots: list[str], node_ids: set[str],
            edges: list[Edge], hidden: dict[str, int]) -> Slice:
    nodes = source.describe(sorted(node_ids | set(roots)), SAMPLE)
    edges = [e for e in edges if e.src in nodes and e.dst in nodes]
    edges.sort(key=lambda e: (e.first_ns, e.src, e.dst, e.action))
    return Slice(query=query, roots=roots, nodes=nodes, edges=edges,
                 events_read=source.events_read, hidden=hidden, skipped=source.skipped)


def _walk_slice(source: EdgeSource, query: str, root: str, opts: Options, *,
                backward: bool) -> Slice:
    walk = _Walk(source, [root], opts, backward=backward)
    walk.run()
    return _finish(source, query, [root], set(walk.bound), list(walk.edges.values()),
                   walk.hidden_counts())


def lineage(source: EdgeSource, root: str, opts: Options) -> Slice:
    """Everything that could have influenced `root` (backward, time-respecting)."""
    return _walk_slice(source, f"lineage {root}", root, opts, backward=True)


def impact(source: EdgeSource, root: str, opts: Options) -> Slice:
    """Everything `root` could have influenced (forward, time-respecting)."""
    return _walk_slice(source, f"impact {root}", root, opts, backward=False)


def path(source: EdgeSource, a: str, b: str, opts: Options) -> Slice:
    """How information got from `a` to `b`: nodes reachable forward from `a` at some time
    and backward from `b` at a later one, and the edges among them that respect both."""
    fwd = _Walk(source, [a], opts, backward=False)
    fwd.run()
    bwd = _Walk(source, [b], opts, backward=True)
    bwd.run()
    on = {n for n in fwd.bound if n in bwd.bound and fwd.bound[n] <= bwd.bound[n] + 1}
    if a not in on or b not in on:
        on = set()
    edges = [e for k, e in fwd.edges.items() if k[0] in on and k[1] in on
             and e.first_ns <= bwd.bound.get(k[1], -1)]
    hidden = Counter(fwd.hidden_counts()) + Counter(bwd.hidden_counts())
    if not on:
        return _finish(source, f"path {a} {b}", [a, b], set(), [], dict(hidden))
    return _finish(source, f"path {a} {b}", [a, b], on, edges, dict(hidden))


def ancestry(source: EdgeSource, root: str) -> Slice:
    """The chain of parents from `root` up to the oldest known one (init when recorded)."""
    entity = root.removeprefix("process:")
    chain = [root]
    edges: list[Edge] = []
    seen = {entity}
    row = source.process(entity)
    while row is not None and row.parent and row.parent not in seen:
        seen.add(row.parent)
        parent = source.process(row.parent)
        edges.append(Edge(src="process:" + row.parent, dst="process:" + row.entity,
                          action="fork", first_ns=row.start_ns, last_ns=row.start_ns,
                          count=1, bytes=0))
        chain.append("process:" + row.parent)
        row = parent
    return _finish(source, f"ancestry {root}", [root], set(chain), edges, {})


def descendants(source: EdgeSource, root: str, opts: Options) -> Slice:
    """Every process forked from `root`, transitively, with what each did."""
    entity = root.removeprefix("process:")
    members = {root}
    edges: list[Edge] = []
    frontier = [entity]
    level = 0
    while frontier and (opts.depth is None or level < opts.depth):
        level += 1
        kids = [k for k in source.children(frontier) if "process:" + k.entity not in members]
        frontier = []
        for kid in kids:
            members.add("process:" + kid.entity)
            edges.append(Edge(src="process:" + str(kid.parent), dst="process:" + kid.entity,
                              action="fork", first_ns=kid.start_ns, last_ns=kid.start_ns,
                              count=1, bytes=0))
            frontier.append(kid.entity)
    return _finish(source, f"descendants {root}", [root], members, edges, {})
