"""Parse what the user typed: a NODE argument and a TIME option."""

from __future__ import annotations

import datetime as _dt
import re

from ..errors import ProvenanceError
from .source import EdgeSource, ProcessRow

__all__ = ["parse_time", "resolve_node"]

_HEX_ID = re.compile(r"^[0-9a-f]{8,64}$")


def parse_time(text: str) -> int:
    """ISO 8601 (UTC unless an offset is given) or seconds since the epoch, to ns."""
    value = text.strip()
    try:
        return int(float(value) * 1_000_000_000)
    except ValueError:
        pass
    iso = value.replace("Z", "+00:00")
    frac_ns = 0
    match = re.match(r"^(.*T?\d\d:\d\d:\d\d)\.(\d{1,9})(.*)$", iso.replace(" ", "T"))
    if match:
        iso = match.group(1) + match.group(3)
        frac_ns = int((match.group(2) + "000000000")[:9])
    try:
        when = _dt.datetime.fromisoformat(iso)
    except ValueError:
        raise ProvenanceError(
            f"time {text!r}: use ISO 8601 (2026-11-30T01:02:03Z) or seconds since the epoch"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return int(when.timestamp()) * 1_000_000_000 + frac_ns


def _fmt(ns: int) -> str:
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _describe(rows: list[ProcessRow]) -> str:
    return ", ".join(
        f"{r.entity} (host {r.host}, started {_fmt(r.start_ns)}"
        + (f", ended {_fmt(r.end_ns)})" if r.end_ns is not None else ")")
        for r in rows)


def _by_pid(source: EdgeSource, pid_text: str, at: int | None) -> str:
    try:
        pid = int(pid_text)
    except ValueError:
        raise ProvenanceError(f"node pid:{pid_text}: not a number") from None
    rows = source.processes_by_pid(pid)
    if not rows:
        raise ProvenanceError(f"node pid:{pid}: no process with that pid in the events")
    if at is not None:
        rows = [r for r in rows if r.start_ns <= at and (r.end_ns is None or at <= r.end_ns)]
        if not rows:
            raise ProvenanceError(f"node pid:{pid}: no process with that pid was alive at"
                                  f" {_fmt(at)}")
    if len(rows) > 1:
        raise ProvenanceError(f"node pid:{pid} is ambiguous, pick one with --at TIME or by"
                              f" entity id: {_describe(rows)}")
    return "process:" + rows[0].entity


def resolve_node(source: EdgeSource, text: str, at: int | None = None) -> str:
    """The node id for a NODE argument; an unknown node is a one-line error."""
    raw = text.strip()
    if raw.startswith("pid:"):
        return _by_pid(source, raw[4:], at)
    if raw.startswith("/"):
        node = "file:" + raw
    elif raw.startswith(("file:", "process:", "endpoint:", "listen:")):
        node = raw
    elif _HEX_ID.match(raw):
        node = "process:" + raw
    else:
        raise ProvenanceError(
            f"node {text!r}: expected an entity id, process:ID, pid:N, /path, file:/path,"
            " endpoint:IP:PORT or listen:PORT")
    if node.startswith("endpoint:"):
        match = re.match(r"^endpoint:\[?(.+?)\]?:(\d+)$", node)
        if not match:
            raise ProvenanceError(f"node {text!r}: an endpoint is endpoint:IP:PORT")
        node = f"endpoint:{match.group(1)}:{match.group(2)}"  # [::1]:80 is stored as ::1:80
    if node.startswith("listen:") and not node[7:].isdigit():
        raise ProvenanceError(f"node {text!r}: a listening port is listen:PORT")
    if not source.exists(node):
        raise ProvenanceError(f"node {node}: not found in the events")
    return node
