"""The slice as one JSON object: what every other tool can read back."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ..model import Slice

__all__ = ["render", "to_data"]


def to_data(s: Slice) -> dict[str, Any]:
    """Plain data: nodes as a list (sorted by id), edges in time order."""
    return {
        "query": s.query,
        "roots": s.roots,
        "nodes": [asdict(s.nodes[k]) for k in sorted(s.nodes)],
        "edges": [asdict(e) for e in s.edges],
        "events_read": s.events_read,
        "hidden": s.hidden,
        "skipped": s.skipped,
    }


def render(s: Slice) -> str:
    return json.dumps(to_data(s), indent=1, ensure_ascii=False) + "\n"
