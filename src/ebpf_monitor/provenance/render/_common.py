"""What the graph renderers share: colours per node kind, time and size formatting."""

from __future__ import annotations

import time
from typing import Any

from ..model import Edge

__all__ = ["KIND_COLOURS", "KIND_SHAPES", "edge_caption", "human_bytes", "iso_ns", "time_attr"]

# One palette for DOT and HTML so a picture reads the same in both (colour-blind safe, Tableau 10).
KIND_COLOURS = {"process": "#4e79a7", "file": "#f28e2b", "endpoint": "#59a14f"}
KIND_SHAPES = {"process": "box", "file": "note", "endpoint": "diamond"}


def iso_ns(ns: int) -> str:
    """Wall-clock ns since the epoch as xsd:dateTime in UTC, keeping every digit we have."""
    sec, frac = divmod(int(ns), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z"


def time_attr(value: Any) -> str | None:
    """A node's start/end attribute as ISO text: the backends give ns integers or ISO strings."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return iso_ns(int(value))
    return str(value)


def human_bytes(n: int) -> str:
    """Byte counts the way an investigator reads them (1.5 MiB, not 1572864)."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def edge_caption(e: Edge) -> str:
    """`read x3, 4.0 KiB`: the action, how often when more than once, and bytes when any moved."""
    text = e.action if e.count <= 1 else f"{e.action} x{e.count}"
    if e.bytes:
        text += f", {human_bytes(e.bytes)}"
    return text
