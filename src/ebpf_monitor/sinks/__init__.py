"""Destinations for ECS documents."""

from .base import Document, Sink
from .elasticsearch import ElasticsearchSink
from .jsonl import JsonlSink, StreamSink
from .memory import MemorySink

__all__ = ["Document", "ElasticsearchSink", "JsonlSink", "MemorySink", "Sink", "StreamSink"]
