"""Destinations for ECS documents."""

from .base import Document, Sink
from .jsonl import JsonlSink, StreamSink
from .memory import MemorySink

__all__ = ["Document", "JsonlSink", "MemorySink", "Sink", "StreamSink"]
