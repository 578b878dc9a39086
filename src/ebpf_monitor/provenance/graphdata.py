"""Backend-neutral pieces both stores use to turn rows into nodes: labels, attributes, parents."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .extract import Fork
from .model import Node, NodeKind
from .source import ProcessRow

__all__ = ["FORK_SKEW_NS", "FORK_WINDOW_NS", "make_node", "pick_fork", "pick_parent"]

#: A fork record is written when the parent's fork syscall returns, just after the child
#: started; allowance for it to read earlier (the two times' conversion to wall clock is
#: redone when NTP steps the clock).
FORK_SKEW_NS = 1_000_000_000
#: How long after the child's start its fork record may come (a vfork parent waits for the
#: child's exec; a parent preempted under load returns late). Bounds a wrong match when the
#: child's own record was lost and its pid was reused later.
FORK_WINDOW_NS = 10_000_000_000


def pick_fork(child: ProcessRow, forks: Iterable[Fork]) -> str | None:
    """The parent entity a fork record names: for the child's host and pid, the record
    nearest the child's start, from the skew before it to the window after it (and not
    after its exit); None when there is none (the parent is then found by ppid)."""
    best: Fork | None = None
    latest = child.start_ns + FORK_WINDOW_NS
    if child.end_ns is not None:
        latest = min(latest, child.end_ns + FORK_SKEW_NS)
    for fork in forks:
        parent, host, pid, ts = fork
        if (parent == child.entity or host != child.host or pid != child.pid
                or ts < child.start_ns - FORK_SKEW_NS or ts > latest):
            continue
        if best is None or (abs(ts - child.start_ns), ts, parent) < (
                abs(best[3] - child.start_ns), best[3], best[0]):
            best = fork
    return best[0] if best is not None else None


def pick_parent(child: ProcessRow, candidates: Iterable[ProcessRow]) -> str | None:
    """The parent entity: on the child's host, with pid = the child's ppid, started at or
    before the child and not exited before it; the latest such (a reused pid never matches
    a process that had ended)."""
    best: ProcessRow | None = None
    for cand in candidates:
        if (cand.entity == child.entity or cand.host != child.host or cand.pid != child.ppid
                or cand.start_ns > child.start_ns
                or (cand.end_ns is not None and cand.end_ns < child.start_ns)):
            continue
        if best is None or (cand.start_ns, cand.entity) > (best.start_ns, best.entity):
            best = cand
    return best.entity if best is not None else None


def _kind(node_id: str) -> NodeKind:
    if node_id.startswith("process:"):
        return "process"
    if node_id.startswith("file:"):
        return "file"
    return "endpoint"


def make_node(node_id: str, *, proc: dict[str, Any] | None, execs: list[dict[str, Any]],
              aliases: list[str], actions: dict[str, int], events: list[dict[str, Any]],
              sample: int, creds: list[dict[str, Any]] | None = None) -> Node:
    """A Node from what a backend found about it (same shape from every backend); `creds`:
    a process's credential changes (extract.cred_entry), in time order."""
    kind = _kind(node_id)
    attrs: dict[str, Any] = {}
    label = node_id.split(":", 1)[1]
    evs = list(events)
    if kind == "process":
        p = proc or {}
        last = execs[-1] if execs else {}
        exe = str(last.get("executable") or p.get("executable") or "")
        attrs = {"entity_id": node_id[8:], "pid": p.get("pid"), "ppid": p.get("ppid"),
                 "executable": exe, "args": last.get("args", []),
                 "user": last.get("user") or p.get("user") or "", "start": p.get("start_ns"),
                 "end": p.get("end_ns"), "exit_code": p.get("exit_code"),
                 "host": p.get("host"), "name": p.get("name"), "execs": execs}
        name = os.path.basename(exe) or str(p.get("name") or "?")
        label = f"{name}[{p.get('pid', '?')}]"
        for ex in execs:
            evs.append({"time_ns": ex["time_ns"], "action": "exec",
                        "detail": " ".join(ex.get("args") or [ex.get("executable", "")])})
        if p.get("end_ns") is not None:
            evs.append({"time_ns": p["end_ns"], "action": "exit",
                        "detail": f"exit code {p.get('exit_code')}"})
        attrs["creds"] = list(creds or [])
        for c in creds or []:
            failed = "" if c["outcome"] == "success" else f" ({c['outcome']})"
            evs.append({"time_ns": c["time_ns"], "action": c["action"],
                        "detail": f"{c['before']} -> {c['after']}{failed}"})
    elif kind == "file":
        attrs = {"path": label, "aliases": sorted(set(aliases) - {label})}
    elif node_id.startswith("listen:"):
        attrs = {"port": int(label), "listening": True}
        label = f"listen:{label}"
    else:
        ip, _, port = label.rpartition(":")
        attrs = {"ip": ip, "port": int(port) if port.isdigit() else port}
    attrs["actions"] = dict(sorted(actions.items()))
    attrs["events_total"] = sum(actions.values()) + (len(evs) - len(events))
    evs.sort(key=lambda e: (e["time_ns"], e["action"], e["detail"]))
    return Node(id=node_id, kind=kind, label=label, attrs=attrs, events=evs[:sample])
