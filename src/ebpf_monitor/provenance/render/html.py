"""One self-contained HTML page: the slice drawn with cytoscape.js, usable offline.

The page carries the slice as JSON, our page script and style (`_page/`), and the cytoscape.js
library read at render time from `_vendor/`, which the build fills from the npm package pinned in
package.json (`make js`: npm ci, then a copy; never committed). An installed wheel or .deb ships
that copy as package data. Nothing is fetched when the page opens: its content security policy
forbids any request.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from ...errors import MonitorError
from ..model import Slice
from ._common import KIND_COLOURS, edge_caption, iso_ns, time_attr

__all__ = ["LIBRARY", "render"]

#: The bundled library, relative to this package (filled by `make js`).
LIBRARY = ("_vendor", "cytoscape.min.js")
_HERE = resources.files(__package__ or "ebpf_monitor.provenance.render")
_SLOT = re.compile(r"@(TITLE|CSS|DATA|LIBRARY|APP)@")
# Inside <script>, only these sequences can end the element or change how it is parsed.
_SCRIPT_END = re.compile(r"</(script)|<!--", re.IGNORECASE)


def _file(*parts: str) -> Traversable:
    node = _HERE
    for part in parts:
        node = node / part
    return node


def _library() -> str:
    path = _file(*LIBRARY)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MonitorError(
            f"html output: bundled cytoscape.js missing ({path}); run `make js` in the source"
            " tree (npm ci), or reinstall ebpf-monitor") from None


def _inline_script(code: str) -> str:
    return _SCRIPT_END.sub(lambda m: f"<\\/{m.group(1)}" if m.group(1) else "<\\!--", code)


def _json_for_script(value: Any) -> str:
    # Escaped so no recorded text can close the <script> element or open a comment.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def page_data(s: Slice) -> dict[str, Any]:
    """What the page script reads: times as ISO text for display and exact ns as strings (a JS
    number holds only 53 bits), and each flow's rank in time order as a number."""
    roots = set(s.roots)
    nodes = []
    for node_id, n in s.nodes.items():
        events = [{"time": iso_ns(ev["time_ns"]) if isinstance(ev.get("time_ns"), int) else
                   ev.get("time_ns"), "time_ns": str(ev.get("time_ns")),
                   "action": ev.get("action"), "detail": ev.get("detail")} for ev in n.events]
        attrs = dict(n.attrs)
        for key in ("start", "end"):
            if isinstance(attrs.get(key), int):
                attrs[key] = time_attr(attrs[key])
        nodes.append({"id": node_id, "kind": n.kind, "label": n.label, "root": node_id in roots,
                      "attrs": attrs, "events": events})
    shown = sorted((e for e in s.edges if e.src in s.nodes and e.dst in s.nodes),
                   key=lambda e: (e.first_ns, e.src, e.dst, e.action))
    # The time slider steps through distinct start times, ranked here on exact integers.
    rank = {t: i for i, t in enumerate(sorted({e.first_ns for e in shown}))}
    edges = [{"src": e.src, "dst": e.dst, "action": e.action, "caption": edge_caption(e),
              "first": iso_ns(e.first_ns), "last": iso_ns(e.last_ns),
              "first_ns": str(e.first_ns), "last_ns": str(e.last_ns), "t": rank[e.first_ns],
              "count": e.count, "bytes": e.bytes}
             for e in shown]
    return {"query": s.query, "roots": s.roots, "events_read": s.events_read,
            "hidden": s.hidden, "skipped": s.skipped, "colours": KIND_COLOURS,
            "nodes": nodes, "edges": edges}


def render(s: Slice) -> str:
    """The page as one string; MonitorError if the bundled library is not installed."""
    library = _library()
    slots = {
        "TITLE": html.escape(s.query or "provenance"),
        "CSS": _file("_page", "page.css").read_text(encoding="utf-8"),
        "DATA": _json_for_script(page_data(s)),
        "LIBRARY": _inline_script(library),
        "APP": _inline_script(_file("_page", "page.js").read_text(encoding="utf-8")),
    }
    template = _file("_page", "page.html").read_text(encoding="utf-8")
    # One pass, so text put into one slot is never searched for the next slot's marker.
    return _SLOT.sub(lambda m: slots[m.group(1)], template)
