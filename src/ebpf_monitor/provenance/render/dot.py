"""Graphviz DOT: `ebpf-monitor lineage X --format dot | dot -Tsvg > x.svg`.

Node statement ids are synthetic (n0, n1, ...) so that no file name, however odd, has to survive
DOT's id syntax; the real node id goes into the `id` attribute (kept as the element id in SVG
output) and the tooltip. Text is written as DOT escString: backslash and quote escaped, control
characters shown as `\\xNN` rather than interpreted.
"""

from __future__ import annotations

from ..model import Node, Slice
from ._common import KIND_COLOURS, KIND_SHAPES, edge_caption, iso_ns

__all__ = ["render"]

_MAX_LABEL = 60


def _esc(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 3] + "..."


def _lines(n: Node) -> list[str]:
    """The node's label and the one attribute line an investigator needs to tell nodes apart."""
    lines = [_short(n.label)]
    a = n.attrs
    if n.kind == "process":
        who = " ".join(str(p) for p in (
            f"pid {a['pid']}" if a.get("pid") is not None else "",
            a.get("user") or "",
        ) if p)
        if who:
            lines.append(who)
    elif n.kind == "endpoint" and a.get("transport"):
        lines.append(str(a["transport"]))
    return lines


def _tooltip(n: Node) -> str:
    parts = [n.id]
    if n.kind == "process":
        args = n.attrs.get("args")
        if isinstance(args, list):
            parts.append(" ".join(str(x) for x in args))
        elif args:
            parts.append(str(args))
    return "\n".join(parts)


def render(s: Slice) -> str:
    """The slice as one `digraph`, coloured and shaped by node kind, roots drawn double."""
    ids = {node_id: f"n{i}" for i, node_id in enumerate(s.nodes)}
    roots = set(s.roots)
    out = [
        "digraph provenance {",
        f'  graph [rankdir=LR, labelloc=t, fontname="Helvetica", label="{_esc(_short(s.query))}"];',
        '  node [fontname="Helvetica", fontsize=10, style="filled", fontcolor="white"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for node_id, n in s.nodes.items():
        style = "rounded,filled" if n.kind == "process" else "filled"
        extra = ", penwidth=3, peripheries=2" if node_id in roots else ""
        label = "\\n".join(_esc(line) for line in _lines(n))
        out.append(
            f'  {ids[node_id]} [id="{_esc(node_id)}", label="{label}",'
            f' shape={KIND_SHAPES.get(n.kind, "ellipse")}, style="{style}",'
            f' fillcolor="{KIND_COLOURS.get(n.kind, "#999999")}",'
            f' tooltip="{_esc(_tooltip(n))}"{extra}];'
        )
    for e in sorted(s.edges, key=lambda e: (e.first_ns, e.src, e.dst, e.action)):
        if e.src not in ids or e.dst not in ids:
            continue  # an edge to a hidden node: the node list is what the slice shows
        when = iso_ns(e.first_ns) if e.first_ns == e.last_ns else (
            f"{iso_ns(e.first_ns)} .. {iso_ns(e.last_ns)}")
        out.append(
            f'  {ids[e.src]} -> {ids[e.dst]} [label="{_esc(edge_caption(e))}",'
            f' tooltip="{_esc(when)}"];'
        )
    out.append("}")
    return "\n".join(out) + "\n"
