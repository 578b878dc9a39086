"""A pstree-like tree for the terminal: one node a line, indentation for depth, < 80 columns.

Each line: the edge (action, time, xcount, bytes), then the node it leads to. The time is the
edge's latest instance in lineage and ancestry trees, its first in the others: the instant
the time rule used.
Lineage and ancestry hang each node's sources under it ("came from"); impact, descendants
and path hang each node's destinations under it ("went to"). A node already printed is
shown again as a one-line reference with "^" instead of its subtree.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict

from ..model import Edge, Node, Slice

__all__ = ["render"]

WIDTH = 79


def _clock(ns: int) -> str:
    t = _dt.datetime.fromtimestamp(ns // 1_000_000_000, _dt.UTC)
    return t.strftime("%H:%M:%S") + f".{ns % 1_000_000_000 // 1_000_000:03d}"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _actions(node: Node) -> str:
    """What a process did, for descendants: 'did: read 12, write 3' (fork, exec too)."""
    acts = node.attrs.get("actions") or {}
    return "did: " + ", ".join(f"{a} {n}" for a, n in sorted(acts.items(),
                                                              key=lambda x: (-x[1], x[0])))


def _node_text(node: Node | None, node_id: str, *, did: bool = False) -> str:
    if node is None:
        return node_id
    if node.kind == "process":
        a = node.attrs
        parts = [node.label]
        if a.get("user"):
            parts.append(str(a["user"]))
        args = [str(x) for x in a.get("args") or []]
        if args:
            args[0] = args[0].rsplit("/", 1)[-1]  # the label already says which program
            parts.append(" ".join(args))
        elif a.get("executable"):
            parts.append(str(a["executable"]))
        return " ".join(parts)
    if node.kind == "file":
        return node.label
    return node.label


def _edge_text(e: Edge, backward: bool) -> str:
    # The time that matters to the walk: the latest instance looking back, else the first.
    text = f"{e.action} {_clock(e.last_ns if backward else e.first_ns)}"
    if e.count > 1:
        text += f" x{e.count}"
    if e.bytes:
        text += f" {_size(e.bytes)}"
    return text


def _cut(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def _fit(head: str, node: Node | None, node_id: str, *, did: bool = False) -> str:
    """`head` plus the node's text; a long path keeps its end (the file name), anything
    else its start."""
    body = _node_text(node, node_id, did=did)
    room = WIDTH - len(head)
    if len(body) <= room or room < 12:
        return _cut(head + body)
    if node is not None and node.kind == "file":
        return head + "…" + body[len(body) - room + 1:]
    return head + body[: room - 1] + "…"


def render(s: Slice) -> str:
    backward = s.query.split(" ", 1)[0] in ("lineage", "ancestry")
    ancestry = s.query.startswith("ancestry")
    did = s.query.startswith("descendants")
    kids: dict[str, list[Edge]] = defaultdict(list)
    for e in s.edges:
        kids[e.dst if backward else e.src].append(e)
    for lst in kids.values():
        lst.sort(key=lambda e: (e.first_ns, e.src, e.dst, e.action),
                 reverse=backward)
    out = [_cut(f"# {s.query}")]
    if not s.nodes:
        out.append("(nothing found)")
        return "\n".join(out) + "\n"
    printed: set[str] = set()

    def walk(node_id: str, prefix: str) -> None:
        printed.add(node_id)
        edges = kids.get(node_id, [])
        for i, e in enumerate(edges):
            last = i == len(edges) - 1
            other = e.src if backward else e.dst
            seen = other in printed
            mark = "^ " if seen else ""
            head = prefix + ("└─ " if last else "├─ ") + _edge_text(e, backward) + "  " + mark
            out.append(_fit(head, s.nodes.get(other), other, did=did))
            if not seen:
                inner = prefix + ("   " if last else "│  ")
                execs(other, inner)
                walk(other, inner)

    def execs(node_id: str, prefix: str) -> None:
        # Ancestry: every exec of each process, not only the last one the label names;
        # descendants: what each did.
        node = s.nodes.get(node_id)
        if node is None or node.kind != "process":
            return
        if did:
            out.append(_cut(f"{prefix}   {_actions(node)}"))
        # Credential changes on every query: who a process became matters wherever it shows.
        for c in node.attrs.get("creds") or []:
            failed = "" if c.get("outcome") == "success" else f" ({c.get('outcome')})"
            out.append(_cut(f"{prefix}   {c['action']} {_clock(c['time_ns'])} {c['before']}"
                            f" -> {c['after']}{failed}"))
        if not ancestry:
            return
        for ex in node.attrs.get("execs") or []:
            args = " ".join(str(a) for a in ex.get("args") or []) or ex.get("executable", "")
            out.append(_cut(f"{prefix}   exec {_clock(ex['time_ns'])} {ex.get('user', '')}"
                            f" {args}"))

    roots = s.roots[:1] if s.query.startswith("path") else s.roots
    for root in roots:
        out.append(_fit("", s.nodes.get(root), root, did=did))
        execs(root, "")
        walk(root, "")
    rest = [n for n in s.nodes if n not in printed]
    if rest:
        out.append(f"({len(rest)} more node(s) not reached from the root: see --format json)")
    return "\n".join(out) + "\n"
