"""Renderers: one module per format, each `render(slice) -> str`."""

from __future__ import annotations

from collections.abc import Callable

from ..model import Slice
from . import json, text

__all__ = ["FORMATS", "render"]

FORMATS: dict[str, Callable[[Slice], str]] = {"text": text.render, "json": json.render}


def render(s: Slice, fmt: str) -> str:
    return FORMATS[fmt](s)
