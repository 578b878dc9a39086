"""The `loss` document: events that never became documents (ring full, stop, a failing sink)."""

from __future__ import annotations

from typing import Any

import orjson

from ..document import Document
from ..enrich import Enricher

__all__ = ["loss_document"]


def loss_document(en: Enricher, ktime_ns: int, lost: dict[str, int], *, source: str,
                  total: int, with_room: int | None = None) -> Document:
    """A record that events were lost: how many, of which kind, where (ring buffer, disk...).
    `with_room` (ring buffer only): how many of them failed with less than half the ring
    pending, the rest being lost to a full ring."""
    info: dict[str, Any] = {"source": source, "count": sum(lost.values()), "by_kind": lost,
                            "total": total}
    if with_room is not None:
        assert 0 <= with_room <= info["count"], (with_room, lost)
        info["with_room"] = with_room
        info["without_room"] = info["count"] - with_room
    stamp, day = en.stamp(ktime_ns)
    doc_id = f"{en.id_prefix}-loss-{source}-{ktime_ns:x}"
    return Document(doc_id, day, orjson.dumps({
        "@timestamp": stamp,
        "event": {
            "id": doc_id,
            "kind": "metric",
            "action": "loss",
            "category": ["host"],
            "type": ["info"],
            "outcome": "failure",
        },
        "host": en.host,
        "message": f"{sum(lost.values())} events lost ({source})",
        "ebpf": {"lost": info},
    }).decode())
