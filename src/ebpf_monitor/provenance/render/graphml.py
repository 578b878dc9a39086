"""GraphML (graphml.graphdrawing.org), for Gephi, yEd, Cytoscape desktop and networkx.

Every attribute is declared once as a `<key>` with its `attr.type`, per element kind: a node
attribute whose values are all integers is a `long`, all booleans a `boolean`, all numbers a
`double`, anything else (or a mix) a `string`, lists and dicts as JSON text. Node events are one
JSON string (`events`). XML 1.0 cannot carry control characters at all, so those are written as
visible `\\xNN` text: the only place the output is not byte-exact to the recorded names.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..model import Slice
from ._common import iso_ns

__all__ = ["NAMESPACE", "render"]

NAMESPACE = "http://graphml.graphdrawing.org/xmlns"
_SCHEMA = "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _text(text: str) -> str:
    return escape(_clean(text))


def _attr(text: str) -> str:
    return quoteattr(_clean(text))


def _type_of(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "long"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "double"
    return "string"


def _value(v: Any, typ: str) -> str:
    if typ == "boolean":
        return "true" if v else "false"
    if typ in ("long", "double"):
        return repr(v)
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


class _Keys:
    """Key declarations for one element kind (node, edge, graph), in first-seen order."""

    def __init__(self, domain: str, prefix: str) -> None:
        self.domain = domain
        self.prefix = prefix
        self.values: dict[str, list[Any]] = {}

    def collect(self, name: str, value: Any) -> None:
        self.values.setdefault(name, []).append(value)

    def types(self) -> dict[str, str]:
        return {name: _type_of(vals) for name, vals in self.values.items()}

    def declare(self) -> list[str]:
        return [
            f"  <key id={_attr(self.prefix + name)} for=\"{self.domain}\""
            f" attr.name={_attr(name)} attr.type=\"{typ}\"/>"
            for name, typ in self.types().items()
        ]


def _data(keys: _Keys, types: dict[str, str], row: dict[str, Any], indent: str) -> list[str]:
    return [
        f"{indent}<data key={_attr(keys.prefix + name)}>{_text(_value(v, types[name]))}</data>"
        for name, v in row.items()
        if v is not None
    ]


def render(s: Slice) -> str:
    """The slice as one directed GraphML graph with typed node, edge and graph attributes."""
    node_keys, edge_keys = _Keys("node", "n_"), _Keys("edge", "e_")
    graph_keys = _Keys("graph", "g_")
    roots = set(s.roots)
    node_rows: dict[str, dict[str, Any]] = {}
    for node_id, n in s.nodes.items():
        row: dict[str, Any] = {"kind": n.kind, "label": n.label, "root": node_id in roots}
        for k, v in n.attrs.items():
            row.setdefault(k, v)
        row["events"] = n.events
        node_rows[node_id] = row
    edges = [e for e in sorted(s.edges, key=lambda e: (e.first_ns, e.src, e.dst, e.action))
             if e.src in s.nodes and e.dst in s.nodes]
    edge_rows = [
        {"action": e.action, "count": e.count, "bytes": e.bytes, "first_ns": e.first_ns,
         "last_ns": e.last_ns, "first": iso_ns(e.first_ns), "last": iso_ns(e.last_ns)}
        for e in edges
    ]
    graph_row: dict[str, Any] = {"query": s.query, "roots": s.roots, "events_read": s.events_read,
                                 "skipped": s.skipped, "hidden": s.hidden}
    for row in node_rows.values():
        for k, v in row.items():
            node_keys.collect(k, v)
    for row in edge_rows:
        for k, v in row.items():
            edge_keys.collect(k, v)
    for k, v in graph_row.items():
        graph_keys.collect(k, v)
    node_types, edge_types, graph_types = node_keys.types(), edge_keys.types(), graph_keys.types()

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<graphml xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
        f'         xsi:schemaLocation="{NAMESPACE} {_SCHEMA}">',
        *graph_keys.declare(),
        *node_keys.declare(),
        *edge_keys.declare(),
        '  <graph id="provenance" edgedefault="directed">',
        *_data(graph_keys, graph_types, graph_row, "    "),
    ]
    for node_id, row in node_rows.items():
        out.append(f"    <node id={_attr(node_id)}>")
        out += _data(node_keys, node_types, row, "      ")
        out.append("    </node>")
    for i, (e, row) in enumerate(zip(edges, edge_rows, strict=True)):
        out.append(f"    <edge id=\"e{i}\" source={_attr(e.src)} target={_attr(e.dst)}>")
        out += _data(edge_keys, edge_types, row, "      ")
        out.append("    </edge>")
    out += ["  </graph>", "</graphml>"]
    return "\n".join(out) + "\n"
