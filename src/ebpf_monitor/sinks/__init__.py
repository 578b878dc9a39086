"""Destinations for ECS documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Document, Sink
from .jsonl import JsonlSink, StreamSink
from .memory import MemorySink

if TYPE_CHECKING:
    from .elasticsearch import ElasticsearchSink

__all__ = ["Document", "ElasticsearchSink", "JsonlSink", "MemorySink", "Sink", "StreamSink"]


def __getattr__(name: str) -> Any:
    # The Elasticsearch client costs ~0.3 s and ~20 MB to import: only when it is used.
    if name == "ElasticsearchSink":
        from .elasticsearch import ElasticsearchSink

        return ElasticsearchSink
    raise AttributeError(name)
