"""W3C PROV-JSON (www.w3.org/Submission/prov-json), readable by the `prov` library and viewers.

Mapping (PROV-DM terms):
  process              -> activity (prov:startTime / prov:endTime from its exec and exit)
  file, endpoint       -> entity (prov:type ebpf:File / ebpf:Endpoint)
  user of a process    -> agent (prov:type ebpf:User), joined by wasAssociatedWith
  entity -> process    -> used (read, exec of the image, accept, recv)
  process -> entity    -> wasGeneratedBy (write, create, connect, send), wasInvalidatedBy (unlink)
  process -> process   -> wasInformedBy (fork/exec: the child was informed by its parent)
  entity -> entity     -> wasDerivedFrom (rename: the new name derives from the old)
Every relation keeps the edge's totals as ebpf: attributes (action, count, bytes, last time);
its prov:time is the first time. Identifiers are qualified names whose local part is
percent-encoded beyond [A-Za-z0-9._~/-], so any path is a valid PROV-N local name.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..model import Edge, Node, Slice
from ._common import iso_ns, time_attr

__all__ = ["NAMESPACE", "PREFIXES", "render"]

NAMESPACE = "urn:ebpf-monitor:"
PREFIXES = {
    "ebpf": NAMESPACE,
    "proc": NAMESPACE + "process:",
    "file": NAMESPACE + "file:",
    "net": NAMESPACE + "endpoint:",
    "user": NAMESPACE + "user:",
}
_KIND_PREFIX = {"process": "proc", "file": "file", "endpoint": "net"}
_KIND_TYPE = {"file": "ebpf:File", "endpoint": "ebpf:Endpoint", "process": "ebpf:Process"}
_INVALIDATING = frozenset({"unlink"})


def _local(text: str) -> str:
    local = quote(text, safe="/-._~")
    # PROV-N: a local name may not end in a dot.
    return local[:-1] + "%2E" if local.endswith(".") else local


def _qname(node: Node) -> str:
    kind_prefix = _KIND_PREFIX.get(node.kind, "ebpf")
    local = node.id.split(":", 1)[1] if ":" in node.id else node.id
    if node.id.startswith("listen:"):
        local = node.id  # a local listening port, kept apart from remote endpoints
    return f"{kind_prefix}:{_local(local)}"


def _qn_value(q: str) -> dict[str, str]:
    return {"$": q, "type": "prov:QUALIFIED_NAME"}


def _time_value(ns: int) -> dict[str, str]:
    return {"$": iso_ns(ns), "type": "xsd:dateTime"}


def _plain(v: Any) -> Any:
    """PROV-JSON attribute values are strings, numbers or booleans: anything else as JSON text."""
    if v is None or isinstance(v, str | bool | int | float):
        return v
    return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


def _element(n: Node, root: bool) -> dict[str, Any]:
    rec: dict[str, Any] = {"prov:label": n.label, "prov:type": _qn_value(_KIND_TYPE[n.kind])}
    for k, v in n.attrs.items():
        if k in ("start", "end") and n.kind == "process":
            continue
        v = _plain(v)
        if v is not None:
            rec[f"ebpf:{_local(k)}"] = v
    rec["ebpf:nodeId"] = n.id
    if root:
        rec["ebpf:root"] = True
    if n.kind == "process":
        start, end = time_attr(n.attrs.get("start")), time_attr(n.attrs.get("end"))
        if start:
            rec["prov:startTime"] = start
        if end:
            rec["prov:endTime"] = end
    return rec


def _relation(e: Edge, src: Node, dst: Node) -> tuple[str, dict[str, Any]]:
    s_act, d_act = src.kind == "process", dst.kind == "process"
    rec: dict[str, Any]
    if not s_act and d_act:
        kind, rec = "used", {"prov:activity": _qname(dst), "prov:entity": _qname(src),
                             "prov:time": iso_ns(e.first_ns)}
    elif s_act and not d_act:
        kind = "wasInvalidatedBy" if e.action in _INVALIDATING else "wasGeneratedBy"
        rec = {"prov:entity": _qname(dst), "prov:activity": _qname(src),
               "prov:time": iso_ns(e.first_ns)}
    elif s_act and d_act:
        # wasInformedBy has no time in PROV-DM: the first time rides along as an attribute.
        kind, rec = "wasInformedBy", {"prov:informed": _qname(dst),
                                      "prov:informant": _qname(src),
                                      "ebpf:firstTime": _time_value(e.first_ns)}
    else:
        kind, rec = "wasDerivedFrom", {"prov:generatedEntity": _qname(dst),
                                       "prov:usedEntity": _qname(src),
                                       "ebpf:firstTime": _time_value(e.first_ns)}
    rec.update({"ebpf:action": e.action, "ebpf:count": e.count, "ebpf:bytes": e.bytes,
                "ebpf:lastTime": _time_value(e.last_ns)})
    return kind, rec


def document(s: Slice) -> dict[str, Any]:
    """The slice as a PROV-JSON document (a dict; `render` serialises it)."""
    doc: dict[str, Any] = {"prefix": dict(PREFIXES)}
    roots = set(s.roots)
    agents: dict[str, dict[str, Any]] = {}
    assoc: list[dict[str, Any]] = []
    for node_id, n in s.nodes.items():
        bucket = "activity" if n.kind == "process" else "entity"
        doc.setdefault(bucket, {})[_qname(n)] = _element(n, node_id in roots)
        user = n.attrs.get("user") if n.kind == "process" else None
        if user not in (None, ""):
            agent = f"user:{_local(str(user))}"
            agents.setdefault(agent, {"prov:label": str(user),
                                      "prov:type": _qn_value("ebpf:User")})
            assoc.append({"prov:activity": _qname(n), "prov:agent": agent})
    if agents:
        doc["agent"] = agents
    counters: dict[str, int] = {}
    for e in sorted(s.edges, key=lambda e: (e.first_ns, e.src, e.dst, e.action)):
        src, dst = s.nodes.get(e.src), s.nodes.get(e.dst)
        if src is None or dst is None:
            continue
        kind, rec = _relation(e, src, dst)
        counters[kind] = counters.get(kind, 0) + 1
        doc.setdefault(kind, {})[f"_:{kind}{counters[kind]}"] = rec
    for i, rec in enumerate(assoc, 1):
        doc.setdefault("wasAssociatedWith", {})[f"_:wasAssociatedWith{i}"] = rec
    return doc


def render(s: Slice) -> str:
    """PROV-JSON text, UTF-8, keys in a stable order."""
    return json.dumps(document(s), ensure_ascii=False, indent=1) + "\n"
